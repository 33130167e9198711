"""The reference stays the code's: a cheap job of each stage behind reference/cpu/ is rerun with this
checkout's code and its table compared with the committed one. A code change that moves a result
fails here until the reference (and the text that quotes it) is rebuilt (`make reference STAGE=cpu`).

Deterministic float64 jobs must agree to 1e-9 relative (the summation order of another BLAS build may
move the last bits; labels, counts and signs exactly); a job cut to one point or one trial must give
the reference's first rows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from memgen.io import read_table
from memgen.reference import rerun_job

CPU = Path(__file__).resolve().parents[1] / "reference" / "cpu"


def _one_point_per_block(config: dict) -> dict:
    return {**config, "shared": {**config["shared"], "points_per_job": 1}}


TIMINGS = ("wall_time_s", "train_seconds")
JOBS = [
    ("ldm/hellinger/d16/block000.parquet", None),
    ("ldm/transition/d16/block000.parquet", None),
    ("ldm/transition_summary.parquet", None),  # from the reference's four blocks
    ("kde_width/curves.parquet", None),
    ("kde_width/optima.parquet", None),
    ("rf/role_of_m/theory.parquet", None),
    ("rf/role_of_m/simulation/block000.parquet", None),
    ("rf/role_of_m/simulation.parquet", None),
    ("rf/learning_curves/theory.parquet", None),
    ("bridge/transition/theory.parquet", None),
    ("bridge/transition/block000.parquet", _one_point_per_block),  # the grid's first point, every seed
    ("bridge/transition/summary.parquet", None),
]


def assert_same_rows(rerun: pd.DataFrame, reference: pd.DataFrame, where: str) -> None:
    """``rerun`` equals the first len(rerun) rows of ``reference``: numbers to 1e-9 relative, the rest
    exactly; timings (``wall_time_s``, ``train_seconds``) are not results."""
    assert list(rerun.columns) == list(reference.columns), where
    reference = reference.head(len(rerun)).reset_index(drop=True)
    assert len(rerun) == len(reference) > 0, where
    for column in (c for c in rerun.columns if c not in TIMINGS):
        a, b = rerun[column], reference[column]
        if pd.api.types.is_float_dtype(a):
            assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=False), (where, column, a.values, b.values)
        elif a.map(lambda v: isinstance(v, np.ndarray)).any():
            for x, y in zip(a, b):
                assert np.allclose(x, y, rtol=1e-9, atol=1e-12), (where, column)
        else:
            assert a.tolist() == b.tolist(), (where, column)


@pytest.mark.parametrize(("table", "edit"), JOBS, ids=[t for t, _ in JOBS])
def test_a_rerun_reproduces_the_reference_table(tmp_path, table, edit):
    rerun, reference = rerun_job(table, CPU, tmp_path, edit)
    assert_same_rows(read_table(rerun), read_table(reference), table)


def test_a_moved_result_is_caught(tmp_path):
    """The comparison fails when one number of a deterministic table moves by 1e-6 relative."""
    rerun, reference = rerun_job("rf/role_of_m/theory.parquet", CPU, tmp_path)
    moved = read_table(reference)
    column = next(c for c in moved.columns if pd.api.types.is_float_dtype(moved[c]) and moved[c].abs().max() > 0)
    moved.loc[0, column] = moved.loc[0, column] * (1 + 1e-6) + 1e-9
    with pytest.raises(AssertionError):
        assert_same_rows(read_table(rerun), moved, "moved")
