"""Theory curves and finite-d simulations of RF-DSM for Paper A's Gaussian figures.

One experiment = one figure, named by ``kind``:

    learning_curves  E vs ψ_p for each (t, m, ψ_n)
    vs_psi_n         E vs ψ_n for each (m, ψ_p) at one t
    phase_diagram    E_test − E_train and E_score over a log (ψ_n, ψ_p) grid, per m
    role_of_m        E vs m (1 … m_max and ∞) at one ψ_n, for each ψ_p
    convergence      D_emp, D_true and C of the learning-curve grid at several d, against their d → ∞
                     limit (``docs/rf-dsm-theory.md`` §8), and C against t at one (ψ_n, ψ_p)

Command line (the config slice is ``{activation, lambda, d, seeds, points_per_job, experiment}``):

    python -m memgen.experiments.rf theory    KIND --config JSON --out T.parquet
    python -m memgen.experiments.rf simulate  KIND --config JSON --block B --seed S --out T.parquet
    python -m memgen.experiments.rf summarise KIND --config JSON --out T.parquet BLOCK.parquet ...

A simulation block runs its share of the experiment's simulated points for every seed.
W and the training set derive from (seed, d, p, n, seed index) only, so points that differ
only in m or t share them (common random numbers); noises follow in the same stream.
Results do not depend on the blocking.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pandas as pd

from memgen.grids import log_grid, m_label, parse_m
from memgen.io import provenance, read_tables, write_table
from memgen.rf_model import RFProblem, segment_geometry
from memgen.rf_theory import CURVES, learning_curves

# Planning (point lists, block counts) imports neither torch nor memgen.rf: the Snakefile
# calls it at every start. The simulation imports them when it runs.

KINDS = ("learning_curves", "vs_psi_n", "phase_diagram", "role_of_m", "convergence")
ERRORS = ("E_train", "E_train_penalised", "E_test", "E_score")
# A simulated mean agrees with the d → ∞ limit when within 3 % of it or within 3 standard errors over seeds
# (for Monte Carlo estimates, the spread over seeds taken no smaller than one seed's own Monte Carlo error:
# summarise_simulation)
AGREEMENT = (0.03, 3.0)


def m_grid(m_max: int, num: int = 40) -> np.ndarray:
    """Integers 1 … m_max, log-spaced and deduplicated, then ∞."""
    return np.append(np.unique(np.round(np.geomspace(1, m_max, num))), np.inf)


def experiment_points(kind: str, ex: dict, simulated: bool) -> list[tuple]:
    """(t, m, ψ_n, ψ_p) of experiment ``kind`` (config rf.<kind> = ``ex``): the theory curves'
    grids, or with ``simulated`` the coarser grids simulated at finite d."""
    if kind == "learning_curves":
        grid = log_grid(ex["simulated_psi_p" if simulated else "psi_p"])
        return [(t, parse_m(m), pn, pp) for t in ex["times"] for m in ex["m"] for pn in ex["psi_n"] for pp in grid]
    if kind == "vs_psi_n":
        grid = log_grid(ex["simulated_psi_n" if simulated else "psi_n"])
        return [(ex["t"], parse_m(m), pn, pp) for m in ex["m"] for pp in ex["psi_p"] for pn in grid]
    if kind == "phase_diagram":
        g = log_grid(ex["grid"])
        pairs = ex["spot_checks"] if simulated else [(pn, pp) for pn in g for pp in g]
        return [(ex["t"], parse_m(m), pn, pp) for m in ex["m"] for pn, pp in pairs]
    if kind == "role_of_m":
        ms = [parse_m(m) for m in ex["simulated_m"]] if simulated else m_grid(ex["m_max"])
        return [(ex["t"], m, ex["psi_n"], pp) for pp in ex["psi_p"] for m in ms]
    if kind == "convergence":  # the learning-curve grid at several d, and C against t at one (ψ_n, ψ_p)
        grid = log_grid(ex["simulated_psi_p" if simulated else "psi_p"])
        pts = [(t, parse_m(m), pn, pp) for t in ex["times"] for m in ex["m"] for pn in ex["psi_n"] for pp in grid]
        if not simulated:
            at = ex["t_curve"]
            pts += [(t, parse_m(m), at["psi_n"], at["psi_p"]) for m in ex["m"] for t in log_grid(at["t"])]
        return pts
    raise ValueError(f"unknown experiment {kind!r}; expected one of {KINDS}")


def theory_points(kind: str, cfg: dict) -> pd.DataFrame:
    """The (t, m, ψ_n, ψ_p) points of an experiment's theory curves."""
    return pd.DataFrame(
        experiment_points(kind, cfg["experiment"], simulated=False), columns=["t", "m", "psi_n", "psi_p"]
    )


def simulation_points(kind: str, cfg: dict) -> list[RFProblem]:
    """The points simulated at finite d, in a fixed order."""
    pts = experiment_points(kind, cfg["experiment"], simulated=True)
    sh = cfg["shared"]
    dims = cfg["experiment"].get("d", [sh["d"]])  # rf.convergence simulates its grid at several d
    return [
        RFProblem(d, float(pp), float(pn), m, float(t), sh["lambda"], sh["activation"])
        for d in dims
        for t, m, pn, pp in pts
    ]


def simulation_cost(problem: RFProblem) -> float:
    """Rough flop count of one fit: moments (N p² or 25 n p² for m = ∞) and the p³ solve."""
    noisy = 25 * problem.n if math.isinf(problem.m) else problem.n * problem.m
    return noisy * problem.p**2 + problem.p**3


def n_simulation_blocks(kind: str, cfg: dict) -> int:
    return max(1, math.ceil(len(simulation_points(kind, cfg)) / cfg["shared"]["points_per_job"]))


def block_points(kind: str, cfg: dict, block: int) -> list[RFProblem]:
    """Points of one block: sorted by cost and dealt round-robin, so blocks cost about the same."""
    pts = simulation_points(kind, cfg)
    order = sorted(range(len(pts)), key=lambda i: simulation_cost(pts[i]), reverse=True)
    nb = n_simulation_blocks(kind, cfg)
    if not 0 <= block < nb:
        raise ValueError(f"block {block} out of range: experiment {kind} has {nb} blocks")
    return [pts[i] for i in sorted(order[block::nb])]


def theory_table(kind: str, cfg: dict) -> pd.DataFrame:
    """Theory errors at every point of :func:`theory_points`: learning curves by continuation
    along ψ_p (one curve per (t, m, ψ_n)), other experiments by one vectorised ridge continuation."""
    pts = theory_points(kind, cfg)
    if kind == "learning_curves":
        groups = [grp for _, grp in pts.groupby(["t", "m", "psi_n"], sort=False)]
    else:
        groups = [pts]
    out, sh = [], cfg["shared"]
    for grp in groups:
        if kind == "learning_curves":
            t, m, pn = grp[["t", "m", "psi_n"]].iloc[0]
            lc = learning_curves(grp["psi_p"].to_numpy(), pn, m, t, sh["lambda"], sh["activation"], along_psi_p=True)
        else:
            lc = learning_curves(
                *(grp[k].to_numpy() for k in ("psi_p", "psi_n", "m", "t")), sh["lambda"], sh["activation"]
            )
        if not np.all(lc.converged):
            bad = grp[~np.asarray(lc.converged)].iloc[0].to_dict()
            raise RuntimeError(f"theory did not converge for {kind} at {bad}")
        out.append(grp.assign(**{k: getattr(lc, k) for k in CURVES}, q=lc.q, r=lc.r))
    df = pd.concat(out, ignore_index=True)
    return df.assign(m=df["m"].map(m_label))


def simulate_block(kind: str, cfg: dict, block: int, seed: int, device: str = "cpu") -> pd.DataFrame:
    """One row per (point of the block, seed)."""
    from memgen.rf import simulate_rf_dsm

    rows = []
    # Monte Carlo points per law for D_emp, D_true and C (the same points for each)
    samples = cfg["experiment"].get("distance_samples", 1000)
    for pr in block_points(kind, cfg, block):
        seeds = range(cfg["shared"]["seeds"])
        for rec in simulate_rf_dsm(pr, seeds, base_seed=seed, device=device, distance_samples=samples):
            rows.append(
                {
                    "t": pr.t,
                    "m": m_label(pr.m),
                    "psi_n": pr.psi_n,
                    "psi_p": pr.psi_p,
                    "d": pr.d,
                    "p": pr.p,
                    "n": pr.n,
                    **rec,
                }
            )
    return pd.DataFrame(rows)


def summarise_simulation(df: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Mean, std and count over seeds per point, with the theory at the simulated ratios
    (p/d, n/d after rounding), the relative deviation mean/theory − 1 and whether they agree
    (:data:`AGREEMENT`); per seed first, D_emp/D_true and the error off the segment
    (:func:`memgen.rf_model.segment_geometry`).

    The Monte Carlo estimates (D_emp, D_true, C: each seed's comes with its standard error ``<key>_se``)
    also get ``<key>_mc_std`` = √(mean over seeds of se²), the spread one seed's estimate has from its
    Monte Carlo points alone. Seed-to-seed variance is that plus the variance of the exact values,
    so the agreement's standard error is max(std, mc_std)/√count: with a few seeds the sample std alone can
    fall well below the Monte Carlo error it contains (the truncation at zero of the between-seed
    variance, as in random-effects meta-analysis). Exact errors (E_*) use std/√count."""
    keys = ["t", "m", "psi_n", "psi_p", "d", "p", "n"]
    distances = [c for c in df.columns if c.startswith(("D_", "C_")) and not c.endswith("_se")]  # rf.DISTANCES
    df = df.assign(**segment_geometry(*(df[f"{k}_train"] for k in ("D_emp", "D_true", "D_emp_true", "C_emp"))))
    measured = [*ERRORS, *distances, "D_ratio_train", "D_perp_train"]
    monte_carlo = [k for k in distances if f"{k}_se" in df.columns]
    df = df.assign(**{f"{k}_mc_var": df[f"{k}_se"] ** 2 for k in monte_carlo})
    agg = df.groupby(keys)[measured].agg(["mean", "std", "count"])
    agg.columns = [f"{a}_{b}" for a, b in agg.columns]
    mc_std = np.sqrt(df.groupby(keys)[[f"{k}_mc_var" for k in monte_carlo]].mean())
    agg = agg.join(mc_std.rename(columns={f"{k}_mc_var": f"{k}_mc_std" for k in monte_carlo})).reset_index()
    for key in measured:
        agg[f"{key}_std"] = agg[f"{key}_std"].fillna(0.0)
    m = agg["m"].map(parse_m).to_numpy()
    psi_p, psi_n = (agg["p"] / agg["d"]).to_numpy(), (agg["n"] / agg["d"]).to_numpy()  # as simulated, after rounding
    lc = learning_curves(psi_p, psi_n, m, agg["t"].to_numpy(), cfg["shared"]["lambda"], cfg["shared"]["activation"])
    for key in CURVES:
        agg[f"{key}_theory"] = getattr(lc, key)
        agg[f"{key}_deviation"] = agg[f"{key}_mean"] / agg[f"{key}_theory"] - 1
        spread = agg[f"{key}_std"]
        if f"{key}_mc_std" in agg:
            spread = np.maximum(spread, agg[f"{key}_mc_std"])
        sem = spread / np.sqrt(agg[f"{key}_count"])
        agg[f"{key}_agrees"] = (agg[f"{key}_deviation"].abs() <= AGREEMENT[0]) | (
            (agg[f"{key}_mean"] - agg[f"{key}_theory"]).abs() <= AGREEMENT[1] * sem
        )
    return agg


def main(argv=None) -> None:
    import torch

    parser = argparse.ArgumentParser(prog="python -m memgen.experiments.rf", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("theory", "simulate", "summarise"):
        p = sub.add_parser(name)
        p.add_argument("kind", choices=KINDS)
        p.add_argument("--config", type=json.loads, required=True, help="JSON {shared rf keys, experiment}")
        p.add_argument("--out", required=True)
        if name == "simulate":
            p.add_argument("--block", type=int, required=True)
            p.add_argument("--seed", type=int, required=True)
            p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
        if name == "summarise":
            p.add_argument("tables", nargs="+")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.command == "theory":
        df = theory_table(args.kind, args.config)
        meta = provenance(args.config, None, time.perf_counter() - start, experiment=args.kind)
    elif args.command == "simulate":
        df = simulate_block(args.kind, args.config, args.block, args.seed, args.device)
        meta = provenance(
            args.config, args.seed, time.perf_counter() - start, args.device, experiment=args.kind, block=args.block
        )
    else:
        df = summarise_simulation(read_tables(args.tables), args.config)
        meta = provenance(args.config, None, time.perf_counter() - start, experiment=args.kind, inputs=args.tables)
    write_table(df, args.out, meta)
    print(f"wrote {args.out}: {len(df)} rows in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
