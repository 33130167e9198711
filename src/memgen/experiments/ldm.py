"""Trial sweeps of Paper B's linear diffusion model (Figs. 2-3) and their summaries.

Command line (one Snakemake job = one block of trials for one dimension d):

    python -m memgen.experiments.ldm hellinger  --config JSON --trials 0:50 --seed S --out T.parquet
    python -m memgen.experiments.ldm transition --config JSON --trials 0:50 --seed S --out T.parquet
    python -m memgen.experiments.ldm summarise {hellinger,transition} --out S.parquet T1.parquet T2.parquet ...

(--config: {"shared": {"model": ldm.model}, "experiment": ldm.<experiment> with its one sweep of
dimension d under "sweep"}, as the workflow's stage_config writes it.)

Every trial draws from its own stream (seed, experiment, d, trial[, n]), so results do
not depend on how trials are split into blocks.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from memgen.io import provenance, read_tables, write_table
from memgen.kde import (
    check_equal_diagonals,
    log_kde_gaussian_overlap,
    log_pair_overlap,
    probability_positive,
    transition_delta,
)
from memgen.linear import (
    COVARIANCES,
    LinearDiffusionParams,
    fit_generated_laws,
    gaussian_hellinger2,
    isotropic_law,
    kernel_width_large_d,
    noise_data,
    sample_gaussian_data,
)
from memgen.grids import log_int_grid, trial_range
from memgen.paper_arithmetic import float32_delta_sign, float32_self_term, hellinger2_det_cutoff
from memgen.seeding import torch_generator


@dataclass(frozen=True)
class Sweep:
    """One dimension d and its grid of training-set sizes n: ``num`` log-spaced values from n_min to n_max,
    and n = d + k for each offset k of ``near_d`` (within the range), so that the grid holds n = d."""

    d: int
    n_min: int
    n_max: int
    num: int
    near_d: tuple[int, ...] = (-1, 0, 1)

    @property
    def n_grid(self) -> np.ndarray:
        near = [self.d + k for k in self.near_d if self.n_min <= self.d + k <= self.n_max]
        return np.union1d(log_int_grid(self.n_min, self.n_max, self.num), np.asarray(near, dtype=np.int64))


def model_from_config(model: dict) -> tuple[LinearDiffusionParams, tuple[str, ...]]:
    """(params, covariance conventions to evaluate) from the config slice ``ldm.model``."""
    params = LinearDiffusionParams(mu=model["mu"], sigma=model["sigma"], T=model["T"], lam=model["lambda"])
    first = model["covariance"]
    others = tuple(c for c in COVARIANCES if c != first) if model.get("compare_covariance", True) else ()
    return params, (first, *others)


def _training_pair(params: LinearDiffusionParams, n: int, d: int, g: torch.Generator):
    Y = sample_gaussian_data(n, d, params.mu, params.sigma, g)
    return Y, noise_data(Y, params, g)


def hellinger_trials(
    sweep: Sweep, trials: range, params: LinearDiffusionParams, covariances, seed: int
) -> pd.DataFrame:
    """E[H^2(rho || rho_G)] samples (eq. 18): one row per (n, trial, covariance); ``h2_paper`` is the same
    with the authors' determinant cut-off (``paper_arithmetic.hellinger2_det_cutoff``)."""
    truth = isotropic_law(sweep.d, params.mu, params.sigma)
    rows = []
    for trial in tqdm(trials, desc=f"hellinger d={sweep.d}", mininterval=5):
        for n in sweep.n_grid:
            g = torch_generator(seed, "ldm_hellinger", sweep.d, trial, n)
            Y, X = _training_pair(params, int(n), sweep.d, g)
            for cov, law in fit_generated_laws(Y, X, params, covariances).items():
                rows.append(
                    dict(
                        d=sweep.d,
                        n=int(n),
                        trial=trial,
                        covariance=cov,
                        h2=gaussian_hellinger2(truth, law),
                        h2_paper=hellinger2_det_cutoff(truth, law),
                        rank=law.rank,
                    )
                )
    return pd.DataFrame(rows)


def transition_trials(
    sweep: Sweep, trials: range, params: LinearDiffusionParams, covariances, N: int, seed: int, paper: bool = True
) -> pd.DataFrame:
    """Delta = E_TG - E_OG (eq. 20) per (n, trial, covariance), stored as its sign, log|Delta| and the
    logs of its four terms (``kde.transition_delta``: the equal diagonal parts of the two self-overlaps
    cancelled analytically, pair parts P_T, P_O and cross terms kept). The original set (N points,
    width sigma N^{-1/d}) is fresh per trial and shared by the n-grid; P_O is computed once per
    original set. With ``paper``, ``delta_sign_paper`` is the sign the authors' float32 arithmetic gives
    for the same sets and law (``paper_arithmetic.float32_delta_sign``)."""
    d, sigma = sweep.d, params.sigma
    eps_orig = float(kernel_width_large_d(sigma, d, N))
    rows = []
    for trial in tqdm(trials, desc=f"transition d={d}", mininterval=5):
        original = sample_gaussian_data(N, d, params.mu, sigma, torch_generator(seed, "ldm_original", d, trial))
        log_pairs_orig = log_pair_overlap(original, eps_orig)
        paper_self_orig = float32_self_term(original, sigma) if paper else None
        for n in sweep.n_grid:
            g = torch_generator(seed, "ldm_transition", d, trial, n)
            Y, X = _training_pair(params, int(n), d, g)
            eps_train = float(kernel_width_large_d(sigma, d, n))
            check_equal_diagonals(d, eps_train, int(n), eps_orig, N)
            log_pairs_train = log_pair_overlap(Y, eps_train)
            paper_self_train = float32_self_term(Y, sigma) if paper else None
            for cov, law in fit_generated_laws(Y, X, params, covariances).items():
                log_cross_train = log_kde_gaussian_overlap(Y, eps_train, law.mean, law.cov)
                log_cross_orig = log_kde_gaussian_overlap(original, eps_orig, law.mean, law.cov)
                delta = transition_delta(log_pairs_train, log_cross_train, log_pairs_orig, log_cross_orig)
                extra = (
                    {"delta_sign_paper": float32_delta_sign(Y, original, law, sigma, paper_self_train, paper_self_orig)}
                    if paper
                    else {}
                )
                rows.append(
                    dict(
                        d=d,
                        n=int(n),
                        trial=trial,
                        covariance=cov,
                        delta_sign=delta.sign,
                        log_abs_delta=delta.log_abs,
                        log_pairs_train=log_pairs_train,
                        log_cross_train=log_cross_train,
                        log_pairs_orig=log_pairs_orig,
                        log_cross_orig=log_cross_orig,
                        rank=law.rank,
                        **extra,
                    )
                )
    return pd.DataFrame(rows)


def summarise_hellinger(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard error of H^2 per (d, n, covariance), and of ``h2_paper`` when the trials have it."""
    cols = [c for c in ("h2", "h2_paper") if c in df]
    g = df.groupby(["d", "n", "covariance"])
    out = g.size().rename("trials").reset_index()
    for col in cols:
        stats = g[col].agg(["mean", "std"]).reset_index(drop=True)
        out[f"{col}_mean"] = stats["mean"].to_numpy()
        out[f"{col}_std"] = stats["std"].fillna(0.0).to_numpy()
        out[f"{col}_sem"] = (out[f"{col}_std"] / np.sqrt(out["trials"])).astype(float)
    return out


def summarise_transition(df: pd.DataFrame) -> pd.DataFrame:
    """P(Delta > 0) with its Wilson interval per (d, n, covariance); the same for the authors' arithmetic
    (``p_positive_paper``) when the trials have it."""
    rows = []
    for (d, n, cov), grp in df.groupby(["d", "n", "covariance"]):
        prop = probability_positive(grp["delta_sign"].to_numpy())
        row = dict(d=d, n=n, covariance=cov, p_positive=prop.p, ci_low=prop.low, ci_high=prop.high, trials=prop.trials)
        if "delta_sign_paper" in grp:
            paper = probability_positive(grp["delta_sign_paper"].to_numpy())
            row.update(p_positive_paper=paper.p, ci_low_paper=paper.low, ci_high_paper=paper.high)
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m memgen.experiments.ldm", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("hellinger", "transition"):
        p = sub.add_parser(name)
        p.add_argument(
            "--config",
            type=json.loads,
            required=True,
            help="JSON {shared: {model: ldm.model}, experiment: ldm.<name> with the one sweep {d, n_min, n_max, num}}",
        )
        p.add_argument("--trials", type=trial_range, required=True, help="START:STOP (global trial indices)")
        p.add_argument("--seed", type=int, required=True)
        p.add_argument("--out", required=True)
    s = sub.add_parser("summarise")
    s.add_argument("kind", choices=["hellinger", "transition"])
    s.add_argument("--out", required=True)
    s.add_argument("tables", nargs="+")
    args = parser.parse_args(argv)

    torch.set_default_dtype(torch.float64)
    start = time.perf_counter()
    if args.command == "summarise":
        table = (summarise_hellinger if args.kind == "hellinger" else summarise_transition)(read_tables(args.tables))
        meta = provenance({"inputs": args.tables}, seed=None, wall_time_s=time.perf_counter() - start)
    else:
        params, covariances = model_from_config(args.config["shared"]["model"])
        ex = args.config["experiment"]
        sweep = Sweep(**ex["sweep"])
        if args.command == "hellinger":
            table = hellinger_trials(sweep, args.trials, params, covariances, args.seed)
        else:
            paper = args.config["shared"]["model"].get("paper_arithmetic", True)
            table = transition_trials(sweep, args.trials, params, covariances, ex["N"], args.seed, paper)
        cfg = {**args.config, "trials": [args.trials.start, args.trials.stop]}
        meta = provenance(cfg, seed=args.seed, wall_time_s=time.perf_counter() - start)
    write_table(table, args.out, meta)
    print(f"wrote {len(table)} rows to {args.out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
