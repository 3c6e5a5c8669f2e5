"""Losses for regression networks: Gaussian likelihood, squared errors, priors and objectives.

The Gaussian negative log-likelihood of targets ``y`` given predictions ``yhat`` and noise
standard deviation ``sigma`` comes in two forms:

- ``form="full"`` (default): the sum over elements of
  ``0.5 * log(2 * pi) + log(sigma) + 0.5 * ((y - yhat) / sigma)**2``, a proper density, so
  ``sigma`` can be learned;
- ``form="notebook"``: ``0.5 / sigma**2 * sum((y - yhat)**2)``, the teaching notebook's form,
  which drops both constants (do not learn ``sigma`` with it).

Everything here is differentiable by autograd (params, ``yhat``, ``y``, a traced ``sigma``) and
records one graph node per call. Shape suffixes: N examples, D input features, O outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.tracer import isbox

from tinynn import tree
from tinynn._checks import (
    SMALLEST_STD,
    check_choice,
    check_finite,
    check_nonnegative,
    check_std,
    describe,
    shape_of,
)
from tinynn._primitive import unbox
from tinynn._typing import Tree
from tinynn.losses._flat import FlatObjective
from tinynn.losses._likelihood import (
    FORMS,
    HALF_LOG_2PI,
    REDUCTIONS,
    check_pair,
    check_sigma,
    gaussian_nll_value,
    sum_squares,
)
from tinynn.losses._objective import Objective, build

__all__ = [
    "FlatObjective",
    "Objective",
    "gaussian_nll",
    "heteroscedastic_nll",
    "l2_penalty",
    "log_prior",
    "make_objective",
    "mse",
    "rmse",
]


def gaussian_nll(
    y: Any, yhat: Any, sigma: Any = 1.0, *, form: str = "full", reduction: str = "sum"
) -> Any:
    """Return the Gaussian negative log-likelihood of ``y`` given predictions ``yhat``.

    Parameters
    ----------
    y : ndarray of shape (N,) or (N, O)
        Targets.
    yhat : ndarray of the same shape as y
        Predictions, e.g. ``predict(params, x)``; may be traced by autograd.
    sigma : float, ndarray of shape (O,) or of y's shape, default 1.0
        Noise standard deviation (never a variance): one value, one per output or one per
        element. May be traced (learned), e.g. ``np.exp(log_sigma)``.
    form : {"full", "notebook"}, default "full"
        ``"full"`` keeps the constants ``0.5 * log(2 * pi) + log(sigma)`` per element;
        ``"notebook"`` is ``0.5 / sigma**2 * sum((y - yhat)**2)``.
    reduction : {"sum", "mean"}, default "sum"
        ``"mean"`` divides by N (the number of examples); outputs are always summed.

    Returns
    -------
    float
        The loss (a traced scalar under autograd).

    Raises
    ------
    ValueError
        If y and yhat shapes differ (no broadcasting; the message suggests ``y.ravel()``), if
        sigma is not positive, below 1.49e-154 or has an incompatible shape, if form/reduction
        is unknown, or if concrete y or yhat hold NaN or infinity (traced values pass).
    TypeError
        If y or yhat are None, complex or not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.losses import gaussian_nll
    >>> y = np.array([1.0, 2.0])
    >>> round(gaussian_nll(y, y + 0.1, sigma=0.1, form="notebook"), 6)
    1.0
    >>> round(gaussian_nll(y, y, sigma=1.0), 6)  # 2 * 0.5 * log(2 pi)
    1.837877
    """
    full = check_choice(form, "form", FORMS) == "full"
    mean = check_choice(reduction, "reduction", REDUCTIONS) == "mean"
    y, yhat = check_pair(y, yhat)
    sigma = check_sigma(sigma, shape_of(yhat), tiny_ok=True)
    return gaussian_nll_value(y, yhat, sigma, full, mean)


def heteroscedastic_nll(y: Any, out: Any) -> Any:
    """Return the Gaussian negative log-likelihood with a mean and a log std per example.

    ``out[..., 0]`` is the predicted mean and ``out[..., 1]`` the log of the predicted noise
    std, the output of a two-output network (as in deep ensembles): the sum over examples of
    ``0.5 * log(2 * pi) + s + 0.5 * ((y - mu) / exp(s))**2``. Stacked outputs (K, N, 2) give
    one value per member, shape (K,). Differentiable by autograd in ``out``.

    Parameters
    ----------
    y : ndarray of shape (N,)
        Targets.
    out : ndarray of shape (N, 2) or (K, N, 2)
        Means and log stds.

    Returns
    -------
    float or ndarray of shape (K,)

    Raises
    ------
    ValueError
        If ``out`` is not (N, 2) or (K, N, 2) for the N targets.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.losses import heteroscedastic_nll
    >>> out = np.array([[0.0, 0.0], [1.0, np.log(2.0)]])  # N(0, 1) and N(1, 4)
    >>> round(float(heteroscedastic_nll(np.array([0.0, 1.0]), out)), 6)
    2.531024
    """
    y_shape, out_shape = shape_of(y), shape_of(out)
    if len(y_shape) != 1 or out_shape[-2:] != (y_shape[0], 2) or len(out_shape) not in (2, 3):
        raise ValueError(
            f"out must have shape (N, 2) or (K, N, 2) with N = {y_shape[0] if y_shape else '?'} "
            f"(a mean and a log std per example) for y of shape {y_shape}, got {out_shape}"
        )
    mean, log_std = out[..., 0], out[..., 1]
    z = (y - mean) * anp.exp(-log_std)
    return anp.sum(HALF_LOG_2PI + log_std + 0.5 * z * z, axis=-1)


def _check_nonempty_pair(y: Any, yhat: Any) -> tuple[Any, Any]:
    y, yhat = check_pair(y, yhat)
    if np.size(unbox(y)) == 0:
        raise ValueError(f"y and yhat must hold at least one value, got shape {shape_of(y)}")
    return y, yhat


def mse(y: Any, yhat: Any) -> Any:
    """Return the mean squared error over all elements.

    Parameters
    ----------
    y : ndarray of shape (N,) or (N, O)
        Targets.
    yhat : ndarray of the same shape as y
        Predictions; may be traced by autograd.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes of y and yhat differ, they are empty, or concrete values hold NaN or
        infinity (traced values pass).
    TypeError
        If y or yhat are None, complex or not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.losses import mse
    >>> float(mse(np.array([0.0, 0.0]), np.array([1.0, 3.0])))
    5.0
    """
    y, yhat = _check_nonempty_pair(y, yhat)
    if isbox(y) or isbox(yhat):
        return anp.mean((yhat - y) ** 2)
    root = float(rmse(y, yhat))  # overflow-free; beyond 1e154 the square itself is inf
    return np.float64(math.inf if root > 1e154 else root * root)


def rmse(y: Any, yhat: Any) -> Any:
    """Return the root mean squared error over all elements (same units as y).

    Parameters
    ----------
    y : ndarray of shape (N,) or (N, O)
        Targets.
    yhat : ndarray of the same shape as y
        Predictions; may be traced by autograd.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes of y and yhat differ, they are empty, or concrete values hold NaN or
        infinity (traced values pass).
    TypeError
        If y or yhat are None, complex or not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.losses import rmse
    >>> float(rmse(np.array([0.0, 0.0]), np.array([3.0, 4.0])))  # sqrt(12.5)
    3.5355339059327378

    Concrete arrays are rescaled by their largest error first, so errors of any finite size
    give their RMSE instead of a square that overflows or underflows:

    >>> float(rmse(np.array([0.0, 0.0]), np.array([3e300, 4e300])))
    3.535533905932738e+300
    """
    y, yhat = _check_nonempty_pair(y, yhat)
    if isbox(y) or isbox(yhat):
        return anp.sqrt(anp.mean((yhat - y) ** 2))
    r = yhat - y
    peak = float(np.max(np.abs(r)))
    if not 0.0 < peak < math.inf:  # no error at all, or an overflow of yhat - y itself
        return np.float64(peak)
    return np.float64(peak * math.sqrt(float(np.mean(np.square(r / peak)))))


def _check_tree(params: Tree) -> None:
    for path, leaf in tree.leaves_with_paths(unbox(params)):
        if not isbox(leaf) and np.asarray(unbox(leaf)).dtype.kind not in "biuf":
            raise TypeError(f"{path} must be numeric, got {describe(leaf)}")
        check_finite(leaf, path, "parameters with NaN or infinity come from a fit that diverged")


def log_prior(params: Any, *, prior_std: Any = 1.0) -> Any:
    """Return the log density of a zero-mean Gaussian prior summed over all parameters.

    Each scalar ``theta`` contributes ``-0.5 * log(2 * pi) - log(prior_std) -
    0.5 * (theta / prior_std)**2``.

    Parameters
    ----------
    params : tree
        Nested lists/dicts of arrays (e.g. network parameters); may be traced.
    prior_std : float, default 1.0
        Prior standard deviation (positive; may be traced to learn it).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``prior_std`` is not positive or below 1.49e-154, or concrete parameters hold NaN
        or infinity (traced values pass).
    TypeError
        If a leaf is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.losses import log_prior
    >>> zero = [{'w': np.zeros((1, 1)), 'b': np.zeros(1)}]
    >>> round(log_prior(zero), 6)  # 2 * -0.5 log(2 pi)
    -1.837877
    """
    _check_tree(params)
    count = tree.size(unbox(params))
    if isbox(prior_std):
        squares = sum_squares(params, 1.0, 0.0)
        return -0.5 * squares / prior_std**2 - count * (HALF_LOG_2PI + anp.log(prior_std))
    std = check_std(prior_std, "prior_std", tiny_ok=True)
    const = -count * (HALF_LOG_2PI + float(np.log(std)))
    leaves = tree.leaves(params)
    if not any(isbox(leaf) for leaf in leaves):  # concrete: (theta / std)**2, free of overflow
        scaled = [np.asarray(leaf, dtype=float) / std for leaf in leaves]
        return -0.5 * sum(float(np.vdot(z, z)) for z in scaled) + const
    if not SMALLEST_STD <= std <= 1.0 / SMALLEST_STD:  # 1 / std**2 is not a float64
        return -0.5 * sum(anp.sum((leaf / std) ** 2) for leaf in leaves) + const
    return sum_squares(params, -0.5 / std / std, const)


def l2_penalty(params: Any, *, strength: Any = 1.0) -> Any:
    """Return ``0.5 * strength * sum(theta**2)`` over all parameters.

    With ``strength = 1 / prior_std**2`` this equals ``-log_prior(params, prior_std=prior_std)``
    up to a constant.

    Parameters
    ----------
    params : tree
        Nested lists/dicts of arrays; may be traced.
    strength : float, default 1.0
        Non-negative penalty strength (may be traced).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``strength`` is negative or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.losses import l2_penalty
    >>> float(l2_penalty([{'w': np.array([[3.0]]), 'b': np.array([4.0])}], strength=2.0))
    25.0
    """
    _check_tree(params)
    if isbox(strength):
        return 0.5 * strength * sum_squares(params, 1.0, 0.0)
    return sum_squares(params, 0.5 * check_nonnegative(strength, "strength"), 0.0)


def make_objective(
    x: Any,
    y: Any,
    *,
    sigma: Any = 1.0,
    prior_std: float | None = None,
    activation: str | Callable[[Any], Any] = "tanh",
    form: str = "full",
    reduction: str = "sum",
) -> Objective:
    """Build the training objective ``loss(params)`` for data ``x``, ``y``.

    ``loss(params) = gaussian_nll(y, predict(params, x), sigma) - log_prior(params)``, with the
    prior term only when ``prior_std`` is given. x and y are checked once here; each call then
    runs network, likelihood and prior as one autograd primitive with preallocated buffers.

    Parameters
    ----------
    x : ndarray of shape (N, D), or (N,) when D == 1
        Inputs (finite).
    y : ndarray of shape (N,) for one output or (N, O) for O >= 2 outputs
        Targets (finite).
    sigma : float, ndarray of shape (O,) or of y's shape, or "learn", default 1.0
        Noise standard deviation: fixed (one value, one per output or one per example), or
        ``"learn"`` for its maximum-likelihood value per output. With ``"learn"`` and a prior,
        ``log sigma`` is trained with the network: the objective takes ``{'net': params,
        'log_sigma': s_O}``, built by ``objective.init(params)``. With ``"learn"`` and no
        prior, the best sigma for any network is the RMS of its residuals, so sigma is
        profiled out: the objective takes the network alone and is the likelihood at unit noise
        (which has the same minimizer in the network). Either way ``objective.unpack(params)``
        returns the network and its sigma.
    prior_std : float, optional
        Standard deviation of a zero-mean Gaussian prior on every network parameter (MAP
        training; a learned ``log_sigma`` has no prior).
    activation : str or callable, default "tanh"
        Hidden activation, as in :func:`tinynn.model.predict`.
    form : {"full", "notebook"}, default "full"
        ``"full"`` keeps every constant of the likelihood and the prior, so values are proper
        negative log densities. ``"notebook"`` drops the terms that do not depend on what is
        trained: the ``0.5 * log(2 * pi)`` per element and the prior's normalizer always, and
        ``log(sigma)`` when sigma is fixed (a learned sigma keeps its ``log(sigma)`` term:
        without it the likelihood has no maximum in sigma).
    reduction : {"sum", "mean"}, default "sum"
        ``"mean"`` divides the whole objective (prior included) by N; the minimizer is unchanged.

    Returns
    -------
    Objective
        Callable ``loss(params) -> float``, differentiable by autograd; its
        ``value_and_grad(params)`` method returns the same numbers without tracing, and its
        ``flat(params)`` method the same objective on flat parameter vectors.

    Raises
    ------
    ValueError
        If x or y is not finite, has the wrong number of dimensions, if their lengths differ,
        if y has shape (N, 1) (pass ``y.ravel()``), if sigma or prior_std is not positive, or if
        form/reduction/activation is unknown.

    Notes
    -----
    The objective keeps two work arrays of N x H floats per hidden layer between calls, so a
    training step allocates no large temporaries, up to 64 MiB a set; larger ones are freed
    after each call. It is safe to call from several threads.

    Examples
    --------
    >>> import autograd
    >>> import numpy as np
    >>> from tinynn.losses import make_objective
    >>> x = np.array([[0.0], [1.0]]); y = np.array([0.0, 2.0])
    >>> loss = make_objective(x, y, sigma=1.0, form="notebook")
    >>> params = [{'w': np.array([[2.0]]), 'b': np.array([0.0])}]
    >>> float(loss(params))
    0.0
    >>> autograd.grad(loss)(params)[0]['w']
    array([[0.]])

    Learning the noise with a prior trains ``log sigma`` beside the network:

    >>> from tinynn.optim import lbfgs, minimize
    >>> x = np.linspace(-1, 1, 50)[:, None]
    >>> y = 3.0 * x[:, 0] + 0.1 * np.random.default_rng(0).normal(size=50)
    >>> loss = make_objective(x, y, sigma="learn", prior_std=10.0)
    >>> start = loss.init([{'w': np.zeros((1, 1)), 'b': np.zeros(1)}])
    >>> result = minimize(loss, start, optimizer=lbfgs(), n_iters=100)
    >>> net, sigma = loss.unpack(result.params)
    >>> round(float(net[0]['w'][0, 0]), 2), round(sigma, 3)
    (3.06, 0.084)
    """
    return build(x, y, sigma, prior_std, activation, form, reduction)
