"""NUTS on the 1-20-1 gap example: effective sample size of the predictive mean, R-hat, cost.

The sampling issue asks for at least 400 effective draws per 1000 for the predictive mean at
inputs inside the data, with R-hat below 1.01 over 4 chains. This runs ``fit_nuts`` with its
defaults (the Laplace evidence's prior and noise, Stan's warm-up, depth up to 10) on
``make_gap_data(60)`` and prints both, with the time and the sampler's per-chain statistics.

    python benchmarks/nuts_gap.py [--draws 1000] [--warmup 500] [--max-depth 10]
"""

from __future__ import annotations

import argparse
import time

import _harness  # one BLAS thread: imported before numpy loads
import numpy as np

from tinynn import diagnostics, model
from tinynn.data import make_gap_data
from tinynn.posterior import fit_nuts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain")
    parser.add_argument("--warmup", type=int, default=500, help="warm-up iterations per chain")
    parser.add_argument("--max-depth", type=int, default=10)
    args = parser.parse_args()
    x, y = make_gap_data(60)
    inside = np.array([[-0.9], [-0.7], [-0.5], [0.5], [0.7], [0.9]])
    with _harness.limit_threads() as threads:
        start = time.perf_counter()
        post = fit_nuts(
            x, y, (20,), n_warmup=args.warmup, n_draws=args.draws, max_depth=args.max_depth, rng=0
        )
        seconds = time.perf_counter() - start
        for label, value in _harness.machine_info(threads):
            print(f"{label}: {value}")
    f_CS = np.asarray(model.predict(post.params, inside)).reshape(post.n_chains, -1, len(inside))
    total = f_CS.shape[0] * f_CS.shape[1]
    ess = diagnostics.ess_bulk(f_CS)
    print()
    print(post.run.format(max_rows=0))
    print()
    print(f"{total} draws in {seconds:.0f} s ({post.run.n_grad_evals} gradients over chains)")
    print(f"predictive mean at x = {inside[:, 0].tolist()}:")
    print(f"  bulk ESS per 1000 draws: {np.round(1000 * ess / total).astype(int).tolist()}")
    print(f"  split R-hat: {np.round(diagnostics.split_rhat(f_CS), 4).tolist()}")
    print("  target: ESS >= 400 per 1000 and R-hat < 1.01 at every input")


if __name__ == "__main__":
    main()
