"""The random-features score model of Paper A, apart from its theory and its simulation.

What both ``memgen.rf_theory`` (the d → ∞ learning curves) and ``memgen.rf`` / ``memgen.rf_sampling``
(the finite-d fits) use (``docs/rf-dsm-theory.md`` §1): the forward process's coefficients, a problem
instance, the centred activations as numpy functions, and the Gauss–Hermite rule of Gaussian
expectations. No torch: the workflow plans with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Activations: centred (E ϱ(g) = 0 for g ~ N(0,1)), as numpy functions.
_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "erf": lambda x: _erf(x),
    "relu": lambda x: np.maximum(x, 0.0) - 1.0 / np.sqrt(2.0 * np.pi),
}


def _erf(x):
    from scipy.special import erf

    return erf(x)


def resolve_activation(activation: str | Callable, registry: dict[str, Callable]) -> Callable:
    """``activation`` itself when callable, else its entry in ``registry`` (numpy or torch functions)."""
    if callable(activation):
        return activation
    try:
        return registry[activation]
    except KeyError:
        raise ValueError(
            f"unknown activation {activation!r}; expected one of {tuple(registry)} or a callable"
        ) from None


def activation_function(activation: str | Callable) -> Callable[[np.ndarray], np.ndarray]:
    """The numpy function of an activation name (tanh, erf, relu = centred ReLU) or a callable."""
    return resolve_activation(activation, _ACTIVATIONS)


@lru_cache(maxsize=8)
def gauss_hermite(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ξ and weights ω with Σ ω f(ξ) ≈ E f(g), g ~ N(0, 1) (probabilists' Hermite rule)."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return x, w / np.sqrt(2.0 * np.pi)


def diffusion_coefficients(t):
    """a_t² = e^{−2t} and h_t = 1 − e^{−2t} of the OU forward process y = a_t x + √h_t z."""
    a2 = np.exp(-2.0 * np.asarray(t, dtype=float))
    return a2, -np.expm1(-2.0 * np.asarray(t, dtype=float))


@dataclass(frozen=True)
class RFProblem:
    """A finite-d instance of the theory's parameters (simulated by ``memgen.rf``): dimension d,
    p = round(ψ_p d), n = round(ψ_n d), m noises per point (math.inf for the exact average),
    diffusion time t, ridge λ."""

    d: int
    psi_p: float
    psi_n: float
    m: float
    t: float
    lam: float
    activation: str = "tanh"

    @property
    def p(self) -> int:
        return max(1, round(self.psi_p * self.d))

    @property
    def n(self) -> int:
        return max(1, round(self.psi_n * self.d))


def segment_geometry(D_emp, D_true, D_emp_true, C) -> dict:
    """Where a learned score s sits relative to the segment from the true score (−y) to the empirical score
    s_emp, in the L² geometry of a law (``docs/rf-dsm-theory.md`` §8): with s + y = C (s_emp + y) + e,
    e ⟂ (s_emp + y),

        D_ratio = D_emp/D_true,   D_perp = (1/d) E‖e‖² = D_true − C² D_emp_true   (along the segment: C² D_emp_true).

    Arrays or scalars, per seed or per limit; keys suffixed ``_train`` (the noised training law)."""
    return {"D_ratio_train": D_emp / D_true, "D_perp_train": D_true - C**2 * D_emp_true}
