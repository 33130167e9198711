"""Benchmark of the RF score on images: d = 784, n = 1,000, p = 4n, m = 10.

    python bench/bench_rf_images.py [--device cpu|cuda] [--times 20] [--samples 1000]

Times (one run each, printed; nothing asserted): one closed-form fit at t = 0.1, the whole
time path (one fit per time of a log grid), and sampling ``--samples`` images with the
reverse SDE (steps min(0.01, 0.05 t) from t = 3 to 1e-3). Data: Fashion-MNIST from
Debian's dataset-fashion-mnist when installed, else uniform noise images.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from memgen.data import load_idx_folder
from memgen.experiments.rf_images import Standardiser
from memgen.rf_sampling import fit_rf_score_path, reverse_time_steps, sample_reverse_sde
from memgen.rf import dsm_moments, fit_rf_score

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--times", type=int, default=20)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    n, p, m, dev = args.n, 4 * args.n, 10, args.device
    if DEBIAN.is_dir():
        images, source = load_idx_folder(DEBIAN, "fashion_mnist", "debian").train_images[:n], "Fashion-MNIST (Debian)"
    else:
        images, source = np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8), "uniform noise images"
    X = Standardiser.fit(images)(images).to(dev)
    g = torch.Generator(device=dev).manual_seed(0)
    W = torch.randn(p, X.shape[1], generator=g, dtype=torch.float64, device=dev)
    sync = torch.cuda.synchronize if dev.startswith("cuda") else (lambda: None)
    print(f"device {dev}, torch {torch.__version__}, {torch.get_num_threads()} threads; data: {source}")
    print(f"d = 784, n = {n}, p = {p}, m = {m} (N = {n * m} noisy points), float64")

    sync()
    start = time.perf_counter()
    fit_rf_score(dsm_moments(X, W, m, 0.1, g), 1e-3)
    sync()
    one_fit = time.perf_counter() - start
    print(f"  one closed-form fit (t = 0.1):             {one_fit:8.2f} s")

    times = np.geomspace(1e-3, 3.0, args.times)
    start = time.perf_counter()
    model = fit_rf_score_path(X, W, times, m, 1e-3, g, baseline=1.0)
    sync()
    print(f"  time path, {args.times} fits:                     {time.perf_counter() - start:8.2f} s")

    steps = len(reverse_time_steps(times[0], times[-1])) - 1
    start = time.perf_counter()
    sample_reverse_sde(model, args.samples, g)
    sync()
    print(f"  sampling {args.samples} images ({steps} Euler-Maruyama steps): {time.perf_counter() - start:8.2f} s")


if __name__ == "__main__":
    main()
