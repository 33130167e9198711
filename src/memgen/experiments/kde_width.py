"""The L^2-optimal Gaussian kernel width on Gaussian data vs the formulas of Paper B §2.2.

For n iid N(mu, sigma^2 I_d) points, the exact MISE of the Gaussian KDE
(``kde.log_kde_mise_ratio``) is minimised over eps and compared with
sqrt(2 t_M) (eqs. 9-10), the AMISE optimum (eq. 11) and sigma n^{-1/d}.

    python -m memgen.experiments.kde_width --config JSON --curves C.parquet --optima O.parquet --formulas F.parquet

``formulas`` holds the two width formulas on a dense n grid, the lines the figure draws.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from memgen.io import provenance, write_table
from memgen.kde import log_kde_mise_ratio
from memgen.linear import kernel_width_amise, kernel_width_large_d, kernel_width_mixing


def optimal_kernel_width(n: int, d: int, sigma: float = 1.0) -> tuple[float, float]:
    """argmin_eps MISE(eps) and the minimum log(MISE / int rho^2).

    A log-spaced scan locates the basin, a bounded Brent search refines it in log eps."""
    log_eps = np.linspace(np.log(1e-4 * sigma), np.log(10.0 * sigma), 801)
    values = log_kde_mise_ratio(np.exp(log_eps), n, d, sigma)
    i = int(np.argmin(values))
    lo, hi = log_eps[max(i - 1, 0)], log_eps[min(i + 1, len(log_eps) - 1)]
    res = minimize_scalar(
        lambda le: float(log_kde_mise_ratio(np.exp(le), n, d, sigma)),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(np.exp(res.x)), float(res.fun)


def kernel_width_tables(
    dims, n_values, sigma: float, eps_min: float, eps_max: float, num: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves, optima): log MISE ratio on an eps grid per (d, n), and the optimal widths."""
    eps = np.geomspace(eps_min, eps_max, num)
    curves, optima = [], []
    for d in dims:
        for n in n_values:
            curves.append(pd.DataFrame(dict(d=d, n=n, eps=eps, log_mise_ratio=log_kde_mise_ratio(eps, n, d, sigma))))
            eps_opt, log_min = optimal_kernel_width(n, d, sigma)
            optima.append(
                dict(
                    d=d,
                    n=n,
                    eps_argmin=eps_opt,
                    log_mise_ratio_min=log_min,
                    eps_mixing=float(kernel_width_mixing(sigma, d, n)),
                    eps_amise=float(kernel_width_amise(sigma, d, n)),
                    eps_large_d=float(kernel_width_large_d(sigma, d, n)),
                )
            )
    return pd.concat(curves, ignore_index=True), pd.DataFrame(optima)


def formula_curves(dims, n_values, sigma: float, num: int = 200) -> pd.DataFrame:
    """√(2 t_M) (eqs. 9–10) and the AMISE optimum (eq. 11) per d on ``num`` log-spaced n over the n range."""
    n = np.geomspace(min(n_values), max(n_values), num)
    return pd.concat(
        [
            pd.DataFrame(
                dict(d=d, n=n, eps_mixing=kernel_width_mixing(sigma, d, n), eps_amise=kernel_width_amise(sigma, d, n))
            )
            for d in dims
        ],
        ignore_index=True,
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m memgen.experiments.kde_width", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=json.loads, required=True, help="JSON {shared: config kde_width}")
    parser.add_argument("--curves", required=True)
    parser.add_argument("--optima", required=True)
    parser.add_argument("--formulas", required=True)
    args = parser.parse_args(argv)
    c = args.config["shared"]
    start = time.perf_counter()
    grid = c["eps_grid"]
    curves, optima = kernel_width_tables(c["dims"], c["n_values"], c["sigma"], grid["min"], grid["max"], grid["num"])
    meta = provenance(args.config, seed=None, wall_time_s=time.perf_counter() - start)
    write_table(curves, args.curves, meta)
    write_table(optima, args.optima, meta)
    write_table(formula_curves(c["dims"], c["n_values"], c["sigma"]), args.formulas, meta)
    print(optima.to_string())


if __name__ == "__main__":
    main()
