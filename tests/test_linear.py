"""Paper B's linear denoiser, Hellinger distance, t_M and kernel widths against closed
forms and numerical integration."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from memgen.kde import log_kde_mise_ratio
from memgen.experiments.kde_width import formula_curves, optimal_kernel_width
from memgen.linear import (
    GaussianLaw,
    LinearDiffusionParams,
    fit_generated_laws,
    fit_linear_denoiser,
    gaussian_hellinger2,
    generation_noise_variance,
    isotropic_law,
    kernel_width_amise,
    kernel_width_large_d,
    kernel_width_mixing,
    mixing_time,
    noise_data,
    sample_gaussian_data,
)

f64 = torch.float64


def random_law(d, seed, rank=None):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(d, rank or d, generator=g, dtype=f64)
    cov = A @ A.T + (0 if rank else 0.1) * torch.eye(d, dtype=f64)
    return GaussianLaw(torch.randn(d, generator=g, dtype=f64), cov, rank or d)


def test_hellinger_identical_laws_is_zero():
    law = random_law(7, 0)
    assert gaussian_hellinger2(law, law) == pytest.approx(0.0, abs=1e-12)


def test_hellinger_singular_covariance_is_one():
    assert gaussian_hellinger2(random_law(5, 1), random_law(5, 2, rank=3)) == 1.0
    assert gaussian_hellinger2(random_law(5, 2, rank=4), random_law(5, 1)) == 1.0


def test_hellinger_isotropic_mean_shift_closed_form():
    # Equal covariances s^2 I: H^2 = 1 - exp(-|dm|^2 / (8 s^2)).
    d, s = 6, 0.7
    a = isotropic_law(d, 0.0, s)
    b = GaussianLaw(torch.linspace(-0.5, 0.8, d, dtype=f64), s**2 * torch.eye(d, dtype=f64), d)
    expected = 1 - math.exp(-float((b.mean**2).sum()) / (8 * s * s))
    assert gaussian_hellinger2(a, b) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("m1,s1,m2,s2", [(0.0, 1.0, 0.3, 2.0), (1.0, 0.2, 1.5, 0.25), (-2.0, 3.0, 4.0, 0.5)])
def test_hellinger_1d_by_numerical_integration(m1, s1, m2, s2):
    bc, _ = integrate.quad(
        lambda x: math.sqrt(stats.norm.pdf(x, m1, s1) * stats.norm.pdf(x, m2, s2)),
        -60,
        60,
        points=[m1, m2],
        limit=400,
        epsabs=1e-13,
    )
    law = lambda m, s: GaussianLaw(torch.tensor([m], dtype=f64), torch.tensor([[s * s]], dtype=f64), 1)
    assert gaussian_hellinger2(law(m1, s1), law(m2, s2)) == pytest.approx(1 - bc, abs=1e-10)


def test_fit_matches_minimum_norm_least_squares_both_regimes():
    params = LinearDiffusionParams()
    for n, d in [(5, 12), (12, 12), (40, 6)]:
        g = torch.Generator().manual_seed(n * 100 + d)
        Y = sample_gaussian_data(n, d, params.mu, params.sigma, g)
        X = noise_data(Y, params, g)
        model = fit_linear_denoiser(X, Y)
        x, y = (X - X.mean(0)).numpy(), (Y - Y.mean(0)).numpy()
        ref, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)  # minimum-norm solution
        np.testing.assert_allclose(model.theta1.T.numpy(), ref, rtol=1e-8, atol=1e-10)
        assert model.rank == rank == min(n - 1, d)
        np.testing.assert_allclose(model.theta0.numpy(), (Y.mean(0) - model.theta1 @ X.mean(0)).numpy())


def test_small_n_regime_gives_singular_law_and_unit_hellinger():
    params = LinearDiffusionParams()
    d = 16
    truth = isotropic_law(d, params.mu, params.sigma)
    for n in (2, 8, 16, 17):  # centred design has rank min(n - 1, d): singular up to n = d
        g = torch.Generator().manual_seed(n)
        Y = sample_gaussian_data(n, d, params.mu, params.sigma, g)
        laws = fit_generated_laws(Y, noise_data(Y, params, g), params)
        for law in laws.values():
            assert law.rank == min(n - 1, d)
            eig = torch.linalg.eigvalsh(law.cov)
            assert (eig > 1e-10 * eig.max()).sum() == min(n - 1, d)
            h2 = gaussian_hellinger2(truth, law)
            assert h2 == 1.0 if n <= d else 0.0 < h2 < 1.0


def test_large_n_generated_law_tends_to_population_limit():
    # theta1 -> c I with c = e^{-T} s^2 / (e^{-2T} s^2 + Delta_T); Sigma_G -> sigma_X^2 c^2 I.
    params = LinearDiffusionParams(mu=10.0, sigma=1.0, T=2.0, lam=math.exp(-4))
    d, n = 4, 400_000
    g = torch.Generator().manual_seed(0)
    Y = sample_gaussian_data(n, d, params.mu, params.sigma, g)
    X = noise_data(Y, params, g)
    c = math.exp(-params.T) / (math.exp(-2 * params.T) + params.noise_variance)
    model = fit_linear_denoiser(X, Y)
    np.testing.assert_allclose(model.theta1.numpy(), c * np.eye(d), atol=0.03 * c)
    sx2 = math.exp(-2 * params.T) + params.noise_variance
    assert generation_noise_variance(Y, params) == pytest.approx(sx2, rel=5e-3)
    law = fit_generated_laws(Y, X, params, ["exact"])["exact"]
    np.testing.assert_allclose(law.cov.numpy(), sx2 * c * c * np.eye(d), atol=0.05 * sx2 * c * c)
    # mean: theta0 + theta1 e^{-T} Ybar -> mu (1 - c e^{-T}) + c e^{-T} mu = mu
    np.testing.assert_allclose(law.mean.numpy(), params.mu, atol=0.02)
    assert gaussian_hellinger2(isotropic_law(d, params.mu, params.sigma), law) < 0.5


def test_covariance_conventions_share_spectrum_but_differ():
    params = LinearDiffusionParams()
    g = torch.Generator().manual_seed(3)
    Y = sample_gaussian_data(30, 10, params.mu, params.sigma, g)
    laws = fit_generated_laws(Y, noise_data(Y, params, g), params)
    e1, e2 = (torch.linalg.eigvalsh(laws[c].cov) for c in ("exact", "paper"))
    np.testing.assert_allclose(e1.numpy(), e2.numpy(), rtol=1e-9, atol=1e-12)
    assert torch.linalg.matrix_norm(laws["exact"].cov - laws["paper"].cov) > 1e-3
    # the "exact" covariance is the covariance of theta0 + theta1 X, X ~ N(mu_X, sigma_X^2 I):
    gs = torch.Generator().manual_seed(4)
    X = noise_data(Y, params, torch.Generator().manual_seed(5))
    fit = fit_linear_denoiser(X, Y)
    law = fit_generated_laws(Y, X, params, ["exact"])["exact"]
    sx = math.sqrt(generation_noise_variance(Y, params))
    xs = math.exp(-params.T) * Y.mean(0) + sx * torch.randn(200_000, 10, generator=gs, dtype=f64)
    samples = fit.theta0 + xs @ fit.theta1.T
    np.testing.assert_allclose(
        torch.cov(samples.T).numpy(), law.cov.numpy(), atol=0.02 * float(law.cov.diagonal().max())
    )


def test_mixing_time_formula():
    s = 1.3
    # n^{2/d} = 2 -> t_M = 1/2 log(1 + s^2)
    assert mixing_time(s, 2, 2) == pytest.approx(0.5 * math.log1p(s * s), rel=1e-14)
    # large n^{2/d}: 2 t_M = s^2 n^{-2/d} (1 + O(n^{-2/d}))  (eq. 9, second form)
    n, d = 10**6, 2
    assert 2 * mixing_time(s, d, n) == pytest.approx(s * s / n ** (2 / d), rel=5e-6)
    assert kernel_width_mixing(s, d, n) == pytest.approx(math.sqrt(2 * mixing_time(s, d, n)))
    with pytest.raises(ValueError, match="n >= 2"):
        mixing_time(s, 4, 1)


def test_kernel_width_formulas():
    s, n = 0.8, 1000
    # d = 1: Silverman's normal-reference rule (4/3)^{1/5} s n^{-1/5}
    assert kernel_width_amise(s, 1, n) == pytest.approx((4 / 3) ** 0.2 * s * n**-0.2, rel=1e-14)
    # large d: eq. 11 -> s n^{-1/d} (its second form)
    assert kernel_width_amise(s, 2000, n) == pytest.approx(float(kernel_width_large_d(s, 2000, n)), rel=5e-3)
    assert kernel_width_large_d(s, 4, 16) == pytest.approx(s / 2)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_exact_mise_argmin_tends_to_amise_formula(d):
    # eps_opt / eps_AMISE - 1 = O(eps^2) -> 0 as n grows at fixed d.
    errs = [abs(optimal_kernel_width(n, d)[0] / float(kernel_width_amise(1.0, d, n)) - 1) for n in (10**4, 10**8)]
    assert errs[1] < errs[0]
    assert errs[1] < 0.01


def test_mise_1d_by_numerical_integration():
    # MISE = int [ (1/n) E K^2 + (1 - 1/n) (E K)^2 - 2 rho E K + rho^2 ] dx, K = N(x | X, eps^2), X ~ rho.
    n, s, eps, mu = 7, 1.4, 0.5, 3.0
    pdf = lambda x, m, sd: math.exp(-0.5 * ((x - m) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))  # scalar N(x | m, sd^2)
    rho = lambda x: pdf(x, mu, s)
    EK = lambda x: integrate.quad(lambda y: pdf(x, y, eps) * rho(y), mu - 12 * s, mu + 12 * s, epsabs=1e-14)[0]
    EK2 = lambda x: integrate.quad(lambda y: pdf(x, y, eps) ** 2 * rho(y), mu - 12 * s, mu + 12 * s, epsabs=1e-14)[0]
    f = lambda x: EK2(x) / n + (1 - 1 / n) * EK(x) ** 2 - 2 * rho(x) * EK(x) + rho(x) ** 2
    mise, _ = integrate.quad(f, mu - 12 * s, mu + 12 * s, limit=200, epsabs=1e-13)
    int_rho2 = 1 / math.sqrt(4 * math.pi * s * s)
    assert math.exp(log_kde_mise_ratio(eps, n, 1, s)) * int_rho2 == pytest.approx(mise, rel=1e-7)


def test_formula_curves_table_holds_both_widths_on_a_dense_n_grid():
    f = formula_curves([2, 16], [10, 1000], 1.5, num=50)
    assert len(f) == 100 and f.n.min() == pytest.approx(10) and f.n.max() == pytest.approx(1000)
    row = f[f.d == 16].iloc[17]
    # eq. 11 and sqrt(2 t_M) with t_M of eq. 9, written out independently
    assert row.eps_amise == pytest.approx((4 / 18) ** (1 / 20) * 1.5 * row.n ** (-1 / 20), rel=1e-12)
    t_mix = 0.5 * math.log(1 + 1.5**2 / (row.n ** (2 / 16) - 1))
    assert row.eps_mixing == pytest.approx(math.sqrt(2 * t_mix), rel=1e-12)


def test_hellinger_decays_fast_for_d16_and_slowly_for_d100():
    """The figure's caption: past n = d, E[H²] falls fast for d = 16 (≈ 0.57 at n = 100) and slowly for
    d = 100 (≈ 0.997 at n = 500), 6 trials each, the config's model."""
    from memgen.experiments.ldm import Sweep, hellinger_trials, model_from_config

    model = {
        "mu": 10.0,
        "sigma": 1.0,
        "T": 2.0,
        "lambda": math.exp(-4),
        "covariance": "exact",
        "compare_covariance": False,
    }
    params, cov = model_from_config(model)
    h2 = lambda d, n: hellinger_trials(Sweep(d, n, n, 1, near_d=()), range(6), params, cov, 20251122).h2.mean()
    assert 0.5 < h2(16, 100) < 0.65
    assert 0.995 < h2(100, 500) < 0.999
