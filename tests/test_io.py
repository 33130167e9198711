"""Result tables: atomic writes, provenance sidecars, no NaN or Inf."""

import json
import math

import pandas as pd
import pytest

from memgen.io import provenance, sidecar_path, write_table


def test_write_table_with_sidecar(tmp_path):
    path = tmp_path / "sub" / "t.parquet"
    df = pd.DataFrame({"n": [1, 2], "x": [0.5, 1.5]})
    write_table(df, path, provenance({"a": 1}, seed=3, wall_time_s=0.25))
    pd.testing.assert_frame_equal(pd.read_parquet(path), df)
    meta = json.loads(sidecar_path(path).read_text())
    assert meta["config"] == {"a": 1} and meta["seed"] == 3 and meta["wall_time_s"] == 0.25
    assert {"commit", "versions", "device"} <= set(meta) and "numpy" in meta["versions"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_refused_and_old_table_kept(tmp_path, bad):
    path = tmp_path / "t.parquet"
    good = pd.DataFrame({"n": [1], "x": [1.0]})
    write_table(good, path, {"v": 1})
    with pytest.raises(ValueError, match="column 'x'"):
        write_table(pd.DataFrame({"n": [1, 2], "x": [0.0, bad]}), path, {"v": 2})
    pd.testing.assert_frame_equal(pd.read_parquet(path), good)
    assert json.loads(sidecar_path(path).read_text()) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "t.parquet"]  # no temp files left
