"""Adaptive first-order optimizers, Adam and RMSProp, as pure ``(init, update)`` pairs.

They divide each step by a running root mean square of the gradient, so every scalar moves by
about ``step_size`` per update whatever the scale of the loss. ``n_updates`` in their states is
the number of updates done so far; step-size schedules are evaluated at it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from tinynn import tree
from tinynn._checks import check_positive
from tinynn.optim._optimizers import Optimizer, check_unit_interval, leafwise, mark_elementwise
from tinynn.optim._schedules import Schedule, as_schedule, step_at

__all__ = ["AdamState", "RMSPropState", "adam", "rmsprop"]


class AdamState(NamedTuple):
    """State of :func:`adam`: update count, first and second moment trees.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn import optim
    >>> params = {'w': np.array([1.0, -2.0])}
    >>> opt = optim.adam(0.1)
    >>> state = opt.init(params)
    >>> state
    AdamState(n_updates=0, mu={'w': array([0., 0.])}, nu={'w': array([0., 0.])})
    >>> params, state = opt.update({'w': np.array([0.5, -0.5])}, state, params)
    >>> state.n_updates, state.mu['w'].round(3), params['w'].round(3)
    (1, array([ 0.05, -0.05]), array([ 0.9, -1.9]))
    """

    n_updates: int
    mu: Any
    nu: Any


class RMSPropState(NamedTuple):
    """State of :func:`rmsprop`: update count and running mean of squared gradients.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn import optim
    >>> params = [{'w': np.ones((2, 1)), 'b': np.zeros(1)}]
    >>> opt = optim.rmsprop(0.01, decay=0.9)
    >>> state = opt.init(params)
    >>> grads = [{'w': np.full((2, 1), 2.0), 'b': np.array([1.0])}]
    >>> params, state = opt.update(grads, state, params)
    >>> state.n_updates, state.mean_square[0]['b'].round(3)  # 0.1 * 1.0**2
    (1, array([0.1]))
    """

    n_updates: int
    mean_square: Any


def adam(
    step_size: float | Schedule = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> Optimizer:
    """Return Adam: steps scaled by bias-corrected running moments of the gradient.

    With ``t = count + 1``: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2`` and
    ``params - step_size * m_hat / (sqrt(v_hat) + eps)`` where ``m_hat = m / (1 - b1**t)`` and
    ``v_hat = v / (1 - b2**t)``. Each step moves every scalar by about ``step_size`` at most,
    whatever the scale of the loss.

    Parameters
    ----------
    step_size : float or callable, default 1e-3
        A positive number or a schedule ``count -> step``.
    b1, b2 : float, default 0.9 and 0.999
        Decay rates of the first and second moments, in [0, 1).
    eps : float, default 1e-8
        Positive constant added to the denominator.

    Returns
    -------
    Optimizer
        The ``(init, update)`` pair; the state is an :class:`AdamState`.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``step_size`` or ``eps`` is not positive or ``b1``, ``b2`` are outside [0, 1).

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
       https://arxiv.org/abs/1412.6980

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.optim import adam
    >>> opt = adam(step_size=0.1)
    >>> params = [{'w': np.array([1.0, -2.0])}]
    >>> state = opt.init(params)
    >>> params, state = opt.update([{'w': 2 * params[0]['w']}], state, params)
    >>> params[0]['w'].round(4)
    array([ 0.9, -1.9])
    """
    schedule = as_schedule(step_size)
    b1 = check_unit_interval(b1, "b1")
    b2 = check_unit_interval(b2, "b2")
    eps = check_positive(eps, "eps")

    def init(params: Any) -> AdamState:
        return AdamState(0, tree.zeros_like(params), tree.zeros_like(params))

    def update(grads: Any, state: AdamState, params: Any) -> tuple[Any, Any]:
        step = step_at(schedule, state.n_updates)
        t = state.n_updates + 1
        mu = leafwise(lambda m, g: b1 * m + (1.0 - b1) * g, state.mu, grads)
        nu = leafwise(lambda v, g: b2 * v + (1.0 - b2) * (g * g), state.nu, grads)
        c1 = 1.0 - b1**t
        c2 = 1.0 - b2**t
        new_params = leafwise(
            lambda p, m, v: p - step * (m / c1) / (np.sqrt(v / c2) + eps), params, mu, nu
        )
        return new_params, AdamState(t, mu, nu)

    return mark_elementwise(Optimizer(init, update))


def rmsprop(step_size: float | Schedule = 1e-3, decay: float = 0.9, eps: float = 1e-8) -> Optimizer:
    """Return RMSProp: steps divided by a running root mean square of the gradient.

    ``s = decay * s + (1 - decay) * g**2`` (starting from zero) and
    ``params - step_size * g / (sqrt(s) + eps)``.

    Parameters
    ----------
    step_size : float or callable, default 1e-3
        A positive number or a schedule ``count -> step``.
    decay : float, default 0.9
        Decay rate of the running mean square, in [0, 1).
    eps : float, default 1e-8
        Positive constant added to the denominator.

    Returns
    -------
    Optimizer
        The ``(init, update)`` pair; the state is an :class:`RMSPropState`.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``step_size`` or ``eps`` is not positive or ``decay`` is outside [0, 1).

    References
    ----------
    .. [1] T. Tieleman and G. Hinton, Lecture 6.5, "RMSProp", COURSERA: Neural Networks for
       Machine Learning, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.optim import rmsprop
    >>> opt = rmsprop(step_size=0.01, decay=0.99)
    >>> params = np.array([1.0])
    >>> state = opt.init(params)
    >>> params, state = opt.update(2 * params, state, params)
    >>> params.round(4)
    array([0.9])
    """
    schedule = as_schedule(step_size)
    decay = check_unit_interval(decay, "decay")
    eps = check_positive(eps, "eps")

    def init(params: Any) -> RMSPropState:
        return RMSPropState(0, tree.zeros_like(params))

    def update(grads: Any, state: RMSPropState, params: Any) -> tuple[Any, Any]:
        step = step_at(schedule, state.n_updates)
        mean_square = leafwise(
            lambda s, g: decay * s + (1.0 - decay) * (g * g), state.mean_square, grads
        )
        new_params = leafwise(
            lambda p, g, s: p - step * g / (np.sqrt(s) + eps), params, grads, mean_square
        )
        return new_params, RMSPropState(state.n_updates + 1, mean_square)

    return mark_elementwise(Optimizer(init, update))
