"""First-order optimizers as pure ``(init, update)`` pairs over parameter trees.

``init(params) -> state`` builds the optimizer's state; ``update(grads, state, params) ->
(new_params, new_state)`` takes one step and never modifies its inputs. States are named tuples
of plain numbers and trees, so a state returned by one run can be passed to the next and the
training continues exactly as one longer run would. ``n_updates`` in every state is the number
of updates done so far; step-size schedules are evaluated at it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from tinynn import tree
from tinynn._checks import check_positive, describe
from tinynn.optim._fasttree import global_norm, tree_map
from tinynn.optim._schedules import Schedule, as_schedule

__all__ = [
    "AdamState",
    "GradientDescentState",
    "MomentumState",
    "Optimizer",
    "RMSPropState",
    "adam",
    "clip_by_global_norm",
    "gradient_descent",
    "momentum",
    "nesterov",
    "rmsprop",
]


class Optimizer(NamedTuple):
    """A pure optimizer: ``init(params) -> state`` and ``update(grads, state, params)``."""

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any]]


class GradientDescentState(NamedTuple):
    """State of :func:`gradient_descent`: the number of updates done."""

    n_updates: int


class MomentumState(NamedTuple):
    """State of :func:`momentum` and :func:`nesterov`: update count and velocity tree."""

    n_updates: int
    velocity: Any


class AdamState(NamedTuple):
    """State of :func:`adam`: update count, first and second moment trees."""

    n_updates: int
    mu: Any
    nu: Any


class RMSPropState(NamedTuple):
    """State of :func:`rmsprop`: update count and running mean of squared gradients."""

    n_updates: int
    mean_square: Any


def _check_unit_interval(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking 0 <= value < 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number in [0, 1), got {describe(value)}")
    out = float(value)
    if not (0.0 <= out < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {out!r}")
    return out


def gradient_descent(step_size: float | Schedule = 1e-3) -> Optimizer:
    """Return plain gradient descent: ``params - step_size * grads``, the notebook's update.

    Parameters
    ----------
    step_size : float or callable, default 1e-3
        A positive number, or a schedule ``count -> step`` such as :func:`exponential_decay`.

    Returns
    -------
    Optimizer
        The ``(init, update)`` pair; the state is a :class:`GradientDescentState`.

    Raises
    ------
    TypeError
        If ``step_size`` is neither a number nor a callable.
    ValueError
        If ``step_size`` is not a positive finite number.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.optim import gradient_descent
    >>> opt = gradient_descent(step_size=0.1)
    >>> params = {'x': np.array([3.0])}
    >>> state = opt.init(params)
    >>> params, state = opt.update({'x': 2 * params['x']}, state, params)
    >>> params['x'], state.n_updates
    (array([2.4]), 1)
    """
    schedule = as_schedule(step_size)

    def init(params: Any) -> GradientDescentState:
        return GradientDescentState(0)

    def update(grads: Any, state: GradientDescentState, params: Any) -> tuple[Any, Any]:
        step = schedule(state.n_updates)
        new_params = tree_map(lambda p, g: p - step * g, params, grads)
        return new_params, GradientDescentState(state.n_updates + 1)

    return Optimizer(init, update)


def momentum(
    step_size: float | Schedule = 1e-3, mass: float = 0.9, nesterov: bool = False
) -> Optimizer:
    """Return gradient descent with heavy-ball (or Nesterov) momentum.

    The velocity accumulates gradients, ``v = mass * v + grads``, and the step is
    ``params - step_size * v``; with ``nesterov=True`` it is
    ``params - step_size * (grads + mass * v)``, which looks one step ahead.

    Parameters
    ----------
    step_size : float or callable, default 1e-3
        A positive number or a schedule ``count -> step``.
    mass : float, default 0.9
        Momentum coefficient in [0, 1); 0 gives plain gradient descent.
    nesterov : bool, default False
        Use Nesterov's accelerated form.

    Returns
    -------
    Optimizer
        The ``(init, update)`` pair; the state is a :class:`MomentumState`.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``step_size`` is not positive or ``mass`` is outside [0, 1).

    References
    ----------
    .. [1] B. T. Polyak, "Some methods of speeding up the convergence of iteration methods",
       USSR Computational Mathematics and Mathematical Physics, 1964.
    .. [2] I. Sutskever, J. Martens, G. Dahl and G. Hinton, "On the importance of
       initialization and momentum in deep learning", ICML 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.optim import momentum
    >>> opt = momentum(step_size=0.1, mass=0.5)
    >>> params = np.array([1.0])
    >>> state = opt.init(params)
    >>> for _ in range(2):
    ...     params, state = opt.update(2 * params, state, params)
    >>> params.round(4)
    array([0.54])
    """
    schedule = as_schedule(step_size)
    mass = _check_unit_interval(mass, "mass")
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be True or False, got {describe(nesterov)}")

    def init(params: Any) -> MomentumState:
        return MomentumState(0, tree.zeros_like(params))

    def update(grads: Any, state: MomentumState, params: Any) -> tuple[Any, Any]:
        step = schedule(state.n_updates)
        velocity = tree_map(lambda v, g: mass * v + g, state.velocity, grads)
        if nesterov:
            new_params = tree_map(
                lambda p, g, v: p - step * (g + mass * v), params, grads, velocity
            )
        else:
            new_params = tree_map(lambda p, v: p - step * v, params, velocity)
        return new_params, MomentumState(state.n_updates + 1, velocity)

    return Optimizer(init, update)


def nesterov(step_size: float | Schedule = 1e-3, mass: float = 0.9) -> Optimizer:
    """Return Nesterov's accelerated gradient: ``momentum(step_size, mass, nesterov=True)``.

    Parameters
    ----------
    step_size : float or callable, default 1e-3
        A positive number or a schedule ``count -> step``.
    mass : float, default 0.9
        Momentum coefficient in [0, 1).

    Returns
    -------
    Optimizer
        The ``(init, update)`` pair; the state is a :class:`MomentumState`.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``step_size`` is not positive or ``mass`` is outside [0, 1).

    References
    ----------
    .. [1] Y. Nesterov, "A method for solving the convex programming problem with convergence
       rate O(1/k^2)", Soviet Mathematics Doklady, 1983.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.optim import nesterov
    >>> opt = nesterov(step_size=0.1, mass=0.5)
    >>> params = np.array([1.0])
    >>> state = opt.init(params)
    >>> params, state = opt.update(2 * params, state, params)
    >>> params.round(4)
    array([0.7])
    """
    return momentum(step_size, mass=mass, nesterov=True)


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
    b1 = _check_unit_interval(b1, "b1")
    b2 = _check_unit_interval(b2, "b2")
    eps = check_positive(eps, "eps")

    def init(params: Any) -> AdamState:
        return AdamState(0, tree.zeros_like(params), tree.zeros_like(params))

    def update(grads: Any, state: AdamState, params: Any) -> tuple[Any, Any]:
        step = schedule(state.n_updates)
        t = state.n_updates + 1
        mu = tree_map(lambda m, g: b1 * m + (1.0 - b1) * g, state.mu, grads)
        nu = tree_map(lambda v, g: b2 * v + (1.0 - b2) * (g * g), state.nu, grads)
        c1 = 1.0 - b1**t
        c2 = 1.0 - b2**t
        new_params = tree_map(
            lambda p, m, v: p - step * (m / c1) / (np.sqrt(v / c2) + eps), params, mu, nu
        )
        return new_params, AdamState(t, mu, nu)

    return Optimizer(init, update)


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
    decay = _check_unit_interval(decay, "decay")
    eps = check_positive(eps, "eps")

    def init(params: Any) -> RMSPropState:
        return RMSPropState(0, tree.zeros_like(params))

    def update(grads: Any, state: RMSPropState, params: Any) -> tuple[Any, Any]:
        step = schedule(state.n_updates)
        mean_square = tree_map(
            lambda s, g: decay * s + (1.0 - decay) * (g * g), state.mean_square, grads
        )
        new_params = tree_map(
            lambda p, g, s: p - step * g / (np.sqrt(s) + eps), params, grads, mean_square
        )
        return new_params, RMSPropState(state.n_updates + 1, mean_square)

    return Optimizer(init, update)


def clip_by_global_norm(optimizer: Optimizer, max_norm: float) -> Optimizer:
    """Wrap ``optimizer`` so that gradients longer than ``max_norm`` are scaled down first.

    When the global norm ``||g||`` (over all scalars of the tree) exceeds ``max_norm``, the
    gradient becomes ``g * max_norm / ||g||``: same direction, bounded length. The state is the
    wrapped optimizer's state.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer to wrap, e.g. ``adam(1e-3)``.
    max_norm : float
        Largest allowed global gradient norm; positive.

    Returns
    -------
    Optimizer
        The wrapped ``(init, update)`` pair.

    Raises
    ------
    TypeError
        If ``optimizer`` is not an ``(init, update)`` pair or ``max_norm`` is not a number.
    ValueError
        If ``max_norm`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.optim import clip_by_global_norm, gradient_descent
    >>> opt = clip_by_global_norm(gradient_descent(step_size=1.0), max_norm=1.0)
    >>> params = np.array([0.0, 0.0])
    >>> params, state = opt.update(np.array([30.0, 40.0]), opt.init(params), params)
    >>> params
    array([-0.6, -0.8])
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be a tinynn.optim.Optimizer such as adam(1e-3), got "
            f"{describe(optimizer)}"
        )
    max_norm = check_positive(max_norm, "max_norm")
    inner = optimizer

    def update(grads: Any, state: Any, params: Any) -> tuple[Any, Any]:
        norm = global_norm(grads)
        if norm > max_norm and norm < float("inf"):
            factor = max_norm / norm
            grads = tree_map(lambda g: factor * g, grads)
        return inner.update(grads, state, params)

    return Optimizer(inner.init, update)
