"""Paper B's published numbers, reproduced with the arithmetic of the authors' public code.

Our metric is exact (float64, log space, the equal diagonal self-overlaps cancelled analytically;
``docs/transition-metric.md`` §3). The authors' linear-model and U-Net scripts differ in three ways
that can change what a figure shows (§7 of that document); each is reproduced here so that the
figures can draw the paper's convention beside ours:

1. **float32 self-overlaps.** ∫ρ² of a KDE is evaluated as a float32 sum over all ordered pairs,
   the n diagonal ones included, divided by a float32 normalisation (2ε²)^{d/2} n² √(2π), with
   ε = σ n^{−1/d} itself rounded to float32. In d = 100 the rounding of ε^d alone is ~1e-6 of the
   diagonal part, which is the same (4πσ²)^{−d/2} for the training and the original KDE — so the
   difference of the two self-overlaps is rounding, larger than the terms that decide Δ's sign.
   The cross terms ∫ρ ρ_G are float64. (Both terms carry the same constant factor (2π)^{(d−1)/2}
   relative to the true integrals; it does not change any sign.)
2. **A determinant cut-off.** Any determinant at or below e^{−25} is treated as 0, so the squared
   Hellinger distance is exactly 1 whenever det Σ_G ≤ e^{−25} — in d = 100 for every n, since the
   generated covariance has eigenvalues below 1.
3. **A 16-point per-pixel sum** (Fig. 4): ∫(ρ_a − ρ_b)² over each pixel is replaced by the mean of
   (ρ_a − ρ_b)² at 16 equally spaced points of [μ − 5σ, μ + 5σ], while the kernels are σ/(set size)
   wide — far narrower than the grid spacing 10σ/15 — so the sum samples the densities between
   their peaks (:func:`memgen.kde.per_coordinate_grid_distance`).

Our emulation of item 1 evaluates the off-diagonal pairs through the centred expansion
‖a‖² + ‖b‖² − 2a·b (their code takes direct differences); both round the pair part away when it is
below ~6e-8 of the diagonal sum, and the normalisation's rounding, which decides the outcome, is
the same operation in the same precision.
"""

from __future__ import annotations

import math

import torch

from memgen.kde import PixelTransition, per_coordinate_grid_distance, pixel_kernel_width
from memgen.linear import GaussianLaw, gaussian_hellinger2

DET_CUTOFF_LOG = -25.0
GRID_POINTS = 16
GRID_HALF_WIDTH = 5.0  # in units of the pixel standard deviation
_FLOAT32_BLOCK = 512


def _float32_width(sigma: float, n: int, d: int) -> torch.Tensor:
    """ε = σ (1/n)^{1/d}, rounded to float32 as the authors' code holds it."""
    return torch.tensor(sigma * (1.0 / n) ** (1.0 / d), dtype=torch.float32)


def float32_self_term(points: torch.Tensor, sigma: float) -> float:
    """The authors' float32 ∫ρ² of the KDE of ``points`` (width ε = σ n^{−1/d} rounded to float32),
    scaled by (2π)^{(d−1)/2}: S / (√(2π) (2ε²)^{d/2} n²), S = Σ_{i,j} exp(−‖x_i − x_j‖²/(4ε²)) with the
    n diagonal terms equal to 1, every operation in float32."""
    x = points.to(torch.float32)
    n, d = x.shape
    eps = _float32_width(sigma, n, d)
    c = x - x.mean(0)
    sq = (c * c).sum(1)
    total = torch.zeros((), dtype=torch.float32)
    for i in range(0, n, _FLOAT32_BLOCK):
        rows = (sq[i : i + _FLOAT32_BLOCK, None] + sq[None, :] - 2.0 * c[i : i + _FLOAT32_BLOCK] @ c.T).clamp_(min=0.0)
        idx = torch.arange(i, min(i + _FLOAT32_BLOCK, n))
        rows[idx - i, idx] = 0.0  # the diagonal: exp(0) = 1 exactly, as in a direct difference
        total += torch.exp(-rows / (4.0 * eps * eps)).sum()
    two_pi = torch.tensor(2.0 * math.pi, dtype=torch.float32)
    return float(total / (torch.sqrt(two_pi) * (2.0 * eps * eps) ** (d / 2) * float(n * n)))


def float64_cross_term(points: torch.Tensor, sigma: float, law: GaussianLaw) -> float:
    """The authors' −2∫ρ ρ_G, scaled by (2π)^{(d−1)/2} like :func:`float32_self_term`:
    −2 / (n √(2π det M)) Σ_i exp(−½ (μ − x_i)ᵀ M^{−1} (μ − x_i)), M = Σ_G + ε² I (ε the float32 width),
    float64. Raises FloatingPointError where their determinant cut-off (det M ≤ e^{−25}) would divide by 0."""
    x = points.to(torch.float32).to(torch.float64)
    n, d = x.shape
    eps = float(_float32_width(sigma, n, d))
    M = law.cov.to(torch.float64) + eps * eps * torch.eye(d, dtype=torch.float64)
    det = float(torch.linalg.det(M))
    if not det > math.exp(DET_CUTOFF_LOG):
        raise FloatingPointError(f"paper arithmetic: det(Sigma_G + eps^2 I) = {det:.3g} <= e^-25 (d={d}, n={n})")
    r = law.mean.to(torch.float64) - x
    maha = (r @ torch.linalg.inv(M) * r).sum(1)
    return float(-2.0 / (n * math.sqrt(2.0 * math.pi * det)) * torch.exp(-0.5 * maha).sum())


def float32_delta_sign(
    train, original, law: GaussianLaw, sigma: float, train_self: float | None = None, original_self: float | None = None
) -> float:
    """sign(Δ) as the authors' arithmetic gives it: (self_T + cross_T) − (self_O + cross_O) in float64 of
    the terms above. ``train_self``, ``original_self``: :func:`float32_self_term` of the two sets, if known."""
    self_t = float32_self_term(train, sigma) if train_self is None else train_self
    self_o = float32_self_term(original, sigma) if original_self is None else original_self
    delta = self_t + float64_cross_term(train, sigma, law) - self_o
    delta -= float64_cross_term(original, sigma, law)
    return float(math.copysign(1.0, delta)) if delta != 0.0 else 0.0


def hellinger2_det_cutoff(truth: GaussianLaw, law: GaussianLaw) -> float:
    """H²(truth ‖ law) with the authors' determinant cut-off: 1 when det Σ_G ≤ e^{−25}, else exact."""
    evals = torch.linalg.eigvalsh(law.cov.to(torch.float64))
    if bool((evals <= 0).any()) or float(torch.log(evals).sum()) <= DET_CUTOFF_LOG:
        return 1.0
    return gaussian_hellinger2(truth, law)


def pixel_grid(mean: float, sigma: float) -> torch.Tensor:
    """The 16 points of the authors' per-pixel sum: linspace(μ − 5σ, μ + 5σ, 16), float64."""
    return torch.linspace(
        mean - GRID_HALF_WIDTH * sigma, mean + GRID_HALF_WIDTH * sigma, GRID_POINTS, dtype=torch.float64
    )


def grid_pixel_transition(
    train, original, generated, sigma: float, mean: float, eps_train: float | None = None
) -> PixelTransition:
    """E_TG and E_OG of eq. 23 as the authors evaluate them: the mean of (ρ_a − ρ_b)² over the pixels and
    the 16 points of :func:`pixel_grid`, widths σ/(set size) as in :func:`memgen.kde.pixel_transition`
    (``eps_train``: the training KDE's width when it is not σ/(its size))."""
    grid = pixel_grid(mean, sigma)
    widths = [pixel_kernel_width(sigma, len(s)) for s in (train, original, generated)]
    if eps_train is not None:
        widths[0] = eps_train
    return PixelTransition(
        e_tg=per_coordinate_grid_distance(train, widths[0], generated, widths[2], grid),
        e_og=per_coordinate_grid_distance(original, widths[1], generated, widths[2], grid),
    )
