# Helpers shared by every rule: config validation, module sources, config slices.
import ast
import json
import math
import sys
from pathlib import Path

SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))  # for the config check; jobs use the installed (editable) memgen

from memgen.config import validate_config
from memgen.grids import log_int_grid, m_label, parse_m
from memgen.bridge import n_blocks as bridge_n_blocks
from memgen.rf_sweeps import n_simulation_blocks

validate_config(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")

ENV = "../../envs/memgen.yaml"
# RF figure -> its experiment (config key rf.<experiment>)
RF_FIGURES = {
    "rf_learning_curves": "learning_curves",
    "rf_vs_psin": "vs_psi_n",
    "rf_phase_diagram": "phase_diagram",
    "rf_role_of_m": "role_of_m",
}
# RF-on-images figure -> the per-data-set result it plots
RF_IMAGE_FIGURES = {
    "rf_images_learning_curves": "learning_curves.parquet",
    "rf_images_memorization": "generation.parquet",
    "rf_images_samples": "samples.npz",
}
# U-Net figures (Paper B Fig. 4; Paper A's study of m on images)
UNET_FIGURES = ["unet_gaussian_transition", "unet_memorization_m", "unet_samples"]
# Bridge figures (Paper B's metric on Paper A's RF models) -> their experiment
BRIDGE_FIGURES = {"bridge_transition": "transition", "bridge_phase": "phase"}
FIGURES = [
    "ldm_hellinger",
    "ldm_transition",
    "kde_width",
    *RF_FIGURES,
    *RF_IMAGE_FIGURES,
    *UNET_FIGURES,
    *BRIDGE_FIGURES,
]


wildcard_constraints:
    d=r"\d+",
    block=r"\d{3}",
    experiment="|".join(RF_FIGURES.values()),


def _memgen_imports(path):
    """memgen modules imported by the source file at ``path``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("memgen.")}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "memgen":
                found |= {f"memgen.{a.name}" for a in node.names}
            elif node.module.startswith("memgen."):
                found.add(node.module)
    return found


def _module_path(mod):
    """Source file of memgen module ``mod`` (a package's __init__.py), or None."""
    rel = Path(*mod.split("."))
    path = SRC / rel / "__init__.py" if (SRC / rel).is_dir() else SRC / rel.with_suffix(".py")
    return path if path.exists() else None


def module_sources(*modules):
    """Source files of ``modules`` and of every memgen module they import, recursively,
    relative to the workflow directory: declared as inputs, so editing one reruns
    exactly the jobs that use it."""
    seen, todo = {}, ["memgen", *modules]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen[mod] = _module_path(mod)
        if seen[mod] is not None:
            todo.extend(_memgen_imports(seen[mod]))
    return [str(path.relative_to(workflow.basedir)) for mod, path in sorted(seen.items()) if path is not None]


def as_json(obj):
    """A config slice as compact, key-sorted JSON (a shell argument and a params value)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def ldm_sweep(section, d):
    """The sweep of ldm.<section> for dimension d."""
    for sweep in config["ldm"][section]["sweeps"]:
        if int(sweep["d"]) == int(d):
            return sweep
    raise ValueError(f"no sweep with d = {d} in config ldm.{section}.sweeps")


def n_trial_blocks(cfg):
    """Blocks of cfg['trials_per_job'] trials covering cfg['trials'] (a config section)."""
    return math.ceil(cfg["trials"] / cfg["trials_per_job"])


def trial_block(cfg, block):
    """Global trial indices START:STOP of block ``block`` of a config section with trials, trials_per_job."""
    start = int(block) * cfg["trials_per_job"]
    return f"{start}:{min(start + cfg['trials_per_job'], cfg['trials'])}"


def ldm_block_tables(section):
    """Every block table of ldm.<section>, over all sweeps."""
    return [
        f"results/ldm/{section}/d{sweep['d']}/block{b:03d}.parquet"
        for sweep in config["ldm"][section]["sweeps"]
        for b in range(n_trial_blocks(config["ldm"][section]))
    ]


def rf_slice(experiment):
    """The config slice an RF experiment needs: shared rf keys and rf.<experiment>."""
    rf = config["rf"]
    shared = {key: rf[key] for key in ("activation", "lambda", "d", "seeds", "points_per_job")}
    return {**shared, "experiment": rf[experiment]}


def rf_block_tables(experiment):
    """Every simulation block table of rf.<experiment>."""
    blocks = n_simulation_blocks(experiment, rf_slice(experiment))
    return [f"results/rf/{experiment}/simulation/block{b:03d}.parquet" for b in range(blocks)]


def rf_images_slice(experiment):
    """The config slice of one RF-on-images experiment: shared rf_images keys and rf_images.<experiment>."""
    cfg = config["rf_images"]
    return {
        "activation": cfg["activation"],
        "lambda": cfg["lambda"],
        "seeds": cfg["seeds"],
        experiment: cfg[experiment],
    }


def rf_images_tables(name):
    """results/rf_images/<dataset>/<name> for every configured data set."""
    return [f"results/rf_images/{dataset}/{name}" for dataset in config["rf_images"]["datasets"]]


def unet_slice(experiment):
    """The config slice of one U-Net experiment: the shared unet keys and unet.<experiment>."""
    cfg = config["unet"]
    shared = {k: cfg[k] for k in ("precision", "compile", "checkpoint_every", "checkpoint_dir")}
    return {"shared": shared, "experiment": cfg[experiment]}


def unet_gaussian_blocks():
    """One table per (n, block of trials) of the Gaussian-pixel transition."""
    g = config["unet"]["gaussian"]
    ns = log_int_grid(g["n"]["min"], g["n"]["max"], g["n"]["num"])
    return [f"results/unet/gaussian/n{n}_b{b:03d}.parquet" for n in ns for b in range(n_trial_blocks(g))]


def unet_memorization_outputs(kind):
    """results/unet/<dataset>/n<n>_m<m>.parquet (kind 'table') or _samples.npz (kind 'samples')."""
    mem = config["unet"]["memorization"]
    suffix = {"table": ".parquet", "samples": "_samples.npz"}[kind]
    return [
        f"results/unet/{ds}/n{n}_m{m_label(parse_m(m))}{suffix}"
        for ds in mem["datasets"]
        for n in mem["n"]
        for m in mem["m"]
    ]


def bridge_blocks(kind):
    """Simulation tables of bridge experiment ``kind``."""
    return [f"results/bridge/{kind}/block{b:03d}.parquet" for b in range(bridge_n_blocks(kind, config["bridge"]))]


# Runs notebooks/<figure>.ipynb into figures/<figure>.ipynb with the rule's parameters.
PAPERMILL = (
    "papermill {input.notebook} {output.notebook} --kernel python3 --cwd . -y {params.parameters:q} > {log} 2>&1"
)
