"""Finite-d simulation of random-features denoising score matching (``docs/rf-dsm-theory.md`` §1–§4).

Model: s_A(y) = (A/√p) ϱ(W y/√d), W ∈ R^{p×d} iid N(0,1) frozen, data x ~ N(0, I_d),
y = a_t x + √h_t z. With B = A/√p, features F = ϱ(Y Wᵀ/√d) ∈ R^{N×p} of the N = n m
noisy training points and their noises Z ∈ R^{N×d}, the ridge DSM objective

    L(B) = 1/(N d) Σ ‖√h B f + z‖² + (h λ/d) ‖B‖_F²

is minimised in closed form by Bᵀ = −(U + λ I_p)^{-1} V, U = FᵀF/N, V = FᵀZ/(√h N).

For m = ∞, U and V are their exact noise averages, computed with Mehler's formula:
given x, the pre-activations g_k = μ_k + σ_k ξ_k are Gaussian with correlations
R_kl = cos(w_k, w_l), so with the normalised Hermite coefficients
c̃_j(μ, σ) = E[ϱ(μ + σξ) He_j(ξ)]/√j!,

    E[ϱ(g_k) ϱ(g_l)] = Σ_j c̃_j(μ_k, σ_k) c̃_j(μ_l, σ_l) R_kl^j        (k ≠ l)

truncated at the order J where max|R_kl|^{J+1} max E[ϱ²] (a bound on the rest, by
Cauchy–Schwarz) is below a tolerance; the diagonal E[ϱ(g_k)²] and E[ϱ'(g_k)]
(Stein: E[ϱ(g_k) z] = E[ϱ'(g_k)] √h w_k/√d) are one-dimensional Gauss–Hermite
integrals. The same formula gives the population moments E[f fᵀ], E[f yᵀ] under
y ~ N(0, I), hence the exact test and score errors of a fitted model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch

from memgen.rf_model import RFProblem, diffusion_coefficients, gauss_hermite, resolve_activation
from memgen.seeding import torch_generator

MAX_MEHLER_ORDER = 500  # the Hermite coefficients come from 100-node quadrature: no higher orders

_TORCH_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "erf": torch.erf,
    "relu": lambda x: torch.relu(x) - 1.0 / math.sqrt(2.0 * math.pi),
}


def torch_activation(activation: str | Callable) -> Callable[[torch.Tensor], torch.Tensor]:
    """The torch function of an activation name (tanh, erf, relu = centred ReLU) or a callable."""
    return resolve_activation(activation, _TORCH_ACTIVATIONS)


@dataclass
class DSMMoments:
    """U = E_train[f fᵀ] (p×p), V = E_train[f zᵀ]/√h (p×d), zz = E_train‖z‖² over the training pairs."""

    U: torch.Tensor
    V: torch.Tensor
    zz: float
    truncation_bound: float = 0.0  # bound on |U − exact| entries for m = ∞ (0 for finite m)


def rf_features(Y: torch.Tensor, W: torch.Tensor, activation: str | Callable = "tanh") -> torch.Tensor:
    """F = ϱ(Y Wᵀ/√d) for rows y of Y (N×d) and W (p×d)."""
    return torch_activation(activation)(Y @ W.T / math.sqrt(W.shape[1]))


def sampled_dsm_moments(
    X: torch.Tensor,
    W: torch.Tensor,
    m: int,
    t: float,
    g: torch.Generator,
    activation="tanh",
    chunk: int = 8192,
    baseline: float = 0.0,
) -> DSMMoments:
    """U = FᵀF/N, V = FᵀT/(√h N), zz = ‖T‖²/N for m fixed noises per training point, with
    targets T = Z (or T = Z − c√h Y for a model s(y) = −c y + B f(y), c = ``baseline``),
    accumulated over chunks of at most ``chunk`` noisy points (memory O(p² + chunk·(p + d)))."""
    n, d = X.shape
    a2, h = (float(v) for v in diffusion_coefficients(t))
    a, sh = math.sqrt(a2), math.sqrt(h)
    U = torch.zeros(W.shape[0], W.shape[0], dtype=X.dtype, device=X.device)
    V = torch.zeros(W.shape[0], d, dtype=X.dtype, device=X.device)
    zz = 0.0
    per = max(1, chunk // m)
    for start in range(0, n, per):
        Xc = X[start : start + per].repeat_interleave(m, dim=0)
        Z = torch.randn(Xc.shape, generator=g, dtype=X.dtype, device=X.device)
        Y = a * Xc + sh * Z
        F = rf_features(Y, W, activation)
        T = Z - baseline * sh * Y if baseline else Z
        U += F.T @ F
        V += F.T @ T
        zz += float((T * T).sum())
    N = n * m
    return DSMMoments(U / N, V / (sh * N), zz / N)


def _at_nodes(activation, mean: torch.Tensor, std: torch.Tensor, nodes: int):
    """ϱ(μ + σξ_q) at the Gauss–Hermite nodes ξ_q (shape (*mean.shape, nodes)), the nodes and weights."""
    x, w = (torch.as_tensor(v, dtype=mean.dtype, device=mean.device) for v in gauss_hermite(nodes))
    return torch_activation(activation)(mean[..., None] + std[..., None] * x), x, w


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _normalised_hermite(x: torch.Tensor, order: int) -> list[torch.Tensor]:
    """h̃_j(x) = He_j(x)/√j!, j = 0..order, by h̃_{j+1} = (x h̃_j − √j h̃_{j−1})/√(j+1)."""
    he = [torch.ones_like(x), x.clone()]
    for j in range(1, order):
        he.append((x * he[j] - math.sqrt(j) * he[j - 1]) / math.sqrt(j + 1))
    return he[: order + 1]


def _relu_gaussian_terms(mean: torch.Tensor, std: torch.Tensor):
    """z = μ/σ, Φ(z), φ(z) and E[max(μ + σξ, 0)] = μΦ(z) + σφ(z)."""
    z = mean / std
    cdf, pdf = torch.special.ndtr(z), torch.exp(-0.5 * z * z) * _INV_SQRT_2PI
    return z, cdf, pdf, mean * cdf + std * pdf


def relu_hermite_coefficients(mean: torch.Tensor, std: torch.Tensor, order: int) -> torch.Tensor:
    """c̃_j(μ, σ) of the centred ReLU ϱ(x) = max(x, 0) − 1/√(2π) in closed form (z = μ/σ):
    c̃_0 = μΦ(z) + σφ(z) − 1/√(2π), c̃_1 = σΦ(z), c̃_j = σ φ(z) h̃_{j−2}(−z)/√(j(j−1)) for j ≥ 2
    (Stein: E[g(ξ)He_j(ξ)] = E[g'(ξ)He_{j−1}(ξ)], and ∫_{−z}^∞ He_k φ = He_{k−1}(−z) φ(z))."""
    z, cdf, pdf, first = _relu_gaussian_terms(mean, std)
    out = [first - _INV_SQRT_2PI, std * cdf]
    if order >= 2:
        for j, hj in enumerate(_normalised_hermite(-z, order - 2), start=2):
            out.append(std * pdf * hj / math.sqrt(j * (j - 1)))
    return torch.stack(out[: order + 1])


def hermite_coefficients(
    activation, mean: torch.Tensor, std: torch.Tensor, order: int, nodes: int = 100
) -> torch.Tensor:
    """c̃_j(μ, σ) = E[ϱ(μ + σξ) He_j(ξ)]/√j!, j = 0..order: closed forms for ``relu``
    (:func:`relu_hermite_coefficients`; quadrature cannot integrate its kink), Gauss–Hermite quadrature
    otherwise; shape (order + 1, *mean.shape)."""
    if activation == "relu":
        return relu_hermite_coefficients(mean, std, order)
    vals, x, w = _at_nodes(activation, mean, std, nodes)
    he = _normalised_hermite(x, order)
    return (vals @ (torch.stack(he, -1) * w[:, None])).movedim(-1, 0)


def gaussian_second_moment(activation, mean: torch.Tensor, std: torch.Tensor, nodes: int = 100) -> torch.Tensor:
    """E[ϱ(μ + σξ)²]: for ``relu`` in closed form, E[max(μ + σξ, 0)²] = (μ² + σ²)Φ(z) + μσφ(z) less the
    centring, 2c E[max] − c² with c = 1/√(2π); by Gauss–Hermite quadrature otherwise."""
    if activation == "relu":
        z, cdf, pdf, first = _relu_gaussian_terms(mean, std)
        c = _INV_SQRT_2PI
        return (mean * mean + std * std) * cdf + mean * std * pdf - 2 * c * first + c * c
    vals, _, w = _at_nodes(activation, mean, std, nodes)
    return vals.square() @ w


def gaussian_feature_moments(
    means: torch.Tensor,
    W: torch.Tensor,
    scale: float,
    activation="tanh",
    tol: float = 1e-10,
    nodes: int = 100,
    chunk: int = 256,
    weights=None,
):
    """Exact row averages of Gaussian feature moments, for g_i = means_i + scale W z/√d, z ~ N(0, I_d)
    (so g_ik = means_ik + σ_k ξ_k with σ_k = scale ‖w_k‖/√d and corr(ξ_k, ξ_l) = R_kl = cos(w_k, w_l)).

    Returns (M, D, bound): M = mean_i E[ϱ(g_i) ϱ(g_i)ᵀ] (p×p; Mehler series off the diagonal,
    truncated at the first J with bound = max|R_kl|^{J+1} max_k M_kk ≤ tol, which bounds the
    neglected tail by Cauchy–Schwarz), D = mean_i E[ϱ'(g_ik)] = mean_i c̃₁(μ_ik, σ_k)/σ_k (p,).
    With ``weights`` (n×q) a fourth result: mean_i E[ϱ(g_i)] weights_iᵀ = mean_i c̃₀(μ_i) weights_iᵀ (p×q).
    """
    p, d = W.shape
    norms = W.norm(dim=1)
    std = scale * norms / math.sqrt(d)
    R = (W @ W.T) / (norms[:, None] * norms[None, :])
    R.fill_diagonal_(0.0)
    rmax = float(R.abs().max()) if p > 1 else 0.0
    if rmax >= 1 - 1e-9:
        raise ValueError("two rows of W are parallel: the Mehler series does not converge")
    n = means.shape[0]
    diag = (
        sum(gaussian_second_moment(activation, means[s : s + chunk], std, nodes).sum(0) for s in range(0, n, chunk)) / n
    )
    sq_max = float(diag.max())
    order = 1
    while rmax ** (order + 1) * sq_max > tol and order < MAX_MEHLER_ORDER:
        order += 1
    if rmax ** (order + 1) * sq_max > tol:
        raise FloatingPointError(
            f"Mehler series: max |cos(w_k, w_l)| = {rmax:.4f} over {p} features in d = {d} needs more than "
            f"{MAX_MEHLER_ORDER} orders for the bound {tol:g} (reached {rmax ** (order + 1) * sq_max:.2e}); "
            "use a larger d (config rf.d / bridge.d) or fewer features"
        )
    M = torch.zeros(p, p, dtype=W.dtype, device=W.device)
    Dsum = torch.zeros(p, dtype=W.dtype, device=W.device)
    Fw = None if weights is None else torch.zeros(p, weights.shape[1], dtype=W.dtype, device=W.device)
    for start in range(0, n, chunk):
        coef = hermite_coefficients(activation, means[start : start + chunk], std, order, nodes)
        Rj = torch.ones_like(R)
        for j in range(order + 1):
            M += Rj * (coef[j].T @ coef[j])
            Rj = Rj * R
        Dsum += coef[1].sum(0)
        if Fw is not None:
            Fw += coef[0].T @ weights[start : start + chunk]
    M /= n
    M.diagonal().copy_(diag)
    out = (M, Dsum / (n * std), rmax ** (order + 1) * sq_max)
    return out if Fw is None else (*out, Fw / n)


def averaged_dsm_moments(
    X: torch.Tensor, W: torch.Tensor, t: float, activation="tanh", tol: float = 1e-10, baseline: float = 0.0
) -> DSMMoments:
    """m = ∞: U = (1/n) Σ_i E_z[f fᵀ], V₀ = (1/n) Σ_i E_z[f zᵀ]/√h = diag(E ϱ') W/√d, zz = E‖z‖² = d.
    With a baseline s(y) = −c y + B f(y) the target is z − c√h y, y = a x + √h z, so
    V = (1 − c h) V₀ − c a (1/n) Σ_i E[f] x_iᵀ and zz = (1 − c h)² d + c² h a² (1/n) Σ_i ‖x_i‖²."""
    a2, h = (float(v) for v in diffusion_coefficients(t))
    d = W.shape[1]
    means = math.sqrt(a2) * X @ W.T / math.sqrt(d)
    if not baseline:
        U, D, bound = gaussian_feature_moments(means, W, math.sqrt(h), activation, tol)
        return DSMMoments(U, D[:, None] * W / math.sqrt(d), float(d), bound)
    c, a = baseline, math.sqrt(a2)
    U, D, bound, Fx = gaussian_feature_moments(means, W, math.sqrt(h), activation, tol, weights=X)
    V = (1 - c * h) * D[:, None] * W / math.sqrt(d) - c * a * Fx
    zz = (1 - c * h) ** 2 * d + c * c * h * a2 * float((X * X).sum(1).mean())
    return DSMMoments(U, V, zz, bound)


def dsm_moments(
    X: torch.Tensor,
    W: torch.Tensor,
    m: float,
    t: float,
    g: torch.Generator,
    activation="tanh",
    baseline: float = 0.0,
    chunk: int = 8192,
) -> DSMMoments:
    """The moments of the fit: sampled for finite m, exact noise averages for m = ∞ (math.inf)."""
    if math.isinf(m):
        return averaged_dsm_moments(X, W, t, activation, baseline=baseline)
    return sampled_dsm_moments(X, W, int(m), t, g, activation, chunk, baseline)


def population_moments(W: torch.Tensor, activation="tanh", tol: float = 1e-10) -> tuple[torch.Tensor, torch.Tensor]:
    """Ω = E[f fᵀ] and Φ = E[f yᵀ] = diag(E ϱ') W/√d for y ~ N(0, I_d) (the noised data law)."""
    d = W.shape[1]
    Om, D, _ = gaussian_feature_moments(
        torch.zeros(1, W.shape[0], dtype=W.dtype, device=W.device), W, 1.0, activation, tol
    )
    return Om, D[:, None] * W / math.sqrt(d)


def fit_rf_score(mom: DSMMoments, lam: float) -> torch.Tensor:
    """Bᵀ = −(U + λ I)^{-1} V (p×d): the ridge-DSM minimiser, s(y) = B ϱ(W y/√d)."""
    A = mom.U + lam * torch.eye(mom.U.shape[0], dtype=mom.U.dtype, device=mom.U.device)
    L, info = torch.linalg.cholesky_ex(A)
    if int(info) == 0:
        return -torch.cholesky_solve(mom.V, L)
    return -torch.linalg.solve(A, mom.V)


def dsm_train_error(Bt: torch.Tensor, mom: DSMMoments, h: float, lam: float = 0.0) -> float:
    """(1/d)[h Tr(B U Bᵀ) + 2h Tr(B V) + zz] (+ h λ ‖B‖²/d when lam > 0: the penalised loss)."""
    d = Bt.shape[1]
    val = h * float((Bt * (mom.U @ Bt)).sum()) + 2 * h * float((Bt * mom.V).sum()) + mom.zz
    return (val + h * lam * float((Bt * Bt).sum())) / d


def score_error(Bt: torch.Tensor, Omega: torch.Tensor, Phi: torch.Tensor) -> float:
    """E_score = (1/d) E_y ‖B f(y) + y‖² = (1/d)[Tr(B Ω Bᵀ) + 2 Tr(B Φ) + d], y ~ N(0, I_d)."""
    d = Bt.shape[1]
    return (float((Bt * (Omega @ Bt)).sum()) + 2 * float((Bt * Phi).sum()) + d) / d


def empirical_score(y: torch.Tensor, X: torch.Tensor, t: float) -> torch.Tensor:
    """The exact score of the noised training set, the target a memorizing model reaches:
    ∇ log (1/n) Σ_i N(y; a x_i, h I) = −(y − a Σ_i w_i x_i)/h, w = softmax_i(−‖y − a x_i‖²/(2h))."""
    a2, h = (float(v) for v in diffusion_coefficients(t))
    a = math.sqrt(a2)
    w = torch.softmax(-torch.cdist(y, a * X).square() / (2 * h), dim=1)
    return -(y - a * w @ X) / h


DISTANCES = (
    "D_emp_train",
    "D_true_train",
    "D_emp_true_train",
    "C_emp_train",
    "D_emp_fresh",
    "D_true_fresh",
    "D_emp_true_fresh",
    "C_emp_fresh",
)


def distance_points(X: torch.Tensor, t: float, g: torch.Generator, samples: int = 1000) -> dict[str, torch.Tensor]:
    """The points at which learned and reference scores are compared, ``samples`` per law:
    ``train``, the noised training law (y = a x_i + √h z, i uniform: where the reverse dynamics of a
    memorizing model goes), and ``fresh``, the noised data law (y ~ N(0, I)). Drawn in that order from ``g``."""
    n, d = X.shape
    a2, h = (float(v) for v in diffusion_coefficients(t))
    i = torch.randint(0, n, (samples,), generator=g, device=X.device)
    train = math.sqrt(a2) * X[i] + math.sqrt(h) * torch.randn(samples, d, generator=g, dtype=X.dtype, device=X.device)
    fresh = torch.randn(samples, d, generator=g, dtype=X.dtype, device=X.device)
    return {"train": train, "fresh": fresh}


def distances_at(s: torch.Tensor, s_emp: torch.Tensor, y: torch.Tensor, law: str) -> dict:
    """D_emp = (1/d) E‖s − s_emp‖², D_true = (1/d) E‖s + y‖², D_emp_true = (1/d) E‖s_emp + y‖² and
    C = E⟨s + y, s_emp + y⟩ / E‖s_emp + y‖² over the rows of ``y`` (learned score ``s``, empirical score
    ``s_emp`` at those rows), each with its standard error (C's by the delta method); keys suffixed ``_<law>``."""
    samples, d = y.shape
    per = {
        f"D_emp_{law}": ((s - s_emp) ** 2).sum(1) / d,
        f"D_true_{law}": ((s + y) ** 2).sum(1) / d,
        f"D_emp_true_{law}": ((s_emp + y) ** 2).sum(1) / d,
    }
    out = {}
    for key, v in per.items():
        out[key] = float(v.mean())
        out[f"{key}_se"] = float(v.std() / math.sqrt(samples))
    num, den = ((s + y) * (s_emp + y)).sum(1) / d, per[f"D_emp_true_{law}"]
    c = float(num.mean() / den.mean())
    out[f"C_emp_{law}"] = c
    out[f"C_emp_{law}_se"] = float((num - c * den).std() / (math.sqrt(samples) * den.mean()))
    return out


def score_distances(score, X: torch.Tensor, t: float, g: torch.Generator, samples: int = 1000) -> dict:
    """How close a learned score s = ``score(y)`` is to the empirical score s_emp (:func:`empirical_score`)
    and to the true score −y, each as (1/d) E‖s − target‖², under the noised training law and under
    fresh data (:func:`distance_points`); also the two targets' own distance (1/d) E‖s_emp + y‖², and
    this project's memorization coordinate

        C = E⟨s + y, s_emp + y⟩ / E‖s_emp + y‖²,

    the projection of s + y on the segment from the true score (C = 0) to the empirical score (C = 1) in
    the L² geometry of the law: a projection, not a position (the error orthogonal to the segment is not
    in C; D_emp and D_true carry it). Monte Carlo over ``samples`` points per law (the same points for
    every quantity); returns the means and their standard errors (keys <name> and <name>_se, names in
    :data:`DISTANCES`, :func:`distances_at`)."""
    out = {}
    for law, y in distance_points(X, t, g, samples).items():
        out.update(distances_at(score(y), empirical_score(y, X, t), y, law))
    return out


def draw_rf_problem(problem: RFProblem, seed: int, base_seed: int = 0, device="cpu", chunk: int = 8192):
    """(W, X, moments) of seed ``seed`` of a problem: W (p×d) and the n training points from one stream of
    (base_seed, d, p, n, seed), then the noises of the moments (finite m) from the same stream; so points
    that differ only in m or t share W and X (common random numbers)."""
    g = torch_generator(base_seed, "rf_dsm", problem.d, problem.p, problem.n, seed, device=device)
    W = torch.randn(problem.p, problem.d, generator=g, dtype=torch.float64, device=device)
    X = torch.randn(problem.n, problem.d, generator=g, dtype=torch.float64, device=device)
    return W, X, dsm_moments(X, W, problem.m, problem.t, g, problem.activation, chunk=chunk)


def distance_generator(problem: RFProblem, seed: int, base_seed: int = 0, device="cpu") -> torch.Generator:
    """The stream of the Monte Carlo points of :func:`score_distances` for seed ``seed`` of a problem."""
    return torch_generator(base_seed, "rf_dsm/distances", problem.d, problem.p, problem.n, seed, device=device)


def simulate_rf_dsm(
    problem: RFProblem,
    seeds,
    base_seed: int = 0,
    device: str | torch.device = "cpu",
    chunk: int = 8192,
    distance_samples: int = 1000,
) -> list[dict]:
    """Fit the RF score for each seed (fresh W, data and noises) and return one record per seed:
    E_train, E_train_penalised, E_test = a² + h E_score (exact), E_score, truncation bound, the
    Monte Carlo distances to the empirical and to the true score (:func:`score_distances`, from their
    own random stream), wall time."""
    a2, h = (float(v) for v in diffusion_coefficients(problem.t))
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        W, X, mom = draw_rf_problem(problem, seed, base_seed, device, chunk)
        Bt = fit_rf_score(mom, problem.lam)
        Omega, Phi = population_moments(W, problem.activation)
        e_score = score_error(Bt, Omega, Phi)
        fitted = lambda y: rf_features(y, W, problem.activation) @ Bt  # noqa: E731
        distances = score_distances(
            fitted, X, problem.t, distance_generator(problem, seed, base_seed, device), distance_samples
        )
        rows.append(
            {
                "seed": int(seed),
                "E_train": dsm_train_error(Bt, mom, h),
                "E_train_penalised": dsm_train_error(Bt, mom, h, problem.lam),
                "E_test": a2 + h * e_score,
                "E_score": e_score,
                "noise_average_bound": mom.truncation_bound,
                **distances,
                "wall_time_s": time.perf_counter() - start,
            }
        )
    return rows
