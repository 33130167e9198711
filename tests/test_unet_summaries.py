"""The U-Net experiments' tables: loss curves, the flatness measure and the summaries' intervals."""

import math

import numpy as np
import pandas as pd
import pytest

from memgen.experiments.unet import loss_curve, loss_tail, summarise_gaussian, summarise_memorization

Z = 1.959963984540054


def test_loss_curve_is_the_means_of_equal_windows():
    losses = np.random.default_rng(0).random(1000)
    assert loss_curve(losses, 40) == pytest.approx(losses.reshape(40, 25).mean(1).tolist(), rel=1e-15)
    # uneven: 10 steps in 4 windows split at floor(10k/4) = 0, 2, 5, 7, 10
    assert loss_curve(np.arange(10.0), 4) == [0.5, 3.0, 5.5, 8.0]
    assert loss_curve(np.arange(3.0), 40) == [0.0, 1.0, 2.0]  # fewer steps than windows: the steps themselves


def test_loss_drift_is_zero_on_a_flat_curve_and_the_relative_change_otherwise():
    assert loss_tail(np.full(100, 0.3))["loss_drift"] == 0.0
    tail = loss_tail(np.r_[np.full(90, 2.0), np.full(10, 1.0)])  # last tenth 1.0, the tenth before 2.0
    assert tail["final_loss"] == 1.0 and tail["loss_drift"] == pytest.approx((1.0 - 2.0) / 1.0)


def _memorization_rows(fractions, samples):
    k = len(fractions)
    return pd.DataFrame(
        {
            "dataset": ["mnist"] * k,
            "n": [16] * k,
            "m": ["inf"] * k,
            "seed": range(k),
            "train_loss": 1.0,
            "test_loss": 2.0,
            "loss_gap": 1.0,
            "memorized_fraction": fractions,
            "ratio_median": 0.2,
            "final_loss": 0.1,
            "loss_drift": 0.0,
            "samples": samples,
            "loss_curve": [[1.0 + s, 0.5 + s] for s in range(k)],
        }
    )


def _wilson(x: int, k: int) -> tuple[float, float]:
    p = x / k
    centre, half = p + Z * Z / (2 * k), Z * math.sqrt(p * (1 - p) / k + Z * Z / (4 * k * k))
    return (centre - half) / (1 + Z * Z / k), (centre + half) / (1 + Z * Z / k)


def test_memorized_fraction_interval_pools_the_samples_of_all_seeds():
    out = summarise_memorization(_memorization_rows([0.25, 0.5], [100, 100])).iloc[0]
    low, high = _wilson(75, 200)
    assert out.memorized_fraction_mean == pytest.approx(0.375)
    assert (out.memorized_low, out.memorized_high) == pytest.approx((low, high), rel=1e-12)
    assert list(out.loss_curve) == [1.5, 1.0]  # the seeds' mean curve
    assert list(out.memorized_by_seed) == [0.25, 0.5]  # each model's own fraction, in seed order
    shuffled = summarise_memorization(_memorization_rows([0.25, 0.5], [100, 100]).iloc[::-1]).iloc[0]
    assert list(shuffled.memorized_by_seed) == [0.25, 0.5]
    assert out.memorized_fraction_std == pytest.approx(np.std([0.25, 0.5], ddof=1))  # the spread over models
    none = summarise_memorization(_memorization_rows([0.0], [50])).iloc[0]
    assert none.memorized_low == 0.0 and none.memorized_high == pytest.approx(Z * Z / (50 + Z * Z), rel=1e-12)


def test_gaussian_summary_averages_the_trials_loss_curves():
    rows = pd.DataFrame(
        {
            "n": [4, 4, 64],
            "trial": [0, 1, 0],
            "delta_sign": [-1.0, 1.0, 1.0],
            "delta_sign_grid": [-1.0, -1.0, 1.0],
            "e_tg": [1.0, 3.0, 2.0],
            "e_og": [2.0, 2.0, 1.0],
            "memorized_fraction": [0.5, 0.7, 0.0],
            "final_loss": 0.1,
            "loss_drift": 0.0,
            "loss_curve": [[2.0, 1.0], [4.0, 3.0], [1.0, 1.0]],
            "delta_sign_true_law": [1.0, 1.0, -1.0],
            "generated_std": [0.08, 0.09, 0.1],
            "mu": 0.25,
            "sigma": 0.125,
        }
    )
    out = summarise_gaussian(rows)
    assert out.mu.tolist() == [0.25, 0.25] and out.sigma.tolist() == [0.125, 0.125]  # the law, for the figure
    assert out.generated_std_mean.tolist() == pytest.approx([0.085, 0.1], rel=1e-12)
    assert out.p_positive_true_law.tolist() == [1.0, 0.0] and "p_positive_copies_100" not in out
    assert out.ci_high_true_law.iloc[1] == pytest.approx(Z * Z / (1 + Z * Z), rel=1e-12)  # Wilson, 0 of 1
    assert list(out.loss_curve.iloc[0]) == [3.0, 2.0] and list(out.loss_curve.iloc[1]) == [1.0, 1.0]
    assert out.p_positive.tolist() == [0.5, 1.0] and out.e_tg_scaled.tolist() == [1.0, 1.0]
