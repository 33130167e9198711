"""How Paper B's per-pixel metric compares a trial's three image sets (Fig. 4): the protocols scored side by side.

Per trial, Δ = E_TG − E_OG with E_XG = Σ_i ∫ (ρ_{X,i} − ρ_{G,i})², ρ_{X,i} the 1-D Gaussian KDE of pixel i over
the compared images of set X (``docs/transition-metric.md`` §4). The protocols differ in

- the training images compared: all n of the trial (``train_images`` None), or a random subset of k
  (the paper's caption: "compared against train and original dataset of size 10, 100 (randomly selected)");
- the training KDE's width: σ/(the number compared) (``"compared"``), or σ/n (``"n"``: the caption's ε = σ/n
  read literally for a subset of 10 images; the caption is ambiguous, so both are scored);
- the units the sets are compared in: all in pixel units (``"pixel"``), or those of the authors' public
  ``simulation.py`` (commit 510416b, the version public while its README cited this paper): the original
  images scaled by 255, the training images as fed to the network (2x − 1), the generated images clamped to
  [0, 1], every width σ/(set size) and the grid in [0, 1] units (``"authors"``);
- the integral: exact (``"exact"``, sums of Gaussian product integrals), or the mean of (ρ_a − ρ_b)² over
  the 16 equidistant points of [μ − 5σ, μ + 5σ] (``"grid"``, the authors' code).

The original images (a random subset of ``original_subset``) and the generated images (width σ/their number)
are the same in every protocol, and so are the reference generators of :mod:`memgen.calibration`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from memgen.calibration import MODEL
from memgen.kde import PixelTransition, pixel_kernel_width, pixel_transitions
from memgen.paper_arithmetic import grid_pixel_transition

EXACT, GRID = "exact", "grid"
AUTHORS_ORIGINAL_SCALE = 255.0  # simulation.py: the original images on the 0–255 scale


@dataclass(frozen=True)
class PixelProtocol:
    """``train_images``: training images compared (None: all n); ``train_width``: "compared" (σ/number
    compared) or "n" (σ/n); ``units``: "pixel" or "authors"; ``integrals``: those scored, of "exact", "grid"."""

    train_images: int | None
    train_width: str
    units: str = "pixel"
    integrals: tuple[str, ...] = (EXACT, GRID)


PROTOCOLS = {
    "all_train": PixelProtocol(None, "compared"),  # this project's variant: all n training images at σ/n
    "caption": PixelProtocol(10, "compared"),  # the caption: 10 training images at σ/10
    "caption_width_n": PixelProtocol(10, "n"),  # the caption with ε = σ/n for its 10 training images
    "authors_code": PixelProtocol(10, "compared", "authors", (GRID,)),  # the authors' simulation.py (510416b)
}
VARIANT = "all_train"  # whose columns keep the unsuffixed names (delta_sign, delta_sign_grid, delta_sign_true_law …)


def protocol(name: str) -> PixelProtocol:
    if name not in PROTOCOLS:
        raise ValueError(f"unet.gaussian.protocols: unknown protocol {name!r}; the protocols: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def column_suffix(name: str, integral: str, generator: str = MODEL) -> str:
    """The suffix of a protocol's columns: '' for the variant's exact integral of the model, else
    ``_<protocol>`` (not for the variant), ``_grid`` (grid integral) and ``_<generator>`` (a reference)."""
    return (
        ("" if name == VARIANT else f"_{name}")
        + ("_grid" if integral == GRID else "")
        + ("" if generator == MODEL else f"_{generator}")
    )


def compared_training_index(n: int, k: int | None, generator: torch.Generator) -> torch.Tensor:
    """Indices of the training images a protocol compares: all n (k None or k ≥ n), else a uniformly random
    subset of k drawn from ``generator``."""
    if k is None or k >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=generator)[:k]


def authors_units(train: torch.Tensor, original: torch.Tensor, generated: list[torch.Tensor]):
    """The three sets in the units of the authors' simulation.py: original × 255, training 2x − 1 (as fed to
    the network), generated clamped to [0, 1] (their sampler's (clamp(x, −1, 1) + 1)/2)."""
    return 2.0 * train - 1.0, AUTHORS_ORIGINAL_SCALE * original, [g.clamp(0.0, 1.0) for g in generated]


def protocol_transitions(
    spec: PixelProtocol,
    train: torch.Tensor,
    index: torch.Tensor,
    original: torch.Tensor,
    generated,
    sigma: float,
    mu: float,
) -> dict[str, list[PixelTransition]]:
    """{integral: [E_TG, E_OG of each generated set]} of one protocol for one trial: ``train`` all n training
    images and ``index`` those compared (:func:`compared_training_index`), ``original`` the original subset,
    ``generated`` the model's and the reference generators' images (flattened pixels, float64)."""
    n = len(train)
    compared = train[index]
    eps_t = sigma / n if spec.train_width == "n" else pixel_kernel_width(sigma, len(compared))
    if spec.units == "authors":
        compared, original, generated = authors_units(compared, original, list(generated))
    out = {}
    if EXACT in spec.integrals:
        out[EXACT] = pixel_transitions(compared, original, generated, sigma, eps_train=eps_t)
    if GRID in spec.integrals:
        out[GRID] = [grid_pixel_transition(compared, original, g, sigma, mu, eps_train=eps_t) for g in generated]
    return out
