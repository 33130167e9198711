"""The CPU-time estimate of the U-Net jobs that planning prints on a machine without a GPU."""

import copy

import pytest
import yaml

from memgen.config import validate_config
from memgen.cpu_budget import cpu_images_per_second, cpu_warning, unet_cpu_hours
from workflow_utils import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def _config(*presets):
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    for preset in presets:
        over = yaml.safe_load((REPO / preset).read_text())
        for key, value in over.get("unet", {}).items():
            cfg["unet"][key] = {**cfg["unet"][key], **value} if isinstance(value, dict) else value
    return validate_config(copy.deepcopy(cfg), SCHEMA)


def test_throughput_is_the_measured_reference_and_scales_with_the_convolution_cost():
    ref = {"base_channels": 88, "channel_mults": [1, 2, 2], "num_res_blocks": 2}
    assert cpu_images_per_second(ref, 16) == pytest.approx(33.0)
    # the 28x28, base-64 U-Net of the study of m, measured at 23.7 images/s: the proxy says ~20
    mnist = {"base_channels": 64, "channel_mults": [1, 2, 2], "num_res_blocks": 2}
    assert 17 < cpu_images_per_second(mnist, 28) < 24
    assert cpu_images_per_second({**ref, "base_channels": 44}, 16) == pytest.approx(4 * 33.0)


def test_paper_scale_is_hundreds_of_cpu_hours_and_the_quick_preset_minutes():
    hours = unet_cpu_hours(_config()["unet"])
    jobs, h = hours["unet_gaussian_block"]
    # Fig. 4: n = 10 ... 10^4 (10 sizes), 20 trials x 20 epochs x ceil(n/128) batches of 128 images, at 33 images/s
    ns = [10, 22, 46, 100, 215, 464, 1000, 2154, 4642, 10000]
    images = 20 * sum(20 * -(-n // 128) * 128 for n in ns)
    assert jobs == 40 and h == pytest.approx(images / 33.0 / 3600)
    assert round(h) == 65 and round(hours["unet_memorization"][1], -1) == 420  # the README's numbers
    assert hours["unet_memorization"][0] == 24
    message = cpu_warning(_config()["unet"])
    assert "unet_gaussian_block: 40 jobs" in message and "PRESET=cpu" in message
    quick = _config("presets/quick.yaml")
    assert sum(h for _, h in unet_cpu_hours(quick["unet"]).values()) < 0.5 and cpu_warning(quick["unet"]) is None
    assert cpu_warning(_config("presets/cpu.yaml")["unet"]) is None


def test_a_fixed_step_budget_replaces_the_epochs():
    cpu = _config("presets/cpu.yaml")["unet"]
    g = cpu["gaussian"]
    jobs, h = unet_cpu_hours(cpu)["unet_gaussian_block"]
    # 5 sizes (4 ... 1024), 8 trials each, 1000 steps of 16 images whatever n: the epochs no longer count
    images = 5 * 8 * 1000 * 16
    assert g["steps"] == 1000 and jobs == 5
    assert h == pytest.approx(images / cpu_images_per_second(g["model"], 8) / 3600)
