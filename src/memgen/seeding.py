"""Deterministic random streams: every draw derives from (seed, experiment, key...)."""

from __future__ import annotations

import zlib

import numpy as np
import torch


def experiment_id(name: str) -> int:
    """A stable 32-bit integer for an experiment name (crc32, not Python's salted hash)."""
    return zlib.crc32(name.encode())


def seed_sequence(seed: int, experiment: str, *key: int) -> np.random.SeedSequence:
    """numpy SeedSequence for the entropy (seed, experiment id, *key)."""
    return np.random.SeedSequence([int(seed), experiment_id(experiment), *(int(k) for k in key)])


def torch_generator(seed: int, experiment: str, *key: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch.Generator seeded from :func:`seed_sequence` (63 bits of its state)."""
    state = seed_sequence(seed, experiment, *key).generate_state(1, np.uint64)[0]
    return torch.Generator(device=device).manual_seed(int(state) >> 1)
