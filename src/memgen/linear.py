"""Paper B's linear one-step denoiser (§3), its generated Gaussian, the squared
Hellinger distance, the mixing time t_M (eq. 9) and the kernel widths (eqs. 10-11).

Conventions: ``docs/transition-metric.md`` §1-2. Everything is
float64; determinants are only ever handled as log-determinants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

Covariance = Literal["exact", "paper"]
COVARIANCES: tuple[str, ...] = ("exact", "paper")


@dataclass(frozen=True)
class LinearDiffusionParams:
    """Data law N(mu 1, sigma^2 I_d) and the one-step forward noise (T, lambda)."""

    mu: float = 10.0
    sigma: float = 1.0
    T: float = 2.0
    lam: float = math.exp(-4.0)

    @property
    def noise_variance(self) -> float:
        """Delta_T = lambda (1 - e^{-2T})."""
        return self.lam * -math.expm1(-2.0 * self.T)


@dataclass(frozen=True)
class GaussianLaw:
    """N(mean, cov) in R^d; ``rank`` is the numerical rank of ``cov``."""

    mean: torch.Tensor
    cov: torch.Tensor
    rank: int

    @property
    def dim(self) -> int:
        return self.mean.shape[0]


@dataclass(frozen=True)
class LinearDenoiser:
    """y = theta0 + theta1 x, fitted on the centred pairs (eq. 15)."""

    theta0: torch.Tensor  # (d,)
    theta1: torch.Tensor  # (d, d)
    rank: int  # rank of the centred design matrix


def sample_gaussian_data(n: int, d: int, mu: float, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Y_k ~ N(mu 1, sigma^2 I_d), k = 1..n, as an (n, d) float64 tensor."""
    return mu + sigma * torch.randn(n, d, generator=generator, dtype=torch.float64)


def noise_data(Y: torch.Tensor, params: LinearDiffusionParams, generator: torch.Generator) -> torch.Tensor:
    """X_k = e^{-T} Y_k + sqrt(Delta_T) Z_k with Z_k ~ N(0, I_d) (eq. 22)."""
    Z = torch.randn(Y.shape, generator=generator, dtype=Y.dtype)
    return math.exp(-params.T) * Y + math.sqrt(params.noise_variance) * Z


def fit_linear_denoiser(X: torch.Tensor, Y: torch.Tensor) -> LinearDenoiser:
    """Least squares Y ~ theta0 + theta1 X on centred data (eq. 15).

    theta1^T = x^+ y (minimum-norm solution, the pseudo-inverse, which is what the
    normal equations (x^T x)^{-1} x^T y become when x^T x is singular, n <= d),
    theta0 = Ybar - theta1 Xbar. x, y are the centred (n, d) matrices.
    """
    x_bar, y_bar = X.mean(0), Y.mean(0)
    x, y = X - x_bar, Y - y_bar
    U, S, Vh = torch.linalg.svd(x, full_matrices=False)
    tol = S.max() * max(x.shape) * torch.finfo(S.dtype).eps
    keep = S > tol
    rank = int(keep.sum())
    inv_s = torch.where(keep, 1.0 / torch.where(keep, S, torch.ones_like(S)), torch.zeros_like(S))
    theta1_t = Vh.T @ (inv_s[:, None] * (U.T @ y))  # (d_in, d_out)
    theta1 = theta1_t.T
    return LinearDenoiser(theta0=y_bar - theta1 @ x_bar, theta1=theta1, rank=rank)


def generation_noise_variance(Y: torch.Tensor, params: LinearDiffusionParams) -> float:
    """sigma_X^2 = e^{-2T} (1/(n d)) sum_k ||Y_k - Ybar||^2 + Delta_T (eq. 16)."""
    n, d = Y.shape
    spread = ((Y - Y.mean(0)) ** 2).sum().item() / (n * d)
    return math.exp(-2.0 * params.T) * spread + params.noise_variance


def generated_law(
    model: LinearDenoiser, Y: torch.Tensor, params: LinearDiffusionParams, covariance: Covariance = "exact"
) -> GaussianLaw:
    """The law of theta0 + theta1 X with X ~ N(mu_X, sigma_X^2 I) (eqs. 16-17).

    mean m_G = theta0 + theta1 mu_X, mu_X = e^{-T} Ybar.
    cov  Sigma_G = sigma_X^2 theta1 theta1^T  ("exact", the law of the samples)
         Sigma_G = sigma_X^2 theta1^T theta1  ("paper", eq. 17 as printed).
    """
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    mu_X = math.exp(-params.T) * Y.mean(0)
    sigma_X2 = generation_noise_variance(Y, params)
    t1 = model.theta1
    gram = t1 @ t1.T if covariance == "exact" else t1.T @ t1
    cov = sigma_X2 * 0.5 * (gram + gram.T)
    return GaussianLaw(mean=model.theta0 + t1 @ mu_X, cov=cov, rank=model.rank)


def fit_generated_laws(
    Y: torch.Tensor, X: torch.Tensor, params: LinearDiffusionParams, covariances=COVARIANCES
) -> dict[str, GaussianLaw]:
    """Fit the denoiser once and return the generated law for each convention."""
    model = fit_linear_denoiser(X, Y)
    return {c: generated_law(model, Y, params, c) for c in covariances}


def _logdet_psd(S: torch.Tensor) -> tuple[float, bool]:
    """log det S for symmetric PSD S, and whether S is numerically singular."""
    eig = torch.linalg.eigvalsh(S)
    tol = eig.abs().max() * S.shape[0] * torch.finfo(S.dtype).eps
    if eig.min() <= tol:
        return -math.inf, True
    return float(torch.log(eig).sum()), False


def gaussian_hellinger2(law1: GaussianLaw, law2: GaussianLaw) -> float:
    """Squared Hellinger distance between two Gaussians (eq. 18, standard form).

    H^2 = 1 - det(S1)^{1/4} det(S2)^{1/4} det(Sbar)^{-1/2} exp(-1/8 dm^T Sbar^{-1} dm),
    Sbar = (S1 + S2)/2, dm = m1 - m2; H^2 = 1 when either covariance is singular.
    Evaluated with log-determinants and expm1 so that small H^2 keeps its digits.
    """
    ld1, sing1 = _logdet_psd(law1.cov)
    ld2, sing2 = _logdet_psd(law2.cov)
    if sing1 or sing2:
        return 1.0
    S_bar = 0.5 * (law1.cov + law2.cov)
    L = torch.linalg.cholesky(S_bar)
    ld_bar = 2.0 * float(torch.log(torch.diagonal(L)).sum())
    dm = (law1.mean - law2.mean)[:, None]
    maha = float((torch.linalg.solve_triangular(L, dm, upper=False) ** 2).sum())
    log_bc = 0.25 * ld1 + 0.25 * ld2 - 0.5 * ld_bar - 0.125 * maha
    return float(-math.expm1(min(log_bc, 0.0)))


def isotropic_law(d: int, mu: float, sigma: float) -> GaussianLaw:
    """N(mu 1, sigma^2 I_d) as a GaussianLaw."""
    return GaussianLaw(
        mean=torch.full((d,), float(mu), dtype=torch.float64),
        cov=sigma**2 * torch.eye(d, dtype=torch.float64),
        rank=d,
    )


# --- mixing time and kernel widths (paper §2.2) -------------------------------


def mixing_time(sigma, d, n):
    """t_M(sigma, d, n) = 1/2 log(1 + sigma^2 / (n^{2/d} - 1))  (eq. 9), n >= 2."""
    n = np.asarray(n, dtype=np.float64)
    if np.any(n < 2):
        raise ValueError("mixing_time needs n >= 2 (n^{2/d} - 1 vanishes at n = 1)")
    return 0.5 * np.log1p(sigma**2 / np.expm1(2.0 * np.log(n) / d))


def kernel_width_mixing(sigma, d, n):
    """epsilon = sqrt(2 t_M)  (eq. 10)."""
    return np.sqrt(2.0 * mixing_time(sigma, d, n))


def kernel_width_amise(sigma, d, n):
    """epsilon = (4/(d+2))^{1/(d+4)} sigma n^{-1/(d+4)}  (eq. 11, AMISE optimum)."""
    n = np.asarray(n, dtype=np.float64)
    return (4.0 / (d + 2.0)) ** (1.0 / (d + 4.0)) * sigma * n ** (-1.0 / (d + 4.0))


def kernel_width_large_d(sigma, d, n):
    """epsilon = sigma n^{-1/d}, the large-d form of eqs. 9-11 used for rho_T, rho_O."""
    n = np.asarray(n, dtype=np.float64)
    return sigma * n ** (-1.0 / d)
