"""RF-DSM learning-curve theory: constants, closed-form limits, implicit derivatives
against finite differences, the m → ∞ limit, the solver over the phase diagram,
and the qualitative facts of docs/rf-dsm-theory.md §10."""

import math
from pathlib import Path

import numpy as np
import pytest

from memgen.rf_theory import (
    activation_constants,
    learning_curves,
    master_coefficients,
    master_residual,
    newton_traces,
    residual_scale,
    solve_master_equations,
    t1_t2_and_gradient,
    train_error_wide_limit,
)

PHASE_GRID = np.geomspace(0.25, 8, 50)


@pytest.mark.parametrize("t, kappa", [(0.01, 0.931661), (0.1, 0.504880), (1.0, 0.001999)])
def test_tanh_constants_match_spec(t, kappa):
    c = activation_constants("tanh", t)
    assert c.mu1 == pytest.approx(0.605706, abs=1e-6)
    assert c.mu_star2 == pytest.approx(0.027415, abs=1e-6)
    assert c.kappa == pytest.approx(kappa, abs=1e-6)
    assert c.s2 + c.v2 == pytest.approx(c.mu_star2)


def test_constants_of_a_callable_against_closed_forms():
    """ϱ = sin: μ₁ = e^{−1/2}, E sin² = (1 − e^{−2})/2, v_t² = ½e^{−h}(1 − e^{−2a²}) − a² e^{−1}."""
    t = 0.3
    c = activation_constants(np.sin, t)
    a2, h = math.exp(-2 * t), 1 - math.exp(-2 * t)
    assert c.mu1 == pytest.approx(math.exp(-0.5), rel=1e-12)
    assert c.mu_star2 == pytest.approx((1 - math.exp(-2)) / 2 - math.exp(-1), rel=1e-12)
    assert c.v2 == pytest.approx(0.5 * math.exp(-h) * (1 - math.exp(-2 * a2)) - a2 * math.exp(-1), rel=1e-10)


@pytest.mark.parametrize("t", [0.01, 0.1, 1.0])
def test_relu_constants_against_integration_split_at_the_kink(t):
    """The closed forms of the centred ReLU against scipy quadrature split at the kink (inner integral
    over v at fixed u, outer over u), independently of the arc-cosine formula."""
    from scipy import integrate

    c = activation_constants("relu", t)
    a, sh = math.exp(-t), math.sqrt(1 - math.exp(-2 * t))
    phi = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    relu_c = lambda x: max(x, 0.0) - 1 / math.sqrt(2 * math.pi)

    def gauss(f, kink):
        return sum(
            integrate.quad(lambda x: f(x) * phi(x), lo, hi, epsabs=1e-13)[0] for lo, hi in ((-40, kink), (kink, 40))
        )

    assert gauss(relu_c, 0.0) == pytest.approx(0.0, abs=1e-12)  # centred
    assert c.mu1 == pytest.approx(gauss(lambda x: x * relu_c(x), 0.0), abs=1e-12)
    assert c.mu_star2 == pytest.approx(gauss(lambda x: relu_c(x) ** 2, 0.0) - c.mu1**2, abs=1e-12)
    inner = lambda u: gauss(lambda v: relu_c(a * u + sh * v), -a * u / sh)
    v2 = integrate.quad(lambda u: inner(u) ** 2 * phi(u), -12, 12, epsabs=1e-12, limit=200)[0] - a * a * c.mu1**2
    assert c.v2 == pytest.approx(v2, abs=1e-9)
    assert 0 <= c.kappa <= 1 and c.s2 + c.v2 == pytest.approx(c.mu_star2)


@pytest.mark.parametrize("t", [0.01, 0.1, 1.0])
def test_solver_converges_by_residual_at_tiny_ridge(t):
    """m = 1 at p = n (ψ_p = ψ_n = 0.25), λ = 1e-8: Newton's step stalls at rounding while the residual is
    at float64 level; such a point counts as converged (it was flagged unconverged before), and the
    returned traces do solve the equations."""
    lc = learning_curves(np.array([0.25, 0.5, 2.0]), 0.25, 1, t, 1e-8)
    assert np.all(lc.converged)
    co = master_coefficients(activation_constants("tanh", t), np.array([0.25, 0.5, 2.0]), 0.25, 1.0)
    F, _ = master_residual(lc.q, lc.r, -1e-8, 0.0, co)
    assert np.all(np.abs(F) <= 1e-12 * residual_scale(lc.q, lc.r, -1e-8, 0.0, co))


def test_uncentred_activation_is_rejected():
    with pytest.raises(ValueError, match="not centred"):
        activation_constants(np.exp, 0.1)


def test_spec_example_m5():
    lc = learning_curves(2.0, 2.0, 5, 0.1, 1e-3)
    assert float(lc.E_train) == pytest.approx(0.586, abs=1.5e-3)
    assert float(lc.E_test) == pytest.approx(1.300, abs=1.5e-3)


def test_train_error_vanishes_for_wide_models_at_finite_m():
    """Spec §6: ψ_p → ∞ at fixed λ drives the train error to 0 for every finite m."""
    for m in (1, 3, 10):
        e = learning_curves(np.array([50.0, 500.0, 5000.0]), 1.0, m, 0.1, 1e-2).E_train
        assert np.all(np.diff(e) < 0)
        assert e[-1] < 1e-3 * learning_curves(0.25, 1.0, m, 0.1, 1e-2).E_train


@pytest.mark.parametrize("ratio", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("t", [0.1, 1.0])
def test_wide_limit_closed_form_m_infinity(ratio, t):
    """Spec §6: m = ∞, λ → 0, ψ_n → ∞ at fixed ψ_p/ψ_n: E_train → a²ρ/(h + a²ρ), at rate 1/ψ_n."""
    limit = train_error_wide_limit(ratio, t)
    err = []
    for psi_n in (1e3, 1e4, 1e5):
        lc = learning_curves(ratio * psi_n, psi_n, np.inf, t, 1e-9)
        assert lc.converged
        err.append(abs(float(lc.E_train) / limit - 1))
    assert err[1] < err[0] / 9 and err[2] < err[1] / 9
    assert err[2] < 3e-5


@pytest.mark.parametrize("m", [1, 4, np.inf])
def test_implicit_derivatives_match_central_differences(m):
    """T4 = dT1/dζ and T5 = dT1/dz from the implicit-function theorem vs re-solving at ζ, z ± δ."""
    c = activation_constants("tanh", 0.1)
    co = master_coefficients(c, 1.7, 2.0, m)
    lam = 1e-2
    q, r, _ = solve_master_equations(1.7, 2.0, m, 0.1, lam)
    lc = learning_curves(1.7, 2.0, m, 0.1, lam)
    delta = 1e-6

    def t1(z, zeta):
        u, v, ok = newton_traces(np.log(q), np.log(r), np.array(z), co, zeta=zeta)
        assert ok
        return t1_t2_and_gradient(np.exp(u), np.exp(v), co)[0]

    T5 = (t1(-lam + delta, 0.0) - t1(-lam - delta, 0.0)) / (2 * delta)
    T4 = (t1(-lam, delta) - t1(-lam, -delta)) / (2 * delta)
    T1, T2, _ = t1_t2_and_gradient(q, r, co)
    assert float(lc.E_train) == pytest.approx(float(1 - T1 - lam * T5), rel=1e-6)
    e_test = 1 - 2 * c.mu1 * math.sqrt(c.h) * T2 + c.mu1**2 * T4 + c.mu_star2 * T5
    assert float(lc.E_test) == pytest.approx(float(e_test), rel=1e-6)


def test_large_m_approaches_m_infinity():
    pp = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    inf = learning_curves(pp, 2.0, np.inf, 0.1, 1e-3)
    gaps = []
    for m in (10, 100, 1000, 10000):
        lc = learning_curves(pp, 2.0, m, 0.1, 1e-3)
        gaps.append(max(np.abs(lc.E_test - inf.E_test).max(), np.abs(lc.E_train - inf.E_train).max()))
    assert np.all(np.diff(gaps) < 0)
    assert gaps[-1] < 1e-3 and gaps[-1] < gaps[-2] / 5  # O(1/m)


def test_psi_p_continuation_agrees_with_ridge_continuation():
    pp = np.geomspace(0.25, 8, 120)
    for m in (1, 10, np.inf):
        a = learning_curves(pp, 2.0, m, 0.1, 1e-3)
        b = learning_curves(pp, 2.0, m, 0.1, 1e-3, along_psi_p=True)
        assert a.converged.all() and b.converged.all()
        np.testing.assert_allclose(b.E_test, a.E_test, rtol=1e-9)
        np.testing.assert_allclose(b.E_train, a.E_train, rtol=1e-9, atol=1e-12)


def _max_jump(values, axis):
    return np.abs(np.diff(np.log(values), axis=axis)).max()


@pytest.mark.parametrize("t", [0.01, 0.1, 1.0])
@pytest.mark.parametrize("m", [1, 10, np.inf])
def test_solver_finite_and_continuous_over_phase_diagram(m, t):
    """Converged and finite on the 50 × 50 log grid of (ψ_n, ψ_p) ∈ [0.25, 8]²; the largest jump
    between neighbours shrinks when that cell is refined 8× (a jump to another branch would not)."""
    PN, PP = np.meshgrid(PHASE_GRID, PHASE_GRID, indexing="ij")
    lc = learning_curves(PP, PN, m, t, 1e-3)
    assert lc.converged.all()
    for name in ("E_train", "E_test", "E_score", "q", "r"):
        assert np.isfinite(getattr(lc, name)).all(), name
    assert (lc.E_train > 0).all() and (lc.E_test > lc.E_train).all()
    for axis in (0, 1):
        for name in ("E_test", "E_train", "q", "r"):
            vals = getattr(lc, name)
            jumps = np.abs(np.diff(np.log(vals), axis=axis))
            i, j = np.unravel_index(np.argmax(jumps), jumps.shape)
            lo = (PN[i, j], PP[i, j])
            i2, j2 = i + (axis == 0), j + (axis == 1)
            hi = (PN[i2, j2], PP[i2, j2])
            fine_pn = np.geomspace(lo[0], hi[0], 9)
            fine_pp = np.geomspace(lo[1], hi[1], 9)
            fine = getattr(learning_curves(fine_pp, fine_pn, m, t, 1e-3), name)
            assert _max_jump(fine, 0) < 0.4 * jumps[i, j] + 1e-12, (name, axis, lo, hi)


def test_double_descent_peak_at_interpolation_for_m1():
    """Spec §6: for m = 1 the test error peaks at ψ_p = ψ_n."""
    pp = np.geomspace(0.25, 8, 400)
    for psi_n in (1.0, 2.0, 4.0):
        e = learning_curves(pp, psi_n, 1, 0.1, 1e-4).E_test
        assert pp[np.argmax(e)] == pytest.approx(psi_n, rel=0.03)
        assert e.max() > 2 * max(e[0], e[-1])


def test_m_infinity_has_one_minimum_below_psi_n_and_then_memorises():
    """Spec §6: for m = ∞ no peak; one minimum of E_test below ψ_n, then E_test grows while E_train falls."""
    pp = np.geomspace(0.25, 8, 400)
    for psi_n in (1.0, 2.0, 4.0):
        lc = learning_curves(pp, psi_n, np.inf, 0.1, 1e-4)
        slope = np.sign(np.diff(lc.E_test))
        assert np.count_nonzero(np.diff(slope)) == 1  # one turning point
        i = np.argmin(lc.E_test)
        assert 0 < i < len(pp) - 1 and pp[i] < psi_n
        assert np.all(np.diff(lc.E_test[i:]) > 0)
        assert np.all(np.diff(lc.E_train) < 0)


def test_where_the_m_infinity_test_error_is_smallest_depends_on_t():
    """The figure's caption (docs/results.md, rf_learning_curves): at t = 0.1 the m = ∞ minimum lies below
    p = n (ψ_p ≈ 0.3 ψ_n); at t = 1 the test error keeps falling past p = n, its minimum far beyond
    (ψ_p ≈ 9.5–23 ψ_n: outside the plotted range ψ_p ≤ 8 for every ψ_n ∈ {1, 2, 4}); an interior minimum
    of the theory on a fine grid each time."""
    text = " ".join((Path(__file__).resolve().parents[1] / "docs" / "results.md").read_text().split())
    assert "(ψ_p ≈ 0.3 ψ_n)" in text and "its minimum lies at ψ_p ≈ 9.5–23 ψ_n" in text
    pp = np.geomspace(0.05, 400, 800)  # steps of 1.1 %
    at = {}
    for psi_n in (1.0, 2.0, 4.0):
        for t in (0.1, 1.0):
            lc = learning_curves(pp, psi_n, np.inf, t, 1e-3, along_psi_p=True)
            i = int(np.argmin(lc.E_test))
            assert lc.converged.all() and 0 < i < len(pp) - 1, (t, psi_n)
            at[t, psi_n] = pp[i] / psi_n
        assert 0.25 < at[0.1, psi_n] < 0.35
        assert 9 < at[1.0, psi_n] < 23.5 and at[1.0, psi_n] * psi_n > 8
    assert 9.4 <= min(at[1.0, p] for p in (1.0, 2.0, 4.0)) <= 9.6
    assert 22.5 <= max(at[1.0, p] for p in (1.0, 2.0, 4.0)) <= 23.5


def test_role_of_m_on_either_side_of_p_equals_n():
    """Spec §6: larger m lowers E_test when p < n; when p ≫ n the m = ∞ model (which tracks the
    empirical score) tests worse than m = 1, whose second descent lies past its peak at ψ_p = ψ_n."""
    ms = np.array([1, 3, 10, 100, np.inf])
    for pp in (0.25, 0.5, 1.0):
        assert np.all(np.diff(learning_curves(pp, 2.0, ms, 0.1, 1e-3).E_test) < 0)
    for pp in (8.0, 16.0, 64.0):
        e = learning_curves(pp, 2.0, np.array([1, np.inf]), 0.1, 1e-3).E_test
        assert e[1] > e[0]


@pytest.mark.parametrize("t", [0.01, 0.1, 1.0])
def test_distance_to_the_empirical_score_is_the_train_error_for_m_infinity(t):
    """For m = ∞ the training law is what the loss averages over, so D_emp = E_train/h exactly. The two
    sides come from different traces (D_emp from the leave-one-out norm ΔΓ with T4, T5; E_train from T1
    and T5), so their agreement checks the algebra of docs/rf-dsm-theory.md §8."""
    pp, pn = np.geomspace(0.25, 8, 9)[:, None], np.array([0.5, 1.0, 2.0, 4.0])[None, :]
    lc = learning_curves(pp, pn, np.inf, t, 1e-3)
    h = activation_constants("tanh", t).h
    assert lc.converged.all()
    np.testing.assert_allclose(lc.D_emp_train, lc.E_train / h, rtol=1e-10)


@pytest.mark.parametrize("m", [1, 10, np.inf])
def test_memorization_coordinate_limits(m):
    """C lies in [0, 1), falls to 0 as ψ_n grows past ψ_p (no training point is absorbed; for m = 1 it
    first peaks near ψ_n = ψ_p, the interpolation threshold) and grows with ψ_p at fixed ψ_n;
    D_emp_true is a² + a⁴/h; for m = ∞, C = T1 (1 − 1/L1) < 1 − E_train(penalised)."""
    c = activation_constants("tanh", 0.1)
    pn = np.geomspace(0.25, 256, 12)
    lc = learning_curves(4.0, pn, m, 0.1, 1e-3)
    assert np.all((lc.C_emp_train >= 0) & (lc.C_emp_train < 1))
    assert np.all(np.diff(lc.C_emp_train[pn >= 4.0]) < 0)
    if m > 1:
        assert np.all(np.diff(lc.C_emp_train) < 0)
    assert lc.C_emp_train[-1] < 0.05 * lc.C_emp_train.max()
    np.testing.assert_allclose(lc.D_emp_true_train, c.a2 + c.a2**2 / c.h, rtol=1e-14)
    pp = np.geomspace(0.25, 8, 12)
    along = learning_curves(pp, 1.0, m, 0.1, 1e-3, along_psi_p=True)
    assert np.all(np.diff(along.C_emp_train) > 0)
    if np.isinf(m):
        assert np.all(along.C_emp_train < 1 - along.E_train_penalised)
