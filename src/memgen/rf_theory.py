"""Exact asymptotic learning curves of random-features denoising score matching.

Implements ``docs/rf-dsm-theory.md`` §5–§7 (George, Veiga, Macris,
arXiv 2502.00336): activation constants by Gauss–Hermite quadrature, the master
equations for the normalised resolvent traces (q, r) for any number m of noise
samples per data point (m = ∞ included), a Newton solver with ridge continuation
(and continuation along ψ_p for sweeps), derivatives by implicit differentiation
of the 2×2 system, and the errors E_train, E_test, E_score.

All functions are vectorised: ψ_p, ψ_n, m, t and λ broadcast against each other.
m = ∞ is passed as ``np.inf``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from memgen.rf_model import activation_function, diffusion_coefficients, gauss_hermite, segment_geometry

STEPS_PER_DECADE = 40  # ridge continuation (docs/rf-dsm-theory.md §7)


@dataclass(frozen=True)
class ActivationConstants:
    """μ₁ = E[gϱ(g)], μ⋆² = E[ϱ²] − μ₁², v_t² = E[ϱ(a u+√h v)ϱ(a u+√h w)] − a²μ₁²,
    s_t² = μ⋆² − v_t², κ = v_t²/μ⋆² (docs/rf-dsm-theory.md §5), with a² = e^{−2t}, h = 1 − e^{−2t}."""

    mu1: float
    mu_star2: float
    v2: float
    s2: float
    kappa: float
    a2: float
    h: float


def relu_constants(t: float) -> ActivationConstants:
    """Closed forms for the centred ReLU ϱ(g) = max(g, 0) − 1/√(2π), whose kink Gauss–Hermite quadrature
    cannot integrate: μ₁ = E[g max(g, 0)] = 1/2, E[ϱ²] = 1/2 − 1/(2π), so μ⋆² = 1/4 − 1/(2π); for two
    unit Gaussians with correlation ρ = a² (the arc-cosine kernel, θ = arccos ρ)
    E[max(x, 0) max(y, 0)] = (sin θ + (π − θ) cos θ)/(2π), so v_t² = (sin θ + (π − θ) cos θ − 1)/(2π) − a²/4."""
    a2, h = (float(v) for v in diffusion_coefficients(t))
    mu1, mu_star2 = 0.5, 0.25 - 1.0 / (2.0 * np.pi)
    theta = float(np.arccos(np.clip(a2, -1.0, 1.0)))
    v2 = (np.sin(theta) + (np.pi - theta) * np.cos(theta) - 1.0) / (2.0 * np.pi) - a2 * mu1**2
    return ActivationConstants(mu1, mu_star2, float(v2), mu_star2 - float(v2), float(v2) / mu_star2, a2, h)


@lru_cache(maxsize=256)
def activation_constants(activation: str | Callable = "tanh", t: float = 0.1, nodes: int = 160) -> ActivationConstants:
    """The constants of docs/rf-dsm-theory.md §5: closed forms for ``relu`` (:func:`relu_constants`),
    Gauss–Hermite quadrature (nested for v_t²) for smooth activations.

    Raises ValueError when the activation is not centred (|E ϱ(g)| > 1e-8)."""
    if activation == "relu":
        return relu_constants(t)
    f = activation_function(activation)
    x, w = gauss_hermite(nodes)
    mean = float(w @ f(x))
    if abs(mean) > 1e-8:
        raise ValueError(f"activation {activation!r} is not centred: E rho(g) = {mean:.3g} (subtract it)")
    a2, h = (float(v) for v in diffusion_coefficients(t))
    mu1 = float(w @ (x * f(x)))
    mu_star2 = float(w @ f(x) ** 2) - mu1**2
    # E_u[(E_v ϱ(a u + √h v))²]
    inner = f(np.sqrt(a2) * x[:, None] + np.sqrt(h) * x[None, :]) @ w
    v2 = float(w @ inner**2) - a2 * mu1**2
    s2 = mu_star2 - v2
    return ActivationConstants(mu1, mu_star2, v2, s2, v2 / mu_star2, a2, h)


@dataclass(frozen=True)
class MasterCoefficients:
    """The master equations of docs/rf-dsm-theory.md §6 written uniformly for finite and infinite m:

        L1 = 1 + α1 r + β1 q,   L2 = 1 + α2 r + β2 q
        F_A = 1/r + ψ_p ζ − 1/q − A1/L1 − A2/L2                      = 0
        F_B = ψ_p z − (1 − ψ_p)/q + r/q² − B1/L1 − B2/L2             = 0
        τ = 𝒯/m = w1/L1 + w2/L2,  T1 = 1 − τ + k r τ²,  T2 = k2 r τ

    with k = μ₁² ψ_p h and k2 = μ₁ √h ψ_p. For m = ∞: α2 = β2 = 0 (L2 ≡ 1), w1 = 0, w2 = 1.
    ᾱ = (ψ_p/ψ_n) μ₁² a² and β̄ = (ψ_p/ψ_n) v_t² are the part of α1, β1 that a training point's mean
    feature E_z ϱ(W(a x_i + √h z)/√d) contributes, shared by its m noise draws (docs/rf-dsm-theory.md §8);
    inv_m = 1/m (0 for m = ∞).
    """

    psi_p: np.ndarray
    alpha1: np.ndarray
    beta1: np.ndarray
    alpha2: np.ndarray
    beta2: np.ndarray
    A1: np.ndarray
    A2: np.ndarray
    B1: np.ndarray
    B2: np.ndarray
    w1: np.ndarray
    w2: np.ndarray
    k: np.ndarray
    k2: np.ndarray
    alpha_bar: np.ndarray
    beta_bar: np.ndarray
    inv_m: np.ndarray


def master_coefficients(c: ActivationConstants, psi_p, psi_n, m) -> MasterCoefficients:
    """Coefficients of the master equations (docs/rf-dsm-theory.md §6) for arrays ψ_p, ψ_n, m (m may be inf)."""
    psi_p, psi_n, m = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (psi_p, psi_n, m)))
    if np.any(psi_p <= 0) or np.any(psi_n <= 0):
        raise ValueError("psi_p and psi_n must be positive")
    if np.any((m < 1) | ((m != np.round(m)) & np.isfinite(m))):
        raise ValueError(f"m must be an integer >= 1 or inf, got {np.unique(m)}")
    a2, h, mu12, ms2, kap = c.a2, c.h, c.mu1**2, c.mu_star2, c.kappa
    inf = np.isinf(m)
    mf = np.where(inf, 1.0, m)  # finite stand-in, masked below
    cc = psi_p / (psi_n * mf)
    ratio = psi_p / psi_n

    def pick(finite, infinite):
        return np.where(inf, infinite, finite)

    return MasterCoefficients(
        psi_p=psi_p,
        alpha1=pick(cc * mu12 * (a2 * mf + h), ratio * mu12 * a2),
        beta1=pick(cc * ms2 * (1 + (mf - 1) * kap), ratio * c.v2),
        alpha2=pick(cc * mu12 * h, 0.0),
        beta2=pick(cc * ms2 * (1 - kap), 0.0),
        A1=pick(mu12 * psi_p * (a2 + h / mf), mu12 * psi_p * a2),
        A2=pick((mf - 1) * mu12 * psi_p * h / mf, mu12 * psi_p * h),
        B1=pick(psi_p * ms2 * (1 + (mf - 1) * kap) / mf, psi_p * c.v2),
        B2=pick((mf - 1) * psi_p * ms2 * (1 - kap) / mf, psi_p * c.s2),
        w1=pick(1 / mf, 0.0),
        w2=pick((mf - 1) / mf, 1.0),
        k=mu12 * psi_p * h,
        k2=c.mu1 * np.sqrt(h) * psi_p,
        alpha_bar=ratio * mu12 * a2,
        beta_bar=ratio * c.v2,
        inv_m=pick(1 / mf, 0.0),
    )


def denominators(q, r, co: MasterCoefficients):
    """L1 = 1 + α1 r + β1 q and L2 = 1 + α2 r + β2 q."""
    return 1 + co.alpha1 * r + co.beta1 * q, 1 + co.alpha2 * r + co.beta2 * q


def _master_terms(q, r, z, zeta, co: MasterCoefficients):
    """The signed terms of F_A and F_B (their sums), in the order they are added."""
    L1, L2 = denominators(q, r, co)
    FA = [1 / r, co.psi_p * zeta, -1 / q, -co.A1 / L1, -co.A2 / L2]
    FB = [co.psi_p * z, -(1 - co.psi_p) / q, r / q**2, -co.B1 / L1, -co.B2 / L2]
    return FA, FB, L1, L2


def master_residual(q, r, z, zeta, co: MasterCoefficients):
    """(F_A, F_B) and the Jacobian ∂(F_A, F_B)/∂(q, r) as arrays [..., 2] and [..., 2, 2]."""
    terms_a, terms_b, L1, L2 = _master_terms(q, r, z, zeta, co)
    FA, FB = sum(terms_a), sum(terms_b)
    i1, i2 = 1 / L1**2, 1 / L2**2
    dFA_dq = 1 / q**2 + co.A1 * co.beta1 * i1 + co.A2 * co.beta2 * i2
    dFA_dr = -1 / r**2 + co.A1 * co.alpha1 * i1 + co.A2 * co.alpha2 * i2
    dFB_dq = (1 - co.psi_p) / q**2 - 2 * r / q**3 + co.B1 * co.beta1 * i1 + co.B2 * co.beta2 * i2
    dFB_dr = 1 / q**2 + co.B1 * co.alpha1 * i1 + co.B2 * co.alpha2 * i2
    F = np.stack([FA, FB], axis=-1)
    J = np.stack([np.stack([dFA_dq, dFA_dr], -1), np.stack([dFB_dq, dFB_dr], -1)], -2)
    return F, J


def residual_scale(q, r, z, zeta, co: MasterCoefficients):
    """Sum of the absolute values of the terms of (F_A, F_B), [..., 2]: the scale against which a
    residual is at the level of float64 rounding."""
    terms_a, terms_b, _, _ = _master_terms(q, r, z, zeta, co)
    return np.stack([sum(np.abs(t) for t in terms_a), sum(np.abs(t) for t in terms_b)], axis=-1)


def newton_traces(u, v, z, co: MasterCoefficients, zeta=0.0, max_iter=60, tol=1e-13, max_step=1.0, residual_tol=1e-13):
    """Damped Newton on (F_A, F_B)(e^u, e^v; z, ζ) = 0 in log variables u = log q, v = log r,
    started at (u, v); steps capped at ``max_step`` in each log variable. A point has converged when
    its Newton step is below ``tol`` or its residual is below ``residual_tol`` relative to the size of
    the equations' terms (near λ → 0 the step can stall at rounding while the residual is ~1e-15).
    Returns u, v, converged."""
    done = np.zeros(u.shape, dtype=bool)
    for _ in range(max_iter):
        q, r = np.exp(u), np.exp(v)
        F, J = master_residual(q, r, z, zeta, co)
        with np.errstate(all="ignore"):
            solved = np.max(np.abs(F) / residual_scale(q, r, z, zeta, co), axis=-1) < residual_tol
        done |= solved
        Jlog = J * np.stack([q, r], -1)[..., None, :]  # ∂F/∂(u, v) = ∂F/∂(q, r) · diag(q, r)
        with np.errstate(all="ignore"):
            step = -np.linalg.solve(Jlog, F[..., None])[..., 0]
        step = np.where(np.isfinite(step), step, 0.0)
        big = np.max(np.abs(step), axis=-1, keepdims=True)
        step *= np.minimum(1.0, max_step / np.maximum(big, 1e-300))
        step[done] = 0.0
        u, v = u + step[..., 0], v + step[..., 1]
        done |= big[..., 0] < tol
        if done.all():
            break
    return u, v, done


def _by_time(activation, psi_p, psi_n, m, t, lam):
    """Broadcast the arguments and yield (selection, constants, coefficients, λ) per distinct t."""
    psi_p, psi_n, m, t, lam = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (psi_p, psi_n, m, t, lam)))
    if np.any(lam <= 0):
        raise ValueError("lambda must be positive")
    for tv in np.unique(t):
        sel = t == tv
        c = activation_constants(activation, tv)
        yield sel, c, master_coefficients(c, psi_p[sel], psi_n[sel], m[sel]), lam[sel]


def solve_master_equations(
    psi_p, psi_n, m, t, lam, activation: str | Callable = "tanh", steps_per_decade: int = STEPS_PER_DECADE
):
    """(q, r) at z = −λ, ζ = 0 on the physical branch, by ridge continuation (docs/rf-dsm-theory.md §7).

    Every point starts at λ₀ = max(10, 10 ψ_p, λ) where q ≈ r ≈ 1/λ₀ and follows
    λ_k = λ₀ (λ/λ₀)^{k/K} geometrically (``steps_per_decade`` per decade), each
    Newton solve seeded by the previous one. Returns q, r, converged (arrays).
    """
    shape = np.broadcast_shapes(*(np.shape(v) for v in (psi_p, psi_n, m, t, lam)))
    q, r, ok = np.empty(shape), np.empty(shape), np.empty(shape, dtype=bool)
    for sel, _, co, lam_sel in _by_time(activation, psi_p, psi_n, m, t, lam):
        q[sel], r[sel], ok[sel] = _ridge_continuation(co, lam_sel, steps_per_decade)
    return q, r, ok


def _ridge_continuation(co, lam, steps_per_decade):
    lam0 = np.maximum(np.maximum(10.0, 10.0 * co.psi_p), lam)
    decades = np.log10(lam0 / lam)
    K = max(1, int(np.ceil(steps_per_decade * decades.max())))
    u = v = -np.log(lam0)
    ok = np.ones(lam.shape, dtype=bool)
    for k in range(K + 1):
        z = -lam0 * (lam / lam0) ** (k / K)
        u, v, conv = newton_traces(u, v, z, co)
        ok &= conv
    return np.exp(u), np.exp(v), ok


def solve_along_psi_p(
    psi_p, psi_n, m, t, lam, activation: str | Callable = "tanh", steps_per_decade: int = STEPS_PER_DECADE
):
    """(q, r, converged) along a sorted ψ_p grid by continuation in ψ_p (docs/rf-dsm-theory.md §7).

    The first point is found by ridge continuation; each next point's Newton solve
    starts from the previous solution, and falls back to ridge continuation when
    it does not converge or its q, r jump by more than a factor e (off the branch).
    """
    psi_p = np.asarray(psi_p, dtype=float)
    if psi_p.ndim != 1 or np.any(np.diff(psi_p) <= 0):
        raise ValueError("psi_p must be a strictly increasing 1-d grid")
    c = activation_constants(activation, t)
    q, r, ok = (np.empty(psi_p.shape) for _ in range(3))
    z = np.array(-float(lam))
    u = v = None
    for i, pp in enumerate(psi_p):
        co = master_coefficients(c, pp, psi_n, m)
        if u is not None:
            un, vn, conv = newton_traces(u, v, z, co)
            if conv and abs(un - u) < 1 and abs(vn - v) < 1:
                u, v, ok[i] = un, vn, True
                q[i], r[i] = np.exp(u), np.exp(v)
                continue
        qi, ri, oki = _ridge_continuation(co, np.array(float(lam)), steps_per_decade)
        u, v, ok[i] = np.log(qi), np.log(ri), oki
        q[i], r[i] = qi, ri
    return q, r, ok.astype(bool)


CURVES = (
    "E_train",
    "E_train_penalised",
    "E_test",
    "E_score",
    "D_emp_train",
    "D_true_train",
    "D_emp_true_train",
    "C_emp_train",
    "D_ratio_train",
    "D_perp_train",
)  # the theory's curves, named as the simulation's columns (memgen.rf)


@dataclass(frozen=True)
class LearningCurve:
    """Errors of docs/rf-dsm-theory.md §6 and the distances of §8 under the noised training law
    (arrays over the broadcast inputs)."""

    E_train: np.ndarray
    E_train_penalised: np.ndarray
    E_test: np.ndarray
    E_score: np.ndarray
    D_emp_train: np.ndarray
    D_true_train: np.ndarray
    D_emp_true_train: np.ndarray
    C_emp_train: np.ndarray
    D_ratio_train: np.ndarray
    D_perp_train: np.ndarray
    q: np.ndarray
    r: np.ndarray
    converged: np.ndarray


def t1_t2_and_gradient(q, r, co: MasterCoefficients):
    """T1 = 1 − τ + k r τ², T2 = k2 r τ (τ = w1/L1 + w2/L2) and ∂T1/∂(q, r) as [..., 2]."""
    L1, L2 = denominators(q, r, co)
    tau = co.w1 / L1 + co.w2 / L2
    dtau_dq = -co.w1 * co.beta1 / L1**2 - co.w2 * co.beta2 / L2**2
    dtau_dr = -co.w1 * co.alpha1 / L1**2 - co.w2 * co.alpha2 / L2**2
    T1 = 1 - tau + co.k * r * tau**2
    T2 = co.k2 * r * tau
    grad = np.stack(
        [-dtau_dq + 2 * co.k * r * tau * dtau_dq, -dtau_dr + co.k * tau**2 + 2 * co.k * r * tau * dtau_dr], -1
    )
    return T1, T2, grad


def errors_from_traces(q, r, co: MasterCoefficients, c: ActivationConstants, lam) -> dict[str, np.ndarray]:
    """E_train, E_train (penalised), E_test, E_score from (q, r) at z = −λ, ζ = 0 (docs/rf-dsm-theory.md §6),
    and the distances of :func:`train_law_distances` (:data:`CURVES`):

        T1 = 1 − τ + k r τ², T2 = k2 r τ, T4 = dT1/dζ, T5 = dT1/dz,
        E_train(pen) = 1 − T1, E_train = 1 − T1 − λT5,
        E_test = 1 − 2μ₁√h T2 + μ₁² T4 + μ⋆² T5, E_score = (E_test − a²)/h,

    with dq/dθ, dr/dθ from the implicit-function theorem: J·(dq, dr)/dθ = −∂F/∂θ,
    ∂F/∂ζ = (ψ_p, 0), ∂F/∂z = (0, ψ_p).
    """
    T1, T2, grad = t1_t2_and_gradient(q, r, co)
    _, J = master_residual(q, r, -lam, 0.0, co)
    zero = np.zeros_like(co.psi_p)
    rhs = -np.stack([np.stack([co.psi_p, zero], -1), np.stack([zero, co.psi_p], -1)], -1)  # columns: ζ, z
    dqr = np.linalg.solve(J, rhs)  # [..., (q, r), (ζ, z)]
    T4 = np.einsum("...i,...i->...", grad, dqr[..., 0])
    T5 = np.einsum("...i,...i->...", grad, dqr[..., 1])
    E_test = 1 - 2 * c.mu1 * np.sqrt(c.h) * T2 + c.mu1**2 * T4 + c.mu_star2 * T5
    errors = {
        "E_train": 1 - T1 - lam * T5,
        "E_train_penalised": 1 - T1,
        "E_test": E_test,
        "E_score": (E_test - c.a2) / c.h,
    }
    return {**errors, **train_law_distances(q, r, T2, T4, T5, errors, co, c)}


def train_law_distances(q, r, T2, T4, T5, errors: dict, co: MasterCoefficients, c: ActivationConstants) -> dict:
    """The learned score against the empirical and the true score under the noised training law
    y = a x_i + √h z (i uniform, z fresh), as d → ∞ (docs/rf-dsm-theory.md §8). With
    ρ = (ᾱ r + β̄ q)/L1, the share of a training point's mean feature that the fit absorbs,

        C          = μ₁ √h T2 ρ,
        ΔΓ         = ((1 − ρ)² − 1) (μ₁² a² T4 + v_t² T5)/h + (ρ²/m) ((μ₁² h T4 + s_t² T5)/h + 1/h − 2μ₁ T2/√h),
        D_emp      = E_test/h + ΔΓ,
        D_true     = E_score + ΔΓ + 2 μ₁ a² T2 ρ/√h,
        D_emp_true = a² + a⁴/h,

    assuming the empirical score concentrates on the denoising target, s_emp(a x_i + √h z) = −z/√h
    (a softmax over n points dominated by x_i: roughly 2 log n ≪ a² d), and Gaussian equivalence of the
    features; a derivation, not a proof, confirmed by the simulations of ``rf_convergence``."""
    a2, h, mu1 = c.a2, c.h, c.mu1
    L1, _ = denominators(q, r, co)
    rho = (co.alpha_bar * r + co.beta_bar * q) / L1
    mean_feature = (mu1**2 * a2 * T4 + c.v2 * T5) / h  # (1/d) E_x ‖B E_z φ(a x + √h z)‖² at fresh x
    noise_feature = (mu1**2 * h * T4 + c.s2 * T5) / h  # (1/d) E ‖B (φ − E_z φ)‖²
    delta_gamma = ((1 - rho) ** 2 - 1) * mean_feature + co.inv_m * rho**2 * (
        noise_feature + 1 / h - 2 * mu1 * T2 / np.sqrt(h)
    )
    out = {
        "D_emp_train": errors["E_test"] / h + delta_gamma,
        "D_true_train": errors["E_score"] + delta_gamma + 2 * mu1 * a2 * T2 * rho / np.sqrt(h),
        "D_emp_true_train": np.full_like(rho, a2 + a2**2 / h),
        "C_emp_train": mu1 * np.sqrt(h) * T2 * rho,
    }
    return {
        **out,
        **segment_geometry(*(out[k] for k in ("D_emp_train", "D_true_train", "D_emp_true_train", "C_emp_train"))),
    }


def learning_curves(
    psi_p, psi_n, m, t, lam, activation: str | Callable = "tanh", along_psi_p: bool = False
) -> LearningCurve:
    """E_train, E_test, E_score of the RF-DSM model on N(0, I_d) data as d → ∞ (docs/rf-dsm-theory.md §6).

    ``along_psi_p=True`` solves a 1-d increasing ψ_p grid (scalar other arguments)
    by continuation in ψ_p; otherwise every point is solved by ridge continuation.
    """
    shape = np.broadcast_shapes(*(np.shape(v) for v in (psi_p, psi_n, m, t, lam)))
    if along_psi_p:
        q, r, ok = solve_along_psi_p(psi_p, psi_n, m, t, lam, activation)
    else:
        q, r, ok = np.empty(shape), np.empty(shape), np.empty(shape, dtype=bool)
    out = {key: np.empty(shape) for key in CURVES}
    for sel, c, co, lam_sel in _by_time(activation, psi_p, psi_n, m, t, lam):
        if not along_psi_p:
            q[sel], r[sel], ok[sel] = _ridge_continuation(co, lam_sel, STEPS_PER_DECADE)
        for key, val in errors_from_traces(q[sel], r[sel], co, c, lam_sel).items():
            out[key][sel] = val
    return LearningCurve(q=q, r=r, converged=ok, **out)


def train_error_wide_limit(width_ratio, t, activation: str | Callable = "tanh"):
    """m = ∞, λ → 0, ψ_n → ∞ at fixed ψ_p/ψ_n = ϱ_w (docs/rf-dsm-theory.md §10):

    E_train → a²ρ/(h + a²ρ),  ρ ∈ (0, 1] the root of v_t² ρ² + (s_t² + v_t²(ϱ_w − 1)) ρ − s_t² = 0.
    """
    c = activation_constants(activation, t)
    b = c.s2 + c.v2 * (np.asarray(width_ratio, dtype=float) - 1)
    rho = (-b + np.sqrt(b**2 + 4 * c.v2 * c.s2)) / (2 * c.v2)
    return c.a2 * rho / (c.h + c.a2 * rho)
