"""Many small U-Nets per process: packed training (train_ddpm_models) beside the same models trained one
after another (train_ddpm), and the memory-format / compile options of a single small U-Net.

    python bench/bench_packed.py [--device cpu|cuda] [--packs 4 8] [--steps 30] [--repeats 3] [--compile]

Configurations: the quick preset's 16x16 U-Net (base 16) and a 14x14 MNIST-sized one (base 32). One
measurement = ``--steps`` optimizer steps of K models at batch 32 (K sequential runs, or one pack of K),
the two ways measured alternately ``--repeats`` times; prints the median images/s of each and their
ratio. Then, for one model: channels-last memory format against the default, and (``--compile``)
torch.compile against eager, measured the same way after a warm-up. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from memgen.training import TrainingConfig, build_unet, train_ddpm, train_ddpm_models
from memgen.unet import UNetConfig, count_parameters

CONFIGS = {
    "quick 16x16": UNetConfig(
        image_size=16, base_channels=16, channel_mults=(1, 2), num_res_blocks=1, attention_levels=1, groups=8, heads=2
    ),
    "MNIST 14x14": UNetConfig(
        image_size=14, base_channels=32, channel_mults=(1, 2), num_res_blocks=1, attention_levels=1, groups=8, heads=4
    ),
}
BATCH = 32


def images(k: int, size: int) -> list[torch.Tensor]:
    return [torch.rand(64, 1, size, size, generator=torch.Generator().manual_seed(i)) * 2 - 1 for i in range(k)]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def packed_vs_separate(cfg: UNetConfig, k: int, steps: int, repeats: int, device) -> tuple[float, float]:
    """Median images/s of K models trained one after another and as one pack."""
    tcfg = TrainingConfig(batch_size=BATCH, steps=steps, m=4, diffusion_steps=10, checkpoint_every=0)
    data = images(k, cfg.image_size)

    def separate():
        for i in range(k):
            train_ddpm(build_unet(cfg, 0, "bench", i), data[i], tcfg, 0, "bench", i, device=device, progress=False)

    def packed():
        models = [build_unet(cfg, 0, "bench", i) for i in range(k)]
        train_ddpm_models(models, data, tcfg, 0, "bench", [(i,) for i in range(k)], device=device, progress=False)

    work = k * steps * BATCH
    sep, pack = [], []
    for _ in range(repeats):
        sep.append(work / timed(separate))
        pack.append(work / timed(packed))
    return statistics.median(sep), statistics.median(pack)


def single_model_options(cfg: UNetConfig, steps: int, repeats: int, device, compile_too: bool) -> dict:
    """Median images/s of one model's training step: default, channels-last, and optionally compiled."""
    x = torch.rand(BATCH, 1, cfg.image_size, cfg.image_size, device=device) * 2 - 1
    variants = {"default": (torch.contiguous_format, False), "channels_last": (torch.channels_last, False)}
    if compile_too:
        variants["compiled"] = (torch.contiguous_format, True)
    steps_fn = {}
    for name, (fmt, comp) in variants.items():
        model = build_unet(cfg, 0, "bench", 0).to(device=device, memory_format=fmt)
        forward = torch.compile(model) if comp else model
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        xin = x.contiguous(memory_format=fmt)

        def step(forward=forward, opt=opt, xin=xin):
            t = torch.randint(0, 10, (BATCH,), device=device)
            eps = torch.randn_like(xin)
            loss = torch.mean((forward(xin + eps, t) - eps) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for _ in range(3):  # warm-up (and compilation)
            step()
        steps_fn[name] = step
    rates = {name: [] for name in steps_fn}
    for _ in range(repeats):
        for name, step in steps_fn.items():
            rates[name].append(steps * BATCH / timed(lambda: [step() for _ in range(steps)]))
    return {name: statistics.median(r) for name, r in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--packs", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, batch {BATCH}")
    for label, cfg in CONFIGS.items():
        params = count_parameters(build_unet(cfg, 0, "bench", 0))
        print(f"\n{label} ({params:,} parameters), {args.steps} steps per model, median of {args.repeats}")
        for k in args.packs:
            sep, pack = packed_vs_separate(cfg, k, args.steps, args.repeats, device)
            print(
                f"  K = {k:2d}: one after another {sep:8.1f} img/s   packed {pack:8.1f} img/s   ratio {pack / sep:5.2f}"
            )
        rates = single_model_options(cfg, args.steps, args.repeats, device, args.compile)
        base = rates["default"]
        print("  one model: " + "   ".join(f"{name} {r:8.1f} img/s ({r / base:4.2f}x)" for name, r in rates.items()))


if __name__ == "__main__":
    main()
