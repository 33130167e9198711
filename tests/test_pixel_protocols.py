"""The Fig. 4 protocols: the variant is the metric scored so far, the caption's protocols compare the
subset they name at the widths they name, and the authors' units leave the original KDE at zero on the grid."""

import math

import pytest
import torch

from memgen.calibration import MODEL
from memgen.kde import expected_pixel_delta, per_coordinate_grid_density, pixel_transitions
from memgen.paper_arithmetic import grid_pixel_transition, pixel_grid
from memgen.pixel_protocols import (
    EXACT,
    GRID,
    PROTOCOLS,
    column_suffix,
    compared_training_index,
    protocol,
    protocol_transitions,
)

MU, SIGMA, D = 0.5, 0.1, 64


def _sets(n: int, seed: int = 0, generated: int = 10):
    g = torch.Generator().manual_seed(seed)
    draw = lambda k: MU + SIGMA * torch.randn(k, D, generator=g, dtype=torch.float64)  # noqa: E731
    return draw(n), draw(100), [draw(generated), draw(generated)]


def test_the_variant_is_the_metric_of_all_training_images():
    train, original, gens = _sets(40)
    out = protocol_transitions(PROTOCOLS["all_train"], train, torch.arange(40), original, gens, SIGMA, MU)
    exact = pixel_transitions(train, original, gens, SIGMA)
    assert [t.delta for t in out[EXACT]] == pytest.approx([t.delta for t in exact], rel=1e-12)
    assert out[GRID][0].delta == pytest.approx(
        grid_pixel_transition(train, original, gens[0], SIGMA, MU).delta, rel=1e-12
    )


@pytest.mark.parametrize("name, width_of_n", [("caption", False), ("caption_width_n", True)])
def test_the_caption_compares_ten_training_images_at_the_width_it_names(name, width_of_n):
    n = 300
    train, original, gens = _sets(n)
    index = compared_training_index(n, 10, torch.Generator().manual_seed(3))
    out = protocol_transitions(PROTOCOLS[name], train, index, original, gens, SIGMA, MU)
    eps_t = SIGMA / n if width_of_n else SIGMA / 10
    by_hand = pixel_transitions(train[index], original, gens, SIGMA, eps_train=eps_t)
    assert [t.delta for t in out[EXACT]] == pytest.approx([t.delta for t in by_hand], rel=1e-12)


def test_the_true_law_under_the_literal_caption_width_is_pushed_positive_by_n():
    """ε_T = σ/n on 10 images: the training KDE's diagonal term n/(10σ) grows with n, so E[Δ] of any generator
    independent of the training set grows like (n/10 − 1)/(2√π σ) per pixel; simulated over 400 trials."""
    n, trials, deltas = 1000, 400, []
    for t in range(trials):
        train, original, gens = _sets(n, seed=t)
        index = compared_training_index(n, 10, torch.Generator().manual_seed(t))
        deltas.append(
            protocol_transitions(PROTOCOLS["caption_width_n"], train, index, original, gens, SIGMA, MU)[EXACT][0].delta
        )
    deltas = torch.tensor(deltas)
    expected = D * expected_pixel_delta(SIGMA, 10, SIGMA / n, 100, SIGMA / 100, SIGMA / 10)
    assert expected == pytest.approx(D * (n / 10 - 1) / (2 * math.sqrt(math.pi) * SIGMA), rel=0.02)
    assert abs(float(deltas.mean()) - expected) < 4 * float(deltas.std()) / math.sqrt(trials)
    assert bool((deltas > 0).all())


def test_in_the_authors_units_the_original_kde_vanishes_on_the_grid():
    """Original images on the 0–255 scale against a grid on [0, 1] with widths σ/100: ρ_O is 0 at every grid
    point, so E_OG is the mean of ρ_G² alone, and Δ is positive for the true law and for exact copies alike."""
    n = 81
    train, original, gens = _sets(n)
    index = compared_training_index(n, 10, torch.Generator().manual_seed(1))
    copies = train[index]  # a generator that copies training images exactly
    out = protocol_transitions(PROTOCOLS["authors_code"], train, index, original, [gens[0], copies], SIGMA, MU)
    assert set(out) == {GRID}
    rho_g = per_coordinate_grid_density(gens[0].clamp(0, 1), SIGMA / 10, pixel_grid(MU, SIGMA))
    assert out[GRID][0].e_og == pytest.approx(float(rho_g.square().mean()), rel=1e-12)
    assert out[GRID][0].delta > 0 and out[GRID][1].delta > 0


def test_column_names_keep_the_variant_unsuffixed():
    assert column_suffix("all_train", EXACT) == ""
    assert column_suffix("all_train", GRID) == "_grid"
    assert column_suffix("all_train", EXACT, "true_law") == "_true_law"
    assert column_suffix("caption", GRID, "copies_100") == "_caption_grid_copies_100"
    assert column_suffix("caption_width_n", EXACT, MODEL) == "_caption_width_n"


def test_compared_training_index_and_unknown_protocols():
    assert compared_training_index(8, 10, torch.Generator()).tolist() == list(range(8))
    assert compared_training_index(8, None, torch.Generator()).tolist() == list(range(8))
    idx = compared_training_index(1000, 10, torch.Generator().manual_seed(0))
    assert len(set(idx.tolist())) == 10 and int(idx.max()) < 1000
    with pytest.raises(ValueError, match="unknown protocol 'caption10'.*all_train, caption"):
        protocol("caption10")
