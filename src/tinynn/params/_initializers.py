"""Weight and bias initializers for :func:`tinynn.params.make_params` (re-exported there).

Each initializer is an object called as ``init(shape, rng)`` that returns a float64 array.
Glorot/Xavier and He scale their draws by the fans of a weight of shape (n_in, n_out); a bias of
shape (n_out,) uses n_out for both fans.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from tinynn._checks import as_float_array, as_generator, check_positive, describe

Shape = tuple[int, ...]


def _fans(shape: Shape) -> tuple[int, int]:
    """Return (fan_in, fan_out): the rows and columns of a weight, the length of a bias."""
    if len(shape) >= 2:
        return shape[0], shape[1]
    n = shape[0] if shape else 1
    return n, n


class Initializer:
    """Base class of the initializers: called as ``init(shape, rng)`` it returns a float64 array.

    Subclass it (override ``draw``) to write a seeded initializer of your own; a plain function
    passed to :func:`make_params` is called with the shape only, as in the notebook.

    Examples
    --------
    >>> from tinynn import params
    >>> class Arange(params.Initializer):
    ...     name = "arange"
    ...
    ...     def draw(self, shape, rng):
    ...         return np.arange(np.prod(shape)).reshape(shape)
    >>> Arange()((2, 2))
    array([[0., 1.],
           [2., 3.]])
    >>> params.make_params(1, [], weight_init=Arange(), rng=0)[0]['w']
    array([[0.]])
    """

    name = "initializer"

    def __call__(self, shape: Shape, rng: Any = None) -> np.ndarray:
        shape = tuple(int(n) for n in shape)
        return np.asarray(self.draw(shape, as_generator(rng)), dtype=np.float64)

    def draw(self, shape: Shape, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{self.name}({args})"


class _Constant(Initializer):
    name = "constant"

    def __init__(self, value: float) -> None:
        self.value = value

    def draw(self, shape: Shape, rng: np.random.Generator) -> np.ndarray:
        return np.full(shape, self.value, dtype=np.float64)


class _Normal(Initializer):
    name = "normal"

    def __init__(self, std: float) -> None:
        self.std = std

    def draw(self, shape: Shape, rng: np.random.Generator) -> np.ndarray:
        return self.std * rng.standard_normal(shape)


class _Uniform(Initializer):
    name = "uniform"

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def draw(self, shape: Shape, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=shape)


class _Scaled(Initializer):
    """Glorot (variance 2 / (fan_in + fan_out)) or He (variance 2 / fan_in), normal or uniform."""

    def __init__(self, rule: str, dist: str) -> None:
        self.name = f"{rule}_{dist}"
        self._rule, self._dist = rule, dist

    def draw(self, shape: Shape, rng: np.random.Generator) -> np.ndarray:
        fan_in, fan_out = _fans(shape)
        var = 2.0 / (fan_in + fan_out) if self._rule == "glorot" else 2.0 / fan_in
        if self._dist == "normal":
            return np.sqrt(var) * rng.standard_normal(shape)
        limit = np.sqrt(3.0 * var)  # a uniform on [-a, a] has variance a**2 / 3
        return rng.uniform(-limit, limit, size=shape)

    def __repr__(self) -> str:
        return f"{self.name}()"


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    out = float(value)
    if not np.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out!r}")
    return out


def constant(value: float) -> Initializer:
    """Return an initializer filling every entry with ``value``.

    Examples
    --------
    >>> from tinynn import params
    >>> params.constant(0.1)((2,))
    array([0.1, 0.1])
    >>> params.make_params(2, [], bias_init=params.constant(0.5), rng=0)[0]['b']
    array([0.5])
    """
    return _Constant(_real(value, "value"))


def zeros() -> Initializer:
    """Return an initializer filling with 0.0 (the notebook's ``np.zeros``).

    Examples
    --------
    >>> from tinynn import params
    >>> params.zeros()((1, 3))
    array([[0., 0., 0.]])
    """
    return _Constant(0.0)


def ones() -> Initializer:
    """Return an initializer filling with 1.0.

    Examples
    --------
    >>> from tinynn import params
    >>> params.ones()((2,))
    array([1., 1.])
    """
    return _Constant(1.0)


def normal(std: float = 1.0) -> Initializer:
    """Return an initializer drawing N(0, std**2); ``std`` is a standard deviation.

    Examples
    --------
    >>> from tinynn import params
    >>> w = params.normal(std=0.1)((200, 50), rng=0)
    >>> w.shape, round(float(w.std()), 2)
    ((200, 50), 0.1)
    """
    return _Normal(check_positive(std, "std"))


def uniform(low: float = -1.0, high: float = 1.0) -> Initializer:
    """Return an initializer drawing uniformly from [low, high).

    Examples
    --------
    >>> from tinynn import params
    >>> b = params.uniform(0.0, 0.5)((1000,), rng=0)
    >>> bool(b.min() >= 0.0 and b.max() < 0.5)
    True
    """
    low_f, high_f = _real(low, "low"), _real(high, "high")
    if not low_f < high_f:
        raise ValueError(f"uniform needs low < high, got low={low_f!r}, high={high_f!r}")
    return _Uniform(low_f, high_f)


def glorot_normal() -> Initializer:
    """Return Glorot/Xavier normal: std sqrt(2 / (fan_in + fan_out)) (Glorot & Bengio, 2010).

    ``xavier_normal`` is another name for this same function.

    Examples
    --------
    >>> from tinynn import params
    >>> w = params.glorot_normal()((300, 100), rng=0)  # std sqrt(2 / 400) ~ 0.071
    >>> w.shape, round(float(w.std()), 2)
    ((300, 100), 0.07)
    >>> params.xavier_normal is params.glorot_normal
    True
    >>> params.xavier_normal()
    glorot_normal()
    """
    return _Scaled("glorot", "normal")


def glorot_uniform() -> Initializer:
    """Return Glorot/Xavier uniform on [-a, a] with a = sqrt(6 / (fan_in + fan_out)).

    ``xavier_uniform`` is another name for this same function.

    Examples
    --------
    >>> from tinynn import params
    >>> w = params.glorot_uniform()((2, 1), rng=0)  # a = sqrt(6 / 3) ~ 1.41
    >>> w.shape, bool(np.all(np.abs(w) <= np.sqrt(2.0)))
    ((2, 1), True)
    >>> params.xavier_uniform is params.glorot_uniform
    True
    >>> params.make_params(2, [3], weight_init="xavier_uniform", rng=0)[0]['w'].shape
    (2, 3)
    """
    return _Scaled("glorot", "uniform")


def he_normal() -> Initializer:
    """Return He normal: std sqrt(2 / fan_in), suited to relu layers (He et al., 2015).

    Examples
    --------
    >>> from tinynn import params
    >>> w = params.he_normal()((200, 300), rng=0)  # std sqrt(2 / 200) = 0.1
    >>> w.shape, round(float(w.std()), 2)
    ((200, 300), 0.1)
    """
    return _Scaled("he", "normal")


def he_uniform() -> Initializer:
    """Return He uniform on [-a, a] with a = sqrt(6 / fan_in).

    Examples
    --------
    >>> from tinynn import params
    >>> w = params.he_uniform()((6, 4), rng=0)  # a = sqrt(6 / 6) = 1
    >>> w.shape, bool(np.all(np.abs(w) <= 1.0))
    ((6, 4), True)
    """
    return _Scaled("he", "uniform")


xavier_normal = glorot_normal
xavier_uniform = glorot_uniform

INITIALIZERS: dict[str, Callable[[], Initializer]] = {
    "zeros": zeros,
    "ones": ones,
    "normal": normal,
    "uniform": uniform,
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
}


def resolve_init(init: Any, name: str) -> Initializer | Callable[..., Any]:
    if isinstance(init, str):
        if init not in INITIALIZERS:
            options = ", ".join(repr(k) for k in INITIALIZERS)
            raise ValueError(
                f"{name} must be one of {options}, a number or a callable, got {init!r}"
            )
        return INITIALIZERS[init]()
    if isinstance(init, (numbers.Real, np.number)) and not isinstance(init, bool):
        return _Constant(_real(init, name))
    if callable(init):
        return init
    raise TypeError(
        f"{name} must be an initializer name such as 'glorot_normal', a number or a callable "
        f"taking a shape tuple, got {describe(init)}"
    )


def fill_init(
    init: Any, shape: Shape, gen: np.random.Generator, name: str, where: str
) -> np.ndarray:
    out = init(shape, gen) if isinstance(init, Initializer) else init(shape)
    arr = as_float_array(out, f"{name} output for {where}")
    if arr.shape != shape:
        raise ValueError(
            f"{name} must return an array of shape {shape} for {where}, got shape {arr.shape}; "
            f"a plain callable receives the shape tuple, e.g. lambda shape: np.zeros(shape)"
        )
    return np.array(arr, dtype=np.float64, copy=True)
