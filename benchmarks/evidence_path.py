"""Where the Laplace evidence of a refitted network peaks, along fit_laplace's last proposal.

``fit_laplace`` moves the prior stds and sigma by MacKay's fixed point, which holds the MAP
network fixed, and stops when the evidence of the refitted network falls. This diagnostic asks
whether the hyperparameters it returns are near the evidence's maximum. Per split it runs
``fit_laplace`` as the Regressor does (one hidden layer of ``n_hidden`` units, standardized
data), takes the fixed point's proposal at the returned MAP (``post.tuned()``), and refits the
network from the returned parameters at the log-space points ``h(t) = h + t (proposal - h)``:
t = 0 is the returned fit, t = 1 the proposal, negative t the other way. It prints, per t, the
mean over splits of the log evidence, test RMSE and test log-likelihood (in y's units, the
linearized predictive), and last the same for the step of highest evidence on each split. No
timing.

    python benchmarks/evidence_path.py --data-dir ../shared/uci --dataset bostonHousing \
        --splits 10 --steps=-2,-1,-0.5,0,0.5,1
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import _harness  # one BLAS thread: imported before numpy loads
import numpy as np
import uci

from tinynn.posterior import fit_laplace


def path_point(h_ps: np.ndarray, h_sd: float, p_ps: np.ndarray, p_sd: float, t: float):
    """Return the prior std(s) and sigma at ``h + t (proposal - h)`` in log space."""
    ps = np.exp(np.log(h_ps) + t * (np.log(p_ps) - np.log(h_ps)))
    sd = float(np.exp(np.log(h_sd) + t * (np.log(p_sd) - np.log(h_sd))))
    return ps, sd


def one_split(folder: Path, split: int, steps: list[float]) -> list[tuple[float, float, float]]:
    """Return (log evidence, test RMSE, test log-likelihood) at each t of ``steps``."""
    x_tr, y_tr, x_te, y_te = uci.load_split(folder, split)
    hidden = int(np.loadtxt(folder / "n_hidden.txt"))
    x, y, x_test, y_mean, y_scale = uci.standardize(x_tr, y_tr, x_te)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = fit_laplace(x, y, (hidden,), rng=split)
        proposal = post.tuned()
        for t in steps:
            ps, sd = path_point(
                np.asarray(post.prior_std), post.sigma, np.asarray(proposal.prior_std),
                proposal.sigma, t,
            )  # fmt: skip
            refit = fit_laplace(x, y, (hidden,), prior_std=ps, sigma=sd, init=post.params)
            rmse, ll = uci.score(refit.predict(x_test), y_te, y_mean, y_scale)
            rows.append((refit.log_evidence(), rmse, ll))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder of data sets")
    parser.add_argument("--dataset", default="bostonHousing")
    parser.add_argument("--splits", type=int, default=10, help="the first S splits")
    parser.add_argument(
        "--steps", default="-2,-1,-0.5,0,0.5,1", help="comma-separated t (0: fit_laplace's)"
    )
    args = parser.parse_args(argv)
    folder = args.data_dir / args.dataset
    if not (folder / "data.txt").is_file():
        parser.error(f"{folder} has no data.txt; --data-dir must hold the UCI folders")
    steps = [float(t) for t in args.steps.split(",")]
    per_split = np.array([one_split(folder, k, steps) for k in range(args.splits)])  # (S, T, 3)
    rows = [
        [f"{t:g}", *(uci.mean_se(list(per_split[:, i, j])) for j in range(3)), str(args.splits)]
        for i, t in enumerate(steps)
    ]
    # per split, the step whose refitted network has the highest evidence: what a search that
    # maximized the evidence along this line would return
    best = per_split[np.arange(args.splits), np.argmax(per_split[:, :, 0], axis=1)]  # (S, 3)
    rows.append(["highest evidence", *(uci.mean_se(list(best[:, j])) for j in range(3))])
    rows[-1].append(str(args.splits))
    header = ["t", "log evidence", "test RMSE", "test log-likelihood", "splits"]
    print(f"{args.dataset}: refits along the fixed point's last proposal (t = 0: fit_laplace's)")
    print(_harness.markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
