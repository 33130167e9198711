"""The build summary of `make figures`: pending jobs traced back to the jobs that block them."""

import json
import shutil
from pathlib import Path

from memgen.build_summary import blocking_jobs, check_numbers, parse_dry_run, summarise
from memgen.config import run_name_of_command
from memgen.io import read_table, write_table
from memgen.job_failure import cause_from_log

REPO = Path(__file__).resolve().parents[1]

# A dry run after a --keep-going run in which the Fashion-MNIST data stage failed: two figures wait on it
# (one through an intermediate table), figures_all waits on everything; kde_width was built.
DRY_RUN = """Building DAG of jobs...
Job stats:
job                 count
----------------  -------
data_prepare            1
figure_rf_images        2
figures_all             1
rf_images_generate      1
total                   5

[Mon Nov 30 04:30:44 2026]
rule data_prepare:
    input: src/memgen/__init__.py, src/memgen/data.py
    output: results/quick/data/fashion_mnist/prepared.npz, results/quick/data/fashion_mnist/manifest.json
    log: logs/quick/data/fashion_mnist.log
    jobid: 4
    reason: Missing output files: results/quick/data/fashion_mnist/prepared.npz
    wildcards: dataset=fashion_mnist
    resources: tmpdir=/tmp
Shell command: python -m memgen.data prepare fashion_mnist --config '{}' > logs/quick/data/fashion_mnist.log 2>&1

[Mon Nov 30 04:30:44 2026]
rule rf_images_generate:
    input: results/quick/data/fashion_mnist/prepared.npz, src/memgen/rf_images.py
    output: results/quick/rf_images/fashion_mnist/generation.parquet, results/quick/rf_images/fashion_mnist/samples.npz
    log: logs/quick/rf_images/fashion_mnist/generate.log
    jobid: 3
    wildcards: dataset=fashion_mnist

rule figure_rf_images:
    input: notebooks/rf_images_samples.ipynb, results/quick/rf_images/fashion_mnist/samples.npz
    output: figures/quick/rf_images_samples.pdf, figures/quick/rf_images_samples.png, figures/quick/rf_images_samples.ipynb
    log: logs/quick/figures/quick/rf_images_samples.log
    jobid: 2
    wildcards: figure=rf_images_samples

rule figure_rf_images:
    input: notebooks/rf_images_memorization.ipynb, results/quick/rf_images/fashion_mnist/generation.parquet
    output: figures/quick/rf_images_memorization.pdf, figures/quick/rf_images_memorization.png, figures/quick/rf_images_memorization.ipynb
    log: logs/quick/figures/quick/rf_images_memorization.log
    jobid: 5
    wildcards: figure=rf_images_memorization

rule figures_all:
    input: figures/quick/kde_width.pdf, figures/quick/kde_width.png, figures/quick/rf_images_samples.pdf, figures/quick/rf_images_samples.png, figures/quick/rf_images_memorization.pdf, figures/quick/rf_images_memorization.png
    output: figures/quick/all
    log: logs/quick/figures/quick/all.log
    jobid: 0
Would remove temporary output ...
"""


def test_parse_dry_run_reads_rule_files_log_and_wildcards():
    jobs = parse_dry_run(DRY_RUN)
    assert [j.rule for j in jobs] == [
        "data_prepare",
        "rf_images_generate",
        "figure_rf_images",
        "figure_rf_images",
        "figures_all",
    ]
    assert jobs[0].outputs == [
        "results/quick/data/fashion_mnist/prepared.npz",
        "results/quick/data/fashion_mnist/manifest.json",
    ]
    assert jobs[0].log == "logs/quick/data/fashion_mnist.log" and jobs[0].wildcards == {"dataset": "fashion_mnist"}
    assert jobs[2].inputs == ["notebooks/rf_images_samples.ipynb", "results/quick/rf_images/fashion_mnist/samples.npz"]


def test_every_pending_job_is_blocked_by_the_failed_data_stage():
    roots = blocking_jobs(parse_dry_run(DRY_RUN))
    assert roots == {0: [0], 1: [0], 2: [0], 3: [0], 4: [0]}


def test_summary_names_built_and_missing_figures_the_reason_and_the_fix(tmp_path):
    log = tmp_path / "logs/quick/data/fashion_mnist.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "2026-11-30 INFO fashion_mnist: source debian unavailable: /x: no such folder\n"
        "Traceback (most recent call last):\n"
        "memgen.data.DatasetError: no source could provide fashion_mnist:\n"
        "  debian: /x: no such folder\n"
        "Remedy, any of:\n"
    )
    text, complete = summarise(["figures/all", "--configfile", "presets/quick.yaml"], tmp_path, DRY_RUN, "quick")
    assert not complete
    assert text.splitlines() == [
        "figures built: 1 of 3 (in figures/quick/)",
        "  kde_width",
        "figures not built:",
        "  rf_images_samples: no source could provide fashion_mnist",
        "  rf_images_memorization: no source could provide fashion_mnist",
        "to fix:",
        "  sudo apt-get install dataset-fashion-mnist   (as root, `make figures` and `make test` install it themselves)",
        "  then run the same `make figures` again (what is built is kept)",
    ]


def test_summary_of_a_complete_run_reads_the_figure_list(tmp_path):
    (tmp_path / "figures/cpu").mkdir(parents=True)
    (tmp_path / "figures/cpu/all").write_text("figures/cpu/a.pdf\nfigures/cpu/a.png\nfigures/cpu/b.pdf\n")
    (tmp_path / "figures/all").write_text("figures/quick/c.pdf\n")  # the latest run's list: another run
    for target in ("figures/all", "all", "figures/cpu/all"):
        text, complete = summarise([target], tmp_path, "Building DAG of jobs...\nNothing to be done.\n", "cpu")
        assert complete and text == "figures built: 2 of 2 (in figures/cpu/)\n  a, b"


def test_a_failure_without_a_known_remedy_points_at_its_log(tmp_path):
    dry = DRY_RUN.replace("rule data_prepare:", "rule data_other:").replace(
        "wildcards: dataset=fashion_mnist\n    resources", "resources"
    )
    (tmp_path / "logs/quick/data").mkdir(parents=True)
    (tmp_path / "logs/quick/data/fashion_mnist.log").write_text("ValueError: something broke\n")
    text, _ = summarise(["figures/quick/rf_images_samples.pdf"], tmp_path, dry, "quick")
    assert "rf_images_samples: ValueError: something broke" in text
    assert "read logs/quick/data/fashion_mnist.log, fix the cause, then rerun" in text


def test_the_run_name_of_a_command_line(tmp_path):
    """The build summary reads a run's folders from the same arguments the workflow read them from."""
    (tmp_path / "config.yaml").write_text("seed: 1\n")
    (tmp_path / "mine.yaml").write_text("seed: 2\n")
    (tmp_path / "named.yaml").write_text("run: other\n")
    assert run_name_of_command(["figures/all"], tmp_path) == "paper"
    assert run_name_of_command(["figures/all", "--configfile", str(tmp_path / "mine.yaml")], tmp_path) == "mine"
    assert run_name_of_command(["--configfile", str(tmp_path / "named.yaml"), "--cores", "2"], tmp_path) == "other"
    assert run_name_of_command(["all", "--config", "run=x1", "seed=3"], tmp_path) == "x1"


def test_the_cause_of_a_failed_notebook_is_its_exception_not_papermills():
    log = (
        "Executing:  50%|█████     | 2/4\n"
        "Traceback (most recent call last):\n"
        '  File "papermill/execute.py", line 131, in raise_for_execution_errors\n'
        "papermill.exceptions.PapermillExecutionError: \n"
        "---------------------------------------------------------------------------\n"
        'Exception encountered at "In [2]":\n'
        "ValueError: results/cpu/x.parquet: its bytes do not match the sha256 in results/cpu/x.json (damaged)\n"
    )
    assert cause_from_log(log).startswith("ValueError: results/cpu/x.parquet: its bytes do not match")
    assert cause_from_log("SystemExit: --block 9 is out of range\n") == "SystemExit: --block 9 is out of range"
    assert cause_from_log("all went well\n") is None


def test_the_numbers_check_fails_when_a_number_of_the_text_moves(tmp_path):
    """The reference's CPU tables agree with the text; the same tables with one result moved (the
    sidecar rewritten to match) make the build summary's numbers check fail and name the claim."""
    results = tmp_path / "results" / "cpu"
    shutil.copytree(REPO / "reference" / "cpu" / "tables", results)
    text, agree = check_numbers(results)
    assert agree and text.startswith("numbers of the README and docs/ checked against this run's tables: ")
    path = results / "unet" / "gaussian" / "transition.parquet"
    df = read_table(path)
    df.loc[df.n == 4, "memorized_fraction_mean"] = 0.1
    write_table(df, path, json.loads(path.with_suffix(".json").read_text()))
    text, agree = check_numbers(results)
    assert not agree and "differs:" in text and "n = 4" in text
