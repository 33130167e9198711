"""The workflow as a user meets it on the command line: run folders, --config overrides, presets,
misspelled targets, another working directory."""

import json
import math
from pathlib import Path

import pytest

from memgen.config import apply_command_line_overrides, parse_override_scalar, run_name, ConfigError
from workflow_utils import copy_repo, make, planned_jobs, snakemake, write_yaml


@pytest.mark.parametrize(
    "text,value",
    [("50", 50), ("0.5", 0.5), ("1e-3", 1e-3), ("-2E2", -200.0), ("true", True), ("null", None), ("inf", "inf")]
    + [("tanh", "tanh"), ("[1, 10, inf]", [1, 10, "inf"]), ("", "")],
)
def test_a_nested_override_is_read_as_the_config_file_would_read_it(text, value):
    assert parse_override_scalar(text) == value


def test_nested_overrides_merge_into_the_config_with_their_types():
    config = {"rf": {"d": 200, "seeds": 5, "activation": "tanh"}, "run": None, "seed": 1}
    # what Snakemake hands over for --config rf='{d: 50, lambda: 1e-3}' run=2024 seed=3
    apply_command_line_overrides(config, {"rf": {"d": "50", "lambda": "1e-3"}, "run": 2024, "seed": 3})
    assert config == {"rf": {"d": 50, "seeds": 5, "activation": "tanh", "lambda": 1e-3}, "run": "2024", "seed": 3}
    assert isinstance(config["rf"]["d"], int) and math.isclose(config["rf"]["lambda"], 1e-3)


def test_the_run_name(tmp_path):
    preset, mine = tmp_path / "cpu.yaml", tmp_path / "mine.yaml"
    preset.write_text("run: cpu\n")
    mine.write_text("seed: 1\n")
    assert run_name({}) == "paper"
    assert run_name({"run": "cpu"}, [preset]) == "cpu"
    assert run_name({"run": "cpu"}, [preset, mine]) == "mine"  # a user's file over a preset: its own folder
    assert run_name({"run": "cpu"}, [mine, preset]) == "cpu"
    assert run_name({"run": "cpu"}, [preset, mine], {"run": "x"}) == "x"
    for bad in ("../up", ".hidden", "a b"):
        with pytest.raises(ConfigError, match="config key 'run'"):
            run_name({"run": bad})


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("cli") / "repo")


@pytest.mark.workflow
def test_nested_config_overrides_plan_and_reach_the_jobs(work):
    proc = snakemake(
        work, "figures/paper/rf_role_of_m.pdf", "-n", "-p", "--config", "rf={d: 50}", "unet={gaussian: {steps: 200}}"
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert planned_jobs(out)["rf_simulation_block"] >= 1 and '"d":50' in out and '"d":200' not in out
    bad = snakemake(work, "-n", "--config", "rf={d: fifty}")
    assert bad.returncode != 0 and "config key 'rf.d'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.workflow
def test_a_misspelled_target_names_the_closest_figures(work):
    for target, close in (
        ("figures/ldm_transtion.pdf", "figures/paper/ldm_transition.pdf"),
        ("figures/ldm_hellinger", "figures/paper/ldm_hellinger.pdf"),
    ):
        proc = snakemake(work, target, "-n")
        lines = [line for line in proc.stderr.splitlines() if line.startswith("memgen:")]
        assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-2000:]
        assert close in lines[0] and "snakemake --list-target-rules" in lines[0]
        assert "MissingRuleException" not in proc.stderr


@pytest.mark.workflow
def test_runs_write_their_own_folders_and_another_workdir_works(work, tmp_path):
    """Two presets build the same figure side by side; a run from another working directory (-d)
    finds the repository's code, notebooks and config."""
    mine = write_yaml(work / "mine.yaml", {"kde_width": {"dims": [1, 4], "n_values": [100]}})
    for args in (("--configfile", "presets/quick.yaml"), ("--configfile", str(mine))):
        run = Path(args[1]).stem
        proc = snakemake(work, f"figures/{run}/kde_width.png", "--cores", "2", *args)
        assert proc.returncode == 0, proc.stderr[-3000:]
    quick, own = (work / f"figures/{run}/kde_width.png" for run in ("quick", "mine"))
    assert quick.is_file() and own.is_file() and quick.read_bytes() != own.read_bytes()
    meta = json.loads((work / "results/mine/kde_width/curves.json").read_text())
    assert meta["config"]["shared"]["dims"] == [1, 4]
    other = tmp_path / "elsewhere"
    other.mkdir()
    proc = snakemake(
        other, "-s", str(work / "Snakefile"), "-d", str(other), "figures/quick/kde_width.pdf", "--cores", "2",
        "--configfile", str(work / "presets/quick.yaml"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (other / "figures/quick/kde_width.pdf").is_file() and (other / "results/quick/kde_width").is_dir()


@pytest.mark.workflow
def test_make_names_a_missing_preset_in_one_line(work):
    proc = make(work, "figures", "PRESET=foo", timeout=120)
    out = (proc.stdout + proc.stderr).strip().splitlines()
    assert proc.returncode != 0
    assert out[0].startswith("memgen: no preset 'foo' (presets/foo.yaml); the presets: ")
    assert all(name in out[0] for name in ("cpu", "quick", "paper", "bridge_d32"))


@pytest.mark.workflow
def test_a_failing_job_names_its_cause_on_the_console(work):
    """A table damaged after it was written: the figure job fails, and the console says why."""
    args = ("figures/quick/kde_width.pdf", "--cores", "2", "--configfile", "presets/quick.yaml")
    assert snakemake(work, *args).returncode == 0
    table = work / "results/quick/kde_width/curves.parquet"
    table.write_bytes(table.read_bytes()[:-8] + b"damaged!")
    proc = snakemake(work, *args)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("memgen: figure_kde_width")]
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-3000:]
    assert "failed: ValueError: results/quick/kde_width/curves.parquet: its bytes do not match the sha256" in lines[0]
    assert "[log: logs/quick/figures/kde_width.log]" in lines[0]


def _paper_config(**sections):
    import yaml
    from snakemake.utils import update_config

    from memgen.config import validate_config
    from workflow_utils import REPO

    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(cfg, sections)
    return validate_config(cfg, REPO / "workflow/schemas/config.schema.yaml")


def test_memory_estimates_count_the_arrays_a_job_holds():
    from memgen.job_memory import GIB, estimates, ldm_trial_bytes, rf_fit_bytes

    # an RF fit holds at least its p x p float64 matrices U, Omega and the Cholesky factor; at most a few
    # dozen of them where the other arrays are small
    for d, p, n in ((200, 1600, 1600), (50, 400, 100), (1000, 500, 8000)):
        assert 3 * 8 * p * p < rf_fit_bytes(d, p, n)
    assert rf_fit_bytes(200, 1600, 1600, quadrature=False) < 30 * 8 * 1600**2
    # a linear-model trial holds the original set and its noised copy
    assert ldm_trial_bytes(10_000, 100, 10_000) > 2 * 8 * 10_000 * 100
    # the paper-scale config fits a 24 GiB machine: its largest job is the RF fit on 2,000 images
    biggest = max(estimates(_paper_config()), key=lambda e: e.bytes)
    assert biggest.key == "rf_images.learning_curves.n" and 1 < biggest.bytes / GIB < 24


@pytest.mark.parametrize(
    "sections,key",
    [
        ({"rf": {"d": 100_000_000}}, "rf.d"),
        ({"ldm": {"transition": {"N": 10_000_000_000}}}, "ldm.transition.N"),
        ({"unet": {"pack": 100_000, "gaussian": {"trials": 100_000, "trials_per_job": 100_000}}}, "unet.pack"),
    ],
    ids=["rf.d", "ldm.N", "unet.pack"],
)
def test_a_config_whose_jobs_cannot_fit_is_refused_naming_the_key(sections, key):
    from memgen.job_memory import memory_errors

    assert memory_errors(_paper_config(), 24 * 2**30) == []
    errors = memory_errors(_paper_config(**sections), 24 * 2**30)
    assert len(errors) == 1 and errors[0].startswith(f"config key '{key}': ") and "GiB, more than" in errors[0]


@pytest.mark.workflow
def test_planning_refuses_a_config_that_cannot_fit(work):
    proc = snakemake(work, "-n", "--config", "rf={d: 100000000}")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "config key 'rf.d': an RF fit at d = 100,000,000" in proc.stderr and "GiB, more than" in proc.stderr
