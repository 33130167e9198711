"""Grids and labels shared by every experiment (numpy only: the Snakefile imports it at each start).

m, the number of noise samples per data point, is an integer >= 1 or infinity; tables hold it as a
label ('1', '10', 'inf') so that results never contain Inf.
"""

from __future__ import annotations

import argparse
import math

import numpy as np


def parse_m(m) -> float:
    """A config value or table label of m: an integer ≥ 1 (or its digits) or 'inf'."""
    if isinstance(m, str) and m.lower() in ("inf", "infinity"):
        return math.inf
    if isinstance(m, str) and m.isdigit():
        m = int(m)
    if isinstance(m, (int, np.integer, float)) and (math.isinf(m) or (m >= 1 and m == int(m))):
        return float(m)
    raise ValueError(f"m must be an integer >= 1 or 'inf', got {m!r}")


def m_label(m: float) -> str:
    """Tables hold m as a label ('1', '10', 'inf'): results never contain Inf."""
    return "inf" if math.isinf(m) else str(int(m))


def log_grid(spec: dict) -> np.ndarray:
    """{min, max, num} -> num log-spaced values."""
    return np.geomspace(spec["min"], spec["max"], spec["num"])


def log_int_grid(n_min: int, n_max: int, num: int) -> np.ndarray:
    """Up to ``num`` distinct integers, geometrically spaced from n_min to n_max inclusive."""
    return np.unique(np.round(np.geomspace(n_min, n_max, num)).astype(np.int64))


def m_seed_key(m: float) -> int:
    """m as an integer key of a random stream (0 for m = ∞)."""
    return 0 if math.isinf(m) else int(m)


def log_cell_edges(values) -> np.ndarray:
    """Edges of the cells of a log-spaced grid: midpoints in log, half a step beyond each end."""
    lv = np.log(np.sort(np.asarray(values, float)))
    mid = (lv[1:] + lv[:-1]) / 2
    return np.exp(np.concatenate([[lv[0] - (mid[0] - lv[0])], mid, [lv[-1] + (lv[-1] - mid[-1])]]))


def sample_grid_key(m_text: str, p: int, resolution: int) -> str:
    """Key prefix of the sample grid of (resolution, m label, p) in an RF-on-images samples.npz
    (arrays <key>_samples, <key>_nearest, <key>_ratio)."""
    return f"r{int(resolution)}_m{m_text}_p{int(p)}"


def n_trial_blocks(trials: int, per_job: int) -> int:
    """Blocks of ``per_job`` trials that cover ``trials`` trials."""
    return math.ceil(trials / per_job)


def trial_block(trials: int, per_job: int, block: int) -> str:
    """Global trial indices of block ``block`` as START:STOP, the text :func:`trial_range` parses."""
    start = int(block) * per_job
    return f"{start}:{min(start + per_job, trials)}"


def trial_range(text: str) -> range:
    """START:STOP of a block of global trial indices (an argparse type; written by :func:`trial_block`)."""
    try:
        start, stop = (int(x) for x in text.split(":"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--trials must be START:STOP, got {text!r}") from exc
    if not 0 <= start < stop:
        raise argparse.ArgumentTypeError(f"--trials must satisfy 0 <= START < STOP, got {text!r}")
    return range(start, stop)
