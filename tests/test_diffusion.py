"""DDPM pieces: schedule, forward noising, the fixed-m noise bank, samplers with an exact
ε-predictor on Gaussian data (where the optimal ε̂ is known in closed form)."""

import math

import pytest
import torch

from memgen.diffusion import (
    LinearSchedule,
    NoiseBank,
    ddim_sample,
    ddpm_sample,
    eps_loss,
    eps_loss_inputs,
    q_sample,
)


class GaussianOracle:
    """Exact E[ε | x_t] for x_0 ~ N(μ, s² I): x_t ~ N(√ᾱ μ, ᾱ s² + 1 − ᾱ), so
    ε̂ = √(1−ᾱ) (x_t − √ᾱ μ)/(ᾱ s² + 1 − ᾱ)."""

    def __init__(self, schedule, mu, s):
        self.ab, self.mu, self.s = schedule.alpha_bars(), mu, s

    def __call__(self, x, t):
        ab = self.ab[t].to(x.dtype).reshape(-1, *([1] * (x.dim() - 1)))
        return (1 - ab).sqrt() * (x - ab.sqrt() * self.mu) / (ab * self.s**2 + 1 - ab)


def test_schedule_rescaled_to_the_number_of_steps():
    for steps in (10, 100, 1000):
        ab = LinearSchedule(steps).alpha_bars()
        assert ab[-1] < 0.01 and bool(torch.all(ab[1:] < ab[:-1]))
    assert LinearSchedule(1000).betas()[0].item() == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="beta_start <= beta_end"):
        LinearSchedule(10, beta_start=0.5, beta_end=0.1).betas()


def test_q_sample_moments():
    sched = LinearSchedule(10)
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((200_000, 1), 2.0)
    t = torch.full((200_000,), 3)
    xt = q_sample(x0, t, torch.randn(200_000, 1, generator=g), sched)
    ab = sched.alpha_bars()[3].item()
    assert xt.mean().item() == pytest.approx(2 * math.sqrt(ab), abs=0.01)
    assert xt.var().item() == pytest.approx(1 - ab, rel=0.02)


def test_noise_bank_fixed_draws_and_fresh_infinity():
    g = torch.Generator().manual_seed(1)
    bank = NoiseBank(5, (2, 3), 3, g)
    idx = torch.arange(5).repeat(40)
    seen = bank.draw(idx, g).reshape(40, 5, 6)
    for i in range(5):  # every draw of image i is one of its 3 bank entries, and all 3 get used
        uniq = torch.unique(seen[:, i], dim=0)
        assert len(uniq) == 3
        assert all(any(torch.equal(u, b.flatten()) for b in bank.bank[i]) for u in uniq)
    fresh = NoiseBank(5, (2, 3), math.inf, g)
    a, b = fresh.draw(torch.arange(5), g), fresh.draw(torch.arange(5), g)
    assert fresh.bank is None and not torch.allclose(a, b)


def test_noise_bank_of_pairs_fixes_the_time_with_the_noise():
    """Protocol ``pairs``: every visit of image i uses one of its m (ε, t) pairs; under ``noise`` the same
    image's t varies freely (with m = 1: one ε but many t). A bank of pairs with m = ∞ is fresh noise."""
    sched = LinearSchedule(10)
    x0, idx = torch.zeros(4, 1, 2, 2), torch.arange(4).repeat(50)
    for m in (1, 3):
        g = torch.Generator().manual_seed(2)
        bank = NoiseBank(4, (1, 2, 2), m, g, protocol="pairs", steps=10)
        assert bank.times.shape == (4, m) and int(bank.times.max()) < 10
        _, t, eps = eps_loss_inputs(x0[idx], idx, bank, sched, g)
        for i in range(4):
            visits = {(int(tt), tuple(e.flatten().tolist())) for tt, e in zip(t[idx == i], eps[idx == i])}
            pairs = {(int(bank.times[i, j]), tuple(bank.bank[i, j].flatten().tolist())) for j in range(m)}
            assert visits == pairs  # 50 visits use exactly the m pairs
    g = torch.Generator().manual_seed(2)
    noise = NoiseBank(4, (1, 2, 2), 1, g)
    _, t, eps = eps_loss_inputs(x0[idx], idx, noise, sched, g)
    assert len(set(t[idx == 0].tolist())) > 3 and len(torch.unique(eps[idx == 0], dim=0)) == 1
    fresh = NoiseBank(4, (1, 2, 2), math.inf, torch.Generator(), protocol="pairs", steps=10)
    assert not fresh.fixed_times
    with pytest.raises(ValueError, match="protocol"):
        NoiseBank(4, (1,), 2, torch.Generator(), protocol="both")


def test_eps_loss_of_the_oracle_is_its_irreducible_error():
    """With the exact ε̂ the loss is E Var(ε | x_t) = mean over t of ᾱ_t s²/(ᾱ_t s² + 1 − ᾱ_t) per coordinate."""
    sched, mu, s = LinearSchedule(10), 0.5, 0.1
    g = torch.Generator().manual_seed(2)
    x0 = mu + s * torch.randn(200_000, 4, generator=g)
    loss = eps_loss(
        GaussianOracle(sched, mu, s), x0, torch.arange(len(x0)), NoiseBank(len(x0), (4,), math.inf, g), sched, g
    )
    ab = sched.alpha_bars()
    assert loss.item() == pytest.approx(
        float(torch.mean(ab * s**2 / (ab * s**2 + 1 - ab))), rel=0.05
    )  # t drawn at random: ~1.5 % noise


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_samplers_with_the_exact_eps_recover_the_data_law(sampler):
    """1000 steps: ancestral sampling with the posterior variance β̃ loses ≈ 1 % of the std here
    (5 % at 200 steps: the discretisation bias of β̃ on data narrower than the noise)."""
    sched, mu, s = LinearSchedule(1000), 0.5, 0.3
    g = torch.Generator().manual_seed(3)
    oracle = GaussianOracle(sched, mu, s)
    fn = ddpm_sample if sampler == "ddpm" else ddim_sample
    x = fn(oracle, sched, (5_000, 4), g, dtype=torch.float64)
    assert x.mean().item() == pytest.approx(mu, abs=0.01)
    assert x.std().item() == pytest.approx(s, rel=0.03)


def test_samplers_are_deterministic_given_the_seed_and_clip():
    sched = LinearSchedule(10)
    model = lambda x, t: 0.3 * x  # noqa: E731
    a = ddpm_sample(model, sched, (4, 1, 8, 8), torch.Generator().manual_seed(5), clip=1.0)
    b = ddpm_sample(model, sched, (4, 1, 8, 8), torch.Generator().manual_seed(5), clip=1.0)
    assert torch.equal(a, b) and a.dtype == torch.float32
    c = ddim_sample(model, sched, (4, 1, 8, 8), torch.Generator().manual_seed(5), clip=1.0)
    assert c.abs().max() <= 1.0 + 1e-6  # last step returns the clipped x̂_0
