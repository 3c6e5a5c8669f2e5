"""Training pieces of :class:`tinynn.estimator.Regressor` (private to :mod:`tinynn.estimator`).

The optimizer chosen by name, the exact output-layer solve after every first-order step
(variable projection, through ``Objective.solve_output_layer``), the validation score for early
stopping, and single-threaded BLAS while fitting (tiny matrices only lose from threads).

Shape suffixes: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tinynn import optim
from tinynn._checks import check_choice, check_positive
from tinynn.estimator._inputs import OPTIMIZERS
from tinynn.losses import Objective
from tinynn.model import predict as net_predict


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
    first_order: Any = optim.OPTIMIZERS[choice]  # each takes the step size first
    return choice, first_order(schedule)


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


def with_output_solve(inner: Any, objective: Objective) -> optim.Optimizer:
    """Wrap a first-order optimizer so every update ends with the exact output-layer solve.

    After each step on all parameters, the linear output layer is set to its optimum given the
    hidden layers (``objective.solve_output_layer``): variable projection.
    """

    def update(grads: Any, state: Any, params: Any) -> tuple[Any, Any]:
        new_params, state = inner.update(grads, state, params)
        return objective.solve_output_layer(new_params), state

    return optim.Optimizer(inner.init, update)


def validation_rmse_fn(
    xs: np.ndarray, ys: np.ndarray, activation: Any, y_scale: Any
) -> Callable[[Any], float]:
    """Return ``fn(tree) -> RMSE on the held-out split in units of y``."""

    def validation_rmse(tree: Any) -> float:
        net = tree["net"] if isinstance(tree, dict) else tree
        yhat = np.asarray(net_predict(net, xs, activation=activation)).reshape(ys.shape)
        return float(np.sqrt(np.mean(((yhat - ys) * y_scale) ** 2)))

    return validation_rmse
