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
from memgen.calibration import COPY_FRACTIONS, GENERATORS
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
    """Same seed, same rows; one row per generator; the true law and the copy mixtures are the same draws for
    every m (common random numbers), the model and its moment-matched twin are not."""
    a = simulate_point(2.0, 1.0, "1", 0, SHARED, 7)
    b = simulate_point(2.0, 1.0, "1", 0, SHARED, 7)
    c = simulate_point(2.0, 1.0, "1", 0, SHARED, 8)
    e = simulate_point(2.0, 1.0, "inf", 0, SHARED, 7)
    assert a == b and a != c
    assert [r["generator"] for r in a] == list(GENERATORS)
    rows, rows_inf = ({r["generator"]: r for r in x} for x in (a, e))
    for name in ("true_law", *COPY_FRACTIONS):
        assert {k: v for k, v in rows[name].items() if k != "m"} == {
            k: v for k, v in rows_inf[name].items() if k != "m"
        }
    assert rows["model"]["spread"] != rows_inf["model"]["spread"]
    assert rows["model"]["n"] == 12 and rows["model"]["p"] == 6
    for key in ("log_e_tg", "log_e_og", "e_tg_coord", "mean_error", "cov_error", "spread"):
        assert all(math.isfinite(r[key]) for r in a)
    assert 0.0 <= rows["model"]["memorized_fraction"] <= 1.0
    # copies are memorized; a true-law draw can fall near one of the 12 training points by chance
    assert rows["copies_100"]["memorized_fraction"] == 1.0
    assert 0.25 <= rows["copies_25"]["memorized_fraction"] <= 0.25 + rows["true_law"]["memorized_fraction"]
    # the twin has the model's spread (to sampling error, N = 200 in d = 6), the true law the data's
    assert rows["moment_matched"]["spread"] == pytest.approx(rows["model"]["spread"], rel=0.25)
    assert rows["true_law"]["spread"] == pytest.approx(1.0, abs=0.25)
    # the control has the model's spread around the true mean, and sees no training point
    assert rows["spread_matched"]["spread"] == pytest.approx(rows["model"]["spread"], rel=0.25)
    assert rows["spread_matched"]["mean_error"] < 0.5 * max(rows["model"]["spread"], 1.0) ** 0.5


def test_summary_carries_the_theory_and_wilson_intervals():
    rows = [
        r
        for a, b, m in experiment_points("phase", PHASE)
        for s in range(2)
        for r in simulate_point(a, b, m, s, SHARED, 3)
    ]
    S = summarise(pd.DataFrame(rows), PHASE)
    assert len(S) == 8 * len(GENERATORS) and (S.seeds == 2).all()
    assert ((S.ci_low <= S.p_positive) & (S.p_positive <= S.ci_high)).all()
    assert (S[S.generator == "moment_matched"].p_below_twin == 0.0).all()
    r = S[S.generator == "model"].iloc[0]
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
            "generator": ["model"] * 8,
            "p_positive": [0.0, 0.25, 0.75, 1.0, 0.0, 0.1, 0.2, 0.3],
        }
    )
    C = half_crossings(S).set_index("psi_p")
    assert (C.generator == "model").all()
    assert C.loc[2.0, "crosses"] and C.loc[2.0, "psi_n_half"] == pytest.approx(2.0 * math.sqrt(2.0))
    assert C.loc[2.0, "ratio_to_psi_p"] == pytest.approx(math.sqrt(2.0))
    assert not C.loc[4.0, "crosses"] and C.loc[4.0, "psi_n_half"] == 8.0


def test_below_twin_is_the_paired_comparison_of_signed_deltas():
    """Δ < Δ_twin from (sign, log|Δ|) equals the comparison of the values; a row without its twin is an error."""
    from memgen.experiments.bridge import below_twin
    from memgen.kde import signed_log_less

    rng = np.random.default_rng(0)
    a, b = (
        rng.normal(size=500) * np.exp(rng.normal(size=500) * 5),
        rng.normal(size=500) * np.exp(rng.normal(size=500) * 5),
    )
    less = signed_log_less(np.sign(a), np.log(np.abs(a)), np.sign(b), np.log(np.abs(b)))
    assert (less == (a < b)).all()
    df = pd.DataFrame(
        {
            "psi_n": 1.0,
            "psi_p": 2.0,
            "m": "1",
            "seed": [0, 0, 1, 1],
            "generator": ["model", "moment_matched"] * 2,
            "delta_sign": [-1.0, 1.0, 1.0, 1.0],
            "log_abs_delta": [-20.0, -30.0, -20.0, -21.0],
        }
    )
    assert below_twin(df).tolist() == [True, False, False, False]
    with pytest.raises(ValueError, match="moment-matched twin"):
        below_twin(df.iloc[[0]])
