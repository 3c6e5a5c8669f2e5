"""Step-size schedules: callables that map the number of updates done so far to a step size.

A schedule is any callable ``schedule(count) -> float`` where ``count`` is 0 for the first
update. The optimizers call it once per update with the count stored in their state, so a run
resumed from a returned state picks the schedule up where it left off.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from tinynn._checks import check_int, check_positive, describe

__all__ = ["constant", "cosine_decay", "exponential_decay", "step_decay"]

Schedule = Callable[[int], float]


class _Schedule:
    """Base for the built-in schedules (dataclasses): a readable repr and a float result."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]  # set on subclasses

    def __repr__(self) -> str:
        args = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self))
        return f"{type(self).__name__.lstrip('_')}({args})"

    def __call__(self, count: int) -> float:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclasses.dataclass(repr=False, eq=False)
class _Constant(_Schedule):
    value: float

    def __call__(self, count: int) -> float:
        return self.value


@dataclasses.dataclass(repr=False, eq=False)
class _ExponentialDecay(_Schedule):
    init_value: float
    decay_rate: float
    decay_steps: int

    def __call__(self, count: int) -> float:
        return self.init_value * self.decay_rate ** (count / self.decay_steps)


@dataclasses.dataclass(repr=False, eq=False)
class _CosineDecay(_Schedule):
    init_value: float
    decay_steps: int
    final_value: float

    def __call__(self, count: int) -> float:
        fraction = min(count, self.decay_steps) / self.decay_steps
        weight = 0.5 * (1.0 + math.cos(math.pi * fraction))
        return self.final_value + (self.init_value - self.final_value) * weight


@dataclasses.dataclass(repr=False, eq=False)
class _StepDecay(_Schedule):
    init_value: float
    factor: float
    every: int

    def __call__(self, count: int) -> float:
        return self.init_value * self.factor ** (count // self.every)


def _check_fraction(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking 0 < value <= 1."""
    out = check_positive(value, name)
    if out > 1.0:
        raise ValueError(f"{name} must be in (0, 1] so that the step shrinks, got {out!r}")
    return out


def constant(value: float) -> Schedule:
    """Return a schedule that always gives the step size ``value``.

    Parameters
    ----------
    value : float
        The step size; a positive finite number.

    Returns
    -------
    schedule : callable
        ``schedule(count) -> float``.

    Raises
    ------
    TypeError
        If ``value`` is not a number.
    ValueError
        If ``value`` is not positive and finite.

    Examples
    --------
    >>> from tinynn.optim import constant
    >>> schedule = constant(0.01)
    >>> schedule(0), schedule(1000)
    (0.01, 0.01)
    """
    return _Constant(check_positive(value, "value"))


def exponential_decay(init_value: float, decay_rate: float, decay_steps: int) -> Schedule:
    """Return a schedule that multiplies the step by ``decay_rate`` every ``decay_steps`` updates.

    The decay is smooth: ``init_value * decay_rate ** (count / decay_steps)``.

    Parameters
    ----------
    init_value : float
        Step size of the first update; positive.
    decay_rate : float
        Factor in (0, 1] applied per ``decay_steps`` updates.
    decay_steps : int
        Number of updates over which the step shrinks by ``decay_rate``; at least 1.

    Returns
    -------
    schedule : callable
        ``schedule(count) -> float``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``init_value`` is not positive, ``decay_rate`` is outside (0, 1] or
        ``decay_steps`` is below 1.

    Examples
    --------
    >>> from tinynn.optim import exponential_decay
    >>> schedule = exponential_decay(0.1, decay_rate=0.5, decay_steps=10)
    >>> [round(schedule(count), 4) for count in (0, 10, 15, 20)]
    [0.1, 0.05, 0.0354, 0.025]
    """
    return _ExponentialDecay(
        check_positive(init_value, "init_value"),
        _check_fraction(decay_rate, "decay_rate"),
        check_int(decay_steps, "decay_steps", minimum=1),
    )


def cosine_decay(init_value: float, decay_steps: int, final_value: float = 0.0) -> Schedule:
    """Return a schedule that goes from ``init_value`` to ``final_value`` along half a cosine.

    After ``decay_steps`` updates the step stays at ``final_value``.

    Parameters
    ----------
    init_value : float
        Step size of the first update; positive.
    decay_steps : int
        Number of updates the decay lasts; at least 1.
    final_value : float, default 0.0
        Step size from update ``decay_steps`` on; between 0 and ``init_value``.

    Returns
    -------
    schedule : callable
        ``schedule(count) -> float``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``init_value`` is not positive, ``decay_steps`` is below 1 or ``final_value`` is
        outside [0, init_value].

    Examples
    --------
    >>> from tinynn.optim import cosine_decay
    >>> schedule = cosine_decay(0.1, decay_steps=100, final_value=0.01)
    >>> [round(schedule(count), 4) for count in (0, 50, 100, 500)]
    [0.1, 0.055, 0.01, 0.01]
    """
    init_value = check_positive(init_value, "init_value")
    decay_steps = check_int(decay_steps, "decay_steps", minimum=1)
    if isinstance(final_value, bool) or not isinstance(final_value, numbers.Real):
        raise TypeError(f"final_value must be a number, got {describe(final_value)}")
    final = float(final_value)
    if not (np.isfinite(final) and 0.0 <= final <= init_value):
        raise ValueError(
            f"final_value must be between 0 and init_value={init_value!r}, got {final!r}"
        )
    return _CosineDecay(init_value, decay_steps, final)


def step_decay(init_value: float, factor: float, every: int) -> Schedule:
    """Return a schedule that multiplies the step by ``factor`` once every ``every`` updates.

    The step is ``init_value * factor ** (count // every)``: piecewise constant.

    Parameters
    ----------
    init_value : float
        Step size of the first ``every`` updates; positive.
    factor : float
        Factor in (0, 1] applied at each drop.
    every : int
        Number of updates between drops; at least 1.

    Returns
    -------
    schedule : callable
        ``schedule(count) -> float``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``init_value`` is not positive, ``factor`` is outside (0, 1] or ``every`` is below 1.

    Examples
    --------
    >>> from tinynn.optim import step_decay
    >>> schedule = step_decay(0.1, factor=0.5, every=100)
    >>> [schedule(count) for count in (0, 99, 100, 250)]
    [0.1, 0.1, 0.05, 0.025]
    """
    return _StepDecay(
        check_positive(init_value, "init_value"),
        _check_fraction(factor, "factor"),
        check_int(every, "every", minimum=1),
    )


def step_at(schedule: Schedule, count: int) -> float:
    """Return the schedule's step for update ``count``, refusing a negative or non-finite one.

    A schedule that returned such a step would train uphill, or not at all, while the run
    reported "completed"; one comparison per update keeps that from happening silently.
    """
    step = schedule(count)
    if not 0.0 <= step < math.inf:
        raise ValueError(
            f"the step-size schedule returned {step!r} at update {count}; a step must be a "
            f"finite number >= 0"
        )
    return step


def as_schedule(step_size: Any, name: str = "step_size") -> Schedule:
    """Return ``step_size`` as a schedule: a positive number becomes ``constant(step_size)``."""
    if callable(step_size):
        return step_size
    if isinstance(step_size, bool) or not isinstance(step_size, (numbers.Real, np.number)):
        raise TypeError(
            f"{name} must be a positive number or a schedule (a callable count -> step, such "
            f"as tinynn.optim.exponential_decay(...)), got {describe(step_size)}"
        )
    value = float(step_size)
    if not (np.isfinite(value) and value > 0.0):
        raise ValueError(
            f"{name} must be a positive finite number, got {value!r}; try a small value such "
            f"as 1e-3"
        )
    return _Constant(value)
