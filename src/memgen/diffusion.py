"""Discrete-time DDPM: linear β schedule, ε-prediction loss with m fixed noises per image,
ancestral DDPM and DDIM samplers.

Forward: x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, ᾱ_t = Π_{s ≤ t} (1 − β_s), t = 0 … T−1.
The linear schedule of Ho et al. (β from 1e-4 to 0.02 over 1000 steps) is rescaled to
T steps as in Nichol & Dhariwal: β from (1000/T)·1e-4 to min((1000/T)·0.02, 0.999), so
that x_{T−1} is close to N(0, I) for any T (Paper B uses T = 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LinearSchedule:
    steps: int = 10
    beta_start: float | None = None  # default (1000/steps)·1e-4
    beta_end: float | None = None  # default min((1000/steps)·0.02, 0.999)

    def betas(self) -> torch.Tensor:
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        scale = 1000.0 / self.steps
        start = self.beta_start if self.beta_start is not None else scale * 1e-4
        end = self.beta_end if self.beta_end is not None else min(scale * 0.02, 0.999)
        if not 0 < start <= end < 1:
            raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {start}, {end}")
        return torch.linspace(start, end, self.steps, dtype=torch.float64)

    def alpha_bars(self) -> torch.Tensor:
        """ᾱ_t = Π_{s ≤ t} (1 − β_s)."""
        return torch.cumprod(1 - self.betas(), 0)


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, schedule: LinearSchedule) -> torch.Tensor:
    """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε (t: one step index per image)."""
    ab = schedule.alpha_bars().to(device=x0.device, dtype=x0.dtype)[t].reshape(-1, *([1] * (x0.dim() - 1)))
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


class NoiseBank:
    """m fixed noise draws per training image (drawn once from the generator); each visit of image i
    uses one of its m draws, picked uniformly. m = ∞ (math.inf): fresh noise every visit.

    Two readings of "m noise samples per data point" (``protocol``):
    - ``noise``: the m draws are noises ε; the diffusion time t is fresh at every visit;
    - ``pairs``: the m draws are pairs (ε, t), t uniform on {0 … T−1} drawn once with its ε (after all
      the noises, from the same generator); a visit picks one pair.
    """

    PROTOCOLS = ("noise", "pairs")

    def __init__(
        self,
        n: int,
        shape: tuple[int, ...],
        m: float,
        g: torch.Generator,
        dtype=torch.float32,
        device="cpu",
        protocol: str = "noise",
        steps: int | None = None,
    ):
        if protocol not in self.PROTOCOLS:
            raise ValueError(f"noise bank protocol must be one of {self.PROTOCOLS}, got {protocol!r}")
        if protocol == "pairs" and steps is None:
            raise ValueError("a noise bank of (ε, t) pairs needs the number of diffusion steps")
        self.m, self.shape, self.dtype, self.device, self.protocol = m, shape, dtype, device, protocol
        self.bank = None if math.isinf(m) else torch.randn(n, int(m), *shape, generator=g, dtype=dtype, device=device)
        self.times = None
        if self.bank is not None and protocol == "pairs":
            self.times = torch.randint(0, steps, (n, int(m)), generator=g, device=device)

    @property
    def fixed_times(self) -> bool:
        """Whether the bank holds the diffusion times too ((ε, t) pairs of finite m)."""
        return self.times is not None

    def draw(self, indices: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return self.draw_pairs(indices, g)[0]

    def draw_pairs(self, indices: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(ε, t) of one visit of each image of ``indices``: t is None unless the bank holds (ε, t) pairs."""
        if self.bank is None:
            return torch.randn(len(indices), *self.shape, generator=g, dtype=self.dtype, device=self.device), None
        pick = torch.randint(0, self.bank.shape[1], (len(indices),), generator=g, device=self.device)
        idx = indices.to(self.device)
        return self.bank[idx, pick], (self.times[idx, pick] if self.times is not None else None)


def eps_loss_inputs(
    x0: torch.Tensor, indices: torch.Tensor, bank: NoiseBank, schedule: LinearSchedule, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_t, t, ε) of one ε-loss batch: a fresh uniform t per image, then the image's bank noise ε, both
    from ``g`` in that order (a bank of (ε, t) pairs: the picked pair's t instead, no fresh t drawn),
    and x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε."""
    if bank.fixed_times:
        eps, t = bank.draw_pairs(indices, g)
        return q_sample(x0, t, eps.to(x0.dtype), schedule), t, eps.to(x0.dtype)
    t = torch.randint(0, schedule.steps, (len(x0),), generator=g, device=x0.device)
    eps = bank.draw(indices, g).to(x0.dtype)
    return q_sample(x0, t, eps, schedule), t, eps


def eps_loss(
    model, x0: torch.Tensor, indices: torch.Tensor, bank: NoiseBank, schedule: LinearSchedule, g: torch.Generator
) -> torch.Tensor:
    """Mean squared error ‖ε̂(x_t, t) − ε‖² with a fresh uniform t and the image's bank noise ε."""
    x_t, t, eps = eps_loss_inputs(x0, indices, bank, schedule, g)
    return torch.mean((model(x_t, t) - eps) ** 2)


def _predict(model, x: torch.Tensor, t: int, ab: torch.Tensor, clip: float | None):
    """ε̂, x̂_0 = (x_t − √(1−ᾱ_t) ε̂)/√ᾱ_t (clipped to [−clip, clip], ε̂ made consistent) and ᾱ_{t−1} (1 at t = 0), in float64."""
    eps = model(x, torch.full((x.shape[0],), t, device=x.device)).to(torch.float64)
    ab_prev = ab[t - 1] if t > 0 else torch.ones((), dtype=ab.dtype, device=ab.device)
    x0 = (x.double() - (1 - ab[t]).sqrt() * eps) / ab[t].sqrt()
    if clip is not None:
        x0 = x0.clamp(-clip, clip)
        eps = (x.double() - ab[t].sqrt() * x0) / (1 - ab[t]).sqrt()
    return eps, x0, ab_prev


@torch.no_grad()
def ddpm_sample(
    model,
    schedule: LinearSchedule,
    shape,
    g: torch.Generator,
    device="cpu",
    dtype=torch.float32,
    clip: float | None = None,
) -> torch.Tensor:
    """Ancestral sampling with the posterior q(x_{t−1} | x_t, x̂_0): mean
    √ᾱ_{t−1} β_t/(1−ᾱ_t) x̂_0 + √(1−β_t)(1−ᾱ_{t−1})/(1−ᾱ_t) x_t, variance β̃_t = β_t (1−ᾱ_{t−1})/(1−ᾱ_t);
    with ``clip`` the predicted x̂_0 is clipped to [−clip, clip]."""
    betas = schedule.betas().to(device)
    ab = schedule.alpha_bars().to(device)
    x = torch.randn(*shape, generator=g, device=device, dtype=dtype)
    for t in range(schedule.steps - 1, -1, -1):
        _, x0, ab_prev = _predict(model, x, t, ab, clip)
        mean = (ab_prev.sqrt() * betas[t] / (1 - ab[t])) * x0 + (
            (1 - betas[t]).sqrt() * (1 - ab_prev) / (1 - ab[t])
        ) * x.double()
        if t > 0:
            var = betas[t] * (1 - ab_prev) / (1 - ab[t])
            mean = mean + var.sqrt() * torch.randn(*shape, generator=g, device=device, dtype=torch.float64)
        x = mean.to(dtype)
    return x


@torch.no_grad()
def ddim_sample(
    model,
    schedule: LinearSchedule,
    shape,
    g: torch.Generator,
    device="cpu",
    dtype=torch.float32,
    eta: float = 0.0,
    clip: float | None = None,
) -> torch.Tensor:
    """DDIM (Song et al.): x_{t−1} = √ᾱ_{t−1} x̂_0 + √(1−ᾱ_{t−1}−σ_t²) ε̂ + σ_t z,
    σ_t = η √((1−ᾱ_{t−1})/(1−ᾱ_t)) √(1−ᾱ_t/ᾱ_{t−1}); η = 0 is deterministic given x_T."""
    ab = schedule.alpha_bars().to(device)
    x = torch.randn(*shape, generator=g, device=device, dtype=dtype)
    for t in range(schedule.steps - 1, -1, -1):
        eps, x0, ab_prev = _predict(model, x, t, ab, clip)
        sigma = eta * ((1 - ab_prev) / (1 - ab[t]) * (1 - ab[t] / ab_prev)).sqrt()
        x_new = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma**2).clamp_min(0).sqrt() * eps
        if t > 0 and eta > 0:
            x_new = x_new + sigma * torch.randn(*shape, generator=g, device=device, dtype=torch.float64)
        x = x_new.to(dtype)
    return x
