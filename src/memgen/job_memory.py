"""Peak memory of the largest job of each kind, so that planning refuses a config that cannot fit
(no torch: the Snakefile calls it at every start).

Each estimate counts the arrays the job holds at once, in the precision it computes in, and is
meant as an order of magnitude (the refusal is for configs off by factors, such as ``rf.d: 10⁸``):

- an RF fit (float64; ``memgen.rf``): p×p matrices (U, Ω, the Mehler terms R, R^j and their
  accumulator, the Cholesky factor: 8 p²), p×d read-outs and population moments (4 p d), the
  training set and its noised copy (2 n d), the sampled chunks of 8,192 noisy points (features and
  noises, 8192 (p + d)) and the Hermite coefficients of a chunk of 256 points at every Mehler order
  J + 1 (J from max|cos(w_k, w_l)| ≈ √(4 ln p / d), the size of the largest of p² Gaussian
  correlations in d dimensions, and the tolerance 10⁻¹⁰);
- a linear-model trial (float64; ``memgen.linear``, ``memgen.kde``): the original and generated sets
  and their noised copies (4 N d), the training set (2 n d), the d×d covariances (4 d²) and two
  blocks of 2²⁴ pairwise kernel values;
- a U-Net job (float32; ``memgen.unet``): per model of a pack, the parameters with their gradients
  and Adam's two moments (4 P, P ≈ 100 c² Σ_k mult_k² · blocks, which gives 13.9 M for the 12.8 M
  U-Net of Fig. 4 and 7.4 M for the 6.8 M one at 28×28), and the activations kept for the backward
  pass (≈ 45 feature maps of c · mult_k channels at each level k of side s/2^k, per residual block,
  per image of the batch: the count measured for the 12.8 M U-Net at batch 128); plus the data set
  of the job (N images).

``bench/bench_job_memory.py`` measures the peaks of real jobs beside these estimates.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from memgen.grids import log_int_grid

GIB = 2**30
ACTIVATIONS_PER_BLOCK = 45  # feature maps kept per residual block (bench/bench_job_memory.py: 16x16 U-Net)
KDE_BLOCK = 1 << 24  # pairwise kernel values computed at once (memgen.kde)
SAMPLED_CHUNK = 8192  # noisy points per chunk of the sampled moments (memgen.rf)
MEHLER_CHUNK = 256  # points per chunk of the averaged moments (memgen.rf)
MEHLER_TOL = 1e-10
HERMITE_NODES = 100  # Gauss–Hermite nodes of the one-dimensional integrals (memgen.rf)
MAX_MEHLER_ORDER = 500


@dataclass(frozen=True)
class MemoryEstimate:
    """The peak memory of the largest job of one kind, and the config key that sets its size."""

    key: str
    bytes: float
    what: str


def _mehler_order(d: int, p: int) -> int:
    """Mehler orders of the averaged moments: the first J with max|R|^(J+1) ≤ tol."""
    rmax = min(0.99, math.sqrt(4 * math.log(max(p, 2)) / d))
    return min(MAX_MEHLER_ORDER, math.ceil(math.log(MEHLER_TOL) / math.log(rmax)))


def rf_fit_bytes(d: int, p: int, n: int, quadrature: bool = True) -> float:
    """Peak bytes of one RF fit with p features on n training points in dimension d (float64); with
    ``quadrature`` (m = ∞ with an activation other than ReLU), the activation at the 100
    Gauss–Hermite nodes of a chunk of 256 points and its argument (2 · 256 · p · 100)."""
    order = _mehler_order(d, p)
    elements = 8 * p * p + 4 * p * d + 2 * n * d + SAMPLED_CHUNK * (p + d) + MEHLER_CHUNK * p * (order + 1)
    if quadrature:
        elements += 2 * MEHLER_CHUNK * p * HERMITE_NODES
    return 8.0 * elements


def ldm_trial_bytes(N: int, d: int, n: int) -> float:
    """Peak bytes of one linear-model trial: original set of N, training set of n, dimension d."""
    return 8.0 * (4 * N * d + 2 * n * d + 4 * d * d + 2 * KDE_BLOCK)


def unet_parameters(model: dict) -> float:
    """Approximate parameter count of a U-Net of this shape (see the module docstring)."""
    return 100.0 * model["base_channels"] ** 2 * sum(m * m for m in model["channel_mults"]) * model["num_res_blocks"]


def unet_job_bytes(model: dict, image_size: int, batch: int, pack: int, data_images: int) -> float:
    """Peak bytes of a U-Net job training ``pack`` models at once on batches of ``batch`` images."""
    per_image = sum(
        ACTIVATIONS_PER_BLOCK * model["base_channels"] * mult * (image_size / 2**level) ** 2 * model["num_res_blocks"]
        for level, mult in enumerate(model["channel_mults"])
    )
    per_model = 4 * unet_parameters(model) + batch * per_image
    return 4.0 * (pack * per_model + data_images * image_size**2)


def _largest(values) -> float:
    out = []
    for v in values:
        if isinstance(v, dict):
            out.append(v["max"])
        elif isinstance(v, (list, tuple)):
            out.extend(x for x in v if not isinstance(x, (list, tuple)))
            out.extend(y for x in v if isinstance(x, (list, tuple)) for y in x)
        elif v is not None:
            out.append(v)
    return max(out)


def estimates(config: dict) -> list[MemoryEstimate]:
    """The largest job of each kind in a validated config."""
    out = []
    rf = config["rf"]
    psi_p = _largest(
        [rf["learning_curves"]["simulated_psi_p"], rf["vs_psi_n"]["psi_p"], rf["role_of_m"]["psi_p"]]
        + [rf["phase_diagram"]["spot_checks"]]
    )
    psi_n = _largest([rf["learning_curves"]["psi_n"], rf["vs_psi_n"]["simulated_psi_n"], rf["role_of_m"]["psi_n"]])
    d = rf["d"]
    p, n = round(psi_p * d), round(psi_n * d)
    out.append(MemoryEstimate("rf.d", rf_fit_bytes(d, p, n), f"an RF fit at d = {d:,}, p = {p:,}, n = {n:,}"))
    br = config["bridge"]
    d = br["d"]
    psi_p = _largest([br[k]["psi_p"] for k in ("transition", "phase")])
    psi_n = _largest([br[k]["psi_n"] for k in ("transition", "phase")])
    p, n = round(psi_p * d), round(psi_n * d)
    fit = rf_fit_bytes(d, p, n) + ldm_trial_bytes(br["N"], d, n)
    out.append(MemoryEstimate("bridge.d", fit, f"a bridge point at d = {d:,}, p = {p:,}, n = {n:,}, N = {br['N']:,}"))
    ri = config["rf_images"]
    lc, gen = ri["learning_curves"], ri["generation"]
    n = max(lc["n"])
    p = round(max(lc["p_over_n"]) * n)
    out.append(
        MemoryEstimate(
            "rf_images.learning_curves.n",
            rf_fit_bytes(784, p, n + lc["n_test"]),
            f"an RF fit on {n:,} images (d = 784, p = {p:,})",
        )
    )
    d = max(gen["resolutions"]) ** 2
    p = round(max(gen["p_over_n"]) * gen["n"])
    out.append(
        MemoryEstimate(
            "rf_images.generation.p_over_n",
            rf_fit_bytes(d, p, gen["n"]) + 8.0 * gen["samples"] * (p + 2 * d),
            f"an RF generation at d = {d:,}, p = {p:,}",
        )
    )
    tr = config["ldm"]["transition"]
    d = max(s["d"] for s in tr["sweeps"])
    n = max(s["n_max"] for s in tr["sweeps"])
    out.append(
        MemoryEstimate(
            "ldm.transition.N", ldm_trial_bytes(tr["N"], d, n), f"a linear-model trial, N = {tr['N']:,}, d = {d:,}"
        )
    )
    unet, pack = config["unet"], config["unet"]["pack"]
    g, mem = unet["gaussian"], unet["memorization"]
    n_max = int(max(log_int_grid(g["n"]["min"], g["n"]["max"], g["n"]["num"])))
    pack_g = min(pack, g["trials_per_job"])
    out.append(
        MemoryEstimate(
            "unet.pack" if pack_g > 1 else "unet.gaussian.batch_size",
            unet_job_bytes(g["model"], g["image_size"], g["batch_size"], pack_g, g["N"] + n_max),
            f"a Fig. 4 job ({pack_g} U-Nets of ~{unet_parameters(g['model']) / 1e6:.1f} M parameters at once, "
            f"batch {g['batch_size']}, {g['image_size']}x{g['image_size']}; unet.pack = {pack})",
        )
    )
    size = mem["resolution"] or 28
    pack_m = min(pack, mem["seeds"])
    out.append(
        MemoryEstimate(
            "unet.pack" if pack_m > 1 else "unet.memorization.batch_size",
            unet_job_bytes(
                mem["model"], size, mem["batch_size"], pack_m, max(mem["n"]) + mem["n_test"] + mem["samples"]
            ),
            f"a study-of-m job ({pack_m} U-Nets of ~{unet_parameters(mem['model']) / 1e6:.1f} M parameters, "
            f"batch {mem['batch_size']}, {size}x{size}; unet.pack = {pack})",
        )
    )
    return out


def machine_memory_bytes() -> int:
    """Physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_errors(config: dict, available_bytes: float, where: str = "this machine's memory") -> list[str]:
    """One message per kind of job whose largest job would not fit in ``available_bytes``."""
    return [
        f"config key '{e.key}': {e.what} needs about {e.bytes / GIB:,.3g} GiB, more than {where} "
        f"({available_bytes / GIB:,.3g} GiB)"
        for e in estimates(config)
        if e.bytes > available_bytes
    ]
