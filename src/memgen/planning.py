"""The U-Net jobs of a config and how long they train, without torch: the one place that the workflow
(``workflow/rules/common.smk``), the drivers (``memgen.experiments.unet_*``) and the CPU budget
(:mod:`memgen.cpu_budget`) read them from.

A U-Net experiment (config ``unet.gaussian``: Paper B's Fig. 4; ``unet.memorization``: the study of m)
runs in three stages: training (→ weights at the saved steps and the loss curve), sampling (→ images
from those weights) and scoring (→ metrics). Its config keys fall apart accordingly:
:data:`TRAINING_KEYS` determine the weights and are the training jobs' only parameters, so a change
to any other key (the number of samples, the kernel widths, what a figure shows) retrains nothing.
"""

from __future__ import annotations

import math

from memgen.grids import log_int_grid, m_label, parse_m, trial_block, trial_range

# Keys of unet.<experiment> that determine the trained weights (the data: image_size, mu, sigma,
# resolution; the network; the optimiser; the training length; the saved steps; the seeds).
TRAINING_KEYS = (
    "image_size",
    "mu",
    "sigma",
    "resolution",
    "seeds",
    "epochs",
    "steps",
    "steps_per_image",
    "snapshots",
    "batch_size",
    "lr",
    "diffusion_steps",
    "noise_bank",
    "model",
)
# Keys of unet.<experiment> that only say which jobs exist (wildcards and blocks of the jobs).
JOB_KEYS = ("n", "m", "trials", "trials_per_job", "datasets")
# Keys of unet.<experiment> read after training: sampling and scoring.
EVALUATION_KEYS = (
    "N",
    "sampler",
    "generated",
    "original_subset",
    "protocols",
    "samples",
    "n_test",
    "eval_repeats",
    "grid",
)
# Keys of unet (shared by its experiments) that determine the weights: the arithmetic (precision, and
# torch.compile, whose fused kernels may round differently), and the packing (a pack equals separate
# runs only up to floating-point reassociation).
SHARED_TRAINING_KEYS = ("precision", "compile", "pack")
# Keys of unet that only say how a training job runs (its checkpoints), not what it computes.
RUNTIME_KEYS = ("checkpoint_every", "checkpoint_dir")

TRAIN_RULES = ("unet_train_gaussian", "unet_train_memorization")


def training_slice(stage_slice: dict) -> dict:
    """The part of a U-Net experiment's config slice ({"shared": …, "experiment": …}, as
    ``stage_config``) that determines its weights: the training jobs' parameters and the
    context of their checkpoints."""
    shared, ex = stage_slice["shared"], stage_slice["experiment"]
    return {
        "shared": {k: shared[k] for k in SHARED_TRAINING_KEYS if k in shared},
        "experiment": {k: ex[k] for k in TRAINING_KEYS if k in ex},
    }


def total_steps(ex: dict, n: int) -> int:
    """Optimizer steps of a training on n images: ``steps`` where the config fixes them (steps wins over
    epochs), raised to ``steps_per_image`` · n where that is given (a training length that grows with n);
    else ``epochs`` passes of ⌈n / batch_size⌉ batches."""
    if ex.get("steps"):
        return max(int(ex["steps"]), int(ex.get("steps_per_image") or 0) * int(n))
    if not ex.get("epochs"):
        raise ValueError("a U-Net experiment needs steps or epochs")
    return int(ex["epochs"]) * math.ceil(n / int(ex["batch_size"]))


def snapshot_steps(ex: dict, n: int) -> list[int]:
    """The optimizer steps after which the weights are saved: the end of training, and with
    ``snapshots: {min: a, num: k}`` the k integers of a geometric grid from a to the last step
    (duplicates after rounding merged)."""
    last = total_steps(ex, n)
    spec = ex.get("snapshots")
    if not spec:
        return [last]
    grid = log_int_grid(min(int(spec["min"]), last), last, int(spec["num"]))
    return sorted({*map(int, grid), last})


def gaussian_ns(g: dict) -> list[int]:
    """Training-set sizes of the Fig. 4 experiment (config unet.gaussian.n, log-spaced integers)."""
    return [int(n) for n in log_int_grid(g["n"]["min"], g["n"]["max"], g["n"]["num"])]


def gaussian_blocks(g: dict) -> list[tuple[int, int]]:
    """(n, block) of every job of the Fig. 4 experiment: ``trials_per_job`` trials each."""
    blocks = math.ceil(g["trials"] / g["trials_per_job"])
    return [(n, b) for n in gaussian_ns(g) for b in range(blocks)]


def gaussian_trials(g: dict, block: int) -> range:
    """The trials of block ``block``."""
    return trial_range(trial_block(g["trials"], g["trials_per_job"], int(block)))


def memorization_points(mem: dict) -> list[tuple[str, int, str]]:
    """(data set, n, m label) of every job of the study of m (each trains ``seeds`` U-Nets)."""
    return [(ds, int(n), m_label(parse_m(m))) for ds in mem["datasets"] for n in mem["n"] for m in mem["m"]]


def train_jobs(unet: dict) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every training job of the config section ``unet``."""
    jobs = [("unet_train_gaussian", {"n": n, "block": b}) for n, b in gaussian_blocks(unet["gaussian"])]
    jobs += [
        ("unet_train_memorization", {"dataset": ds, "n": n, "m": m})
        for ds, n, m in memorization_points(unet["memorization"])
    ]
    return jobs


def trained_images(rule: str, wildcards: dict, unet: dict) -> int:
    """Training images one job processes: its models × their optimizer steps × the batch size."""
    n = int(wildcards["n"])
    if rule == "unet_train_gaussian":
        g = unet["gaussian"]
        return len(gaussian_trials(g, int(wildcards["block"]))) * total_steps(g, n) * g["batch_size"]
    if rule == "unet_train_memorization":
        mem = unet["memorization"]
        return mem["seeds"] * total_steps(mem, n) * mem["batch_size"]
    raise ValueError(f"no training images for rule {rule!r}")
