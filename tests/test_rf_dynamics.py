"""The closed-form training dynamics of the RF-DSM read-out against explicit gradient steps on the
objective (autograd), and its errors and scores against the direct formulas of memgen.rf."""

import math

import torch

from memgen.rf import (
    dsm_train_error,
    fit_rf_score,
    population_moments,
    rf_features,
    sampled_dsm_moments,
    score_error,
)
from memgen.rf_dynamics import readout, score_errors, scores_at, spectral_filter, spectral_fit, train_errors
from memgen.rf_model import diffusion_coefficients


def _problem(d=8, p=24, n=10, m=3, t=0.1, lam=1e-3, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(p, d, generator=g, dtype=torch.float64)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    mom = sampled_dsm_moments(X, W, m, t, g)
    return W, X, mom, lam, float(diffusion_coefficients(t)[1])


def test_closed_form_equals_explicit_gradient_descent():
    """k steps of Bᵀ ← Bᵀ − η ∇L · d/(2h) on the penalised DSM loss (gradient by autograd) from Bᵀ = 0
    agree with −Q diag((1 − (1 − ημ)^k)/μ) Qᵀ V to 1e-8 at every step, for p > n m and p < n m."""
    for p, n in ((24, 5), (6, 20)):
        W, X, mom, lam, h = _problem(p=p, n=n)
        fit = spectral_fit(mom, lam)
        eta = 0.5 / float(fit.mu.max())
        steps = [1, 2, 5, 17, 60, 200]
        phi = spectral_filter(fit, steps, step=eta)
        Bt = torch.zeros(p, X.shape[1], dtype=torch.float64, requires_grad=True)
        d = X.shape[1]
        done = 0
        for k, row in zip(steps, phi):
            while done < k:
                loss = _loss(Bt, mom, h, lam)
                (grad,) = torch.autograd.grad(loss, Bt)
                with torch.no_grad():
                    Bt -= eta * grad * d / (2 * h)
                done += 1
            assert torch.allclose(
                Bt.detach(), readout(fit, row), rtol=0, atol=1e-8 * float(readout(fit, row).abs().max())
            )


def _loss(Bt, mom, h, lam):
    """L(B) = (1/d)[h Tr(B U Bᵀ) + 2h Tr(B V) + zz] + (hλ/d)‖B‖², written out for autograd."""
    d = Bt.shape[1]
    return (h * (Bt * (mom.U @ Bt)).sum() + 2 * h * (Bt * mom.V).sum() + mom.zz + h * lam * (Bt * Bt).sum()) / d


def test_flow_reaches_the_ridge_fit_and_is_the_small_step_limit_of_descent():
    W, X, mom, lam, h = _problem()
    fit = spectral_fit(mom, lam)
    end = readout(fit, spectral_filter(fit, [1e9])[0])
    assert torch.allclose(end, fit_rf_score(mom, lam), atol=1e-9)
    tau, k = 3.0, 30000
    flow = readout(fit, spectral_filter(fit, [tau])[0])
    gd = readout(fit, spectral_filter(fit, [k], step=tau / k)[0])
    assert torch.allclose(flow, gd, atol=1e-3 * float(flow.abs().max()))
    assert torch.allclose(spectral_filter(fit, [0.0]), torch.zeros(1, len(fit.mu), dtype=torch.float64))


def test_errors_along_training_equal_the_direct_formulas():
    W, X, mom, lam, h = _problem(p=30, n=6)
    fit = spectral_fit(mom, lam)
    Omega, Phi = population_moments(W)
    times = [0.01, 0.3, 4.0, 100.0, 1e5]
    phi = spectral_filter(fit, times)
    E_train, E_score = train_errors(fit, mom, phi, h), score_errors(fit, Omega, Phi, phi)
    y = torch.randn(7, X.shape[1], generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    F = rf_features(y, W)
    for row, e_train, e_score in zip(phi, E_train, E_score):
        Bt = readout(fit, row)
        assert math.isclose(float(e_train), dsm_train_error(Bt, mom, h), rel_tol=1e-10, abs_tol=1e-12)
        assert math.isclose(float(e_score), score_error(Bt, Omega, Phi), rel_tol=1e-10)
        assert torch.allclose(scores_at(fit, F, row), F @ Bt, atol=1e-12)
    assert E_train[0] > E_train[-1] and torch.all(
        E_train[1:] <= E_train[:-1] + 1e-12
    )  # the flow descends L (and ‖B‖ grows)


def test_the_end_of_training_is_the_ridge_fit_of_the_other_rf_figures():
    """The driver's last τ (1e7 ≫ 1/λ) reproduces simulate_rf_dsm's fit of the same draws: its errors and
    its distances to the empirical and true scores (the same Monte Carlo points)."""
    from memgen.experiments.rf_dynamics import dynamics_points, simulate
    from memgen.rf import simulate_rf_dsm

    cfg = {
        "shared": {"activation": "tanh", "lambda": 1e-3, "seeds": 1},
        "experiment": {
            "d": 10,
            "t": 0.1,
            "psi_p": 4.0,
            "psi_n": {"min": 1.0, "max": 1.0, "num": 1},
            "m": [1, "inf"],
            "times": {"min": 0.01, "max": 1e7, "num": 12},
            "distance_samples": 200,
        },
    }
    df = simulate(cfg, 1.0, seed=5)
    for problem in dynamics_points(cfg):
        last = df[df.m == ("inf" if math.isinf(problem.m) else "1")].sort_values("tau").iloc[-1]
        ridge = simulate_rf_dsm(problem, [0], base_seed=5, distance_samples=200)[0]
        for key in ("E_train", "E_test", "C_emp_train", "D_emp_train", "D_true_fresh"):
            assert math.isclose(last[key], ridge[key], rel_tol=1e-6), (problem.m, key)
        first = df[df.m == last.m].sort_values("tau").iloc[0]
        assert first.E_test > 0.99 * (math.exp(-0.2) + (1 - math.exp(-0.2)))  # B ≈ 0: E_test ≈ a² + h = 1
