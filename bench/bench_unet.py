"""Training throughput of memgen's U-Nets beside denoising_diffusion_pytorch.Unet of about the same size.

    python bench/bench_unet.py [--device cpu|cuda] [--batch 128] [--steps 20] [--repeats 5] [--compile]
                               [--out table.parquet]

Needs the reference package, installed for this benchmark only (``make bench-unet`` does it):
    pip install -r bench/requirements-unet.txt

For each configuration (Paper B's 12.9 M U-Net at 16x16, the MNIST U-Net at 28x28) both models
train on the same random batch, same batch size, same optimizer (Adam) and precision (bf16 autocast
on CUDA, float32 on CPU); one measurement = ``--steps`` optimizer steps after warm-up, the two models
measured alternately ``--repeats`` times. Prints the median images/s of each and their ratio, and
how much of the device each keeps busy: FLOP/s = images/s × F, with F the FLOPs of one image's
training step (forward + backward, 2 per multiply-add of the matrix products and convolutions, counted
by ``torch.utils.flop_counter``), as a fraction of the dense bf16 (CUDA) or float32 (CPU) matrix
product measured in the same run (``matmul_peak``). ``--out`` also writes the numbers as a table.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from memgen.io import provenance, write_table
from memgen.unet import UNet, UNetConfig, count_parameters

CONFIGS = {
    "Paper B 16x16": UNetConfig(
        image_size=16, base_channels=88, channel_mults=(1, 2, 2), num_res_blocks=2, attention_levels=2, groups=8
    ),
    "MNIST 28x28": UNetConfig(
        image_size=28, base_channels=64, channel_mults=(1, 2, 2), num_res_blocks=2, attention_levels=2, groups=16
    ),
}


def reference_unet(target_params: int, image_size: int):
    """denoising_diffusion_pytorch.Unet with dim_mults (1, 2, 2) and the width whose parameter count is
    closest to ``target_params`` (widths in steps of 8, as its GroupNorm needs)."""
    from denoising_diffusion_pytorch import Unet

    best = None
    for dim in range(16, 161, 8):
        model = Unet(dim=dim, dim_mults=(1, 2, 2), channels=1)
        gap = abs(count_parameters(model) - target_params)
        if best is None or gap < best[0]:
            best = (gap, dim, model)
    return best[2], best[1]


def train_flops_per_image(model, image_size: int, device) -> float:
    """F = FLOPs of one image's training step (forward and backward; 2 per multiply-add of the matrix
    products, convolutions and attention), counted on a batch of 2."""
    x = torch.randn(2, 1, image_size, image_size, device=device)
    t = torch.randint(0, 10, (2,), device=device)
    counter = FlopCounterMode(display=False)
    with counter:
        model(x, t).float().square().mean().backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 2


def matmul_peak(device, repeats: int = 10) -> float:
    """FLOP/s of a dense matrix product measured here: 8192³ in bf16 on CUDA (2·8192³ FLOPs each), 2048³ in
    float32 on CPU; the median of ``repeats`` after 3 warm-ups."""
    cuda = device.type == "cuda"
    size, dtype = (8192, torch.bfloat16) if cuda else (2048, torch.float32)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(3):
        a @ b
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        sync()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)


def make_step(model, x, device, bf16):
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator(device=device).manual_seed(0)

    def step():
        t = torch.randint(0, 10, (len(x),), device=device, generator=g)
        eps = torch.randn(x.shape, device=device, generator=g)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = torch.mean((model(x + eps, t) - eps) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=None, help="default 128 on CUDA, 8 on CPU")
    parser.add_argument("--steps", type=int, default=None, help="steps per measurement (default 20 on CUDA, 3 on CPU)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="torch.compile both models")
    parser.add_argument("--out", default=None, help="also write the numbers to this table (parquet + JSON sidecar)")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    batch = args.batch or (128 if cuda else 8)
    steps = args.steps or (20 if cuda else 3)
    bf16 = cuda
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    print(
        f"device {device}{' ' + torch.cuda.get_device_name() if cuda else ''}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; batch {batch}, {'bf16 autocast' if bf16 else 'float32'}, "
        f"{steps} steps per measurement, median of {args.repeats}{', torch.compile' if args.compile else ''}"
    )
    start_all = time.perf_counter()
    peak = matmul_peak(device)
    print(f"dense {'bf16' if cuda else 'float32'} matrix product here: {peak / 1e12:.1f} TFLOP/s")
    rows = []
    for name, cfg in CONFIGS.items():
        torch.manual_seed(0)
        ours = UNet(cfg).to(device)
        theirs, dim = reference_unet(count_parameters(ours), cfg.image_size)
        theirs = theirs.to(device)
        x = torch.randn(batch, 1, cfg.image_size, cfg.image_size, device=device)
        models = {"memgen.UNet": ours, f"ddp.Unet(dim={dim})": theirs}
        runs = {}
        for label, model in models.items():
            fn = torch.compile(model) if args.compile else model
            runs[label] = make_step(fn, x, device, bf16)
            for _ in range(2):  # warm-up (and compilation)
                runs[label]()
        sync()
        times = {label: [] for label in runs}
        for _ in range(args.repeats):
            for label, step in runs.items():
                start = time.perf_counter()
                for _ in range(steps):
                    step()
                sync()
                times[label].append(time.perf_counter() - start)
        rate = {label: batch * steps / statistics.median(ts) for label, ts in times.items()}
        print(f"\n{name}:")
        for label, model in models.items():
            flops = train_flops_per_image(model, cfg.image_size, device)
            busy = rate[label] * flops / peak
            print(
                f"  {label:24s} {count_parameters(model):>12,} params  {rate[label]:10.1f} images/s  "
                f"{flops / 1e9:6.2f} GFLOP/image  {rate[label] * flops / 1e12:7.2f} TFLOP/s = {busy:6.1%} of the product"
            )
            rows.append(
                {
                    "config": name,
                    "model": label,
                    "params": count_parameters(model),
                    "batch": batch,
                    "images_per_s": rate[label],
                    "flops_per_image": flops,
                    "matmul_flops_per_s": peak,
                    "fraction_of_matmul": busy,
                }
            )
        a, b = rate.values()
        print(f"  ratio memgen / ddp: {a / b:.2f}x")
    if args.out:
        meta = provenance(
            vars(args),
            None,
            time.perf_counter() - start_all,
            device=torch.cuda.get_device_name() if cuda else "cpu",
            precision="bf16 autocast" if bf16 else "float32",
        )
        write_table(pd.DataFrame(rows), args.out, meta)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
