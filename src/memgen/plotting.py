"""One seaborn style for every figure, and the drawing shared by the notebooks: theory as
lines and simulations as markers with error bars, the RF error-curve grids, and sample
grids above their nearest training images."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from memgen.grids import parse_m  # noqa: E402
from memgen.io import atomic_write  # noqa: E402

FORMATS = ("pdf", "png")
DATASET_LABEL = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
CONVENTION_LABEL = {
    "exact": r"$\Sigma_G=\sigma_X^2\theta_1\theta_1^\top$",
    "paper": r"$\Sigma_G=\sigma_X^2\theta_1^\top\theta_1$ (paper)",
}
CONVENTION_STYLE = {
    "exact": dict(marker="o", linestyle="-"),
    "paper": dict(marker="s", linestyle="--", markerfacecolor="none"),
}
# the same trials evaluated with the authors' arithmetic (memgen.paper_arithmetic), in greys
PAPER_ARITHMETIC_COLOR = {"exact": "0.35", "paper": "0.6"}


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
    return sorted(set(labels), key=parse_m)


ERROR_LABEL = {"E_test": r"$E_{\mathrm{test}}$", "E_train": r"$E_{\mathrm{train}}$", "E_score": r"$E_{\mathrm{score}}$"}
ERROR_STYLE = {
    "E_test": dict(linestyle="-", marker="o"),
    "E_train": dict(linestyle="--", marker="s", markerfacecolor="none"),
}


GENERATOR_LABEL = {
    "model": "RF model",
    "true_law": r"true law $N(0,I)$",
    "moment_matched": "twin: Gaussian, model's mean & cov.",
    "copies_5": "5 % training copies",
    "copies_25": "25 % training copies",
    "copies_100": "100 % training copies",
    "spread_matched": "control: true mean, model's spread",
}
# the references drawn in grey shades (the twin takes each model's colour)
REFERENCE_STYLE = {
    "true_law": dict(color="0.1", marker="x", ls="-", lw=1.0),
    "copies_5": dict(color="0.45", marker="v", ls="-", lw=0.9),
    "copies_25": dict(color="0.65", marker="^", ls="-", lw=0.9),
    "spread_matched": dict(color="0.3", marker="P", ls="--", lw=0.9),
}


def ratio_ticks(ax, which: str = "x", ticks=(0.25, 0.5, 1, 2, 4, 8, 16, 32)) -> None:
    """Log axis of a ratio (ψ_p, ψ_n) labelled with plain numbers at ``ticks`` in the data range."""
    from matplotlib.ticker import FixedLocator, NullFormatter, StrMethodFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    axis.set_major_locator(FixedLocator([v for v in ticks if lo * 0.999 <= v <= hi * 1.001]))
    axis.set_major_formatter(StrMethodFormatter("{x:g}"))
    axis.set_minor_formatter(NullFormatter())


def error_curve_grid(theory, simulation, x: str, panel: str, shared: dict):
    """Paper A's errors against ``x`` (psi_p or psi_n), one panel per (t, ``panel`` value): theory lines
    (E_test solid, E_train dashed) and simulated means ± std as markers, one colour per m; the true-score
    error e^{-2t} and the line psi_p = psi_n. ``shared`` is the rf config (d, seeds, activation, lambda)."""
    import math

    symbol = {"psi_p": r"\psi_p", "psi_n": r"\psi_n"}
    axis_label = {"psi_p": r"$\psi_p = p/d$", "psi_n": r"$\psi_n = n/d$"}
    ms = m_order(theory.m)
    colors = dict(zip(ms, palette(len(ms))))
    rows, cols = sorted(theory.t.unique()), sorted(theory[panel].unique())
    fig, axes = plt.subplots(
        len(rows), len(cols), figsize=(3.9 * len(cols), 3.3 * len(rows)), squeeze=False, sharex=True
    )
    for i, t in enumerate(rows):
        for j, v in enumerate(cols):
            ax = axes[i, j]
            for m in ms:
                T = theory[(theory.t == t) & (theory[panel] == v) & (theory.m == m)].sort_values(x)
                S = simulation[
                    (simulation.t == t) & np.isclose(simulation[panel], v) & (simulation.m == m)
                ].sort_values(x)
                for key in ("E_test", "E_train"):
                    style = ERROR_STYLE[key]
                    ax.plot(T[x], T[key], color=colors[m], ls=style["linestyle"], lw=1.4)
                    markers_with_errors(
                        ax,
                        S[x],
                        S[f"{key}_mean"],
                        yerr=S[f"{key}_std"],
                        color=colors[m],
                        ls="none",
                        marker=style["marker"],
                        markerfacecolor=style.get("markerfacecolor", colors[m]),
                    )
            ax.axhline(math.exp(-2 * t), color="0.2", lw=1, ls=":")
            ax.axvline(v, color="0.5", lw=1, ls="-.")
            ax.set(xscale="log", yscale="log", title=f"$t={t:g}$, ${symbol[panel]}={v:g}$")
            ratio_ticks(ax, "x")
            if i == len(rows) - 1:
                ax.set_xlabel(axis_label[x])
            if j == 0:
                ax.set_ylabel("DSM error")
    handles = [plt.Line2D([], [], color=colors[m], lw=2, label=m_legend(m)) for m in ms]
    handles += [
        plt.Line2D([], [], color="0.3", label=ERROR_LABEL[k] + " (theory; sim. markers)", **ERROR_STYLE[k])
        for k in ("E_test", "E_train")
    ]
    diagonal = r"$\psi_p=\psi_n$ ($p=n$)" if x == "psi_p" else r"$\psi_n=\psi_p$ ($n=p$)"
    handles += [
        plt.Line2D([], [], color="0.2", ls=":", label=r"$e^{-2t}$ (true score)"),
        plt.Line2D([], [], color="0.5", ls="-.", label=diagonal),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.08 if len(rows) > 1 else -0.16))
    fig.suptitle(
        rf"RF-DSM on $\mathcal{{N}}(0, I_d)$: theory (lines, $d\to\infty$) and simulations (mean $\pm$ std, "
        rf"$d={shared['d']}$, {shared['seeds']} seeds), {shared['activation']}, $\lambda={shared['lambda']:g}$",
        y=1.01,
    )
    fig.tight_layout()
    return fig


def sample_grid_panel(ax, samples, nearest, ratio, title: str) -> None:
    """Generated images (top row) above their nearest training images (bottom row), each column
    labelled with its d1/d2; images are (k, h, w) arrays in [0, 1]."""
    import torch
    from torchvision.utils import make_grid

    k = len(samples)
    grid = make_grid(torch.from_numpy(np.concatenate([samples, nearest]))[:, None], nrow=k, padding=2, pad_value=1.0)
    ax.imshow(grid.permute(1, 2, 0).numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([(i + 0.5) * (grid.shape[2] / k) for i in range(k)], [f"{r:.2f}" for r in ratio], fontsize=7)
    ax.set_yticks([grid.shape[1] / 4, 3 * grid.shape[1] / 4], ["sample", "nearest"])
    ax.grid(False)
    ax.set_title(title)
