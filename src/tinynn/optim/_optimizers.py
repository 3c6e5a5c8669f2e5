"""First-order optimizers as pure ``(init, update)`` pairs over parameter trees.

This module holds the container type, plain gradient descent, momentum and clipping; the
adaptive methods (Adam, RMSProp) live in ``_adaptive.py``.

``init(params) -> state`` builds the optimizer's state; ``update(grads, state, params) ->
(new_params, new_state)`` takes one step and never modifies its inputs. States are named tuples
of plain numbers and trees, so a state returned by one run can be passed to the next and the
training continues exactly as one longer run would. ``n_updates`` in every state is the number
of updates done so far; step-size schedules are evaluated at it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from tinynn import tree
from tinynn._checks import check_positive, describe
from tinynn.optim._schedules import Schedule, as_schedule, step_at

__all__ = [
    "GradientDescentState",
    "MomentumState",
    "Optimizer",
    "clip_by_global_norm",
    "gradient_descent",
    "momentum",
    "nesterov",
]


class Optimizer(NamedTuple):
    """A pure optimizer: ``init(params) -> state`` and ``update(grads, state, params)``.

    ``update`` returns ``(new_params, new_state)`` and never modifies its inputs. Every
    optimizer in :mod:`tinynn.optim` is one.

    Examples
    --------
    A training loop written by hand:

    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> from autograd import grad
    >>> from tinynn import optim
    >>> loss = lambda x: anp.sum(x**2)
    >>> opt = optim.gradient_descent(0.25)
    >>> isinstance(opt, optim.Optimizer)
    True
    >>> x = np.array([4.0, -2.0])
    >>> state = opt.init(x)
    >>> for _ in range(3):
    ...     x, state = opt.update(grad(loss)(x), state, x)
    >>> x, state.n_updates  # each step halves x
    (array([ 0.5 , -0.25]), 3)
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any]]


class GradientDescentState(NamedTuple):
    """State of :func:`gradient_descent`: the number of updates done.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn import optim
    >>> opt = optim.gradient_descent(0.1)
    >>> state = opt.init(np.zeros(3))
    >>> state
    GradientDescentState(n_updates=0)
    >>> _, state = opt.update(np.ones(3), state, np.zeros(3))
    >>> state.n_updates
    1
    """

    n_updates: int


class MomentumState(NamedTuple):
    """State of :func:`momentum` and :func:`nesterov`: update count and velocity tree.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn import optim
    >>> params = {'w': np.array([1.0, -2.0])}
    >>> opt = optim.momentum(0.1, mass=0.9)
    >>> state = opt.init(params)
    >>> state
    MomentumState(n_updates=0, velocity={'w': array([0., 0.])})
    >>> params, state = opt.update({'w': np.array([1.0, 1.0])}, state, params)
    >>> state.n_updates, state.velocity['w'].shape
    (1, (2,))
    """

    n_updates: int
    velocity: Any


# The update functions of this package's optimizers that act on every element alike, so that
# they give the same numbers on a tree and on one vector of its concatenated leaves: minimize
# then runs them on one flat vector when the loss offers one (see optim._first_order).
_ELEMENTWISE: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def elementwise(optimizer: Optimizer | Any) -> bool:
    """Return True for an optimizer of this package whose update is elementwise."""
    return isinstance(optimizer, Optimizer) and optimizer.update in _ELEMENTWISE


def mark_elementwise(optimizer: Optimizer) -> Optimizer:
    """Record that ``optimizer.update`` acts on every element alike; return ``optimizer``."""
    _ELEMENTWISE.add(optimizer.update)
    return optimizer


def leafwise(fn: Callable[..., Any], *trees: Any) -> Any:
    """Return ``fn`` applied leafwise to trees of one structure and leaf shapes (no broadcasting).

    A difference raises the ValueError of :mod:`tinynn.tree` naming the path where it is.
    """
    return tree.map(fn, *trees, same_shapes=True)


def check_unit_interval(value: Any, name: str) -> float:
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
        step = step_at(schedule, state.n_updates)
        new_params = leafwise(lambda p, g: p - step * g, params, grads)
        return new_params, GradientDescentState(state.n_updates + 1)

    return mark_elementwise(Optimizer(init, update))


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
    mass = check_unit_interval(mass, "mass")
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be True or False, got {describe(nesterov)}")

    def init(params: Any) -> MomentumState:
        return MomentumState(0, tree.zeros_like(params))

    def update(grads: Any, state: MomentumState, params: Any) -> tuple[Any, Any]:
        step = step_at(schedule, state.n_updates)
        velocity = leafwise(lambda v, g: mass * v + g, state.velocity, grads)
        if nesterov:
            new_params = leafwise(
                lambda p, g, v: p - step * (g + mass * v), params, grads, velocity
            )
        else:
            new_params = leafwise(lambda p, v: p - step * v, params, velocity)
        return new_params, MomentumState(state.n_updates + 1, velocity)

    return mark_elementwise(Optimizer(init, update))


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
        norm = tree.global_norm(grads)
        if norm > max_norm and norm < float("inf"):
            factor = max_norm / norm
            grads = leafwise(lambda g: factor * g, grads)
        return inner.update(grads, state, params)

    return Optimizer(inner.init, update)  # the global norm: not elementwise
