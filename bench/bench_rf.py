"""Benchmarks of Paper A's RF-DSM theory and simulation (CPU, float64).

    python bench/bench_rf.py [--repeats 5]

1. one theory curve of 200 ψ_p points (ψ_n = 2, t = 0.1, λ = 1e-3) for m = 1, 10, ∞,
   by continuation along ψ_p and by vectorised ridge continuation;
2. the 50 × 50 × 3 phase diagram ((ψ_n, ψ_p) ∈ [0.25, 8]², m = 1, 10, ∞): the errors and, from the same
   traces, D_emp, D_true and C under the noised training law (``rf_theory.train_law_distances``);
3. one simulation at d = 200, ψ_n = 2, ψ_p = 4, m = 10: the closed-form fit beside full-batch
   gradient descent on the same objective (features precomputed, optimal constant step
   1/L) run until its train error is within 1e-4 (relative) of the closed form's.

Prints medians over repeats and the ratios; nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from memgen.rf import dsm_train_error, fit_rf_score, rf_features, sampled_dsm_moments
from memgen.rf_model import diffusion_coefficients
from memgen.rf_theory import learning_curves
from timing import median_time  # bench/timing.py (the script directory is on sys.path)


def bench_theory(repeats: int) -> None:
    pp = np.geomspace(0.25, 8, 200)
    print("theory curve, 200 psi_p points (psi_n = 2, t = 0.1, lambda = 1e-3):")
    for m in (1, 10, np.inf):
        along = median_time(lambda: learning_curves(pp, 2.0, m, 0.1, 1e-3, along_psi_p=True), repeats)
        ridge = median_time(lambda: learning_curves(pp, 2.0, m, 0.1, 1e-3), repeats)
        print(
            f"  m = {m:>4}: psi_p continuation {along * 1e3:7.1f} ms   ridge continuation (vectorised) {ridge * 1e3:7.1f} ms"
        )
    g = np.geomspace(0.25, 8, 50)
    PN, PP = np.meshgrid(g, g, indexing="ij")

    def phase():
        for m in (1, 10, np.inf):
            learning_curves(PP, PN, m, 0.1, 1e-3)

    print(f"phase diagram 50 x 50 x 3 (m = 1, 10, inf): {median_time(phase, max(1, repeats // 2)):.2f} s")


def gradient_descent_fit(F, Z, lam, h, target, max_iter=200_000, max_seconds=900.0):
    """Full-batch GD on L(B) = 1/(Nd)‖√h F Bᵀ... + Z‖² + hλ‖B‖²/d from B = 0, step 1/L with
    L = 2h(λ_max(FᵀF/N) + λ)/d; stops when L_train(B) ≤ target (or after max_seconds).
    Returns (Bᵀ, iterations)."""
    N, d = Z.shape
    U = F.T @ F / N
    deadline = time.perf_counter() + max_seconds
    L = 2 * h * (float(torch.linalg.eigvalsh(U)[-1]) + lam) / d
    Bt = torch.zeros(F.shape[1], d, dtype=F.dtype)
    for it in range(1, max_iter + 1):
        R = math.sqrt(h) * F @ Bt + Z  # residuals √h s + z
        loss = float((R * R).sum()) / (N * d)
        if loss <= target or time.perf_counter() > deadline:
            return Bt, it
        grad = 2 * math.sqrt(h) * (F.T @ R) / (N * d) + 2 * h * lam * Bt / d
        Bt -= grad / L
    return Bt, max_iter


def bench_simulation(repeats: int) -> None:
    d, psi_n, psi_p, m, t, lam = 200, 2.0, 4.0, 10, 0.1, 1e-3
    n, p = int(psi_n * d), int(psi_p * d)
    a2, h = (float(v) for v in diffusion_coefficients(t))
    g = torch.Generator().manual_seed(0)
    W = torch.randn(p, d, generator=g, dtype=torch.float64)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)

    def closed_form():
        mom = sampled_dsm_moments(X, W, m, t, torch.Generator().manual_seed(1))
        Bt = fit_rf_score(mom, lam)
        return dsm_train_error(Bt, mom, h)

    e_closed = closed_form()
    t_closed = median_time(closed_form, repeats)
    # the same noisy pairs, materialised for gradient descent
    gz = torch.Generator().manual_seed(1)
    Z = torch.randn(n * m, d, generator=gz, dtype=torch.float64)
    F = rf_features(math.sqrt(a2) * X.repeat_interleave(m, 0) + math.sqrt(h) * Z, W)
    target = e_closed * (1 + 1e-4)
    start = time.perf_counter()
    Bt, iters = gradient_descent_fit(F, Z, lam, h, target)
    t_gd = time.perf_counter() - start
    e_gd = float(((math.sqrt(h) * F @ Bt + Z) ** 2).sum()) / (n * m * d)
    print(f"simulation d = {d}, psi_n = {psi_n}, psi_p = {psi_p}, m = {m} (N = {n * m}, p = {p}):")
    print(f"  closed form        {t_closed:8.3f} s   E_train = {e_closed:.6f}")
    print(f"  gradient descent   {t_gd:8.3f} s   E_train = {e_gd:.6f} after {iters} full-batch steps (one run)")
    reached = "" if e_gd <= target else " (target NOT reached: a lower bound)"
    print(f"  ratio GD / closed form = {t_gd / t_closed:.0f}x{reached}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    bench_theory(args.repeats)
    bench_simulation(max(1, args.repeats // 2))


if __name__ == "__main__":
    main()
