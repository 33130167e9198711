"""Result tables: atomic writes, provenance sidecars, no NaN or Inf."""

import json
import math

import pandas as pd
import pytest

import numpy as np

from memgen.io import atomic_write, provenance, read_table, read_tables, sidecar_path, write_npz, write_table


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
    assert {k: v for k, v in json.loads(sidecar_path(path).read_text()).items() if k != "sha256"} == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "t.parquet"]  # no temp files left


def test_every_bit_flip_of_a_table_is_refused_by_its_reader(tmp_path):
    """The sidecar records the table's sha256 and read_table checks it: a flip anywhere is refused with the
    file named (before, 112 of 742 single-bit flips read back silently with other values)."""
    path = tmp_path / "t.parquet"
    write_table(pd.DataFrame({"n": [10, 20, 40], "h2_mean": [0.9388, 0.51, 0.2]}), path, {"v": 1})
    pd.testing.assert_frame_equal(read_table(path), pd.read_parquet(path))
    raw = path.read_bytes()
    for pos in range(0, len(raw), 7):
        flipped = bytearray(raw)
        flipped[pos] ^= 1 << (pos % 8)
        path.write_bytes(bytes(flipped))
        with pytest.raises(ValueError, match="do not match the sha256"):
            read_tables([path])
    path.write_bytes(raw)
    sidecar_path(path).write_text("{")  # a truncated sidecar
    with pytest.raises(ValueError, match="no readable sha256"):
        read_table(path)


def test_non_finite_arrays_and_sidecars_are_refused(tmp_path):
    with pytest.raises(ValueError, match="array 'x' has non-finite values"):
        write_npz(tmp_path / "a.npz", {"x": np.array([1.0, np.nan]), "k": np.arange(3)})
    with pytest.raises(ValueError, match="non-finite number"):
        write_table(pd.DataFrame({"n": [1]}), tmp_path / "t.parquet", {"T": math.inf})
    assert list(tmp_path.iterdir()) == []


def test_temporary_files_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    path = tmp_path / "fig.png"
    stale = tmp_path / ".fig.png.abc123.tmp"
    stale.write_bytes(b"")  # what a kill in the middle of a write leaves
    other = tmp_path / ".other.png.abc123.tmp"
    other.write_bytes(b"")  # another file's: left alone
    atomic_write(path, lambda tmp: open(tmp, "wb").write(b"png"))
    assert path.read_bytes() == b"png" and not stale.exists() and other.exists()
