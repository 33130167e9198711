"""One seaborn style for every figure, and helpers that draw theory as lines and
simulations as markers with error bars."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from memgen.io import atomic_write  # noqa: E402

FORMATS = ("pdf", "png")
CONVENTION_LABEL = {
    "exact": r"$\Sigma_G=\sigma_X^2\theta_1\theta_1^\top$",
    "paper": r"$\Sigma_G=\sigma_X^2\theta_1^\top\theta_1$ (paper)",
}
CONVENTION_STYLE = {
    "exact": dict(marker="o", linestyle="-"),
    "paper": dict(marker="s", linestyle="--", markerfacecolor="none"),
}


def set_style() -> None:
    """The memgen look: seaborn 'whitegrid', colorblind palette, paper context."""
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.15)
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 200,
            "savefig.bbox": "tight",
            "legend.frameon": True,
            "axes.titleweight": "bold",
        }
    )


def palette(n: int):
    return sns.color_palette("colorblind", n)


def markers_with_errors(ax, x, y, low=None, high=None, yerr=None, **kw):
    """Simulation points: markers with asymmetric (low, high) or symmetric (yerr) error bars."""
    if low is not None:
        yerr = np.vstack([np.asarray(y) - np.asarray(low), np.asarray(high) - np.asarray(y)])
    kw.setdefault("capsize", 2.5)
    kw.setdefault("markersize", 4.5)
    kw.setdefault("elinewidth", 0.9)
    return ax.errorbar(x, y, yerr=yerr, **kw)


def save_figure(fig, out_prefix: str | os.PathLike) -> list[Path]:
    """Write <out_prefix>.pdf and .png, each through a temporary file and a rename."""
    prefix = Path(out_prefix)
    out = []
    for ext in FORMATS:
        target = prefix.with_name(f"{prefix.name}.{ext}")
        atomic_write(target, lambda tmp: fig.savefig(tmp, format=ext))
        out.append(target)
    return out


def m_legend(m: str) -> str:
    """Legend label of a number of noise samples given as a table label ('1', 'inf')."""
    return r"$m=\infty$" if m == "inf" else f"$m={m}$"


def m_order(labels) -> list[str]:
    """Table labels of m sorted numerically, 'inf' last."""
    return sorted(set(labels), key=lambda m: float("inf") if m == "inf" else int(m))


ERROR_LABEL = {"E_test": r"$E_{\mathrm{test}}$", "E_train": r"$E_{\mathrm{train}}$", "E_score": r"$E_{\mathrm{score}}$"}
ERROR_STYLE = {
    "E_test": dict(linestyle="-", marker="o"),
    "E_train": dict(linestyle="--", marker="s", markerfacecolor="none"),
}


def ratio_ticks(ax, which: str = "x", ticks=(0.25, 0.5, 1, 2, 4, 8, 16, 32)) -> None:
    """Log axis of a ratio (ψ_p, ψ_n) labelled with plain numbers at ``ticks`` in the data range."""
    from matplotlib.ticker import FixedLocator, NullFormatter, StrMethodFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    axis.set_major_locator(FixedLocator([v for v in ticks if lo * 0.999 <= v <= hi * 1.001]))
    axis.set_major_formatter(StrMethodFormatter("{x:g}"))
    axis.set_minor_formatter(NullFormatter())
