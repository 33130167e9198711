"""The bridge: Paper B's metric on constructed cases, the RF pipeline's determinism, the half-crossing
interpolation, and the theory at the summary's points."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from memgen.experiments.bridge import (
    block_points,
    experiment_points,
    full_dimensional_metric,
    half_crossings,
    n_blocks,
    simulate_point,
    theory_table,
    summarise,
)
from memgen.kde import probability_positive
from memgen.linear import kernel_width_large_d
from memgen.rf_theory import learning_curves

SHARED = {
    "d": 6,
    "activation": "tanh",
    "lambda": 1e-3,
    "baseline": 1.0,
    "seeds": 2,
    "N": 200,
    "times": {"min": 0.01, "max": 3.0, "num": 6},
    "max_step": 0.02,
    "rel_step": 0.1,
    "theory_t": 0.1,
    "points_per_job": 3,
}
# the stage slices the workflow passes (stage_config("bridge", kind))
TRANSITION = {
    "shared": SHARED,
    "experiment": {"psi_n": {"min": 0.5, "max": 4, "num": 4}, "psi_p": [1, 4], "m": [1, "inf"]},
}
PHASE = {
    "shared": SHARED,
    "experiment": {
        "psi_n": {"min": 0.5, "max": 4, "num": 2},
        "psi_p": {"min": 0.5, "max": 2, "num": 2},  # p <= 12 in d = 6: the exact m = inf series converges
        "m": [1, "inf"],
    },
}


def _trials(make_generated, d=8, n=16, N=1000, trials=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    signs = []
    for _ in range(trials):
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        O = torch.randn(N, d, generator=g, dtype=torch.float64)
        signs.append(full_dimensional_metric(X, O, make_generated(X, N, g))["delta_sign"])
    return probability_positive(signs)


def test_samples_of_the_true_law_generalize_and_copies_memorize():
    """Generated = fresh draws of N(0, I): P(Δ>0) high; generated = training points (jittered by 1e-2): P(Δ>0) = 0."""
    true_law = _trials(lambda X, N, g: torch.randn(N, X.shape[1], generator=g, dtype=torch.float64))
    copies = _trials(
        lambda X, N, g: (
            X[torch.randint(0, len(X), (N,), generator=g)]
            + 0.01 * torch.randn(N, X.shape[1], generator=g, dtype=torch.float64)
        )
    )
    print(f"P(Δ>0): true law {true_law.p:.2f} [{true_law.low:.2f}, {true_law.high:.2f}], copies {copies.p:.2f}")
    assert true_law.low > 0.5 and copies.p == 0.0


def test_full_dimensional_metric_against_the_kde_distance_directly():
    """E_TG from the shared overlaps equals kde_l2_distance of the two KDEs; Δ's sign is E_TG − E_OG's."""
    from memgen.kde import kde_l2_distance

    g = torch.Generator().manual_seed(1)
    X, O, G = (torch.randn(k, 5, generator=g, dtype=torch.float64) for k in (10, 300, 300))
    out = full_dimensional_metric(X, O, G)
    e_tg = kde_l2_distance(X, float(kernel_width_large_d(1.0, 5, 10)), G, float(kernel_width_large_d(1.0, 5, 300)))
    e_og = kde_l2_distance(O, float(kernel_width_large_d(1.0, 5, 300)), G, float(kernel_width_large_d(1.0, 5, 300)))
    assert out["log_e_tg"] == pytest.approx(e_tg.log_abs, rel=1e-12)
    assert out["log_e_og"] == pytest.approx(e_og.log_abs, rel=1e-12)
    assert out["delta_sign"] == np.sign(e_tg.value - e_og.value)
    assert math.exp(out["log_abs_delta"]) == pytest.approx(abs(e_tg.value - e_og.value), rel=1e-9)


def test_points_and_blocks_cover_each_point_once():
    pts = experiment_points("transition", TRANSITION)
    assert len(pts) == 4 * 2 * 2 and len(set(pts)) == len(pts)
    dealt = [p for b in range(n_blocks("transition", TRANSITION)) for p in block_points("transition", TRANSITION, b)]
    assert sorted(dealt) == sorted(pts)


def test_simulate_point_is_deterministic_and_shares_data_across_m():
    a = simulate_point(2.0, 1.0, "1", 0, SHARED, 7)
    b = simulate_point(2.0, 1.0, "1", 0, SHARED, 7)
    c = simulate_point(2.0, 1.0, "1", 0, SHARED, 8)
    assert a == b and a != c
    assert a["n"] == 12 and a["p"] == 6
    for key in ("log_e_tg", "log_e_og", "e_tg_coord", "mean_error", "cov_error"):
        assert math.isfinite(a[key])
    assert 0.0 <= a["memorized_fraction"] <= 1.0


def test_summary_carries_the_theory_and_wilson_intervals():
    rows = [simulate_point(a, b, m, s, SHARED, 3) for a, b, m in experiment_points("phase", PHASE) for s in range(2)]
    S = summarise(pd.DataFrame(rows), PHASE)
    assert len(S) == 8 and (S.seeds == 2).all()
    assert ((S.ci_low <= S.p_positive) & (S.p_positive <= S.ci_high)).all()
    r = S.iloc[0]
    lc = learning_curves(r.psi_p, r.psi_n, math.inf if r.m == "inf" else float(r.m), 0.1, 1e-3, "tanh")
    assert r.theory_gap == pytest.approx(float(lc.E_test - lc.E_train), rel=1e-10)


def test_theory_table_is_the_theory_on_a_fine_grid():
    """The lines the bridge figures draw: the d → ∞ gap at the configured time on 120 ψ_n per (ψ_p, m)
    (transition) and on a 60 × 60 grid over the cells of the (ψ_n, ψ_p) grid (phase)."""
    T = theory_table("transition", TRANSITION)
    assert len(T) == 120 * 2 * 2 and set(T.m) == {"1", "inf"}
    assert T.psi_n.min() == pytest.approx(0.5) and T.psi_n.max() == pytest.approx(4.0)
    row = T[(T.m == "inf") & (T.psi_p == 4)].iloc[57]
    lc = learning_curves(4.0, row.psi_n, np.inf, 0.1, 1e-3, "tanh")
    assert row.theory_gap == pytest.approx(float(lc.E_test - lc.E_train), rel=1e-10)
    P = theory_table("phase", PHASE)
    assert len(P) == 60 * 60 * 2 and P.psi_n.nunique() == 60 and P.psi_p.nunique() == 60
    assert P.psi_n.min() == pytest.approx(0.5 / 8**0.5) and P.psi_n.max() == pytest.approx(4 * 8**0.5)
    assert np.isfinite(P[["theory_E_train", "theory_E_test", "theory_gap"]].to_numpy()).all()


def test_half_crossings_interpolate_in_log_psi_n():
    S = pd.DataFrame(
        {
            "psi_n": [1.0, 2.0, 4.0, 8.0] * 2,
            "psi_p": [2.0] * 4 + [4.0] * 4,
            "m": ["1"] * 8,
            "p_positive": [0.0, 0.25, 0.75, 1.0, 0.0, 0.1, 0.2, 0.3],
        }
    )
    C = half_crossings(S).set_index("psi_p")
    assert C.loc[2.0, "crosses"] and C.loc[2.0, "psi_n_half"] == pytest.approx(2.0 * math.sqrt(2.0))
    assert C.loc[2.0, "ratio_to_psi_p"] == pytest.approx(math.sqrt(2.0))
    assert not C.loc[4.0, "crosses"] and C.loc[4.0, "psi_n_half"] == 8.0
