"""What a Snakemake run built, what it could not, why, and the command that fixes it.

`make figures` runs Snakemake with ``--keep-going`` and then

    python -m memgen.build_summary TARGET [snakemake options...]

which asks Snakemake for a dry run of the same target: every job still pending is
either a job that failed or one that waits on it. Each figure still pending is
traced back through the pending jobs to the jobs that block it (pending jobs that
wait on no other pending job), and each blocking job is explained from its log.
A data-preparation job that found no source names the data set and the remedy.
Last, the numbers the README and docs/ quote are checked against the tables this run built at
their scale (:mod:`memgen.claims`). Exit status: 0 when every requested figure is built and no
number checked disagrees, 1 when a figure is missing, 3 when the figures are built but a number
quoted by the text disagrees with this run (or its row filter matches nothing).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from memgen.claims import check_claims, report
from memgen.config import run_name_of_command
from memgen.job_failure import cause_from_log
from memgen.data import remedy_command

_JOB = re.compile(r"^rule (\w+):\n((?:    .*\n?)*)", re.M)


@dataclass
class PendingJob:
    """One job of a dry run: its rule, files and log."""

    rule: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    log: str | None = None
    wildcards: dict[str, str] = field(default_factory=dict)


def parse_dry_run(text: str) -> list[PendingJob]:
    """The jobs listed by ``snakemake -n`` (rule, input, output, log, wildcards)."""
    jobs = []
    for match in _JOB.finditer(text):
        job = PendingJob(match.group(1))
        for line in match.group(2).splitlines():
            key, _, value = line.strip().partition(": ")
            files = [v.strip() for v in value.split(",") if v.strip()]
            if key == "input":
                job.inputs = files
            elif key == "output":
                job.outputs = files
            elif key == "log":
                job.log = files[0] if files else None
            elif key == "wildcards":
                job.wildcards = dict(f.split("=", 1) for f in files if "=" in f)
        jobs.append(job)
    return jobs


def blocking_jobs(jobs: list[PendingJob]) -> dict[int, list[int]]:
    """For each pending job, the indices of the pending jobs it waits on that wait on nothing pending
    (the jobs that failed, or itself when it has no pending inputs)."""
    producer = {out: i for i, job in enumerate(jobs) for out in job.outputs}
    parents = {i: sorted({producer[f] for f in job.inputs if f in producer} - {i}) for i, job in enumerate(jobs)}
    roots: dict[int, list[int]] = {}

    def visit(i: int) -> list[int]:
        if i not in roots:
            roots[i] = [i]  # guard against cycles (Snakemake forbids them)
            found = sorted({r for p in parents[i] for r in visit(p)}) if parents[i] else [i]
            roots[i] = found
        return roots[i]

    for i in range(len(jobs)):
        visit(i)
    return roots


def failure_reason(job: PendingJob, workdir: Path) -> str:
    """One line on why ``job`` did not finish, read from the end of its log."""
    if job.log is None or not (workdir / job.log).is_file():
        return f"rule {job.rule} did not run (no log)"
    return cause_from_log((workdir / job.log).read_text(errors="replace")) or f"rule {job.rule} failed (see {job.log})"


def fix_command(job: PendingJob) -> str:
    """The one command that removes the cause, when it is known; else where to look."""
    if job.rule == "data_prepare" and "dataset" in job.wildcards:
        return remedy_command(job.wildcards["dataset"])
    return f"read {job.log or 'the Snakemake log'}, fix the cause, then rerun"


def figure_name(path: str) -> str:
    return Path(path).stem


def summarise(target_args: list[str], workdir: Path, dry_run_text: str, run: str = "paper") -> tuple[str, bool]:
    """The summary text of run ``run`` and whether every requested figure is built."""
    jobs = parse_dry_run(dry_run_text)
    requested = _requested_figures(target_args, workdir, jobs, run)
    roots = blocking_jobs(jobs)
    pending = {}
    for i, job in enumerate(jobs):
        for out in job.outputs:
            if out.startswith("figures/") and out.endswith(".pdf"):
                pending[figure_name(out)] = i
    built = [f for f in requested if f not in pending]
    missing = [f for f in requested if f in pending]
    lines = [f"figures built: {len(built)} of {len(requested)} (in figures/{run}/)"]
    if built:
        lines.append("  " + ", ".join(built))
    if missing:
        lines.append("figures not built:")
        for name in missing:
            reasons = "; ".join(failure_reason(jobs[b], workdir) for b in roots[pending[name]])
            lines.append(f"  {name}: {reasons}")
        lines.append("to fix:")
        for cmd in dict.fromkeys(fix_command(jobs[b]) for name in missing for b in roots[pending[name]]):
            lines.append(f"  {cmd}")
        lines.append("  then run the same `make figures` again (what is built is kept)")
    return "\n".join(lines), not missing


def _requested_figures(target_args: list[str], workdir: Path, jobs: list[PendingJob], run: str) -> list[str]:
    """Figure names the targets (the arguments before the first option) ask for: every input of
    figures/<run>/all (from its pending job, or from the list it wrote) for the targets all,
    figures/all and figures/<run>/all, and explicit figure files."""
    names: list[str] = []
    run_list = f"figures/{run}/all"
    for target in target_args:
        if target.startswith("-"):
            break
        if target in ("all", "figures/all", run_list):
            agg = next((j for j in jobs if run_list in j.outputs), None)
            listed = workdir / run_list
            files = agg.inputs if agg else listed.read_text().split() if listed.is_file() else []
            names += [figure_name(f) for f in files if f.endswith(".pdf")]
        elif target.startswith("figures/") and target.endswith((".pdf", ".png")):
            names.append(figure_name(target))
    return list(dict.fromkeys(names))


def check_numbers(results: Path) -> tuple[str, bool]:
    """The report of the text's numbers against the tables under ``results`` (results/<run>/), and
    whether none disagrees: claims of another scale or without a table here are not counted."""
    checks = check_claims(results)
    return report(checks), not any(c.status in ("differs", "no rows") for c in checks)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memgen.build_summary", description=__doc__.split("\n")[0])
    parser.add_argument("snakemake_args", nargs=argparse.REMAINDER, help="the target and options of the run")
    args = parser.parse_args(argv)
    snakemake = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run(
        [str(snakemake if snakemake.exists() else "snakemake"), *args.snakemake_args, "-n"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(proc.stdout[-2000:] + proc.stderr[-2000:], file=sys.stderr)
        print("build summary: the dry run failed (above)", file=sys.stderr)
        return 2
    run = run_name_of_command(args.snakemake_args)
    text, complete = summarise(args.snakemake_args, Path.cwd(), proc.stdout + proc.stderr, run)
    print(text)
    claims, agree = check_numbers(Path.cwd() / "results" / run)
    if claims:
        print(claims)
    if not complete:
        return 1
    if not agree:
        print("build summary: numbers quoted by the README or docs/ disagree with this run (above)")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
