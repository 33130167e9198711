"""The reference generators of the transition metric: their laws, the copy fractions, and how P(Δ>0)
responds to each (the calibration the bridge figures show)."""

import pytest
import torch

from memgen.calibration import (
    COPY_FRACTIONS,
    REFERENCE_GENERATORS,
    copies_mixture,
    moment_matched_sample,
    reference_generators,
    spread_matched_sample,
)
from memgen.experiments.bridge import full_dimensional_metric
from memgen.kde import probability_positive


def test_moment_matched_sample_has_the_samples_mean_and_covariance():
    """Draws of N(μ̂, Σ̂): with 200 000 of them, mean and covariance within a few standard errors of μ̂, Σ̂."""
    g = torch.Generator().manual_seed(0)
    A = torch.tensor([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, -1.0, 0.3]], dtype=torch.float64)
    samples = torch.randn(500, 3, generator=g, dtype=torch.float64) @ A.T + torch.tensor([1.0, -2.0, 0.5])
    out = moment_matched_sample(samples, 200_000, g)
    mean, cov = samples.mean(0), torch.cov(samples.T)
    se = (torch.diagonal(cov) / 200_000).sqrt()
    assert ((out.mean(0) - mean).abs() < 5 * se).all()
    torch.testing.assert_close(torch.cov(out.T), cov, rtol=0.02, atol=0.02)
    with pytest.raises(ValueError, match="shape"):
        moment_matched_sample(samples[:1], 10, g)


def test_spread_matched_sample_has_the_true_mean_and_the_samples_mean_variance():
    """Draws of N(μ, s² I) with s² = tr Σ̂/d: isotropic, centred on the given mean (not the samples'), with
    the samples' mean variance, whatever their covariance."""
    g = torch.Generator().manual_seed(4)
    A = torch.tensor([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, -1.0, 0.3]], dtype=torch.float64)
    samples = torch.randn(500, 3, generator=g, dtype=torch.float64) @ A.T + torch.tensor([1.0, -2.0, 0.5])
    out = spread_matched_sample(samples, 200_000, g, mean=0.5)
    s2 = float(torch.diagonal(torch.cov(samples.T)).mean())
    assert ((out.mean(0) - 0.5).abs() < 5 * (s2 / 200_000) ** 0.5).all()
    torch.testing.assert_close(torch.cov(out.T), s2 * torch.eye(3, dtype=torch.float64), rtol=0, atol=0.02 * s2)
    with pytest.raises(ValueError, match="shape"):
        spread_matched_sample(samples[:1], 10, g)


def test_adding_the_control_left_the_other_references_unchanged():
    """The spread-matched draws come last in the stream: every other reference is what it was before."""
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    train = torch.randn(6, 4, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    samples = 2.0 * torch.randn(50, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    refs = reference_generators(train, samples, g1)
    truth = torch.randn(50, 4, generator=g2, dtype=torch.float64)
    assert torch.equal(refs["true_law"], truth)
    for name, fraction in COPY_FRACTIONS.items():
        assert torch.equal(refs[name], copies_mixture(train, truth, fraction, g2))
    assert torch.equal(refs["moment_matched"], moment_matched_sample(samples, 50, g2))
    assert torch.equal(refs["spread_matched"], spread_matched_sample(samples, 50, g2))


def test_copies_mixture_replaces_exactly_the_fraction():
    g = torch.Generator().manual_seed(1)
    train = torch.randn(7, 4, generator=g, dtype=torch.float64)
    base = torch.randn(400, 4, generator=g, dtype=torch.float64)
    for fraction in (0.0, 0.05, 0.25, 1.0):
        out = copies_mixture(train, base, fraction, g)
        is_copy = (out[:, None, :] == train[None]).all(-1).any(-1).sum().item()
        assert is_copy == round(fraction * 400)
        assert torch.equal(out[round(fraction * 400) :], base[round(fraction * 400) :])
    with pytest.raises(ValueError, match="copy fraction"):
        copies_mixture(train, base, 1.5, g)


def test_reference_generators_share_the_true_law_draws():
    g = torch.Generator().manual_seed(2)
    train = torch.randn(5, 3, generator=g, dtype=torch.float64)
    refs = reference_generators(train, 3.0 * torch.randn(300, 3, generator=g, dtype=torch.float64), g)
    assert tuple(refs) == REFERENCE_GENERATORS and all(r.shape == (300, 3) for r in refs.values())
    for name, fraction in COPY_FRACTIONS.items():
        k = round(fraction * 300)
        assert torch.equal(refs[name][k:], refs["true_law"][k:])
    assert torch.diagonal(torch.cov(refs["moment_matched"].T)).mean() > 5.0  # the model's spread (≈ 9), not 1


def test_metric_responds_to_spread_and_to_copying():
    """The calibration in numbers (d = 8, n = 16, N = 1000, 30 trials): under-dispersed draws N(0, 0.8² I) that
    never saw the training set give Δ > 0 in nearly every trial, over-dispersed N(0, 1.25² I) in none, and 25 %
    training copies among true-law draws in none: P(Δ>0) alone cannot tell spread from copying."""
    g = torch.Generator().manual_seed(3)

    def p_positive(make):
        signs = []
        for _ in range(30):
            X = torch.randn(16, 8, generator=g, dtype=torch.float64)
            O = torch.randn(1000, 8, generator=g, dtype=torch.float64)
            signs.append(full_dimensional_metric(X, O, make(X))["delta_sign"])
        return probability_positive(signs)

    narrow = p_positive(lambda X: 0.8 * torch.randn(1000, 8, generator=g, dtype=torch.float64))
    wide = p_positive(lambda X: 1.25 * torch.randn(1000, 8, generator=g, dtype=torch.float64))
    copies = p_positive(lambda X: copies_mixture(X, torch.randn(1000, 8, generator=g, dtype=torch.float64), 0.25, g))
    print(f"P(Δ>0): s = 0.8 {narrow.p:.2f}, s = 1.25 {wide.p:.2f}, 25 % copies {copies.p:.2f}")
    assert narrow.low > 0.7 and wide.high < 0.3 and copies.p == 0.0


def test_reference_generators_take_the_pixel_law_of_paper_b():
    g = torch.Generator().manual_seed(3)
    train = 0.5 + 0.1 * torch.randn(7, 64, generator=g, dtype=torch.float64)
    refs = reference_generators(train, torch.zeros(4000, 64), g, mean=0.5, std=0.1)
    truth = refs["true_law"]
    # 256,000 draws of N(0.5, 0.1^2): the mean within 5 standard errors, the variance within 2 %
    assert abs(float(truth.mean()) - 0.5) < 5 * 0.1 / 256_000**0.5
    assert float(truth.var()) == pytest.approx(0.01, rel=0.02)
    copies = refs["copies_100"]
    assert all(any(torch.equal(row, t) for t in train) for row in copies[:50])
    assert torch.equal(refs["copies_25"][1000:], truth[1000:])  # 25 % of 4000 rows copied, the rest the true law
