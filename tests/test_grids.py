"""Grids shared by the experiments: trial blocks, log-grid cell edges, sample-grid keys."""

import argparse

import numpy as np
import pytest

from memgen.grids import log_cell_edges, n_trial_blocks, sample_grid_key, trial_block, trial_range


def test_trial_blocks_cover_every_trial_once_and_round_trip_through_the_parser():
    for trials, per_job in [(300, 50), (7, 3), (1, 5), (20, 20)]:
        blocks = [trial_range(trial_block(trials, per_job, b)) for b in range(n_trial_blocks(trials, per_job))]
        assert [i for r in blocks for i in r] == list(range(trials))
        assert all(len(r) <= per_job for r in blocks)
    assert trial_block(7, 3, 2) == "6:7"
    with pytest.raises(argparse.ArgumentTypeError, match="START:STOP"):
        trial_range("6-7")


def test_log_cell_edges_bracket_each_point_at_the_log_midpoints():
    v = np.array([0.25, 0.5, 1.0, 2.0])
    e = log_cell_edges(v[::-1])  # order does not matter
    np.testing.assert_allclose(e, [0.25 / 2**0.5, 0.25 * 2**0.5, 0.5 * 2**0.5, 2**0.5, 2 * 2**0.5], rtol=1e-14)
    assert np.all(e[:-1] < v) and np.all(v < e[1:])


def test_sample_grid_keys_name_each_grid_once_whatever_the_integer_type():
    """The driver writes <key>_samples, <key>_nearest, <key>_ratio per (resolution, m, p) and the
    notebook looks them up with values read back from a table (numpy integers): every grid of a run
    gets its own three arrays (no two grids share an array name), and numpy and Python integers
    give the same key."""
    grid = [(r, m, p) for r in (7, 14) for m in ("1", "10", "inf") for p in (10, 100, 1000, 6400)]
    keys = [sample_grid_key(m, p, r) for r, m, p in grid]
    assert len(set(keys)) == len(grid)
    arrays = {f"{k}_{part}" for k in keys for part in ("samples", "nearest", "ratio")}
    assert len(arrays) == 3 * len(grid)
    assert keys == [sample_grid_key(m, np.int64(p), np.int64(r)) for r, m, p in grid]
