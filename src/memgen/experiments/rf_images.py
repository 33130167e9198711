"""The RF score model on images (Paper A's real-data experiments; protocol fixed here).

Images are flattened (d = 784) and standardised per pixel with the mean and standard
deviation of the training subset (constant pixels keep scale 1). The RF score of
``memgen.rf`` is fitted in closed form on n training images with m noises each
(m = ∞: exact noise average), and

    E_train = DSM loss on the training pairs (as in rf.dsm_train_error)
    E_test  = (1/d) E_{x ∈ test, z} ‖√h s(a x + √h z) + z‖², exact in z (Mehler series)
              and averaged over held-out images.

As a generative model: one closed-form fit per time of a grid t_0 < … < t_{K−1} = T with
the same W, then Euler–Maruyama on the reverse OU SDE dy = [y + 2 s(y, t)] dt + √2 dW̄
from y ~ N(0, I) at T down to t_0, and a final Tweedie step x = (y + h s(y, t_0))/a.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from memgen.data import DATASET_KEY, block_average, load_prepared, take_images
from memgen.grids import log_grid, m_label, m_seed_key, parse_m, sample_grid_key
from memgen.io import provenance, write_npz, write_table
from memgen.memorization import nearest_neighbours
from memgen.rf import averaged_dsm_moments, dsm_moments, dsm_train_error, fit_rf_score
from memgen.rf_sampling import fit_rf_score_path, sample_reverse_sde
from memgen.rf_model import diffusion_coefficients
from memgen.seeding import torch_generator


@dataclass
class Standardiser:
    """x = (u/255 − mean)/scale per pixel, mean and scale from the training subset. Pixels constant over
    the training subset (``varying`` False) keep scale 1 and standardise to 0: a generative model works
    on the varying pixels only (:meth:`reduce`), and :meth:`expand` puts the constants back, so that no
    noise is ever injected where the training set has none."""

    mean: torch.Tensor
    scale: torch.Tensor
    varying: torch.Tensor | None = None  # bool per pixel; None: every pixel varies

    @classmethod
    def fit(cls, train_u8: np.ndarray | torch.Tensor) -> "Standardiser":
        x = _as_unit(train_u8)
        scale = x.std(0, unbiased=False)
        varying = scale > 1e-8
        return cls(x.mean(0), torch.where(varying, scale, torch.ones_like(scale)), varying)

    def to(self, device) -> "Standardiser":
        v = None if self.varying is None else self.varying.to(device)
        return Standardiser(self.mean.to(device), self.scale.to(device), v)

    def reduce(self, x: torch.Tensor) -> torch.Tensor:
        """The varying pixels of standardised images (N, D) -> (N, D_varying)."""
        return x if self.varying is None else x[:, self.varying]

    def expand(self, x_reduced: torch.Tensor) -> torch.Tensor:
        """Standardised images back to all D pixels, the constant ones at their (standardised) value 0."""
        if self.varying is None:
            return x_reduced
        out = torch.zeros(len(x_reduced), len(self.varying), dtype=x_reduced.dtype, device=x_reduced.device)
        out[:, self.varying] = x_reduced
        return out

    def __call__(self, images_u8) -> torch.Tensor:
        return (_as_unit(images_u8) - self.mean) / self.scale

    def invert(self, x: torch.Tensor) -> torch.Tensor:
        """Back to pixel intensities in [0, 1] (unclipped), flattened."""
        return x * self.scale + self.mean


def _as_unit(images) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    return t.reshape(len(t), -1).to(torch.float64) / 255.0


def image_dsm_errors(X_train, X_test, W, m: float, t: float, lam: float, g: torch.Generator, activation="tanh") -> dict:
    """Closed-form RF fit on X_train; E_train on its pairs, E_test exact in the noise over X_test."""
    _, h = (float(v) for v in diffusion_coefficients(t))
    mom = dsm_moments(X_train, W, m, t, g, activation)
    Bt = fit_rf_score(mom, lam)
    test = averaged_dsm_moments(X_test, W, t, activation)
    return {"E_train": dsm_train_error(Bt, mom, h), "E_test": dsm_train_error(Bt, test, h)}


# --------------------------------------------------------------------------- experiments


def _subsets(data, n: int, n_test: int | None, section: str, resolution: int | None = None):
    """Standardised training subset (first n) and, if asked, test subset (first n_test), block-averaged
    to ``resolution`` when given."""
    shrink = (lambda u: block_average(u, resolution)) if resolution else (lambda u: u)
    train_u8 = shrink(take_images(data, n, key=f"rf_images.{section}.n"))
    st = Standardiser.fit(train_u8)
    test = (
        None
        if n_test is None
        else st(shrink(take_images(data, n_test, key=f"rf_images.{section}.n_test", split="test")))
    )
    return st, st(train_u8), test


def learning_curve_rows(data, cfg: dict, seed: int, device="cpu") -> list[dict]:
    """E_train, E_test per (n, m, p, seed) at one diffusion time; ``cfg`` is the stage slice
    {shared rf_images keys, experiment = rf_images.learning_curves}."""
    sh, ex = cfg["shared"], cfg["experiment"]
    rows = []
    for n in ex["n"]:
        _, X, X_test = _subsets(data, n, ex["n_test"], "learning_curves")
        X, X_test = X.to(device), X_test.to(device)
        d = X.shape[1]
        for ratio in ex["p_over_n"]:
            p = max(1, round(ratio * n))
            for m in map(parse_m, ex["m"]):
                for s in range(sh["seeds"]):
                    g = torch_generator(
                        seed, "rf_images_curves", DATASET_KEY[data.name], n, p, m_seed_key(m), s, device=device
                    )
                    W = torch.randn(p, d, generator=g, dtype=torch.float64, device=device)
                    err = image_dsm_errors(X, X_test, W, m, ex["t"], sh["lambda"], g, sh["activation"])
                    rows.append(
                        {
                            "dataset": data.name,
                            "source": data.source,
                            "n": n,
                            "p": p,
                            "p_over_n": p / n,
                            "m": m_label(m),
                            "seed": s,
                            "t": ex["t"],
                            **err,
                        }
                    )
    return rows


def generation_rows(data, cfg: dict, seed: int, device="cpu") -> tuple[list[dict], dict[str, np.ndarray]]:
    """Memorized fraction of generated images per (resolution, m, p, seed), and for the grid figure the
    first ``grid`` samples (seed 0) with their nearest training images; ``cfg`` is the stage slice
    {shared rf_images keys, experiment = rf_images.generation}.

    The same n training images are block-averaged to each of ``resolutions``; at every resolution the
    model lives on the standardised pixels that vary over the training set (constant ones are put back
    unchanged); memorization (d₁/d₂ < 1/3) is measured in pixel space and in the model's space."""
    rows, arrays = [], {}
    for res in cfg["experiment"]["resolutions"]:
        res_rows, res_arrays = _generation_rows_at(data, cfg, seed, res, device)
        rows += res_rows
        arrays |= res_arrays
    return rows, arrays


def _generation_rows_at(data, cfg: dict, seed: int, res: int, device) -> tuple[list[dict], dict[str, np.ndarray]]:
    """:func:`generation_rows` at one resolution (the random streams do not depend on it)."""
    sh, ex = cfg["shared"], cfg["experiment"]
    n = ex["n"]
    st, X_full, _ = _subsets(data, n, None, "generation", res)
    st, X_full = st.to(device), X_full.to(device)
    X = st.reduce(X_full)
    train_pixels = st.invert(X_full)
    times = log_grid(ex["times"])
    rows, arrays = [], {}
    for ratio in ex["p_over_n"]:
        p = max(1, round(ratio * n))
        for m in map(parse_m, ex["m"]):
            for s in range(sh["seeds"]):
                g = torch_generator(
                    seed, "rf_images_generation", DATASET_KEY[data.name], n, p, m_seed_key(m), s, device=device
                )
                W = torch.randn(p, X.shape[1], generator=g, dtype=torch.float64, device=device)
                model = fit_rf_score_path(X, W, times, m, sh["lambda"], g, sh["activation"], ex["baseline"])
                z = sample_reverse_sde(model, ex["samples"], g, ex["max_step"], ex["rel_step"])
                samples = st.invert(st.expand(z))
                nn, nn_model = nearest_neighbours(samples, train_pixels), nearest_neighbours(z, X)
                ratio_nn = nn.ratio
                rows.append(
                    {
                        "dataset": data.name,
                        "source": data.source,
                        "n": n,
                        "p": p,
                        "p_over_n": p / n,
                        "m": m_label(m),
                        "seed": s,
                        "samples": ex["samples"],
                        "resolution": res,
                        "modelled_pixels": X.shape[1],
                        "memorized_fraction": float(nn.memorized().double().mean()),
                        "ratio_median": float(ratio_nn.median()),
                        "d1_median": float(nn.d1.median()),
                        "memorized_fraction_model": float(nn_model.memorized().double().mean()),
                        "ratio_median_model": float(nn_model.ratio.median()),
                    }
                )
                if s == 0:
                    key = sample_grid_key(m_label(m), p, res)
                    k = min(ex["grid"], len(samples))
                    arrays[f"{key}_samples"] = samples[:k].clamp(0, 1).reshape(k, res, res).float().cpu().numpy()
                    arrays[f"{key}_nearest"] = (
                        train_pixels[nn.nearest[:k]].clamp(0, 1).reshape(k, res, res).float().cpu().numpy()
                    )
                    arrays[f"{key}_ratio"] = ratio_nn[:k].float().cpu().numpy()
    return rows, arrays


ONSET_LEVEL = 0.05  # a memorized fraction above this (mean over seeds) counts as memorization


def memorization_onset(generation: pd.DataFrame, level: float = ONSET_LEVEL) -> pd.DataFrame:
    """Per (data set, resolution, m) and space (pixels, model): the smallest p/n whose memorized fraction,
    averaged over seeds, exceeds ``level``, with that fraction and the seeds behind it. NaN-free: where
    no p/n does, found = False and the fields hold the largest p/n of the grid."""
    rows = []
    for space, col in (("pixels", "memorized_fraction"), ("model", "memorized_fraction_model")):
        for (ds, res, m), grp in generation.groupby(["dataset", "resolution", "m"]):
            mean = grp.groupby("p_over_n")[col].agg(["mean", "count"]).sort_index()
            above = mean[mean["mean"] > level]
            at = above.index[0] if len(above) else mean.index[-1]
            rows.append(
                {
                    "dataset": ds,
                    "resolution": int(res),
                    "m": m,
                    "space": space,
                    "level": level,
                    "found": bool(len(above)),
                    "p_over_n_onset": float(at),
                    "fraction_at_onset": float(mean.loc[at, "mean"]),
                    "seeds": int(mean.loc[at, "count"]),
                }
            )
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m memgen.experiments.rf_images", description="RF score on MNIST / Fashion-MNIST"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("learning-curves", "generate"):
        p = sub.add_parser(name)
        p.add_argument("dataset", choices=sorted(DATASET_KEY))
        p.add_argument("--config", type=json.loads, required=True, help="JSON {shared rf_images keys, experiment}")
        p.add_argument("--data", required=True, help="prepared.npz of the data stage")
        p.add_argument("--manifest", required=True)
        p.add_argument("--seed", type=int, required=True)
        p.add_argument("--out", required=True)
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
        if name == "generate":
            p.add_argument("--samples", required=True, help=".npz of sample grids")
            p.add_argument("--onset", required=True, help="table of the memorization onset per m and space")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = load_prepared(args.data, args.manifest)
    if args.command == "learning-curves":
        df = pd.DataFrame(learning_curve_rows(data, args.config, args.seed, args.device))
    else:
        rows, arrays = generation_rows(data, args.config, args.seed, args.device)
        df = pd.DataFrame(rows)
        write_npz(args.samples, arrays)
    meta = provenance(
        args.config, args.seed, time.perf_counter() - start, args.device, dataset=args.dataset, source=data.source
    )
    write_table(df, args.out, meta)
    if args.command == "generate":
        write_table(memorization_onset(df), args.onset, meta)
    print(f"wrote {args.out}: {len(df)} rows in {time.perf_counter() - start:.1f} s (data source {data.source})")


if __name__ == "__main__":
    main()
