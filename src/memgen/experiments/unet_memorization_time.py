"""Memorization over training time in the U-Net study of m: the memorized fraction and the DSM losses at
every saved step, the steps τ_mem(n) and τ_gen(n) at which memorization and generalization set in, and the
power law τ_mem ∝ n^α (definitions: :mod:`memgen.onset`).

    python -m memgen.experiments.unet_memorization_time --curves C.parquet --onsets O.parquet --fits F.parquet
                                                        T1.parquet T2.parquet ...

The inputs are the scored tables of the study of m (one row per seed and saved step). Outputs:
- curves: per (data set, n, m, step) the memorized fraction (mean and s.d. over seeds; pooled Wilson
  interval over all seeds' samples) and the train and test DSM losses (mean, s.d.);
- onsets: per (data set, n, m) τ_mem and τ_gen of the seed-mean curves with percentile intervals from
  resampling the seeds, and the memorized fraction at the end of training;
- fits: per (data set, m) α of τ_mem ∝ n^α (and β of τ_gen ∝ n^β) with bootstrap intervals over the n
  whose curve crossed, and the largest n up to which the memorized fraction stays ≥ 0.9.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from memgen.io import provenance, read_tables, sidecar_path, write_table
from memgen.memorization import pooled_memorized_interval
from memgen.onset import (
    BEFORE_FIRST,
    CROSSED,
    bootstrap_over_seeds,
    generalization_step,
    largest_memorizing_n,
    memorization_step,
    power_law_over_seeds,
)

KEYS = ["dataset", "n", "m"]
RESAMPLES = 2000
EMM_LEVEL = 0.9  # the memorized fraction of "effective model memorization" (Gu et al., 2023)


def memorization_curves(df: pd.DataFrame) -> pd.DataFrame:
    """Per (data set, n, m, step): memorized fraction, train and test DSM losses over the seeds."""
    cols = ["memorized_fraction", "train_loss", "test_loss"]
    g = df.groupby([*KEYS, "step"])
    out = g[cols].mean().add_suffix("_mean").join(g[cols].std(ddof=1).fillna(0.0).add_suffix("_std"))
    out = out.join(g.size().rename("seeds")).join(g["steps"].first())
    pooled = {k: pooled_memorized_interval(grp["memorized_fraction"], grp["samples"]) for k, grp in g}
    out["memorized_low"] = [pooled[k].low for k in out.index]
    out["memorized_high"] = [pooled[k].high for k in out.index]
    return out.reset_index()


def seed_curves(df: pd.DataFrame) -> dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(data set, n, m) → (saved steps, seeds × steps memorized fractions, seeds × steps test losses)."""
    out = {}
    for key, grp in df.groupby(KEYS):
        tables = [
            grp.pivot(index="seed", columns="step", values=c).sort_index(axis=1)
            for c in ("memorized_fraction", "test_loss")
        ]
        if any(t.isna().any().any() for t in tables):
            raise ValueError(f"the seeds of {dict(zip(KEYS, key))} were not scored at the same steps")
        out[key] = (tables[0].columns.to_numpy(dtype=np.float64), *(t.to_numpy(dtype=np.float64) for t in tables))
    return out


def memorization_onsets(per_seed: dict) -> pd.DataFrame:
    """Per (data set, n, m) of :func:`seed_curves`: τ_mem and τ_gen with their intervals over seeds (``_status``:
    crossed, before_first — already past at the first saved step — or not_reached within training)."""
    rows = []
    for (ds, n, m), (steps, memorized, test_loss) in per_seed.items():
        row = {"dataset": ds, "n": n, "m": m, "seeds": len(memorized), "steps": int(steps[-1])}
        row["first_step"] = int(steps[0])
        for name, seeds, crossing in (("mem", memorized, memorization_step), ("gen", test_loss, generalization_step)):
            iv = bootstrap_over_seeds(steps, seeds, crossing, resamples=RESAMPLES)
            row.update(
                {
                    f"tau_{name}": iv.step,
                    f"tau_{name}_low": iv.low,
                    f"tau_{name}_high": iv.high,
                    f"tau_{name}_status": iv.status,
                    f"tau_{name}_not_reached": iv.not_reached,
                }
            )
        row["memorized_final"] = float(memorized[:, -1].mean())
        row["memorized_final_std"] = float(memorized[:, -1].std(ddof=1)) if len(memorized) > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows).sort_values(KEYS, ignore_index=True)


def onset_fits(per_seed: dict, onsets: pd.DataFrame) -> pd.DataFrame:
    """Per (data set, m) of :func:`seed_curves`: τ_mem ∝ n^α and τ_gen ∝ n^β over the n whose seed-mean curve crossed (``alpha_sizes``,
    ``beta_sizes``; 0 when fewer than two n crossed, the exponent then reported as 0), and the largest n up to
    which the memorized fraction at the end of training stays ≥ 0.9."""
    rows = []
    for ds, m in sorted({(ds, m) for ds, _, m in per_seed}):
        per_n = {n: c for (d, n, mm), c in per_seed.items() if (d, mm) == (ds, m)}
        steps = {n: c[0] for n, c in per_n.items()}
        memorized, test_loss = ({n: c[k] for n, c in per_n.items()} for k in (1, 2))
        row = {"dataset": ds, "m": m, "sizes": len(steps)}
        for name, curves, crossing in (
            ("alpha", memorized, memorization_step),
            ("beta", test_loss, generalization_step),
        ):
            try:
                fit = power_law_over_seeds(steps, curves, crossing, resamples=RESAMPLES)
                row.update(
                    {name: fit.alpha, f"{name}_low": fit.low, f"{name}_high": fit.high, f"{name}_sizes": fit.sizes}
                )
            except ValueError:  # fewer than two n crossed within training
                row.update({name: 0.0, f"{name}_low": 0.0, f"{name}_high": 0.0, f"{name}_sizes": 0})
        final = onsets[(onsets["dataset"] == ds) & (onsets["m"] == m)]
        row["largest_memorizing_n"] = largest_memorizing_n(final["n"], final["memorized_final"], EMM_LEVEL)
        row["mem_crossed"] = int((final["tau_mem_status"] == CROSSED).sum())
        row["mem_before_first"] = int((final["tau_mem_status"] == BEFORE_FIRST).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m memgen.experiments.unet_memorization_time", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--curves", required=True)
    parser.add_argument("--onsets", required=True)
    parser.add_argument("--fits", required=True)
    parser.add_argument("tables", nargs="+", help="scored tables of the study of m (memgen.experiments.unet)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    df = read_tables(args.tables)
    job_config = json.loads(sidecar_path(args.tables[0]).read_text()).get("config", {})
    per_seed = seed_curves(df)
    onsets = memorization_onsets(per_seed)
    fits = onset_fits(per_seed, onsets)
    for table, path in ((memorization_curves(df), args.curves), (onsets, args.onsets), (fits, args.fits)):
        meta = provenance({**job_config, "inputs": args.tables}, seed=None, wall_time_s=time.perf_counter() - start)
        write_table(table, path, meta)
    print(f"wrote {args.curves}, {args.onsets}, {args.fits}")


if __name__ == "__main__":
    main()
