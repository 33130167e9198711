"""Gaussian-KDE L^2 quantities against brute-force numerical integration, the
log-space Delta against direct evaluation, and P(Delta > 0) intervals."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from memgen.kde import (
    expected_pixel_delta,
    per_coordinate_cross_overlap,
    per_coordinate_l2_distance,
    per_coordinate_self_overlap,
    pixel_kernel_width,
    pixel_transition,
    pixel_transitions,
    kde_gaussian_l2_distance,
    kde_l2_distance,
    log_cross_overlap,
    log_kde_gaussian_overlap,
    log_kde_mise_ratio,
    check_equal_diagonals,
    log_diagonal_self_overlap,
    log_pair_overlap,
    log_self_overlap,
    probability_positive,
    signed_log_sum,
    transition_delta,
)

f64 = torch.float64


def kde_pdf(points, eps):
    """Direct density of the KDE on an array of evaluation points (N, d)."""
    pts = np.asarray(points)

    def pdf(x):
        x = np.atleast_2d(x)
        return np.mean(
            [np.atleast_1d(stats.multivariate_normal.pdf(x, p, eps * eps * np.eye(pts.shape[1]))) for p in pts], axis=0
        )

    return pdf


def grid_2d(lo, hi, m=601):
    xs = np.linspace(lo, hi, m)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    return xs, np.stack([X.ravel(), Y.ravel()], 1)


def trapz2(values, xs):
    v = values.reshape(len(xs), len(xs))
    return integrate.trapezoid(integrate.trapezoid(v, xs, axis=1), xs)


@pytest.fixture
def sets():
    g = torch.Generator().manual_seed(11)
    a1, b1 = torch.randn(5, 1, generator=g, dtype=f64), 0.5 + 1.3 * torch.randn(4, 1, generator=g, dtype=f64)
    a2, b2 = torch.randn(5, 2, generator=g, dtype=f64), 0.4 + torch.randn(6, 2, generator=g, dtype=f64)
    return a1, b1, a2, b2


def test_self_and_cross_overlap_1d(sets):
    a, b, _, _ = sets
    pa, pb = kde_pdf(a, 0.3), kde_pdf(b, 0.45)
    self_a = integrate.quad(lambda x: pa(x)[0] ** 2, -10, 10, limit=400, epsabs=1e-13)[0]
    cross = integrate.quad(lambda x: pa(x)[0] * pb(x)[0], -10, 10, limit=400, epsabs=1e-13)[0]
    l2 = integrate.quad(lambda x: (pa(x)[0] - pb(x)[0]) ** 2, -10, 10, limit=400, epsabs=1e-13)[0]
    assert math.exp(log_self_overlap(a, 0.3)) == pytest.approx(self_a, rel=1e-9)
    assert math.exp(log_cross_overlap(a, 0.3, b, 0.45)) == pytest.approx(cross, rel=1e-9)
    assert kde_l2_distance(a, 0.3, b, 0.45).value == pytest.approx(l2, rel=1e-8)


def test_self_and_cross_overlap_2d(sets):
    _, _, a, b = sets
    xs, pts = grid_2d(-7, 7)
    ra, rb = kde_pdf(a, 0.5)(pts), kde_pdf(b, 0.6)(pts)
    assert math.exp(log_self_overlap(a, 0.5)) == pytest.approx(trapz2(ra * ra, xs), rel=1e-7)
    assert math.exp(log_cross_overlap(a, 0.5, b, 0.6)) == pytest.approx(trapz2(ra * rb, xs), rel=1e-7)
    assert kde_l2_distance(a, 0.5, b, 0.6).value == pytest.approx(trapz2((ra - rb) ** 2, xs), rel=1e-6)


def test_kde_gaussian_overlap_2d_full_and_singular(sets):
    _, _, a, _ = sets
    xs, pts = grid_2d(-7, 7)
    ra = kde_pdf(a, 0.5)(pts)
    mean = torch.tensor([0.3, -0.2], dtype=f64)
    cov = torch.tensor([[0.8, 0.3], [0.3, 0.5]], dtype=f64)
    rg = stats.multivariate_normal.pdf(pts, mean.numpy(), cov.numpy())
    assert math.exp(log_kde_gaussian_overlap(a, 0.5, mean, cov)) == pytest.approx(trapz2(ra * rg, xs), rel=1e-7)
    assert kde_gaussian_l2_distance(a, 0.5, mean, cov).value == pytest.approx(trapz2((ra - rg) ** 2, xs), rel=1e-6)
    # singular cov = v v^T: int rho N(m, vv^T) = E_{u~N(0,1)} rho(m + u v), a 1-D integral
    v = np.array([0.9, -0.4])
    pa = kde_pdf(a, 0.5)
    ref = integrate.quad(lambda u: pa(mean.numpy() + u * v)[0] * stats.norm.pdf(u), -12, 12, epsabs=1e-14)[0]
    sing = torch.tensor(np.outer(v, v), dtype=f64)
    assert math.exp(log_kde_gaussian_overlap(a, 0.5, mean, sing)) == pytest.approx(ref, rel=1e-9)


def test_blocking_does_not_change_results():
    g = torch.Generator().manual_seed(2)
    x, y = 3 + torch.randn(203, 5, generator=g, dtype=f64), torch.randn(57, 5, generator=g, dtype=f64)
    assert log_self_overlap(x, 0.7, block=16) == pytest.approx(log_self_overlap(x, 0.7, block=4096), rel=1e-13)
    assert log_cross_overlap(x, 0.7, y, 0.4, block=10) == pytest.approx(
        log_cross_overlap(x, 0.7, y, 0.4, block=4096), rel=1e-13
    )


def direct_delta(train, eps_t, orig, eps_o, mean, cov):
    """Delta evaluated with densities in linear space (numpy, no logs)."""
    d = train.shape[1]

    def self_int(p, e):
        D = ((p[:, None, :] - p[None, :, :]) ** 2).sum(-1)
        return np.mean(np.exp(-D / (4 * e * e))) * (4 * np.pi * e * e) ** (-d / 2)

    def cross(p, e):
        S = cov + e * e * np.eye(d)
        return np.mean(stats.multivariate_normal.pdf(p, mean, S))

    return self_int(train, eps_t) - 2 * cross(train, eps_t) - self_int(orig, eps_o) + 2 * cross(orig, eps_o)


def log_terms(train, eps_t, orig, eps_o, mean, cov):
    """The four logs transition_delta takes: pair parts and cross terms (the diagonals cancel)."""
    check_equal_diagonals(train.shape[1], eps_t, len(train), eps_o, len(orig))
    return (
        log_pair_overlap(train, eps_t),
        log_kde_gaussian_overlap(train, eps_t, mean, cov),
        log_pair_overlap(orig, eps_o),
        log_kde_gaussian_overlap(orig, eps_o, mean, cov),
    )


@pytest.mark.parametrize("seed", range(6))
def test_log_space_delta_equals_direct_evaluation(seed):
    g = torch.Generator().manual_seed(seed)
    d = 3
    train = torch.randn(6, d, generator=g, dtype=f64)
    orig = torch.randn(40, d, generator=g, dtype=f64)
    mean = 0.3 * torch.randn(d, generator=g, dtype=f64)
    A = torch.randn(d, 2, generator=g, dtype=f64)
    cov = A @ A.T  # rank 2 < d: singular like the n <= d linear model
    eps_t, eps_o = 0.9 * 6 ** (-1 / d), 0.9 * 40 ** (-1 / d)  # sigma size^(-1/d), sigma = 0.9
    delta = transition_delta(*log_terms(train, eps_t, orig, eps_o, mean, cov))
    ref = direct_delta(train.numpy(), eps_t, orig.numpy(), eps_o, mean.numpy(), cov.numpy())
    assert delta.sign == np.sign(ref)
    assert delta.value == pytest.approx(ref, rel=1e-8)


def test_log_space_delta_finite_in_d100_where_direct_underflows():
    # Scaling every length by c multiplies each term, hence Delta, by c^{-d}:
    # log|Delta| shifts by -d log c and the sign is kept. At c = 1e4, d = 100 the
    # direct evaluation underflows (c^{-100} = 1e-400) and gives 0.
    g = torch.Generator().manual_seed(5)
    d = 100
    train = torch.randn(30, d, generator=g, dtype=f64)
    orig = torch.randn(300, d, generator=g, dtype=f64)
    mean = 0.05 * torch.randn(d, generator=g, dtype=f64)
    cov = 0.8 * torch.eye(d, dtype=f64)
    eps_t, eps_o = 30 ** (-1 / d), 300 ** (-1 / d)
    base = transition_delta(*log_terms(train, eps_t, orig, eps_o, mean, cov))
    ref = direct_delta(train.numpy(), eps_t, orig.numpy(), eps_o, mean.numpy(), cov.numpy())
    assert base.value == pytest.approx(ref, rel=1e-8)
    c = 1e4
    scaled = transition_delta(*log_terms(c * train, c * eps_t, c * orig, c * eps_o, c * mean, c * c * cov))
    direct = direct_delta(
        c * train.numpy(), c * eps_t, c * orig.numpy(), c * eps_o, c * mean.numpy(), c * c * cov.numpy()
    )
    assert direct == 0.0  # underflow
    assert math.isfinite(scaled.log_abs)
    assert scaled.sign == base.sign != 0
    assert scaled.log_abs == pytest.approx(base.log_abs - d * math.log(c), rel=1e-10)


def test_signed_log_sum():
    r = signed_log_sum([math.log(5), math.log(3), math.log(1)], [1, -1, -1])
    assert (r.sign, r.value) == (1, pytest.approx(1.0))
    r = signed_log_sum([1000.0, 1000.0 + math.log(2)], [1, -1])
    assert r.sign == -1 and r.log_abs == pytest.approx(1000.0)
    assert signed_log_sum([0.0, 0.0], [1, -1]).sign == 0


def test_probability_positive_wilson_reference_values():
    # Wilson interval for 8 successes in 10 trials at 95 %: (0.4902, 0.9433) (Newcombe 1998).
    prop = probability_positive([1] * 8 + [-1] * 2)
    assert prop.p == 0.8
    assert (prop.low, prop.high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    # 0 of 20: lower bound 0, upper 0.1611
    prop = probability_positive([-1] * 20)
    assert prop.low == 0.0 and prop.high == pytest.approx(0.1611, abs=1e-4)
    # ties count 1/2
    assert probability_positive([1, 0, 0, -1]).p == 0.5
    # the interval contains p also at p = 0 and p = 1 (no rounding past it)
    for k in (1, 7, 300):
        for signs in ([1] * k, [-1] * k):
            prop = probability_positive(signs)
            assert prop.low <= prop.p <= prop.high
    with pytest.raises(ValueError):
        probability_positive([])


def test_mise_closed_form_matches_simulation():
    # Average of the exact ISE int (rho_hat - rho)^2 over simulated data sets (kde module,
    # Gaussian products) agrees with the closed-form MISE within Monte Carlo error.
    n, d, s, eps = 6, 2, 1.0, 0.6
    g = torch.Generator().manual_seed(7)
    zero, cov = torch.zeros(d, dtype=f64), s * s * torch.eye(d, dtype=f64)
    ise = np.array(
        [
            kde_gaussian_l2_distance(s * torch.randn(n, d, generator=g, dtype=f64), eps, zero, cov).value
            for _ in range(4000)
        ]
    )
    mise = math.exp(log_kde_mise_ratio(eps, n, d, s)) / (4 * math.pi * s * s) ** (d / 2)
    assert abs(ise.mean() - mise) < 4 * ise.std() / math.sqrt(ise.size)


# --- per-coordinate (per-pixel) distances, Paper B eqs. 23-24 ---------------------------------


def _kde_1d(points, eps, grid):
    """rho(x) = (1/n) sum_k N(x | x_k, eps^2) on a grid (numpy)."""
    z = (grid[:, None] - points[None, :]) / eps
    return np.exp(-0.5 * z * z).sum(1) / (len(points) * eps * math.sqrt(2 * math.pi))


def test_per_pixel_distance_matches_numerical_integration():
    g = torch.Generator().manual_seed(11)
    a = 0.5 + 0.1 * torch.randn(30, 3, generator=g, dtype=torch.float64)
    b = 0.5 + 0.1 * torch.randn(7, 3, generator=g, dtype=torch.float64)
    ea, eb = 0.1 / 30, 0.1 / 7
    grid = np.linspace(-0.2, 1.2, 400_001)
    expected = 0.0
    for i in range(3):
        diff = _kde_1d(a[:, i].numpy(), ea, grid) - _kde_1d(b[:, i].numpy(), eb, grid)
        expected += np.trapezoid(diff * diff, grid)
    assert per_coordinate_l2_distance(a, ea, b, eb) == pytest.approx(expected, rel=1e-7)
    self_a = per_coordinate_self_overlap(a, ea).numpy()
    for i in range(3):
        assert self_a[i] == pytest.approx(np.trapezoid(_kde_1d(a[:, i].numpy(), ea, grid) ** 2, grid), rel=1e-7)


def test_per_pixel_self_overlap_sorted_sweep_equals_the_dense_double_sum():
    """Large n and tiny eps (the window sweep stops early) and duplicated points (it must not)."""
    g = torch.Generator().manual_seed(12)
    for n, eps in [(3000, 0.1 / 3000), (200, 0.05), (50, 1e-4)]:
        x = 0.5 + 0.1 * torch.randn(n, 4, generator=g, dtype=torch.float64)
        if n == 50:
            x[10:20] = x[0]  # ten exact copies
        diff = x[:, None, :] - x[None, :, :]
        dense = torch.exp(-diff.square() / (4 * eps * eps)).sum((0, 1)) / (n * n * 2 * eps * math.sqrt(math.pi))
        assert torch.allclose(per_coordinate_self_overlap(x, eps), dense, rtol=1e-12, atol=0)


def test_pixel_transition_sign_on_constructed_cases():
    """Generated images equal to the training set (same size, so the same width): E_TG = 0 < E_OG,
    Delta < 0 (memorized)."""
    g = torch.Generator().manual_seed(13)
    mu, sigma, d = 0.5, 0.1, 64
    original = mu + sigma * torch.randn(100, d, generator=g, dtype=torch.float64)
    train = mu + sigma * torch.randn(10, d, generator=g, dtype=torch.float64)
    copy = pixel_transition(train, original, train.clone(), sigma)
    assert copy.e_tg == pytest.approx(0.0, abs=1e-9) and copy.delta < 0
    assert pixel_kernel_width(sigma, 10) == pytest.approx(0.01)


def test_pixel_transitions_of_several_sets_equal_each_set_alone():
    """The self-overlaps of T and O computed once serve every generated set: each E_TG, E_OG equals
    eq. 23 evaluated for that set alone (per_coordinate_l2_distance), whatever the set sizes."""
    g = torch.Generator().manual_seed(21)
    sigma, d = 0.1, 16
    train, original = (0.5 + sigma * torch.randn(k, d, generator=g, dtype=f64) for k in (12, 80))
    sets = [0.5 + s * torch.randn(k, d, generator=g, dtype=f64) for s, k in ((0.1, 10), (0.05, 10), (0.2, 7))]
    for gen, got in zip(sets, pixel_transitions(train, original, sets, sigma)):
        eps_g = pixel_kernel_width(sigma, len(gen))
        assert got.e_tg == per_coordinate_l2_distance(train, pixel_kernel_width(sigma, 12), gen, eps_g)
        assert got.e_og == per_coordinate_l2_distance(original, pixel_kernel_width(sigma, 80), gen, eps_g)
        assert got == pixel_transition(train, original, gen, sigma)


def test_self_overlap_is_its_diagonal_and_pair_parts():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(50, 4, generator=g, dtype=f64)
    D = ((x[:, None] - x[None]) ** 2).sum(-1)
    pairs = np.exp(-D.numpy() / (4 * 0.6**2))[np.triu_indices(50, 1)].sum() * 2 / 50**2 * (4 * np.pi * 0.36) ** -2
    assert math.exp(log_pair_overlap(x, 0.6, block=7)) == pytest.approx(pairs, rel=1e-12)
    assert math.exp(log_diagonal_self_overlap(4, 0.6, 50)) == pytest.approx((4 * np.pi * 0.36) ** -2 / 50, rel=1e-14)
    assert log_pair_overlap(x[:1], 0.6) == -math.inf
    with pytest.raises(ValueError, match="eps_train=0.5 for n=50"):
        check_equal_diagonals(4, 0.5, 50, 0.5, 500)


def test_delta_keeps_its_sign_where_the_self_overlaps_cancel():
    """d = 100, n = d: Δ from the pair parts and cross terms (the diagonal self-overlaps cancelled
    analytically) against a 50-digit mpmath evaluation of the same sums: sign equal, log|Δ| to 1e-9."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    g = torch.Generator().manual_seed(11)
    d, n, N, s2 = 100, 100, 200, 0.7
    train = torch.randn(n, d, generator=g, dtype=f64)
    orig = torch.randn(N, d, generator=g, dtype=f64)
    mean = 0.05 * torch.randn(d, generator=g, dtype=f64)
    sigma = 1.37
    eps_t, eps_o = sigma * n ** (-1 / d), sigma * N ** (-1 / d)
    cov = s2 * torch.eye(d, dtype=f64)

    def mp_terms(points, size):
        e2 = (mpmath.mpf(sigma) ** 2) * mpmath.power(size, mpmath.mpf(-2) / d)
        P = [[mpmath.mpf(float(v)) for v in row] for row in points.tolist()]
        m = [mpmath.mpf(float(v)) for v in mean.tolist()]
        pairs = mpmath.fsum(
            mpmath.exp(-mpmath.fsum((a - b) ** 2 for a, b in zip(P[i], P[j])) / (4 * e2))
            for i in range(size)
            for j in range(i + 1, size)
        )
        pair_part = 2 * pairs / size**2 * (4 * mpmath.pi * e2) ** (-mpmath.mpf(d) / 2)
        v = s2 + e2
        cross = mpmath.fsum(mpmath.exp(-mpmath.fsum((a - b) ** 2 for a, b in zip(p, m)) / (2 * v)) for p in P)
        return pair_part, cross / size * (2 * mpmath.pi * v) ** (-mpmath.mpf(d) / 2)

    (pt, ct), (po, co) = mp_terms(train, n), mp_terms(orig, N)
    exact = pt - 2 * ct - po + 2 * co
    delta = transition_delta(*log_terms(train, eps_t, orig, eps_o, mean, cov))
    assert delta.sign == int(mpmath.sign(exact)) != 0
    assert delta.log_abs == pytest.approx(float(mpmath.log(abs(exact))), abs=1e-9)


@pytest.mark.parametrize(
    "k_t, eps_t_of_n",
    [(10, False), (10, True), (300, False)],  # a 10-image subset at σ/10 and at σ/n (n = 300); all 300 at σ/300
)
def test_expected_pixel_delta_of_the_true_law_matches_simulation(k_t, eps_t_of_n):
    """Each pixel of independent draws is one replicate: the mean of Δ over 20,000 pixels against the closed form."""
    sigma, k_o, k_g, d, n = 0.1, 100, 10, 20_000, 300
    gen = torch.Generator().manual_seed(7)
    draw = lambda k: 0.5 + sigma * torch.randn(k, d, generator=gen, dtype=torch.float64)  # noqa: E731
    eps_t = sigma / n if eps_t_of_n else sigma / k_t
    train, original, generated = draw(k_t), draw(k_o), draw(k_g)
    per_pixel = (
        per_coordinate_self_overlap(train, eps_t)
        - per_coordinate_self_overlap(original, sigma / k_o)
        - 2 * per_coordinate_cross_overlap(train, eps_t, generated, sigma / k_g)
        + 2 * per_coordinate_cross_overlap(original, sigma / k_o, generated, sigma / k_g)
    )
    expected = expected_pixel_delta(sigma, k_t, eps_t, k_o, sigma / k_o, sigma / k_g)
    se = float(per_pixel.std()) / math.sqrt(d)
    assert abs(float(per_pixel.mean()) - expected) < 4 * se
    # and the sum of the per-pixel Δ is what pixel_transitions reports for the same sets
    whole = pixel_transitions(train, original, [generated], sigma, eps_train=eps_t)[0]
    assert whole.delta == pytest.approx(float(per_pixel.sum()), rel=1e-9, abs=1e-6)


def test_expected_pixel_delta_small_width_limit():
    """ε_X = σ/k_X: E[Δ] → (1/k_O − 1/k_T)/(2√π σ) as the widths shrink (the true law crosses ½ near k_T = k_O)."""
    sigma = 0.1
    for k_t, k_o in ((10, 100), (1000, 100), (100, 100)):
        exact = expected_pixel_delta(sigma, k_t, sigma / k_t, k_o, sigma / k_o, sigma / 10)
        limit = (1 / k_o - 1 / k_t) / (2 * math.sqrt(math.pi) * sigma)
        assert exact == pytest.approx(limit, abs=2e-3)  # the next order: ε²/σ² ≤ 1e-2 of the terms
