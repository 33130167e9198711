"""Training dynamics of the RF-DSM read-out (figure rf_dynamics; ``docs/rf-dsm-theory.md`` §9).

For each (ψ_n, m, seed) at fixed ψ_p and t, the fit of :func:`memgen.rf.simulate_rf_dsm` (the same W,
training set, noises and Monte Carlo points, so the end of training is that fit), trained by gradient
flow from B = 0 in closed form (:mod:`memgen.rf_dynamics`): at every τ of a log grid the train error,
the exact test error E_test = a² + h E_score, and the distances D_emp, D_true and the coordinate C to
the empirical and true scores on the noised training law and on fresh data. τ is in the units where
the Hessian is U + λI; Bonnaire et al.'s time (NeurIPS 2025, eq. 10) is τ ψ_p / (2h).

- τ_gen: the test error first within 5 % of its minimum over the grid (:func:`memgen.onset.generalization_step`);
- τ_mem: C on the training law first exceeds half its value at the end of training (the ridge fit),
  defined where that value is at least :data:`C_MIN` (below it the model hardly moves towards the
  empirical score).

    python -m memgen.experiments.rf_dynamics simulate --config JSON --psi-n X --seed S --out T.parquet
    python -m memgen.experiments.rf_dynamics summarise --config JSON --curves C.parquet --onsets O.parquet
                                                        --fits F.parquet T1.parquet ...

The config slice is ``{shared: rf keys, experiment: rf.dynamics}`` (its own d; the seeds of rf). Outputs of ``summarise``: curves (per
(ψ_n, m, τ), mean and s.d. over seeds), onsets (per (ψ_n, m): τ_gen, τ_mem with percentile intervals from
resampling the seeds, C at the end) and fits (per m: τ ∝ ψ_n^α for both, over the ψ_n that crossed).
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
from memgen.onset import bootstrap_over_seeds, generalization_step, memorization_step, power_law_over_seeds
from memgen.rf_model import RFProblem

KEYS = ["psi_n", "m"]
CURVES = (
    "E_train",
    "E_test",
    "E_score",
    "D_emp_train",
    "D_true_train",
    "C_emp_train",
    "D_emp_fresh",
    "D_true_fresh",
    "C_emp_fresh",
)
C_MIN = 0.02  # τ_mem is defined where C (training law) at the end of training is at least this
RESAMPLES = 2000


def dynamics_points(cfg: dict) -> list[RFProblem]:
    """The (ψ_n, m) problems of the experiment at its fixed ψ_p, t (config rf.dynamics)."""
    sh, ex = cfg["shared"], cfg["experiment"]
    return [
        RFProblem(ex["d"], float(ex["psi_p"]), float(pn), parse_m(m), float(ex["t"]), sh["lambda"], sh["activation"])
        for pn in log_grid(ex["psi_n"])
        for m in ex["m"]
    ]


def psi_n_values(cfg: dict) -> list[float]:
    """The ψ_n of the grid, one job each."""
    return [float(v) for v in log_grid(cfg["experiment"]["psi_n"])]


def simulate(cfg: dict, psi_n: float, seed: int, device: str = "cpu") -> pd.DataFrame:
    """One row per (m, seed, τ) at this ψ_n."""
    from memgen.rf import (
        distance_generator,
        distance_points,
        distances_at,
        draw_rf_problem,
        empirical_score,
        population_moments,
        rf_features,
    )
    from memgen.rf_dynamics import score_errors, scores_at, spectral_filter, spectral_fit, train_errors
    from memgen.rf_model import diffusion_coefficients

    ex = cfg["experiment"]
    times = log_grid(ex["times"])
    rows = []
    for pr in (p for p in dynamics_points(cfg) if math.isclose(p.psi_n, psi_n, rel_tol=1e-9)):
        a2, h = (float(v) for v in diffusion_coefficients(pr.t))
        for s in range(cfg["shared"]["seeds"]):
            start = time.perf_counter()
            W, X, mom = draw_rf_problem(pr, s, seed, device)
            fit = spectral_fit(mom, pr.lam)
            phi = spectral_filter(fit, times)
            Omega, Phi = population_moments(W, pr.activation)
            e_train, e_score = train_errors(fit, mom, phi, h), score_errors(fit, Omega, Phi, phi)
            points = distance_points(X, pr.t, distance_generator(pr, s, seed, device), ex["distance_samples"])
            at = {law: (rf_features(y, W, pr.activation), empirical_score(y, X, pr.t), y) for law, y in points.items()}
            fit_rows = []
            for k, tau in enumerate(times):
                row = {"psi_n": pr.psi_n, "psi_p": pr.psi_p, "m": m_label(pr.m), "t": pr.t, "d": pr.d, "p": pr.p}
                row.update({"n": pr.n, "seed": s, "tau": float(tau)})
                row.update(E_train=float(e_train[k]), E_score=float(e_score[k]), E_test=a2 + h * float(e_score[k]))
                for law, (F, s_emp, y) in at.items():
                    row.update(distances_at(scores_at(fit, F, phi[k]), s_emp, y, law))
                fit_rows.append(row)
            elapsed = time.perf_counter() - start
            rows += [{**row, "wall_time_s": elapsed} for row in fit_rows]
            print(f"psi_n={pr.psi_n:.3g} m={m_label(pr.m)} seed={s}: {elapsed:.1f} s", flush=True)
    return pd.DataFrame(rows)


def dynamics_curves(df: pd.DataFrame) -> pd.DataFrame:
    """Per (ψ_n, m, τ): mean and s.d. over the seeds of every curve."""
    g = df.groupby([*KEYS, "tau"])
    cols = list(CURVES)
    out = g[cols].mean().add_suffix("_mean").join(g[cols].std(ddof=1).fillna(0.0).add_suffix("_std"))
    return out.join(g.size().rename("seeds")).join(g[["psi_p", "t", "d", "p", "n"]].first()).reset_index()


def _seed_matrix(grp: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    table = grp.pivot(index="seed", columns="tau", values=column).sort_index(axis=1)
    return table.columns.to_numpy(dtype=np.float64), table.to_numpy(dtype=np.float64)


def seed_curves(df: pd.DataFrame) -> dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """(ψ_n, m) → (τ grid, seeds × τ test errors, seeds × τ coordinate C / C_end, C_end), C on the training
    law and C_end its seed mean at the end of training: τ_mem is where C / C_end first exceeds ½."""
    out = {}
    for key, grp in df.groupby(KEYS):
        times, test = _seed_matrix(grp, "E_test")
        _, coordinate = _seed_matrix(grp, "C_emp_train")
        c_end = float(coordinate[:, -1].mean())
        out[key] = (times, test, coordinate / c_end if c_end > 0 else coordinate, c_end)
    return out


def spectral_edges(cfg: dict, keys) -> dict[tuple, dict]:
    """Per (ψ_n, m) of ``keys``: Bonnaire et al.'s left edge of the bulk of U's spectrum that carries
    memorization (NeurIPS 2025, Thm 3.2, m = ∞, asymptotic in ψ_p > ψ_n ≫ 1: a peak of weight
    1 − (1 + ψ_n)/ψ_p at s_t², a bulk of weight ψ_n/ψ_p from)

        λ_min = s_t² + v_t² (1 − √(ψ_p/ψ_n))²,

    plus the ridge λ, with the constants of :func:`memgen.rf_theory.activation_constants` (which are
    theirs); 1/(λ_min + λ) is that bulk's time scale in the units of τ. At finite d the peak is spread
    (d = 100, ψ_p = 8: eigenvalues 0.005–0.05 around s_t² = 0.014), so this is a reference, not a fit."""
    from memgen.rf_theory import activation_constants

    sh, ex = cfg["shared"], cfg["experiment"]
    c = activation_constants(sh["activation"], float(ex["t"]))
    out = {}
    for psi_n, m in keys:
        edge = c.s2 + c.v2 * (1 - np.sqrt(float(ex["psi_p"]) / psi_n)) ** 2 + sh["lambda"]
        out[(psi_n, m)] = {"mu_edge_theory": float(edge), "tau_edge_theory": float(1 / edge)}
    return out


def dynamics_onsets(per_seed: dict, edges: dict) -> pd.DataFrame:
    """Per (ψ_n, m) of :func:`seed_curves`: τ_gen and τ_mem of the seed-mean curves, with percentile
    intervals over resampled seeds; τ_mem only where C_end ≥ :data:`C_MIN` (else status no_memorization, τ 0);
    the spectral edge of :func:`spectral_edges` beside them."""
    rows = []
    for (psi_n, m), (times, test, coordinate, c_end) in per_seed.items():
        row = {"psi_n": psi_n, "m": m, "seeds": len(test), "C_end": c_end, **edges[(psi_n, m)]}
        todo = [("gen", test, generalization_step)]
        if c_end >= C_MIN:
            todo.append(("mem", coordinate, memorization_step))
        else:
            row.update(tau_mem=0.0, tau_mem_low=0.0, tau_mem_high=0.0, tau_mem_status="no_memorization")
        for name, curves, crossing in todo:
            iv = bootstrap_over_seeds(times, curves, crossing, resamples=RESAMPLES)
            row.update({f"tau_{name}": iv.step, f"tau_{name}_low": iv.low, f"tau_{name}_high": iv.high})
            row[f"tau_{name}_status"] = iv.status
        rows.append(row)
    return pd.DataFrame(rows).sort_values(KEYS, ignore_index=True)


def dynamics_fits(per_seed: dict) -> pd.DataFrame:
    """Per m: τ_mem ∝ ψ_n^α (over the ψ_n with C_end ≥ C_MIN whose curve crossed) and τ_gen ∝ ψ_n^β,
    with bootstrap intervals over seeds (:func:`memgen.onset.power_law_over_seeds`; exponent 0 and
    ``*_sizes`` 0 when fewer than two ψ_n crossed)."""
    rows = []
    for m in sorted({m for _, m in per_seed}, key=parse_m):
        per = {pn: c for (pn, mm), c in per_seed.items() if mm == m}
        times = {pn: c[0] for pn, c in per.items()}
        row = {"m": m, "sizes": len(per)}
        for name, curves, crossing in (
            ("alpha", {pn: c[2] for pn, c in per.items() if c[3] >= C_MIN}, memorization_step),
            ("beta", {pn: c[1] for pn, c in per.items()}, generalization_step),
        ):
            try:
                fit = power_law_over_seeds(times, curves, crossing, resamples=RESAMPLES)
                row.update(
                    {name: fit.alpha, f"{name}_low": fit.low, f"{name}_high": fit.high, f"{name}_sizes": fit.sizes}
                )
            except ValueError:
                row.update({name: 0.0, f"{name}_low": 0.0, f"{name}_high": 0.0, f"{name}_sizes": 0})
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m memgen.experiments.rf_dynamics", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate")
    sim.add_argument("--config", type=json.loads, required=True, help="JSON {shared rf keys, experiment}")
    sim.add_argument("--psi-n", type=float, required=True)
    sim.add_argument("--seed", type=int, required=True)
    sim.add_argument("--out", required=True)
    summ = sub.add_parser("summarise")
    summ.add_argument("--config", type=json.loads, required=True)
    for name in ("curves", "onsets", "fits"):
        summ.add_argument(f"--{name}", required=True)
    summ.add_argument("tables", nargs="+")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.command == "simulate":
        df = simulate(args.config, args.psi_n, args.seed)
        write_table(df, args.out, provenance(args.config, args.seed, time.perf_counter() - start, psi_n=args.psi_n))
        print(f"wrote {args.out}: {len(df)} rows in {time.perf_counter() - start:.1f} s")
        return
    df = read_tables(args.tables)
    per_seed = seed_curves(df)
    for table, path in (
        (dynamics_curves(df), args.curves),
        (dynamics_onsets(per_seed, spectral_edges(args.config, per_seed)), args.onsets),
        (dynamics_fits(per_seed), args.fits),
    ):
        write_table(table, path, provenance({**args.config, "inputs": args.tables}, None, time.perf_counter() - start))
    print(f"wrote {args.curves}, {args.onsets}, {args.fits}")


if __name__ == "__main__":
    main()
