"""The memory estimates planning refuses configs with (memgen.job_memory) against measured peaks.

Each case runs in a fresh process: the peak resident memory (ru_maxrss) after the work, minus the
process's resident memory just before it (Python, torch and the inputs loaded). Prints estimate,
measured and their ratio; the refusal only needs the estimate's order of magnitude.

    python bench/bench_job_memory.py
"""

from __future__ import annotations

import subprocess
import sys

from memgen.job_memory import GIB, ldm_trial_bytes, rf_fit_bytes, unet_job_bytes

FIG4 = {"base_channels": 88, "channel_mults": [1, 2, 2], "num_res_blocks": 2}

PRELUDE = """
import resource, math, torch
torch.set_num_threads(2)
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""

CASES = {
    # the paper scale's largest RF fit on Gaussian data (rf.d = 200, psi_p = psi_n = 8), m = inf and m = 10
    "RF fit d=200 p=1600 n=1600 m=inf": (
        rf_fit_bytes(200, 1600, 1600),
        "from memgen.rf import simulate_rf_dsm\nfrom memgen.rf_model import RFProblem\n"
        "before = rss()\n"
        "simulate_rf_dsm(RFProblem(200, 8.0, 8.0, math.inf, 0.1, 1e-3), [0])\n",
    ),
    "RF fit d=200 p=1600 n=1600 m=10": (
        rf_fit_bytes(200, 1600, 1600, quadrature=False),
        "from memgen.rf import simulate_rf_dsm\nfrom memgen.rf_model import RFProblem\n"
        "before = rss()\n"
        "simulate_rf_dsm(RFProblem(200, 8.0, 8.0, 10, 0.1, 1e-3), [0])\n",
    ),
    "RF fit d=100 p=800 n=200 m=inf": (
        rf_fit_bytes(100, 800, 200),
        "from memgen.rf import simulate_rf_dsm\nfrom memgen.rf_model import RFProblem\n"
        "before = rss()\n"
        "simulate_rf_dsm(RFProblem(100, 8.0, 2.0, math.inf, 0.1, 1e-3), [0])\n",
    ),
    # one linear-model transition trial at the paper's scale (N = 10,000, d = 100, n = 1,000)
    "LDM trial N=10000 d=100 n=1000": (
        ldm_trial_bytes(10_000, 100, 1000),
        "import yaml\n"
        "from memgen.experiments.ldm import Sweep, model_from_config, transition_trials\n"
        "params, covs = model_from_config(yaml.safe_load(open('config.yaml'))['ldm']['model'])\n"
        "before = rss()\n"
        "transition_trials(Sweep(100, 1000, 1000, 1, ()), range(1), params, covs, 10_000, 0)\n",
    ),
    # the paper's Fig. 4 U-Net (12.8 M parameters), batch 128 at 16x16, 3 optimizer steps in float32
    "U-Net 16x16 base 88 batch 128": (
        unet_job_bytes(FIG4, 16, 128, 1, 0),
        "from memgen.unet import UNetConfig\n"
        "from memgen.training import TrainingConfig, build_unet, train_ddpm\n"
        "model = build_unet(UNetConfig(image_size=16, base_channels=88, channel_mults=(1, 2, 2), num_res_blocks=2,"
        " attention_levels=2, groups=8, heads=4), 0, 'bench')\n"
        "images = torch.rand(256, 1, 16, 16) * 2 - 1\n"
        "before = rss()\n"
        "train_ddpm(model, images, TrainingConfig(steps=3, checkpoint_every=0), 0, 'bench', progress=False)\n",
    ),
}


def measure(code: str) -> float:
    script = PRELUDE + code + "print(rss() - before)\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def main() -> None:
    print(f"{'job':36s} {'estimate':>10s} {'measured':>10s} {'ratio':>6s}")
    for name, (estimate, code) in CASES.items():
        try:
            measured = measure(code)
        except subprocess.CalledProcessError as error:
            print(f"{name:36s} failed: {error.stderr.strip().splitlines()[-1]}")
            continue
        print(f"{name:36s} {estimate / GIB:9.3f}G {measured / GIB:9.3f}G {estimate / max(measured, 1):6.2f}")


if __name__ == "__main__":
    main()
