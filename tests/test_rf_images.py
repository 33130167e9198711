"""RF score on images: standardisation, train/test errors, the time-dependent score and
the reverse-SDE sampler (on Gaussian data, where the target law is known)."""
import math

import numpy as np
import pytest
import torch

from memgen.memorization import memorized_fraction
from memgen.rf_images import (
    Standardiser,
    fit_rf_score_path,
    image_dsm_errors,
    reverse_time_steps,
    sample_reverse_sde,
)


def test_standardiser_per_pixel_and_constant_pixels():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    imgs[:, 0, 0] = 7  # a constant pixel keeps scale 1
    st = Standardiser.fit(imgs)
    x = st(imgs)
    assert x.shape == (50, 784)
    np.testing.assert_allclose(x.mean(0).numpy(), 0, atol=1e-12)
    np.testing.assert_allclose(x[:, 1:].std(0, unbiased=False).numpy(), 1, rtol=1e-12)
    assert float(st.scale[0]) == 1.0 and float(x[:, 0].abs().max()) < 1e-15
    np.testing.assert_allclose(st.invert(x).numpy(), imgs.reshape(50, -1) / 255.0, atol=1e-12)


def test_test_error_on_the_training_images_equals_the_m_infinity_train_error():
    """With m = ∞ both errors are exact noise averages: evaluated on the same images they coincide."""
    g = torch.Generator().manual_seed(1)
    X, W = torch.randn(40, 30, generator=g), torch.randn(60, 30, generator=g)
    e = image_dsm_errors(X, X, W, math.inf, 0.2, 1e-2, g)
    assert e["E_test"] == pytest.approx(e["E_train"], rel=1e-12)
    fresh = image_dsm_errors(X, torch.randn(40, 30, generator=g), W, math.inf, 0.2, 1e-2, g)
    assert fresh["E_test"] > fresh["E_train"]  # p > n: the fit tracks the training images


def test_reverse_time_steps():
    steps = reverse_time_steps(1e-3, 3.0, max_step=0.01, rel_step=0.05)
    assert steps[0] == 3.0 and steps[-1] == 1e-3 and np.all(np.diff(steps) < 0)
    gaps = -np.diff(steps)
    assert gaps.max() <= 0.01 + 1e-15 and np.all(gaps[:-1] <= 0.05 * steps[:-2] + 1e-15)
    with pytest.raises(ValueError, match="t_min"):
        reverse_time_steps(2.0, 1.0)


def test_sampler_with_the_true_score_keeps_n01():
    """Euler–Maruyama with the exact score −y of N(0, I) returns N(0, I) (discretisation bias ≈ Δ/2)."""
    g = torch.Generator().manual_seed(2)
    W = torch.randn(4, 6, generator=g)
    model = fit_rf_score_path(torch.randn(20, 6, generator=g), W, [0.01, 3.0], 1, 1e-2, g)
    model.score = lambda y, t: -y
    S = sample_reverse_sde(model, 20000, g)
    assert S.mean(0).abs().max() < 0.05
    eig = torch.linalg.eigvalsh(torch.cov(S.T))
    assert eig.min() > 0.94 and eig.max() < 1.06


def test_learned_score_generates_the_data_law():
    """Large n, small p (generalization side): samples of the learned RF score (centred ReLU,
    m = 10) have mean ≈ 0 and covariance ≈ I. (tanh features saturate outside the bulk and
    let the reverse process drift outwards; ReLU features extrapolate linearly.)"""
    g = torch.Generator().manual_seed(3)
    d, n, p = 8, 4000, 64
    X, W = torch.randn(n, d, generator=g), torch.randn(p, d, generator=g)
    model = fit_rf_score_path(X, W, np.geomspace(1e-2, 3.0, 12), 10, 1e-3, g, activation="relu")
    S = sample_reverse_sde(model, 4000, g)
    assert S.mean(0).abs().max() < 0.1
    eig = torch.linalg.eigvalsh(torch.cov(S.T))
    assert eig.min() > 0.8 and eig.max() < 1.2, eig
    assert memorized_fraction(S, X) < 0.01  # generalizes: no sample sits on a training point


def test_memorization_rises_with_p_and_with_m():
    """Few far-apart points (n = 8, d = 20): the memorized fraction of samples grows with the
    width p (the model approaches the empirical score) and, at p ≫ n, with m (m = 1 fits the
    noise draws instead: none memorized)."""
    g = torch.Generator().manual_seed(4)
    d, n = 20, 8
    X = 3 * torch.randn(n, d, generator=g)
    frac = {}
    for p, m in ((10, math.inf), (100, math.inf), (400, math.inf), (400, 1)):
        W = torch.randn(p, d, generator=g)
        model = fit_rf_score_path(X, W, np.geomspace(2e-3, 2.0, 16), m, 1e-6, g, activation="relu")
        frac[p, m] = memorized_fraction(sample_reverse_sde(model, 200, g, rel_step=0.02), X)
    assert frac[10, math.inf] < 0.02 < frac[100, math.inf] < frac[400, math.inf]
    assert frac[400, math.inf] > 0.3 and frac[400, 1] < 0.05
