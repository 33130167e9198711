"""Benchmarks of Paper B's linear diffusion model (CPU).

    python bench/bench_ldm.py            # trial rate at d = 100, N = 1e4, n = 100 (+ kernel comparison)
    python bench/bench_ldm.py --sweep    # also the wall time of the paper-scale Fig. 3 sweep
                                         # (snakemake on config.yaml in a scratch copy, all cores)

Prints medians over repeats; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TQDM_DISABLE", "1")
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.distance import pdist
from scipy.special import logsumexp

from memgen.experiments.ldm import Sweep, model_from_config, transition_trials
from memgen.kde import log_self_overlap
from timing import median_time  # bench/timing.py (the script directory is on sys.path)

REPO = Path(__file__).resolve().parents[1]
MODEL = {
    "mu": 10.0,
    "sigma": 1.0,
    "T": 2.0,
    "lambda": float(np.exp(-4)),
    "covariance": "exact",
    "compare_covariance": False,
}


def naive_log_self_overlap(x: np.ndarray, eps: float) -> float:
    """Reference: all pairs from scipy's pdist, one logsumexp (O(N^2) memory)."""
    n, d = x.shape
    logs = -pdist(x, "sqeuclidean") / (4 * eps * eps)
    return (
        float(logsumexp(np.concatenate([np.zeros(n), logs, logs])))
        - 2 * np.log(n)
        - 0.5 * d * np.log(4 * np.pi * eps * eps)
    )


def bench_trial_rate(repeats: int) -> None:
    params, covs = model_from_config(MODEL)
    sweep = Sweep(d=100, n_min=100, n_max=100, num=1)
    counter = iter(range(10**6))
    transition_trials(sweep, range(1), params, covs, 10_000, seed=0)  # warm-up

    def one_trial(paper: bool):
        k = next(counter)
        transition_trials(sweep, range(k, k + 1), params, covs, 10_000, seed=0, paper=paper)

    times = {paper: [] for paper in (False, True)}
    for _ in range(repeats):  # alternated, so that both see the same machine load
        for paper in times:
            times[paper].append(median_time(lambda: one_trial(paper), 1))
    ours, both = (float(np.median(times[p])) for p in (False, True))
    print(
        f"P(Delta>0) trial, d=100, N=1e4, n=100, one convention: median {ours * 1e3:.0f} ms -> {1 / ours:.2f} trials/s "
        f"({torch.get_num_threads()} threads); with the authors' float32 arithmetic beside: {both * 1e3:.0f} ms "
        f"({both / ours:.2f}x)"
    )

    x = torch.randn(10_000, 100, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    eps = 10_000 ** (-1 / 100)
    fast = median_time(lambda: log_self_overlap(x, eps), repeats)
    naive = median_time(lambda: naive_log_self_overlap(x.numpy(), eps), max(1, repeats // 2))
    diff = abs(log_self_overlap(x, eps) - naive_log_self_overlap(x.numpy(), eps))
    print(
        f"int rho_O^2, N=1e4, d=100: blocked torch {fast * 1e3:.0f} ms vs pdist+logsumexp {naive * 1e3:.0f} ms "
        f"-> {naive / fast:.1f}x (|difference| of logs {diff:.1e})"
    )


def bench_sweep(cores: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "repo"
        shutil.copytree(
            REPO,
            work,
            ignore=shutil.ignore_patterns(".venv", ".git", "results", "figures", "logs", ".snakemake", "bench"),
        )
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        t = time.perf_counter()
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "snakemake"),
                "results/ldm/transition_summary.parquet",
                "--cores",
                str(cores),
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            raise SystemExit("paper-scale sweep failed")
        import pandas as pd

        df = pd.read_parquet(work / "results" / "ldm" / "transition_summary.parquet")
        print(
            f"paper-scale Fig. 3 sweep (config.yaml: d in {sorted(int(d) for d in df.d.unique())}, {df.n.nunique()} distinct n, "
            f"{int(df.trials.min())} trials per n, both conventions) on {cores} cores: {wall:.0f} s wall"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--sweep", action="store_true", help="also time the paper-scale Fig. 3 sweep")
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    args = ap.parse_args()
    bench_trial_rate(args.repeats)
    if args.sweep:
        bench_sweep(args.cores)


if __name__ == "__main__":
    main()
