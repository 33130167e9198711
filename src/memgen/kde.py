"""Gaussian-kernel density estimates and their L^2 distances, in log space.

A KDE of a point set {x_k} (n points in R^d) with width eps is
    rho(x) = (1/n) sum_k N(x | x_k, eps^2 I_d).
Every L^2 quantity between KDEs and Gaussians is a sum of Gaussian product integrals,
    int N(x|a, A) N(x|b, B) dx = N(a | b, A + B),
so it is computed exactly; every sum is taken in log space (log-sum-exp), and
differences of terms are combined with signs in log space (``signed_logsumexp``),
so that nothing underflows even in d = 100 (``docs/transition-metric.md`` §3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

LOG_2 = math.log(2.0)
LOG_2PI = math.log(2.0 * math.pi)
DEFAULT_BLOCK = 1024


@dataclass(frozen=True)
class SignedLog:
    """A real number x stored as sign(x) in {-1, 0, 1} and log|x|."""

    sign: int
    log_abs: float

    @property
    def value(self) -> float:
        """x itself (may underflow to 0 or overflow to inf; the log form never does)."""
        return self.sign * math.exp(self.log_abs) if self.sign else 0.0


def signed_logsumexp(log_terms, signs):
    """log|sum_i s_i e^{l_i}| and its sign, along axis 0.

    With M = max_i l_i: sum_i s_i e^{l_i} = e^M sum_i s_i e^{l_i - M}. Returns
    (sign, log_abs) arrays (numpy scalars for 1-D input); sign 0 marks an exact zero,
    whose log_abs is -inf.
    """
    logs = np.asarray(log_terms, dtype=np.float64)
    s = np.asarray(signs, dtype=np.float64).reshape((-1,) + (1,) * (logs.ndim - 1))
    top = logs.max(axis=0)
    total = (s * np.exp(logs - top)).sum(axis=0)
    sign = np.sign(total)
    with np.errstate(divide="ignore"):
        log_abs = top + np.log(np.abs(total))
    return sign.astype(np.int8), log_abs


def signed_log_sum(log_terms, signs) -> SignedLog:
    """Scalar form of :func:`signed_logsumexp`."""
    sign, log_abs = signed_logsumexp(log_terms, signs)
    return SignedLog(int(sign), float(log_abs))


def signed_log_less(sign_a, log_a, sign_b, log_b) -> np.ndarray:
    """Elementwise a < b for reals stored as (sign, log|·|) (:class:`SignedLog`), without
    exponentiating: different signs compare by sign, equal signs by log|·| (reversed when negative)."""
    sign_a, log_a, sign_b, log_b = (np.asarray(v, dtype=np.float64) for v in (sign_a, log_a, sign_b, log_b))
    same = np.where(sign_a > 0, log_a < log_b, log_a > log_b)
    return np.where(sign_a != sign_b, sign_a < sign_b, np.where(sign_a == 0, False, same))


def _centre(*sets: torch.Tensor) -> list[torch.Tensor]:
    """Shift all sets by the mean of the first (distances are unchanged; the
    |a|^2 + |b|^2 - 2 a.b expansion then loses no digits to a large common offset)."""
    c = sets[0].mean(0)
    return [s.to(torch.float64) - c for s in sets]


def _sq_dists(a: torch.Tensor, b: torch.Tensor, sq_a: torch.Tensor, sq_b: torch.Tensor) -> torch.Tensor:
    """||a_i - b_j||^2 for a block of rows a and columns b, clamped at 0."""
    return torch.addmm(sq_a[:, None] + sq_b[None, :], a, b.T, alpha=-2.0).clamp_(min=0.0)


def log_diagonal_self_overlap(d: int, eps: float, size: int) -> float:
    """log of the diagonal (i = j) part of ∫ρ² for a KDE of ``size`` points in R^d with width eps:
    D = (4π eps²)^{−d/2} / size. With eps = σ size^{−1/d} it equals (4πσ²)^{−d/2} for every size."""
    return -0.5 * d * math.log(4.0 * math.pi * eps * eps) - math.log(size)


def log_pair_overlap(points: torch.Tensor, eps: float, block: int = DEFAULT_BLOCK) -> float:
    """log of the off-diagonal part of ∫ρ² for the KDE of ``points`` with width eps:

        P = (4π eps²)^{−d/2} n^{−2} · 2 Σ_{i<j} exp(−‖x_i − x_j‖² / (4 eps²)),

    a log-sum-exp over the upper triangle in row blocks of ``block`` (memory O(block n));
    −inf for a single point."""
    (x,) = _centre(points)
    n, d = x.shape
    if n < 2:
        return -math.inf
    sq = (x * x).sum(1)
    scale = 1.0 / (4.0 * eps * eps)
    parts = []
    for i in range(0, n - 1, block):
        xi, sqi = x[i : i + block], sq[i : i + block]
        diag = _sq_dists(xi, xi, sqi, sqi).mul_(-scale)
        diag.masked_fill_(~torch.ones_like(diag, dtype=torch.bool).triu_(diagonal=1), -math.inf)  # j > i only
        parts.append(torch.logsumexp(diag.flatten(), 0))
        if i + block < n:
            rest = _sq_dists(xi, x[i + block :], sqi, sq[i + block :]).mul_(-scale)
            parts.append(torch.logsumexp(rest.flatten(), 0))
    log_sum = float(torch.logsumexp(torch.stack(parts), 0))
    return -0.5 * d * math.log(4.0 * math.pi * eps * eps) - 2.0 * math.log(n) + LOG_2 + log_sum


def log_self_overlap(points: torch.Tensor, eps: float, block: int = DEFAULT_BLOCK) -> float:
    """log ∫ρ² for the KDE of ``points`` with width eps: the diagonal and pair parts,

    ∫ρ² = (1/n²) Σ_{i,j} N(x_i | x_j, 2 eps² I) = D + P
        = (4π eps²)^{−d/2} n^{−2} [n + 2 Σ_{i<j} exp(−‖x_i − x_j‖² / (4 eps²))]
    (:func:`log_diagonal_self_overlap`, :func:`log_pair_overlap`)."""
    n, d = points.shape
    return log_self_from_pairs(d, eps, n, log_pair_overlap(points, eps, block))


def log_self_from_pairs(d: int, eps: float, size: int, log_pairs: float) -> float:
    """log ∫ρ² = log(D + P) from the pair part's log (:func:`log_pair_overlap`), D in closed form."""
    return float(np.logaddexp(log_diagonal_self_overlap(d, eps, size), log_pairs))


def log_cross_overlap(
    a: torch.Tensor, eps_a: float, b: torch.Tensor, eps_b: float, block: int = DEFAULT_BLOCK
) -> float:
    """log int rho_a rho_b = log (1/(n_a n_b)) sum_{i,j} N(a_i | b_j, (eps_a^2 + eps_b^2) I)."""
    a, b = _centre(a, b)
    (na, d), nb = a.shape, b.shape[0]
    s2 = eps_a * eps_a + eps_b * eps_b
    sq_a, sq_b = (a * a).sum(1), (b * b).sum(1)
    blocks = [
        torch.logsumexp(_sq_dists(a[i : i + block], b, sq_a[i : i + block], sq_b).mul_(-0.5 / s2).flatten(), 0)
        for i in range(0, na, block)
    ]
    lse = float(torch.logsumexp(torch.stack(blocks), 0))
    return lse - 0.5 * d * (LOG_2PI + math.log(s2)) - math.log(na) - math.log(nb)


def log_kde_gaussian_overlap(points: torch.Tensor, eps: float, mean: torch.Tensor, cov: torch.Tensor) -> float:
    """log int rho N(mean, cov) = log (1/n) sum_k N(x_k | mean, cov + eps^2 I).

    cov may be singular (rank < d): cov + eps^2 I is positive definite. Cholesky
    factor L of cov + eps^2 I; log N = -1/2 ||L^{-1}(x - m)||^2 - sum log L_ii - d/2 log 2 pi.
    """
    n, d = points.shape
    S = cov + (eps * eps) * torch.eye(d, dtype=cov.dtype, device=cov.device)
    L = torch.linalg.cholesky(S)
    r = torch.linalg.solve_triangular(L, (points.to(cov.dtype) - mean).T, upper=False)
    log_dens = -0.5 * (r * r).sum(0) - torch.log(torch.diagonal(L)).sum() - 0.5 * d * LOG_2PI
    return float(torch.logsumexp(log_dens, 0)) - math.log(n)


def log_gaussian_self_overlap(cov: torch.Tensor) -> float:
    """log int N(m, Sigma)^2 = -d/2 log(4 pi) - 1/2 log det Sigma (Sigma positive definite)."""
    d = cov.shape[0]
    L = torch.linalg.cholesky(cov)
    return -0.5 * d * math.log(4.0 * math.pi) - float(torch.log(torch.diagonal(L)).sum())


def kde_l2_distance(a: torch.Tensor, eps_a: float, b: torch.Tensor, eps_b: float) -> SignedLog:
    """int (rho_a - rho_b)^2 = int rho_a^2 + int rho_b^2 - 2 int rho_a rho_b, in log space."""
    terms = [log_self_overlap(a, eps_a), log_self_overlap(b, eps_b), LOG_2 + log_cross_overlap(a, eps_a, b, eps_b)]
    return signed_log_sum(terms, [1, 1, -1])


def kde_gaussian_l2_distance(points: torch.Tensor, eps: float, mean: torch.Tensor, cov: torch.Tensor) -> SignedLog:
    """int (rho - N(mean, cov))^2 for a positive-definite cov, in log space."""
    terms = [
        log_self_overlap(points, eps),
        log_gaussian_self_overlap(cov),
        LOG_2 + log_kde_gaussian_overlap(points, eps, mean, cov),
    ]
    return signed_log_sum(terms, [1, 1, -1])


def check_equal_diagonals(d: int, eps_train: float, n: int, eps_orig: float, N: int) -> None:
    """:func:`transition_delta` cancels the diagonal parts of ∫ρ_T² and ∫ρ_O² analytically; that holds
    when both widths follow eps = σ size^{−1/d} with one σ. Raises ValueError otherwise."""
    gap = log_diagonal_self_overlap(d, eps_train, n) - log_diagonal_self_overlap(d, eps_orig, N)
    if abs(gap) > 1e-9:
        raise ValueError(
            f"transition_delta needs widths sigma * size^(-1/d) for both sets (eps_train={eps_train} for n={n}, "
            f"eps_orig={eps_orig} for N={N}, d={d}): their diagonal self-overlaps differ by a factor e^{gap:.3g}"
        )


def transition_delta(
    log_pairs_train: float, log_cross_train: float, log_pairs_orig: float, log_cross_orig: float
) -> SignedLog:
    """Δ = E_TG − E_OG (eqs. 19–21) with its leading terms cancelled analytically.

    Δ = ∫ρ_T² − 2∫ρ_T ρ_G − ∫ρ_O² + 2∫ρ_O ρ_G (the ∫ρ_G² terms cancel), and ∫ρ² = D + P
    (:func:`log_self_overlap`). With widths eps = σ size^{−1/d} the diagonal parts D_T and D_O are
    both (4πσ²)^{−d/2} and cancel exactly (:func:`check_equal_diagonals`), so

        Δ = P_T − 2∫ρ_T ρ_G − P_O + 2∫ρ_O ρ_G,

    never the difference of two nearly equal self-overlaps, whose rounding (1e-16 of D) can exceed
    the terms that decide Δ's sign in d = 100. Arguments are the logs of the four terms."""
    return signed_log_sum(
        [log_pairs_train, LOG_2 + log_cross_train, log_pairs_orig, LOG_2 + log_cross_orig], [1, -1, -1, 1]
    )


@dataclass(frozen=True)
class Proportion:
    """An estimated probability with its two-sided confidence interval."""

    p: float
    low: float
    high: float
    trials: int


def probability_positive(delta_signs, z: float = 1.959963984540054) -> Proportion:
    """P(Delta > 0) from the signs of Delta over independent trials (ties count 1/2),
    with the Wilson score interval
        (p + z^2/2k -/+ z sqrt(p(1-p)/k + z^2/4k^2)) / (1 + z^2/k),  k trials."""
    s = np.asarray(delta_signs, dtype=np.float64)
    k = s.size
    if k == 0:
        raise ValueError("probability_positive needs at least one trial")
    p = float(np.mean((s > 0) + 0.5 * (s == 0)))
    denom = 1.0 + z * z / k
    centre = (p + z * z / (2 * k)) / denom
    half = z * math.sqrt(p * (1.0 - p) / k + z * z / (4.0 * k * k)) / denom
    # the interval always contains p; min/max only undo rounding at p = 0 or 1
    return Proportion(p=p, low=max(0.0, min(p, centre - half)), high=min(1.0, max(p, centre + half)), trials=k)


def log_kde_mise_ratio(eps, n, d, sigma: float = 1.0):
    """log of MISE(eps) / int rho^2 for a Gaussian KDE of n iid N(mu, sigma^2 I_d) points.

    Exact (no asymptotics): with int rho^2 = (4 pi sigma^2)^{-d/2},
      MISE / int rho^2 = (1/n) (sigma^2/eps^2)^{d/2} + (1 - 1/n) (sigma^2/(sigma^2+eps^2))^{d/2}
                         - 2 (2 sigma^2/(2 sigma^2+eps^2))^{d/2} + 1,
    from E rho_hat^2 = (1/n) E K^2 + (1 - 1/n) (E K)^2 and Gaussian product integrals.
    Vectorised over eps (and n).
    """
    eps2 = np.asarray(eps, dtype=np.float64) ** 2
    n = np.asarray(n, dtype=np.float64)
    s2 = sigma * sigma
    h = 0.5 * d
    logs = np.broadcast_arrays(
        -np.log(n) + h * np.log(s2 / eps2),
        np.log1p(-1.0 / n) + h * np.log(s2 / (s2 + eps2)),
        LOG_2 + h * np.log(2.0 * s2 / (2.0 * s2 + eps2)),
        np.zeros_like(eps2),
    )
    sign, log_abs = signed_logsumexp(np.stack(logs), [1, 1, -1, 1])
    if np.any(sign <= 0):
        raise FloatingPointError("MISE lost all its digits to cancellation; widen the eps range")
    return log_abs


# --- Per-coordinate KDE distances (Paper B §4, eqs. 23-24) -----------------------------------
# In one dimension every overlap is at most 1/(2 eps sqrt(pi)) and at least 0, so the per-coordinate
# sums are formed directly in float64 (nothing to underflow that matters: a vanishing cross term
# is zero to float64 precision).

PAIR_TAIL = 50.0  # pairs with (x_k - x_l)^2 / (4 eps^2) > PAIR_TAIL (terms < e^-50) are dropped


def pixel_kernel_width(sigma: float, n: int) -> float:
    """eps = sigma / n, the per-pixel kernel width of a set of n images (Paper B eq. 24)."""
    return sigma / n


def per_coordinate_self_overlap(points: torch.Tensor, eps: float) -> torch.Tensor:
    """int rho_i^2 for every coordinate i of the 1-D KDEs rho_i(x) = (1/n) sum_k N(x | x_k^i, eps^2):

        int rho_i^2 = (1/n^2) sum_{k,l} N(x_k^i | x_l^i, 2 eps^2)
                    = (2 eps sqrt(pi))^{-1} n^{-2} [n + 2 sum_{k<l} exp(-(x_k^i - x_l^i)^2 / (4 eps^2))].

    Each column is sorted, and the pairs are visited by rank offset s = 1, 2, ... (gaps
    x_(k+s) - x_(k) grow with s); the sweep stops at the first s where every gap exceeds
    the cutoff 2 eps sqrt(PAIR_TAIL). The dropped terms are each < e^-50, so their total is
    below n^2 e^-50 against a sum of at least n: exact to float64. Cost O(n d log n + n d s_max),
    where a dense sum would cost O(n^2 d). Returns a float64 tensor of shape (d,).
    """
    x = torch.sort(points.to(torch.float64), dim=0).values
    n = x.shape[0]
    scale = 1.0 / (4.0 * eps * eps)
    cutoff2 = PAIR_TAIL / scale
    pairs = torch.zeros(x.shape[1], dtype=torch.float64, device=x.device)
    for s in range(1, n):
        gap2 = (x[s:] - x[:-s]).square_()
        if bool((gap2 > cutoff2).all()):
            break
        pairs += gap2.mul_(-scale).exp_().sum(0)
    return (n + 2.0 * pairs) / (n * n * 2.0 * eps * math.sqrt(math.pi))


def per_coordinate_cross_overlap(
    a: torch.Tensor, eps_a: float, b: torch.Tensor, eps_b: float, chunk: int = 1 << 24
) -> torch.Tensor:
    """int rho_{a,i} rho_{b,i} = (1/(n_a n_b)) sum_{k,l} N(a_k^i | b_l^i, eps_a^2 + eps_b^2) for every
    coordinate i (dense; meant for one small set, e.g. the generated images). Shape (d,), float64."""
    a, b = a.to(torch.float64), b.to(torch.float64)
    s2 = eps_a * eps_a + eps_b * eps_b
    rows = max(1, chunk // (b.shape[0] * b.shape[1]))
    total = torch.zeros(a.shape[1], dtype=torch.float64, device=a.device)
    for i in range(0, a.shape[0], rows):
        diff = a[i : i + rows, None, :] - b[None, :, :]
        total += diff.square_().mul_(-0.5 / s2).exp_().sum((0, 1))
    return total / (a.shape[0] * b.shape[0] * math.sqrt(2.0 * math.pi * s2))


def per_coordinate_grid_density(points: torch.Tensor, eps: float, grid: torch.Tensor) -> torch.Tensor:
    """ρ_i(x_k) = (1/n) Σ_l N(x_k | x_l^i, eps²) of every coordinate i at every grid point x_k:
    shape (len(grid), d), float64."""
    x = points.to(torch.float64)
    g = grid.to(torch.float64)
    z = (g[:, None, None] - x[None, :, :]) / eps  # (k, l, i)
    return torch.exp(-0.5 * z * z).mean(1) / (eps * math.sqrt(2.0 * math.pi))


def per_coordinate_grid_distance(a: torch.Tensor, eps_a: float, b: torch.Tensor, eps_b: float, grid) -> float:
    """mean over coordinates i and grid points x_k of (ρ_{a,i}(x_k) − ρ_{b,i}(x_k))²: eq. 23's integral
    replaced by a sum on ``grid`` (Paper B's code; :mod:`memgen.paper_arithmetic`)."""
    diff = per_coordinate_grid_density(a, eps_a, grid) - per_coordinate_grid_density(b, eps_b, grid)
    return float(diff.square().mean())


@dataclass(frozen=True)
class PixelTransition:
    """Paper B's per-pixel metric for one trial: E_TG, E_OG (eq. 23) and Delta = E_TG - E_OG."""

    e_tg: float
    e_og: float

    @property
    def delta(self) -> float:
        return self.e_tg - self.e_og


def per_coordinate_l2_distance(
    a: torch.Tensor, eps_a: float, b: torch.Tensor, eps_b: float, self_a: torch.Tensor | None = None
) -> float:
    """sum_i int (rho_{a,i} - rho_{b,i})^2 = sum_i [int rho_{a,i}^2 + int rho_{b,i}^2 - 2 int rho_{a,i} rho_{b,i}] (eq. 23);
    ``self_a``: the per-coordinate int rho_{a,i}^2 when already computed."""
    if self_a is None:
        self_a = per_coordinate_self_overlap(a, eps_a)
    per = self_a + per_coordinate_self_overlap(b, eps_b) - 2.0 * per_coordinate_cross_overlap(a, eps_a, b, eps_b)
    return float(per.sum())


def pixel_transition(
    train: torch.Tensor, original: torch.Tensor, generated: torch.Tensor, sigma: float
) -> PixelTransition:
    """E_TG and E_OG of eq. 23 with each set's width eps = sigma / (its size) (eq. 24); rows are
    flattened images in data units (the pixel law N(mu, sigma^2))."""
    return pixel_transitions(train, original, [generated], sigma)[0]


def pixel_transitions(
    train: torch.Tensor, original: torch.Tensor, generated_sets, sigma: float, eps_train: float | None = None
) -> list[PixelTransition]:
    """:func:`pixel_transition` of several generated sets (a model's and its reference generators')
    against the same training and original sets, the per-pixel self-overlaps of T and O computed once;
    ``eps_train``: the training KDE's width when it is not σ/(its size) (e.g. σ/n for a subset of n images)."""
    eps_t = pixel_kernel_width(sigma, len(train)) if eps_train is None else eps_train
    eps_o = pixel_kernel_width(sigma, len(original))
    self_t, self_o = per_coordinate_self_overlap(train, eps_t), per_coordinate_self_overlap(original, eps_o)
    out = []
    for generated in generated_sets:
        eps_g = pixel_kernel_width(sigma, len(generated))
        out.append(
            PixelTransition(
                e_tg=per_coordinate_l2_distance(train, eps_t, generated, eps_g, self_a=self_t),
                e_og=per_coordinate_l2_distance(original, eps_o, generated, eps_g, self_a=self_o),
            )
        )
    return out


def expected_pixel_delta(sigma: float, k_t: int, eps_t: float, k_o: int, eps_o: float, eps_g: float) -> float:
    """E[Δ] per pixel when the k_t training values, the k_o original values and the generated values of a
    pixel are independent draws of N(μ, σ²) (the true law as generator; KDE widths eps_t, eps_o, eps_g):

        E ∫ρ_X² = (2√π)⁻¹ [1/(k ε_X) + (1 − 1/k) / √(σ² + ε_X²)]      (the diagonal and the pair terms)
        E ∫ρ_X ρ_G = (2π (2σ² + ε_X² + ε_G²))^{−1/2}
        E[Δ] = E∫ρ_T² − E∫ρ_O² − 2 (E∫ρ_T ρ_G − E∫ρ_O ρ_G)             (∫ρ_G² cancels).

    With ε_X = σ/k_X the diagonal terms are equal (1/σ each) and, for small widths,
    E[Δ] ≈ (1/k_O − 1/k_T) / (2√π σ): positive once the training KDE has more points than the original one."""

    def self_term(k: int, eps: float) -> float:
        return (1.0 / (k * eps) + (1.0 - 1.0 / k) / math.sqrt(sigma**2 + eps**2)) / (2.0 * math.sqrt(math.pi))

    def cross_term(eps: float) -> float:
        return 1.0 / math.sqrt(2.0 * math.pi * (2.0 * sigma**2 + eps**2 + eps_g**2))

    return self_term(k_t, eps_t) - self_term(k_o, eps_o) - 2.0 * (cross_term(eps_t) - cross_term(eps_o))
