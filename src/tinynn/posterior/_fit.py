"""Fit a network and its Laplace posterior with evidence-tuned prior and noise (private).

:func:`fit_laplace` alternates two steps until the hyperparameters stop moving: fit the MAP
network at the current prior std and sigma, then move both to the maximum of the Laplace
evidence at that MAP (MacKay's fixed point). For a linear model the MAP step is exact and the
loop lands on the exact maximizers of Bayesian linear regression's evidence.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tinynn import losses, optim, params
from tinynn._checks import as_float_array, check_int, check_positive
from tinynn.posterior._laplace import Laplace


def check_data(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x`` as (N, D) and ``y`` as (N,) or (N, O), checked against each other."""
    x_arr = as_float_array(x, "x", ndims=(1, 2))
    y_arr = as_float_array(y, "y", ndims=(1, 2))
    x_ND = x_arr.reshape(-1, 1) if x_arr.ndim == 1 else x_arr
    if x_ND.shape[0] != y_arr.shape[0]:
        raise ValueError(
            f"x and y must have the same number of examples, got x {x_arr.shape} and "
            f"y {y_arr.shape}"
        )
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        raise ValueError(f"y must have shape ({len(y_arr)},) for one output, got {y_arr.shape}")
    return x_ND, y_arr


def initial_params(x_ND: np.ndarray, y: np.ndarray, hidden_sizes: Any, init: Any, rng: Any) -> Any:
    """Return ``init`` or fresh parameters for a network from D inputs to y's outputs."""
    if init is not None:
        return init
    n_out = 1 if y.ndim == 1 else y.shape[1]
    if isinstance(hidden_sizes, int) or hidden_sizes is None:
        raise TypeError(
            f"hidden_sizes must be a sequence of ints such as (50,), got {hidden_sizes!r}"
        )
    return params.make_params(x_ND.shape[1], list(hidden_sizes), n_out, rng=rng)


def map_fit(
    loss: Any, start: Any, n_iters: int, linear: bool
) -> tuple[Any, optim.OptimizeResult | None]:
    """Return the MAP parameters of ``loss`` from ``start`` (exact for a linear model)."""
    if linear:
        return loss.solve_output_layer(start), None
    result = optim.minimize(loss, start, optimizer=optim.lbfgs(), n_iters=n_iters, tol=1e-12)
    return result.params, result


def fit_laplace(
    x: Any,
    y: Any,
    hidden_sizes: Any = (50,),
    *,
    activation: str = "tanh",
    prior_std: float | None = None,
    sigma: float | None = None,
    structure: str = "full",
    n_iters: int = 300,
    max_rounds: int = 20,
    tol: float = 1e-2,
    init: Any = None,
    rng: Any = None,
) -> Laplace:
    """Fit a network by MAP and return its Laplace posterior, prior and noise set by evidence.

    Each round fits the MAP network (L-BFGS for ``n_iters`` iterations from the previous
    round's parameters; the exact ridge solution without hidden layer), then moves the prior
    std and sigma left as None to the maximum of the Laplace evidence at that fit. The rounds
    stop when neither moves by more than ``tol`` in relative terms. The noise is never learned
    by the likelihood alone, so it cannot shrink to zero as the network interpolates.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Training inputs (standardize them first for a network).
    y : ndarray of shape (N,) or (N, O)
        Training targets.
    hidden_sizes : sequence of int, default (50,)
        Hidden layer widths; ``()`` is Bayesian linear regression.
    activation : str, default "tanh"
    prior_std, sigma : float or None, default None
        A number fixes it; None tunes it by the evidence.
    structure : {"full", "diagonal", "last_layer", "hessian"}, default "full"
        The posterior precision (see :class:`Laplace`).
    n_iters : int, default 300
        L-BFGS iterations per round.
    max_rounds : int, default 20
        Rounds of fit-then-tune at most; a :class:`tinynn.optim.ConvergenceWarning` says when
        they ran out before the hyperparameters settled.
    tol : float, default 1e-2
        Relative change of the hyperparameters that ends the rounds.
    init : list of dict, optional
        Starting parameters; default ``make_params`` with ``rng``.
    rng : numpy.random.Generator, int or None
        Randomness of the starting parameters.

    Returns
    -------
    Laplace
        With attribute ``rounds`` (list of dicts: ``prior_std``, ``sigma``, ``log_evidence``
        after each round).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import fit_laplace
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(40, 1)); y = 3.0 * x[:, 0] + 0.2 * rng.normal(size=40)
    >>> post = fit_laplace(x, y, hidden_sizes=())
    >>> round(post.sigma, 2), round(float(post.params[0]["w"][0, 0]), 2)
    (0.2, 3.0)
    """
    x_ND, y_arr = check_data(x, y)
    n_iters = check_int(n_iters, "n_iters", minimum=1)
    max_rounds = check_int(max_rounds, "max_rounds", minimum=1)
    tol = check_positive(tol, "tol")
    net = initial_params(x_ND, y_arr, hidden_sizes, init, rng)
    linear = len(net) == 1
    ps = 1.0 if prior_std is None else check_positive(prior_std, "prior_std")
    spread = float(np.std(y_arr))
    sd = (0.5 * spread if spread > 0 else 1.0) if sigma is None else check_positive(sigma, "sigma")
    rounds: list[dict[str, float]] = []
    change = math.inf
    for _ in range(max_rounds):
        loss = losses.make_objective(x_ND, y_arr, sigma=sd, prior_std=ps, activation=activation)
        net, _ = map_fit(loss, net, n_iters, linear)
        post = Laplace(
            net, x_ND, y_arr, sigma=sd, prior_std=ps, structure=structure, activation=activation
        )
        if prior_std is None or sigma is None:
            post = post.tuned(prior=prior_std is None, noise=sigma is None)
        change = max(abs(post.prior_std / ps - 1.0), abs(post.sigma / sd - 1.0))
        ps, sd = post.prior_std, post.sigma
        rounds.append({"prior_std": ps, "sigma": sd, "log_evidence": post.log_evidence()})
        if change <= tol:
            break
    else:
        if prior_std is None or sigma is None:
            warnings.warn(
                f"fit_laplace: the prior std and sigma still moved by {change:.2g} (relative) "
                f"after max_rounds={max_rounds} rounds; raise max_rounds or tol",
                optim.ConvergenceWarning,
                stacklevel=2,
            )
    post.rounds = rounds
    return post
