"""The prepared GPU session (bench/gpu_session.sh) and its way back into the reference
(`memgen.reference gpu_fig4 --from`), run end to end on the CPU at the quick preset's scale: what the
script leaves in its archive, and that only the figure rule runs where the archive is brought in."""

import os
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pandas as pd
import pytest

from memgen.data import ImageDataset, load_idx_folder, write_prepared
from memgen.io import read_table
from workflow_utils import BIN, REPO, copy_repo, snakemake, write_yaml

pytestmark = pytest.mark.workflow


def test_a_gpu_session_archive_becomes_the_reference_part(tmp_path):
    work = copy_repo(tmp_path / "repo")
    shutil.copytree(REPO / "bench", work / "bench", ignore=shutil.ignore_patterns("out", "__pycache__"))
    # the GPU preset's layout at the quick preset's sizes, under the GPU run's name
    write_yaml(work / "presets" / "smoke.yaml", {"run": "gpu"})
    out = tmp_path / "out"
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHON=sys.executable,
        CONFIGFILES="presets/gpu.yaml presets/quick.yaml presets/smoke.yaml",
        OUT=str(out),
    )
    session = subprocess.run(
        ["bash", "bench/gpu_session.sh", "fig4"], cwd=work, env=env, capture_output=True, text=True, timeout=1200
    )
    assert session.returncode == 0, session.stdout[-3000:] + session.stderr[-3000:]
    archive = out / "gpu_results.tar.gz"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"results/gpu/unet/gaussian/transition.parquet", "results/gpu/bench/session.parquet"} <= names
    assert not [n for n in names if n.endswith((".pt", ".npz", ".ckpt"))]  # tables and logs only
    made_there = read_table(work / "results/gpu/unet/gaussian/transition.parquet")

    # another machine: the archive alone
    for folder in ("results", "logs", "figures", ".snakemake"):
        shutil.rmtree(work / folder, ignore_errors=True)
    env["PYTHONPATH"] = str(work / "src")  # this copy's memgen.reference, whose REPO is the copy
    brought = subprocess.run(
        [sys.executable, "-m", "memgen.reference", "gpu_fig4", "--from", str(archive), "--cores", "1"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = brought.stdout + brought.stderr
    assert brought.returncode == 0, log[-3000:]
    ran = {line.split()[-1].rstrip(":") for line in log.splitlines() if line.startswith(("rule ", "localrule "))}
    assert ran == {"figure_unet_gaussian_transition"}
    reference = work / "reference" / "gpu"
    assert (reference / "figures" / "unet_gaussian_transition.png").stat().st_size > 10_000
    pd.testing.assert_frame_equal(read_table(reference / "tables/unet/gaussian/transition.parquet"), made_there)
    stages = read_table(reference / "tables/bench/session.parquet")
    assert stages.stage.tolist() == ["fig4"] and stages.exit_status.tolist() == [0]
    assert stages.wall_time_s.iloc[0] > 0


def test_a_figures_only_run_is_not_sized_by_the_jobs_it_cannot_run(tmp_path):
    """Planning refuses a config whose U-Net packs cannot fit this machine, unless the command line lets
    only figure rules run (the tables made elsewhere): then the figure asks for its tables and nothing
    else, and is not refused for jobs it will never start."""
    work = copy_repo(tmp_path / "repo")
    huge = ["--configfile", "presets/gpu.yaml", "--config", "unet={pack: 100000}"]
    target = "figures/gpu/unet_gaussian_transition.png"
    refused = snakemake(work, target, "-n", "--cores", "1", *huge)
    assert refused.returncode != 0 and "config key 'unet.pack'" in refused.stdout + refused.stderr
    only = ["--allowed-rules", "figure_unet_gaussian_transition", "--resources", "gpu=2"]  # options may follow
    figure_only = snakemake(work, target, "-n", "--cores", "1", *huge, *only)
    log = figure_only.stdout + figure_only.stderr
    assert "cannot fit" not in log
    assert "results/gpu/unet/gaussian/transition.parquet" in log  # missing: it comes from the archive


def test_the_gpu_data_are_the_first_images_the_study_of_m_reads(tmp_path):
    """bench/gpu_data.py writes the first max(n) training and the first n_test test images of the data
    set as prepared here; read back through the idx_folder source they are exactly those images and
    labels, so the study of m sees on the GPU machine what it would see here."""
    rng = np.random.default_rng(0)
    data = ImageDataset(
        "mnist",
        "test",
        rng.integers(0, 256, (500, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 500),
        rng.integers(0, 256, (200, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 200),
    )
    folder = tmp_path / "results" / "gpu" / "data" / "mnist"
    folder.mkdir(parents=True)
    write_prepared(data, folder / "prepared.npz", folder / "manifest.json")
    cfg = write_yaml(
        tmp_path / "c.yaml", {"unet": {"memorization": {"n": [100, 300], "n_test": 50, "datasets": ["mnist"]}}}
    )
    cmd = [sys.executable, str(REPO / "bench" / "gpu_data.py"), "--configfile", str(cfg), "--out", ".gpu_data"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    back = load_idx_folder(tmp_path / ".gpu_data" / "mnist", "mnist")
    assert np.array_equal(back.train_images, data.train_images[:300])
    assert np.array_equal(back.train_labels, data.train_labels[:300])
    assert np.array_equal(back.test_images, data.test_images[:50])
    assert np.array_equal(back.test_labels, data.test_labels[:50])
