"""When during training memorization begins: crossing times of curves saved along training, their
bootstrap intervals over training seeds, and the power law τ ∝ n^α across training-set sizes.

Curves are known at saved optimizer steps s_1 < … < s_T (a geometric grid). The time at which a curve
v(s) first exceeds a level c is interpolated linearly in log s between the last saved step below c and
the first above:
    log τ = log s_{k−1} + (c − v_{k−1}) / (v_k − v_{k−1}) · (log s_k − log s_{k−1}).
A curve above c at s_1 has crossed before the first saved step (τ ≤ s_1, reported as s_1 and
``before_first``); one never above c has not crossed within training (τ > s_T, ``not_reached``).

- τ_mem: the memorized fraction first exceeds ½.
- τ_gen: the test loss first comes within 5 % of its minimum over the saved steps, L(s) ≤ 1.05 min L.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CROSSED, BEFORE_FIRST, NOT_REACHED = "crossed", "before_first", "not_reached"
MEMORIZED_LEVEL = 0.5  # τ_mem: the memorized fraction exceeds ½
GENERALIZED_TOLERANCE = 0.05  # τ_gen: the test loss within 5 % of its minimum


@dataclass(frozen=True)
class Crossing:
    step: float  # τ (s_1 when before_first, s_T when not_reached)
    status: str  # crossed, before_first or not_reached


def crossing_step(steps, values, level: float) -> Crossing:
    """The first step where ``values`` (at the increasing ``steps``) exceeds ``level``, interpolated in log step."""
    s, v = np.asarray(steps, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if s.ndim != 1 or s.shape != v.shape or len(s) == 0 or np.any(np.diff(s) <= 0) or s[0] <= 0:
        raise ValueError(f"crossing_step needs increasing positive steps and one value each, got {s} and {v}")
    above = np.flatnonzero(v > level)
    if len(above) == 0:
        return Crossing(float(s[-1]), NOT_REACHED)
    k = int(above[0])
    if k == 0:
        return Crossing(float(s[0]), BEFORE_FIRST)
    frac = (level - v[k - 1]) / (v[k] - v[k - 1])
    return Crossing(float(np.exp(np.log(s[k - 1]) + frac * (np.log(s[k]) - np.log(s[k - 1])))), CROSSED)


def memorization_step(steps, memorized) -> Crossing:
    """τ_mem: the memorized fraction first exceeds ½."""
    return crossing_step(steps, memorized, MEMORIZED_LEVEL)


def generalization_step(steps, test_loss) -> Crossing:
    """τ_gen: the test loss first comes within 5 % of its minimum over the saved steps (the crossing of
    −L above −1.05 min L)."""
    loss = np.asarray(test_loss, dtype=np.float64)
    return crossing_step(steps, -loss, -(1 + GENERALIZED_TOLERANCE) * loss.min())


@dataclass(frozen=True)
class SeedInterval:
    step: float  # τ of the curve averaged over the seeds
    status: str
    low: float  # 2.5 % and 97.5 % percentiles of τ over bootstrap resamples of the seeds
    high: float
    not_reached: float  # the fraction of resamples whose mean curve never crossed (their τ counted as s_T)


def bootstrap_over_seeds(steps, curves, crossing, resamples: int = 2000, seed: int = 0) -> SeedInterval:
    """τ = ``crossing``(steps, mean curve) of ``curves`` (seeds × steps), with a percentile interval over
    ``resamples`` resamples of the seeds with replacement (deterministic in ``seed``)."""
    curves = np.atleast_2d(np.asarray(curves, dtype=np.float64))
    point = crossing(steps, curves.mean(0))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(curves), size=(resamples, len(curves)))
    taus = [crossing(steps, curves[p].mean(0)) for p in picks]
    values = np.array([t.step for t in taus])
    low, high = np.percentile(values, [2.5, 97.5])
    return SeedInterval(
        point.step, point.status, float(low), float(high), float(np.mean([t.status == NOT_REACHED for t in taus]))
    )


@dataclass(frozen=True)
class PowerLaw:
    alpha: float  # τ ≈ c n^α
    log_c: float
    low: float  # 2.5 % and 97.5 % percentiles of α over bootstrap resamples of the seeds at every n
    high: float
    sizes: int  # how many n entered the fit


def fit_power_law(ns, taus) -> tuple[float, float]:
    """(α, log c) of the least-squares line log τ = log c + α log n."""
    alpha, log_c = np.polyfit(np.log(np.asarray(ns, float)), np.log(np.asarray(taus, float)), 1)
    return float(alpha), float(log_c)


def power_law_over_seeds(steps, curves_by_n: dict, crossing, resamples: int = 2000, seed: int = 0) -> PowerLaw:
    """τ(n) ∝ n^α fitted over the n whose seed-mean curve crossed (``curves_by_n``: n → seeds × steps, at
    the saved ``steps`` of that n: n → steps), with a percentile interval for α from resampling the seeds
    of every n with replacement and refitting (resamples in which an n did not cross leave it out)."""
    crossed = {n: c for n, c in curves_by_n.items() if crossing(steps[n], np.mean(c, axis=0)).status == CROSSED}
    if len(crossed) < 2:
        raise ValueError(f"a power law needs two sizes n whose curve crossed, got {sorted(crossed)}")
    ns = sorted(crossed)
    alpha, log_c = fit_power_law(ns, [crossing(steps[n], np.mean(crossed[n], axis=0)).step for n in ns])
    rng = np.random.default_rng(seed)
    alphas = []
    for _ in range(resamples):
        pts = []
        for n in ns:
            c = np.asarray(crossed[n], dtype=np.float64)
            tau = crossing(steps[n], c[rng.integers(0, len(c), len(c))].mean(0))
            if tau.status == CROSSED:
                pts.append((n, tau.step))
        if len(pts) >= 2:
            alphas.append(fit_power_law(*zip(*pts))[0])
    low, high = np.percentile(alphas, [2.5, 97.5])
    return PowerLaw(alpha, log_c, float(low), float(high), len(ns))


def largest_memorizing_n(ns, memorized, level: float = 0.9) -> int:
    """The largest n up to which the memorized fraction (at the end of training) stays at least ``level``:
    it and every smaller n of the grid memorize ≥ level — the "effective model memorization" of Gu et al.
    (2023) on this grid of n; 0 when the smallest n already falls below."""
    largest = 0
    for n, f in sorted(zip(map(int, ns), memorized)):
        if f < level:
            break
        largest = n
    return largest
