"""Crossing times along training, their bootstrap over seeds and the power law over n (memgen.onset),
against curves whose answer is known in closed form."""

import math

import numpy as np
import pytest

from memgen.onset import (
    BEFORE_FIRST,
    CROSSED,
    NOT_REACHED,
    bootstrap_over_seeds,
    crossing_step,
    generalization_step,
    largest_memorizing_n,
    memorization_step,
    power_law_over_seeds,
)

STEPS = np.geomspace(10, 10_000, 13)


def _ramp(steps, tau, width=50.0):
    """A curve linear in log s, ½ at s = tau, rising by 1 over a factor ``width`` of steps (clipped to [0, 1]):
    its interpolated crossing of ½ is tau exactly."""
    return np.clip(0.5 + np.log(np.asarray(steps) / tau) / np.log(width), 0.0, 1.0)


def test_crossing_is_exact_for_a_curve_linear_in_log_step():
    v = (np.log(STEPS) - np.log(10)) / (np.log(10_000) - np.log(10))  # 0 at 10, 1 at 10^4
    c = memorization_step(STEPS, v)
    assert c.status == CROSSED and c.step == pytest.approx(math.sqrt(10 * 10_000), rel=1e-12)
    assert crossing_step(STEPS, v, 0.25).step == pytest.approx(10 ** (1 + 0.75), rel=1e-12)
    assert memorization_step(STEPS, np.full(13, 0.9)) == type(c)(10.0, BEFORE_FIRST)
    assert memorization_step(STEPS, np.full(13, 0.1)) == type(c)(10_000.0, NOT_REACHED)
    with pytest.raises(ValueError, match="increasing"):
        crossing_step(STEPS[::-1], v, 0.5)


def test_generalization_step_is_where_the_loss_comes_within_five_percent_of_its_minimum():
    # L(s) = 1 + 1/(s/100): minimum 1 + 1/100 at s = 10^4; within 5 %: 1/(s/100) <= 0.05 * 1.01 + ... solve exactly
    loss = 1.0 + 100.0 / STEPS
    lmin = loss.min()
    target = 1.05 * lmin
    c = generalization_step(STEPS, loss)
    k = int(np.flatnonzero(loss <= target)[0])
    assert c.status == CROSSED and STEPS[k - 1] < c.step <= STEPS[k]
    # between saved steps the interpolation is linear in log s on the loss values
    frac = (target - loss[k - 1]) / (loss[k] - loss[k - 1])
    assert math.log(c.step) == pytest.approx(math.log(STEPS[k - 1]) + frac * math.log(STEPS[k] / STEPS[k - 1]))


def test_bootstrap_of_identical_seeds_is_a_point_and_of_spread_seeds_covers_them():
    same = np.stack([_ramp(STEPS, 300.0)] * 3)
    iv = bootstrap_over_seeds(STEPS, same, memorization_step, resamples=200)
    assert iv.step == pytest.approx(300.0) and iv.low == pytest.approx(300.0) and iv.high == pytest.approx(300.0)
    spread = np.stack([_ramp(STEPS, tau, width=50.0) for tau in (200.0, 300.0, 450.0)])
    iv = bootstrap_over_seeds(STEPS, spread, memorization_step, resamples=500)
    # the mean of curves linear in log s crosses at the geometric mean of their crossings: 300
    assert iv.step == pytest.approx(300.0) and iv.not_reached == 0.0
    assert 200.0 < iv.low < 290.0 and 310.0 < iv.high <= 450.0 * (1 + 1e-12)


def test_power_law_recovers_its_exponent():
    """τ(n) = 5 n^α: the fit returns α; with seeds scattered by a factor around τ(n) the interval holds α."""
    ns = [8, 16, 32, 64]
    for alpha in (1.0, 0.5):
        steps = {n: STEPS for n in ns}
        exact = {n: np.stack([_ramp(STEPS, 5.0 * n**alpha, width=50.0)] * 3) for n in ns}
        fit = power_law_over_seeds(steps, exact, memorization_step, resamples=100)
        assert fit.alpha == pytest.approx(alpha, abs=1e-9) and fit.sizes == 4
        assert fit.low == pytest.approx(alpha, abs=1e-9) and fit.high == pytest.approx(alpha, abs=1e-9)
        noisy = {n: np.stack([_ramp(STEPS, 5.0 * n**alpha * f, width=50.0) for f in (0.8, 1.0, 1.25)]) for n in ns}
        fit = power_law_over_seeds(steps, noisy, memorization_step, resamples=500)
        assert fit.low < alpha < fit.high and fit.high - fit.low < 0.5
    late = {8: np.stack([_ramp(STEPS, 100.0)] * 2), 16: np.stack([np.zeros(13)] * 2)}
    with pytest.raises(ValueError, match="two sizes"):
        power_law_over_seeds({8: STEPS, 16: STEPS}, late, memorization_step)


def test_largest_memorizing_n_is_where_the_fraction_stops_staying_above_the_level():
    assert largest_memorizing_n([8, 16, 32, 64], [1.0, 0.95, 0.6, 0.92]) == 16  # 64 does not count: 32 fell below
    assert largest_memorizing_n([64, 8], [0.99, 0.97]) == 64
    assert largest_memorizing_n([8, 16], [0.5, 1.0]) == 0
