"""Validation of config.yaml against workflow/schemas/config.schema.yaml.

Fills schema defaults, then reports every violation with the dotted key it concerns
(e.g. ``ldm.transition.sweeps.0.n_min``), before any job runs.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, validators


class ConfigError(ValueError):
    """The configuration violates the schema; the message names each offending key."""


def _with_defaults(cls):
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(key, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(cls, {"properties": set_defaults})


_Validator = _with_defaults(Draft202012Validator)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _describe(error) -> list[str]:
    where = list(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return [f"config key '{_key(where + [k])}': unknown key (allowed here: {', '.join(allowed)})" for k in extra]
    return [f"config key '{_key(where)}': {error.message}"]


# {min, max, ...} grids whose max must exceed their min
_LOG_GRIDS = (
    "kde_width.eps_grid",
    "rf.learning_curves.psi_p",
    "rf.learning_curves.simulated_psi_p",
    "rf.vs_psi_n.psi_n",
    "rf.vs_psi_n.simulated_psi_n",
    "rf.phase_diagram.grid",
    "rf_images.generation.times",
    "unet.gaussian.n",
    "bridge.times",
    "bridge.transition.psi_n",
    "bridge.phase.psi_n",
    "bridge.phase.psi_p",
)
MNIST_IMAGE_SIZE = 28


def unet_shape_errors(image_size: int, base_channels: int, channel_mults, groups: int) -> list[str]:
    """What makes a U-Net shape impossible: the image must halve exactly at every level below the
    first, and every level's width must split into the GroupNorm groups."""
    out = []
    levels = len(channel_mults)
    if image_size % 2 ** (levels - 1):
        out.append(f"image_size {image_size} is not divisible by 2^{levels - 1} ({levels} levels)")
    for mult in channel_mults:
        if (base_channels * mult) % groups:
            out.append(f"{base_channels * mult} channels are not divisible into {groups} GroupNorm groups")
    return out


def _lookup(config: dict, dotted: str):
    """config[a][b]… for 'a.b…', or None where a level is missing or not a mapping."""
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _semantic_errors(config: dict) -> list[str]:
    """Constraints a JSON schema cannot express."""
    out = []
    ldm = config.get("ldm", {})
    for section in ("hellinger", "transition"):
        for i, sweep in enumerate(ldm.get(section, {}).get("sweeps", [])):
            if isinstance(sweep, dict) and sweep.get("n_max", 0) < sweep.get("n_min", 0):
                out.append(
                    f"config key 'ldm.{section}.sweeps.{i}.n_max': {sweep['n_max']} is smaller than n_min = {sweep['n_min']}"
                )
    for key in _LOG_GRIDS:
        grid = _lookup(config, key)
        if isinstance(grid, dict) and grid.get("max", 1) <= grid.get("min", 0):
            out.append(f"config key '{key}.max': {grid['max']} must exceed {key}.min = {grid['min']}")
    unet = config.get("unet", {})
    for section, size in (("gaussian", unet.get("gaussian", {}).get("image_size")), ("memorization", MNIST_IMAGE_SIZE)):
        model = unet.get(section, {}).get("model")
        if isinstance(model, dict) and size is not None:
            for msg in unet_shape_errors(size, model["base_channels"], model["channel_mults"], model["groups"]):
                out.append(f"config key 'unet.{section}.model': {msg}")
    return out


def load_schema(path: str | Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def validate_config(config: dict, schema: dict | str | Path) -> dict:
    """Fill defaults into ``config`` (in place) and raise ConfigError naming every bad key."""
    if not isinstance(schema, dict):
        schema = load_schema(schema)
    if not isinstance(config, dict):
        raise ConfigError(f"config must be a mapping, got {type(config).__name__}")
    errors = sorted(_Validator(schema).iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    messages = [m for e in errors for m in _describe(e)]
    if not messages:
        messages = _semantic_errors(config)
    if messages:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(messages))
    return config
