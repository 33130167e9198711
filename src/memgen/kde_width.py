"""The L^2-optimal Gaussian kernel width on Gaussian data vs the formulas of Paper B §2.2.

For n iid N(mu, sigma^2 I_d) points, the exact MISE of the Gaussian KDE
(``kde.log_kde_mise_ratio``) is minimised over eps and compared with
sqrt(2 t_M) (eqs. 9-10), the AMISE optimum (eq. 11) and sigma n^{-1/d}.

    python -m memgen.kde_width --config JSON --curves C.parquet --optima O.parquet
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m memgen.kde_width", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=json.loads, required=True, help="JSON of config kde_width")
    parser.add_argument("--curves", required=True)
    parser.add_argument("--optima", required=True)
    args = parser.parse_args(argv)
    c = args.config
    start = time.perf_counter()
    grid = c["eps_grid"]
    curves, optima = kernel_width_tables(c["dims"], c["n_values"], c["sigma"], grid["min"], grid["max"], grid["num"])
    meta = provenance(c, seed=None, wall_time_s=time.perf_counter() - start)
    write_table(curves, args.curves, meta)
    write_table(optima, args.optima, meta)
    print(optima.to_string())


if __name__ == "__main__":
    main()
