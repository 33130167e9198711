"""Validation of config.yaml against workflow/schemas/config.schema.yaml, and the command line.

config.yaml spells out every key (the one source of every value; the schema requires them);
every violation is reported with the dotted key it concerns (e.g. ``ldm.transition.sweeps.0.n_min``),
before any job runs.
"""

from __future__ import annotations

import copy
import math
import re
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


# JSON Schema counts 30.0 as an integer; a count, a size or a seed must be written as one.
_STRICT_TYPES = Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda checker, x: isinstance(x, int) and not isinstance(x, bool)
)
_Validator = _with_defaults(validators.extend(Draft202012Validator, type_checker=_STRICT_TYPES))


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _describe(error) -> list[str]:
    where = list(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return [f"config key '{_key(where + [k])}': unknown key (allowed here: {', '.join(allowed)})" for k in extra]
    if error.validator == "required":
        missing = [k for k in error.validator_value if isinstance(error.instance, dict) and k not in error.instance]
        return [f"config key '{_key(where + [k])}': missing (config.yaml spells out every key)" for k in missing]
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


def unet_shape_errors(
    image_size: int, base_channels: int, channel_mults, groups: int, heads: int = 1, attention_levels: int = 0
) -> list[str]:
    """What makes a U-Net shape impossible: the image must halve exactly at every level below the
    first, every level's width must split into the GroupNorm groups, attention can sit at no more
    levels than there are, and the width of every attention level (and of the middle) must split
    into the heads."""
    out = []
    levels = len(channel_mults)
    if image_size % 2 ** (levels - 1):
        out.append(f"image_size {image_size} is not divisible by 2^{levels - 1} ({levels} levels)")
    for mult in channel_mults:
        if (base_channels * mult) % groups:
            out.append(f"{base_channels * mult} channels are not divisible into {groups} GroupNorm groups")
    if attention_levels > levels:
        out.append(f"attention_levels = {attention_levels} but the U-Net has only {levels} levels")
    attended = {base_channels * m for m in channel_mults[levels - min(attention_levels, levels) :]}
    attended.add(base_channels * channel_mults[-1])  # the middle block
    for width in sorted(attended):
        if width % heads:
            out.append(f"{width} channels of an attention layer are not divisible into {heads} heads")
    return out


def _lookup(config: dict, dotted: str):
    """config[a][b]… for 'a.b…', or None where a level is missing or not a mapping."""
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _non_finite_errors(node, path=()) -> list[str]:
    """Every NaN or ±inf number in the config (YAML .nan, .inf), by key. (m = ∞ is written "inf",
    a string the schema allows where it means something.)"""
    if isinstance(node, dict):
        return [e for k, v in node.items() for e in _non_finite_errors(v, (*path, k))]
    if isinstance(node, list):
        return [e for i, v in enumerate(node) for e in _non_finite_errors(v, (*path, i))]
    if isinstance(node, float) and not math.isfinite(node):
        return [f"config key '{_key(path)}': {node} is not a finite number"]
    return []


_REPEATS_ALLOWED = ("channel_mults",)  # lists whose items may repeat (a U-Net's width per level)


def _duplicate_errors(node, path=()) -> list[str]:
    """Every list of plain values that names one value twice (a grid, a list of m, data sets, sources):
    it would plan the same job twice or count the same trial twice."""
    out = []
    if isinstance(node, dict):
        return [e for k, v in node.items() if k not in _REPEATS_ALLOWED for e in _duplicate_errors(v, (*path, k))]
    if isinstance(node, list):
        seen = {}
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                out += _duplicate_errors(v, (*path, i))
                continue
            key = str(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v).lower()
            if key in seen:
                out.append(f"config key '{_key((*path, i))}': {v!r} repeats item {seen[key]}")
            seen.setdefault(key, i)
    return out


def _semantic_errors(config: dict) -> list[str]:
    """Constraints a JSON schema cannot express."""
    out = _duplicate_errors(config)
    ldm = config.get("ldm", {})
    for section in ("hellinger", "transition"):
        dims = {}
        for i, sweep in enumerate(ldm.get(section, {}).get("sweeps", [])):
            if isinstance(sweep, dict) and sweep.get("n_max", 0) < sweep.get("n_min", 0):
                out.append(
                    f"config key 'ldm.{section}.sweeps.{i}.n_max': {sweep['n_max']} is smaller than n_min = {sweep['n_min']}"
                )
            if isinstance(sweep, dict) and sweep.get("d") in dims:
                out.append(
                    f"config key 'ldm.{section}.sweeps.{i}.d': d = {sweep['d']} has a sweep already "
                    f"(sweeps.{dims[sweep['d']]}); one sweep per d"
                )
            if isinstance(sweep, dict):
                dims.setdefault(sweep.get("d"), i)
    for key in _LOG_GRIDS:
        grid = _lookup(config, key)
        if isinstance(grid, dict) and grid.get("max", 1) <= grid.get("min", 0):
            out.append(f"config key '{key}.max': {grid['max']} must exceed {key}.min = {grid['min']}")
    unet = config.get("unet", {})
    memorization_size = unet.get("memorization", {}).get("resolution") or MNIST_IMAGE_SIZE
    for section, size in (
        ("gaussian", unet.get("gaussian", {}).get("image_size")),
        ("memorization", memorization_size),
    ):
        model = unet.get(section, {}).get("model")
        if isinstance(model, dict) and size is not None:
            shape = [model[k] for k in ("base_channels", "channel_mults", "groups", "heads", "attention_levels")]
            for msg in unet_shape_errors(size, *shape):
                out.append(f"config key 'unet.{section}.model': {msg}")
    return out + _clamp_errors(config)


def _clamp_errors(config: dict) -> list[str]:
    """Values the code would otherwise clamp silently: a subset larger than its set, a feature count
    p = round(ratio · n) below 1, a training set below 2 points."""
    out = []
    g = _lookup(config, "unet.gaussian") or {}
    if isinstance(g.get("original_subset"), int) and isinstance(g.get("N"), int) and g["original_subset"] > g["N"]:
        out.append(
            f"config key 'unet.gaussian.original_subset': {g['original_subset']} is larger than the original set "
            f"(unet.gaussian.N = {g['N']})"
        )
    rfi = config.get("rf_images", {})
    for section in ("learning_curves", "generation"):
        ex = rfi.get(section, {})
        sizes = ex.get("n") if isinstance(ex.get("n"), list) else [ex.get("n")]
        for i, ratio in enumerate(ex.get("p_over_n", [])):
            for n in sizes:
                if isinstance(n, int) and isinstance(ratio, (int, float)) and round(ratio * n) < 1:
                    out.append(
                        f"config key 'rf_images.{section}.p_over_n.{i}': {ratio} × n = {n} gives p = "
                        f"{round(ratio * n)} < 1 feature"
                    )
    bridge = config.get("bridge", {})
    d = bridge.get("d")
    for kind in ("transition", "phase"):
        ex = bridge.get(kind, {})
        psi_n, psi_p = ex.get("psi_n"), ex.get("psi_p")
        smallest_p = min(psi_p) if isinstance(psi_p, list) and psi_p else (psi_p or {}).get("min")
        if isinstance(d, int) and isinstance(psi_n, dict) and isinstance(psi_n.get("min"), (int, float)):
            if round(psi_n["min"] * d) < 2:
                out.append(
                    f"config key 'bridge.{kind}.psi_n.min': {psi_n['min']} × d = {d} gives n = "
                    f"{round(psi_n['min'] * d)} < 2 training points"
                )
        if isinstance(d, int) and isinstance(smallest_p, (int, float)) and round(smallest_p * d) < 1:
            out.append(f"config key 'bridge.{kind}.psi_p': {smallest_p} × d = {d} gives p = 0 features")
    return out


def _require_every_property(node):
    """Every property of a mapping is required (config.yaml spells out every key) unless the
    schema marks it ``x-optional`` or the mapping lists its own ``required`` (the items of a list,
    such as a sweep, whose missing keys take their defaults)."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict) and "required" not in node:
            node["required"] = [k for k, v in node["properties"].items() if not (v or {}).get("x-optional")]
        for value in node.values():
            _require_every_property(value)
    elif isinstance(node, list):
        for value in node:
            _require_every_property(value)
    return node


def load_schema(path: str | Path) -> dict:
    return _require_every_property(yaml.safe_load(Path(path).read_text()))


def validate_config(config: dict, schema: dict | str | Path) -> dict:
    """Check ``config`` (filling the defaults of list items, such as a sweep's near_d, in place) and
    raise ConfigError naming every bad or missing key."""
    if not isinstance(schema, dict):
        schema = load_schema(schema)
    if not isinstance(config, dict):
        raise ConfigError(f"config must be a mapping, got {type(config).__name__}")
    errors = sorted(_Validator(schema).iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    messages = _non_finite_errors(config) + [m for e in errors for m in _describe(e)]
    if not messages:
        messages = _semantic_errors(config)
    if messages:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(messages))
    return config


# ---------------------------------------------------------------------------------------------
# The command line: --config values, the run name, the presets.

_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def parse_override_scalar(text: str):
    """One value of a nested ``--config`` entry, as the config file would have it: Snakemake reads
    ``--config rf='{d: 50}'`` with YAML's base loader, which leaves every leaf a string ('50').
    Read as YAML (so 50 is an int, true a bool, null None, inf stays the string m = ∞ is written
    as), and a number in exponent form (1e-3, which YAML 1.1 leaves a string) as a float."""
    value = yaml.safe_load(text) if text.strip() else text
    if isinstance(value, str) and _NUMBER.fullmatch(text.strip()):
        return float(text)
    return value


def _parse_leaves(node):
    if isinstance(node, dict):
        return {k: _parse_leaves(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_parse_leaves(v) for v in node]
    return parse_override_scalar(node) if isinstance(node, str) else node


def _deep_set(config: dict, override: dict) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            _deep_set(config[key], value)
        else:
            config[key] = value


def apply_command_line_overrides(config: dict, overrides) -> dict:
    """Re-read the values of Snakemake's ``--config`` (``overrides``, already merged into ``config``,
    nested ones as strings; Snakemake reads only True/False as booleans) with
    :func:`parse_override_scalar`, in place. The run name stays the text it was given."""
    parsed = {k: str(v) if k == "run" else _parse_leaves(v) for k, v in dict(overrides or {}).items()}
    _deep_set(config, parsed)
    return config


RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
DEFAULT_RUN = "paper"


def run_name(config: dict, configfiles=(), overrides=None) -> str:
    """The folder name of a run (results/<run>/, figures/<run>/, logs/<run>/): ``--config run=…``
    where given; else the ``run`` key of the last ``--configfile``, or that file's stem when it sets
    none (a user's own config layered over a preset never lands in the preset's folders); else the
    config's ``run`` key, or 'paper'."""
    files = [Path(f) for f in configfiles or ()]
    if overrides and "run" in overrides:
        name = overrides["run"]
    elif files:
        name = (yaml.safe_load(files[-1].read_text()) or {}).get("run") or files[-1].stem
    else:
        name = config.get("run") or DEFAULT_RUN
    name = str(name) if isinstance(name, (int, float)) and not isinstance(name, bool) else name
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
        raise ConfigError(
            f"config key 'run': {name!r} is not a folder name (letters, digits, '_', '.', '-'; not starting with '.')"
        )
    config["run"] = name
    return name


def preset_names(presets: str | Path) -> list[str]:
    """The presets that exist: presets/<name>.yaml."""
    return sorted(p.stem for p in Path(presets).glob("*.yaml"))


def run_name_of_command(args, repo: str | Path = ".") -> str:
    """The run name a snakemake command line (its arguments ``args``) resolves to, read the way
    the workflow reads it: config.yaml, then each ``--configfile``, then ``--config``."""
    from snakemake.cli import get_argument_parser, parse_config

    parsed, _ = get_argument_parser().parse_known_args(list(args))
    config = yaml.safe_load((Path(repo) / "config.yaml").read_text())
    configfiles = [Path(f) for f in parsed.configfile or ()]
    for path in configfiles:
        _deep_set(config, yaml.safe_load(Path(path).read_text()) or {})
    overrides = parse_config(parsed.config or [])
    _deep_set(config, overrides)
    apply_command_line_overrides(config, overrides)
    return run_name(config, configfiles, overrides)


def main(argv=None) -> int:
    """``python -m memgen.config run-name [snakemake arguments]``: print the run name of a command
    line, or one line naming a config file that does not exist and the presets that do."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "run-name":
        print("usage: python -m memgen.config run-name [snakemake arguments]", file=sys.stderr)
        return 2
    repo = Path(__file__).resolve().parents[2]
    try:
        print(run_name_of_command(argv[1:], repo))
    except FileNotFoundError as error:
        presets = ", ".join(f"PRESET={name}" for name in preset_names(repo / "presets"))
        print(f"memgen: no such config file: {error.filename} (presets: {presets})", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"memgen: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
