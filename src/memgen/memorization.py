"""Nearest-neighbour memorization test shared by the RF and U-Net experiments.

A generated sample x is memorized when d₁/d₂ < 1/3, where d₁ and d₂ are its L²
distances to the nearest and second-nearest training images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from memgen.kde import Proportion, probability_positive

MEMORIZATION_RATIO = 1.0 / 3.0


@dataclass
class NearestNeighbours:
    """Per sample: d₁, d₂ (L² distances to the two nearest training points) and the index of the nearest."""

    d1: torch.Tensor
    d2: torch.Tensor
    nearest: torch.Tensor

    @property
    def ratio(self) -> torch.Tensor:
        return self.d1 / self.d2

    def memorized(self, threshold: float = MEMORIZATION_RATIO) -> torch.Tensor:
        """Boolean per sample: d₁/d₂ < threshold."""
        return self.d1 < threshold * self.d2


def nearest_neighbours(samples: torch.Tensor, train: torch.Tensor, chunk: int = 1024) -> NearestNeighbours:
    """d₁, d₂ and the nearest index for every row of ``samples`` (flattened) against ``train``,
    from ‖x − y‖² = ‖x‖² + ‖y‖² − 2x·y in float64, in chunks of samples (memory O(chunk · n))."""
    if len(train) < 2:
        raise ValueError(f"the memorization test needs at least 2 training points, got {len(train)}")
    X = samples.reshape(len(samples), -1).to(torch.float64)
    T = train.reshape(len(train), -1).to(device=X.device, dtype=torch.float64)
    if X.shape[1] != T.shape[1]:
        raise ValueError(f"samples have {X.shape[1]} coordinates, training points {T.shape[1]}")
    tn = (T * T).sum(1)
    d1, d2, idx = [], [], []
    for start in range(0, len(X), chunk):
        x = X[start : start + chunk]
        sq = ((x * x).sum(1, keepdim=True) + tn[None, :] - 2 * x @ T.T).clamp_min_(0.0)
        vals, ind = torch.topk(sq, 2, dim=1, largest=False)
        d1.append(vals[:, 0].sqrt())
        d2.append(vals[:, 1].sqrt())
        idx.append(ind[:, 0])
    return NearestNeighbours(torch.cat(d1), torch.cat(d2), torch.cat(idx))


def memorized_fraction(samples: torch.Tensor, train: torch.Tensor, threshold: float = MEMORIZATION_RATIO) -> float:
    """Fraction of samples with d₁/d₂ < threshold."""
    return float(nearest_neighbours(samples, train).memorized(threshold).double().mean())


def pooled_memorized_interval(fractions, samples) -> Proportion:
    """The memorized fraction of all the samples of several models pooled (model k: ``fractions[k]`` of its
    ``samples[k]`` images), with its Wilson interval: the sampling error of these models, not the spread
    over training seeds."""
    memorized = np.rint(np.asarray(fractions, dtype=np.float64) * np.asarray(samples)).astype(int)
    signs = np.concatenate([np.r_[np.ones(k), -np.ones(int(s) - k)] for k, s in zip(memorized, samples)])
    return probability_positive(signs)
