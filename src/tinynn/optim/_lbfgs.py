"""L-BFGS through ``scipy.optimize.minimize(method="L-BFGS-B")`` on the flattened parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinynn import tree
from tinynn._checks import check_int
from tinynn.optim._monitor import Monitor, Settings, evaluate_point, returning
from tinynn.optim._result import OptimizeResult

__all__ = ["LBFGS", "lbfgs"]

_CACHE_SIZE = 8


def _import_scipy_minimize() -> Any:
    try:
        from scipy.optimize import minimize as scipy_minimize
    except ImportError as err:
        raise ImportError(
            "tinynn.optim.lbfgs requires scipy: pip install 'tinynn-regression[scipy]'"
        ) from err
    return scipy_minimize


@dataclass(frozen=True)
class LBFGS:
    """Settings of the L-BFGS method; pass it (from :func:`lbfgs`) as ``optimizer=``.

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> from tinynn import optim
    >>> method = optim.lbfgs(max_corrections=5)
    >>> method
    LBFGS(max_corrections=5, max_line_search=20, max_evals=None)
    >>> result = optim.minimize(lambda x: anp.sum((x - 1.0) ** 2), np.zeros(3),
    ...                         optimizer=method, n_iters=20)
    >>> result.params.round(6), result.state is None
    (array([1., 1., 1.]), True)
    """

    max_corrections: int = 10
    max_line_search: int = 20
    max_evals: int | None = None


def lbfgs(
    max_corrections: int = 10, *, max_line_search: int = 20, max_evals: int | None = None
) -> LBFGS:
    """Return the L-BFGS method (scipy's L-BFGS-B), to pass as ``minimize(optimizer=...)``.

    L-BFGS builds a curvature estimate from the last ``max_corrections`` gradient differences
    and takes line-searched quasi-Newton steps on the flattened parameter vector
    (``tinynn.tree.flatten``). On small smooth problems it needs far fewer iterations than
    gradient descent and no step size. Each iteration may evaluate the loss several times in
    its line search; the history records one entry per iteration, taken from those
    evaluations (nothing is evaluated twice). Unlike the first-order optimizers it cannot
    resume from a state: ``result.state`` is None.

    Parameters
    ----------
    max_corrections : int, default 10
        Number of past steps kept for the curvature estimate (scipy's ``maxcor``); at least 1.
    max_line_search : int, default 20
        Largest number of evaluations in one line search (scipy's ``maxls``); at least 1.
    max_evals : int or None, default None
        Largest total number of loss evaluations (scipy's ``maxfun``); None allows
        ``max_line_search + 1`` per iteration.

    Returns
    -------
    LBFGS
        A settings object accepted by :func:`minimize` as ``optimizer``.

    Raises
    ------
    ImportError
        If scipy is not installed; install it with ``pip install 'tinynn-regression[scipy]'``.
    TypeError
        If an argument is not an int.
    ValueError
        If an argument is below 1.

    References
    ----------
    .. [1] D. C. Liu and J. Nocedal, "On the limited memory BFGS method for large scale
       optimization", Mathematical Programming 45, 1989.
    .. [2] R. H. Byrd, P. Lu, J. Nocedal and C. Zhu, "A limited memory algorithm for bound
       constrained optimization", SIAM Journal on Scientific Computing 16, 1995.

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> from tinynn.optim import lbfgs, minimize
    >>> result = minimize(lambda x: anp.sum((x - 3.0) ** 2), np.zeros(2),
    ...                   optimizer=lbfgs(), n_iters=50)
    >>> result.params.round(6), result.reason
    (array([3., 3.]), 'converged')
    """
    _import_scipy_minimize()
    max_corrections = check_int(max_corrections, "max_corrections", minimum=1)
    max_line_search = check_int(max_line_search, "max_line_search", minimum=1)
    if max_evals is not None:
        max_evals = check_int(max_evals, "max_evals", minimum=1)
    return LBFGS(max_corrections, max_line_search, max_evals)


class _Stop(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _NonFinite(Exception):
    def __init__(self, loss: float, grad_norm: float) -> None:
        super().__init__(loss, grad_norm)
        self.loss = loss
        self.grad_norm = grad_norm


def run_lbfgs(
    value_and_grad: Any, params: Any, method: LBFGS, settings: Settings, flat: Any = None
) -> OptimizeResult:
    """Run L-BFGS-B from ``params`` and return the result built by the shared monitor.

    A record is ``(point, loss, gradient, grad_norm)``. On the generic path the point and
    gradient are trees (from the user's ``value_and_grad``); on the flat path (``flat``, from
    the loss's ``flat(params)`` protocol) they are flat vectors, and trees are built only for the
    points the monitor records: the initial one and one per iteration, never per line-search
    evaluation.
    """
    scipy_minimize = _import_scipy_minimize()
    theta0_P, unflatten = tree.flatten(params)
    monitor = Monitor(settings, settings.n_iters, None)
    cache: dict[bytes, tuple[Any, float, Any, float]] = {}
    n_evals = 0

    def remember(key: np.ndarray, record: tuple[Any, float, Any, float]) -> None:
        if len(cache) >= _CACHE_SIZE:
            del cache[next(iter(cache))]
        cache[key.tobytes()] = record

    def evaluate_generic(theta_P: np.ndarray) -> tuple[Any, float, Any, float]:
        nonlocal n_evals
        x = unflatten(np.array(theta_P, dtype=np.float64, copy=True))
        loss, grads, grad_norm = evaluate_point(value_and_grad, x, n_evals == 0)
        n_evals += 1
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            raise _NonFinite(loss, grad_norm)
        record = (x, loss, grads, grad_norm)
        remember(np.asarray(theta_P, dtype=np.float64), record)
        return record

    def evaluate_flat(theta_P: np.ndarray) -> tuple[Any, float, Any, float]:
        nonlocal n_evals
        point_P = np.array(theta_P, dtype=np.float64, copy=True)
        loss, grad_P = flat.value_and_grad(point_P)
        n_evals += 1
        grad_norm = math.sqrt(float(np.dot(grad_P, grad_P)))  # what np.linalg.norm computes
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            raise _NonFinite(loss, grad_norm)
        record = (point_P, loss, grad_P, grad_norm)
        remember(point_P, record)
        return record

    def as_trees(record: tuple[Any, float, Any, float]) -> tuple[Any, float, Any, float]:
        if flat is None:
            return record
        point_P, loss, grad_P, grad_norm = record
        return flat.unflatten(point_P), loss, flat.unflatten(grad_P), grad_norm

    evaluate = evaluate_generic if flat is None else evaluate_flat
    same_order: list[bool] = []

    def in_params_order(x: Any, grads: Any) -> Any:
        """Return ``grads``, its dicts reordered like ``x``'s when their key orders differ."""
        if not same_order:  # decided once: theta_P follows the order of the parameters' dicts
            paths = [path for path, _ in tree.leaves_with_paths(grads)]
            same_order.append(paths == [path for path, _ in tree.leaves_with_paths(x)])
        return grads if same_order[0] else tree.map(lambda p, g: g, x, grads)

    def fun(theta_P: np.ndarray) -> tuple[float, np.ndarray]:
        record = evaluate(theta_P)
        if monitor.current is None:
            stop = monitor.observe(0, *as_trees(record), None)
            if stop is not None:
                raise _Stop(stop)
        if flat is None:
            return record[1], tree.flatten(in_params_order(record[0], record[2]))[0]
        return record[1], record[2].copy()  # scipy gets its own copy; the record keeps ours

    def callback(theta_P: np.ndarray) -> None:
        record = cache.get(np.asarray(theta_P, dtype=np.float64).tobytes())
        if record is None:  # scipy reported a point it did not ask us to evaluate last
            record = evaluate(theta_P)
        iteration = monitor.current.iteration + 1 if monitor.current is not None else 0
        stop = monitor.observe(iteration, *as_trees(record), None)
        if stop is not None:
            raise _Stop(stop)

    max_iter = settings.n_iters - 1
    max_evals = method.max_evals or (method.max_line_search + 1) * max(max_iter, 1) + 1
    options = {
        "maxiter": max_iter,
        "maxcor": method.max_corrections,
        "maxls": method.max_line_search,
        "maxfun": max_evals,
        "ftol": 0.0,
        "gtol": 0.0,
    }
    reason, message = "completed", ""
    try:
        if max_iter == 0:
            fun(theta0_P)
        else:
            res = scipy_minimize(
                fun, theta0_P, jac=True, method="L-BFGS-B", callback=callback, options=options
            )
            if len(monitor.history) < settings.n_iters:
                last = monitor.current.iteration if monitor.current is not None else 0
                if res.nfev >= max_evals:
                    message = f"stopped at iteration {last} after max_evals={max_evals} evaluations"
                else:
                    reason = "converged"
                    message = f"converged at iteration {last}: scipy reports {res.message!s}"
    except _Stop as stop:
        reason = stop.reason
    except _NonFinite as bad:
        reason = "diverged"
        message = _diverged_message(n_evals, bad, monitor)
    except KeyboardInterrupt:
        reason = "interrupted"
        message = f"interrupted by KeyboardInterrupt; returning {returning(monitor.current)}"
    return monitor.finish(reason, message, params, None, n_evals)


def _diverged_message(n_evals: int, bad: _NonFinite, monitor: Any) -> str:
    what = (
        f"the loss is {bad.loss}"
        if not math.isfinite(bad.loss)
        else f"the gradient norm is {bad.grad_norm}"
    )
    current = monitor.current
    iteration = current.iteration + 1 if current is not None else 0
    return (
        f"training diverged during iteration {iteration} (loss evaluation {n_evals} of "
        f"L-BFGS): {what}; returning {returning(current)}, the last finite ones. "
        f"Standardize the data (tinynn.data.Standardizer) or check the loss for overflow"
    )
