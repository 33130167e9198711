"""A rough CPU-time estimate of a config's U-Net jobs, so that planning on a machine without a GPU
says so before a multi-day run starts (no torch: the Snakefile calls it at every start).

Training images per job: Fig. 4 blocks train ``trials_per_job`` U-Nets for ``epochs`` passes of
⌈n/batch⌉ batches (or ``steps`` batches where the config fixes them); the study of m trains ``seeds`` U-Nets for ``steps`` batches. The CPU throughput is
the measured 33.0 images/s of the 12.8 M-parameter 16×16 U-Net (base 88 channels, widths ×(1, 2, 2),
2 residual blocks per level; ``bench/bench_unet.py``, 2 cores, float32), scaled by a convolution-cost
proxy, cost ∝ base_channels² · Σ_k mult_k² · num_res_blocks · image_size² (it predicts 20 images/s
for the 28×28, base-64 U-Net measured at 23.7).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from memgen.config import MNIST_IMAGE_SIZE
from memgen.grids import log_int_grid

REFERENCE_IMAGES_PER_S = 33.0
REFERENCE_MODEL = {"base_channels": 88, "channel_mults": [1, 2, 2], "num_res_blocks": 2}
REFERENCE_IMAGE_SIZE = 16
WARN_ABOVE_HOURS = 3.0


def _cost(model: dict, image_size: int) -> float:
    return (
        model["base_channels"] ** 2
        * sum(m * m for m in model["channel_mults"])
        * model["num_res_blocks"]
        * image_size**2
    )


def cpu_images_per_second(model: dict, image_size: int) -> float:
    """Estimated training throughput on a 2-core CPU for a U-Net of this shape."""
    return REFERENCE_IMAGES_PER_S * _cost(REFERENCE_MODEL, REFERENCE_IMAGE_SIZE) / _cost(model, image_size)


def unet_cpu_hours(unet: dict) -> dict[str, tuple[int, float]]:
    """Rule name -> (jobs, estimated CPU hours of all of them) for the config section ``unet``."""
    g, mem = unet["gaussian"], unet["memorization"]
    ns = [int(n) for n in log_int_grid(g["n"]["min"], g["n"]["max"], g["n"]["num"])]
    per_trial = {
        n: (g["steps"] if g.get("steps") else g["epochs"] * math.ceil(n / g["batch_size"])) * g["batch_size"]
        for n in ns
    }
    blocks = math.ceil(g["trials"] / g["trials_per_job"])
    gauss_images = g["trials"] * sum(per_trial.values())
    mem_jobs = len(mem["datasets"]) * len(mem["n"]) * len(mem["m"])
    mem_images = mem_jobs * mem["seeds"] * mem["steps"] * mem["batch_size"]
    return {
        "unet_gaussian_block": (
            len(ns) * blocks,
            gauss_images / cpu_images_per_second(g["model"], g["image_size"]) / 3600,
        ),
        "unet_memorization": (
            mem_jobs,
            mem_images / cpu_images_per_second(mem["model"], mem.get("resolution") or MNIST_IMAGE_SIZE) / 3600,
        ),
    }


def has_cuda_device() -> bool:
    """An NVIDIA driver on this machine (checked without importing torch)."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia").exists()


def cpu_warning(unet: dict, threshold_hours: float = WARN_ABOVE_HOURS) -> str | None:
    """The message planning prints when the U-Net jobs would take more than ``threshold_hours`` on this CPU."""
    hours = unet_cpu_hours(unet)
    total = sum(h for _, h in hours.values())
    if total <= threshold_hours:
        return None
    lines = [
        f"memgen: no CUDA GPU here, and the U-Net jobs of this config would take about {total:,.0f} CPU hours on 2 cores",
        f"(rough estimate from the measured {REFERENCE_IMAGES_PER_S:g} images/s of the 12.8 M-parameter U-Net):",
        *(f"  {rule}: {jobs} jobs, ~{h:,.1f} h" for rule, (jobs, h) in hours.items()),
        "On a CPU use `make figures PRESET=cpu` (every figure with small U-Nets trained to the end, within 90 min on",
        "2 cores; PRESET=quick: plumbing in minutes); otherwise run on a GPU machine, or send the GPU jobs to a",
        "cluster (--profile profiles/slurm; ignore this message when they go there).",
    ]
    return "\n".join(lines)
