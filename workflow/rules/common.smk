# Helpers shared by every rule: config validation, module sources, config slices.
import difflib
import json
import math
import os
import shlex
import sys
from pathlib import Path

SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))  # planning imports memgen from this checkout (no torch)

from memgen.captions import figure_captions, write_caption_files
from memgen.config import ConfigError, apply_command_line_overrides, run_name, validate_config
from memgen.cpu_budget import has_cuda_device, jobs_to_stop_for, long_cpu_jobs_message
from memgen.data import DATASETS
from memgen.job_failure import cause_from_log
from memgen.job_memory import machine_memory_bytes, memory_errors
from memgen.grids import n_trial_blocks, trial_block
from memgen.planning import RUNTIME_KEYS, gaussian_blocks, memorization_points, training_slice
from memgen.sources import memgen_imports, module_closure
from memgen.experiments.bridge import n_blocks as bridge_n_blocks
from memgen.experiments.rf import n_simulation_blocks
from memgen.experiments.rf_dynamics import psi_n_values as rf_dynamics_psi_n_values

try:
    apply_command_line_overrides(config, workflow.config_settings.config)
    validate_config(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
    # One folder per run: results/<run>/, figures/<run>/, logs/<run>/ (memgen.config.run_name).
    RUN = run_name(config, workflow.overwrite_configfiles, workflow.config_settings.config)
except ConfigError as error:  # the offending keys, without a traceback
    sys.exit(f"memgen: {error}")
if config["unet"]["checkpoint_dir"] is None:
    config["unet"]["checkpoint_dir"] = f"results/{RUN}/unet_train/checkpoints"


def memory_limit():
    """(bytes, where) a job may use: this machine's memory, or on a cluster the largest mem_mb the
    profile gives any rule (None where the profile sets none)."""
    if workflow.local_exec:
        return machine_memory_bytes(), "this machine's memory"
    settings = workflow.resource_settings
    found = [r.get("mem_mb") for r in dict(settings.overwrite_resources or {}).values()]
    found.append(dict(settings.default_resources or {}).get("mem_mb"))
    mem_mb = [int(v) for v in found if isinstance(v, (int, float))]
    return (max(mem_mb) * 2**20, "the cluster profile's largest mem_mb") if mem_mb else (None, None)


def runs_figures_only(argv=sys.argv):
    """Whether the command line lets only figure rules run (--allowed-rules figure_...: the tables were
    made elsewhere and are inputs, as with memgen.reference --from), so that no job the memory estimates
    size runs here. The rules are the words up to the next option, or up to the end (a target after them
    counts as a rule, and the estimates apply). Snakemake's own settings are not set yet while the
    Snakefile is read."""
    if "--allowed-rules" not in argv:
        return False
    rules = argv[argv.index("--allowed-rules") + 1 :]
    rules = rules[: next((i for i, word in enumerate(rules) if word.startswith("-")), len(rules))]
    return bool(rules) and all(name.startswith("figure_") for name in rules)


if not runs_figures_only() and (limit := memory_limit())[0] and (too_big := memory_errors(config, *limit)):
    sys.exit("memgen: this config's jobs cannot fit:\n  " + "\n  ".join(too_big))


# The report's figure captions: the figure sections of docs/results.md, as .rst files under .snakemake/.
CAPTIONS = write_caption_files(
    figure_captions(Path(workflow.basedir) / "docs" / "results.md"),
    Path(".snakemake") / "memgen" / "captions",
)


def results(path):
    """results/<run>/<path>: a table of this run."""
    return f"results/{RUN}/{path}"


def figures(path):
    """figures/<run>/<path>: a figure of this run."""
    return f"figures/{RUN}/{path}"


def logs(path):
    """logs/<run>/<path>: a log of this run."""
    return f"logs/{RUN}/{path}"


def stop_before_long_cpu_jobs():
    """Before the first job of a local run on a machine without a CUDA GPU: stop, with the estimate
    and the ways forward, if the plan holds U-Net jobs estimated above 2 CPU hours each (unless
    allow_long_cpu_jobs). A cluster run (non-local executor) is never stopped."""
    planned = [(job.rule.name, job.wildcards_dict) for job in workflow.dag.needrun_jobs()]
    flags = dict(local=workflow.local_exec, gpu=has_cuda_device(), allowed=config["allow_long_cpu_jobs"])
    if long_jobs := jobs_to_stop_for(planned, config["unet"], **flags):
        print(long_cpu_jobs_message(long_jobs), file=sys.stderr)
        raise SystemExit(1)


def command_line_targets():
    """The targets of the snakemake command line that parses this Snakefile (none when another
    program runs the workflow through the API; Snakemake hands them to the DAG only after parsing)."""
    if Path(sys.argv[0]).name != "snakemake":
        return []
    try:
        from snakemake.cli import get_argument_parser

        args, _ = get_argument_parser().parse_known_args(sys.argv[1:])
    except (Exception, SystemExit):
        return []
    return [t for t in args.targets or () if isinstance(t, str)]


def check_targets():
    """Every file target asked for on the command line is made by a rule or exists; else stop with
    one line naming the closest figure targets of this run."""
    known_rules = {r.name for r in workflow.rules}
    for target in command_line_targets():
        if target in known_rules or Path(target).exists() or any(r.is_producer(target) for r in workflow.rules):
            continue
        figure_targets = [figures(f"{name}.{ext}") for name in FIGURES for ext in ("pdf", "png")]
        close = difflib.get_close_matches(target, [*figure_targets, "figures/all", *known_rules], n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        sys.exit(
            f"memgen: '{target}' is not a target of the {RUN} run; {hint}every target: snakemake --list-target-rules"
        )


def report_failed_jobs():
    """After a failed run: each failed job's one-line cause, read from its log, on the console."""
    for job in sorted(workflow.scheduler.failed, key=str):
        for member in getattr(job, "jobs", None) or [job]:  # a group job (cluster): its members
            log = str(member.log[0]) if member.log else None
            text = Path(log).read_text(errors="replace") if log and Path(log).is_file() else ""
            cause = cause_from_log(text) or "no cause in its log"
            where = ", ".join(f"{k}={v}" for k, v in member.wildcards_dict.items())
            print(f"memgen: {member.rule.name}({where}) failed: {cause} [log: {log}]", file=sys.stderr)


def repo_path(*parts):
    """A file of this repository, relative to the working directory (snakemake -d DIR works)."""
    return os.path.relpath(Path(workflow.basedir, *parts))


# Jobs import memgen from this checkout too, wherever they run (conda envs, SLURM jobs, -d DIR).
# (A prefix replaces Snakemake's default one, bash's strict mode: it is kept.)
# The training jobs' checkpoint settings travel as environment variables: they change no weight, so
# they are no job's parameter (changing them reruns nothing).
shell.prefix(
    f"set -euo pipefail; export PYTHONPATH={shlex.quote(str(SRC))}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
    f"export MEMGEN_CHECKPOINT_DIR={shlex.quote(str(config['unet']['checkpoint_dir']))} "
    f"MEMGEN_CHECKPOINT_EVERY={int(config['unet']['checkpoint_every'])}; "
)

ENV = "../../envs/memgen.yaml"
# RF figure -> its experiment (config key rf.<experiment>)
RF_FIGURES = {
    "rf_learning_curves": "learning_curves",
    "rf_vs_psin": "vs_psi_n",
    "rf_phase_diagram": "phase_diagram",
    "rf_role_of_m": "role_of_m",
    "rf_convergence": "convergence",
}
# Bridge figures (Paper B's metric on Paper A's RF models) -> their experiment
BRIDGE_FIGURES = {"bridge_transition": "transition", "bridge_phase": "phase"}
# Every stage's rules name its experiment by one wildcard, {experiment}; the RF rules' may be:
RF_EXPERIMENTS = "|".join(RF_FIGURES.values())


wildcard_constraints:
    d=r"\d+",
    block=r"\d{3}",
    dataset="|".join(DATASETS),


def module_sources(*modules):
    """Source files of ``modules`` and of every memgen module they import, recursively
    (memgen.sources.module_closure), relative to the working directory: declared as inputs, so
    editing one reruns exactly the jobs that use it."""
    return [repo_path(path) for path in module_closure(*modules)]


def notebook_sources(name):
    """The memgen sources that notebooks/<name>.ipynb imports (from its code cells), as module_sources."""
    path = Path(workflow.basedir) / "notebooks" / f"{name}.ipynb"
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return module_sources(*sorted(memgen_imports(code, str(path))))


def as_json(obj):
    """A config slice as compact, key-sorted JSON (a shell argument and a params value)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


# The config sections of each stage that are its experiments (one family of jobs each); the
# stage's other keys are shared by its experiments. Keys that only say which jobs exist (the
# data sets: a wildcard) are no job's parameter, so adding a data set reruns no other job.
STAGE_EXPERIMENTS = {
    "ldm": ("hellinger", "transition"),
    "kde_width": (),
    "rf": (*RF_FIGURES.values(), "dynamics"),
    "rf_images": ("learning_curves", "generation"),
    "unet": ("gaussian", "memorization"),
    "bridge": ("transition", "phase", "sensitivity"),
}
JOB_SET_KEYS = ("datasets",)


def stage_config(stage, experiment=None, d=None):
    """The config slice of a family of jobs, in the one shape every rule passes to its driver
    (--config) and every figure to its notebook (config):
    {"shared": config[stage] less its experiments, "experiment": config[stage][experiment]}.
    For an LDM experiment, ``d`` narrows its list of sweeps to the sweep of dimension d."""
    section = config[stage]
    skip = set(STAGE_EXPERIMENTS[stage]) | set(JOB_SET_KEYS)
    if stage == "unet":  # how training jobs run (checkpoints, compilation) is no job's parameter
        skip |= set(RUNTIME_KEYS)
    out = {"shared": {k: v for k, v in section.items() if k not in skip}}
    if experiment is not None:
        ex = section[experiment]
        if d is not None:
            ex = {**{k: v for k, v in ex.items() if k != "sweeps"}, "sweep": ldm_sweep(experiment, d)}
        out["experiment"] = ex
    return out


def stage_trial_block(stage, experiment, block):
    """START:STOP of trial block ``block`` of config[stage][experiment] (trials, trials_per_job)."""
    ex = config[stage][experiment]
    return trial_block(ex["trials"], ex["trials_per_job"], block)


def ldm_sweep(experiment, d):
    """The sweep of ldm.<experiment> for dimension d."""
    for sweep in config["ldm"][experiment]["sweeps"]:
        if int(sweep["d"]) == int(d):
            return sweep
    raise ValueError(f"no sweep with d = {d} in config ldm.{experiment}.sweeps")


def ldm_block_tables(experiment):
    """Every block table of ldm.<experiment>, over all sweeps."""
    return [
        results(f"ldm/{experiment}/d{sweep['d']}/block{b:03d}.parquet")
        for sweep in config["ldm"][experiment]["sweeps"]
        for b in range(n_trial_blocks(config["ldm"][experiment]["trials"], config["ldm"][experiment]["trials_per_job"]))
    ]


def rf_block_tables(experiment):
    """Every simulation block table of rf.<experiment>."""
    blocks = n_simulation_blocks(experiment, stage_config("rf", experiment))
    return [results(f"rf/{experiment}/simulation/block{b:03d}.parquet") for b in range(blocks)]


def rf_dynamics_tables():
    """The block tables of rf.dynamics: one per ψ_n of its grid."""
    count = len(rf_dynamics_psi_n_values(stage_config("rf", "dynamics")))
    return [results(f"rf_dynamics/block{b:03d}.parquet") for b in range(count)]


def rf_dynamics_psi_n(block):
    """The ψ_n of block ``block`` of rf.dynamics, as the driver's --psi-n argument."""
    return repr(rf_dynamics_psi_n_values(stage_config("rf", "dynamics"))[int(block)])


def rf_images_tables(name):
    """results/<run>/rf_images/<dataset>/<name> for every configured data set."""
    return [results(f"rf_images/{dataset}/{name}") for dataset in config["rf_images"]["datasets"]]


def unet_gaussian_blocks(stage="unet", suffix=".parquet"):
    """results/<run>/<stage>/gaussian/n<n>_b<block><suffix>: one file per (n, block of trials) of Fig. 4."""
    return [results(f"{stage}/gaussian/n{n}_b{b:03d}{suffix}") for n, b in gaussian_blocks(config["unet"]["gaussian"])]


def unet_memorization_points():
    """(data set, n, m label) of every job of the U-Net study of m."""
    return memorization_points(config["unet"]["memorization"])


def unet_memorization_outputs(kind):
    """results/<run>/unet/<dataset>/n<n>_m<m>.parquet (kind 'table') or _samples.npz (kind 'samples')."""
    suffix = {"table": ".parquet", "samples": "_samples.npz"}[kind]
    return [results(f"unet/{ds}/n{n}_m{m}{suffix}") for ds, n, m in unet_memorization_points()]


def unet_training_slice(experiment):
    """The part of unet.<experiment> (and of the shared unet keys) that determines the trained weights:
    the training jobs' only parameters (memgen.planning.training_slice)."""
    return training_slice(stage_config("unet", experiment))


def unet_sampling_config(experiment):
    """What a sampling job of unet.<experiment> needs besides the weights: the sampler and the number of
    images per model and saved step."""
    ex = config["unet"][experiment]
    return {"sampler": ex["sampler"], "count": ex["generated" if experiment == "gaussian" else "samples"]}


def bridge_blocks(experiment):
    """Simulation tables of bridge experiment ``experiment``."""
    blocks = bridge_n_blocks(experiment, stage_config("bridge", experiment))
    return [results(f"bridge/{experiment}/block{b:03d}.parquet") for b in range(blocks)]


# Runs notebooks/<figure>.ipynb into figures/<figure>.ipynb with the rule's parameters.
PAPERMILL = (
    "papermill {input.notebook} {output.notebook} --kernel python3 --cwd . -y {params.parameters:q} > {log} 2>&1"
)


# The figures. Each entry: its category in the report, the tables its notebook reads
# (parameter name -> path or list of paths) and the config slice it is drawn with. The rule
# figure_<name> (figures.smk) runs notebooks/<name>.ipynb with the tables, config = the slice
# and out_prefix = figures/<name>; its code inputs are the memgen modules the notebook imports.
def figure_spec(category, tables, config_slice, index=None):
    """A registry entry: the report category, the tables (name -> path or list of paths), the
    stage_config slice the figure is drawn with and, for sample grids, the index of the sample
    files (a list of records naming each file and what it holds)."""
    return {"category": category, "tables": tables, "config": config_slice, "index": index or []}


def rf_images_sample_index():
    """Per data set: its samples.npz and the generation table that lists the (m, p) of its grids."""
    return [
        {
            "dataset": ds,
            "samples": results(f"rf_images/{ds}/samples.npz"),
            "generation": results(f"rf_images/{ds}/generation.parquet"),
        }
        for ds in config["rf_images"]["datasets"]
    ]


def unet_sample_index():
    """Per (data set, n, m) of the U-Net study of m: its samples file."""
    points, files = unet_memorization_points(), unet_memorization_outputs("samples")
    return [{"dataset": ds, "n": n, "m": m, "samples": f} for (ds, n, m), f in zip(points, files)]


LDM = "Paper B: linear diffusion model"
RF = "Paper A: random features"
RF_IMAGES = "Paper A: random features on images"
UNET = "U-Net experiments"
BRIDGE = "Bridge: Paper B's metric on Paper A's models"

FIGURE_REGISTRY = {
    "ldm_hellinger": figure_spec(
        LDM, {"summary": results("ldm/hellinger_summary.parquet")}, stage_config("ldm", "hellinger")
    ),
    "ldm_transition": figure_spec(
        LDM,
        {"summary": results("ldm/transition_summary.parquet")},
        stage_config("ldm", "transition"),
    ),
    "kde_width": figure_spec(
        "Paper B: kernel width",
        {
            "curves": results("kde_width/curves.parquet"),
            "optima": results("kde_width/optima.parquet"),
            "formulas": results("kde_width/formulas.parquet"),
        },
        stage_config("kde_width"),
    ),
    **{
        name: figure_spec(
            RF,
            {"theory": results(f"rf/{exp}/theory.parquet"), "simulation": results(f"rf/{exp}/simulation.parquet")},
            stage_config("rf", exp),
        )
        for name, exp in RF_FIGURES.items()
    },
    "rf_dynamics": figure_spec(
        RF,
        {
            "curves": results("rf_dynamics/curves.parquet"),
            "onsets": results("rf_dynamics/onsets.parquet"),
            "fits": results("rf_dynamics/fits.parquet"),
        },
        stage_config("rf", "dynamics"),
    ),
    "rf_memorization": figure_spec(
        RF,
        {
            "theory": results("rf/learning_curves/theory.parquet"),
            "simulation": results("rf/learning_curves/simulation.parquet"),
        },
        stage_config("rf", "learning_curves"),
    ),
    "rf_images_learning_curves": figure_spec(
        RF_IMAGES, {"tables": rf_images_tables("learning_curves.parquet")}, stage_config("rf_images", "learning_curves")
    ),
    "rf_images_memorization": figure_spec(
        RF_IMAGES,
        {"tables": rf_images_tables("generation.parquet"), "onsets": rf_images_tables("onset.parquet")},
        stage_config("rf_images", "generation"),
    ),
    "rf_images_samples": figure_spec(
        RF_IMAGES,
        {"samples": rf_images_tables("samples.npz"), "generation": rf_images_tables("generation.parquet")},
        stage_config("rf_images", "generation"),
        rf_images_sample_index(),
    ),
    "unet_gaussian_transition": figure_spec(
        UNET,
        {
            "tables": [results("unet/gaussian/transition.parquet")],
            "steps": results("unet/gaussian/transition_steps.parquet"),
        },
        stage_config("unet", "gaussian"),
    ),
    "unet_memorization_m": figure_spec(
        UNET, {"tables": [results("unet/memorization.parquet")]}, stage_config("unet", "memorization")
    ),
    "unet_memorization_time": figure_spec(
        UNET,
        {
            "curves": results("unet_memorization_time/curves.parquet"),
            "onsets": results("unet_memorization_time/onsets.parquet"),
            "fits": results("unet_memorization_time/fits.parquet"),
        },
        stage_config("unet", "memorization"),
    ),
    "unet_samples": figure_spec(
        UNET,
        {"samples": unet_memorization_outputs("samples")},
        stage_config("unet", "memorization"),
        unet_sample_index(),
    ),
    **{
        name: figure_spec(
            BRIDGE,
            {
                "summary": results(f"bridge/{kind}/summary.parquet"),
                "crossings": results(f"bridge/{kind}/crossings.parquet"),
                "theory": results(f"bridge/{kind}/theory.parquet"),
            },
            stage_config("bridge", kind),
        )
        for name, kind in BRIDGE_FIGURES.items()
    },
    "bridge_sensitivity": figure_spec(
        BRIDGE, {"summary": results("bridge/sensitivity/summary.parquet")}, stage_config("bridge", "sensitivity")
    ),
}
FIGURES = list(FIGURE_REGISTRY)
