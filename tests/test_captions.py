"""Figure captions have one source, the figure sections of docs/results.md: every figure has one, and the
report gets it as reStructuredText."""

from pathlib import Path

from memgen.captions import figure_captions, markdown_to_rst, write_caption_files

ROOT = Path(__file__).resolve().parents[1]


def test_every_figure_notebook_has_a_caption_in_docs_results_md():
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    captions = figure_captions(ROOT / "docs" / "results.md")
    assert set(captions) == notebooks
    assert all(len(text) > 80 for text in captions.values())


def test_markdown_becomes_rst_and_files_are_rewritten_only_when_changed(tmp_path):
    md = "Scale: `config.yaml`; *Fig. 4*, see [the docs](docs/results.md) and ``x``."
    assert markdown_to_rst(md) == "Scale: ``config.yaml``; *Fig. 4*, see `the docs <docs/results.md>`_ and ``x``."
    paths = write_caption_files({"a": md}, tmp_path / "c")
    assert paths["a"].read_text() == markdown_to_rst(md) + "\n"
    stamp = paths["a"].stat().st_mtime_ns
    write_caption_files({"a": md}, tmp_path / "c")
    assert paths["a"].stat().st_mtime_ns == stamp
    write_caption_files({"a": "other"}, tmp_path / "c")
    assert paths["a"].read_text() == "other\n"


def test_docs_results_md_shows_every_figure_of_the_reference_under_its_caption():
    """Each PNG under reference/<run>/figures/ is embedded in docs/results.md, in the section of its
    figure (after that figure's caption, before the next figure's heading)."""
    text = (ROOT / "docs" / "results.md").read_text()
    pngs = sorted((ROOT / "reference").glob("*/figures/*.png"))
    assert pngs
    for png in pngs:
        link = f"](../{png.relative_to(ROOT)})"
        assert link in text, png
        section = text[text.index(f"### `{png.stem}`") :]
        section = section[: section.find("\n### ", 1) if "\n### " in section[1:] else len(section)]
        assert link in section, png
