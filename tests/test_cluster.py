"""The workflow on a real SLURM cluster: a one-node cluster on this machine (tests/cluster/slurm-up.sh),
a quick-preset subset of the DAG through ``--profile profiles/slurm``, compared with a local run;
a failing job reported as failed. Skipped, with the reason, where the daemons cannot start
(not root, no apt); everything runs under ``timeout -s KILL`` and the daemons are stopped by PID."""

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from workflow_utils import BIN, REPO, copy_repo, snakemake, write_yaml

pytestmark = [pytest.mark.workflow, pytest.mark.cluster]
CLUSTER = REPO / "tests" / "cluster"
QUICK = ("--configfile", "presets/quick.yaml")
TARGETS = ("figures/quick/ldm_hellinger.pdf", "figures/quick/kde_width.pdf")
TABLES = (
    "results/quick/ldm/hellinger_summary.parquet",
    "results/quick/kde_width/curves.parquet",
    "results/quick/kde_width/optima.parquet",
)


@pytest.fixture(scope="module")
def slurm():
    """SLURM_CONF of a running one-node cluster; torn down (by PID) at the end of the module.
    Its state lives in a fresh folder of /tmp (munge runs as its own user and must reach it)."""
    state = Path(tempfile.mkdtemp(prefix="memgen-slurm-", dir="/tmp"))
    try:
        up = subprocess.run(
            ["timeout", "-s", "KILL", "900", str(CLUSTER / "slurm-up.sh"), str(state)], capture_output=True, text=True
        )
        if up.returncode != 0:  # 2: not root / no apt; 1: the daemons did not come up
            why = (up.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(
                f"SLURM cluster test skipped: cannot start the daemons here (slurm-up.sh exit {up.returncode}: {why})"
            )
        yield str(state / "slurm.conf")
    finally:
        subprocess.run(
            ["timeout", "-s", "KILL", "120", str(CLUSTER / "slurm-down.sh"), str(state)], capture_output=True
        )


def _cluster_run(work: Path, conf: str, targets, configs=()) -> subprocess.CompletedProcess:
    """snakemake through the SLURM profile with the quick preset (and ``configs``), bounded by timeout -s KILL.
    Jobs ask for 1 GB (the profile's 4 GB default may exceed a small test machine's memory)."""
    env = dict(os.environ, SLURM_CONF=conf, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [
        "timeout",
        "-s",
        "KILL",
        "900",
        str(BIN / "snakemake"),
        *targets,
        "--profile",
        "profiles/slurm",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--default-resources",
        "mem_mb=1000",
        "runtime=30",
        "cpus_per_task=1",
        *QUICK,
        *configs,
    ]
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def cluster_run(slurm, tmp_path_factory):
    work = copy_repo(tmp_path_factory.mktemp("cluster") / "repo")
    proc = _cluster_run(work, slurm, TARGETS)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return work, proc


def test_outputs_exist_and_match_a_local_run(cluster_run, tmp_path):
    work, _ = cluster_run
    for target in TARGETS:
        assert (work / target).stat().st_size > 0
    local = copy_repo(tmp_path / "repo")
    proc = snakemake(local, *TARGETS, "--cores", "2", *QUICK)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for table in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(work / table), pd.read_parquet(local / table))


def test_jobs_went_through_slurm(cluster_run, slurm):
    """Every job has a SLURM log named by its job id, and squeue lists them COMPLETED."""
    work, proc = cluster_run
    logs = sorted((work / "logs" / "slurm").rglob("*.log"))
    assert logs, "no SLURM job logs under logs/slurm"
    ids = {p.stem for p in logs}
    assert all(i.isdigit() for i in ids)
    states = _squeue_states(slurm)
    assert ids <= set(states) and {states[i] for i in ids} == {"COMPLETED"}
    assert (
        "Group job ldm" in proc.stdout + proc.stderr
    )  # the LDM blocks and the kernel-width table shared one SLURM job


def _squeue_states(conf: str) -> dict[str, str]:
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%T"],
        env=dict(os.environ, SLURM_CONF=conf),
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return dict(line.split("|") for line in out.split())


def test_a_failing_job_is_reported_as_failed(slurm, tmp_path):
    """A data stage with no usable source fails inside its SLURM job: Snakemake reports the error
    and exits non-zero, SLURM records the job FAILED, no output is left behind."""
    work = copy_repo(tmp_path / "repo")
    bad = write_yaml(
        work / "bad_source.yaml",
        {"data": {"sources": ["idx_folder"], "idx_folders": {"mnist": str(tmp_path / "nowhere")}}},
    )
    proc = _cluster_run(work, slurm, ["results/bad_source/data/mnist/prepared.npz"], [str(bad)])
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Error in rule data_prepare" in out and "no source could provide mnist" in out, out[-3000:]
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", out)
    assert len(job_ids) == 1, out[-3000:]
    assert _squeue_states(slurm)[job_ids[0]] == "FAILED"
    assert not (work / "results/bad_source/data/mnist/prepared.npz").exists()
