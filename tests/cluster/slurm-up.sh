#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine for the cluster test (Debian, root):
# munge + slurmctld + slurmd, configured for localhost, without an accounting database.
#
#   tests/cluster/slurm-up.sh [STATE_DIR]     (default /tmp/memgen-slurm)
#
# Installs slurmctld, slurmd, slurm-client and munge with apt when they are missing, writes
# STATE_DIR/slurm.conf (point clients at it with SLURM_CONF=STATE_DIR/slurm.conf), starts
# the daemons, records their PIDs in STATE_DIR/*.pid and waits until the node is idle.
# Exit codes: 0 up, 2 cannot run here (not root, no apt, install failed), 1 failed to start.
# tests/cluster/slurm-down.sh STATE_DIR stops everything by PID.
set -euo pipefail
STATE=${1:-/tmp/memgen-slurm}
say() { echo "slurm-up: $*" >&2; }

if [ "$(id -u)" != 0 ]; then say "needs root (daemons, munge key)"; exit 2; fi
missing=()
for cmd in slurmctld slurmd sbatch squeue sinfo munged; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || { say "missing ${missing[*]} and no apt-get"; exit 2; }
    say "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
    if ! DEBIAN_FRONTEND=noninteractive timeout -s KILL 600 apt-get install -y --no-install-recommends \
            slurmctld slurmd slurm-client munge >&2; then
        DEBIAN_FRONTEND=noninteractive timeout -s KILL 300 apt-get update >&2 || { say "apt-get update failed"; exit 2; }
        DEBIAN_FRONTEND=noninteractive timeout -s KILL 600 apt-get install -y --no-install-recommends \
            slurmctld slurmd slurm-client munge >&2 || { say "apt-get install failed"; exit 2; }
    fi
fi

mkdir -p "$STATE"/{ctld,d,log,munge}
chmod 755 "$STATE"
chown munge:munge "$STATE/munge"
chmod 755 "$STATE/munge"  # the socket directory must be searchable by all
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
cat > "$STATE/slurm.conf" <<CONF
# one-node test cluster written by tests/cluster/slurm-up.sh
ClusterName=memgen-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket.2
CryptoType=crypto/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# keep finished jobs visible to squeue for 10 min: the executor's status command without sacct
MinJobAge=600
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$STATE/slurm.conf
# Job steps launched inside jobs (the slurm-jobstep executor's srun) drop SLURM_CONF from their
# environment and read the default /etc/slurm/slurm.conf: install ours there, keeping any
# existing file in STATE_DIR/slurm.conf.orig for slurm-down.sh to restore.
mkdir -p /etc/slurm
if [ -e /etc/slurm/slurm.conf ] && ! head -1 /etc/slurm/slurm.conf | grep -q "written by tests/cluster/slurm-up.sh"; then
    mv /etc/slurm/slurm.conf "$STATE/slurm.conf.orig"
fi
cp "$STATE/slurm.conf" /etc/slurm/slurm.conf
echo "$STATE" > /etc/slurm/.memgen-test-state

runuser -u munge -- munged --socket="$STATE/munge/munge.socket.2" --pid-file="$STATE/munge/munged.pid" \
    --log-file="$STATE/munge/munged.log" --seed-file="$STATE/munge/munged.seed"
cp "$STATE/munge/munged.pid" "$STATE/munged.pid"
slurmctld -f "$STATE/slurm.conf"
slurmd -f "$STATE/slurm.conf"

for _ in $(seq 1 60); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -1 || true)
    if [ "$state" = idle ]; then say "node $host idle ($cpus CPUs, $mem_mb MB); SLURM_CONF=$STATE/slurm.conf"; exit 0; fi
    sleep 1
done
say "node did not become idle (state '${state:-none}'); logs in $STATE/log"
tail -n 20 "$STATE"/log/*.log >&2 || true
exit 1
