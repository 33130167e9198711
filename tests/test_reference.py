"""The reference results: what a part copies into reference/<run>/, and what it leaves out; the README's
key findings against the reference tables kept in the repository."""

import json
import shutil
from pathlib import Path

import pytest

from memgen.claims import FINDINGS, FINDINGS_RUN, check_findings
from memgen.io import read_table, write_table
from memgen.reference import PARTS, Part, collect, targets


def _tree(root, files):
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rel.encode())


def test_a_part_copies_tables_with_sidecars_and_its_pngs_only(tmp_path):
    work, dest = tmp_path / "work", tmp_path / "reference" / "r"
    _tree(
        work,
        [
            "results/r/ldm/transition_summary.parquet",
            "results/r/ldm/transition_summary.json",
            "results/r/ldm/transition/d16/block000.parquet",
            "results/r/ldm/transition/d16/block000.json",
            "results/r/unet/checkpoints/x.parquet",  # a running job's record: not a result
            "results/r/unet/checkpoints/x.json",
            "results/r/unet/mnist/n16_m1_samples.npz",  # raw samples: left out
            "results/other/ldm/transition_summary.parquet",  # another run
            "figures/r/ldm_transition.png",
            "figures/r/ldm_transition.pdf",
        ],
    )
    written = collect(Part("r", (), ("ldm_transition",), ("ldm", "unet")), work, dest)
    rel = sorted(str(p.relative_to(dest)) for p in written)
    assert rel == [
        "figures/ldm_transition.png",
        "tables/ldm/transition/d16/block000.json",
        "tables/ldm/transition/d16/block000.parquet",
        "tables/ldm/transition_summary.json",
        "tables/ldm/transition_summary.parquet",
    ]
    assert (dest / "tables/ldm/transition_summary.parquet").read_bytes() == b"results/r/ldm/transition_summary.parquet"
    assert not list(dest.rglob(".*.tmp"))


def test_a_table_without_its_sidecar_or_a_missing_figure_is_an_error(tmp_path):
    _tree(tmp_path, ["results/r/ldm/a.parquet"])
    with pytest.raises(FileNotFoundError, match="a.json was not built"):
        collect(Part("r", (), (), ("ldm",)), tmp_path, tmp_path / "ref")


def test_every_part_asks_for_figures_of_its_own_run():
    for name, part in PARTS.items():
        assert all(t.startswith(f"figures/{part.run}/") for t in targets(part)), name
    assert targets(PARTS["cpu"]) == ["figures/cpu/all"]


# --------------------------------------------------------------------------------------------------
# The README's key findings against the reference tables kept in the repository.

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _unquoted(readme: str) -> list[str]:
    """The findings whose words (numbers included) are not in ``readme``."""
    flat = _flat(readme)
    return [c.text for c in FINDINGS if _flat(c.text) not in flat]


def test_every_finding_is_quoted_in_the_readme():
    assert _unquoted((ROOT / "README.md").read_text()) == []


def test_every_finding_agrees_with_the_reference_tables():
    """Each finding is read from a reference table at its scale, its filter matches rows, and the
    number (or the inequality, over every row it speaks of) holds."""
    checks = check_findings(REFERENCE)
    assert [(c.claim.text, c.status, c.measured) for c in checks if c.status != "agrees"] == []


def test_a_changed_number_in_the_readme_is_caught():
    """Changing one quoted number in a copy of the README breaks the finding that quotes it."""
    readme = (ROOT / "README.md").read_text()
    claim = next(c for c in FINDINGS if "0.94" in c.text)
    changed = readme.replace(claim.text, claim.text.replace("0.94", "0.93"))
    assert _unquoted(changed) == [claim.text]


def test_a_perturbed_reference_table_is_caught(tmp_path):
    """A reference table whose numbers move (and whose sidecar is rewritten to match) fails the check."""
    copy = tmp_path / "reference"
    shutil.copytree(REFERENCE / FINDINGS_RUN / "tables", copy / FINDINGS_RUN / "tables")
    path = copy / FINDINGS_RUN / "tables" / "rf" / "role_of_m" / "simulation.parquet"
    df = read_table(path)
    df.loc[(df.psi_p == 4.0) & (df.m == "inf"), "E_test_mean"] += 0.02
    write_table(df, path, json.loads(path.with_suffix(".json").read_text()))
    failed = [c.claim.text for c in check_findings(copy) if c.status != "agrees"]
    assert failed == ["to 1.38"]
    path.unlink()  # a missing table is a failure too, never a skip
    assert {c.status for c in check_findings(copy) if c.claim.table.startswith("rf/role_of_m")} == {"not built"}
