#!/usr/bin/env bash
# Stop the test cluster started by slurm-up.sh: kill its daemons by PID, remove its state.
#   tests/cluster/slurm-down.sh [STATE_DIR]     (default /tmp/memgen-slurm)
STATE=${1:-/tmp/memgen-slurm}
for name in slurmd slurmctld munged; do
    pidfile="$STATE/$name.pid"
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
done
# restore the site's slurm.conf if slurm-up.sh moved one aside; else remove ours
if [ -f /etc/slurm/.memgen-test-state ] && [ "$(cat /etc/slurm/.memgen-test-state)" = "$STATE" ]; then
    if [ -f "$STATE/slurm.conf.orig" ]; then mv "$STATE/slurm.conf.orig" /etc/slurm/slurm.conf; else rm -f /etc/slurm/slurm.conf; fi
    rm -f /etc/slurm/.memgen-test-state
fi
rm -rf "$STATE"
