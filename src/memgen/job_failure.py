"""The one-line cause of a failed job, read from its log (no torch: the Snakefile imports it).

A failed run prints each failed job's cause on the console (``onerror`` in the Snakefile) and the
build summary of ``make figures`` names it beside each figure that was not built.
"""

from __future__ import annotations

import re

_ERROR_LINE = re.compile(r"^\s*([\w.]*(Error|Exception|Exit)\b|memgen: )")


def cause_from_log(text: str) -> str | None:
    """The cause a log ends with: a data set no source could provide, else the last exception line
    (``ValueError: …``, a notebook's exception inside papermill's report, a driver's ``SystemExit``
    message), at most 300 characters; None when the log names none."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if "no source could provide" in line:
            return line.split("Error: ", 1)[-1].rstrip(":")
    for line in reversed(lines):
        if _ERROR_LINE.match(line) and not line.startswith(
            ("papermill.exceptions.PapermillExecutionError", "Traceback")
        ):
            return line[:300]
    return None
