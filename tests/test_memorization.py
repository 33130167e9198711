"""The d₁/d₂ < 1/3 memorization test on constructed cases and against brute force."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from memgen.memorization import memorized_fraction, nearest_neighbours


def test_exact_copies_are_memorized_and_fresh_points_are_not():
    g = torch.Generator().manual_seed(0)
    train = torch.randn(200, 784, generator=g)
    copies = train[torch.randperm(200, generator=g)[:50]]
    fresh = torch.randn(50, 784, generator=g)
    assert memorized_fraction(copies, train) == 1.0
    assert memorized_fraction(fresh, train) == 0.0  # in high d all distances concentrate: d1/d2 ≈ 1


def test_threshold_is_strict_at_one_third():
    """A point at distance 1 from its nearest and 3 from its second nearest: d1/d2 = 1/3 exactly."""
    train = torch.tensor([[0.0, 0.0], [4.0, 0.0]])
    at = torch.tensor([[1.0, 0.0]])  # d1 = 1, d2 = 3
    inside = torch.tensor([[0.9, 0.0]])  # d1 = 0.9, d2 = 3.1
    assert memorized_fraction(at, train) == 0.0
    assert memorized_fraction(inside, train) == 1.0


def test_distances_match_brute_force():
    rng = np.random.default_rng(1)
    train, samples = rng.normal(size=(300, 20)), rng.normal(size=(70, 20))
    nn = nearest_neighbours(torch.from_numpy(samples), torch.from_numpy(train), chunk=16)
    D = np.sort(cdist(samples, train), axis=1)
    np.testing.assert_allclose(nn.d1.numpy(), D[:, 0], rtol=1e-10)
    np.testing.assert_allclose(nn.d2.numpy(), D[:, 1], rtol=1e-10)
    np.testing.assert_array_equal(nn.nearest.numpy(), np.argmin(cdist(samples, train), axis=1))


def test_images_are_flattened_and_shapes_checked():
    train = torch.rand(10, 1, 28, 28)
    assert nearest_neighbours(train[:3], train).d1.abs().max() < 1e-6
    with pytest.raises(ValueError, match="784 coordinates, training points 100"):
        nearest_neighbours(train[:3], torch.rand(10, 100))
    with pytest.raises(ValueError, match="at least 2"):
        nearest_neighbours(train[:3], train[:1])
