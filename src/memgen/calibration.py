"""Reference generators whose answer is known, for calibrating the transition metric P(Δ>0).

A metric of memorization has to be read against generators for which the answer is known.
Scored with the same training set, original set, kernel widths and set size as a model's
samples, they tell how P(Δ>0) responds to spread and to copying separately
(``docs/transition-metric.md`` §6):

- ``true_law``: N fresh draws from the data law (N(0, I_d) for the RF bridge) — a generator that generalizes
  perfectly and has the right spread (the copy fraction 0);
- ``moment_matched``: N draws from N(μ̂, Σ̂), μ̂ and Σ̂ the mean and covariance of the model's own
  samples — the model's first two moments, and through them all it knows of the training set;
- ``copies_5``, ``copies_25``, ``copies_100``: the true-law draws with the first ⌊f N⌉ rows replaced
  by training points drawn uniformly with replacement, f = 5 %, 25 %, 100 % — known copying, the
  right spread otherwise;
- ``spread_matched``: N draws from N(μ, s² I_d), μ the true law's mean and s² = tr Σ̂ / d the mean
  variance of the model's samples — blind to the training set (a single number of the model's, its
  spread), the control of what spread alone does to P(Δ>0). The twin is not blind: for n ≲ d its
  mean and its rank-(n − 1) covariance encode the training points.

The true-law draws and the copy indices come from one generator in a fixed order, so the copy
mixtures differ from ``true_law`` only in the copied rows (common random numbers).
"""

from __future__ import annotations

import torch

COPY_FRACTIONS = {"copies_5": 0.05, "copies_25": 0.25, "copies_100": 1.0}
REFERENCE_GENERATORS = ("true_law", "moment_matched", *COPY_FRACTIONS, "spread_matched")
MODEL = "model"
GENERATORS = (MODEL, *REFERENCE_GENERATORS)


def moment_matched_sample(samples: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """``size`` draws of μ̂ + Σ̂^{1/2} z, z ~ N(0, I_d), with μ̂ and Σ̂ (divisor N − 1) the mean and
    covariance of ``samples`` (N, d); Σ̂^{1/2} from the eigendecomposition with eigenvalues clamped at 0."""
    if samples.ndim != 2 or len(samples) < 2:
        raise ValueError(f"moment matching needs an (N ≥ 2, d) sample, got shape {tuple(samples.shape)}")
    x = samples.to(torch.float64)
    mean = x.mean(0)
    evals, evecs = torch.linalg.eigh(torch.cov(x.T).reshape(x.shape[1], x.shape[1]))
    root = evecs * evals.clamp_min(0.0).sqrt()
    z = torch.randn(size, x.shape[1], generator=generator, dtype=torch.float64)
    return mean + z @ root.T


def spread_matched_sample(
    samples: torch.Tensor, size: int, generator: torch.Generator, mean: float = 0.0
) -> torch.Tensor:
    """``size`` draws of mean + s z, z ~ N(0, I_d), with s² = tr Σ̂ / d, Σ̂ (divisor N − 1) the covariance of
    ``samples`` (N, d): the model's spread around the true mean, and nothing else of the model."""
    if samples.ndim != 2 or len(samples) < 2:
        raise ValueError(f"spread matching needs an (N ≥ 2, d) sample, got shape {tuple(samples.shape)}")
    spread = samples.to(torch.float64).var(0, unbiased=True).mean().sqrt()
    return mean + spread * torch.randn(size, samples.shape[1], generator=generator, dtype=torch.float64)


def copies_mixture(
    train: torch.Tensor, base: torch.Tensor, fraction: float, generator: torch.Generator
) -> torch.Tensor:
    """``base`` with its first round(fraction · len(base)) rows replaced by training points drawn
    uniformly with replacement."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"copy fraction must lie in [0, 1], got {fraction}")
    k = round(fraction * len(base))
    out = base.clone()
    out[:k] = train[torch.randint(len(train), (k,), generator=generator)].to(out.dtype)
    return out


def reference_generators(
    train: torch.Tensor, samples: torch.Tensor, generator: torch.Generator, mean: float = 0.0, std: float = 1.0
) -> dict:
    """The reference sets of the module doc, each as large as ``samples``: {name: (N, d) float64 tensor}; the
    true law is N(mean, std² I_d) (N(0, I_d) by default; Paper B's pixels: N(0.5, 0.1²)).
    Draw order (fixed): the true-law sample, the copy indices per fraction, the moment-matched noise, the
    spread-matched noise (last, so that adding it left every other reference unchanged)."""
    size, d = samples.shape
    truth = mean + std * torch.randn(size, d, generator=generator, dtype=torch.float64)
    out = {"true_law": truth}
    for name, fraction in COPY_FRACTIONS.items():
        out[name] = copies_mixture(train, truth, fraction, generator)
    out["moment_matched"] = moment_matched_sample(samples, size, generator)
    out["spread_matched"] = spread_matched_sample(samples, size, generator, mean)
    return {name: out[name] for name in REFERENCE_GENERATORS}
