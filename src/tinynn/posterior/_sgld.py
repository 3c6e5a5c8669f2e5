"""Stochastic-gradient MCMC on minibatches: SGLD and SGHMC (private to :mod:`tinynn.posterior`).

Both follow the minibatch estimate of the log posterior's gradient,
``g = (N / B) * grad log p(y_batch | x_batch, theta) + grad log p(theta)``, unbiased for the
full gradient, with injected Gaussian noise; C chains move together, one batched network pass
per step on the same minibatch. The minibatches come from a seeded shuffle of the data each
epoch.

- SGLD (Welling and Teh 2011): ``theta += step / 2 * G g + sqrt(step * G) * xi``.
- SGHMC (Chen, Fox and Guestrin 2014), with the friction ``alpha`` in (0, 1]:
  ``v = (1 - alpha) v + step / 2 * G g + sqrt(alpha * step * G) * xi``; ``theta += v``. With
  ``alpha = 1`` it is SGLD; a smaller friction keeps momentum and moves farther per gradient.

``G`` is a fixed diagonal preconditioner, the inverse of the diagonal of the Laplace precision
the chains start from (the prior's variance for parameters a last-layer Laplace leaves out). A
constant preconditioner needs no correction term, and it makes ``step`` a fraction of each
parameter's own scale: a prior std of 0.004 on one leaf and 4 on another no longer force one
tiny step on all. (The inverse diagonal, the conditional variance, rather than the marginal
variance: strongly correlated parameters would make the latter far too large a step.)

Without a Metropolis correction the draws are exact only as the step goes to zero: a decaying
step (any schedule of :mod:`tinynn.optim`) trades bias for mixing.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tinynn import optim
from tinynn._checks import as_generator, check_choice, check_int
from tinynn.posterior._fit import check_data, laplace_start
from tinynn.posterior._log_density import NetworkLogDensity
from tinynn.posterior._samples import Samples


def fit_sgld(
    x: Any,
    y: Any,
    hidden_sizes: Any = (50,),
    *,
    method: str = "sgld",
    batch_size: int = 32,
    step_size: Any = 1e-3,
    friction: float = 0.1,
    n_iters: int = 5000,
    burn_in: int = 1000,
    thin: int = 10,
    n_chains: int = 4,
    activation: str = "tanh",
    prior_std: Any = None,
    sigma: float | None = None,
    rng: Any = None,
) -> Samples:
    """Sample the network's posterior by SGLD or SGHMC on minibatches, C chains at once.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Training inputs (standardize them first).
    y : ndarray of shape (N,) or (N, O)
        Training targets.
    hidden_sizes : sequence of int, default (50,)
    method : {"sgld", "sghmc"}, default "sgld"
    batch_size : int, default 32
        B, examples per step (N or more: full-batch gradients).
    step_size : float or schedule, default 1e-3
        The step ``epsilon`` in units of each parameter's scale, the inverse of its diagonal
        entry of the Laplace precision (the injected noise has variance ``epsilon`` times it),
        or a schedule of :mod:`tinynn.optim` such as ``exponential_decay``; it must stay
        positive.
    friction : float in (0, 1], default 0.1
        SGHMC's ``alpha``: the fraction of the momentum lost per step.
    n_iters : int, default 5000
        Steps per chain.
    burn_in : int, default 1000
        Steps discarded at the start.
    thin : int, default 10
        Keep every ``thin``-th step after the burn-in.
    n_chains : int, default 4
    activation : str, default "tanh"
    prior_std, sigma : float, sequence or None
        As for :func:`fit_nuts`: None takes the Laplace evidence's.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    Samples
        The kept draws (C chains of ``(n_iters - burn_in) // thin``), with ``laplace`` (the
        start) and ``interrupted``. Ctrl-C returns the draws kept so far; a step that leaves
        the finite numbers stops the run with a :class:`tinynn.optim.DivergenceWarning` and
        returns the draws before it.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import fit_sgld
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(100, 1)); y = 2 * x[:, 0] + 0.1 * rng.normal(size=100)
    >>> post = fit_sgld(x, y, (), batch_size=10, n_iters=2000, burn_in=500, prior_std=1.0,
    ...                 sigma=0.1, rng=0)
    >>> post.chains()[0]["w"].shape, round(float(post.params[0]["w"].mean()), 1)
    ((4, 150, 1, 1), 2.0)
    """
    x_ND, y_arr = check_data(x, y)
    method = check_choice(method, "method", ("sgld", "sghmc"))
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    n_iters = check_int(n_iters, "n_iters", minimum=1)
    burn_in = check_int(burn_in, "burn_in", minimum=0)
    thin = check_int(thin, "thin", minimum=1)
    n_chains = check_int(n_chains, "n_chains", minimum=1)
    if burn_in + thin > n_iters:
        raise ValueError(
            f"n_iters={n_iters} leaves no draw after burn_in={burn_in} with thin={thin}; "
            f"ask for at least burn_in + thin steps"
        )
    if isinstance(friction, bool) or not isinstance(friction, (int, float)):
        raise TypeError(f"friction must be a float in (0, 1], got {friction!r}")
    if not 0.0 < float(friction) <= 1.0:
        raise ValueError(f"friction must be in (0, 1], got {friction!r}")
    alpha = 1.0 if method == "sgld" else float(friction)
    schedule = _as_schedule(step_size)
    gen = as_generator(rng)
    start = laplace_start(x_ND, y_arr, hidden_sizes, activation, prior_std, sigma, gen, "fit_sgld")
    density = NetworkLogDensity(
        x_ND,
        y_arr,
        start.params,
        sigma=start.sigma,
        prior_std=start.prior_std,
        activation=activation,
    )
    theta = density.flatten(start.sample(n_chains, gen))
    g_P = _preconditioner(start, density)
    y_NO = y_arr.reshape(len(y_arr), -1)
    n, size = len(x_ND), min(batch_size, len(x_ND))
    scale = n / size
    velocity = np.zeros_like(theta)
    floor = float(np.min(density(theta)[0])) - (1000.0 + 10.0 * theta.shape[1])
    kept: list[np.ndarray] = []
    order = gen.permutation(n)
    position = 0
    interrupted = False
    try:
        for t in range(n_iters):
            if position + size > n:  # a new epoch: a fresh shuffle
                order, position = gen.permutation(n), 0
            rows = order[position : position + size]
            position += size
            with np.errstate(over="ignore", invalid="ignore"):  # a divergence, caught below
                _, grad = density.minibatch(theta, x_ND[rows], y_NO[rows], scale)
                # once an epoch, the full log posterior: far below where the chains started
                # is no posterior's typical set (a minibatch estimate is too noisy to judge)
                fell = position == size and not np.min(density(theta)[0]) >= floor
            step = float(schedule(t))
            if not (step > 0.0 and math.isfinite(step)):
                raise ValueError(f"step_size must stay positive, got {step} at step {t}")
            noise = gen.standard_normal(theta.shape)
            with np.errstate(over="ignore", invalid="ignore"):  # a divergence, caught below
                velocity = (1.0 - alpha) * velocity + 0.5 * step * g_P * grad
                velocity += np.sqrt(alpha * step * g_P) * noise
                moved = theta + velocity
            if fell or not np.all(np.isfinite(moved)):
                warnings.warn(
                    f"{method} diverged at step {t} (the log posterior fell far below its "
                    f"start, or a parameter left the finite numbers); returning the "
                    f"{len(kept)} draws before it; lower step_size",
                    optim.DivergenceWarning,
                    stacklevel=2,
                )
                break
            theta = moved
            if t >= burn_in and (t - burn_in + 1) % thin == 0:
                kept.append(theta.copy())
    except KeyboardInterrupt:
        interrupted = True
    if not kept:
        if interrupted:
            raise KeyboardInterrupt
        raise ValueError(f"{method} stopped before its first kept draw; lower step_size")
    draws_CSP = np.stack(kept, axis=1)
    params_K = density.unflatten(draws_CSP.reshape(-1, draws_CSP.shape[-1]))
    post = Samples(params_K, start.sigma, n_chains, activation=activation)
    post.prior_std, post.laplace, post.interrupted = np.asarray(start.prior_std), start, interrupted
    return post


def _preconditioner(start: Any, density: NetworkLogDensity) -> np.ndarray:
    """Return ``1 / diag(precision)`` of the Laplace start, the prior variance where it has none."""
    precision = np.asarray(start.precision)
    diagonal = np.diag(precision) if precision.ndim == 2 else precision
    g_P = 1.0 / density.precision_P
    g_P[len(g_P) - len(diagonal) :] = 1.0 / diagonal
    return g_P


def _as_schedule(step_size: Any) -> Any:
    """Return ``step_size`` as a schedule: a positive number becomes a constant one."""
    if callable(step_size):
        return step_size
    if isinstance(step_size, bool) or not isinstance(step_size, (int, float)):
        raise TypeError(f"step_size must be a positive float or a schedule, got {step_size!r}")
    if not (step_size > 0 and math.isfinite(step_size)):
        raise ValueError(f"step_size must be positive, got {step_size!r}")
    return optim.constant(float(step_size))
