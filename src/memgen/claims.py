"""The numbers the README quotes from full-scale runs, each tied to the results table it comes from.

A claim names a table, the rows it reads (column == value filters), the column, the value the README
quotes and the tolerance of its rounding, and the scale it was measured at (entries of the table's
sidecar config, or of its rows). ``make figures`` ends with the build summary, which checks every
claim whose table exists at that scale (:func:`check_claims`) and says which quoted number a run
contradicts; ``tests/test_claims.py`` checks that every claim's text is in the README and that the
checker tells agreement, disagreement and another scale apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from memgen.io import read_table, sidecar_path


@dataclass(frozen=True)
class Claim:
    """``text``: the README's words (verbatim substring); the value is the mean of ``column`` over the rows of
    ``table`` matching ``where``; ``scale``: dotted keys of the sidecar's config that identify the run."""

    text: str
    table: str
    where: dict
    column: str
    value: float
    tol: float
    scale: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimCheck:
    claim: Claim
    status: str  # "agrees", "differs", "not built", "other scale"
    measured: float | None = None


def _config_value(config: dict, dotted: str):
    value = config
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def check_claim(claim: Claim, root: str | Path = ".") -> ClaimCheck:
    path = Path(root) / claim.table
    if not path.exists():
        return ClaimCheck(claim, "not built")
    config = json.loads(sidecar_path(path).read_text()).get("config", {})
    if any(_config_value(config, key) != want for key, want in claim.scale.items()):
        return ClaimCheck(claim, "other scale")
    df = read_table(path)
    rows = df
    for column, want in claim.where.items():
        rows = rows[rows[column] == want]
    if rows.empty:
        return ClaimCheck(claim, "other scale")
    measured = float(rows[claim.column].mean())
    return ClaimCheck(claim, "agrees" if abs(measured - claim.value) <= claim.tol else "differs", measured)


def check_claims(root: str | Path = ".", claims=None) -> list[ClaimCheck]:
    return [check_claim(c, root) for c in (CLAIMS if claims is None else claims)]


def report(checks: list[ClaimCheck]) -> str:
    """One line per checked claim; claims whose table is absent or of another scale are counted, not listed."""
    seen = [c for c in checks if c.status in ("agrees", "differs")]
    if not seen:
        return ""
    lines = [
        f"README numbers checked against this run's tables: {sum(c.status == 'agrees' for c in seen)} of {len(seen)} agree"
    ]
    for c in seen:
        if c.status == "differs":
            lines.append(
                f"  differs: README says {c.claim.value:g} ({c.claim.text!r}), {c.claim.table} gives {c.measured:.4g}"
            )
    return "\n".join(lines)


BRIDGE = {"shared.d": 16, "shared.seeds": 10, "shared.N": 1000}
CLAIMS: list[Claim] = []
