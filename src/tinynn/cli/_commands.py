"""Private: the four sub-commands of ``tinynn`` (demo, fit, predict, info) and their shared steps.

Each command takes the parsed arguments and returns the exit status; problems with the user's
input raise ``CliError`` (``_files.py``), which :func:`tinynn.cli.main` prints as one line.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from tinynn import io, losses
from tinynn._checks import constant_targets
from tinynn.cli._files import (
    CliError,
    Progress,
    parse_columns,
    read_table,
    select_columns,
    write_csv,
    write_text_atomic,
)
from tinynn.model import layer_shapes

NOISE_STD = 0.1  # the notebook's quadratic toy data


# ---------------------------------------------------------------------------------------------
# shared steps


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(losses.rmse(b, a))


def _regressor(args: argparse.Namespace, **settings: Any) -> Any:
    """Return a Regressor with the training options every fitting command shares."""
    from tinynn.estimator import Regressor

    return Regressor(
        hidden_sizes=args.hidden,
        activation=args.activation,
        optimizer=args.optimizer,
        max_iter=args.max_iter,
        random_state=args.seed,
        uncertainty=None if args.uncertainty == "none" else args.uncertainty,
        batch_size=getattr(args, "batch_size", None),  # only 'fit' takes --batch-size
        **settings,
    )


def _memory_bytes() -> int | None:
    """Return this machine's physical memory in bytes, or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _check_fits_in_memory(
    n_rows: int, n_features: int, hidden: Any, what: str, batch_size: int | None = None
) -> None:
    """Refuse, before allocating anything, a data set or network too big for this machine.

    The estimate is a lower bound of what training needs: the data (x, y and a copy each
    standardized), three work arrays per hidden layer with a row per example (per row of a
    minibatch with ``batch_size``), and the parameters with about twenty copies (gradients,
    optimizer state, L-BFGS history).
    """
    if hidden == "auto":  # the widest candidate of the evidence's search
        from tinynn.posterior import WIDTHS

        hidden = list(max(WIDTHS))
    widths = [n_features, *hidden, 1]
    n_params = sum((a + 1) * b for a, b in itertools.pairwise(widths))
    work_rows = n_rows if batch_size is None else min(n_rows, batch_size)
    needed = 8 * (2 * n_rows * (n_features + 1) + 3 * work_rows * sum(hidden) + 20 * n_params)
    total = _memory_bytes()
    if total is not None and needed > total:
        raise CliError(
            f"{what} needs at least {needed:,} bytes ({needed / 2**30:,.1f} GiB) to train, more "
            f"than this machine's {total / 2**30:,.1f} GiB of memory; choose smaller sizes"
        )


def _fit_with_progress(
    est: Any, x: np.ndarray, y: np.ndarray, quiet: bool, *, keep_interrupted: bool = False
) -> float:
    """Fit ``est`` with a progress line; return the seconds taken.

    Ctrl-C ends the fit with what it has; the command then stops (KeyboardInterrupt) unless
    ``keep_interrupted``, when the caller saves the partial fit itself.
    """
    progress = Progress(int(est.max_iter), sys.stderr, enabled=not quiet)
    est._tinynn_callback = progress
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(x, y)
    except ImportError as err:
        raise CliError(str(err)) from None
    except (ValueError, TypeError) as err:
        raise CliError(f"cannot fit: {err}") from None
    finally:
        progress.close()
        del est._tinynn_callback
    for warning in caught:  # one line each, without the source line Python would print
        print(f"tinynn: warning: {_in_cli_terms(str(warning.message))}", file=sys.stderr)
    if est.stop_reason_ == "interrupted" and not keep_interrupted:
        raise KeyboardInterrupt  # Ctrl-C: the fit returned, the command stops here
    return time.perf_counter() - start


def _in_cli_terms(message: str) -> str:
    """Name the Regressor's ``max_iter`` in a warning as the command's ``--max-iter``.

    The Regressor's advice to set ``tol=None`` is dropped: the command has no such option.
    """
    return (
        message.replace(", or set tol=None to train for exactly max_iter iterations", "")
        .replace("max_iter=", "--max-iter ")
        .replace("raise max_iter", "raise --max-iter")
        .replace("raising max_iter", "raising --max-iter")
    )


def _read_metadata(path: str) -> dict[str, Any]:
    try:
        return io.read_metadata(path)
    except FileNotFoundError:
        raise CliError(f"model file '{path}' not found") from None
    except IsADirectoryError:
        raise CliError(f"model file '{path}' is a folder") from None
    except ValueError as err:
        raise CliError(str(err)) from None


def _save_figure(fig: Any, path: Path) -> None:
    with io.atomic_write(path) as handle:
        # trimmed to the drawing, at a resolution whose text reads at the figure's own size
        fig.savefig(handle, format="png", dpi=110, bbox_inches="tight", pad_inches=0.1)


# ---------------------------------------------------------------------------------------------
# commands


def demo(args: argparse.Namespace) -> int:
    from tinynn.data import make_quadratic_data, train_test_split

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out '{out}' exists and is not a folder")
    n_test = round(args.test_fraction * args.n_examples)
    if n_test < 1 or args.n_examples - n_test < 2:
        raise CliError(
            f"--n-examples {args.n_examples} with --test-fraction {args.test_fraction} leaves "
            f"no test or training examples"
        )
    if args.seed >= 2**32:  # the notebook's data come from numpy's legacy 32-bit seeding
        raise CliError(f"--seed must be below 2**32 = {2**32} for the demo, got {args.seed}")
    sizes = f"--n-examples {args.n_examples} with --hidden {_hidden_text(args.hidden)}"
    _check_fits_in_memory(args.n_examples, 2, args.hidden, sizes)
    out.mkdir(parents=True, exist_ok=True)
    x, y = make_quadratic_data(args.n_examples, rng=args.seed)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_fraction=args.test_fraction, rng=args.seed)
    # lines of at most 88 characters: they read whole in a terminal and on the CLI page
    print("tinynn demo: the notebook's quadratic toy data")
    print(f"  y = -2 x0^2 + 2 x1^2 + 4.2 x0 - 4.2 x1 + noise (std {NOISE_STD})")
    print(f"  {len(y_tr)} training and {len(y_te)} test examples")
    est = _regressor(args)
    seconds = _fit_with_progress(est, x_tr, y_tr, args.quiet)
    train, test = _rmse(est.predict(x_tr), y_tr), _rmse(est.predict(x_te), y_te)
    test_ll = _log_likelihood(est, x_te, y_te)
    print(f"fitted {_networks(est, 2, args.activation)} with {_method(est)}")
    print(f"  in {seconds:.2f} s {_iterations(est)}")
    print(f"  train RMSE {train:.4f} | test RMSE {test:.4f} | noise level {NOISE_STD}")
    print(f"  test log-likelihood {test_ll:.3f} | sigma {est.sigma_:.4f}")
    gap = _demo_gap(args)
    names = ["x0", "x1"]
    extra = {
        "feature_names": names,
        "target": "y",
        "source": "tinynn demo",
        "train_rmse": train,
        "test_rmse": test,
        "test_log_likelihood": test_ll,
        "fit_seconds": seconds,
    }
    written = [io.save(out / "model.npz", est, metadata=extra)]
    rows = [
        [repr(float(a)), repr(float(b)), repr(float(c))] for (a, b), c in zip(x, y, strict=True)
    ]
    write_text_atomic(out / "data.csv", lambda h: write_csv(h, [*names, "y"], rows))
    written.append(out / "data.csv")
    written.extend(_demo_figures(est, out, x_te, y_te, gap))
    print("wrote " + ", ".join(str(p.name) for p in written) + f" into {out}")
    print(f"next: tinynn info {out / 'model.npz'}")
    print(f"      tinynn predict {out / 'model.npz'} {out / 'data.csv'}")
    return 0


def _hidden_text(hidden: Any) -> str:
    """Return ``--hidden`` as typed: ``auto``, or the sizes comma-separated."""
    return hidden if isinstance(hidden, str) else ",".join(map(str, hidden)) or "0"


def _networks(est: Any, n_features: int, activation: str = "") -> str:
    """Say which networks a fitted Regressor holds: one architecture, or each of a mixture's."""
    kind = f" {activation}" if activation else ""
    members = getattr(est.posterior_, "members", None) or []
    shapes: dict[str, int] = {}  # architecture: its number of members
    for member in members:
        arch = "-".join(map(str, [n_features, *(n for _, n in layer_shapes(member.params))]))
        shapes[arch] = shapes.get(arch, 0) + 1
    if len(members) > 1:  # "5 tanh networks of 2-5-1 and 5 of 2-7-1", "5 networks of 2-10-1"
        (arch, count), *rest = shapes.items()
        more = "".join(f" and {n} of {a}" for a, n in rest)
        return f"{count}{kind} networks of {arch}{more}"
    arch = "-".join(map(str, [n_features, *est.hidden_sizes_, 1]))
    stacked = getattr(est.posterior_, "n_members", 1)  # an ensemble's members, stacked
    return f"{stacked}{kind} networks of {arch}" if stacked > 1 else f"a {arch}{kind} network"


def _iterations(est: Any, unit: str = "iterations") -> str:
    """Say how long training ran: ``n_iter_`` and why it stopped, naming whose count it is.

    An ensemble's members train together, so one count is all of theirs; a Laplace mixture's
    members are fitted one by one and ``n_iter_`` is its first member's.
    """
    whose = "the first member's fit: " if est.uncertainty == "laplace_mixture" else ""
    return f"({whose}{est.n_iter_} {unit}, {est.stop_reason_})"


def _method(est: Any) -> str:
    """Say how a Regressor was fitted: its optimizer, and its posterior if it has one."""
    if est.uncertainty is None:
        if est.batch_size is not None:
            return f"{est.optimizer_} on minibatches of {est.batch_size} rows"
        return str(est.optimizer_)
    how = "an exact solve" if est.optimizer_ == "exact" else est.optimizer_
    article = "an" if est.uncertainty[0] in "aeiou" else "a"
    return f"{how} and {article} {est.uncertainty} posterior"


def _log_likelihood(est: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Return the mean test log-likelihood of a fitted Regressor's Gaussian predictive."""
    from tinynn.metrics import gaussian_log_likelihood

    mean, std = est.predict(x, return_std=True)
    return gaussian_log_likelihood(y, mean, std)


def _demo_gap(args: argparse.Namespace) -> tuple[Any, np.ndarray, np.ndarray]:
    """Fit the 1-D data with a gap and say how wide the predictive is on and off the data."""
    from tinynn.data import make_gap_data

    x, y = make_gap_data(60, rng=args.seed)
    x_te, y_te = make_gap_data(200, rng=args.seed + 1)
    est = _regressor(args)
    est.set_params(hidden_sizes=(20,))
    seconds = _fit_with_progress(est, x, y, args.quiet)
    far = np.array([[-7.0], [7.0]])  # three data-widths outside [-1, 1]
    _, std_far = est.predict(far, return_std=True)
    _, std_on = est.predict(x, return_std=True)
    print("1-D data with a gap: 60 examples on [-1, -0.4] and [0.4, 1]")
    print(f"  a 1-20-1 network with {_method(est)} in {seconds:.2f} s")
    print(
        f"  test RMSE {_rmse(est.predict(x_te), y_te):.4f} | "
        f"test log-likelihood {_log_likelihood(est, x_te, y_te):.3f}"
    )
    print(
        f"  predictive std: {np.mean(std_on):.3f} on the data (noise 0.1), "
        f"{np.min(std_far):.3f} or more three data-widths away"
    )
    return est, x, y


def _demo_figures(est: Any, out: Path, x_te: Any, y_te: Any, gap: Any) -> list[Path]:
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed, so no figures: pip install 'tinynn-regression[plot]'")
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinynn import plot

    paths = [out / "loss_curve.png", out / "fit.png", out / "uncertainty.png"]
    fig = plot.plot_loss_curve(est, ylabel="training objective")
    fig.axes[0].set_title(f"loss curve ({est.optimizer_})")
    rounds = getattr(est.posterior_, "rounds", None)
    if rounds:  # the objective changes where the evidence set a new prior and noise
        ends = np.cumsum([len(r["losses"]) for r in rounds[: est.posterior_.best_round + 1]])
        for k, end in enumerate(ends[:-1]):
            label = "new prior and noise from the evidence" if k == 0 else None
            fig.axes[0].axvline(end, color="0.5", linestyle=":", label=label)
        fig.axes[0].set_title(f"loss curve ({est.optimizer_}, {len(ends)} evidence rounds)")
        if len(ends) > 1:
            fig.axes[0].legend(fontsize="small")
    fig.subplots_adjust(bottom=0.15, left=0.16)
    _save_figure(fig, paths[0])
    plt.close(fig)
    fig, axes = plt.subplots(1, 3, figsize=(11.0, 3.6), layout="constrained")
    yhat_te = est.predict(x_te)
    # the data file's columns x0 and x1 are the x_0 and x_1 of the docs
    names = ["$x_0$ (column x0)", "$x_1$ (column x1)"]
    plot.plot_feature_panels(x_te, y_te, yhat_te, feature_names=names, axes=axes[:2])
    plot.plot_predicted_vs_true(y_te, yhat_te, ax=axes[2])
    fig.suptitle("test set: data (black) and predictions (orange rings); predicted vs true")
    _save_figure(fig, paths[1])
    plt.close(fig)
    gap_est, x, y = gap
    fig = plot.plot_predictive(gap_est, x, y, title="1-D data with a gap: predictive band")
    fig.tight_layout()
    _save_figure(fig, paths[2])
    plt.close(fig)
    return paths


def fit(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if not out.parent.is_dir():
        raise CliError(f"output folder '{out.parent}' does not exist")
    if args.batch_size is not None and args.uncertainty != "none":
        raise CliError(
            f"--batch-size trains one network on minibatches, but --uncertainty "
            f"{args.uncertainty} fits a posterior on all rows; add --uncertainty none"
        )
    header, body = read_table(args.data)
    if args.target not in header:
        raise CliError(
            f"target column '{args.target}' not found in '{args.data}'; its columns are: "
            f"{', '.join(header)}"
        )
    features = parse_columns(args.features) or [h for h in header if h != args.target]
    if args.target in features:
        raise CliError(f"the target column '{args.target}' cannot also be a feature")
    if not features:
        raise CliError(f"'{args.data}' has no feature columns besides the target '{args.target}'")
    x = select_columns(args.data, header, body, features)
    y = select_columns(args.data, header, body, [args.target])[:, 0]
    n_val = round(args.validation_fraction * len(y))
    if args.validation_fraction > 0 and (n_val < 1 or len(y) - n_val < 2):
        raise CliError(
            f"'{args.data}' has {len(y)} rows, too few for --validation-fraction "
            f"{args.validation_fraction}; pass --validation-fraction 0"
        )
    order = np.random.default_rng(args.seed).permutation(len(y))
    val, train = order[:n_val], order[n_val:]
    one_value = len(train) > 1 and constant_targets(y[train])
    if args.sigma == "learn" and args.uncertainty != "none" and one_value:
        raise CliError(
            f"the target column '{args.target}' holds one value ({y[train][0]:.6g}) in every "
            f"training row: --uncertainty {args.uncertainty} sets the noise by the evidence, "
            "which has no maximum then; add --sigma NOISE_STD or --uncertainty none"
        )
    sizes = f"--hidden {_hidden_text(args.hidden)} on {len(train)} rows of {len(features)} features"
    _check_fits_in_memory(len(train), len(features), args.hidden, sizes, args.batch_size)
    est = _regressor(
        args, sigma=args.sigma, prior_std=args.prior_std, early_stopping=args.early_stopping
    )
    seconds = _fit_with_progress(est, x[train], y[train], args.quiet, keep_interrupted=True)
    metrics: dict[str, Any] = {}
    print(
        f"fitted {_networks(est, len(features))} on {len(train)} rows with {_method(est)} "
        f"in {seconds:.2f} s {_iterations(est, 'epochs' if args.batch_size else 'iterations')}"
    )
    for name, rows in (("train", train), ("validation", val)):
        if len(rows):
            rmse = _rmse(est.predict(x[rows]), y[rows])
            metrics[f"{name}_rmse"] = rmse
            r2_text = "n/a"
            if len(rows) > 1:
                metrics[f"{name}_r2"] = est.score(x[rows], y[rows])
                r2_text = f"{metrics[f'{name}_r2']:.4f}"
            ll = _log_likelihood(est, x[rows], y[rows])
            metrics[f"{name}_log_likelihood"] = ll
            print(
                f"{name:>10}: RMSE {rmse:.6g} | R^2 {r2_text} | log-likelihood {ll:.4g} | "
                f"{len(rows)} rows"
            )
    how = "fixed" if args.sigma != "learn" else "learned"
    if args.sigma == "learn" and est.uncertainty is not None:
        how = "set by the evidence"
    print(f"noise sigma {est.sigma_:.6g} ({how})")
    extra = {
        "feature_names": features,
        "target": args.target,
        "source": str(args.data),
        "n_rows": len(y),
        **metrics,
    }
    io.save(out, est, metadata=extra)
    if est.stop_reason_ == "interrupted":  # Ctrl-C: what it had is saved, and it says so
        unit = "epochs" if args.batch_size else "iterations"
        print(
            f"tinynn: interrupted after {est.n_iter_} {unit}; saved the model fitted so far "
            f"to {out}",
            file=sys.stderr,
        )
        return 130
    print(f"saved the model to {out}")
    return 0


def predict(args: argparse.Namespace) -> int:
    meta = _read_metadata(args.model)
    if meta.get("kind") != "regressor":
        raise CliError(
            f"'{args.model}' holds a bare parameter tree, not a fitted model; predict needs a "
            f"file written by 'tinynn fit' or tinynn.io.save(path, regressor)"
        )
    try:
        model = io.load(args.model)
    except ValueError as err:
        raise CliError(str(err)) from None
    header, body = read_table(args.data)
    extra = meta.get("extra", {})
    features = extra.get("feature_names")
    if not (isinstance(features, list) and all(isinstance(f, str) for f in features)):
        features = None
    if features is None:
        if len(header) != model.n_features_in_:
            raise CliError(
                f"the model expects {model.n_features_in_} features and records no column "
                f"names, but '{args.data}' has {len(header)} columns"
            )
        features = header
    x = select_columns(args.data, header, body, features)
    yhat, std = model.predict(x, return_std=True)
    target = extra.get("target") if isinstance(extra.get("target"), str) else "y"
    yhat_NO, std_NO = yhat.reshape(len(x), -1), std.reshape(len(x), -1)
    suffix = [""] if yhat_NO.shape[1] == 1 else [f"_{o}" for o in range(yhat_NO.shape[1])]
    columns = [f"{target}{s}_predicted" for s in suffix]
    if args.std:
        columns += [f"{target}{s}_std" for s in suffix]
    rows = []
    for cells, pred, noise in zip(body, yhat_NO, std_NO, strict=True):
        values = list(pred) + (list(noise) if args.std else [])
        rows.append([*cells, *(repr(float(v)) for v in values)])
    if args.out:
        write_text_atomic(args.out, lambda h: write_csv(h, [*header, *columns], rows))
        print(f"wrote {len(rows)} predictions to {args.out}", file=sys.stderr)
    else:
        write_csv(sys.stdout, [*header, *columns], rows)
    return 0


def _layer_lines(meta: dict[str, Any]) -> list[str]:
    """Return the ``layers:`` line and, for a Regressor with a posterior, the ``posterior:`` one.

    A file records layer sizes for one network; a Regressor whose posterior holds several
    (an ensemble, a mixture) records its inputs, hidden sizes and noise per output instead,
    from which the sizes of each member follow.
    """
    sizes = meta.get("layer_sizes")
    posterior = meta.get("posterior") if meta.get("kind") == "regressor" else None
    settings = meta.get("estimator_params") or {}
    members = None
    if isinstance(posterior, dict):
        listed = posterior.get("members")
        members = len(listed) if isinstance(listed, list) else settings.get("n_members")
        if posterior.get("posterior") == "laplace":
            members = None
    hidden = meta.get("hidden_sizes", settings.get("hidden_sizes"))  # the fitted ones, if saved
    if not sizes and members and isinstance(hidden, list):
        sizes = [meta.get("n_features_in"), *hidden, len(meta.get("sigma", []))]
    lines = []
    widths = _member_architectures(posterior)
    if len(widths) > 1:  # a mixture over widths: each architecture with its count
        parts = [
            f"{' -> '.join(map(str, arch))} ({_n_params(arch)} parameters each, {count} members)"
            for arch, count in widths.items()
        ]
        lines.append(f"layers: {'; '.join(parts)}")
    elif sizes and all(isinstance(n, int) and n > 0 for n in sizes):
        n_params = _n_params(sizes)
        each = f"{n_params} parameters" + ("" if not members else f" each, {members} members")
        lines.append(f"layers: {' -> '.join(map(str, sizes))} ({each})")
    if isinstance(posterior, dict):
        kind = str(posterior.get("posterior"))
        described = {
            "laplace": f"Laplace ({posterior.get('structure', '?')} precision)",
            "mixture": f"mixture of {members} "
            + ("Laplace fits" if _all_laplace(posterior) else "posteriors"),
            "ensemble": f"ensemble of {members} networks"
            + (", heteroscedastic" if posterior.get("heteroscedastic") else ""),
        }.get(kind, kind)
        lines.append(f"posterior: {described}")
    return lines


def _n_params(sizes: Any) -> int:
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


def _member_architectures(posterior: Any) -> dict[tuple[int, ...], int]:
    """Count a saved mixture's members per layer sizes (from each member's ``layers``)."""
    listed = posterior.get("members") if isinstance(posterior, dict) else None
    counts: dict[tuple[int, ...], int] = {}
    for member in listed if isinstance(listed, list) else []:
        layers = member.get("layers") if isinstance(member, dict) else None
        if not isinstance(layers, list) or not layers:
            return {}
        try:
            arch = (int(layers[0][0]), *(int(pair[1]) for pair in layers))
        except (TypeError, ValueError, IndexError):
            return {}
        counts[arch] = counts.get(arch, 0) + 1
    return counts


def _all_laplace(posterior: dict[str, Any]) -> bool:
    listed = posterior.get("members")
    return isinstance(listed, list) and all(
        isinstance(m, dict) and m.get("posterior") == "laplace" for m in listed
    )


def info(args: argparse.Namespace) -> int:
    meta = _read_metadata(args.model)
    extra = meta.get("extra", {})
    kind = "fitted Regressor" if meta.get("kind") == "regressor" else "parameter tree"
    lines = [
        f"{args.model}: tinynn {kind} (format {meta['format']} version {meta['format_version']}, "
        f"written by tinynn {meta.get('tinynn_version', '?')})"
    ]
    lines += _layer_lines(meta)
    lines.append(f"activation: {meta.get('activation') or 'not recorded'}")
    if "feature_names" in extra:
        lines.append(f"features: {', '.join(extra['feature_names'])}")
    if "target" in extra:
        lines.append(f"target: {extra['target']}")
    if meta.get("kind") == "regressor":
        fit = meta["fit"]
        lines.append("noise sigma: " + ", ".join(f"{s:.6g}" for s in meta["sigma"]))
        final = fit.get("final_loss")
        lines.append(
            f"training: {fit['optimizer']}, {fit['n_iter']} iterations ({fit['stop_reason']})"
            + ("" if final is None else f", final objective {final:.6e}")
        )
        std = meta["standardization"]
        lines.append("x mean: " + ", ".join(f"{v:.6g}" for v in std["x_mean"]))
        lines.append("x scale: " + ", ".join(f"{v:.6g}" for v in std["x_scale"]))
        lines.append(
            f"y mean: {', '.join(f'{v:.6g}' for v in std['y_mean'])} | y scale: "
            f"{', '.join(f'{v:.6g}' for v in std['y_scale'])}"
        )
    for key in sorted(k for k in extra if k.endswith(("_rmse", "_r2", "_log_likelihood"))):
        if isinstance(extra[key], (int, float)):
            lines.append(f"{key}: {extra[key]:.6g}")
    print("\n".join(lines))
    return 0
