"""The CPU-time estimate of the U-Net jobs, and the stop before long jobs on a machine without a GPU."""

import copy

import pytest
import yaml

from memgen.config import validate_config
from memgen.cpu_budget import (
    CPU_JOB_LIMIT_HOURS,
    cpu_images_per_second,
    jobs_to_stop_for,
    long_cpu_jobs_message,
    unet_cpu_hours,
    unet_job_cpu_hours,
)
from memgen.planning import train_jobs
from workflow_utils import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def _config(*presets):
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    for preset in presets:
        over = yaml.safe_load((REPO / preset).read_text())
        for key, value in over.get("unet", {}).items():
            cfg["unet"][key] = {**cfg["unet"][key], **value} if isinstance(value, dict) else value
    return validate_config(copy.deepcopy(cfg), SCHEMA)


def test_throughput_scales_with_the_convolution_cost():
    ref = {"base_channels": 88, "channel_mults": [1, 2, 2], "num_res_blocks": 2}
    # the 28x28, base-64 U-Net of the study of m, measured at 23.7 images/s: the proxy says ~20
    mnist = {"base_channels": 64, "channel_mults": [1, 2, 2], "num_res_blocks": 2}
    assert 17 < cpu_images_per_second(mnist, 28) < 24
    # half the channels: a quarter of the cost; twice the side: four times; twice the blocks: twice
    base = cpu_images_per_second(ref, 16)
    assert cpu_images_per_second({**ref, "base_channels": 44}, 16) == pytest.approx(4 * base)
    assert cpu_images_per_second(ref, 32) == pytest.approx(base / 4)
    assert cpu_images_per_second({**ref, "num_res_blocks": 4}, 16) == pytest.approx(base / 2)


def test_paper_scale_is_hundreds_of_cpu_hours_and_the_quick_preset_minutes():
    hours = unet_cpu_hours(_config()["unet"])
    jobs, h = hours["unet_train_gaussian"]
    # Fig. 4: n = 10 ... 10^4 (10 sizes), 20 trials x 20 epochs x ceil(n/128) batches of 128 images, at 33 images/s
    ns = [10, 22, 46, 100, 215, 464, 1000, 2154, 4642, 10000]
    images = 20 * sum(20 * -(-n // 128) * 128 for n in ns)
    assert jobs == 40 and h == pytest.approx(images / 33.0 / 3600)
    assert round(h) == 65 and round(hours["unet_train_memorization"][1], -1) == 420  # the README's numbers
    assert hours["unet_train_memorization"][0] == 24
    quick = _config("presets/quick.yaml")
    assert sum(h for _, h in unet_cpu_hours(quick["unet"]).values()) < 0.5


def test_per_job_estimates_and_the_stop_before_long_jobs():
    unet = _config()["unet"]
    ips = cpu_images_per_second(unet["gaussian"]["model"], unet["gaussian"]["image_size"])
    # block 3 of n = 10,000: trials 15..19 (5 trials), 20 epochs of ceil(10000/128) = 79 batches of 128
    hours = unet_job_cpu_hours("unet_train_gaussian", {"n": "10000", "block": "3"}, unet)
    assert hours == pytest.approx(5 * 20 * 79 * 128 / ips / 3600)
    planned = [(rule, {k: str(v) for k, v in w.items()}) for rule, w in train_jobs(unet)]
    planned.append(("rf_theory", {"experiment": "role_of_m"}))  # not a U-Net job: never stops a run
    long = jobs_to_stop_for(planned, unet, local=True, gpu=False, allowed=False)
    # Fig. 4: n = 4,642 (37 batches per epoch: 4.0 h) and 10,000 (8.5 h), 4 blocks each; n = 2,154 is 1.8 h
    assert sorted({int(w["n"]) for r, w, _ in long if r == "unet_train_gaussian"}) == [4642, 10000]
    assert sum(r == "unet_train_memorization" for r, *_ in long) == 24
    assert all(h > CPU_JOB_LIMIT_HOURS for *_, h in long)
    message = long_cpu_jobs_message(long)
    assert "unet_train_gaussian: 8 jobs, 4.0-8.5 h each" in message and "make figures" in message
    # a cluster run, a GPU, or the switch: nothing stops
    for flags in ({"local": False, "gpu": False, "allowed": False}, {"local": True, "gpu": True, "allowed": False}):
        assert jobs_to_stop_for(planned, unet, **flags) == []
    assert jobs_to_stop_for(planned, unet, local=True, gpu=False, allowed=True) == []
    # the CPU preset's U-Nets stay under the limit: make figures on a CPU is never stopped
    cpu = _config("presets/cpu.yaml")["unet"]
    assert jobs_to_stop_for(train_jobs(cpu), cpu, local=True, gpu=False, allowed=False) == []


def test_a_fixed_step_budget_replaces_the_epochs():
    cpu = _config("presets/cpu.yaml")["unet"]
    g = cpu["gaussian"]
    jobs, h = unet_cpu_hours(cpu)["unet_train_gaussian"]
    # 5 sizes (4 ... 1024), 8 trials each, 1000 steps of 16 images whatever n: the epochs no longer count
    images = 5 * 8 * 1000 * 16
    assert g["steps"] == 1000 and jobs == 5
    assert h == pytest.approx(images / cpu_images_per_second(g["model"], 8) / 3600)
