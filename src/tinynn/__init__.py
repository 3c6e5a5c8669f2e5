"""tinynn: train tiny neural networks for regression with autograd.

Parameters are the teaching notebook's list of per-layer dicts,
``[{'w': w_DH, 'b': b_H}, ..., {'w': w_HO, 'b': b_O}]``. Shape suffixes: N examples,
D input features, H hidden units, O outputs.

The names below are the everyday API; everything else is reachable by its module, for example
``tinynn.optim.adam`` or ``tinynn.tree.flatten``.
"""

__version__ = "0.1.0"

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
