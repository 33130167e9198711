"""One seaborn style for every figure, and helpers that draw theory as lines and
simulations as markers with error bars."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

FORMATS = ("pdf", "png")
CONVENTION_LABEL = {"exact": r"$\Sigma_G=\sigma_X^2\theta_1\theta_1^\top$", "paper": r"$\Sigma_G=\sigma_X^2\theta_1^\top\theta_1$ (paper)"}
CONVENTION_STYLE = {"exact": dict(marker="o", linestyle="-"), "paper": dict(marker="s", linestyle="--", markerfacecolor="none")}


def set_style() -> None:
    """The memgen look: seaborn 'whitegrid', colorblind palette, paper context."""
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.15)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 200, "savefig.bbox": "tight", "legend.frameon": True, "axes.titleweight": "bold"})


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
    out = []
    prefix = Path(out_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    for ext in FORMATS:
        target = prefix.with_name(f"{prefix.name}.{ext}")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".{ext}", dir=target.parent)
        os.close(fd)
        try:
            fig.savefig(tmp, format=ext)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        out.append(target)
    return out
