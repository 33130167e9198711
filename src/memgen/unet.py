"""DDPM noise-prediction U-Net (Ho et al. 2020 layout), sized from the config.

Residual blocks with GroupNorm and SiLU, the time t entering every block through a
sinusoidal embedding and an MLP, self-attention at the two coarsest resolutions,
skip connections from every down-path block to the up path.

    ε̂ = UNet(config)(x_t, t)      x_t: (B, C, H, W), t: (B,) diffusion step (float or int)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from memgen.config import unet_shape_errors


@dataclass(frozen=True)
class UNetConfig:
    """Widths and depth: level k has base_channels · channel_mults[k] channels; attention at the
    ``attention_levels`` coarsest levels (and in the middle)."""

    image_size: int = 16
    in_channels: int = 1
    base_channels: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_levels: int = 2
    groups: int = 16
    heads: int = 4
    dropout: float = 0.0

    def __post_init__(self):
        errors = unet_shape_errors(
            self.image_size, self.base_channels, self.channel_mults, self.groups, self.heads, self.attention_levels
        )
        if errors:
            raise ValueError("; ".join(errors))


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """[sin(t ω_k), cos(t ω_k)], ω_k = max_period^{−k/(dim/2)}, k = 0 … dim/2 − 1."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    """GroupNorm → SiLU → conv, + time projection, GroupNorm → SiLU → dropout → conv, + skip (1×1 if widths differ)."""

    def __init__(self, c_in: int, c_out: int, t_dim: int, groups: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(t_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(groups, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return h + self.skip(x)


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H·W positions, pre-GroupNorm, residual."""

    def __init__(self, channels: int, groups: int, heads: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, x):
        b, c, h, w = x.shape
        seq = self.norm(x).flatten(2).transpose(1, 2)
        out, _ = self.attn(seq, seq, seq, need_weights=False)
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = cfg = config
        t_dim = 4 * cfg.base_channels
        self.time_mlp = nn.Sequential(nn.Linear(cfg.base_channels, t_dim), nn.SiLU(), nn.Linear(t_dim, t_dim))
        self.conv_in = nn.Conv2d(cfg.in_channels, cfg.base_channels, 3, padding=1)
        levels = len(cfg.channel_mults)
        attn_from = levels - cfg.attention_levels
        widths = [cfg.base_channels]
        self.down = nn.ModuleList()
        ch = cfg.base_channels
        for level, mult in enumerate(cfg.channel_mults):
            for _ in range(cfg.num_res_blocks):
                block = nn.ModuleList([ResBlock(ch, cfg.base_channels * mult, t_dim, cfg.groups, cfg.dropout)])
                ch = cfg.base_channels * mult
                if level >= attn_from:
                    block.append(SelfAttention(ch, cfg.groups, cfg.heads))
                self.down.append(block)
                widths.append(ch)
            if level < levels - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(ch, ch, 3, stride=2, padding=1)]))
                widths.append(ch)
        self.mid = nn.ModuleList(
            [
                ResBlock(ch, ch, t_dim, cfg.groups, cfg.dropout),
                SelfAttention(ch, cfg.groups, cfg.heads),
                ResBlock(ch, ch, t_dim, cfg.groups, cfg.dropout),
            ]
        )
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(cfg.channel_mults))):
            for i in range(cfg.num_res_blocks + 1):
                block = nn.ModuleList(
                    [ResBlock(ch + widths.pop(), cfg.base_channels * mult, t_dim, cfg.groups, cfg.dropout)]
                )
                ch = cfg.base_channels * mult
                if level >= attn_from:
                    block.append(SelfAttention(ch, cfg.groups, cfg.heads))
                if level > 0 and i == cfg.num_res_blocks:
                    block.append(nn.Upsample(scale_factor=2, mode="nearest"))
                    block.append(nn.Conv2d(ch, ch, 3, padding=1))
                self.up.append(block)
        self.norm_out = nn.GroupNorm(cfg.groups, ch)
        self.conv_out = nn.Conv2d(ch, cfg.in_channels, 3, padding=1)

    @staticmethod
    def _run_block(block, h, temb):
        for layer in block:
            h = layer(h, temb) if isinstance(layer, ResBlock) else layer(h)
        return h

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time_mlp(sinusoidal_embedding(t, self.config.base_channels).to(x.dtype))
        h = self.conv_in(x)
        skips = [h]
        for block in self.down:
            h = self._run_block(block, h, temb)
            skips.append(h)
        h = self._run_block(self.mid, h, temb)
        for block in self.up:
            h = self._run_block(block, torch.cat([h, skips.pop()], dim=1), temb)
        return self.conv_out(F.silu(self.norm_out(h)))


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
