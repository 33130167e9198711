"""A rough CPU-time estimate of a config's U-Net jobs, so that a local run on a machine without a GPU
stops before a multi-day job starts (no torch: the Snakefile calls it at every start).

The training jobs and the images each processes come from :mod:`memgen.planning` (Fig. 4 blocks
train ``trials_per_job`` U-Nets, the study of m ``seeds`` U-Nets, for their optimizer steps of one
batch each); only training is counted (sampling and scoring are minutes). The CPU throughput is
the measured 33.0 images/s of the 12.8 M-parameter 16×16 U-Net (base 88 channels, widths ×(1, 2, 2),
2 residual blocks per level; ``bench/bench_unet.py``, 2 cores, float32), scaled by a convolution-cost
proxy, cost ∝ base_channels² · Σ_k mult_k² · num_res_blocks · image_size² (it predicts 20 images/s
for the 28×28, base-64 U-Net measured at 23.7).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from memgen.config import MNIST_IMAGE_SIZE
from memgen.planning import TRAIN_RULES, train_jobs, trained_images

REFERENCE_IMAGES_PER_S = 33.0
REFERENCE_MODEL = {"base_channels": 88, "channel_mults": [1, 2, 2], "num_res_blocks": 2}
REFERENCE_IMAGE_SIZE = 16
CPU_JOB_LIMIT_HOURS = 2.0  # a local run without a GPU stops before U-Net jobs estimated above this


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


def unet_job_cpu_hours(rule: str, wildcards: dict, unet: dict) -> float:
    """Estimated CPU hours (2 cores) of one U-Net training job (``unet_train_gaussian``: wildcards n, block;
    ``unet_train_memorization``: dataset, n, m): its :func:`memgen.planning.trained_images` at the
    estimated throughput of its U-Net."""
    ex = unet["gaussian"] if rule == "unet_train_gaussian" else unet["memorization"]
    size = ex.get("image_size") or ex.get("resolution") or MNIST_IMAGE_SIZE
    return trained_images(rule, wildcards, unet) / cpu_images_per_second(ex["model"], size) / 3600


def unet_cpu_hours(unet: dict) -> dict[str, tuple[int, float]]:
    """Rule name -> (jobs, estimated CPU hours of all of them) for the config section ``unet``."""
    out = {rule: (0, 0.0) for rule in TRAIN_RULES}
    for rule, wildcards in train_jobs(unet):
        jobs, hours = out[rule]
        out[rule] = (jobs + 1, hours + unet_job_cpu_hours(rule, wildcards, unet))
    return out


def has_cuda_device() -> bool:
    """An NVIDIA driver on this machine (checked without importing torch)."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia").exists()


def long_cpu_jobs(jobs, unet: dict, limit_hours: float = CPU_JOB_LIMIT_HOURS) -> list[tuple[str, dict, float]]:
    """The planned (rule, wildcards) among ``jobs`` that are U-Net jobs estimated above
    ``limit_hours`` on a 2-core CPU, with their estimates."""
    out = []
    for rule, wildcards in jobs:
        if rule in TRAIN_RULES and (hours := unet_job_cpu_hours(rule, wildcards, unet)) > limit_hours:
            out.append((rule, dict(wildcards), hours))
    return out


def jobs_to_stop_for(planned, unet: dict, *, local: bool, gpu: bool, allowed: bool) -> list[tuple[str, dict, float]]:
    """The long U-Net jobs that stop a run before its first job: only a local run (a cluster
    executor is never stopped), on a machine without a CUDA GPU, without allow_long_cpu_jobs."""
    if not local or gpu or allowed:
        return []
    return long_cpu_jobs(planned, unet)


def long_cpu_jobs_message(long_jobs, limit_hours: float = CPU_JOB_LIMIT_HOURS) -> str:
    """What a local run on a machine without a CUDA GPU prints before stopping: the estimate, the
    jobs concerned and the ways forward."""
    total = sum(h for *_, h in long_jobs)
    per_rule: dict[str, list[float]] = {}
    for rule, _, hours in long_jobs:
        per_rule.setdefault(rule, []).append(hours)
    lines = [
        f"memgen: stopped before the first job. No CUDA GPU here, and {len(long_jobs)} U-Net jobs of this plan "
        f"would each take more than {limit_hours:g} CPU hours (about {total:,.0f} CPU hours on 2 cores in all;",
        f"estimate from the measured {REFERENCE_IMAGES_PER_S:g} images/s of the 12.8 M-parameter U-Net):",
        *(
            f"  {rule}: {len(hours)} jobs, "
            + (f"{hours[0]:,.1f} h each" if min(hours) == max(hours) else f"{min(hours):,.1f}-{max(hours):,.1f} h each")
            for rule, hours in sorted(per_rule.items())
        ),
        "Ways forward:",
        "  make figures                     the CPU preset on this machine (every figure with trained U-Nets, <= 90 min)",
        "  a machine with a CUDA GPU        paper scale as configured",
        "  --profile profiles/slurm         send the jobs to a cluster (never stopped by this check)",
        "  --config allow_long_cpu_jobs=true   run them here anyway",
    ]
    return "\n".join(lines)
