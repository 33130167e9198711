"""The authors' arithmetic reproduced beside ours (memgen.paper_arithmetic): each piece against an
independent float64 evaluation, and the effect it has on Delta and H^2 at d = 100."""

import math

import numpy as np
import pytest
import torch

from memgen.kde import (
    log_kde_gaussian_overlap,
    log_pair_overlap,
    log_self_overlap,
    per_coordinate_grid_distance,
    per_coordinate_l2_distance,
    transition_delta,
)
from memgen.linear import GaussianLaw, gaussian_hellinger2, isotropic_law
from memgen.paper_arithmetic import (
    float32_delta_sign,
    float32_self_term,
    float64_cross_term,
    hellinger2_det_cutoff,
    pixel_grid,
)

f64 = torch.float64


def test_float32_terms_are_the_integrals_times_the_authors_constant():
    """self: ∫ρ² · (2π)^{(d-1)/2} to float32 precision; cross: −2∫ρ ρ_G · (2π)^{(d-1)/2} to float64 precision
    (same float32-rounded width)."""
    g = torch.Generator().manual_seed(0)
    d, n = 6, 40
    x = 3.0 + torch.randn(n, d, generator=g, dtype=f64)
    eps32 = float(torch.tensor(1.3 * n ** (-1 / d), dtype=torch.float32))
    scale = 0.5 * (d - 1) * math.log(2 * math.pi)
    assert math.log(float32_self_term(x, 1.3)) == pytest.approx(log_self_overlap(x, eps32) + scale, abs=2e-6)
    law = GaussianLaw(mean=torch.full((d,), 3.1, dtype=f64), cov=0.6 * torch.eye(d, dtype=f64), rank=d)
    x32 = x.to(torch.float32).to(f64)
    ref = -2.0 * math.exp(log_kde_gaussian_overlap(x32, eps32, law.mean, law.cov) + scale)
    assert float64_cross_term(x, 1.3, law) == pytest.approx(ref, rel=1e-10)


def test_float32_rounding_is_larger_than_delta_at_d_100():
    """The linear model at d = n = 100 (data N(10, 1), N = 2000 original points): the exact Δ is ~1e-14 of the
    training self-overlap, the float32 self-overlap is off by ~6e-7 of it — the authors' sign of Δ is decided
    by rounding; ours by the cancelled form (which the 50-digit test in test_kde checks)."""
    from memgen.experiments.ldm import model_from_config
    from memgen.linear import fit_generated_laws, noise_data, sample_gaussian_data

    params, covs = model_from_config(
        {"mu": 10.0, "sigma": 1.0, "T": 2.0, "lambda": math.exp(-4), "covariance": "exact"}
    )
    d, n, N = 100, 100, 2000
    g = torch.Generator().manual_seed(0)
    Y = sample_gaussian_data(n, d, 10.0, 1.0, g)
    X = noise_data(Y, params, g)
    orig = sample_gaussian_data(N, d, 10.0, 1.0, g)
    law = fit_generated_laws(Y, X, params, covs)["exact"]
    eps_t, eps_o = n ** (-1 / d), N ** (-1 / d)
    exact = transition_delta(
        log_pair_overlap(Y, eps_t),
        log_kde_gaussian_overlap(Y, eps_t, law.mean, law.cov),
        log_pair_overlap(orig, eps_o),
        log_kde_gaussian_overlap(orig, eps_o, law.mean, law.cov),
    )
    scale = 0.5 * (d - 1) * math.log(2 * math.pi)
    self_exact = math.exp(log_self_overlap(Y, eps_t) + scale)
    rounding = abs(float32_self_term(Y, 1.0) - self_exact) / self_exact
    assert abs(exact.value) * math.exp(scale) / self_exact < 1e-12 and 1e-7 < rounding < 1e-5
    assert float32_delta_sign(Y, orig, law, 1.0) in (-1.0, 1.0)


def test_det_cutoff_sets_h2_to_one_in_d_100():
    truth = isotropic_law(100, 10.0, 1.0)
    law = GaussianLaw(mean=torch.full((100,), 10.0, dtype=f64), cov=0.7 * torch.eye(100, dtype=f64), rank=100)
    assert gaussian_hellinger2(truth, law) < 0.999 and hellinger2_det_cutoff(truth, law) == 1.0  # 100 log 0.7 = -35.7
    small = isotropic_law(16, 10.0, 1.0)
    law16 = GaussianLaw(mean=torch.full((16,), 10.0, dtype=f64), cov=0.7 * torch.eye(16, dtype=f64), rank=16)
    assert hellinger2_det_cutoff(small, law16) == gaussian_hellinger2(small, law16) < 1.0


def test_grid_distance_is_a_riemann_sum_of_the_integral():
    """On a fine grid over the support the grid mean times the range is the exact per-coordinate integral
    divided by d; on the authors' 16 points with kernels much narrower than the spacing it is not."""
    g = torch.Generator().manual_seed(2)
    a = 0.5 + 0.1 * torch.randn(30, 4, generator=g, dtype=f64)
    b = 0.5 + 0.1 * torch.randn(20, 4, generator=g, dtype=f64)
    fine = torch.linspace(-0.5, 1.5, 40001, dtype=f64)
    riemann = per_coordinate_grid_distance(a, 0.05, b, 0.04, fine) * len(fine) * (2.0 / (len(fine) - 1))
    assert riemann == pytest.approx(per_coordinate_l2_distance(a, 0.05, b, 0.04) / 4, rel=1e-6)
    grid = pixel_grid(0.5, 0.1)
    assert len(grid) == 16 and float(grid[0]) == pytest.approx(0.0) and float(grid[-1]) == pytest.approx(1.0)
    x = np.asarray(grid)
    dens = lambda p, e: (
        np.exp(-0.5 * ((x[:, None, None] - p.numpy()[None]) / e) ** 2).mean(1) / (e * np.sqrt(2 * np.pi))
    )
    brute = ((dens(a, 0.003) - dens(b, 0.005)) ** 2).mean()
    assert per_coordinate_grid_distance(a, 0.003, b, 0.005, grid) == pytest.approx(brute, rel=1e-12)
