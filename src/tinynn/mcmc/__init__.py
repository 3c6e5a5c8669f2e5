"""Markov chain Monte Carlo for many chains at once: NUTS and HMC with warm-up adaptation.

Both samplers move C chains together. The log density is called on a batch of positions, one
row (or one leading index of every leaf) per chain, and returns one value per chain; every
leapfrog step is one such call for all the chains still moving, so a network's gradient is
computed for all chains in one batched pass.

- :func:`nuts`: the No-U-Turn sampler (Hoffman and Gelman 2014) in its multinomial form with
  the generalized U-turn criterion (Betancourt 2017), as Stan and NumPyro run it.
- :func:`hmc`: Hamiltonian Monte Carlo with a fixed number of leapfrog steps.

Warm-up (Stan's schedule): dual averaging of each chain's step size toward ``target_accept``,
and a diagonal mass matrix from the variances of the draws in doubling windows. Steps whose
energy error exceeds 1000 are divergences: their trajectory ends and they are counted.
A run is reproducible from its seed; Ctrl-C returns the draws so far and
:meth:`MCMCResult.resume` continues bit for bit.

Shape suffixes: C chains, S draws per chain, P scalars per position.

>>> import numpy as np
>>> from tinynn import mcmc
>>> def log_density(q_CP):  # a standard normal in two dimensions, for every chain
...     return -0.5 * (q_CP**2).sum(axis=1)
>>> run = mcmc.nuts(log_density, np.zeros((4, 2)), n_warmup=200, n_draws=200, rng=0)
>>> run.draws.shape, run.interrupted
((4, 200, 2), False)
>>> bool(abs(run.draws.mean()) < 0.2 and abs(run.draws.std() - 1.0) < 0.1)
True

References
----------
Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn sampler: adaptively setting path lengths in
Hamiltonian Monte Carlo. Journal of Machine Learning Research 15, 1593-1623.

Betancourt, M. (2017). A conceptual introduction to Hamiltonian Monte Carlo. arXiv:1701.02434.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn._checks import as_float_array, as_generator, check_int
from tinynn.mcmc._kernels import Target
from tinynn.mcmc._layout import Layout
from tinynn.mcmc._result import MCMCResult
from tinynn.mcmc._run import Plan, run, start_state

__all__ = ["MCMCResult", "hmc", "nuts"]


def nuts(
    log_density: Any,
    init: Any,
    *,
    value_and_grad: Any = None,
    n_warmup: int = 500,
    n_draws: int = 500,
    target_accept: float = 0.8,
    max_depth: int = 10,
    step_size: Any = None,
    inv_mass: Any = None,
    adapt_mass: bool = True,
    rng: Any = None,
) -> MCMCResult:
    """Draw from ``exp(log_density)`` with the No-U-Turn sampler, C chains at once.

    Parameters
    ----------
    log_density : callable or None
        ``log_density(q)`` for a batch ``q`` of positions shaped like ``init`` (a (B, P) array,
        or a tree whose leaves have a leading axis B) returns B log densities, up to a constant;
        autograd differentiates it. None when ``value_and_grad`` is given.
    init : ndarray of shape (C, P), or a tree of (C, ...) leaves
        One starting point per chain (a stacked tree, e.g. from :func:`tinynn.tree.stack`).
    value_and_grad : callable, optional
        ``value_and_grad(q) -> (values_B, grads)``, with ``grads`` shaped like ``q``; used
        instead of autograd (for a hand-written or faster gradient).
    n_warmup : int, default 500
        Warm-up iterations per chain (adaptation; their draws are discarded).
    n_draws : int, default 500
        Draws per chain kept after warm-up.
    target_accept : float, default 0.8
        The mean acceptance statistic the step size is tuned to; raise it (0.9, 0.95) when
        there are divergences.
    max_depth : int, default 10
        At most ``2**max_depth - 1`` leapfrog steps per draw.
    step_size : float or ndarray of shape (C,), optional
        Starting step size; found by doubling and halving (as Stan does) by default.
    inv_mass : ndarray of shape (P,) or (C, P), optional
        Starting diagonal inverse mass matrix (the posterior variances, ideally); ones by default.
    adapt_mass : bool, default True
        Re-estimate the inverse mass during warm-up.
    rng : numpy.random.Generator, int or None
        Randomness; an int seed gives the same draws on every run.

    Returns
    -------
    MCMCResult

    Raises
    ------
    ValueError
        If ``init`` is not (C, P) or a stacked tree, is not finite, or the log density is not
        finite at it; if the log density does not return one value per chain; or if a number
        is out of range.
    TypeError
        If neither or both of ``log_density`` and ``value_and_grad`` are given.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn import mcmc
    >>> run = mcmc.nuts(lambda q: -0.5 * (q**2).sum(1), np.zeros((2, 3)), n_warmup=100,
    ...                 n_draws=50, rng=1)
    >>> sorted(run.chain_stats())
    ['accept_prob', 'max_depth_hits', 'n_divergent', 'n_leapfrog', 'step_size', 'tree_depth']
    """
    max_depth = check_int(max_depth, "max_depth", minimum=1)
    if max_depth > 20:
        raise ValueError(f"max_depth must be at most 20 (a million steps a draw), got {max_depth}")
    return _sample(
        "nuts",
        log_density,
        init,
        value_and_grad,
        n_warmup,
        n_draws,
        target_accept,
        max_depth,
        0,
        step_size,
        inv_mass,
        adapt_mass,
        rng,
    )


def hmc(
    log_density: Any,
    init: Any,
    *,
    n_steps: int = 20,
    value_and_grad: Any = None,
    n_warmup: int = 500,
    n_draws: int = 500,
    target_accept: float = 0.8,
    step_size: Any = None,
    inv_mass: Any = None,
    adapt_mass: bool = True,
    rng: Any = None,
) -> MCMCResult:
    """Draw from ``exp(log_density)`` by Hamiltonian Monte Carlo with ``n_steps`` leapfrog steps.

    The arguments are those of :func:`nuts`, with ``n_steps`` (default 20) in place of
    ``max_depth``: every draw is one trajectory of ``n_steps`` steps, accepted or not by
    Metropolis. The step size adapts during warm-up as for NUTS; the path length
    ``n_steps * step_size`` is yours to choose.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn import mcmc
    >>> run = mcmc.hmc(lambda q: -0.5 * (q**2).sum(1), np.zeros((2, 3)), n_steps=10,
    ...                n_warmup=100, n_draws=50, rng=1)
    >>> run.stats["n_leapfrog"][0, :3]
    array([10, 10, 10])
    """
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    return _sample(
        "hmc",
        log_density,
        init,
        value_and_grad,
        n_warmup,
        n_draws,
        target_accept,
        0,
        n_steps,
        step_size,
        inv_mass,
        adapt_mass,
        rng,
    )


def _sample(
    method: str,
    log_density: Any,
    init: Any,
    value_and_grad: Any,
    n_warmup: Any,
    n_draws: Any,
    target_accept: Any,
    max_depth: int,
    n_steps: int,
    step_size: Any,
    inv_mass: Any,
    adapt_mass: Any,
    rng: Any,
) -> MCMCResult:
    if isinstance(init, np.ndarray) and init.ndim == 1:
        raise ValueError(
            f"init must hold one row per chain, shape (C, P), got shape {init.shape}; for one "
            f"chain pass init[None]"
        )
    layout = Layout(init)
    target = Target(layout.value_and_grad(log_density, value_and_grad), layout.n_params)
    n_chains, n_params = layout.n_chains, layout.n_params
    if isinstance(target_accept, bool) or not isinstance(target_accept, (int, float)):
        raise TypeError(f"target_accept must be a float in (0, 1), got {target_accept!r}")
    if not 0.0 < float(target_accept) < 1.0:
        raise ValueError(f"target_accept must be strictly between 0 and 1, got {target_accept}")
    if not isinstance(adapt_mass, bool):
        raise TypeError(f"adapt_mass must be True or False, got {adapt_mass!r}")
    plan = Plan(
        method=method,
        n_warmup=check_int(n_warmup, "n_warmup", minimum=0),
        n_draws=check_int(n_draws, "n_draws", minimum=0),
        target_accept=float(target_accept),
        max_depth=max_depth,
        n_steps=n_steps,
        adapt_mass=adapt_mass,
    )
    inv_mass_CP = _per_chain(inv_mass, "inv_mass", (n_chains, n_params), 1.0)
    step_C = None if step_size is None else _per_chain(step_size, "step_size", (n_chains,), 1.0)
    gen = as_generator(rng)
    state = start_state(target, layout.q_CP, step_C, inv_mass_CP, plan, gen)
    state, interrupted = run(target, state, plan, gen)
    return MCMCResult(target, layout, plan, state, gen, interrupted)


def _per_chain(value: Any, name: str, shape: tuple[int, ...], default: float) -> np.ndarray:
    """Return a positive array of ``shape`` from one value, one row for all chains, or one each."""
    if value is None:
        return np.full(shape, default)
    arr = as_float_array(value, name)
    if arr.shape not in ((), shape[1:], shape):
        allowed = " or ".join(str(s) for s in dict.fromkeys([(), shape[1:], shape]))
        raise ValueError(f"{name} must have shape {allowed}, got {arr.shape}")
    if not np.all(arr > 0):
        raise ValueError(f"{name} must be positive, got a minimum of {float(np.min(arr))}")
    return np.broadcast_to(arr, shape).astype(float)
