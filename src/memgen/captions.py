"""Figure captions from one source: the figure sections of docs/results.md (a heading ``### `name```,
then the caption as one paragraph, then the figure's images), for the Snakemake report (an .rst file
per figure) and anything else that shows a figure."""

from __future__ import annotations

import re
from pathlib import Path

_SECTION = re.compile(r"^### `(\w+)`\n\n(.+)$", re.MULTILINE)


def figure_captions(results_md: str | Path) -> dict[str, str]:
    """Figure name -> caption (Markdown) from the figure sections of ``results_md``."""
    return dict(_SECTION.findall(Path(results_md).read_text()))


def markdown_to_rst(text: str) -> str:
    """The Markdown of a caption as reStructuredText: inline code ``x``, emphasis *x* (unchanged),
    links [a](b) as `a <b>`_."""
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"`\1 <\2>`_", text)
    return re.sub(r"(?<!`)`([^`]+)`(?!`|_)", r"``\1``", text)


def write_caption_files(captions: dict[str, str], folder: str | Path) -> dict[str, Path]:
    """One ``<name>.rst`` per caption in ``folder`` (rewritten only when its text changed, through a
    temporary file); returns name -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, caption in captions.items():
        path, text = folder / f"{name}.rst", markdown_to_rst(caption) + "\n"
        if not path.is_file() or path.read_text() != text:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text)
            tmp.replace(path)
        paths[name] = path
    return paths
