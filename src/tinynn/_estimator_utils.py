"""Private helpers of :class:`tinynn.estimator.Regressor`: input checks and training pieces.

Input checks follow scikit-learn's conventions (2-D X, "Reshape your data", NaN messages) so that
its ``check_estimator`` suite passes. The training pieces build the objective in standardized
units, solve the linear output layer exactly after each first-order step (variable projection)
and keep BLAS single-threaded while fitting (tiny matrices only lose from threads).

Shape suffixes: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

import contextlib
import numbers
import sys
from collections.abc import Callable, Iterator
from typing import Any

import autograd.numpy as ag_np
import numpy as np

from tinynn import optim
from tinynn._checks import check_choice, check_int, check_positive, describe
from tinynn.losses import gaussian_nll, l2_penalty, make_objective
from tinynn.model import get_activation
from tinynn.model import predict as net_predict

OPTIMIZERS = ("auto", "lbfgs", "adam", "rmsprop", "momentum", "gradient_descent")


def validate_settings(est: Any) -> dict[str, Any]:
    """Check a Regressor's constructor arguments (scikit-learn validates in fit, not __init__)."""
    hidden = est.hidden_sizes
    if isinstance(hidden, np.ndarray) and hidden.ndim == 1:
        hidden = hidden.tolist()
    if isinstance(hidden, (numbers.Integral, np.integer)) and not isinstance(hidden, bool):
        hidden = (int(hidden),)
    if not isinstance(hidden, (list, tuple)):
        raise TypeError(f"hidden_sizes must be a sequence of ints, got {describe(hidden)}")
    hidden = [check_int(h, "hidden_sizes[i]", minimum=1) for h in hidden]
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
    return {
        "hidden": hidden,
        "strength": strength,
        "sigma": sigma,
        "max_iter": check_int(est.max_iter, "max_iter", minimum=1),
        "patience": check_int(est.n_iter_no_change, "n_iter_no_change", minimum=1),
        "verbose": check_int(est.verbose, "verbose", minimum=0),
    }


def make_optimizer(est: Any, max_iter: int) -> tuple[str, Any]:
    """Return the optimizer's name and object for ``est.optimizer`` (auto: L-BFGS if scipy)."""
    choice = est.optimizer
    if not isinstance(choice, str):
        return type(choice).__name__, choice
    check_choice(choice, "optimizer", OPTIMIZERS)
    if choice == "auto":
        try:
            import scipy.optimize  # noqa: F401
        except ImportError:
            choice = "adam"
        else:
            choice = "lbfgs"
    if choice == "lbfgs":
        return choice, optim.lbfgs()
    step = check_positive(est.step_size, "step_size")
    schedule = optim.cosine_decay(step, max(1, max_iter - 1), 0.01 * step)
    return choice, getattr(optim, choice)(schedule)


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
    mean = a_NK.mean(axis=0)
    scale = a_NK.std(axis=0)
    scale[~(scale > 1e-12 * np.maximum(1.0, np.abs(mean)))] = 1.0
    return mean, scale


def r2_score(y: np.ndarray, yhat: np.ndarray) -> float:
    """Coefficient of determination, averaged over outputs (constant y: 1 if exact, else 0)."""
    y2 = y.reshape(len(y), -1)
    yhat2 = yhat.reshape(len(y), -1)
    ss_res = ((y2 - yhat2) ** 2).sum(axis=0)
    ss_tot = ((y2 - y2.mean(axis=0)) ** 2).sum(axis=0)
    ok = ss_tot > 0
    scores = np.where(ss_res == 0, 1.0, 0.0)
    scores[ok] = 1.0 - ss_res[ok] / ss_tot[ok]
    return float(scores.mean())


_BLAS_CONTROLLER: list[Any] = []  # [(len(sys.modules) when scanned, blas controller)]


def _blas_controller() -> Any:
    """Return threadpoolctl's controller of the loaded BLAS libraries, or None without it.

    Finding the libraries walks every loaded shared object (milliseconds once scikit-learn or
    scipy are loaded), so the scan is reused until ``sys.modules`` changes size, the cheap sign
    that an import may have loaded another BLAS.
    """
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:
        return None
    n_modules = len(sys.modules)
    cached = _BLAS_CONTROLLER[0] if _BLAS_CONTROLLER else None
    if cached is None or cached[0] != n_modules:
        cached = (n_modules, ThreadpoolController().select(user_api="blas"))
        _BLAS_CONTROLLER[:] = [cached]
    return cached[1]


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread when threadpoolctl is installed (tiny problems run faster).

    Nothing is changed when every loaded BLAS already uses one thread.
    """
    controller = _blas_controller()
    if controller is None or all(lib.num_threads == 1 for lib in controller.lib_controllers):
        yield
        return
    with controller.limit(limits=1):
        yield


def build_objective(
    xs: np.ndarray,
    ys: np.ndarray,
    *,
    activation: Any,
    mode: str,
    sigma: Any,
    strength: float,
) -> Callable[[Any], Any]:
    """Return the training objective in standardized units.

    ``mode`` is ``"fixed"`` (sigma given), ``"profile"`` (sigma learned, no prior: the network's
    maximum-likelihood fit is least squares, so fit with sigma = 1 and set sigma afterwards) or
    ``"joint"`` (sigma learned with a prior: the tree is ``{"net": params, "log_sigma": s_O}``).
    """
    prior_std = 1.0 / np.sqrt(strength) if strength > 0 else None
    if mode == "fixed":
        return make_objective(xs, ys, sigma=sigma, prior_std=prior_std, activation=activation)
    if mode == "profile":  # half the sum of squared standardized residuals
        return make_objective(xs, ys, sigma=1.0, activation=activation, form="notebook")

    def joint_loss(tree: Any) -> Any:
        log_sigma = tree["log_sigma"]
        noise = ag_np.exp(log_sigma[0] if ys.ndim == 1 else log_sigma)
        yhat = net_predict(tree["net"], xs, activation=activation)
        return gaussian_nll(ys, yhat, noise, form="full") + l2_penalty(
            tree["net"], strength=strength
        )

    return joint_loss


def solve_output_layer(
    net: list[dict[str, Any]], xs: np.ndarray, ys: np.ndarray, activation: Any, ridge_O: Any
) -> list[dict[str, Any]]:
    """Return ``net`` with its linear output layer set to the exact (ridge) least-squares optimum.

    Given the hidden layers, the output layer of the Gaussian objective is a linear least-squares
    problem: minimize ``||ys - A c||^2 + ridge * ||c||^2`` with ``A = [features, 1]``.
    """
    if len(net) > 1:
        z = np.asarray(net_predict(net[:-1], xs, activation=activation)).reshape(len(xs), -1)
        feats = np.asarray(get_activation(activation)(z))
    else:
        feats = xs
    a_NK = np.hstack([feats, np.ones((len(xs), 1))])
    y_NO = ys.reshape(len(ys), -1)
    ridge = np.broadcast_to(np.asarray(ridge_O, dtype=float), (y_NO.shape[1],))
    if not np.any(ridge > 0):
        coef = np.linalg.lstsq(a_NK, y_NO, rcond=None)[0]
    else:
        gram = a_NK.T @ a_NK
        rhs = a_NK.T @ y_NO
        eye = np.eye(gram.shape[0])
        coef = np.column_stack(
            [np.linalg.solve(gram + r * eye, rhs[:, o]) for o, r in enumerate(ridge)]
        )
    out = list(net)
    out[-1] = {"w": np.array(coef[:-1]), "b": np.array(coef[-1])}
    return out


def with_output_solve(
    inner: Any,
    xs: np.ndarray,
    ys: np.ndarray,
    activation: Any,
    mode: str,
    sigma: Any,
    strength: float,
) -> tuple[Any, Callable[[Any], Any]]:
    """Wrap a first-order optimizer so every update ends with :func:`solve_output_layer`.

    Returns the wrapped optimizer and the function applied to a parameter tree (also used on the
    initial parameters).
    """

    def project(tree: Any) -> Any:
        if mode == "joint":
            noise = np.exp(np.asarray(tree["log_sigma"], dtype=float))
            net = solve_output_layer(tree["net"], xs, ys, activation, strength * noise**2)
            return {"net": net, "log_sigma": tree["log_sigma"]}
        noise2 = np.asarray(sigma, dtype=float) ** 2 if mode == "fixed" else 1.0
        return solve_output_layer(tree, xs, ys, activation, strength * noise2)

    def update(grads: Any, state: Any, params: Any) -> tuple[Any, Any]:
        new_params, state = inner.update(grads, state, params)
        return project(new_params), state

    return optim.Optimizer(inner.init, update), project


def validation_rmse_fn(
    xs: np.ndarray, ys: np.ndarray, activation: Any, y_scale: Any
) -> Callable[[Any], float]:
    """Return ``fn(tree) -> RMSE on the held-out split in units of y``."""

    def validation_rmse(tree: Any) -> float:
        net = tree["net"] if isinstance(tree, dict) else tree
        yhat = np.asarray(net_predict(net, xs, activation=activation)).reshape(ys.shape)
        return float(np.sqrt(np.mean(((yhat - ys) * y_scale) ** 2)))

    return validation_rmse
