"""Every public entry point against every class of bad or extreme input, one cell each.

The table is two lists: entry points (a name, a call that feeds one data argument, and the
size of a good value for it) and input classes (how to spoil a good value, and what a cell
expects by default). A cell expects an exception (type and message) or a correct result;
``OVERRIDES`` holds the cells whose right behaviour differs from their class's default. Adding
an entry point or an input class is one line; every cell is a test of its own.

The extreme classes are finite numbers scaled by 1e300 and 1e-300: legitimate data, which must
give the same answer as unscaled data up to the scale (checked for each entry point by
``same_as_unscaled``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinynn import io, metrics
from tinynn.cli import main
from tinynn.compat import predict_y_given_x_with_NN
from tinynn.data import Standardizer, train_test_split
from tinynn.estimator import Regressor
from tinynn.losses import gaussian_nll, log_prior, make_objective, mse, rmse
from tinynn.model import jacobian, predict
from tinynn.posterior import fit_ensemble, fit_laplace

N = 24
RNG = np.random.default_rng(0)
X_GOOD = RNG.uniform(-2.0, 2.0, size=(N, 2))
Y_GOOD = X_GOOD[:, 0] ** 2 - X_GOOD[:, 1] + 0.1 * RNG.normal(size=N)
NET = [
    {"w": RNG.normal(size=(2, 3)), "b": RNG.normal(size=3)},
    {"w": RNG.normal(size=(3, 1)), "b": RNG.normal(size=1)},
]


def _fitted_regressor() -> Regressor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Regressor((3,), uncertainty=None, max_iter=30, random_state=0).fit(X_GOOD, Y_GOOD)


def _fitted_laplace() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_laplace(X_GOOD, Y_GOOD, (3,), n_iters=30, max_rounds=2, rng=0)


REGRESSOR = _fitted_regressor()
LAPLACE = _fitted_laplace()


def _quiet(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` without warnings: the fits here are tiny (convergence is tested elsewhere)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Warning)
        return fn()


def _csv(x_ND: Any, y_N: Any) -> str:
    """A CSV table of columns a, b, y; cells are written as given (bad ones included)."""
    rows = ["a,b,y"]
    for row_x, value in zip(x_ND, y_N, strict=False):
        rows.append(",".join(str(v) for v in [*list(row_x), value]))
    return "\n".join(rows) + "\n"


# -- input classes: spoil the good value of an argument ------------------------------------------


def _with(value: Any, fill: Any) -> Any:
    out = np.array(value, dtype=object if isinstance(fill, str) else type(fill)).copy()
    out.flat[1] = fill
    return out


SPOIL: dict[str, Callable[[np.ndarray], Any]] = {
    "nan": lambda v: _with(v, np.nan),
    "inf": lambda v: _with(v, np.inf),
    "-inf": lambda v: _with(v, -np.inf),
    "complex": lambda v: v + 1j,
    "empty": lambda v: v[:0],
    "ragged": lambda v: [list(np.atleast_1d(r)) for r in v[:-1]] + [[1.0, 2.0, 3.0, 4.0]],
    "strings": lambda v: np.full(v.shape, "a"),
    "None": lambda v: None,
    "wrong width": lambda v: np.column_stack([v, v]) if v.ndim == 2 else v[:-1],
    "3-d": lambda v: v[..., None, None],
    "huge (x 1e300)": lambda v: v * 1e300,
    "tiny (x 1e-300)": lambda v: v * 1e-300,
}
EXTREME = ("huge (x 1e300)", "tiny (x 1e-300)")
SCALE = {"huge (x 1e300)": 1e300, "tiny (x 1e-300)": 1e-300}

# what a cell of each class expects unless OVERRIDES says otherwise: (exception, message regex)
DEFAULT: dict[str, tuple[type[BaseException], str]] = {
    "nan": (ValueError, r"must be finite, got nan|NaN or infinity \(nan"),
    "inf": (ValueError, r"must be finite, got inf|NaN or infinity \(inf"),
    "-inf": (ValueError, r"must be finite, got -inf|NaN or infinity \(-inf"),
    "complex": (TypeError, r"real numbers"),
    "empty": (ValueError, r"at least one|same shape|same number of examples"),
    "ragged": (ValueError, r"rectangular|ragged|inhomogeneous"),
    "strings": (TypeError, r"real numbers|dtype <U1|numeric"),
    "None": ((TypeError, ValueError), r"None"),  # type: ignore[dict-item]
    "wrong width": (ValueError, r"features|same shape|same number|shape"),
    "3-d": (ValueError, r"dimensions|shape|2-D|2D"),
}


# -- entry points --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One public entry point: ``call(value)`` feeds ``value`` as its data argument ``good``."""

    name: str
    call: Callable[[Any], Any]
    good: np.ndarray
    # the entry point's answer on good data scaled by s equals f(answer on good data, s)
    scaled: Callable[[Any, float], Any] | None = None


def _spread(value: Any) -> float:
    """The largest magnitude of a numeric value (1 for anything else): a matching sigma."""
    try:
        if value is None or np.iscomplexobj(value):
            return 1.0
        peak = float(np.max(np.abs(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return 1.0
    return peak if 0.0 < peak < np.inf else 1.0


ZEROS = np.zeros(N)
ONES = np.ones(N)

ENTRIES = [
    Entry("model.predict(x)", lambda v: predict(NET, v), X_GOOD),
    Entry("model.jacobian(x)", lambda v: jacobian(NET, v), X_GOOD),
    Entry(
        "compat.predict_y_given_x_with_NN(x)", lambda v: predict_y_given_x_with_NN(v, NET), X_GOOD
    ),
    Entry(
        "losses.gaussian_nll(y)",
        lambda v: gaussian_nll(v, ZEROS, sigma=_spread(v)),
        Y_GOOD,
        lambda a, s: a + N * np.log(s),
    ),
    Entry("losses.mse(y)", lambda v: mse(v, ZEROS), Y_GOOD, lambda a, s: a * s * s),
    Entry("losses.rmse(y)", lambda v: rmse(v, ZEROS), Y_GOOD, lambda a, s: a * s),
    Entry(
        "losses.log_prior(params)",
        lambda v: log_prior([{"w": v, "b": np.zeros(2)}], prior_std=_spread(v)),
        X_GOOD,
        lambda a, s: a - 2 * (N + 1) * np.log(s),
    ),
    Entry("losses.make_objective(x)", lambda v: make_objective(v, Y_GOOD)(NET), X_GOOD),
    Entry(
        "losses.make_objective(y)",
        lambda v: make_objective(X_GOOD, v, sigma=_spread(v))(NET),
        Y_GOOD,
    ),
    Entry(
        "data.Standardizer.fit(x)",
        lambda v: Standardizer.fit(v).transform(v),
        X_GOOD,
        lambda a, s: a,
    ),
    Entry("data.train_test_split(x)", lambda v: train_test_split(v, Y_GOOD, rng=0), X_GOOD),
    Entry(
        "Regressor.fit(x)",
        lambda v: _quiet(
            lambda: (
                Regressor((3,), uncertainty=None, max_iter=30, random_state=0)
                .fit(v, Y_GOOD)
                .score(v, Y_GOOD)
            )
        ),
        X_GOOD,
        lambda a, s: a,
    ),
    Entry(
        "Regressor.fit(y)",
        lambda v: _quiet(
            lambda: (
                Regressor((3,), uncertainty=None, max_iter=30, random_state=0)
                .fit(X_GOOD, v)
                .score(X_GOOD, v)
            )
        ),
        Y_GOOD,
        lambda a, s: a,
    ),
    Entry("Regressor.predict(x)", lambda v: REGRESSOR.predict(v), X_GOOD),
    Entry("Regressor.score(y)", lambda v: REGRESSOR.score(X_GOOD, v), Y_GOOD),
    Entry(
        "posterior.fit_laplace(y)",
        lambda v: _quiet(
            lambda: (
                fit_laplace(X_GOOD, v, (3,), n_iters=30, max_rounds=2, rng=0).predict(X_GOOD).mean
            )
        ),
        Y_GOOD,
    ),
    Entry(
        "posterior.fit_ensemble(x)",
        lambda v: _quiet(
            lambda: fit_ensemble(v, Y_GOOD, (3,), n_members=2, n_iters=20, rng=0).predict(v).mean
        ),
        X_GOOD,
    ),
    Entry("Laplace.predict(x)", lambda v: LAPLACE.predict(v).std, X_GOOD),
    Entry(
        "metrics.gaussian_log_likelihood(y)",
        lambda v: metrics.gaussian_log_likelihood(v, ZEROS, _spread(v) * ONES),
        Y_GOOD,
        lambda a, s: a - np.log(s),
    ),
    Entry(
        "metrics.crps_gaussian(y)",
        lambda v: metrics.crps_gaussian(v, ZEROS, _spread(v) * ONES),
        Y_GOOD,
        lambda a, s: a * s,
    ),
    Entry(
        "metrics.interval_coverage(y)",
        lambda v: metrics.interval_coverage(v, -_spread(v) * ONES, _spread(v) * ONES),
        Y_GOOD,
        lambda a, s: a,
    ),
    Entry(
        "io.save(tree)",
        lambda v: io.save(Path(_TMP[0]) / "t.npz", [{"w": v, "b": np.zeros(2)}]),
        X_GOOD,
    ),
]

# CLI entry points: the spoiled value becomes CSV cells (x columns a, b or target y)
CLI_ENTRIES = ("tinynn fit (x cells)", "tinynn fit (y cells)", "tinynn predict (x cells)")

_TMP: list[str] = []

# cells whose right behaviour is not their class's default:
# (entry, class) -> ("ok", None) for a correct result, or (exception, regex)
OVERRIDES: dict[tuple[str, str], tuple[Any, Any]] = {
    # zero examples: empty answers where that is what was asked for
    ("model.predict(x)", "empty"): ("ok", None),
    ("model.jacobian(x)", "empty"): ("ok", None),
    ("compat.predict_y_given_x_with_NN(x)", "empty"): ("ok", None),
    ("Laplace.predict(x)", "empty"): ("ok", None),
    ("Regressor.predict(x)", "empty"): (ValueError, r"X has 0 samples .* at least 1 is required"),
    ("Regressor.fit(y)", "empty"): (ValueError, r"y must have shape \(24,\)"),
    ("Regressor.score(y)", "empty"): (ValueError, r"y must have shape \(24,\)"),
    # a fit or transform learns the width of x from x itself: more columns are a new problem
    ("data.Standardizer.fit(x)", "wrong width"): ("ok", None),
    ("data.train_test_split(x)", "wrong width"): ("ok", None),
    ("Regressor.fit(x)", "wrong width"): ("ok", None),
    ("posterior.fit_ensemble(x)", "wrong width"): ("ok", None),
    # scikit-learn's convention for complex X (a ValueError)
    ("Regressor.fit(x)", "complex"): (ValueError, r"Complex data not supported"),
    ("Regressor.predict(x)", "complex"): (ValueError, r"Complex data not supported"),
    # a prior or a file takes a tree of numbers: nested lists are a tree, any shape a leaf
    ("losses.log_prior(params)", "ragged"): ("ok", None),
    ("losses.log_prior(params)", "empty"): ("ok", None),
    ("losses.log_prior(params)", "wrong width"): ("ok", None),
    ("losses.log_prior(params)", "3-d"): ("ok", None),
    ("losses.log_prior(params)", "complex"): (TypeError, r"must be numeric, got .* complex128"),
    ("io.save(tree)", "empty"): ("ok", None),
    ("io.save(tree)", "ragged"): ("ok", None),
    ("io.save(tree)", "wrong width"): ("ok", None),
    ("io.save(tree)", "3-d"): ("ok", None),
    # io stores what it is given, bit for bit, NaN included (a diverged run can be inspected)
    ("io.save(tree)", "nan"): ("nonfinite", None),
    ("io.save(tree)", "inf"): ("nonfinite", None),
    ("io.save(tree)", "-inf"): ("nonfinite", None),
    ("io.save(tree)", "complex"): (TypeError, r"must be an array of real numbers to be saved"),
    ("io.save(tree)", "strings"): (TypeError, r"must be an array of real numbers to be saved"),
    ("io.save(tree)", "None"): (TypeError, r"None"),
    # the NLL of no data is 0, an empty sum
    ("losses.gaussian_nll(y)", "empty"): (ValueError, r"same shape"),
    # R^2 of a model of O(1) predictions on targets of 1e-300: below -1e308, so -inf
    ("Regressor.score(y)", "tiny (x 1e-300)"): ("-inf", None),
    # make_objective keeps 1 / sigma**2, which overflows below sigma = 1.49e-154: refused with
    # advice to standardize (the Regressor and tinynn fit do); gaussian_nll and log_prior
    # divide before squaring and take any positive finite std
    ("losses.make_objective(y)", "tiny (x 1e-300)"): (ValueError, r"its square underflows"),
    ("losses.make_objective(y)", "huge (x 1e300)"): (ValueError, r"standardize y first"),
    # a mean square beyond float64 is inf, the nearest float (rmse gives the finite root)
    ("losses.mse(y)", "huge (x 1e300)"): ("inf", None),
    ("Regressor.fit(x)", "empty"): (ValueError, r"X has 0 samples .* at least 1 is required"),
    # the Laplace evidence works in y's units: refused with advice beyond 1e150
    ("posterior.fit_laplace(y)", "huge (x 1e300)"): (ValueError, r"standardize y first"),
    ("posterior.fit_laplace(y)", "tiny (x 1e-300)"): (ValueError, r"standardize y first"),
}


def _expected(entry: str, cls: str) -> tuple[Any, Any]:
    if (entry, cls) in OVERRIDES:
        return OVERRIDES[entry, cls]
    if cls in EXTREME:
        return ("ok", None)
    return DEFAULT[cls]


def _finite(result: Any) -> bool:
    if isinstance(result, (Path, str)):
        return True
    if isinstance(result, tuple):
        return all(_finite(r) for r in result)
    return bool(np.all(np.isfinite(np.asarray(result, dtype=float))))


@pytest.mark.parametrize("cls", list(SPOIL))
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_cell(entry: Entry, cls: str, tmp_path: Path) -> None:
    _TMP[:] = [str(tmp_path)]
    value = SPOIL[cls](entry.good)
    kind, pattern = _expected(entry.name, cls)
    if not isinstance(kind, str):
        with pytest.raises(kind, match=pattern):
            entry.call(value)
        return
    result = entry.call(value)
    if kind == "nonfinite":  # stored as given: the file holds the same non-finite numbers
        assert np.array_equal(io.load(result)[0]["w"], value, equal_nan=True)
        return
    if kind in ("-inf", "inf"):
        assert result == float(kind)
        return
    assert _finite(result), f"{entry.name} on {cls} input returned {result!r}"
    if cls in EXTREME and entry.scaled is not None:  # the same answer as unscaled data
        want = entry.scaled(entry.call(entry.good), SCALE[cls])
        np.testing.assert_allclose(result, want, rtol=1e-6)


def _spoiled_cells(cls: str, column: str) -> str:
    """CSV text of the good table with the cells of ``column`` spoiled as ``cls`` says."""
    x, y = X_GOOD.astype(object), Y_GOOD.astype(object)
    text_for = {
        "nan": "nan", "inf": "inf", "-inf": "-inf", "complex": "1+2j", "strings": "a",
        "None": "", "3-d": "1 2",
    }  # fmt: skip
    if cls in text_for:
        if column == "y":
            y = y.copy()
            y[1] = text_for[cls]
        else:
            x = x.copy()
            x[1, 0] = text_for[cls]
        return _csv(x, y)
    if cls == "empty":
        return "a,b,y\n"
    if cls == "ragged":
        return _csv(x, y) + "1.0,2.0\n"
    if cls == "wrong width":
        return _csv(x, y).replace("a,b,y", "a,b,y,extra", 1)  # header wider than the rows
    scale = SCALE[cls]
    if column == "y":
        return _csv(x, Y_GOOD * scale)
    return _csv(X_GOOD * scale, y)


CLI_MESSAGE = {
    "nan": r"not a number|finite|missing",
    "inf": r"not a number|finite",
    "-inf": r"not a number|finite",
    "complex": r"not a number",
    "empty": r"no data rows",
    "ragged": r"has 2 cells|cells",
    "strings": r"not a number",
    "None": r"empty|missing",
    "wrong width": r"cells|columns",
    "3-d": r"not a number",
}


@pytest.mark.parametrize("cls", list(SPOIL))
@pytest.mark.parametrize("entry", CLI_ENTRIES)
def test_cli_cell(entry: str, cls: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    column = "y" if "(y" in entry else "a"
    table = _spoiled_cells(cls, column)
    data = tmp_path / "data.csv"
    model = tmp_path / "m.npz"
    if entry.startswith("tinynn predict"):
        good = tmp_path / "good.csv"
        good.write_text(_csv(X_GOOD, Y_GOOD))
        assert main(["fit", str(good), "--target", "y", "--hidden", "3", "--out", str(model),
                     "--quiet"]) == 0  # fmt: skip
        capsys.readouterr()
        data.write_text(table)  # predict ignores the y column
        status = main(["predict", str(model), str(data), "--out", str(tmp_path / "p.csv")])
    else:
        data.write_text(table)
        status = _quiet(lambda: main(["fit", str(data), "--target", "y", "--hidden", "3",
                                      "--out", str(model), "--quiet"]))  # fmt: skip
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if cls in EXTREME:
        assert status == 0, err
        if entry.startswith("tinynn fit"):
            est = io.load(model)
            scale = SCALE[cls]
            xs = X_GOOD * (scale if column == "a" else 1.0)
            ys = Y_GOOD * (scale if column == "y" else 1.0)
            assert est.score(xs, ys) > 0.5  # fitted as well as unscaled data, not R^2 0 or nan
        return
    assert status == 2, err
    assert err.startswith("tinynn: error: ")
    assert len(err.strip().splitlines()) == 1
    assert re.search(CLI_MESSAGE[cls], err), err
