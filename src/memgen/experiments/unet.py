"""Scoring stage of the U-Net experiments, and their summaries: Paper B's Gaussian-pixel transition (Fig. 4)
and Paper A's study of m (noise draws per image) on MNIST / Fashion-MNIST.

Command line (one Snakemake job per training job; the weights come from ``memgen.experiments.unet_train``,
the images from ``memgen.experiments.unet_sample``):

    python -m memgen.experiments.unet gaussian --config JSON --n 100 --trials 0:5 --seed S
                                 --samples G.npz --training L.parquet --out T.parquet
    python -m memgen.experiments.unet memorization mnist --config JSON --n 300 --m 10 --data D.npz --manifest M.json
                                 --seed S --weights W.pt --samples G.npz --training L.parquet --out T.parquet --grid P.npz
    python -m memgen.experiments.unet summarise {gaussian,memorization} --out S.parquet T1.parquet ...

Each job's table has one row per trained model and saved step (``step``; ``steps``: the end of its
training). Metrics are computed in pixel units ([0, 1]); the summaries are of the models at the end
of training.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pandas as pd
import torch

from memgen.calibration import MODEL, reference_generators
from memgen.data import DATASET_KEY, load_prepared
from memgen.grids import m_label, parse_m, trial_range
from memgen.io import provenance, read_table, read_tables, sidecar_path, write_npz, write_table
from memgen.kde import probability_positive
from memgen.memorization import nearest_neighbours, pooled_memorized_interval
from memgen.pixel_protocols import (
    EXACT,
    VARIANT,
    column_suffix,
    compared_training_index,
    protocol,
    protocol_transitions,
)
from memgen.seeding import torch_generator
from memgen.training import load_weights, mean_eps_loss
from memgen.unet_setup import (
    MEMORIZATION,
    gaussian_name,
    gaussian_setup,
    memorization_data,
    memorization_key,
    memorization_name,
    memorization_training_images,
    original_set,
    training_config,
)

COMPARED_STREAM = "unet_gaussian/compared"  # the training images a protocol compares: the same subset in every one
LOSS_WINDOWS = 40  # windows of the tabulated training loss curve (loss_curve)


def load_samples(path, names: list[str]) -> tuple[list[int], dict[str, np.ndarray]]:
    """(saved steps, name -> (S, count, 1, H, W) images) of a samples file of the sampling stage, which must
    hold every model of ``names``."""
    with np.load(path) as npz:
        held, steps, samples = [str(x) for x in npz["names"]], [int(s) for s in npz["steps"]], npz["samples"]
    missing = [name for name in names if name not in held]
    if missing:
        raise ValueError(f"{path}: no samples of {', '.join(missing)} (it holds {', '.join(held)})")
    return steps, {name: samples[held.index(name)] for name in names}


def load_training(path, names: list[str]) -> dict[str, dict]:
    """name -> its row (steps, train_seconds, losses) of a loss-curve table of the training stage."""
    df = read_table(path)
    rows = {row["name"]: row for row in df.to_dict("records")}
    missing = [name for name in names if name not in rows]
    if missing:
        raise ValueError(f"{path}: no training record of {', '.join(missing)}")
    return {name: {**rows[name], "losses": np.asarray(rows[name]["losses"], dtype=np.float64)} for name in names}


def training_columns(record: dict, step: int) -> dict:
    """The columns a scored row takes from its model's training: the step, the training length and time,
    and the loss tail and curve of the steps up to ``step`` (:func:`loss_tail`)."""
    return {
        "step": int(step),
        "steps": int(record["steps"]),
        "train_seconds": float(record["train_seconds"]),
        **loss_tail(record["losses"][: int(step)]),
    }


def loss_tail(losses: np.ndarray) -> dict:
    """``final_loss``: the mean training loss over the last tenth of the steps; ``loss_drift``: its relative
    change from the tenth before, (L_last − L_before) / L_last — near 0 when the loss curve is flat at the end."""
    k = max(1, len(losses) // 10)
    last, before = (
        float(losses[-k:].mean()),
        float(losses[-2 * k : -k].mean()) if len(losses) >= 2 * k else float("nan"),
    )
    return {
        "final_loss": last,
        "loss_drift": (last - before) / last if math.isfinite(before) else 0.0,
        "loss_curve": loss_curve(losses),
    }


def loss_curve(losses: np.ndarray, windows: int = LOSS_WINDOWS) -> list[float]:
    """The training loss curve as the means over ``windows`` consecutive equal stretches of the steps (fewer
    when there are fewer steps): window k averages the losses of steps ⌊kS/w⌋ … ⌊(k+1)S/w⌋ − 1."""
    losses = np.asarray(losses, dtype=np.float64)
    edges = np.linspace(0, len(losses), min(windows, len(losses)) + 1).astype(int)
    return [float(losses[a:b].mean()) for a, b in zip(edges[:-1], edges[1:])]


def mean_curve(curves) -> list[float]:
    """The elementwise mean of equal-length loss curves (the trials or seeds of one point)."""
    return np.mean(np.stack([np.asarray(c, dtype=np.float64) for c in curves]), axis=0).tolist()


# --------------------------------------------------------------------------- Paper B, Fig. 4


def gaussian_evaluate(g: dict, n: int, trial: int, train, subset, gen, seed: int) -> dict:
    """The metrics of ``gen`` (the generated images of one trial, flattened pixels): for every protocol of
    ``g["protocols"]`` (:mod:`memgen.pixel_protocols`: which training images are compared, at which width, in
    which units, exact or on the authors' 16-point grid) the sign of Δ = E_TG − E_OG of the model and of each
    reference generator of :mod:`memgen.calibration` (as many images, the same sets: true law, training copies,
    the samples' moment-matched twin); E_TG, E_OG and Δ of the project's variant (all n training images,
    widths σ/size, eq. 24; exact and on the grid); the memorized fraction of the generated images."""
    train, subset = train.double(), subset.double()
    nn = nearest_neighbours(gen, train)
    references = reference_generators(
        train, gen, torch_generator(seed, "unet_gaussian/reference", n, trial), mean=g["mu"], std=g["sigma"]
    )
    generators = {MODEL: gen, **references}
    row = {"n": n, "trial": trial}
    for name in g["protocols"]:
        spec = protocol(name)
        index = compared_training_index(n, spec.train_images, torch_generator(seed, COMPARED_STREAM, n, trial))
        for integral, metrics in protocol_transitions(
            spec, train, index, subset, list(generators.values()), g["sigma"], g["mu"]
        ).items():
            for generator, metric in zip(generators, metrics):
                row[f"delta_sign{column_suffix(name, integral, generator)}"] = float(np.sign(metric.delta))
            if name == VARIANT:
                tag = "" if integral == EXACT else "_grid"
                row.update({f"e_tg{tag}": metrics[0].e_tg, f"e_og{tag}": metrics[0].e_og})
                if integral == EXACT:
                    row["delta"] = metrics[0].delta
    return {
        **row,
        "memorized_fraction": float(nn.memorized().double().mean()),
        "generated_mean": float(gen.mean()),
        "generated_std": float(gen.std()),
        "mu": float(g["mu"]),
        "sigma": float(g["sigma"]),
    }


def gaussian_block(g: dict, n: int, trials, seed: int, samples_path, training_path) -> list[dict]:
    """One row per (trial, saved step) of a block of trials at training-set size n."""
    names = [gaussian_name(n, t) for t in trials]
    steps, samples = load_samples(samples_path, names)
    training = load_training(training_path, names)
    original = original_set(g, seed)
    rows = []
    for t, name in zip(trials, names):
        train, subset = gaussian_setup(g, n, t, original, seed)
        for step, images in zip(steps, samples[name]):
            gen = torch.from_numpy(images).reshape(len(images), -1)
            rows.append(
                {**gaussian_evaluate(g, n, t, train, subset, gen, seed), **training_columns(training[name], step)}
            )
    return rows


def summarise_gaussian(df: pd.DataFrame) -> pd.DataFrame:
    """Per n: the pixel law (mu, sigma); P(Δ>0) with its Wilson interval of every ``delta_sign*`` column — each
    protocol, integral and generator (``p_positive``, ``ci_low``, ``ci_high`` with the column's suffix, e.g.
    ``_grid``, ``_true_law``, ``_caption_copies_100``: :func:`memgen.pixel_protocols.column_suffix`) — E_TG and
    E_OG of the variant (mean, sem) and Ê = mean / (mean at the smallest n); the memorized fraction, the loss at
    the end and the generated pixels' std (against the law's σ), mean and sem over trials."""
    signs = [c for c in df.columns if c.startswith("delta_sign")]
    rows = []
    for n, grp in df.groupby("n"):
        row = {"n": n, "trials": len(grp)}
        row.update(mu=grp["mu"].iloc[0], sigma=grp["sigma"].iloc[0])  # the pixel law N(mu, sigma^2)
        for col in signs:
            suffix = col.removeprefix("delta_sign")
            prop = probability_positive(grp[col].to_numpy())
            row.update({f"p_positive{suffix}": prop.p, f"ci_low{suffix}": prop.low, f"ci_high{suffix}": prop.high})
        for col in ("e_tg", "e_og", "memorized_fraction", "final_loss", "loss_drift", "generated_std"):
            row[f"{col}_mean"] = grp[col].mean()
            row[f"{col}_sem"] = grp[col].std(ddof=1) / math.sqrt(len(grp)) if len(grp) > 1 else 0.0
        row["loss_curve"] = mean_curve(grp["loss_curve"])
        rows.append(row)
    out = pd.DataFrame(rows).sort_values("n", ignore_index=True)
    for col in ("e_tg", "e_og"):
        ref = out[f"{col}_mean"].iloc[0]
        out[f"{col}_scaled"] = out[f"{col}_mean"] / ref
        out[f"{col}_scaled_sem"] = out[f"{col}_sem"] / ref
    return out


# --------------------------------------------------------------------------- Paper A, the role of m


def memorization_evaluate(model, gen, mem: dict, tcfg, key, train, test, seed: int, device) -> tuple[dict, object]:
    """(columns, nearest neighbours) of one trained model: train DSM loss (its bank's draws), test DSM loss
    (held-out images, fresh noise), and the memorized fraction (d₁/d₂ < 1/3) of its generated images ``gen``.
    ``train``, ``test``: pixels (n, H, W) in [0, 1]; each DSM loss sees them as the network does
    (:func:`memgen.unet_setup.memorization_training_images`)."""
    repeats = mem["eval_repeats"]
    x, x_test = memorization_training_images(train), memorization_training_images(test)
    train_loss = mean_eps_loss(model, x, tcfg.m, tcfg, seed, MEMORIZATION, *key, repeats=repeats, device=device)
    test_loss = mean_eps_loss(
        model, x_test, math.inf, tcfg, seed, f"{MEMORIZATION}/test", *key, repeats=repeats, device=device
    )
    nn = nearest_neighbours(gen.reshape(len(gen), -1), train.reshape(len(train), -1))
    row = {
        "train_loss": train_loss,
        "test_loss": test_loss,
        "loss_gap": test_loss - train_loss,
        "memorized_fraction": float(nn.memorized().double().mean()),
        "ratio_median": float(nn.ratio.median()),
        "samples": len(gen),
    }
    return row, nn


def memorization_scores(data, cfg: dict, shared: dict, n: int, m: float, seed: int, paths: dict, device):
    """(rows, grid): one row per (seed, saved step) at (data set, n, m), and the sample grid of seed 0 at the
    end of training (its first ``grid`` images, their nearest training images and distance ratios)."""
    train, test = memorization_data(data, cfg, n)
    names = [memorization_name(data.name, n, m, s) for s in range(cfg["seeds"])]
    steps, samples = load_samples(paths["samples"], names)
    training = load_training(paths["training"], names)
    weights = load_weights(paths["weights"])
    tcfg = training_config(cfg, shared, m, n)
    rows, grid = [], None
    for s, name in enumerate(names):
        key = memorization_key(data.name, n, m, s)
        for step, images in zip(steps, samples[name]):
            gen = torch.from_numpy(images)
            model = weights.model(name, step, device)
            scores, nn = memorization_evaluate(model, gen, cfg, tcfg, key, train, test, seed, device)
            ids = {"dataset": data.name, "source": data.source, "n": n, "m": m_label(m), "seed": s}
            rows.append({**ids, **scores, **training_columns(training[name], step)})
            if s == 0 and step == steps[-1]:
                k = min(cfg["grid"], len(gen))
                grid = {
                    "samples": gen[:k, 0].clamp(0, 1).float().numpy(),
                    "nearest": train[nn.nearest[:k]].clamp(0, 1).float().numpy(),
                    "ratio": nn.ratio[:k].float().numpy(),
                }
    return rows, grid


def summarise_memorization(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per (dataset, n, m) (the spread over trained models); each seed's memorized
    fraction in seed order (``memorized_by_seed``); the memorized fraction of all the point's samples pooled,
    with its Wilson interval (``memorized_low``, ``memorized_high``: the sampling error of the samples of the
    trained models, not the spread over training seeds); the seeds' mean training loss curve."""
    cols = ["train_loss", "test_loss", "loss_gap", "memorized_fraction", "ratio_median", "final_loss", "loss_drift"]
    keys = ["dataset", "n", "m"]
    g = df.groupby(keys)[cols]
    out = g.mean().add_suffix("_mean").join(g.std(ddof=1).fillna(0.0).add_suffix("_std")).join(g.size().rename("seeds"))
    extra = {}
    for key, grp in df.groupby(keys):
        prop = pooled_memorized_interval(grp["memorized_fraction"], grp["samples"])
        extra[key] = {
            "memorized_low": prop.low,
            "memorized_high": prop.high,
            "memorized_by_seed": grp.sort_values("seed")["memorized_fraction"].astype(float).tolist(),
            "loss_curve": mean_curve(grp["loss_curve"]),
        }
    out = out.join(pd.DataFrame.from_dict(extra, orient="index").rename_axis(keys))
    return out.reset_index()


# --------------------------------------------------------------------------- command line


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of the models at the end of their training (all rows of a table without saved steps)."""
    return df[df["step"] == df["steps"]] if "step" in df else df


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m memgen.experiments.unet", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gp = sub.add_parser("gaussian", help="score a block of trials of the Gaussian-pixel transition at one n")
    gp.add_argument("--trials", type=trial_range, required=True, help="START:STOP (global trial indices)")
    mp = sub.add_parser("memorization", help="score every seed at one (data set, n, m)")
    mp.add_argument("dataset", choices=sorted(DATASET_KEY))
    mp.add_argument("--m", required=True)
    mp.add_argument("--data", required=True, help="prepared.npz of the data stage")
    mp.add_argument("--manifest", required=True)
    mp.add_argument("--weights", required=True, help="the weights file of the training stage")
    mp.add_argument("--grid", required=True, help=".npz of the seed-0 sample grid to write")
    for p in (gp, mp):
        p.add_argument("--config", type=json.loads, required=True, help="JSON {shared unet keys, experiment slice}")
        p.add_argument("--n", type=int, required=True)
        p.add_argument("--seed", type=int, required=True)
        p.add_argument("--samples", required=True, help="the samples file of the sampling stage")
        p.add_argument("--training", required=True, help="the loss-curve table of the training stage")
        p.add_argument("--out", required=True)
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    sp = sub.add_parser("summarise")
    sp.add_argument("kind", choices=["gaussian", "memorization"])
    sp.add_argument("--out", required=True)
    sp.add_argument("--by-step", help="also the summary at every saved step (a column step), to this table")
    sp.add_argument("tables", nargs="+")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.command == "summarise":
        fn = summarise_gaussian if args.kind == "gaussian" else summarise_memorization
        # the jobs' shared config slice (every input was run with it) names the summary's scale too
        job_config = json.loads(sidecar_path(args.tables[0]).read_text()).get("config", {})
        df = read_tables(args.tables)
        meta = provenance({**job_config, "inputs": args.tables}, seed=None, wall_time_s=time.perf_counter() - start)
        write_table(fn(final_rows(df)), args.out, meta)
        if args.by_step:  # the same summary of the models after each saved step
            per_step = [fn(grp).assign(step=int(step)) for step, grp in df.groupby("step")]
            write_table(pd.concat(per_step, ignore_index=True), args.by_step, meta)
        print(f"wrote {args.out}")
        return
    shared, cfg = args.config["shared"], args.config["experiment"]
    device = torch.device(args.device)
    if args.command == "gaussian":
        rows = gaussian_block(cfg, args.n, list(args.trials), args.seed, args.samples, args.training)
        extra = {"trials": [args.trials.start, args.trials.stop]}
    else:
        m = parse_m(args.m)
        data = load_prepared(args.data, args.manifest)
        paths = {"weights": args.weights, "samples": args.samples, "training": args.training}
        rows, grid = memorization_scores(data, cfg, shared, args.n, m, args.seed, paths, device)
        write_npz(args.grid, grid)
        extra = {"dataset": args.dataset, "m": m_label(m), "source": data.source}
    meta = provenance(args.config, args.seed, time.perf_counter() - start, str(device), n=args.n, **extra)
    write_table(pd.DataFrame(rows), args.out, meta)
    print(f"wrote {args.out}: {len(rows)} rows in {time.perf_counter() - start:.1f} s on {device}")


if __name__ == "__main__":
    main()
