"""Train parameter trees: :func:`minimize`, optimizers, step-size schedules and L-BFGS.

The optimizers are pure ``(init, update)`` pairs that work on any tree of arrays (nested lists,
tuples and dicts, such as the network parameters ``[{'w': w_DH, 'b': b_H}, ...]``):

>>> import numpy as np
>>> import autograd.numpy as anp
>>> from tinynn import optim
>>> result = optim.minimize(lambda x: anp.sum(x**2), np.array([-3.0, 4.0]),
...                         optimizer=optim.gradient_descent(0.1), n_iters=100)
>>> result.reason, bool(result.history.losses[-1] < 1e-15)
('completed', True)

Shape suffixes: N examples, D input features, H hidden units, O outputs, P scalars in a
flattened parameter vector.
"""

from tinynn.optim._adaptive import AdamState, RMSPropState, adam, rmsprop
from tinynn.optim._history import History
from tinynn.optim._lbfgs import LBFGS, lbfgs
from tinynn.optim._lm import LevenbergMarquardt, levenberg_marquardt
from tinynn.optim._minimize import minimize
from tinynn.optim._optimizers import (
    GradientDescentState,
    MomentumState,
    Optimizer,
    clip_by_global_norm,
    gradient_descent,
    momentum,
    nesterov,
)
from tinynn.optim._options import OPTIMIZERS
from tinynn.optim._result import (
    CallbackInfo,
    ConvergenceWarning,
    DivergenceError,
    DivergenceWarning,
    OptimizeResult,
    TrainState,
)
from tinynn.optim._schedules import constant, cosine_decay, exponential_decay, step_decay

__all__ = [
    "LBFGS",
    "OPTIMIZERS",
    "AdamState",
    "CallbackInfo",
    "ConvergenceWarning",
    "DivergenceError",
    "DivergenceWarning",
    "GradientDescentState",
    "History",
    "LevenbergMarquardt",
    "MomentumState",
    "OptimizeResult",
    "Optimizer",
    "RMSPropState",
    "TrainState",
    "adam",
    "clip_by_global_norm",
    "constant",
    "cosine_decay",
    "exponential_decay",
    "gradient_descent",
    "lbfgs",
    "levenberg_marquardt",
    "minimize",
    "momentum",
    "nesterov",
    "rmsprop",
    "step_decay",
]
