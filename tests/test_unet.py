"""U-Net: shapes, parameter counts, where attention sits, the time embedding."""

import math

import pytest
import torch

from memgen.unet import SelfAttention, UNet, UNetConfig, count_parameters, sinusoidal_embedding

PAPER_B = UNetConfig(
    image_size=16,
    in_channels=1,
    base_channels=88,
    channel_mults=(1, 2, 2),
    num_res_blocks=2,
    attention_levels=2,
    groups=8,
)
MNIST = UNetConfig(
    image_size=28,
    in_channels=1,
    base_channels=64,
    channel_mults=(1, 2, 2),
    num_res_blocks=2,
    attention_levels=2,
    groups=16,
)


def test_paper_b_configuration_has_12_9_million_parameters():
    n = count_parameters(UNet(PAPER_B))
    print(f"Paper B U-Net (16x16): {n:,} parameters")
    assert n == pytest.approx(12.9e6, rel=0.01)


@pytest.mark.parametrize("cfg", [PAPER_B, MNIST], ids=["16x16", "28x28"])
def test_output_shape_and_attention_at_the_two_coarsest_resolutions(cfg):
    torch.manual_seed(0)
    model = UNet(cfg).float()
    print(f"{cfg.image_size}x{cfg.image_size}: {count_parameters(model):,} parameters")
    sizes = set()
    hooks = [
        m.register_forward_hook(lambda mod, inp, out: sizes.add(inp[0].shape[-1]))
        for m in model.modules()
        if isinstance(m, SelfAttention)
    ]
    x = torch.randn(3, cfg.in_channels, cfg.image_size, cfg.image_size, dtype=torch.float32)
    out = model(x, torch.tensor([0, 4, 9]))
    for h in hooks:
        h.remove()
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert sizes == {cfg.image_size // 2, cfg.image_size // 4}


def test_time_changes_the_output():
    torch.manual_seed(1)
    model = UNet(UNetConfig(image_size=8, base_channels=16, channel_mults=(1, 2), groups=8)).float()
    x = torch.randn(2, 1, 8, 8, dtype=torch.float32)
    assert not torch.allclose(model(x, torch.tensor([1, 1])), model(x, torch.tensor([7, 7])))


def test_sinusoidal_embedding_closed_form():
    emb = sinusoidal_embedding(torch.tensor([0.0, 3.0]), 8)
    freqs = [10_000 ** (-k / 4) for k in range(4)]
    expected = [[math.sin(3 * f) for f in freqs] + [math.cos(3 * f) for f in freqs]]
    assert torch.allclose(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4, dtype=emb.dtype))
    assert torch.allclose(emb[1], torch.tensor(expected[0], dtype=emb.dtype), atol=1e-6)


def test_bad_configurations_are_rejected():
    with pytest.raises(ValueError, match="image_size 28 is not divisible by 2\\^3"):
        UNetConfig(image_size=28, channel_mults=(1, 2, 2, 2))
    with pytest.raises(ValueError, match="GroupNorm groups"):
        UNetConfig(base_channels=88, groups=16)
