"""U-Net diffusion experiments: Paper B's Gaussian-pixel transition (Fig. 4) and Paper A's
study of m (noise draws per image) on MNIST / Fashion-MNIST.

Command line (one Snakemake job = one block of trials, or one (data set, n, m) with all seeds):

    python -m memgen.experiments.unet gaussian --config JSON --n 100 --trials 0:5 --seed S --out T.parquet
    python -m memgen.experiments.unet memorization mnist --config JSON --n 300 --m 10 --data D.npz --manifest M.json
                                 --seed S --out T.parquet --samples G.npz
    python -m memgen.experiments.unet summarise {gaussian,memorization} --out S.parquet T1.parquet ...

Images are scaled to [−1, 1] for training and sampling; every metric is computed back in pixel
units ([0, 1]). Each finished trial is recorded beside its checkpoint (``checkpoint_dir``), so a job
killed at any point resumes: finished trials are read back, the running one resumes from its last
checkpoint. The records are removed once the job's table is written.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from memgen.calibration import REFERENCE_GENERATORS, reference_generators
from memgen.data import DATASET_KEY, block_average, load_prepared, take_images
from memgen.diffusion import LinearSchedule, ddim_sample, ddpm_sample
from memgen.io import atomic_write, provenance, read_tables, sidecar_path, source_digest, write_npz, write_table
from memgen.grids import m_label, m_seed_key, parse_m, trial_range
from memgen.kde import pixel_transitions, probability_positive
from memgen.paper_arithmetic import grid_pixel_transition
from memgen.memorization import nearest_neighbours
from memgen.seeding import torch_generator
from memgen.training import TrainingConfig, build_unet, mean_eps_loss, train_ddpm, train_ddpm_packed
from memgen.unet import UNetConfig

SAMPLERS = {"ddpm": ddpm_sample, "ddim": ddim_sample}
LOSS_WINDOWS = 40  # windows of the tabulated training loss curve (loss_curve)
CODE_MODULES = (
    "calibration",
    "diffusion",
    "kde",
    "memorization",
    "paper_arithmetic",
    "training",
    "unet",
    "experiments/unet",
)


def unet_config(model: dict, image_size: int) -> UNetConfig:
    """UNetConfig from the config slice ``model`` (widths, depth) at ``image_size``."""
    return UNetConfig(
        image_size=image_size,
        in_channels=1,
        base_channels=model["base_channels"],
        channel_mults=tuple(model["channel_mults"]),
        num_res_blocks=model["num_res_blocks"],
        attention_levels=model["attention_levels"],
        groups=model["groups"],
        heads=model["heads"],
        dropout=model.get("dropout", 0.0),
    )


def training_config(cfg: dict, shared: dict, m: float) -> TrainingConfig:
    return TrainingConfig(
        batch_size=cfg["batch_size"],
        lr=cfg["lr"],
        epochs=cfg.get("epochs"),
        steps=cfg.get("steps"),
        m=m,
        diffusion_steps=cfg["diffusion_steps"],
        precision=shared["precision"],
        compile=shared["compile"],
        checkpoint_every=shared["checkpoint_every"],
    )


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] → [−1, 1]: 2x − 1."""
    return 2.0 * x - 1.0


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """Model range → pixels: (x + 1)/2."""
    return (x + 1.0) / 2.0


@torch.no_grad()
def generate(
    model, cfg: dict, count: int, image_size: int, g: torch.Generator, device, batch: int = 500
) -> torch.Tensor:
    """``count`` images from the trained model with the configured sampler, in batches on the
    device, the predicted x̂_0 clipped to the data range [−1, 1]; returned in pixels, float64 on CPU."""
    sampler = SAMPLERS[cfg.get("sampler", "ddpm")]
    schedule = LinearSchedule(cfg["diffusion_steps"])
    out = []
    for i in range(0, count, batch):
        k = min(batch, count - i)
        out.append(sampler(model, schedule, (k, 1, image_size, image_size), g, device=device, clip=1.0).double().cpu())
    return to_pixels(torch.cat(out))


def code_digest() -> str:
    """sha256 of the sources that produce a trial's numbers (a stale trial record is never reused)."""
    return source_digest(CODE_MODULES)[:16]


def gaussian_trial_name(n: int, trial: int) -> str:
    return f"gaussian/n{n}_t{trial}"


def memorization_seed_name(dataset: str, n: int, m: float, s: int) -> str:
    return f"{dataset}/n{n}_m{m_label(m)}_s{s}"


class TrialRecords:
    """Finished trials of one job, one JSON file each under ``folder`` (with, where a trial has them,
    its arrays beside), keyed by the job's config and the code digest; checkpoints of unfinished
    trials live beside them."""

    def __init__(self, folder: str | Path, job_config: dict):
        self.folder = Path(folder)
        self.stamp = {"config": job_config, "code": code_digest()}

    def checkpoint(self, name: str) -> Path:
        return self.folder / f"{name}.ckpt"

    def pack_checkpoint(self, names: list[str]) -> Path:
        """The checkpoint of a pack trained together: named after its first trial and its size."""
        return self.checkpoint(f"{names[0]}+pack{len(names)}")

    def arrays(self, name: str) -> Path:
        return self.folder / f"{name}.npz"

    def load(self, name: str) -> list[dict] | None:
        path = self.folder / f"{name}.json"
        if not path.exists():
            return None
        record = json.loads(path.read_text())
        return record["rows"] if record.get("stamp") == self.stamp else None

    def save(self, name: str, rows: list[dict]) -> None:
        path = self.folder / f"{name}.json"
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps({"stamp": self.stamp, "rows": rows})))
        self.checkpoint(name).unlink(missing_ok=True)

    def clear(self, names) -> None:
        """Remove the records, arrays and checkpoints of ``names``, and the checkpoint of any pack they began."""
        for name in names:
            packs = self.checkpoint(name).parent.glob(f"{Path(name).name}+pack*.ckpt")  # any pack_checkpoint it began
            for path in (self.folder / f"{name}.json", self.checkpoint(name), self.arrays(name), *packs):
                path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- Paper B, Fig. 4


def original_set(cfg: dict, seed: int) -> torch.Tensor:
    """The original set: N images (flattened) with pixels iid N(mu, sigma^2), the same in every job."""
    d = cfg["image_size"] ** 2
    g = torch_generator(seed, "unet_gaussian/original", d)
    return cfg["mu"] + cfg["sigma"] * torch.randn(cfg["N"], d, generator=g, dtype=torch.float32)


def gaussian_setup(cfg: dict, n: int, trial: int, original: torch.Tensor, seed: int):
    """(training set, original subset) of one trial: n fresh images and a random subset of the original set."""
    d = cfg["image_size"] ** 2
    g = torch_generator(seed, "unet_gaussian/trial", n, trial)
    train = cfg["mu"] + cfg["sigma"] * torch.randn(n, d, generator=g, dtype=torch.float32)
    subset = original[torch.randperm(len(original), generator=g)[: cfg["original_subset"]]]
    return train, subset


def gaussian_evaluate(model, res, cfg: dict, n: int, trial: int, train, subset, seed: int, device) -> dict:
    """The row of one trained trial: ``generated`` images, the per-pixel E_TG, E_OG, Δ against the training
    set and the original subset (widths σ/size, eq. 24; exact and on the authors' 16-point grid), the sign of
    Δ of each reference generator of :mod:`memgen.calibration` (as many images, the same sets: true law,
    training copies, the samples' moment-matched twin), and the memorized fraction of the generated images."""
    size, d = cfg["image_size"], cfg["image_size"] ** 2
    gen = generate(
        model,
        cfg,
        cfg["generated"],
        size,
        torch_generator(seed, "unet_gaussian/sample", n, trial, device=device),
        device,
    )
    gen = gen.reshape(len(gen), d)
    grid = grid_pixel_transition(train.double(), subset.double(), gen, cfg["sigma"], cfg["mu"])
    nn = nearest_neighbours(gen, train.double())
    references = reference_generators(
        train.double(),
        gen,
        torch_generator(seed, "unet_gaussian/reference", n, trial),
        mean=cfg["mu"],
        std=cfg["sigma"],
    )
    metric, *reference_metrics = pixel_transitions(
        train.double(), subset.double(), [gen, *references.values()], cfg["sigma"]
    )
    reference_signs = {
        f"delta_sign_{name}": float(np.sign(ref.delta)) for name, ref in zip(references, reference_metrics)
    }
    return {
        "n": n,
        "trial": trial,
        "e_tg": metric.e_tg,
        "e_og": metric.e_og,
        "delta": metric.delta,
        "delta_sign": float(np.sign(metric.delta)),
        "e_tg_grid": grid.e_tg,
        "e_og_grid": grid.e_og,
        "delta_sign_grid": float(np.sign(grid.delta)),
        **reference_signs,
        "memorized_fraction": float(nn.memorized().double().mean()),
        **loss_tail(res.losses),
        "steps": res.steps,
        "train_seconds": res.seconds,
        "generated_mean": float(gen.mean()),
        "generated_std": float(gen.std()),
        "mu": float(cfg["mu"]),
        "sigma": float(cfg["sigma"]),
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


def train_pack(models, image_sets, tcfg, seed: int, experiment: str, keys, names, records: TrialRecords, device):
    """Train the models of one pack: alone with :func:`train_ddpm` (checkpoint named after the trial), or as
    one :func:`train_ddpm_packed` run (checkpoint named after the pack's first trial and size)."""
    if len(models) == 1:
        ckpt = records.checkpoint(names[0])
        return [
            train_ddpm(
                models[0],
                image_sets[0],
                tcfg,
                seed,
                experiment,
                *keys[0],
                checkpoint=ckpt,
                device=device,
                context=records.stamp,
            )
        ]
    ckpt = records.pack_checkpoint(names)
    return train_ddpm_packed(
        models, image_sets, tcfg, seed, experiment, keys, checkpoint=ckpt, device=device, context=records.stamp
    )


def pack_ranges(items: list, pack: int) -> list[list]:
    """``items`` in consecutive packs of at most ``pack``."""
    return [items[i : i + pack] for i in range(0, len(items), max(1, pack))]


def gaussian_block(
    cfg: dict, shared: dict, n: int, trials, original: torch.Tensor, seed: int, records: TrialRecords, device
) -> list[dict]:
    """The trials of one job at training-set size n: finished trials read back from ``records``; the others
    trained ``unet.pack`` at a time (:func:`train_pack`), evaluated (:func:`gaussian_evaluate`) and recorded."""
    size = cfg["image_size"]
    rows = {t: records.load(gaussian_trial_name(n, t)) for t in trials}
    tcfg = training_config(cfg, shared, math.inf)
    for pack in pack_ranges([t for t in trials if rows[t] is None], shared.get("pack", 1)):
        setups = [gaussian_setup(cfg, n, t, original, seed) for t in pack]
        models = [build_unet(unet_config(cfg["model"], size), seed, "unet_gaussian", n, t) for t in pack]
        images = [to_model_range(train).reshape(n, 1, size, size) for train, _ in setups]
        names = [gaussian_trial_name(n, t) for t in pack]
        results = train_pack(
            models, images, tcfg, seed, "unet_gaussian", [(n, t) for t in pack], names, records, device
        )
        for t, name, model, res, (train, subset) in zip(pack, names, models, results, setups):
            rows[t] = [gaussian_evaluate(model, res, cfg, n, t, train, subset, seed, device)]
            records.save(name, rows[t])
        records.pack_checkpoint(names).unlink(missing_ok=True)
    return [r for t in trials for r in rows[t]]


def summarise_gaussian(df: pd.DataFrame) -> pd.DataFrame:
    """Per n: the pixel law (mu, sigma); P(Δ>0) with its Wilson interval — exact per-pixel integrals, the authors' 16-point sum
    (``_grid``) and each reference generator (``_true_law``, ``_copies_100``, …) — E_TG and E_OG (mean, sem) and
    Ê = mean / (mean at the smallest n); the memorized fraction, the loss at the end and the generated pixels'
    std (against the law's σ), mean and sem over trials."""
    rows = []
    for n, grp in df.groupby("n"):
        prop = probability_positive(grp["delta_sign"].to_numpy())
        grid = probability_positive(grp["delta_sign_grid"].to_numpy())
        row = {"n": n, "p_positive": prop.p, "ci_low": prop.low, "ci_high": prop.high, "trials": prop.trials}
        row.update(mu=grp["mu"].iloc[0], sigma=grp["sigma"].iloc[0])  # the pixel law N(mu, sigma^2)
        row.update(p_positive_grid=grid.p, ci_low_grid=grid.low, ci_high_grid=grid.high)
        for name in REFERENCE_GENERATORS:
            if f"delta_sign_{name}" in grp:
                ref = probability_positive(grp[f"delta_sign_{name}"].to_numpy())
                row.update({f"p_positive_{name}": ref.p, f"ci_low_{name}": ref.low, f"ci_high_{name}": ref.high})
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


def memorization_data(data, cfg: dict, n: int):
    """(first n training images, n_test held-out images), float64 in [0, 1], block-averaged to
    ``resolution`` × ``resolution`` when the config asks for it (:func:`memgen.data.block_average`)."""
    resolution = cfg.get("resolution")

    def pixels(images):
        images = block_average(images, resolution) if resolution else images
        return torch.from_numpy(np.asarray(images, dtype=np.float64)) / 255.0

    train = pixels(take_images(data, n, key="unet.memorization.n"))
    test = pixels(take_images(data, cfg["n_test"], key="unet.memorization.n_test", split="test"))
    return train, test


def memorization_evaluate(model, res, data, cfg: dict, tcfg, n: int, m: float, s: int, train, test, seed: int, device):
    """(row, arrays) of one trained seed at (data set, n, m): train DSM loss (the bank's draws) and test DSM loss
    (held-out images, fresh noise); ``samples`` generated images and their memorized fraction (d₁/d₂ < 1/3)."""
    key = (DATASET_KEY[data.name], n, m_seed_key(m), s)
    size = train.shape[-1]
    x = to_model_range(train).float().reshape(n, 1, size, size)
    train_loss = mean_eps_loss(
        model, x, m, tcfg, seed, "unet_memorization", *key, repeats=cfg["eval_repeats"], device=device
    )
    test_loss = mean_eps_loss(
        model,
        to_model_range(test).float().reshape(len(test), 1, size, size),
        math.inf,
        tcfg,
        seed,
        "unet_memorization/test",
        *key,
        repeats=cfg["eval_repeats"],
        device=device,
    )
    gen = generate(
        model, cfg, cfg["samples"], size, torch_generator(seed, "unet_memorization/sample", *key, device=device), device
    )
    flat_gen, flat_train = gen.reshape(len(gen), -1), train.reshape(n, -1)
    nn = nearest_neighbours(flat_gen, flat_train)
    row = {
        "dataset": data.name,
        "source": data.source,
        "n": n,
        "m": m_label(m),
        "seed": s,
        "steps": res.steps,
        "train_loss": train_loss,
        "test_loss": test_loss,
        "loss_gap": test_loss - train_loss,
        **loss_tail(res.losses),
        "memorized_fraction": float(nn.memorized().double().mean()),
        "ratio_median": float(nn.ratio.median()),
        "samples": len(gen),
        "train_seconds": res.seconds,
    }
    k = min(cfg["grid"], len(gen))
    arrays = {
        "samples": gen[:k, 0].clamp(0, 1).float().numpy(),
        "nearest": train[nn.nearest[:k]].clamp(0, 1).float().numpy(),
        "ratio": nn.ratio[:k].float().numpy(),
    }
    return row, arrays


def memorization_seeds(data, cfg: dict, shared: dict, n: int, m: float, seed: int, records: TrialRecords, device):
    """Every seed at (data set, n, m): U-Nets trained for ``steps`` on the first n training images with m noise
    draws each, ``unet.pack`` seeds at a time (:func:`train_pack`), then evaluated
    (:func:`memorization_evaluate`); finished seeds read back from ``records``. Returns [(row, arrays)]."""
    train, test = memorization_data(data, cfg, n)
    size = train.shape[-1]
    names = {s: memorization_seed_name(data.name, n, m, s) for s in range(cfg["seeds"])}
    out = {}
    for s, name in names.items():
        done = records.load(name)
        if done is not None and records.arrays(name).exists():
            with np.load(records.arrays(name)) as npz:
                out[s] = (done[0], dict(npz))
    tcfg = training_config(cfg, shared, m)
    x = to_model_range(train).float().reshape(n, 1, size, size)
    for pack in pack_ranges([s for s in names if s not in out], shared.get("pack", 1)):
        keys = [(DATASET_KEY[data.name], n, m_seed_key(m), s) for s in pack]
        models = [build_unet(unet_config(cfg["model"], size), seed, "unet_memorization", *key) for key in keys]
        pack_names = [names[s] for s in pack]
        results = train_pack(
            models, [x] * len(pack), tcfg, seed, "unet_memorization", keys, pack_names, records, device
        )
        for s, model, res in zip(pack, models, results):
            row, arrays = memorization_evaluate(model, res, data, cfg, tcfg, n, m, s, train, test, seed, device)
            write_npz(records.arrays(names[s]), arrays)
            records.save(names[s], [row])
            out[s] = (row, arrays)
        records.pack_checkpoint(pack_names).unlink(missing_ok=True)
    return [out[s] for s in sorted(out)]


def summarise_memorization(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per (dataset, n, m); the memorized fraction of all the point's samples pooled,
    with its Wilson interval (``memorized_low``, ``memorized_high``: the sampling error of the trained models,
    not the spread over training seeds); the seeds' mean training loss curve."""
    cols = ["train_loss", "test_loss", "loss_gap", "memorized_fraction", "ratio_median", "final_loss", "loss_drift"]
    keys = ["dataset", "n", "m"]
    g = df.groupby(keys)[cols]
    out = g.mean().add_suffix("_mean").join(g.std(ddof=1).fillna(0.0).add_suffix("_std")).join(g.size().rename("seeds"))
    extra = {}
    for key, grp in df.groupby(keys):
        memorized = np.rint(grp["memorized_fraction"] * grp["samples"]).astype(int)
        signs = np.concatenate([np.r_[np.ones(k), -np.ones(s - k)] for k, s in zip(memorized, grp["samples"])])
        prop = probability_positive(signs)
        extra[key] = {
            "memorized_low": prop.low,
            "memorized_high": prop.high,
            "loss_curve": mean_curve(grp["loss_curve"]),
        }
    out = out.join(pd.DataFrame.from_dict(extra, orient="index").rename_axis(keys))
    return out.reset_index()


# --------------------------------------------------------------------------- command line


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m memgen.experiments.unet", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gp = sub.add_parser("gaussian", help="a block of trials of the Gaussian-pixel transition at one n")
    mp = sub.add_parser("memorization", help="all seeds at one (data set, n, m)")
    mp.add_argument("dataset", choices=sorted(DATASET_KEY))
    mp.add_argument("--m", required=True)
    mp.add_argument("--data", required=True, help="prepared.npz of the data stage")
    mp.add_argument("--manifest", required=True)
    mp.add_argument("--samples", required=True, help=".npz of the seed-0 sample grid")
    gp.add_argument("--trials", type=trial_range, required=True, help="START:STOP (global trial indices)")
    for p in (gp, mp):
        p.add_argument("--config", type=json.loads, required=True, help="JSON {shared unet keys, experiment slice}")
        p.add_argument("--n", type=int, required=True)
        p.add_argument("--seed", type=int, required=True)
        p.add_argument("--out", required=True)
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    sp = sub.add_parser("summarise")
    sp.add_argument("kind", choices=["gaussian", "memorization"])
    sp.add_argument("--out", required=True)
    sp.add_argument("tables", nargs="+")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.command == "summarise":
        fn = summarise_gaussian if args.kind == "gaussian" else summarise_memorization
        # the jobs' shared config slice (every input was run with it) names the summary's scale too
        job_config = json.loads(sidecar_path(args.tables[0]).read_text()).get("config", {})
        write_table(
            fn(read_tables(args.tables)),
            args.out,
            provenance({**job_config, "inputs": args.tables}, seed=None, wall_time_s=time.perf_counter() - start),
        )
        print(f"wrote {args.out}")
        return
    shared, cfg = args.config["shared"], args.config["experiment"]
    device = torch.device(args.device)
    if args.command == "gaussian":
        records = TrialRecords(shared["checkpoint_dir"], {**args.config, "n": args.n, "seed": args.seed})
        original = original_set(cfg, args.seed)
        rows = gaussian_block(cfg, shared, args.n, list(args.trials), original, args.seed, records, device)
        names = [gaussian_trial_name(args.n, t) for t in args.trials]
        extra = {"trials": [args.trials.start, args.trials.stop]}
    else:
        m = parse_m(args.m)
        records = TrialRecords(
            shared["checkpoint_dir"], {**args.config, "n": args.n, "m": m_label(m), "seed": args.seed}
        )
        data = load_prepared(args.data, args.manifest)
        done = memorization_seeds(data, cfg, shared, args.n, m, args.seed, records, device)
        rows = [row for row, _ in done]
        write_npz(args.samples, done[0][1])
        names = [memorization_seed_name(data.name, args.n, m, s) for s in range(cfg["seeds"])]
        extra = {"dataset": args.dataset, "m": m_label(m), "source": data.source}
    meta = provenance(args.config, args.seed, time.perf_counter() - start, str(device), n=args.n, **extra)
    write_table(pd.DataFrame(rows), args.out, meta)
    records.clear(names)
    print(f"wrote {args.out}: {len(rows)} rows in {time.perf_counter() - start:.1f} s on {device}")


if __name__ == "__main__":
    main()
