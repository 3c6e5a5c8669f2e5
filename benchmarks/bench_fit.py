"""Time to a good fit: seconds until training RMSE <= 0.3 on the quadratic toy data, H = 30.

For every method and seed, an untimed search finds the smallest iteration budget ``k`` whose fit
reaches the target: one run with a per-iteration callback where the method offers one (scipy,
tinynn's minimize, the numpy Adam loop), otherwise doubling then bisection on the budget (exact for
L-BFGS, whose loss decreases monotonically). The timed run is then a fresh fit with budget ``k``,
from the raw data: standardization (when used), initialization and the fit are inside the timing,
the final RMSE check is not. All methods of one seed are timed interleaved in one process, one
BLAS thread; the table reports the median over seeds of the median over repeats.

Run ``python benchmarks/bench_fit.py [--quick] [--raw]``.
"""

from __future__ import annotations

import argparse
import statistics
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import _harness
import _reference as ref
import numpy as np

TARGET_RMSE = 0.3
N_HIDDEN = 30
FULL_SEEDS = (0, 1, 2, 3, 4)
ADAM_STEP = 3e-2

# fit(x_ND, y_N, seed, n_iters) -> (yhat_N, n_evaluations or None)
Fit = Callable[[np.ndarray, np.ndarray, int, int], tuple[np.ndarray, int | None]]


class Skip(Exception):
    """Raised by a method builder when the method is not available."""


def _rmse(y_N: np.ndarray, yhat_N: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(yhat_N).ravel() - y_N) ** 2)))


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values**2)))


def _standardize(x_ND: np.ndarray, y_N: np.ndarray):
    """Return (xs_ND, ys_N, to_original) with the arithmetic of StandardScaler (ddof=0)."""
    x_mean, x_std = x_ND.mean(axis=0), x_ND.std(axis=0)
    y_mean, y_std = y_N.mean(), y_N.std()
    return (x_ND - x_mean) / x_std, (y_N - y_mean) / y_std, lambda ys: ys * y_std + y_mean


# --- methods -----------------------------------------------------------------------------------


def sklearn_lbfgs(standardize: bool) -> Fit:
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise Skip("scikit-learn not installed") from None

    def fit(x_ND, y_N, seed, n_iters):
        model = MLPRegressor(
            hidden_layer_sizes=(N_HIDDEN,),
            activation="tanh",
            solver="lbfgs",
            max_iter=n_iters,
            tol=0.0,  # its default stops L-BFGS before RMSE 0.11; the budget decides instead
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if not standardize:
                model.fit(x_ND, y_N)
                return model.predict(x_ND), None
            x_scaler, y_scaler = StandardScaler(), StandardScaler()
            xs_ND = x_scaler.fit_transform(x_ND)
            ys_N = y_scaler.fit_transform(y_N[:, None])[:, 0]
            model.fit(xs_ND, ys_N)
            return y_scaler.inverse_transform(model.predict(xs_ND)[:, None])[:, 0], None

    return fit


def scipy_lbfgs_numpy(standardize: bool) -> Fit:
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise Skip("scipy not installed") from None

    def fit(x_ND, y_N, seed, n_iters, callback=None):
        to_original = lambda ys: ys  # noqa: E731
        if standardize:
            x_ND, y_N, to_original = _standardize(x_ND, y_N)
        theta_P = ref.flatten(ref.glorot_params(2, N_HIDDEN, seed))
        result = minimize(
            ref.flat_value_and_grad,
            theta_P,
            args=(x_ND, y_N, 1.0, N_HIDDEN),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": n_iters, "maxfun": 100 * n_iters + 100},
            callback=callback,
        )
        params = ref.unflatten(result.x, 2, N_HIDDEN)
        return to_original(ref.numpy_predict(params, x_ND)), int(result.nfev)

    def trace(x_ND, y_N, seed, max_iters):
        """Return the first iteration whose parameters reach the target, in one untimed run."""
        xs_ND, to_original = x_ND, lambda ys: ys
        if standardize:
            xs_ND, _, to_original = _standardize(x_ND, y_N)
        count = [0]

        def callback(intermediate_result):
            count[0] += 1
            params = ref.unflatten(intermediate_result.x, 2, N_HIDDEN)
            if _rmse(y_N, to_original(ref.numpy_predict(params, xs_ND))) <= TARGET_RMSE:
                raise StopIteration

        fit(x_ND, y_N, seed, max_iters, callback)
        hit = _rmse(y_N, fit(x_ND, y_N, seed, count[0])[0]) <= TARGET_RMSE
        return count[0] if hit else None

    fit.trace = trace
    return fit


def numpy_adam(standardize: bool) -> Fit:
    def fit(x_ND, y_N, seed, n_iters, stop_at_rmse=None):
        to_original = lambda ys: ys  # noqa: E731
        y_scale = 1.0
        if standardize:
            y_scale = float(y_N.std())
            x_ND, y_N, to_original = _standardize(x_ND, y_N)
        backprop = ref.PreallocatedBackprop(x_ND, y_N, 1.0, N_HIDDEN)
        params = ref.glorot_params(2, N_HIDDEN, seed)
        adam = ref.NumpyAdam(params, ADAM_STEP)
        for t in range(1, n_iters + 1):
            _, grads = backprop(params)
            # untimed search only: resid_N now holds yhat - y at the parameters after t - 1 steps
            if stop_at_rmse is not None and y_scale * _rms(backprop.resid_N) <= stop_at_rmse:
                return None, t - 1
            adam.update(params, grads)
        if stop_at_rmse is not None:
            return None, None
        return to_original(ref.numpy_predict(params, x_ND)), n_iters

    fit.trace = lambda x_ND, y_N, seed, max_iters: fit(x_ND, y_N, seed, max_iters, TARGET_RMSE)[1]
    return fit


def _tinynn_parts():
    try:
        from tinynn import losses, model, optim
        from tinynn.params import make_params
    except Exception as error:  # a teammate's module may not exist yet
        raise Skip(f"tinynn core not importable: {type(error).__name__}: {error}") from None
    return losses, model, optim, make_params


def _tinynn_standardize(x_ND, y_N):
    try:
        from tinynn.data import Standardizer
    except Exception:
        return _standardize(x_ND, y_N)
    x_scaler, y_scaler = Standardizer.fit(x_ND), Standardizer.fit(y_N[:, None])
    to_original = lambda ys: y_scaler.inverse_transform(ys[:, None])[:, 0]  # noqa: E731
    return x_scaler.transform(x_ND), y_scaler.transform(y_N[:, None])[:, 0], to_original


def tinynn_minimize(standardize: bool, optimizer_name: str) -> Fit:
    losses, model, optim, make_params = _tinynn_parts()
    if not hasattr(optim, optimizer_name):
        raise Skip(f"tinynn.optim.{optimizer_name} not available")
    make_optimizer = {
        "lbfgs": lambda: optim.lbfgs(),
        "levenberg_marquardt": lambda: optim.levenberg_marquardt(),
        "adam": lambda: optim.adam(ADAM_STEP),
    }[optimizer_name]

    def fit(x_ND, y_N, seed, n_iters, stop_at_rmse=None):
        to_original = lambda ys: ys  # noqa: E731
        y_original_N = y_N
        if standardize:
            x_ND, y_N, to_original = _tinynn_standardize(x_ND, y_N)
        optimizer = make_optimizer()
        hits: list[int] = []

        def callback(info):  # untimed search only: stop at the first iteration on target
            yhat_N = to_original(model.predict(info.params, x_ND))
            if _rmse(y_original_N, yhat_N) <= TARGET_RMSE:
                hits.append(info.iteration)
                return True
            return False

        result = optim.minimize(
            losses.make_objective(x_ND, y_N, sigma=1.0),
            make_params(2, [N_HIDDEN], 1, rng=seed),
            optimizer=optimizer,
            n_iters=n_iters,
            callback=None if stop_at_rmse is None else callback,
        )
        if stop_at_rmse is not None:  # n_iters counts points, the initial one included
            return None, (hits[0] + 1 if hits else None)
        return to_original(model.predict(result.params, x_ND)), None

    fit.counts_points = True  # minimize's n_iters counts the initial point: iterations + 1

    def trace(x_ND, y_N, seed, max_iters):
        """Find the budget in one untimed run with a callback, then confirm it with a fit."""
        budget = fit(x_ND, y_N, seed, max_iters, TARGET_RMSE)[1]
        if budget is not None and _rmse(y_N, fit(x_ND, y_N, seed, budget)[0]) <= TARGET_RMSE:
            return budget
        return first_hit(fit, x_ND, y_N, seed, max_iters, use_trace=False)

    fit.trace = trace
    return fit


def tinynn_regressor(standardize: bool) -> Fit:
    if not standardize:
        raise Skip("tinynn.Regressor standardizes x and y itself")
    try:
        from tinynn.estimator import Regressor
    except Exception as error:
        raise Skip(f"tinynn.Regressor not importable: {type(error).__name__}: {error}") from None

    def fit(x_ND, y_N, seed, n_iters):
        regressor = Regressor(
            hidden_sizes=(N_HIDDEN,), max_iter=n_iters, random_state=seed, uncertainty=None
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            regressor.fit(x_ND, y_N)
        return regressor.predict(x_ND), None

    fit.counts_points = True  # max_iter is minimize's n_iters: iterations + 1
    return fit


SKLEARN = "scikit-learn MLPRegressor(solver='lbfgs', activation='tanh', tol=0)"
LM = "tinynn minimize(make_objective, optimizer=levenberg_marquardt())"
RECOMMENDED = "tinynn minimize(make_objective, optimizer=lbfgs())"
REGRESSOR = "tinynn.Regressor(uncertainty=None), one network, other settings default"
METHODS: dict[str, Callable[[bool], Fit]] = {
    SKLEARN: sklearn_lbfgs,
    "scipy L-BFGS-B + hand-written numpy gradient": scipy_lbfgs_numpy,
    LM: lambda standardize: tinynn_minimize(standardize, "levenberg_marquardt"),
    RECOMMENDED: lambda standardize: tinynn_minimize(standardize, "lbfgs"),
    REGRESSOR: tinynn_regressor,
    f"Adam (lr {ADAM_STEP:g}), hand-written numpy": numpy_adam,
    f"Adam (lr {ADAM_STEP:g}), tinynn minimize": lambda standardize: tinynn_minimize(
        standardize, "adam"
    ),
}


def first_hit(fit: Fit, x_ND, y_N, seed: int, max_iters: int, use_trace=True) -> int | None:
    """Return the smallest budget whose fit reaches the target.

    A method with a ``trace`` attribute finds it in one run; the others by doubling, then bisection
    (exact for L-BFGS, whose loss decreases monotonically).
    """
    trace = getattr(fit, "trace", None) if use_trace else None
    if trace is not None:
        return trace(x_ND, y_N, seed, max_iters)
    low, high = 0, 1
    while _rmse(y_N, fit(x_ND, y_N, seed, high)[0]) > TARGET_RMSE:
        if high >= max_iters:
            return None
        low, high = high, min(2 * high, max_iters)
    while high - low > 1:
        middle = (low + high) // 2
        if _rmse(y_N, fit(x_ND, y_N, seed, middle)[0]) <= TARGET_RMSE:
            high = middle
        else:
            low = middle
    return high


@dataclass
class Outcome:
    """Per-seed results of one method on one data variant."""

    seconds: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # paired with scikit-learn, per seed
    iters: list[int] = field(default_factory=list)
    evals: list[int] = field(default_factory=list)
    misses: int = 0
    note: str = ""

    def cell(self, n_seeds: int) -> str:
        if self.note and not self.seconds:
            return "skipped"
        if len(self.seconds) * 2 <= n_seeds:
            return f"not reached ({self.misses}/{n_seeds} seeds missed)"
        text = f"{_harness.format_seconds(self.median)} ({statistics.median(self.iters):g} iters"
        if self.ratios and len(self.ratios) == len(self.seconds):
            low, high = min(self.ratios), max(self.ratios)
            text = (
                f"{_harness.format_seconds(self.median)} ({statistics.median(self.ratios):.2f}x "
                f"[{low:.2f}-{high:.2f}], {statistics.median(self.iters):g} iters"
            )
        if self.evals:
            text += f", {statistics.median(self.evals):g} evals"
        text += ")"
        if self.misses:
            text += f", missed on {self.misses}/{n_seeds} seeds"
        return text

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def measure(
    variants, seeds, *, repeats: int, max_iters: dict[bool, int], methods=None, n_examples=300
):
    """Return outcomes[(name, standardize)] for every method (default: all) and data variant."""
    methods = METHODS if methods is None else {name: METHODS[name] for name in methods}
    x_ND, y_N = ref.make_quadratic_data(n_examples)
    outcomes: dict[tuple[str, bool], Outcome] = {}
    fits: dict[tuple[str, bool], Fit] = {}
    for standardize in variants:
        for name, build in methods.items():
            outcome = outcomes[(name, standardize)] = Outcome()
            try:
                fits[(name, standardize)] = build(standardize)
            except Skip as reason:
                outcome.note = f"skipped: {reason}"
    for seed in seeds:
        runners = {}
        for (name, standardize), fit in fits.items():
            outcome = outcomes[(name, standardize)]
            try:
                budget = first_hit(fit, x_ND, y_N, seed, max_iters[standardize])
            except Exception as error:  # a half-written tinynn module
                outcome.note = f"failed: {type(error).__name__}: {error}"
                continue
            if budget is None:
                outcome.misses += 1
                continue
            _, n_evals = fit(x_ND, y_N, seed, budget)
            outcome.iters.append(budget - 1 if getattr(fit, "counts_points", False) else budget)
            if n_evals is not None and not name.startswith("Adam"):
                outcome.evals.append(n_evals)
            runners[(name, standardize)] = _runner(fit, x_ND, y_N, seed, budget)
        if not runners:
            continue
        keyed = {f"{name}|{standardize}": run for (name, standardize), run in runners.items()}
        samples = _harness.interleaved_samples(keyed, repeats=repeats, min_sample_seconds=0.0)
        for name, standardize in runners:
            key = f"{name}|{standardize}"
            outcome = outcomes[(name, standardize)]
            outcome.seconds.append(statistics.median(samples[key]))
            reference = f"{SKLEARN}|{standardize}"
            if reference in samples:  # this seed's rounds, paired with the reference's
                outcome.ratios.append(_harness.paired_ratio(samples, key, reference)[0])
    return outcomes


def _runner(fit: Fit, x_ND, y_N, seed: int, budget: int) -> Callable[[int], None]:
    def run(n_fits: int) -> None:
        for _ in range(n_fits):
            fit(x_ND, y_N, seed, budget)

    return run


def report(outcomes, variants, seeds, n_examples: int = 300) -> _harness.Report:
    """Build the markdown report with the time-to-target table and the acceptance check."""
    labels = {False: "raw data", True: "x and y standardized"}
    header = ["method", *(labels[v] for v in variants)]
    names = list(dict.fromkeys(name for name, _ in outcomes))
    rows = [[name, *(outcomes[(name, v)].cell(len(seeds)) for v in variants)] for name in names]
    result = _harness.Report(
        f"Time to training RMSE <= {TARGET_RMSE} (quadratic toy data, N={n_examples}, "
        f"H={N_HIDDEN}, median of {len(seeds)} seeds)"
    )
    result.sections.append(_harness.markdown_table(header, rows))
    if True in variants and (SKLEARN, True) in outcomes:
        baseline = outcomes[(SKLEARN, True)]
        bounds = {LM: 0.5, REGRESSOR: 0.6}
        for name, bound in bounds.items():
            mine = outcomes.get((name, True), Outcome())
            value = None
            if len(mine.ratios) * 2 > len(seeds) and len(baseline.seconds) * 2 > len(seeds):
                value = statistics.median(mine.ratios)
            elif mine.seconds and baseline.seconds:
                value = float("inf")
            result.checks.append(
                _harness.Check(
                    f"{name} / MLPRegressor lbfgs, both standardized: time to RMSE <= "
                    f"{TARGET_RMSE}",
                    value,
                    bound,
                    note="median over seeds of the paired ratio (per round, same run)",
                )
            )
    for (name, standardize), outcome in outcomes.items():
        if outcome.note:
            result.notes.append(f"{name} ({labels[standardize]}): {outcome.note}")
    result.notes.append(
        "iters = the smallest number of iterations (optimizer updates) that reaches the target; "
        "evals = loss-and-gradient evaluations in that run (scipy); standardization, "
        "initialization and fit are timed."
    )
    return result


def run(
    *,
    quick: bool = False,
    seeds=None,
    repeats: int | None = None,
    variants=None,
    methods=None,
    n_examples: int = 300,
    target: float = 0.3,
) -> _harness.Report:
    """Run the time-to-target benchmark and return its report.

    ``target`` is the training RMSE to reach (the module's ``TARGET_RMSE`` while it runs).

    ``quick`` uses 2 seeds and no Adam rows. By default only standardized data is used;
    ``variants=(False, True)`` adds the raw data (slow: thousands of iterations). The other
    arguments override the defaults (the smoke test passes a small ``n_examples``).
    """
    global TARGET_RMSE
    TARGET_RMSE = target
    seeds = seeds if seeds is not None else ((0, 1) if quick else FULL_SEEDS)
    repeats = repeats if repeats is not None else (2 if quick else 5)
    if variants is None:
        variants = (True,)
    if methods is None:
        methods = [name for name in METHODS if not (quick and name.startswith("Adam"))]
    outcomes = measure(
        variants,
        seeds,
        repeats=repeats,
        max_iters={False: 20000, True: 5000},
        methods=methods,
        n_examples=n_examples,
    )
    return report(outcomes, variants, seeds, n_examples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, no Adam rows")
    parser.add_argument(
        "--raw", action="store_true", help="add a raw-data column (several minutes)"
    )
    parser.add_argument("--target", type=float, default=0.3, help="training RMSE to reach")
    args = parser.parse_args(argv)
    variants = (False, True) if args.raw else None
    with _harness.limit_threads() as threads:
        print(f"<!-- threads: {threads} -->\n")
        print(run(quick=args.quick, variants=variants, target=args.target).markdown())


if __name__ == "__main__":
    main()


def defaults_and_lbfgs_bookkeeping(*, seeds=FULL_SEEDS, repeats: int = 7) -> _harness.Report:
    """Two paired comparisons at a fixed amount of work, median over seeds of per-round ratios.

    - The default fit on N = 50 rows: ``tinynn.Regressor()`` against ``MLPRegressor()``, both
      with their own defaults, whole fits; one Laplace fit of 30 units (the default before the
      width search) and one network without a posterior beside it.
    - L-BFGS bookkeeping: 100 iterations of tinynn's ``minimize(optimizer=lbfgs())`` against
      scipy's L-BFGS-B with the hand-written numpy gradient, from the same start on standardized
      data, as time per loss evaluation.
    """
    try:
        from scipy.optimize import minimize as scipy_minimize
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor

        from tinynn import losses, optim
        from tinynn.estimator import Regressor
    except ImportError as error:
        result = _harness.Report("Default fits and L-BFGS bookkeeping")
        result.notes.append(f"skipped: {error}")
        return result
    small_x, small_y = ref.make_quadratic_data(50)
    x_ND, y_N = ref.make_quadratic_data(300)
    xs_ND, ys_N, _ = _standardize(x_ND, y_N)
    loss = losses.make_objective(xs_ND, ys_N, sigma=1.0)
    defaults, laplaces, points, per_eval = [], [], [], []
    for seed in seeds:

        def sklearn_default(n, seed=seed):
            for _ in range(n):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    MLPRegressor(random_state=seed).fit(small_x, small_y)

        def tinynn_default(n, seed=seed):
            for _ in range(n):
                Regressor(random_state=seed).fit(small_x, small_y)

        def tinynn_point(n, seed=seed):
            for _ in range(n):
                Regressor(random_state=seed, uncertainty=None).fit(small_x, small_y)

        def tinynn_laplace(n, seed=seed):
            for _ in range(n):
                Regressor((30,), random_state=seed, uncertainty="laplace").fit(small_x, small_y)

        samples = _harness.interleaved_samples(
            {
                "sklearn": sklearn_default,
                "tinynn": tinynn_default,
                "laplace": tinynn_laplace,
                "point": tinynn_point,
            },
            repeats=repeats,
            min_sample_seconds=0.0,
        )
        defaults.append(_harness.paired_ratio(samples, "tinynn", "sklearn")[0])
        laplaces.append(_harness.paired_ratio(samples, "laplace", "sklearn")[0])
        points.append(_harness.paired_ratio(samples, "point", "sklearn")[0])
        start = ref.glorot_params(2, N_HIDDEN, seed)
        theta0 = ref.flatten(start)
        evals = {}

        def scipy_run(n, theta0=theta0, evals=evals):
            for _ in range(n):
                out = scipy_minimize(
                    ref.flat_value_and_grad, theta0, args=(xs_ND, ys_N, 1.0, N_HIDDEN),
                    jac=True, method="L-BFGS-B", options={"maxiter": 100},
                )  # fmt: skip
                evals["scipy"] = out.nfev

        def tinynn_run(n, start=start, evals=evals):
            for _ in range(n):
                out = optim.minimize(loss, start, optimizer=optim.lbfgs(), n_iters=101)
                evals["tinynn"] = out.n_evals

        samples = _harness.interleaved_samples(
            {"scipy": scipy_run, "tinynn": tinynn_run}, repeats=repeats, min_sample_seconds=0.0
        )
        ratio = _harness.paired_ratio(samples, "tinynn", "scipy")[0]
        per_eval.append(ratio * evals["scipy"] / evals["tinynn"])
    result = _harness.Report("Default fits and L-BFGS bookkeeping (paired, median over seeds)")
    rows = [
        [
            "tinynn.Regressor() / MLPRegressor(), defaults (tinynn's: the width chosen by the "
            "evidence, ten evidence-tuned Laplace fits mixed), N=50, whole fit",
            f"{statistics.median(defaults):.2f}x [{min(defaults):.2f}-{max(defaults):.2f}]",
        ],
        [
            "tinynn.Regressor((30,), uncertainty='laplace') / MLPRegressor(), one Laplace fit "
            "(the default before the width search), N=50",
            f"{statistics.median(laplaces):.2f}x [{min(laplaces):.2f}-{max(laplaces):.2f}]",
        ],
        [
            "tinynn.Regressor(uncertainty=None) / MLPRegressor(), one network each, N=50",
            f"{statistics.median(points):.2f}x [{min(points):.2f}-{max(points):.2f}]",
        ],
        [
            "tinynn minimize(lbfgs()) / scipy L-BFGS-B + numpy, time per evaluation, 100 iters",
            f"{statistics.median(per_eval):.2f}x [{min(per_eval):.2f}-{max(per_eval):.2f}]",
        ],
    ]
    result.sections.append(
        _harness.markdown_table(["comparison", "ratio [range over seeds]"], rows)
    )
    result.checks = [
        _harness.Check(
            "Regressor defaults / MLPRegressor defaults, N=50",
            statistics.median(defaults),
            1.0,
            note="tinynn's default fits ten to fifteen Laplace posteriors, scikit-learn's one "
            "network",
        ),
        _harness.Check("L-BFGS per evaluation / scipy + numpy", statistics.median(per_eval), 1.1),
    ]
    return result
