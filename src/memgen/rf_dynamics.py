"""Gradient descent on the random-features DSM objective, in closed form (``docs/rf-dsm-theory.md`` §9).

The ridge-DSM objective of :mod:`memgen.rf` is quadratic in the read-out (Bᵀ ∈ R^{p×d}):

    L(B) = (1/d)[h Tr(B U Bᵀ) + 2h Tr(B V) + zz] + (h λ/d) ‖B‖_F²,   ∇_{Bᵀ} L = (2h/d)[(U + λI) Bᵀ + V].

Time is counted in the units where the Hessian is U + λI: gradient flow dBᵀ/dτ = −[(U + λI) Bᵀ + V]
(the flow of L itself, slowed by d/(2h)), and gradient descent Bᵀ_{k+1} = Bᵀ_k − η[(U + λI) Bᵀ_k + V]
(step η·2h/d on L). From Bᵀ = 0, with U + λI = Q diag(μ) Qᵀ,

    Bᵀ(τ) = −Q diag(φ(τ)) Qᵀ V,   φ_k(τ) = (1 − e^{−μ_k τ}) / μ_k          (flow),
                                  φ_k(k') = (1 − (1 − η μ_k)^{k'}) / μ_k    (k' steps of GD),

so one eigendecomposition per fit gives the model at every training time; φ_k → 1/μ_k is the ridge fit
Bᵀ = −(U + λI)⁻¹ V. Along τ the train error and the score error are quadratic forms in φ
(:func:`train_errors`, :func:`score_errors`), and the learned score at fixed points is linear in φ
(:func:`scores_at`). Crossing times along τ (τ_gen, τ_mem) are those of :mod:`memgen.onset`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from memgen.rf import DSMMoments


@dataclass
class SpectralFit:
    """U + λI = Q diag(mu) Qᵀ and the rotated targets QtV = Qᵀ V of one fit (float64)."""

    mu: torch.Tensor  # (p,) eigenvalues of U + λI
    Q: torch.Tensor  # (p, p)
    QtV: torch.Tensor  # (p, d)
    lam: float


def spectral_fit(mom: DSMMoments, lam: float) -> SpectralFit:
    """Eigendecomposition of U + λI (U symmetrised first) and Qᵀ V."""
    U = 0.5 * (mom.U + mom.U.T)
    mu, Q = torch.linalg.eigh(U + lam * torch.eye(U.shape[0], dtype=U.dtype, device=U.device))
    if float(mu.min()) <= 0.0:
        raise ValueError(
            f"U + λI must be positive definite for the dynamics, smallest eigenvalue {float(mu.min()):.3g}"
        )
    return SpectralFit(mu, Q, Q.T @ mom.V, float(lam))


def spectral_filter(fit: SpectralFit, times, step: float | None = None) -> torch.Tensor:
    """φ (len(times), p): (1 − e^{−μτ})/μ for gradient flow at times τ (``step`` None), or
    (1 − (1 − ημ)^k)/μ after k = ``times`` steps of gradient descent with step η = ``step``."""
    tau = torch.as_tensor(np.asarray(times, dtype=float), dtype=fit.mu.dtype, device=fit.mu.device)[:, None]
    mu = fit.mu[None, :]
    if step is None:
        return -torch.expm1(-mu * tau) / mu
    return (1.0 - (1.0 - step * mu) ** tau) / mu


def readout(fit: SpectralFit, phi: torch.Tensor) -> torch.Tensor:
    """Bᵀ = −Q diag(φ) Qᵀ V (p×d) for one row φ of :func:`spectral_filter`."""
    return -fit.Q @ (phi[:, None] * fit.QtV)


def train_errors(fit: SpectralFit, mom: DSMMoments, phi: torch.Tensor, h: float) -> torch.Tensor:
    """E_train(τ) = (1/d)[h Tr(B U Bᵀ) + 2h Tr(B V) + zz] along the rows of φ:
    (1/d)[h Σ_k φ_k² (μ_k − λ) v_k − 2h Σ_k φ_k v_k + zz], v_k = ‖(Qᵀ V)_k‖²."""
    d = fit.QtV.shape[1]
    v = (fit.QtV**2).sum(1)
    return (h * (phi**2 * (fit.mu - fit.lam) * v).sum(1) - 2 * h * (phi * v).sum(1) + mom.zz) / d


def score_errors(fit: SpectralFit, Omega: torch.Tensor, Phi: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """E_score(τ) = (1/d)[Tr(B Ω Bᵀ) + 2 Tr(B Φ) + d] along the rows of φ (Ω = E f fᵀ, Φ = E f yᵀ under
    y ~ N(0, I_d)): (1/d)[φᵀ M φ − 2 Σ_k φ_k c_k + d], M = (QᵀΩQ) ∘ (QᵀV)(QᵀV)ᵀ, c_k = ((QᵀV) ∘ (QᵀΦ))_k·1."""
    d = fit.QtV.shape[1]
    M = (fit.Q.T @ Omega @ fit.Q) * (fit.QtV @ fit.QtV.T)
    c = (fit.QtV * (fit.Q.T @ Phi)).sum(1)
    return (torch.einsum("tk,kl,tl->t", phi, M, phi) - 2 * phi @ c + d) / d


def scores_at(fit: SpectralFit, features: torch.Tensor, phi_row: torch.Tensor) -> torch.Tensor:
    """The learned score s(y) = Bᵀᵀ f(y) at points whose features are the rows of ``features`` (N×p),
    for one row φ: −(F Q) diag(φ) Qᵀ V."""
    return -((features @ fit.Q) * phi_row[None, :]) @ fit.QtV
