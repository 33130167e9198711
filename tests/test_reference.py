"""The reference results: what a part copies into reference/<run>/, and what it leaves out."""

import pytest

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
