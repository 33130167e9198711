"""Many small U-Nets per process: packed training (train_ddpm_models) beside the same models trained one
after another (train_ddpm), and the memory-format / compile options of a single small U-Net.

    python bench/bench_packed.py [--device cpu|cuda] [--configs quick mnist14] [--packs 4 8] [--batch 32]
                                 [--steps 30] [--repeats 3] [--compile] [--out table.parquet]

Configurations: the quick preset's 16x16 U-Net (base 16), a 14x14 MNIST-sized one (base 32), and
(``--configs fig4``) Paper B's 12.8 M-parameter Fig. 4 U-Net at 16x16, as config.yaml's
unet.gaussian configures it. One measurement = ``--steps`` optimizer steps of K models at batch
``--batch`` (K sequential runs, or one pack of K),
the two ways measured alternately ``--repeats`` times; prints the median images/s of each and their
ratio. Then, for one model: channels-last memory format against the default, and (``--compile``)
torch.compile against eager, measured the same way after a warm-up. ``--out`` also writes the numbers
as a table. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from memgen.io import provenance, write_table
from memgen.training import TrainingConfig, build_unet, train_ddpm, train_ddpm_models
from memgen.unet import UNetConfig, count_parameters
from memgen.unet_setup import unet_config

FIG4 = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())["unet"]["gaussian"]
CONFIGS = {
    "quick": UNetConfig(
        image_size=16, base_channels=16, channel_mults=(1, 2), num_res_blocks=1, attention_levels=1, groups=8, heads=2
    ),
    "mnist14": UNetConfig(
        image_size=14, base_channels=32, channel_mults=(1, 2), num_res_blocks=1, attention_levels=1, groups=8, heads=4
    ),
    # Paper B's Fig. 4 U-Net as config.yaml configures it
    "fig4": unet_config(FIG4["model"], FIG4["image_size"]),
}


def images(k: int, size: int, n: int) -> list[torch.Tensor]:
    return [torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(i)) * 2 - 1 for i in range(k)]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def packed_vs_separate(cfg: UNetConfig, k: int, batch: int, steps: int, repeats: int, device) -> tuple[float, float]:
    """Median images/s of K models trained one after another and as one pack."""
    tcfg = TrainingConfig(batch_size=batch, steps=steps, m=4, diffusion_steps=10, checkpoint_every=0)
    data = images(k, cfg.image_size, max(64, batch))

    def separate():
        for i in range(k):
            train_ddpm(build_unet(cfg, 0, "bench", i), data[i], tcfg, 0, "bench", i, device=device, progress=False)

    def packed():
        models = [build_unet(cfg, 0, "bench", i) for i in range(k)]
        train_ddpm_models(models, data, tcfg, 0, "bench", [(i,) for i in range(k)], device=device, progress=False)

    work = k * steps * batch
    sep, pack = [], []
    for _ in range(repeats):
        sep.append(work / timed(separate))
        pack.append(work / timed(packed))
    return statistics.median(sep), statistics.median(pack)


def single_model_options(cfg: UNetConfig, batch: int, steps: int, repeats: int, device, compile_too: bool) -> dict:
    """Median images/s of one model's training step: default, channels-last, and optionally compiled."""
    x = torch.rand(batch, 1, cfg.image_size, cfg.image_size, device=device) * 2 - 1
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
            t = torch.randint(0, 10, (batch,), device=device)
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
            rates[name].append(steps * batch / timed(lambda: [step() for _ in range(steps)]))
    return {name: statistics.median(r) for name, r in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=["quick", "mnist14"])
    parser.add_argument("--packs", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--out", default=None, help="also write the numbers to this table (parquet + JSON sidecar)")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    device_name = torch.cuda.get_device_name() if cuda else "cpu"
    print(
        f"device {device} {device_name}, torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}"
    )
    start, rows = time.perf_counter(), []
    for label in args.configs:
        cfg = CONFIGS[label]
        params = count_parameters(build_unet(cfg, 0, "bench", 0))
        print(f"\n{label} ({params:,} parameters), {args.steps} steps per model, median of {args.repeats}")
        for k in args.packs:
            sep, pack = packed_vs_separate(cfg, k, args.batch, args.steps, args.repeats, device)
            print(
                f"  K = {k:2d}: one after another {sep:8.1f} img/s   packed {pack:8.1f} img/s   ratio {pack / sep:5.2f}"
            )
            rows.append(
                {"config": label, "params": params, "K": k, "batch": args.batch, "separate": sep, "packed": pack}
            )
        rates = single_model_options(cfg, args.batch, args.steps, args.repeats, device, args.compile)
        base = rates["default"]
        print("  one model: " + "   ".join(f"{name} {r:8.1f} img/s ({r / base:4.2f}x)" for name, r in rates.items()))
    if args.out:
        meta = provenance(vars(args), None, time.perf_counter() - start, device=device_name)
        write_table(pd.DataFrame(rows), args.out, meta)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
