"""The two U-Net experiments as the training, sampling and scoring stages all see them: their images, the
networks, the stream keys of each trained model and the names that tie a model to its files.

- Paper B's Fig. 4 (``unet.gaussian``): trial t at training-set size n trains one U-Net on n fresh
  images with pixels iid N(μ, σ²) and is scored against a random subset of one fixed original set of
  N such images.
- The study of m (``unet.memorization``): seed s at (data set, n, m) trains one U-Net on the first n
  training images (block-averaged to ``resolution``) with m noise draws per image, scored with
  n_test held-out images.

Images are scaled to [−1, 1] for training and sampling (:func:`to_model_range`); every metric is
computed back in pixel units [0, 1] (:func:`to_pixels`).
"""

from __future__ import annotations

import numpy as np
import torch

from memgen.data import DATASET_KEY, block_average, take_images
from memgen.grids import m_label, m_seed_key
from memgen.planning import total_steps
from memgen.seeding import torch_generator
from memgen.training import TrainingConfig
from memgen.unet import UNetConfig

GAUSSIAN = "unet_gaussian"  # stream names of the two experiments
MEMORIZATION = "unet_memorization"


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


def training_config(ex: dict, shared: dict, m: float, n: int, snapshots=()) -> TrainingConfig:
    """The TrainingConfig of an experiment slice ``ex`` on n images (its length:
    :func:`memgen.planning.total_steps`) with the stage's ``shared`` keys, m noise draws per image and
    the steps ``snapshots`` whose weights are kept."""
    return TrainingConfig(
        batch_size=ex["batch_size"],
        lr=ex["lr"],
        epochs=None,
        steps=total_steps(ex, n),
        m=m,
        diffusion_steps=ex["diffusion_steps"],
        precision=shared.get("precision", "auto"),
        compile=shared.get("compile", False),
        checkpoint_every=shared.get("checkpoint_every", 0),
        snapshots=tuple(int(s) for s in snapshots),
        noise_bank=ex.get("noise_bank", "noise"),
    )


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] → [−1, 1]: 2x − 1."""
    return 2.0 * x - 1.0


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """Model range → pixels: (x + 1)/2."""
    return (x + 1.0) / 2.0


# --------------------------------------------------------------------------- Paper B, Fig. 4


def gaussian_name(n: int, trial: int) -> str:
    return f"gaussian/n{n}_t{trial}"


def original_set(g: dict, seed: int) -> torch.Tensor:
    """The original set: N images (flattened) with pixels iid N(μ, σ²), the same in every job."""
    d = g["image_size"] ** 2
    gen = torch_generator(seed, "unet_gaussian/original", d)
    return g["mu"] + g["sigma"] * torch.randn(g["N"], d, generator=gen, dtype=torch.float32)


def _draw_training_set(g: dict, n: int, gen: torch.Generator) -> torch.Tensor:
    """x_i = μ + σ z_i, z_i ~ N(0, I_d), i = 1 … n: float32 pixels, flattened."""
    return g["mu"] + g["sigma"] * torch.randn(n, g["image_size"] ** 2, generator=gen, dtype=torch.float32)


def gaussian_training_set(g: dict, n: int, trial: int, seed: int) -> torch.Tensor:
    """The n training images of one trial, flattened, float32 pixels (the first draws of the trial's stream)."""
    return _draw_training_set(g, n, torch_generator(seed, "unet_gaussian/trial", n, trial))


def gaussian_setup(g: dict, n: int, trial: int, original: torch.Tensor, seed: int):
    """(training set, original subset) of one trial: the n images of :func:`gaussian_training_set`, then
    (same stream) a random subset of ``original_subset`` images of the original set."""
    gen = torch_generator(seed, "unet_gaussian/trial", n, trial)
    train = _draw_training_set(g, n, gen)
    subset = original[torch.randperm(len(original), generator=gen)[: g["original_subset"]]]
    return train, subset


# --------------------------------------------------------------------------- the study of m


def memorization_name(dataset: str, n: int, m: float, seed: int) -> str:
    return f"{dataset}/n{n}_m{m_label(m)}_s{seed}"


def memorization_key(dataset: str, n: int, m: float, seed: int) -> tuple[int, int, int, int]:
    return (DATASET_KEY[dataset], n, m_seed_key(m), seed)


def memorization_data(data, mem: dict, n: int):
    """(first n training images, n_test held-out images), float64 in [0, 1], block-averaged to
    ``resolution`` × ``resolution`` when the config asks for it (:func:`memgen.data.block_average`)."""
    resolution = mem.get("resolution")

    def pixels(images):
        images = block_average(images, resolution) if resolution else images
        return torch.from_numpy(np.asarray(images, dtype=np.float64)) / 255.0

    train = pixels(take_images(data, n, key="unet.memorization.n"))
    if "n_test" not in mem:
        return train, None
    test = pixels(take_images(data, mem["n_test"], key="unet.memorization.n_test", split="test"))
    return train, test


def memorization_training_images(train: torch.Tensor) -> torch.Tensor:
    """The training images as the network sees them: (n, 1, H, W) float32 in [−1, 1]."""
    n, size = len(train), train.shape[-1]
    return to_model_range(train).float().reshape(n, 1, size, size)
