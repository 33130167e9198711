"""Helpers to run Snakemake on a private copy of the repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "results", "figures", "logs", ".snakemake", "__pycache__", "*.egg-info", ".pytest_cache", "bench"
)


def copy_repo(dest: Path) -> Path:
    shutil.copytree(REPO, dest, ignore=IGNORE)
    return dest


def snakemake(workdir: Path, *args: str, timeout: int = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {}))
    return subprocess.run(
        [str(BIN / "snakemake"), *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )


def make(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """`make ARGS` as a user types it in a shell: a top-level make (no MAKELEVEL or MAKEFLAGS inherited
    from a make that runs this suite, which would add make's "Entering directory" lines), with the
    running venv, which is never reinstalled from the copy (-o its stamp)."""
    venv = BIN.parent
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")}
    cmd = ["make", "-o", f"{venv}/.installed", *args, f"VENV={venv}"]
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)


def planned_jobs(output: str) -> dict[str, int]:
    """Rule name -> job count from the 'Job stats' table of a (dry) run."""
    m = re.search(r"Job stats:\n(.*?)\n\n", output, re.S)
    if not m:
        return {}
    jobs = {}
    for line in m.group(1).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("job", "total"):
            jobs[parts[0]] = int(parts[1])
    return jobs


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path
