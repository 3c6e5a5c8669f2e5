"""tinynn: train tiny neural networks for regression with autograd.

Parameters are the teaching notebook's list of per-layer dicts,
``[{'w': w_DH, 'b': b_H}, ..., {'w': w_HO, 'b': b_O}]``. Shape suffixes: N examples,
D input features, H hidden units, O outputs.

The names below are the everyday API; everything else is reachable by its module, for example
``tinynn.optim.adam`` or ``tinynn.tree.flatten``.
"""

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

# Where each top-level name lives. They are imported on first use (PEP 562), so that
# ``import tinynn`` costs little more than importing numpy and autograd; each is the very object
# of its module (``tinynn.predict is tinynn.model.predict``).
_HOMES = {
    "GradCheckReport": "tinynn.gradcheck",
    "History": "tinynn.optim",
    "NotFittedError": "tinynn.estimator",
    "OptimizeResult": "tinynn.optim",
    "Regressor": "tinynn.estimator",
    "Standardizer": "tinynn.data",
    "check_grad": "tinynn.gradcheck",
    "check_params": "tinynn.params",
    "format_params": "tinynn.params",
    "gaussian_nll": "tinynn.losses",
    "get_activation": "tinynn.model",
    "l2_penalty": "tinynn.losses",
    "layer_sizes": "tinynn.params",
    "log_prior": "tinynn.losses",
    "make_linear_data": "tinynn.data",
    "make_objective": "tinynn.losses",
    "make_params": "tinynn.params",
    "make_quadratic_data": "tinynn.data",
    "minimize": "tinynn.optim",
    "mse": "tinynn.losses",
    "predict": "tinynn.model",
    "print_params": "tinynn.params",
    "rmse": "tinynn.losses",
    "sample_prior": "tinynn.params",
    "train_test_split": "tinynn.data",
}
_SUBMODULES = ("optim", "tree")

if TYPE_CHECKING:  # what the names are, for type checkers and readers
    from tinynn import optim, tree
    from tinynn.data import Standardizer, make_linear_data, make_quadratic_data, train_test_split
    from tinynn.estimator import NotFittedError, Regressor
    from tinynn.gradcheck import GradCheckReport, check_grad
    from tinynn.losses import gaussian_nll, l2_penalty, log_prior, make_objective, mse, rmse
    from tinynn.model import get_activation, predict
    from tinynn.optim import History, OptimizeResult, minimize
    from tinynn.params import (
        check_params,
        format_params,
        layer_sizes,
        make_params,
        print_params,
        sample_prior,
    )


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"tinynn.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tinynn' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "GradCheckReport",
    "History",
    "NotFittedError",
    "OptimizeResult",
    "Regressor",
    "Standardizer",
    "__version__",
    "check_grad",
    "check_params",
    "format_params",
    "gaussian_nll",
    "get_activation",
    "l2_penalty",
    "layer_sizes",
    "log_prior",
    "make_linear_data",
    "make_objective",
    "make_params",
    "make_quadratic_data",
    "minimize",
    "mse",
    "optim",
    "predict",
    "print_params",
    "rmse",
    "sample_prior",
    "train_test_split",
    "tree",
]
