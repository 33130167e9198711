"""Tidy result tables (parquet) with JSON provenance sidecars, written atomically.

Every table's sidecar records the sha256 of the table's bytes, and :func:`read_table` checks it,
so a table damaged after it was written is refused with its name, never read back as numbers.
Nothing non-finite is written: tables, arrays and sidecars are checked first.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

_VERSIONED = ("memgen", "numpy", "scipy", "pandas", "pyarrow", "torch", "snakemake")


def sidecar_path(table: str | Path) -> Path:
    """results/x/y.parquet -> results/x/y.json"""
    return Path(table).with_suffix(".json")


def git_commit(start: str | Path = ".") -> str:
    """HEAD of the repository containing ``start`` (suffixed '+dirty' if modified), or 'unknown'."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=start, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=start,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def provenance(config_slice: dict, seed: int | None, wall_time_s: float, device: str = "cpu", **extra) -> dict:
    """The sidecar record: commit, config slice, seed, versions, device, wall time."""
    return {
        "commit": git_commit(Path(__file__).resolve().parent),
        "config": config_slice,
        "seed": seed,
        "versions": package_versions(),
        "device": device,
        "host": socket.gethostname(),
        "argv": sys.argv,
        "wall_time_s": round(float(wall_time_s), 4),
        **extra,
    }


def check_finite(df: pd.DataFrame, where: str) -> None:
    """Refuse to write NaN or Inf: name the column and the first offending row."""
    for col in df.columns:
        if pd.api.types.is_numeric_dtype(df[col]):
            values = df[col].to_numpy(dtype=np.float64)
            bad = ~np.isfinite(values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{where}: column {col!r} has a non-finite value ({values[row]}) at row {row}")


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``
    (readable by all, like an ordinary file); on any failure the temporary file is removed.
    Temporary files of ``path`` left by a killed writer (``.<name>.*.tmp``) are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_npz(path: str | Path, arrays: dict) -> None:
    """Write ``arrays`` as an .npz file, through a temporary file and a rename; refuses NaN or Inf."""
    for key, arr in arrays.items():
        arr = np.asarray(arr)
        if np.issubdtype(arr.dtype, np.number) and not np.isfinite(arr).all():
            raise ValueError(f"{path}: array {key!r} has non-finite values; nothing written")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(Path(path), lambda tmp: Path(tmp).write_bytes(buf.getvalue()))


def write_table(df: pd.DataFrame, path: str | Path, meta: dict) -> None:
    """Write ``df`` to parquet and ``meta`` + the table's sha256 to the JSON sidecar, each via temp file
    + rename. Refuses NaN/Inf in the table and in the sidecar (no 'NaN' or 'Infinity' tokens)."""
    path = Path(path)
    check_finite(df, str(path))
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    data = buf.getvalue()
    try:
        text = json.dumps(
            {**meta, "sha256": hashlib.sha256(data).hexdigest()}, indent=2, sort_keys=True, default=str, allow_nan=False
        )
    except ValueError as exc:
        raise ValueError(f"{sidecar_path(path)}: the provenance holds a non-finite number ({exc}); nothing written")
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
    atomic_write(sidecar_path(path), lambda tmp: Path(tmp).write_text(text))


def read_table(path: str | Path) -> pd.DataFrame:
    """A results table, after checking its bytes against the sha256 its sidecar records."""
    path = Path(path)
    remedy = f"delete it and its sidecar and rebuild it (snakemake {path})"
    try:
        expected = json.loads(sidecar_path(path).read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: no readable sha256 in {sidecar_path(path)} ({exc}); {remedy}") from exc
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != expected:
        raise ValueError(f"{path}: its bytes do not match the sha256 in {sidecar_path(path)} (damaged); {remedy}")
    return pd.read_parquet(io.BytesIO(data))


def read_tables(paths) -> pd.DataFrame:
    """Concatenate several results tables, each checked by :func:`read_table`."""
    return pd.concat([read_table(p) for p in paths], ignore_index=True)
