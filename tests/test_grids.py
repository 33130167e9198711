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


def test_sample_grid_key():
    assert (
        sample_grid_key("inf", 640, 7) == "r7_minf_p640"
        and sample_grid_key("1", np.int64(10), np.int64(14)) == "r14_m1_p10"
    )
