"""The reference results: what a part copies into reference/<run>/, and what it leaves out; the README's
key findings against the reference tables kept in the repository."""

import json
import re
import shutil
import tarfile
from pathlib import Path

import pytest

from memgen.claims import CLAIMS, FINDINGS, UNET_SEED_BAND, check_reference
from memgen.io import read_table, write_table
from memgen.reference import PARTS, Part, collect, is_built, targets, unpack


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


def _archive(path, root, members):
    with tarfile.open(path, "w:gz") as tar:
        for rel in members:
            tar.add(root / rel, arcname=rel)
    return path


def test_an_archive_of_a_gpu_session_unpacks_only_into_its_parts_run(tmp_path):
    """`--from ARCHIVE...` unpacks tables and logs of the part's run; a member anywhere else (another run,
    a path that climbs out) refuses every archive given, naming the member, and writes nothing."""
    src, work = tmp_path / "src", tmp_path / "work"
    good = ["results/gpu/unet/gaussian/transition.parquet", "results/gpu/bench/session.json", "logs/gpu/x.log"]
    _tree(src, [*good, "results/cpu/rf/a.parquet"])
    part = PARTS["gpu_fig4"]
    written = unpack([_archive(tmp_path / "good.tar.gz", src, good)], part, work)
    assert sorted(str(p.relative_to(work)) for p in written) == sorted(good)
    assert (work / good[0]).read_bytes() == good[0].encode()
    for bad in ("results/cpu/rf/a.parquet", "results/gpu/../cpu/rf/a.parquet"):
        archive = tmp_path / "bad.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(src / good[1], arcname=good[1])
            tar.add(src / "results/cpu/rf/a.parquet", arcname=bad)
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            unpack([tmp_path / "good.tar.gz", archive], part, tmp_path / "untouched")  # the good one neither
        assert not (tmp_path / "untouched").exists()


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


def test_every_claim_agrees_with_the_reference_tables_of_its_part():
    """Each number of the README and docs/ whose part is in the reference is read from that part's
    tables at its scale, its filter matches rows, and the number (or the inequality, over every row it
    speaks of) holds: never "other scale", "no rows" or "not built"."""
    built = {name for name, part in PARTS.items() if is_built(part, REFERENCE)}
    checks = check_reference(REFERENCE)
    wrong = [(c.claim.part, c.claim.text, c.status, c.measured) for c in checks if c.claim.part in built]
    assert [w for w in wrong if w[2] != "agrees"] == []
    assert len(wrong) >= len(FINDINGS)


def test_the_parts_not_in_the_reference_are_the_ones_docs_reference_md_names():
    """A claim whose part is not built is unchecked: docs/reference.md must say which parts those are,
    and none of their claims may find a table there (a built part is never mistaken for one missing)."""
    text = (ROOT / "docs" / "reference.md").read_text()
    named = set(re.findall(r"^\| `(\w+)` \|.*\| not yet built \|$", text, flags=re.M))
    missing = {name for name, part in PARTS.items() if not is_built(part, REFERENCE)}
    assert named == missing
    unchecked = [c for c in check_reference(REFERENCE, CLAIMS) if c.claim.part in missing]
    assert {c.status for c in unchecked} <= {"not built"}


def test_a_changed_number_in_the_readme_is_caught():
    """Changing one quoted number in a copy of the README breaks the finding that quotes it."""
    readme = (ROOT / "README.md").read_text()
    claim = next(c for c in FINDINGS if "0.94" in c.text)
    changed = readme.replace(claim.text, claim.text.replace("0.94", "0.93"))
    assert _unquoted(changed) == [claim.text]


def test_a_perturbed_reference_table_is_caught(tmp_path):
    """A reference table whose numbers move (and whose sidecar is rewritten to match) fails the check."""
    copy = tmp_path / "reference"
    shutil.copytree(REFERENCE / "cpu" / "tables", copy / "cpu" / "tables")
    path = copy / "cpu" / "tables" / "rf" / "role_of_m" / "simulation.parquet"
    df = read_table(path)
    df.loc[(df.psi_p == 4.0) & (df.m == "inf"), "E_test_mean"] += 0.02
    write_table(df, path, json.loads(path.with_suffix(".json").read_text()))
    findings = [c for c in FINDINGS if c.part == "cpu"]
    failed = [c.claim.text for c in check_reference(copy, findings) if c.status != "agrees"]
    assert failed == ["to 1.38"]
    path.unlink()  # a missing table is a failure too, never a skip
    checks = check_reference(copy, findings)
    assert {c.status for c in checks if c.claim.table.startswith("rf/role_of_m")} == {"not built"}


def test_a_rerun_of_one_u_net_training_is_allowed_the_spread_of_the_seeds():
    """The margin a rerun's memorized fraction (m = ∞) gets around the quoted one covers 3√2 × the
    larger of the s.d. over the seeds of reference/unet_seeds/ and the binomial s.e. of its samples."""
    tables = REFERENCE / PARTS["unet_seeds"].run / "tables" / "unet"
    for (dataset, n), band in UNET_SEED_BAND.items():
        seeds = read_table(tables / dataset / f"n{n}_minf.parquet")
        assert len(seeds) == 3
        f = seeds.memorized_fraction
        binomial = (f.mean() * (1 - f.mean()) / seeds.samples.iloc[0]) ** 0.5
        assert 3 * 2**0.5 * max(f.std(ddof=1), binomial) <= band < 3 * 2**0.5 * max(f.std(ddof=1), binomial) + 0.01
