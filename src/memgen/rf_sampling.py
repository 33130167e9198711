"""The RF score as a generative model: a time-dependent RF score (one closed-form ridge-DSM fit
per time of a grid, the same features), the exact score of the noised training set (the
reference a memorizing model reaches), and the reverse-time SDE sampler both are run with.

Forward process y = a_t x + √h_t z (a_t = e^{−t}, h_t = 1 − e^{−2t}); the reverse SDE from
y(T) ~ N(0, I) is dy = [y + 2 s(y, t)] dt + √2 dW̄ (``docs/rf-dsm-theory.md`` §1–§3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from memgen.rf import dsm_moments, empirical_score, fit_rf_score, rf_features
from memgen.rf_model import diffusion_coefficients


@dataclass
class RFScorePath:
    """s(y, t_k) = −c y + ϱ(y Wᵀ/√d) Bt[k] on a time grid (ascending), one closed-form fit per time;
    between grid times Bt is interpolated linearly in log t (so is the score, linear in Bt).
    c = ``baseline``: 0 for the plain RF score, 1 to add the score −y of N(0, I), so that
    directions the p features cannot reach (always some when p < d) follow the Gaussian
    score instead of the unstable reverse drift +y."""

    W: torch.Tensor
    times: torch.Tensor
    Bt: torch.Tensor  # (K, p, d)
    activation: str = "tanh"
    baseline: float = 0.0

    def readout(self, t: float) -> torch.Tensor:
        """Bt at time t: linear in log t between the bracketing fits, clamped at the ends."""
        logs = torch.log(self.times)
        lt = math.log(t)
        if lt <= float(logs[0]):
            return self.Bt[0]
        if lt >= float(logs[-1]):
            return self.Bt[-1]
        k = int(torch.searchsorted(logs, torch.tensor(lt, dtype=logs.dtype))) - 1
        w = (lt - float(logs[k])) / float(logs[k + 1] - logs[k])
        return (1 - w) * self.Bt[k] + w * self.Bt[k + 1]

    @property
    def dim(self) -> int:
        return self.W.shape[1]

    def score(self, y: torch.Tensor, t: float) -> torch.Tensor:
        s = rf_features(y, self.W, self.activation) @ self.readout(t)
        return s - self.baseline * y if self.baseline else s


@dataclass
class EmpiricalScore:
    """The exact score of the noised training set (:func:`memgen.rf.empirical_score`) on the time range
    [times[0], times[-1]], for the sampler."""

    X: torch.Tensor
    times: torch.Tensor

    @property
    def dim(self) -> int:
        return self.X.shape[1]

    def score(self, y: torch.Tensor, t: float) -> torch.Tensor:
        return empirical_score(y, self.X, t)


def fit_rf_score_path(
    X, W, times, m: float, lam: float, g: torch.Generator, activation="tanh", baseline: float = 0.0
) -> RFScorePath:
    """One ridge-DSM fit per time (fresh noises per time for finite m), the same W throughout."""
    times = torch.as_tensor(np.asarray(times, dtype=np.float64))
    if times.ndim != 1 or len(times) < 2 or not bool(torch.all(times[1:] > times[:-1])) or float(times[0]) <= 0:
        raise ValueError("times must be an increasing grid of at least 2 positive values")
    Bt = torch.stack([fit_rf_score(dsm_moments(X, W, m, float(t), g, activation, baseline), lam) for t in times])
    return RFScorePath(W, times.to(W.dtype), Bt, activation, baseline)


def reverse_time_steps(t_min: float, T: float, max_step: float = 0.01, rel_step: float = 0.05) -> np.ndarray:
    """Descending times T = τ_0 > τ_1 > … > τ_J = t_min with steps τ_j − τ_{j+1} = min(max_step, rel_step·τ_j):
    small absolute steps at large t (Euler–Maruyama's variance bias is ≈ Δ/2), geometric ones near t_min."""
    if not 0 < t_min < T:
        raise ValueError(f"need 0 < t_min < T, got t_min = {t_min}, T = {T}")
    out = [T]
    while out[-1] > t_min:
        out.append(max(t_min, out[-1] - min(max_step, rel_step * out[-1])))
    return np.array(out)


def sample_reverse_sde(
    model: RFScorePath | EmpiricalScore,
    n_samples: int,
    g: torch.Generator,
    max_step: float = 0.01,
    rel_step: float = 0.05,
    denoise: bool = True,
    chunk: int = 4096,
) -> torch.Tensor:
    """Euler–Maruyama of dy = [y + 2 s(y, t)] dt + √2 dW̄ backwards from y(T) ~ N(0, I), T the last
    fitted time, to t₀ the first, on :func:`reverse_time_steps`; then, with ``denoise``, the
    Tweedie step x = (y + h s(y, t₀))/a."""
    steps = reverse_time_steps(float(model.times[0]), float(model.times[-1]), max_step, rel_step)
    out = []
    for start in range(0, n_samples, chunk):
        k_n = min(chunk, n_samples - start)
        y = torch.randn(k_n, model.dim, generator=g, dtype=model.times.dtype, device=g.device)
        for t_hi, t_lo in zip(steps[:-1], steps[1:]):
            dt = t_hi - t_lo
            noise = torch.randn(k_n, model.dim, generator=g, dtype=y.dtype, device=y.device)
            y = y + dt * (y + 2 * model.score(y, t_hi)) + math.sqrt(2 * dt) * noise
        if denoise:
            a2, h = (float(v) for v in diffusion_coefficients(steps[-1]))
            y = (y + h * model.score(y, steps[-1])) / math.sqrt(a2)
        out.append(y)
    return torch.cat(out)
