"""Shared input checks for tinynn's public entry points.

Every public function validates what the user hands it once, at the entry point, and never inside
code that autograd traces on every step. The helpers here build the messages in one voice: they
name the argument, say what was expected, say what was received and, where there is one, how to
fix it.

Shape suffixes used across tinynn: N examples, D input features, H hidden units, O outputs,
P scalars in a flattened parameter vector.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from autograd.tracer import getval, isbox


def describe(value: Any) -> str:
    """Return a short description of ``value`` for an error message."""
    value = getval(value)
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} (type {type(value).__name__})"


def as_generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """Turn ``rng`` (a Generator, an int seed or None) into a ``np.random.Generator``.

    None draws fresh entropy from the operating system, as numpy does; pass an int for a
    reproducible result.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise ValueError(f"{name} must be a non-negative int seed, got {int(rng)}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be a numpy.random.Generator, an int seed or None, got {describe(rng)}"
    )


def as_float_array(
    value: Any,
    name: str,
    *,
    ndims: tuple[int, ...] | None = None,
    allow_nonfinite: bool = False,
) -> np.ndarray:
    """Convert ``value`` to a float64 ndarray, rejecting ragged, non-numeric and non-finite input.

    Parameters
    ----------
    value : array_like
        What the user passed.
    name : str
        The argument's name, used in error messages.
    ndims : tuple of int, optional
        Allowed numbers of dimensions.
    allow_nonfinite : bool, default False
        Accept NaN and infinity.

    Raises
    ------
    TypeError
        If ``value`` is not numeric (strings, objects, None).
    ValueError
        If ``value`` is ragged, has the wrong number of dimensions or holds NaN or infinity.
    """
    if isbox(value):
        raise TypeError(f"{name} must be a concrete array here, got a traced autograd value")
    if value is None:
        raise TypeError(f"{name} must be an array of numbers, got None")
    try:
        arr = np.asarray(value)
    except ValueError as err:  # ragged nested sequences on numpy >= 1.24
        raise ValueError(
            f"{name} must be a rectangular array of numbers, got a ragged sequence ({err})"
        ) from None
    if arr.dtype == object:
        raise ValueError(f"{name} must be a rectangular array of numbers, got {describe(value)}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got dtype {arr.dtype}; convert it with "
            f"np.asarray({name}, dtype=float) after removing non-numeric entries"
        )
    arr = arr.astype(np.float64, copy=False)
    if ndims is not None and arr.ndim not in ndims:
        wanted = " or ".join(str(d) for d in ndims)
        raise ValueError(f"{name} must have {wanted} dimensions, got shape {arr.shape}")
    if not allow_nonfinite and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = tuple(int(i) for i in bad)
        raise ValueError(
            f"{name} must be finite, got {arr[tuple(bad)]} at index {where}; "
            f"drop or impute missing values first"
        )
    return arr


def shape_of(value: Any) -> tuple[int, ...]:
    """Return the shape of an array, a number, a list or an autograd box of one."""
    if type(value) is np.ndarray:
        return value.shape
    try:
        return tuple(value.shape)  # numpy scalar, ArrayBox
    except AttributeError:
        return tuple(np.shape(getval(value)))


def as_float_or_box(value: Any, name: str) -> Any:
    """Return ``value`` as a float64 array; autograd boxes pass through untouched.

    NaN and infinity are allowed (this serves functions that autograd traces); ragged and
    non-numeric input gets the message of :func:`as_float_array`.
    """
    if isbox(value) or (type(value) is np.ndarray and value.dtype == np.float64):
        return value
    if value is None:  # np.asarray(None, dtype=float) would be a silent NaN
        raise TypeError(f"{name} must be an array of numbers, got None")
    try:
        complex_values = np.iscomplexobj(value)
    except (TypeError, ValueError):  # ragged: as_float_array below says so
        complex_values = False
    if complex_values:
        raise TypeError(
            f"{name} must hold real numbers, got complex values; pass {name}.real if the "
            "imaginary part is meant to be dropped"
        )
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return as_float_array(value, name, allow_nonfinite=True)


def check_finite(value: Any, name: str, hint: str = "drop or impute missing values first") -> None:
    """Raise a ValueError naming the first NaN or infinity of a concrete array.

    Traced values (autograd boxes) pass unchecked: inside a trace a NaN is how a diverging
    optimizer learns that it diverged, so it must reach the optimizer.
    """
    if isbox(value):
        return
    arr = np.asarray(value)
    # The usual case in one pass: a sum of squares is finite only if every float is (a square
    # that overflows, beyond 1e154, falls through to the exact test below)
    if arr.dtype.kind == "f" and math.isfinite(float(np.vdot(arr, arr))):
        return
    if not np.isfinite(arr).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{name} must be finite, got {arr[bad]} at index {bad}; {hint}")


def check_positive(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite number greater than zero."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a positive number, got {describe(value)}")
    out = float(value)
    if not np.isfinite(out) or out <= 0.0:
        raise ValueError(f"{name} must be a positive finite number, got {out!r}")
    return out


SMALLEST_STD = math.sqrt(np.finfo(np.float64).tiny)  # about 1.5e-154: its square is still normal


def check_std(value: Any, name: str, *, tiny_ok: bool = False) -> float:
    """Return a standard deviation as a float: positive, finite, and with a usable square.

    A std below about 1.5e-154 squares to a subnormal or zero float64, and ``1 / std**2``
    overflows; such a value is refused with advice rather than turned into inf or a
    ZeroDivisionError deep in a loss, unless ``tiny_ok`` (for code that divides by the std
    before squaring, as ``gaussian_nll`` and ``log_prior`` do).
    """
    out = check_positive(value, name)
    if out < SMALLEST_STD and not tiny_ok:
        raise ValueError(
            f"{name} must be at least {SMALLEST_STD:.3g}, got {out!r}: its square underflows "
            f"float64; rescale the data (standardize x and y) so it need not be that small"
        )
    return out


def check_int(value: Any, name: str, *, minimum: int = 0) -> int:
    """Return ``value`` as an int after checking it is a whole number of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {describe(value)}")
    out = int(value)
    if out < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {out}")
    return out


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` after checking it is one of the strings in ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return str(value)


def check_nonnegative(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite number of at least zero."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a non-negative number, got {describe(value)}")
    out = float(value)
    if not np.isfinite(out) or out < 0.0:
        raise ValueError(f"{name} must be a non-negative finite number, got {out!r}")
    return out


_COLUMNWISE_SIZE = 2**20  # above this many values, column statistics go one column at a time


def column_mean_scale(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and standard deviation of each column of finite ``a``, overflow-safe.

    Each column is divided by its largest magnitude first, so values from 1e-300 to 1e300 give
    their true mean and std instead of an overflowed or underflowed square. A column whose std
    is zero or below rounding error relative to its mean is constant: its scale is 1.
    """
    if a.ndim == 2 and a.shape[1] > 1 and a.size > _COLUMNWISE_SIZE:  # a column at a time:
        stats = [column_mean_scale(a[:, j : j + 1]) for j in range(a.shape[1])]  # N-sized temps
        return np.concatenate([m for m, _ in stats]), np.concatenate([s for _, s in stats])
    peak = np.max(np.abs(a), axis=0)
    safe = np.where(peak > 0, peak, 1.0)
    unit = a / safe
    mean = unit.mean(axis=0)
    std = unit.std(axis=0)
    constant = ~(std > 64 * np.finfo(np.float64).eps * np.abs(mean))
    return mean * safe, np.where(constant, 1.0, std * safe)


def constant_targets(y: np.ndarray) -> bool:
    """Return whether every column of ``y`` (N,) or (N, O) holds one value repeated.

    A network then fits the targets exactly, so the noise the evidence (or a likelihood)
    prefers is 0: such targets cannot set sigma.
    """
    return not np.any(np.ptp(y.reshape(len(y), -1), axis=0))


def describe_constant(y: np.ndarray) -> str:
    """Say what constant targets hold, for an error message."""
    if y.ndim == 1 or y.shape[1] == 1:
        return f"every target equals {float(y.flat[0]):.6g}"
    return "every column of y holds one value"
