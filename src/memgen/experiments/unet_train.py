"""Training stage of the U-Net experiments: U-Nets trained on their images, their weights kept after the
saved steps (config ``snapshots``; always the last step) and their training-loss curves.

Command line (one Snakemake job = one block of Fig. 4 trials, or every seed at one (data set, n, m)):

    python -m memgen.experiments.unet_train gaussian --config JSON --n 100 --trials 0:5 --seed S
                                 --weights W.pt --out L.parquet [--checkpoint-dir DIR --checkpoint-every K]
    (the workflow passes the checkpoint settings as $MEMGEN_CHECKPOINT_DIR, $MEMGEN_CHECKPOINT_EVERY)
    python -m memgen.experiments.unet_train memorization mnist --config JSON --n 300 --m 10
                                 --data D.npz --manifest M.json --seed S --weights W.pt --out L.parquet

``--config`` is the experiment's training slice (:func:`memgen.planning.training_slice`): nothing of
sampling or scoring, so that changing those never retrains a model. Models are trained ``unet.pack``
at a time through :func:`memgen.training.train_ddpm_models`, each pack checkpointed under
``--checkpoint-dir``: a job killed at any point resumes (finished packs from their last checkpoint,
the running one from its last save); the checkpoints are removed once the weights are written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import pandas as pd
import torch

from memgen.data import DATASET_KEY, load_prepared
from memgen.grids import m_label, parse_m, trial_range
from memgen.io import provenance, write_table
from memgen.planning import snapshot_steps
from memgen.training import Weights, build_unet, save_weights, train_ddpm_models
from memgen.unet_setup import (
    GAUSSIAN,
    MEMORIZATION,
    gaussian_name,
    gaussian_training_set,
    memorization_data,
    memorization_key,
    memorization_name,
    memorization_training_images,
    to_model_range,
    training_config,
    unet_config,
)


def pack_ranges(items: list, pack: int) -> list[list]:
    """``items`` in consecutive packs of at most ``pack``."""
    return [items[i : i + pack] for i in range(0, len(items), max(1, pack))]


def train_models(
    jobs: list[tuple[str, tuple, torch.Tensor]],
    tslice: dict,
    m: float,
    n: int,
    seed: int,
    experiment: str,
    image_size: int,
    checkpoints: Path | None,
    checkpoint_every: int,
    device,
) -> tuple[Weights, list[dict], list[Path]]:
    """Train the models ``jobs`` = [(name, stream key, images (n, 1, H, W) in [−1, 1])], ``unet.pack`` at a
    time: their :class:`Weights` after each saved step, one row per model (its loss curve) and the packs'
    checkpoint files."""
    shared, ex = tslice["shared"], tslice["experiment"]
    tcfg = training_config(ex, {**shared, "checkpoint_every": checkpoint_every}, m, n, snapshot_steps(ex, n))
    states, keys, rows, packs = {}, {}, [], []
    for pack in pack_ranges(jobs, shared.get("pack", 1)):
        names = [name for name, _, _ in pack]
        models = [build_unet(unet_config(ex["model"], image_size), seed, experiment, *key) for _, key, _ in pack]
        ckpt = checkpoints / f"{names[0]}+pack{len(pack)}.ckpt" if checkpoints is not None else None
        packs.append(ckpt)
        results = train_ddpm_models(
            models,
            [x for *_, x in pack],
            tcfg,
            seed,
            experiment,
            [key for _, key, _ in pack],
            ckpt,
            device,
            context=tslice,
        )
        for (name, key, _), res in zip(pack, results):
            states[name], keys[name] = res.snapshots, list(key)
            rows.append({"name": name, "steps": res.steps, "train_seconds": res.seconds, "losses": res.losses.tolist()})
    steps = tcfg.snapshot_steps(n)
    weights = Weights(unet_config(ex["model"], image_size), tcfg.diffusion_steps, experiment, keys, steps, states)
    return weights, rows, [p for p in packs if p is not None]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m memgen.experiments.unet_train", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gp = sub.add_parser("gaussian", help="a block of trials of the Gaussian-pixel transition at one n")
    gp.add_argument("--trials", type=trial_range, required=True, help="START:STOP (global trial indices)")
    mp = sub.add_parser("memorization", help="every seed at one (data set, n, m)")
    mp.add_argument("dataset", choices=sorted(DATASET_KEY))
    mp.add_argument("--m", required=True)
    mp.add_argument("--data", required=True, help="prepared.npz of the data stage")
    mp.add_argument("--manifest", required=True)
    for p in (gp, mp):
        p.add_argument("--config", type=json.loads, required=True, help="JSON training slice {shared, experiment}")
        p.add_argument("--n", type=int, required=True)
        p.add_argument("--seed", type=int, required=True)
        p.add_argument("--weights", required=True, help="the weights file to write (.pt)")
        p.add_argument("--out", required=True, help="the loss-curve table to write (.parquet)")
        p.add_argument(
            "--checkpoint-dir",
            default=os.environ.get("MEMGEN_CHECKPOINT_DIR"),
            help="checkpoints of running packs (default $MEMGEN_CHECKPOINT_DIR; none: no resume)",
        )
        p.add_argument(
            "--checkpoint-every",
            type=int,
            default=int(os.environ.get("MEMGEN_CHECKPOINT_EVERY", 500)),
            help="optimizer steps between checkpoints (default $MEMGEN_CHECKPOINT_EVERY or 500)",
        )
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    ex, n, seed = args.config["experiment"], args.n, args.seed
    device = torch.device(args.device)
    checkpoints = Path(args.checkpoint_dir) if args.checkpoint_dir else None
    if args.command == "gaussian":
        m, size, experiment = math.inf, ex["image_size"], GAUSSIAN
        jobs = [
            (
                gaussian_name(n, t),
                (n, t),
                to_model_range(gaussian_training_set(ex, n, t, seed)).reshape(n, 1, size, size),
            )
            for t in args.trials
        ]
        extra = {"trials": [args.trials.start, args.trials.stop]}
    else:
        m, experiment = parse_m(args.m), MEMORIZATION
        data = load_prepared(args.data, args.manifest)
        train, _ = memorization_data(data, ex, n)
        images, size = memorization_training_images(train), train.shape[-1]
        jobs = [
            (memorization_name(data.name, n, m, s), memorization_key(data.name, n, m, s), images)
            for s in range(ex["seeds"])
        ]
        extra = {"dataset": args.dataset, "m": m_label(m), "source": data.source}
    weights, rows, packs = train_models(
        jobs, args.config, m, n, seed, experiment, size, checkpoints, args.checkpoint_every, device
    )
    save_weights(args.weights, weights)
    meta = provenance(args.config, seed, time.perf_counter() - start, str(device), n=n, steps=weights.steps, **extra)
    write_table(pd.DataFrame(rows), args.out, meta)
    for path in packs:
        path.unlink(missing_ok=True)
    print(f"wrote {args.weights} and {args.out}: {len(rows)} models, weights after steps {weights.steps}")


if __name__ == "__main__":
    main()
