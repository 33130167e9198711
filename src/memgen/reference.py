"""The reference results kept in the repository (``reference/<run>/``): the tables and PNG figures of
the runs the text quotes, rebuilt one part at a time so that each part fits a 2-core machine.

    python -m memgen.reference PART [--cores N]      (make reference STAGE=PART)
    python -m memgen.reference PART --from ARCHIVE...   (a part run elsewhere: bench/gpu_session.sh)

A part runs Snakemake for its figures with its config, then copies that run's tables (every
``.parquet`` with its ``.json`` sidecar under ``results/<run>/``, except U-Net checkpoints) and the
PNGs of its figures into ``reference/<run>/`` (tables under ``tables/``, figures under
``figures/``), replacing what the part had there before. Weights, samples (``.npz``) and logs stay
out. Each part's wall time is in ``docs/reference.md``. With ``--from`` the part's tables come from
an archive of a run made on another machine (``bench/gpu_session.sh`` on a GPU): they are unpacked
into ``results/<run>/`` and only the figure rules run here, from those tables.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from memgen.cpu_budget import has_cuda_device

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Part:
    """One rebuildable part of the reference: the run it belongs to, its config files and figures."""

    run: str
    configfiles: tuple[str, ...]
    figures: tuple[str, ...]  # figure names; () = every figure of the run (figures/<run>/all)
    stages: tuple[str, ...]  # results/<run>/<stage>/ folders this part owns


PARTS = {
    "cpu": Part(
        "cpu", ("presets/cpu.yaml",), (), ("ldm", "kde_width", "rf", "rf_dynamics", "rf_images", "unet", "bridge")
    ),
    "ldm": Part(
        "paper", ("presets/paper.yaml",), ("ldm_hellinger", "ldm_transition", "kde_width"), ("ldm", "kde_width")
    ),
    "rf": Part(
        "paper",
        ("presets/paper.yaml",),
        ("rf_learning_curves", "rf_vs_psin", "rf_phase_diagram", "rf_role_of_m", "rf_memorization"),
        ("rf",),
    ),
    "rf_convergence": Part("paper", ("presets/paper.yaml",), ("rf_convergence",), ("rf/convergence",)),
    "rf_dynamics": Part("paper", ("presets/paper.yaml",), ("rf_dynamics",), ("rf_dynamics",)),
    "rf_images": Part(
        "paper",
        ("presets/paper.yaml",),
        ("rf_images_memorization", "rf_images_samples"),
        ("rf_images",),
    ),
    "bridge": Part("paper", ("presets/paper.yaml",), ("bridge_transition", "bridge_phase"), ("bridge",)),
    "bridge_sensitivity": Part("paper", ("presets/paper.yaml",), ("bridge_sensitivity",), ("bridge/sensitivity",)),
    "bridge_d32": Part("bridge_d32", ("presets/bridge_d32.yaml",), ("bridge_transition",), ("bridge",)),
    "unet_time": Part(
        "unet_time",
        ("presets/cpu.yaml", "presets/overlays/unet_time.yaml"),
        ("unet_memorization_time",),
        ("unet", "unet_memorization_time"),
    ),
    "unet_seeds": Part(
        "unet_seeds", ("presets/cpu.yaml", "presets/overlays/unet_seeds.yaml"), ("unet_memorization_m",), ("unet",)
    ),
    "unet_pairs": Part(
        "unet_pairs", ("presets/cpu.yaml", "presets/overlays/unet_pairs.yaml"), ("unet_memorization_m",), ("unet",)
    ),
    # trained on a GPU by bench/gpu_session.sh (stages throughput fig4, then study_m), then `--from` its archive
    "gpu_fig4": Part(
        "gpu", ("presets/gpu.yaml",), ("unet_gaussian_transition",), ("bench", "unet/gaussian", "unet_train/gaussian")
    ),
    "gpu_study_m": Part(
        "gpu", ("presets/gpu.yaml",), ("unet_memorization_m", "unet_samples"), ("bench", "unet", "unet_train")
    ),
}


def is_built(part: Part, reference: str | Path) -> bool:
    """Whether ``part`` is in the reference: the PNG of each of its figures is under
    reference/<run>/figures/ (for a part of every figure of its run, any PNG)."""
    figures = Path(reference) / part.run / "figures"
    if not part.figures:
        return any(figures.glob("*.png"))
    return all((figures / f"{name}.png").is_file() for name in part.figures)


def targets(part: Part) -> list[str]:
    if not part.figures:
        return [f"figures/{part.run}/all"]
    return [f"figures/{part.run}/{name}.png" for name in part.figures]


def collect(part: Part, workdir: Path, dest: Path) -> list[Path]:
    """Copy the part's tables and figure PNGs from ``workdir`` into ``dest`` (= reference/<run>/);
    returns the files written. Files are written through a temporary name and renamed."""
    results, figures = workdir / "results" / part.run, workdir / "figures" / part.run
    written = []
    for stage in part.stages:
        for table in sorted((results / stage).rglob("*.parquet")):
            if "checkpoints" in table.parts:
                continue
            for src in (table, table.with_suffix(".json")):
                written.append(_copy(src, dest / "tables" / src.relative_to(results)))
    names = part.figures or [Path(p).stem for p in (figures / "all").read_text().split() if p.endswith(".png")]
    for name in names:
        written.append(_copy(figures / f"{name}.png", dest / "figures" / f"{name}.png"))
    return written


def unpack(archives, part: Part, workdir: Path) -> list[Path]:
    """Unpack the tables and logs of ``archives`` (.tar.gz files of bench/gpu_session.sh, in order) into
    ``workdir``; returns the files written. Every member of every archive must be a plain file under
    results/<run>/ or logs/<run>/ of the part's run, else nothing is unpacked and the error names the
    archive and the member."""
    roots = (f"results/{part.run}/", f"logs/{part.run}/")
    for archive in archives:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                name = member.name
                if not member.isfile() or not name.startswith(roots) or ".." in Path(name).parts:
                    raise ValueError(
                        f"{archive}: member {name!r} is not a file under {' or '.join(roots)}; nothing unpacked"
                    )
    written = []
    for archive in archives:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            tar.extractall(workdir, members=members, filter="data")
            written += [workdir / m.name for m in members]
    return written


def _copy(src: Path, dst: Path) -> Path:
    if not src.is_file():
        raise FileNotFoundError(f"reference: {src} was not built")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)
    return dst


OUTPUT_FLAGS = ("--out", "--curves", "--optima", "--formulas", "--crossings", "--samples", "--onset")


def rerun_job(
    table: str,
    reference: str | Path,
    out: str | Path,
    config_edit=None,
    inputs: dict | None = None,
    flags: dict | None = None,
) -> tuple[Path, Path]:
    """Rerun the driver job that wrote ``reference/<run>/tables/<table>`` (its sidecar's ``argv``) with
    this checkout's code; returns (the rerun's table, the reference's table). Its outputs go to ``out``;
    its inputs (the tables a summary reads) are read from the same reference run, or, for files the
    reference does not keep (a prepared data set), from ``inputs`` (run-relative path -> file).
    ``config_edit(config)`` may return an edited ``--config`` (e.g. one point per block) for a cheaper
    job whose rows are the reference's first rows; ``flags`` replaces the values of command-line flags
    (e.g. ``{"--trials": "0:1"}``)."""
    inputs, flags = inputs or {}, flags or {}
    reference, out = Path(reference), Path(out)
    ref_table = reference / "tables" / table
    meta = json.loads(ref_table.with_suffix(".json").read_text())
    argv, run_prefix = list(meta["argv"]), f"results/{reference.name}/"
    module = "memgen.experiments." + Path(argv[0]).stem
    args, produced, read = [], None, []  # read: the input files, which the job must leave as they are
    for i, arg in enumerate(argv[1:], start=1):
        if arg.startswith(run_prefix):
            rel = arg.removeprefix(run_prefix)
            if argv[i - 1] in OUTPUT_FLAGS:
                arg = str(out / rel)
                if rel == table:
                    produced = Path(arg)
            else:
                arg = str(inputs[rel]) if rel in inputs else str(reference / "tables" / rel)
                read.append(Path(arg))
        elif argv[i - 1] == "--config" and config_edit is not None:
            arg = json.dumps(config_edit(json.loads(arg)))
        elif argv[i - 1] in flags:
            arg = flags[argv[i - 1]]
        args.append(arg)
    if produced is None:
        raise ValueError(f"rerun {table}: its sidecar's argv names no output {table} ({meta['argv'][:3]}...)")
    mtimes = {path: path.stat().st_mtime_ns for path in read if path.is_file()}
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"rerun {table}: {module} failed:\n{proc.stderr[-3000:]}")
    written = [str(path) for path, mtime in mtimes.items() if path.stat().st_mtime_ns != mtime]
    if written:  # an output flag missing from OUTPUT_FLAGS would overwrite the reference
        raise RuntimeError(f"rerun {table}: {module} wrote into its inputs {written}; add its flag to OUTPUT_FLAGS")
    return produced, ref_table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memgen.reference", description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=sorted(PARTS))
    parser.add_argument("--cores", default="2")
    parser.add_argument(
        "--from",
        dest="archives",
        nargs="+",
        default=None,
        help="the part's tables made elsewhere (archives of bench/gpu_session.sh, unpacked in order)",
    )
    args = parser.parse_args(argv)
    part = PARTS[args.part]
    snakemake = Path(sys.executable).with_name("snakemake")
    cmd = [str(snakemake), *targets(part), "--cores", str(args.cores), "--configfile", *part.configfiles]
    if args.archives:
        try:
            unpacked = unpack(args.archives, part, REPO)
        except (OSError, ValueError, tarfile.TarError) as exc:
            print(f"memgen.reference: {exc}", file=sys.stderr)
            return 2
        print(
            f"memgen.reference: {len(unpacked)} files of {len(args.archives)} archive(s) in results/{part.run}/, logs/"
        )
    if not has_cuda_device():  # the U-Net jobs (gpu=1 each) run single-threaded on the CPU: one per core
        cmd += ["--resources", f"gpu={args.cores if str(args.cores).isdigit() else os.cpu_count()}"]
    if args.archives:  # the tables are the inputs: only the figure rules run, not the rules that made them
        cmd += ["--allowed-rules", *(f"figure_{name}" for name in part.figures)]
    start = time.perf_counter()
    # the rules call `python`: this interpreter's, whether or not its environment is activated
    path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
    proc = subprocess.run(cmd, cwd=REPO, env={**os.environ, "PATH": path})
    if proc.returncode != 0:
        print(f"memgen.reference: the {args.part} run failed (above); reference/ is unchanged", file=sys.stderr)
        return proc.returncode
    files = collect(part, REPO, REPO / "reference" / part.run)
    size = sum(f.stat().st_size for f in files)
    print(
        f"reference part {args.part}: {len(files)} files, {size / 2**20:.1f} MiB in reference/{part.run}/ "
        f"({time.perf_counter() - start:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
