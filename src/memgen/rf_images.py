"""The RF score model on images (Paper A's real-data experiments; protocol fixed here).

Images are flattened (d = 784) and standardised per pixel with the mean and standard
deviation of the training subset (constant pixels keep scale 1). The RF score of
``memgen.rf`` is fitted in closed form on n training images with m noises each
(m = ∞: exact noise average), and

    E_train = DSM loss on the training pairs (as in rf.dsm_train_error)
    E_test  = (1/d) E_{x ∈ test, z} ‖√h s(a x + √h z) + z‖², exact in z (Mehler series)
              and averaged over held-out images.

As a generative model: one closed-form fit per time of a grid t_0 < … < t_{K−1} = T with
the same W, then Euler–Maruyama on the reverse OU SDE dy = [y + 2 s(y, t)] dt + √2 dW̄
from y ~ N(0, I) at T down to t_0, and a final Tweedie step x = (y + h s(y, t_0))/a.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from memgen.rf import averaged_dsm_moments, dsm_train_error, fit_rf_score, rf_features, sampled_dsm_moments
from memgen.rf_theory import diffusion_coefficients


@dataclass
class Standardiser:
    """x = (u/255 − mean)/scale per pixel, mean and scale from the training subset."""

    mean: torch.Tensor
    scale: torch.Tensor

    @classmethod
    def fit(cls, train_u8: np.ndarray | torch.Tensor) -> "Standardiser":
        x = _as_unit(train_u8)
        scale = x.std(0, unbiased=False)
        return cls(x.mean(0), torch.where(scale > 1e-8, scale, torch.ones_like(scale)))

    def __call__(self, images_u8) -> torch.Tensor:
        return (_as_unit(images_u8) - self.mean) / self.scale

    def invert(self, x: torch.Tensor) -> torch.Tensor:
        """Back to pixel intensities in [0, 1] (unclipped), flattened."""
        return x * self.scale + self.mean


def _as_unit(images) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    return t.reshape(len(t), -1).to(torch.float64) / 255.0


def dsm_moments(X: torch.Tensor, W: torch.Tensor, m: float, t: float, g: torch.Generator, activation="tanh"):
    """Sampled moments for finite m, exact noise averages for m = ∞."""
    if math.isinf(m):
        return averaged_dsm_moments(X, W, t, activation)
    return sampled_dsm_moments(X, W, int(m), t, g, activation)


def image_dsm_errors(X_train, X_test, W, m: float, t: float, lam: float, g: torch.Generator, activation="tanh") -> dict:
    """Closed-form RF fit on X_train; E_train on its pairs, E_test exact in the noise over X_test."""
    _, h = (float(v) for v in diffusion_coefficients(t))
    mom = dsm_moments(X_train, W, m, t, g, activation)
    Bt = fit_rf_score(mom, lam)
    test = averaged_dsm_moments(X_test, W, t, activation)
    return {"E_train": dsm_train_error(Bt, mom, h), "E_test": dsm_train_error(Bt, test, h)}


@dataclass
class RFScorePath:
    """s(y, t_k) = ϱ(y Wᵀ/√d) Bt[k] on a time grid (ascending), one closed-form fit per time;
    between grid times Bt is interpolated linearly in log t (so is the score, linear in Bt)."""

    W: torch.Tensor
    times: torch.Tensor
    Bt: torch.Tensor  # (K, p, d)
    activation: str = "tanh"

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

    def score(self, y: torch.Tensor, t: float) -> torch.Tensor:
        return rf_features(y, self.W, self.activation) @ self.readout(t)


def fit_rf_score_path(X, W, times, m: float, lam: float, g: torch.Generator, activation="tanh") -> RFScorePath:
    """One ridge-DSM fit per time (fresh noises per time for finite m), the same W throughout."""
    times = torch.as_tensor(np.asarray(times, dtype=np.float64))
    if times.ndim != 1 or len(times) < 2 or not bool(torch.all(times[1:] > times[:-1])) or float(times[0]) <= 0:
        raise ValueError("times must be an increasing grid of at least 2 positive values")
    Bt = torch.stack([fit_rf_score(dsm_moments(X, W, m, float(t), g, activation), lam) for t in times])
    return RFScorePath(W, times.to(W.dtype), Bt, activation)


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
    model: RFScorePath, n_samples: int, g: torch.Generator, max_step: float = 0.01, rel_step: float = 0.05, denoise: bool = True, chunk: int = 4096
) -> torch.Tensor:
    """Euler–Maruyama of dy = [y + 2 s(y, t)] dt + √2 dW̄ backwards from y(T) ~ N(0, I), T the last
    fitted time, to t₀ the first, on :func:`reverse_time_steps`; then, with ``denoise``, the
    Tweedie step x = (y + h s(y, t₀))/a."""
    d = model.W.shape[1]
    steps = reverse_time_steps(float(model.times[0]), float(model.times[-1]), max_step, rel_step)
    out = []
    for start in range(0, n_samples, chunk):
        k_n = min(chunk, n_samples - start)
        y = torch.randn(k_n, d, generator=g, dtype=model.W.dtype, device=model.W.device)
        for t_hi, t_lo in zip(steps[:-1], steps[1:]):
            dt = t_hi - t_lo
            noise = torch.randn(k_n, d, generator=g, dtype=y.dtype, device=y.device)
            y = y + dt * (y + 2 * model.score(y, t_hi)) + math.sqrt(2 * dt) * noise
        if denoise:
            a2, h = (float(v) for v in diffusion_coefficients(steps[-1]))
            y = (y + h * model.score(y, steps[-1])) / math.sqrt(a2)
        out.append(y)
    return torch.cat(out)
