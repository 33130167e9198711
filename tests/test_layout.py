"""One name per stage: a driver per rule file, and the import rules between library and drivers."""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "memgen"
RULES = Path(__file__).resolve().parents[1] / "workflow" / "rules"
STAGES = [
    "ldm",
    "kde_width",
    "rf",
    "rf_dynamics",
    "rf_images",
    "unet_train",
    "unet_sample",
    "unet",
    "unet_memorization_time",
    "bridge",
]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "memgen":
                found |= {f"memgen.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_every_stage_has_its_rule_file_and_driver_by_one_name():
    drivers = sorted(p.stem for p in (SRC / "experiments").glob("*.py") if p.stem != "__init__")
    assert drivers == sorted(STAGES)
    for stage in STAGES:
        assert (RULES / f"{stage}.smk").is_file(), stage
        assert f"python -m memgen.experiments.{stage} " in (RULES / f"{stage}.smk").read_text(), stage


def test_no_driver_imports_another_and_the_library_imports_no_driver():
    for path in (SRC / "experiments").glob("*.py"):
        assert not {m for m in _imports(path) if m.startswith("memgen.experiments")}, path.name
    for path in SRC.glob("*.py"):
        assert not {m for m in _imports(path) if m.startswith("memgen.experiments")}, path.name


def test_the_conda_environment_names_every_pin_of_requirements_txt_itself():
    """envs/memgen.yaml works wherever Snakemake copies it: no relative paths, and the same pins as
    requirements.txt (read independently: both files parsed here)."""
    import yaml

    root = Path(__file__).resolve().parents[1]
    env = yaml.safe_load((root / "envs" / "memgen.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert not [p for p in pip if p.startswith("-") or ".." in p or "/" in p]
    lines = (line.split("#")[0].strip() for line in (root / "requirements.txt").read_text().splitlines())
    requirements = {line.split("==")[0].lower(): line.split("==")[1] for line in lines if line}
    assert {p.split("==")[0].lower(): p.split("==")[1] for p in pip} == requirements
    assert all("==" in p for p in pip)


def test_every_relative_link_of_the_readme_and_docs_resolves():
    """Links and images of README.md and docs/*.md that point inside the repository name files that exist."""
    texts = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = [
        (text.name, target)
        for text in texts
        for target, _ in re.findall(r"\]\(([^)#\s]+)(#[^)]*)?\)", text.read_text())
        if "://" not in target and not (text.parent / target).exists()
    ]
    assert broken == []


def test_nothing_under_reference_is_ignored_by_git():
    """A reference file that .gitignore matches exists only on the machine that made it: a clone
    lacks it (an unanchored `figures/` once hid reference/cpu/figures/*.png)."""
    import subprocess

    files = [str(p.relative_to(REPO)) for p in (REPO / "reference").rglob("*") if p.is_file()]
    assert files
    check = subprocess.run(
        ["git", "check-ignore", "--no-index", *files], check=False, cwd=REPO, capture_output=True, text=True
    )
    assert check.returncode in (0, 1), check.stderr  # 1: none ignored; 128: git failed
    assert check.stdout.split() == []
