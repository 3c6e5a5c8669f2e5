"""Input checks of :class:`tinynn.estimator.Regressor` (private to :mod:`tinynn.estimator`).

They follow scikit-learn's conventions (2-D X, "Reshape your data", NaN messages) so that its
``check_estimator`` suite passes.

Shape suffixes: N examples, D input features, O outputs.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tinynn import optim
from tinynn._checks import (
    check_choice,
    check_int,
    check_positive,
    column_mean_scale,
    describe,
)
from tinynn.posterior import WIDTHS

# Plain gradient steps need a step size tuned to each data set: on the notebook's toy data they
# reached R^2 from 0.45 to 0.98 in 500 iterations depending on the step, where Adam reached 1.0.
# They stay in tinynn.optim for hand-written loops; the Regressor takes them only as objects.
WITHDRAWN = ("gradient_descent", "momentum", "nesterov")
OPTIMIZERS = ("auto", *(name for name in optim.OPTIMIZERS if name not in WITHDRAWN))
UNCERTAINTIES = ("laplace", "laplace_mixture", "ensemble")
LOO_UNCERTAINTIES = ("laplace", "laplace_mixture")  # those that can choose among hidden_sizes


def _hidden_candidates(value: Any) -> list[list[int]]:
    """Return the architectures ``hidden_sizes`` names: one sequence of ints, or several."""
    if isinstance(value, np.ndarray) and value.ndim in (1, 2):
        value = value.tolist()
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        value = (int(value),)
    expected = '"auto", a sequence of ints, or a sequence of such sequences (candidates)'
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"hidden_sizes must be {expected}, got {describe(value)}")
    nested = [isinstance(h, (list, tuple, np.ndarray)) for h in value]
    if not any(nested):
        return [[check_int(h, "hidden_sizes[i]", minimum=1) for h in value]]
    if not all(nested):
        raise TypeError(
            f"hidden_sizes must be {expected}, got a mix of ints and sequences: {value!r}"
        )
    return [[check_int(h, "hidden_sizes[k][i]", minimum=1) for h in sizes] for sizes in value]


# hidden_sizes="auto": one network of 30 units, or, with a Laplace posterior, the widths of
# tinynn.posterior.WIDTHS grown while the evidence rises
AUTO_HIDDEN = [30]
AUTO_CANDIDATES = [list(hidden) for hidden in WIDTHS]


def validate_settings(est: Any) -> dict[str, Any]:
    """Check a Regressor's constructor arguments (scikit-learn validates in fit, not __init__)."""
    auto = isinstance(est.hidden_sizes, str) and est.hidden_sizes == "auto"
    if auto:
        candidates = AUTO_CANDIDATES if est.uncertainty in LOO_UNCERTAINTIES else [AUTO_HIDDEN]
    else:
        candidates = _hidden_candidates(est.hidden_sizes)
    strength = 0.0
    if est.prior_std is not None and est.alpha is not None:
        raise ValueError(
            "set at most one of prior_std and alpha (alpha = 1 / prior_std**2), got both"
        )
    if est.prior_std is not None:
        strength = 1.0 / check_positive(est.prior_std, "prior_std") ** 2
    elif est.alpha is not None:
        if isinstance(est.alpha, bool) or not isinstance(est.alpha, numbers.Real):
            raise TypeError(f"alpha must be a number >= 0 or None, got {describe(est.alpha)}")
        strength = float(est.alpha)
        if not np.isfinite(strength) or strength < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {est.alpha!r}")
    if isinstance(est.sigma, str):
        check_choice(est.sigma, "sigma", ("learn",))
        sigma = None
    else:
        sigma = check_positive(est.sigma, "sigma")
    fraction = float(est.validation_fraction)
    if est.early_stopping and not 0.0 < fraction < 1.0:
        raise ValueError(
            f"validation_fraction must be in (0, 1) when early_stopping=True, got {fraction}"
        )
    uncertainty = est.uncertainty
    if uncertainty is not None:
        uncertainty = check_choice(uncertainty, "uncertainty", UNCERTAINTIES)
        if est.early_stopping:
            raise ValueError(
                f"early_stopping=True does not combine with uncertainty={uncertainty!r}: the "
                "evidence sets the prior and the noise instead of a validation split; turn "
                "one of them off"
            )
        if est.alpha is not None and strength == 0:
            raise ValueError(
                f"uncertainty={uncertainty!r} needs a prior: alpha must be > 0 or None "
                "(None: set by the evidence), got 0"
            )
    if len(candidates) > 1 and uncertainty not in LOO_UNCERTAINTIES and not auto:
        raise ValueError(
            f"hidden_sizes with {len(candidates)} candidate architectures is chosen among by "
            "the Laplace posterior's leave-one-out log-likelihood, so it needs uncertainty "
            f"'laplace' or 'laplace_mixture', got uncertainty={uncertainty!r}"
        )
    choice = est.optimizer
    if isinstance(choice, str) and choice in WITHDRAWN:
        raise ValueError(
            f"optimizer={choice!r} is not offered by name: plain gradient steps need a step "
            f"size tuned to each data set (on the notebook's toy data they reach R^2 0.45 to "
            f"0.98 in 500 iterations, Adam 1.0); use 'adam', 'lbfgs' or 'auto', or pass "
            f"tinynn.optim.{choice}(step) to choose the step yourself"
        )
    if isinstance(choice, str):
        check_choice(choice, "optimizer", OPTIMIZERS)
    elif not isinstance(choice, (optim.Optimizer, optim.LBFGS, optim.LevenbergMarquardt)):
        raise TypeError(
            f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))} or an optimizer "
            f"object such as tinynn.optim.adam(0.01), got {describe(choice)}"
        )
    batch_size = est.batch_size
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        if uncertainty is not None:
            raise ValueError(
                f"batch_size={batch_size} trains one network on minibatches, but "
                f"uncertainty={uncertainty!r} fits its posterior on all rows; set "
                f"uncertainty=None, or batch_size=None"
            )
        full_batch = choice if isinstance(choice, str) else type(choice).__name__
        if full_batch in ("lbfgs", "levenberg_marquardt", "LBFGS", "LevenbergMarquardt"):
            raise ValueError(
                f"batch_size={batch_size} needs a first-order optimizer ('adam', 'rmsprop', "
                f"'auto' or an optimizer object such as tinynn.optim.adam(0.01)), got "
                f"optimizer={full_batch!r}, which needs the loss on all rows"
            )
    return {
        "batch_size": batch_size,
        "uncertainty": uncertainty,
        "n_members": check_int(est.n_members, "n_members", minimum=1),
        "hidden": candidates[0],
        "candidates": candidates,
        "auto": auto,
        "strength": strength,
        "sigma": sigma,
        "max_iter": check_int(est.max_iter, "max_iter", minimum=1),
        "tol": None if est.tol is None else check_positive(est.tol, "tol"),
        "patience": check_int(est.n_iter_no_change, "n_iter_no_change", minimum=1),
        "verbose": check_int(est.verbose, "verbose", minimum=0),
    }


def check_X(X: Any, name: str = "X") -> np.ndarray:
    """Return ``X`` as a fresh 2-D float64 array after scikit-learn-style checks."""
    if X is None:
        raise ValueError(f"{name} must be an array of shape (n_samples, n_features), got None")
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{name} is a sparse matrix, which Regressor does not support; pass dense data, "
            f"e.g. {name}.toarray()"
        )
    try:
        arr = np.asarray(X)
    except ValueError as err:
        raise ValueError(f"{name} must be a rectangular array of numbers ({err})") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}")
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except TypeError as err:
            raise TypeError(f"{name} must hold real numbers: {err}") from None
        except ValueError as err:
            raise ValueError(f"{name} must hold real numbers: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, n_features), got shape {arr.shape}. "
            f"Reshape your data with {name}.reshape(-1, 1) for one feature or "
            f"{name}.reshape(1, -1) for one sample"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples (shape={arr.shape}); at least 1 is required")
    if arr.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    arr = arr.astype(np.float64)  # always a fresh array: never modify the caller's data
    check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise a ValueError naming the first NaN or infinity in ``arr``."""
    if not np.all(np.isfinite(arr)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(
            f"Input {name} contains NaN or infinity ({arr[where]} at index {where}); drop or "
            f"impute missing values first"
        )


def check_y(y: Any, n_samples: int) -> np.ndarray:
    """Return targets as a fresh float64 array of shape (N,) or (N, O)."""
    if y is None:
        raise ValueError("Regressor requires y to be passed, but the target y is None")
    arr = np.asarray(y)
    if arr.dtype == object or arr.dtype.kind == "b":
        arr = arr.astype(np.float64)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"y must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[0] != n_samples or (arr.ndim == 2 and not arr.shape[1]):
        raise ValueError(
            f"y must have shape ({n_samples},) or ({n_samples}, n_outputs) to match X, "
            f"got {arr.shape}"
        )
    arr = arr.astype(np.float64)
    check_finite(arr, "y")
    return arr


def standardize_stats(a_NK: np.ndarray, on: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return per-column mean and scale (scale 1 for constant columns; 0 and 1 when off)."""
    if not on:
        return np.zeros(a_NK.shape[1]), np.ones(a_NK.shape[1])
    return column_mean_scale(a_NK)


def r2_score(y: np.ndarray, yhat: np.ndarray) -> float:
    """Coefficient of determination, averaged over outputs (constant y: 1 if exact, else 0)."""
    y2 = y.reshape(len(y), -1)
    ss_res = _sum_squares(y2 - yhat.reshape(len(y), -1))
    ss_tot = _sum_squares(y2 - y2.mean(axis=0))
    ok = ss_tot[1] > 0
    scores = np.where(ss_res[1] == 0, 1.0, 0.0)
    with np.errstate(over="ignore"):  # R^2 below -1e308 is -inf, the nearest float
        ratio = (ss_res[0][ok] / ss_tot[0][ok]) ** 2 * (ss_res[1][ok] / ss_tot[1][ok])
    scores[ok] = 1.0 - ratio
    return float(scores.mean())


def _sum_squares(r_NO: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(peak, s)`` per column with ``sum(r**2) = peak**2 * s``, free of overflow."""
    peak = np.max(np.abs(r_NO), axis=0)
    safe = np.where(peak > 0, peak, 1.0)
    return safe, np.sum(np.square(r_NO / safe), axis=0)
