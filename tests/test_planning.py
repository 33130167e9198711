"""Planning of the U-Net jobs (memgen.planning) and the code inputs that decide what reruns
(memgen.sources): the split of the config into what determines the weights and what does not."""

import math

import pytest
import yaml

from memgen.grids import trial_block
from memgen.planning import (
    EVALUATION_KEYS,
    JOB_KEYS,
    RUNTIME_KEYS,
    SHARED_TRAINING_KEYS,
    TRAINING_KEYS,
    gaussian_blocks,
    gaussian_trials,
    memorization_points,
    snapshot_steps,
    total_steps,
    train_jobs,
    trained_images,
    training_slice,
)
from memgen.sources import module_closure, source_digest
from workflow_utils import REPO


def _schema_unet():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    return schema["properties"]["unet"]["properties"]


def test_every_unet_key_is_either_training_jobs_evaluation_or_runtime():
    """A new config key must be classified: otherwise it would silently not retrain (or always retrain)."""
    unet = _schema_unet()
    for experiment in ("gaussian", "memorization"):
        keys = set(unet[experiment]["properties"])
        groups = [set(TRAINING_KEYS), set(JOB_KEYS), set(EVALUATION_KEYS)]
        for key in keys:
            assert sum(key in g for g in groups) == 1, (experiment, key)
    shared = {k for k in unet if k not in ("gaussian", "memorization")}
    assert shared == set(SHARED_TRAINING_KEYS) | set(RUNTIME_KEYS)


def test_training_slice_holds_what_determines_the_weights_only():
    stage = {
        "shared": {"precision": "auto", "pack": 4, "compile": True, "checkpoint_every": 5, "checkpoint_dir": "x"},
        "experiment": {"lr": 1e-3, "steps": 10, "samples": 100, "grid": 16, "n": [16, 32], "model": {"a": 1}},
    }
    assert training_slice(stage) == {
        "shared": {"precision": "auto", "compile": True, "pack": 4},
        "experiment": {"lr": 1e-3, "steps": 10, "model": {"a": 1}},
    }


def test_steps_win_over_epochs_and_snapshots_are_a_geometric_grid_ending_at_the_last_step():
    assert total_steps({"steps": 7, "epochs": 20, "batch_size": 128}, 1000) == 7
    assert total_steps({"steps": None, "epochs": 20, "batch_size": 128}, 1000) == 20 * 8
    with pytest.raises(ValueError, match="steps or epochs"):
        total_steps({"steps": None, "epochs": None, "batch_size": 4}, 10)
    assert snapshot_steps({"steps": 2000}, 16) == [2000]
    grid = snapshot_steps({"steps": 2000, "snapshots": {"min": 20, "num": 5}}, 16)
    assert grid == [20, 63, 200, 632, 2000]  # 20 · 10^(k/2), rounded
    assert all(b / a == pytest.approx(math.sqrt(10), rel=0.01) for a, b in zip(grid, grid[1:]))
    assert snapshot_steps({"steps": 10, "snapshots": {"min": 20, "num": 5}}, 16) == [10]


def test_jobs_and_their_training_images():
    g = {"n": {"min": 4, "max": 1024, "num": 5}, "trials": 10, "trials_per_job": 4, "steps": 100, "batch_size": 16}
    blocks = gaussian_blocks(g)
    assert blocks[:3] == [(4, 0), (4, 1), (4, 2)] and len(blocks) == 5 * 3
    for b in range(3):
        assert f"{gaussian_trials(g, b).start}:{gaussian_trials(g, b).stop}" == trial_block(10, 4, b)
    mem = {"datasets": ["mnist"], "n": [16, 32], "m": [1, "inf"], "seeds": 3, "steps": 50, "batch_size": 8}
    assert memorization_points(mem) == [
        ("mnist", 16, "1"),
        ("mnist", 16, "inf"),
        ("mnist", 32, "1"),
        ("mnist", 32, "inf"),
    ]
    unet = {"gaussian": g, "memorization": mem}
    assert len(train_jobs(unet)) == 15 + 4
    assert trained_images("unet_train_gaussian", {"n": 4, "block": 2}, unet) == 2 * 100 * 16  # trials 8, 9
    assert trained_images("unet_train_memorization", {"dataset": "mnist", "n": 16, "m": "1"}, unet) == 3 * 50 * 8


def test_the_training_code_does_not_include_the_metrics():
    """The code inputs of the training stage (memgen.sources, as the workflow declares them): the training
    loop and the network, never the metrics, the sampler driver or the scoring."""
    train = {p.name for p in module_closure("memgen.experiments.unet_train")}
    assert {"training.py", "unet.py", "diffusion.py", "data.py", "unet_train.py", "planning.py"} <= train
    assert not train & {"kde.py", "calibration.py", "memorization.py", "paper_arithmetic.py", "unet_sample.py"}
    score = {p.name for p in module_closure("memgen.experiments.unet")}
    assert {"kde.py", "calibration.py", "memorization.py", "training.py"} <= score
    assert source_digest("memgen.training") == source_digest("memgen.training")
    assert source_digest("memgen.training") != source_digest("memgen.experiments.unet")
