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


def _semantic_errors(config: dict) -> list[str]:
    """Constraints a JSON schema cannot express."""
    out = []
    ldm = config.get("ldm", {})
    for section in ("hellinger", "transition"):
        for i, sweep in enumerate(ldm.get(section, {}).get("sweeps", [])):
            if isinstance(sweep, dict) and sweep.get("n_max", 0) < sweep.get("n_min", 0):
                out.append(f"config key 'ldm.{section}.sweeps.{i}.n_max': {sweep['n_max']} is smaller than n_min = {sweep['n_min']}")
    grid = config.get("kde_width", {}).get("eps_grid", {})
    if isinstance(grid, dict) and grid.get("max", 1) <= grid.get("min", 0):
        out.append(f"config key 'kde_width.eps_grid.max': {grid['max']} must exceed eps_grid.min = {grid['min']}")
    rf = config.get("rf", {})
    for section, keys in (("learning_curves", ("psi_p", "simulated_psi_p")), ("vs_psi_n", ("psi_n", "simulated_psi_n")), ("phase_diagram", ("grid",))):
        for key in keys:
            g = rf.get(section, {}).get(key, {}) if isinstance(rf.get(section), dict) else {}
            if isinstance(g, dict) and g.get("max", 1) <= g.get("min", 0):
                out.append(f"config key 'rf.{section}.{key}.max': {g['max']} must exceed min = {g['min']}")
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
