"""The README's full-scale numbers: every claim is quoted in the README, and the checker the build summary
runs tells a run that agrees from one that contradicts it and from one at another scale."""

from pathlib import Path

import pandas as pd
import pytest

from memgen.claims import CLAIMS, Claim, check_claims, report
from memgen.io import write_table

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_claim_is_quoted_in_the_readme_or_the_docs():
    text = " ".join(" ".join(path.read_text().split()) for path in TEXTS)
    for claim in CLAIMS:
        assert " ".join(claim.text.split()) in text, claim.text


def test_checker_tells_agreement_disagreement_and_scale(tmp_path):
    df = pd.DataFrame({"generator": ["model", "model", "true_law"], "m": ["1", "inf", "1"], "p": [0.2, 0.9, 0.95]})
    write_table(df, tmp_path / "results/x/summary.parquet", {"config": {"shared": {"d": 16}}})
    claims = [
        Claim("a", "results/x/summary.parquet", {"generator": "model", "m": "1"}, "p", 0.2, 0.005, {"shared.d": 16}),
        Claim("b", "results/x/summary.parquet", {"generator": "true_law"}, "p", 0.5, 0.005, {"shared.d": 16}),
        Claim("c", "results/x/summary.parquet", {"generator": "model"}, "p", 0.55, 0.005, {"shared.d": 32}),
        Claim("d", "results/y/summary.parquet", {}, "p", 1.0, 0.0),
    ]
    checks = check_claims(tmp_path, claims)
    assert [c.status for c in checks] == ["agrees", "differs", "other scale", "not built"]
    assert checks[1].measured == 0.95
    text = report(checks)
    assert (
        text.startswith("numbers of the README and docs/ checked against this run's tables: 1 of 2 agree")
        and "'b'" in text
    )


def test_claims_select_rows_by_a_condition_and_read_expressions(tmp_path):
    df = pd.DataFrame({"psi_n": [1.0, 1.0, 2.0], "psi_p": [0.5, 4.0, 1.0], "a": [0.1, 0.7, 0.2], "b": [0.12, 0.5, 0.2]})
    write_table(df, tmp_path / "results/x/table.parquet", {"config": {}})
    claims = [
        Claim("below", "results/x/table.parquet", {"query": "psi_p < psi_n"}, "a", 0.2, 0.0, agg="max"),
        Claim("diff", "results/x/table.parquet", {"query": "psi_p < psi_n"}, "abs(b - a)", 0.02, 1e-12, agg="max"),
        Claim("above", "results/x/table.parquet", {"query": "psi_p > psi_n", "psi_n": 1.0}, "a - b", 0.2, 1e-12),
    ]
    claims.append(Claim("means", "results/x/table.parquet", {}, "abs(b - a)", 0.09, 1e-12, agg="max", by=("psi_n",)))
    claims.append(
        Claim("range", "results/x/table.parquet", {}, "a", 0.6, 1e-12, agg="max", by=("psi_n",), within="range")
    )
    checks = check_claims(tmp_path, claims)
    assert [c.status for c in checks] == ["agrees"] * 5
    assert checks[1].measured == pytest.approx(0.02)
    assert checks[3].measured == pytest.approx(0.09)  # psi_n = 1: |0.31 - 0.4|; per row it would be 0.2


def test_a_contrast_pairs_two_generators_at_each_point(tmp_path):
    """``contrast``: the control minus the model at each (psi_n, m), never across points or the mean of
    the two; a point one of them lacks is left out."""
    df = pd.DataFrame(
        {
            "generator": ["model", "control", "model", "control", "model", "control"],
            "psi_n": [1.0, 1.0, 2.0, 2.0, 4.0, 8.0],
            "m": ["inf"] * 6,
            "p": [0.2, 0.9, 0.5, 0.6, 0.0, 1.0],
        }
    )
    write_table(df, tmp_path / "results/x/summary.parquet", {"config": {}})
    pair = {"by": ("psi_n", "m"), "contrast": ("generator", "control", "model")}
    table = "results/x/summary.parquet"
    claims = [
        Claim("smallest", table, {"m": "inf"}, "p", 0.1, 1e-12, agg="min", **pair),
        Claim("largest", table, {"m": "inf"}, "p", 0.7, 1e-12, agg="max", **pair),
        Claim("points", table, {"m": "inf"}, "p", 2, 0, agg="count", **pair),
        Claim("wrong sign", table, {}, "p", 0.0, 0, agg="min", op="≤", **pair),
    ]
    checks = check_claims(tmp_path, claims)
    assert [c.status for c in checks] == ["agrees", "agrees", "agrees", "differs"]
    assert checks[0].measured == pytest.approx(0.1)


def test_inequalities_empty_filters_and_the_scale_in_the_rows(tmp_path):
    """``≤``/``≥`` hold or fail by their bound; a filter that matches no row of a run at the claim's scale is
    reported ("no rows"), while a run whose rows are of another scale (``rows.<column>``) is not checked."""
    df = pd.DataFrame({"n": [8, 16, 32, 64], "trials": [120] * 4, "p": [0.0, 0.01, 0.95, 0.97]})
    write_table(df, tmp_path / "t.parquet", {"config": {}})
    at = {"rows.trials": 120}
    claims = [
        Claim("at most", "t.parquet", {"query": "n <= 16"}, "p", 0.01, 0.0, at, "max", op="≤"),
        Claim("at most, broken", "t.parquet", {"query": "n <= 32"}, "p", 0.01, 0.0, at, "max", op="≤"),
        Claim("at least", "t.parquet", {"query": "n >= 32"}, "p", 0.95, 0.0, at, "min", op="≥"),
        Claim("at least, broken", "t.parquet", {"query": "n >= 16"}, "p", 0.95, 0.0, at, "min", op="≥"),
        Claim("empty", "t.parquet", {"n": 128}, "p", 0.5, 0.0, at),
        Claim("paper scale", "t.parquet", {"n": 128}, "p", 0.5, 0.0, {"rows.trials": 300}),
    ]
    checks = check_claims(tmp_path, claims)
    assert [c.status for c in checks] == ["agrees", "differs", "agrees", "differs", "no rows", "other scale"]
    assert [checks[1].measured, checks[3].measured] == [0.95, 0.01]
    text = report(checks)
    assert "2 of 5 agree" in text and "differs: the text says ≤ 0.01 ('at most, broken')" in text
    assert "no rows: t.parquet has no rows {'n': 128} for 'empty'" in text


def test_a_rerun_is_held_to_the_spread_and_the_quoted_run_to_the_tolerance(tmp_path):
    """A number from training: the run the text quotes must give it to ``tol``; a rerun agrees when its
    own interval (here mean ± 2 s.e.m.) holds the quoted value; a number marked "one run" is reported,
    not compared, in a rerun."""
    df = pd.DataFrame({"n": [4, 16], "f_mean": [0.70, 0.20], "f_sem": [0.05, 0.01]})
    write_table(df, tmp_path / "t.parquet", {"config": {}})
    band = ("f_mean - 2 * f_sem", "f_mean + 2 * f_sem")
    claims = [
        Claim("n = 4", "t.parquet", {"n": 4}, "f_mean", 0.79, 0.005, spread=band),  # 0.79 in [0.60, 0.80]
        Claim("n = 16", "t.parquet", {"n": 16}, "f_mean", 0.25, 0.005, spread=band),  # 0.25 not in [0.18, 0.22]
        Claim("one", "t.parquet", {"n": 16}, "f_mean", 0.9, 0.005, spread="one run"),
    ]
    assert [c.status for c in check_claims(tmp_path, claims)] == ["agrees", "differs", "one run"]
    assert [c.status for c in check_claims(tmp_path, claims, rerun=False)] == ["differs"] * 3
    text = report(check_claims(tmp_path, claims))
    assert "1 of 2 agree (1 more quote one training run and are not compared)" in text
    # an inequality: a rerun agrees when its interval reaches the bound on the side the text speaks of
    bounds = [
        Claim("≥ 0.78", "t.parquet", {"n": 4}, "f_mean", 0.78, 0.0, agg="min", op="≥", spread=band),  # 0.80 ≥ 0.78
        Claim("≥ 0.85", "t.parquet", {"n": 4}, "f_mean", 0.85, 0.0, agg="min", op="≥", spread=band),  # 0.80 < 0.85
        Claim("≤ 0.62", "t.parquet", {"n": 4}, "f_mean", 0.62, 0.0, agg="max", op="≤", spread=band),  # 0.60 ≤ 0.62
        Claim("≤ 0.15", "t.parquet", {"n": 16}, "f_mean", 0.15, 0.0, agg="max", op="≤", spread=band),  # 0.18 > 0.15
    ]
    assert [c.status for c in check_claims(tmp_path, bounds)] == ["agrees", "differs", "agrees", "differs"]
    assert [c.status for c in check_claims(tmp_path, bounds, rerun=False)] == [
        "differs",
        "differs",
        "differs",
        "differs",
    ]
