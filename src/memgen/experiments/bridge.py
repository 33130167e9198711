"""Paper B's transition metric measured on Paper A's random-features diffusion models.

For each (ψ_n, ψ_p, m, seed) on N(0, I_d) data: n = round(ψ_n d) training points, p = round(ψ_p d)
features, the time-dependent RF score (one closed-form ridge-DSM fit per time, the same W;
:func:`memgen.rf_sampling.fit_rf_score_path`), N points from the reverse SDE
(:func:`memgen.rf_sampling.sample_reverse_sde`), then

- the full-dimensional metric of Paper B §3.2: KDEs of the training set (ε_T = σ n^{−1/d}), of
  an original set of N fresh points (ε_O = σ N^{−1/d}) and of the N generated points (ε_G = ε_O:
  as many samples as original points, so that a generator of the true law is, up to sampling
  noise, as far from ρ_O as ρ_O's own resampling); E_TG = ∫(ρ_T − ρ_G)², E_OG = ∫(ρ_O − ρ_G)², Δ = E_TG − E_OG, all
  from log-space Gaussian product integrals (:mod:`memgen.kde`);
- Paper B's per-coordinate metric (eqs. 23–24, widths σ/(set size)) on the same three sets;
- the memorized fraction (d₁/d₂ < 1/3), the spread tr Σ̂ / d (the mean eigenvalue of the sample
  covariance; 1 for the data law) and the distance of the sample mean and covariance to those of
  N(0, I): ‖mean‖ and ‖Σ̂ − I‖_F / √d.

Every point also scores, with the same sets, widths and N, the reference generators of
:mod:`memgen.calibration` (true law, a Gaussian with the model samples' mean and covariance, training
copies mixed into true-law draws at 5, 25 and 100 %): one row per (point, seed, generator), the
column ``generator`` naming it (``model`` for the RF diffusion model).

Command line (one Snakemake job = one block of points, every seed):

    python -m memgen.experiments.bridge simulate KIND --config JSON --block B --seed S --out T.parquet
    python -m memgen.experiments.bridge summarise KIND --config JSON --out S.parquet --crossings C.parquet T1.parquet ...
    python -m memgen.experiments.bridge theory KIND --config JSON --out T.parquet

KIND is ``transition`` (ψ_n grid × ψ_p list × m list), ``phase`` ((ψ_n, ψ_p) grid × m list) or
``sensitivity`` (a few (ψ_n, ψ_p, m) points: P(Δ>0) of the model and of the true law against the number N
of original and generated points and the generated set's kernel width, :func:`sensitivity_point`; its
summary has no crossings).
X, W and the original set derive from (seed, d, n, p, seed index): common random numbers across m.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pandas as pd

from memgen.grids import log_cell_edges, log_grid, m_label, m_seed_key, parse_m
from memgen.io import provenance, read_tables, write_table
from memgen.rf_theory import learning_curves

# Planning (point lists, block counts) imports no torch: the Snakefile calls it at every start.
# The simulation imports torch, the KDE metrics and the RF sampler when it runs.

KINDS = ("transition", "phase", "sensitivity")


def experiment_points(kind: str, cfg: dict) -> list[tuple[float, float, str]]:
    """(ψ_n, ψ_p, m label) of experiment ``kind``; ``cfg`` is the stage slice {shared, experiment = bridge.<kind>}."""
    ex = cfg["experiment"]
    if kind == "sensitivity":
        return [(float(q["psi_n"]), float(q["psi_p"]), m_label(parse_m(q["m"]))) for q in ex["points"]]
    psi_n = log_grid(ex["psi_n"])
    psi_p = ex["psi_p"] if kind == "transition" else log_grid(ex["psi_p"])
    return [(float(a), float(b), m_label(parse_m(m))) for m in ex["m"] for b in psi_p for a in psi_n]


def n_blocks(kind: str, cfg: dict) -> int:
    return max(1, math.ceil(len(experiment_points(kind, cfg)) / cfg["shared"]["points_per_job"]))


def block_points(kind: str, cfg: dict, block: int) -> list[tuple[float, float, str]]:
    """Points of block ``block``: dealt round-robin so that every block gets cheap and costly points."""
    return experiment_points(kind, cfg)[block :: n_blocks(kind, cfg)]


def full_dimensional_metric(train, original, generated, sigma: float = 1.0, generated_width: float = 1.0) -> dict:
    """log E_TG, log E_OG (the L² distances of the KDEs, in log space) and Δ = E_TG − E_OG as sign and log|Δ|
    (:func:`memgen.kde.transition_delta`: the ∫ρ_G² terms and the diagonal self-overlaps cancel); widths σ size^{−1/d} (:func:`memgen.linear.kernel_width_large_d`,
    Paper B's widths of ρ_T and ρ_O), the generated set's times ``generated_width``. Arguments: (points, d) tensors."""
    from memgen.kde import (
        LOG_2,
        check_equal_diagonals,
        log_cross_overlap,
        log_pair_overlap,
        log_self_from_pairs,
        log_self_overlap,
        signed_log_sum,
        transition_delta,
    )
    from memgen.linear import kernel_width_large_d

    d = train.shape[1]
    e_t, e_o, e_g = (float(kernel_width_large_d(sigma, d, len(s))) for s in (train, original, generated))
    e_g *= generated_width
    check_equal_diagonals(d, e_t, len(train), e_o, len(original))
    pairs_t, pairs_o = log_pair_overlap(train, e_t), log_pair_overlap(original, e_o)
    self_t, self_o = (
        log_self_from_pairs(d, e_t, len(train), pairs_t),
        log_self_from_pairs(d, e_o, len(original), pairs_o),
    )
    self_g = log_self_overlap(generated, e_g)
    cross_t, cross_o = log_cross_overlap(train, e_t, generated, e_g), log_cross_overlap(original, e_o, generated, e_g)
    e_tg = signed_log_sum([self_t, self_g, LOG_2 + cross_t], [1, 1, -1])
    e_og = signed_log_sum([self_o, self_g, LOG_2 + cross_o], [1, 1, -1])
    delta = transition_delta(pairs_t, cross_t, pairs_o, cross_o)
    return {
        "log_e_tg": e_tg.log_abs,
        "log_e_og": e_og.log_abs,
        "delta_sign": float(delta.sign),
        "log_abs_delta": delta.log_abs,
    }


def sample_metrics(train, original, samples) -> dict:
    """Every measurement of one generated set (see the module doc): the full-dimensional and
    per-coordinate transition metrics, the memorized fraction, spread, mean and covariance errors."""
    import torch

    from memgen.kde import pixel_transition
    from memgen.memorization import nearest_neighbours

    d = train.shape[1]
    per = pixel_transition(train, original, samples, 1.0)
    nn = nearest_neighbours(samples, train)
    cov = torch.cov(samples.T).reshape(d, d)
    return {
        **full_dimensional_metric(train, original, samples),
        "e_tg_coord": per.e_tg,
        "e_og_coord": per.e_og,
        "delta_coord": per.delta,
        "delta_sign_coord": float(np.sign(per.delta)),
        "memorized_fraction": float(nn.memorized().double().mean()),
        "ratio_median": float(nn.ratio.median()),
        "spread": float(torch.diagonal(cov).mean()),
        "mean_error": float(samples.mean(0).norm()),
        "cov_error": float((cov - torch.eye(d, dtype=cov.dtype)).norm() / math.sqrt(d)),
    }


def simulate_point(psi_n: float, psi_p: float, m: str, s: int, cfg: dict, seed: int) -> list[dict]:
    """One (ψ_n, ψ_p, m, seed index) of the bridge: fit, sample, measure the model's samples and the
    reference generators' (see the module doc); one row per generator.
    ``cfg``: the keys of config bridge shared by its experiments (d, N, times, ...)."""
    import torch

    from memgen.calibration import MODEL, reference_generators
    from memgen.rf_sampling import fit_rf_score_path, sample_reverse_sde
    from memgen.seeding import torch_generator

    d = cfg["d"]
    n, p = max(2, round(psi_n * d)), max(1, round(psi_p * d))
    g = torch_generator(seed, "bridge/data", d, n, p, s)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    W = torch.randn(p, d, generator=g, dtype=torch.float64)
    original = torch.randn(cfg["N"], d, generator=g, dtype=torch.float64)
    mf = parse_m(m)
    gm = torch_generator(seed, "bridge/noise", d, n, p, m_seed_key(mf), s)
    model = fit_rf_score_path(X, W, log_grid(cfg["times"]), mf, cfg["lambda"], gm, cfg["activation"], cfg["baseline"])
    gen = sample_reverse_sde(model, cfg["N"], gm, cfg["max_step"], cfg["rel_step"])
    if not bool(torch.isfinite(gen).all()):
        raise FloatingPointError(f"bridge: non-finite samples at psi_n={psi_n}, psi_p={psi_p}, m={m}, seed {s}")
    # The references share a stream that does not depend on m: the true law and the copy mixtures are
    # the same for every m (common random numbers), the moment-matched set follows each model's moments.
    references = reference_generators(X, gen, torch_generator(seed, "bridge/reference", d, n, p, s))
    point = {"d": d, "n": n, "p": p, "psi_n": psi_n, "psi_p": psi_p, "m": m, "seed": s}
    return [
        {**point, "generator": name, **sample_metrics(X, original, samples)}
        for name, samples in {MODEL: gen, **references}.items()
    ]


def sensitivity_point(psi_n: float, psi_p: float, m: str, s: int, cfg: dict, seed: int) -> list[dict]:
    """One (ψ_n, ψ_p, m, seed index) of the sensitivity study: the model fitted and sampled as in
    :func:`simulate_point` (its own streams), N_max = max(N) generated points, N_max original points and
    N_max fresh true-law draws; for every N of ``N`` the first N of each set, and for every factor of
    ``eps_factors`` the generated set's kernel width times that factor: the sign of Δ for the model and for the
    true law (one row each), with the model samples' spread. ``cfg``: {shared bridge keys, experiment}."""
    import torch

    from memgen.rf_sampling import fit_rf_score_path, sample_reverse_sde
    from memgen.seeding import torch_generator

    sh, ex = cfg["shared"], cfg["experiment"]
    d, n_max = sh["d"], max(ex["N"])
    n, p = max(2, round(psi_n * d)), max(1, round(psi_p * d))
    g = torch_generator(seed, "bridge/sensitivity/data", d, n, p, s)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    W = torch.randn(p, d, generator=g, dtype=torch.float64)
    original = torch.randn(n_max, d, generator=g, dtype=torch.float64)
    truth = torch.randn(n_max, d, generator=g, dtype=torch.float64)
    mf = parse_m(m)
    gm = torch_generator(seed, "bridge/sensitivity/noise", d, n, p, m_seed_key(mf), s)
    model = fit_rf_score_path(X, W, log_grid(sh["times"]), mf, sh["lambda"], gm, sh["activation"], sh["baseline"])
    gen = sample_reverse_sde(model, n_max, gm, sh["max_step"], sh["rel_step"])
    if not bool(torch.isfinite(gen).all()):
        raise FloatingPointError(f"bridge: non-finite samples at psi_n={psi_n}, psi_p={psi_p}, m={m}, seed {s}")
    point = {"d": d, "n": n, "p": p, "psi_n": psi_n, "psi_p": psi_p, "m": m, "seed": s}
    rows = []
    for size in ex["N"]:
        spread = float(gen[:size].var(0, unbiased=True).mean())
        for factor in ex["eps_factors"]:
            for name, samples in (("model", gen[:size]), ("true_law", truth[:size])):
                metric = full_dimensional_metric(X, original[:size], samples, generated_width=factor)
                rows.append(
                    {**point, "N": size, "eps_factor": float(factor), "generator": name, "spread": spread, **metric}
                )
    return rows


def simulate_block(kind: str, cfg: dict, block: int, seed: int) -> pd.DataFrame:
    sh = cfg["shared"]
    if kind == "sensitivity":
        rows = [
            row
            for a, b, m in block_points(kind, cfg, block)
            for s in range(sh["seeds"])
            for row in sensitivity_point(a, b, m, s, cfg, seed)
        ]
        return pd.DataFrame(rows).assign(experiment=kind)
    rows = [
        row
        for a, b, m in block_points(kind, cfg, block)
        for s in range(sh["seeds"])
        for row in simulate_point(a, b, m, s, sh, seed)
    ]
    return pd.DataFrame(rows).assign(experiment=kind)


def theory_gap(psi_n, psi_p, m_labels, cfg: dict) -> pd.DataFrame:
    """The d → ∞ theory at time ``theory_t``: E_train, E_test and the gap E_test − E_train
    (``cfg``: the shared bridge keys)."""
    m = np.array([parse_m(x) for x in m_labels], dtype=float)
    lc = learning_curves(
        np.asarray(psi_p, float), np.asarray(psi_n, float), m, cfg["theory_t"], cfg["lambda"], cfg["activation"]
    )
    return pd.DataFrame(
        {"theory_E_train": lc.E_train, "theory_E_test": lc.E_test, "theory_gap": lc.E_test - lc.E_train}
    )


def theory_table(kind: str, cfg: dict) -> pd.DataFrame:
    """The theory drawn beside the simulations, on a fine grid: for ``transition`` 120 log-spaced ψ_n
    over the ψ_n grid per (ψ_p, m); for ``phase`` 60 × 60 log-spaced (ψ_n, ψ_p) over the grid's cells."""
    ex = cfg["experiment"]
    if kind == "transition":
        grid = log_grid(ex["psi_n"])
        pairs = [(a, b) for b in ex["psi_p"] for a in np.geomspace(grid.min(), grid.max(), 120)]
    else:
        en, ep = log_cell_edges(log_grid(ex["psi_n"])), log_cell_edges(log_grid(ex["psi_p"]))
        pairs = [(a, b) for b in np.geomspace(ep[0], ep[-1], 60) for a in np.geomspace(en[0], en[-1], 60)]
    psi_n, psi_p = (np.array(v, float) for v in zip(*pairs))
    out = []
    for m in ex["m"]:
        label = m_label(parse_m(m))
        gap = theory_gap(psi_n, psi_p, [label] * len(pairs), cfg["shared"])
        out.append(pd.DataFrame({"psi_n": psi_n, "psi_p": psi_p, "m": label}).join(gap))
    return pd.concat(out, ignore_index=True)


def below_twin(df: pd.DataFrame) -> pd.Series:
    """Per row: Δ of this generator < Δ of the moment-matched Gaussian of the same (point, seed) — its
    samples are nearer the training KDE, relative to the original KDE, than a generator of the model's
    spread that never saw the training set (paired by seed: same X, original set and widths)."""
    from memgen.calibration import MODEL
    from memgen.kde import signed_log_less

    keys = ["psi_n", "psi_p", "m", "seed"]
    twin = df[df.generator == "moment_matched"].set_index(keys)[["delta_sign", "log_abs_delta"]]
    if twin.index.has_duplicates:
        raise ValueError("bridge tables: more than one moment-matched row per (psi_n, psi_p, m, seed)")
    t = twin.reindex(pd.MultiIndex.from_frame(df[keys]))
    if t.isna().any().any():
        raise ValueError(
            f"bridge tables: rows without their moment-matched twin (generators {sorted(df.generator.unique())}, expected {MODEL} and the references)"
        )
    less = signed_log_less(df.delta_sign, df.log_abs_delta, t.delta_sign.to_numpy(), t.log_abs_delta.to_numpy())
    return pd.Series(less, index=df.index)


def summarise(df: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Per (ψ_n, ψ_p, m, generator): P(Δ>0) with Wilson intervals for both metrics, P(Δ < Δ_twin)
    (:func:`below_twin`) with its interval, mean memorized fraction, spread, mean/cov errors (mean
    and std over seeds), and the theory at the same point."""
    from memgen.kde import probability_positive

    df = df.assign(below_twin=below_twin(df))
    rows = []
    for (psi_n, psi_p, m, generator), grp in df.groupby(["psi_n", "psi_p", "m", "generator"]):
        full, coord = probability_positive(grp.delta_sign), probability_positive(grp.delta_sign_coord)
        twin = probability_positive(np.where(grp.below_twin, 1.0, -1.0))
        row = {
            "psi_n": psi_n,
            "psi_p": psi_p,
            "m": m,
            "generator": generator,
            "n": int(grp.n.iloc[0]),
            "p": int(grp.p.iloc[0]),
            "seeds": len(grp),
            "p_positive": full.p,
            "ci_low": full.low,
            "ci_high": full.high,
            "p_positive_coord": coord.p,
            "ci_low_coord": coord.low,
            "ci_high_coord": coord.high,
            "p_below_twin": twin.p,
            "ci_low_below_twin": twin.low,
            "ci_high_below_twin": twin.high,
        }
        for col in ("memorized_fraction", "spread", "mean_error", "cov_error", "log_e_tg", "log_e_og"):
            row[f"{col}_mean"] = grp[col].mean()
            row[f"{col}_std"] = grp[col].std(ddof=1) if len(grp) > 1 else 0.0
        rows.append(row)
    out = pd.DataFrame(rows).sort_values(["generator", "m", "psi_p", "psi_n"], ignore_index=True)
    return pd.concat([out, theory_gap(out.psi_n, out.psi_p, out.m, cfg["shared"])], axis=1)


def summarise_sensitivity(df: pd.DataFrame) -> pd.DataFrame:
    """Per (ψ_n, ψ_p, m, generator, N, width factor): P(Δ>0) over the seeds with its Wilson interval, and the
    model samples' mean spread tr Σ̂/d."""
    from memgen.kde import probability_positive

    keys = ["psi_n", "psi_p", "m", "generator", "N", "eps_factor"]
    rows = []
    for key, grp in df.groupby(keys):
        prop = probability_positive(grp.delta_sign)
        row = dict(zip(keys, key))
        row.update(n=int(grp.n.iloc[0]), p=int(grp.p.iloc[0]), seeds=len(grp), spread_mean=float(grp.spread.mean()))
        row.update(p_positive=prop.p, ci_low=prop.low, ci_high=prop.high)
        rows.append(row)
    return pd.DataFrame(rows)


def half_crossings(summary: pd.DataFrame, column: str = "p_positive") -> pd.DataFrame:
    """Per (generator, ψ_p, m): the ψ_n where ``column`` first rises through ½, interpolated linearly in log ψ_n
    between the bracketing grid points, and its ratio to ψ_p (1 = at p = n). NaN-free: a curve that
    never crosses gets crosses = False and the bracketing fields at the grid ends."""
    rows = []
    for (generator, psi_p, m), grp in summary.groupby(["generator", "psi_p", "m"]):
        grp = grp.sort_values("psi_n")
        x, y = np.log(grp.psi_n.to_numpy()), grp[column].to_numpy()
        above = np.flatnonzero(y > 0.5)
        row = {
            "generator": generator,
            "psi_p": psi_p,
            "m": m,
            "metric": column,
            "crosses": False,
            "psi_n_half": float(grp.psi_n.iloc[-1]),
        }
        if len(above) and above[0] > 0:
            k = above[0]
            w = (0.5 - y[k - 1]) / (y[k] - y[k - 1])
            row.update(crosses=True, psi_n_half=float(np.exp(x[k - 1] + w * (x[k] - x[k - 1]))))
        elif len(above):
            row.update(crosses=True, psi_n_half=float(grp.psi_n.iloc[0]))  # already above ½ at the smallest ψ_n
        row["ratio_to_psi_p"] = row["psi_n_half"] / psi_p
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m memgen.experiments.bridge", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sim, summ, theo = sub.add_parser("simulate"), sub.add_parser("summarise"), sub.add_parser("theory")
    for p in (sim, summ, theo):
        p.add_argument("kind", choices=KINDS)
        p.add_argument("--config", type=json.loads, required=True, help="JSON {shared bridge keys, experiment}")
        p.add_argument("--out", required=True)
    sim.add_argument("--block", type=int, required=True)
    sim.add_argument("--seed", type=int, required=True)
    summ.add_argument("--crossings", help="the crossings table (transition, phase)")
    summ.add_argument("tables", nargs="+")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.command == "theory":
        df = theory_table(args.kind, args.config)
        meta = provenance(args.config, None, time.perf_counter() - start, kind=args.kind)
    elif args.command == "simulate":
        nb = n_blocks(args.kind, args.config)
        if not 0 <= args.block < nb:
            raise SystemExit(f"--block {args.block} is out of range: experiment {args.kind} has {nb} blocks")
        df = simulate_block(args.kind, args.config, args.block, args.seed)
        meta = provenance(args.config, args.seed, time.perf_counter() - start, block=args.block, kind=args.kind)
    elif args.kind == "sensitivity":
        df = summarise_sensitivity(read_tables(args.tables))
        meta = provenance(args.config, None, time.perf_counter() - start, kind=args.kind, inputs=args.tables)
    else:
        if not args.crossings:
            raise SystemExit(f"summarise {args.kind}: --crossings is required")
        df = summarise(read_tables(args.tables), args.config)
        crossings = pd.concat([half_crossings(df), half_crossings(df, "p_positive_coord")], ignore_index=True)
        meta = provenance(args.config, None, time.perf_counter() - start, kind=args.kind, inputs=args.tables)
        write_table(crossings, args.crossings, meta)
    write_table(df, args.out, meta)
    print(f"wrote {args.out}: {len(df)} rows in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
