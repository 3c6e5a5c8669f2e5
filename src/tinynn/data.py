"""Toy regression data from the notebook, standardization and a seeded train/test split.

Shape suffixes: N examples, D input features, O outputs.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from autograd.tracer import isbox

from tinynn._checks import (
    as_float_array,
    as_generator,
    check_int,
    check_nonnegative,
    column_mean_scale,
    describe,
)

__all__ = [
    "Standardizer",
    "make_gap_data",
    "make_linear_data",
    "make_quadratic_data",
    "train_test_split",
]


def _draws(rng: Any, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw x_ND ~ Uniform(-5, 5) and then noise_N ~ N(0, 1), in the notebook's order."""
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
        if not 0 <= int(rng) < 2**32:
            raise ValueError(f"rng must be an int seed between 0 and 2**32 - 1, got {int(rng)}")
        rng = np.random.RandomState(int(rng))  # the notebook's legacy stream, bit for bit
    if isinstance(rng, np.random.RandomState):
        x_ND = rng.uniform(low=-5, high=5, size=(n, d))
        return x_ND, rng.randn(n)
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be an int seed, a numpy.random.RandomState, a numpy.random.Generator "
            f"or None, got {describe(rng)}"
        )
    gen = as_generator(rng)
    x_ND = gen.uniform(low=-5, high=5, size=(n, d))
    return x_ND, gen.standard_normal(n)


def _vector(value: Any, name: str, length: int | None = None) -> np.ndarray:
    arr = as_float_array(value, name, ndims=(1,))
    if arr.size == 0 or (length is not None and arr.size != length):
        wanted = "at least one entry" if length is None else f"{length} entries"
        raise ValueError(f"{name} must have {wanted}, got shape {arr.shape}")
    return arr


def make_linear_data(
    n_examples: int = 300,
    *,
    weights: Any = (4.2, -4.2),
    bias: float = 0.1,
    sigma: float = 0.1,
    rng: Any = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the notebook's linear toy data: y = x @ weights + bias + sigma * noise.

    With the defaults the arrays are bit-for-bit those of the notebook, which used
    ``np.random.RandomState(0)``: ``x = uniform(-5, 5, (N, D))`` first, then ``randn(N)``.

    Parameters
    ----------
    n_examples : int, default 300
        Number of examples N.
    weights : array_like of shape (D,), default (4.2, -4.2)
        True weights; their length sets the number of features D.
    bias : float, default 0.1
        True intercept.
    sigma : float, default 0.1
        Standard deviation of the Gaussian noise (0 gives noise-free data).
    rng : int, numpy.random.RandomState, numpy.random.Generator or None, default 0
        An int seeds a legacy ``RandomState`` like the notebook did.

    Returns
    -------
    x_ND : ndarray of shape (N, D)
    y_N : ndarray of shape (N,)

    Raises
    ------
    TypeError, ValueError
        If a size, the weights, ``sigma`` or ``rng`` is invalid.

    Examples
    --------
    >>> from tinynn.data import make_linear_data
    >>> x_ND, y_N = make_linear_data()
    >>> x_ND.shape, y_N.shape
    ((300, 2), (300,))
    """
    n = check_int(n_examples, "n_examples", minimum=1)
    w_D = _vector(weights, "weights")
    if isinstance(bias, bool) or not isinstance(bias, (numbers.Real, np.number)):
        raise TypeError(f"bias must be a real number, got {describe(bias)}")
    if not np.isfinite(float(bias)):
        raise ValueError(f"bias must be finite, got {float(bias)!r}")
    sigma = check_nonnegative(sigma, "sigma")
    x_ND, noise_N = _draws(rng, n, w_D.size)
    y_N = np.dot(x_ND, w_D) + float(bias) + sigma * noise_N
    return x_ND, y_N


def make_quadratic_data(
    n_examples: int = 300,
    *,
    weights: Any = (4.2, -4.2),
    square_weights: Any = (-2.0, 2.0),
    sigma: float = 0.1,
    rng: Any = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate the notebook's nonlinear toy data: y = x**2 @ square_weights + x @ weights + noise.

    There is no intercept. With the defaults the arrays are bit-for-bit the notebook's.
    Parameters are as in :func:`make_linear_data`; ``square_weights`` must have the same length
    as ``weights``.

    Examples
    --------
    >>> from tinynn.data import make_quadratic_data
    >>> x_ND, y_N = make_quadratic_data(100, rng=1)
    >>> x_ND.shape, y_N.shape
    ((100, 2), (100,))
    """
    n = check_int(n_examples, "n_examples", minimum=1)
    w_D = _vector(weights, "weights")
    wsq_D = _vector(square_weights, "square_weights", length=w_D.size)
    sigma = check_nonnegative(sigma, "sigma")
    x_ND, noise_N = _draws(rng, n, w_D.size)
    y_N = np.dot(np.square(x_ND), wsq_D) + np.dot(x_ND, w_D) + sigma * noise_N
    return x_ND, y_N


def gap_function(x: Any) -> np.ndarray:
    """Return the noise-free target of :func:`make_gap_data`: ``sin(3 x) + 0.3 x``."""
    x_arr = np.asarray(x, dtype=float)
    return np.sin(3.0 * x_arr) + 0.3 * x_arr


def make_gap_data(
    n_examples: int = 60, *, sigma: float = 0.1, rng: Any = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Generate 1-D data in two clusters with a gap: the example for predictive uncertainty.

    Half the inputs are uniform on [-1, -0.4], half on [0.4, 1]; the target is
    ``sin(3 x) + 0.3 x`` plus Gaussian noise of std ``sigma``. A good predictive band is as
    wide as the noise on the clusters and widens in the gap and outside [-1, 1].

    Parameters
    ----------
    n_examples : int, default 60
    sigma : float, default 0.1
        Noise standard deviation.
    rng : numpy.random.Generator, int or None, default 0

    Returns
    -------
    x_ND : ndarray of shape (N, 1)
    y_N : ndarray of shape (N,)

    Examples
    --------
    >>> from tinynn.data import make_gap_data
    >>> x_ND, y_N = make_gap_data(10)
    >>> x_ND.shape, bool(np.all(np.abs(x_ND) >= 0.4))
    ((10, 1), True)
    """
    n = check_int(n_examples, "n_examples", minimum=2)
    sigma = check_nonnegative(sigma, "sigma")
    gen = as_generator(rng)
    left = gen.uniform(-1.0, -0.4, size=n // 2)
    right = gen.uniform(0.4, 1.0, size=n - n // 2)
    x_N = np.sort(np.concatenate([left, right]))
    y_N = gap_function(x_N) + sigma * gen.standard_normal(n)
    return x_N[:, None], y_N


class _FitDescriptor:
    """Make ``fit`` work both as ``Standardizer.fit(x)`` and as ``Standardizer().fit(x)``."""

    def __get__(
        self, obj: Standardizer | None, owner: type[Standardizer]
    ) -> Callable[[Any], Standardizer]:
        target = owner() if obj is None else obj
        return target._fit


class Standardizer:
    """Shift and scale data to zero mean and unit standard deviation, column by column.

    Fit it on training data only, then apply the same transform to test data. A constant column
    gets ``scale_ = 1.0`` so it maps to zeros instead of dividing by zero. Works for inputs
    x_ND of shape (N, D) (one mean per column) and targets y_N of shape (N,) (scalar mean).

    Attributes
    ----------
    mean_ : ndarray of shape (D,) or ()
    scale_ : ndarray of shape (D,) or ()
        Standard deviations (not variances), 1.0 for constant columns.

    Examples
    --------
    >>> from tinynn.data import Standardizer
    >>> scaler = Standardizer.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> scaler.mean_, scaler.scale_
    (array([2., 5.]), array([1., 1.]))
    >>> scaler.transform(np.array([[3.0, 5.0]]))
    array([[1., 0.]])
    """

    fit = _FitDescriptor()

    def __init__(self, mean: Any = None, scale: Any = None) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        if (mean is None) != (scale is None):
            raise ValueError("Standardizer needs both mean and scale, or neither")
        if mean is not None:
            mean_arr = as_float_array(mean, "mean", ndims=(0, 1))
            scale_arr = as_float_array(scale, "scale", ndims=(0, 1))
            if mean_arr.shape != scale_arr.shape:
                raise ValueError(
                    f"mean and scale must have the same shape, got {mean_arr.shape} and "
                    f"{scale_arr.shape}"
                )
            if np.any(scale_arr <= 0):
                raise ValueError(f"scale must be positive, got {scale_arr}")
            self.mean_, self.scale_ = mean_arr, scale_arr

    def _fit(self, x: Any) -> Standardizer:
        """Compute ``mean_`` and ``scale_`` from ``x`` (N, D) or (N,); return self."""
        arr = as_float_array(x, "x", ndims=(1, 2))
        if arr.shape[0] == 0:
            raise ValueError("x must hold at least one example to fit a Standardizer, got 0")
        mean, scale = column_mean_scale(arr)
        self.mean_, self.scale_ = np.asarray(mean), np.asarray(scale)
        return self

    def _fitted(self, x: Any, name: str) -> tuple[Any, np.ndarray, np.ndarray]:
        if self.mean_ is None or self.scale_ is None:
            raise ValueError("this Standardizer is not fitted yet; call Standardizer.fit(x) first")
        if not isbox(x):
            x = as_float_array(x, name, ndims=(1, 2))
        if tuple(np.shape(x))[1:] != self.mean_.shape:
            wanted = f"(N, {self.mean_.shape[0]})" if self.mean_.shape else "(N,)"
            raise ValueError(
                f"{name} must have shape {wanted} to match the data the Standardizer was fitted "
                f"on, got {tuple(np.shape(x))}"
            )
        return x, self.mean_, self.scale_

    def transform(self, x: Any) -> Any:
        """Return ``(x - mean_) / scale_``; works on traced values."""
        x, mean, scale = self._fitted(x, "x")
        return (x - mean) / scale

    def inverse_transform(self, z: Any) -> Any:
        """Return ``z * scale_ + mean_``, undoing :meth:`transform`; works on traced values."""
        z, mean, scale = self._fitted(z, "z")
        return z * scale + mean

    def to_dict(self) -> dict[str, Any]:
        """Return ``{'mean': ..., 'scale': ...}`` as plain lists or floats (JSON friendly)."""
        if self.mean_ is None or self.scale_ is None:
            raise ValueError("this Standardizer is not fitted yet; call Standardizer.fit(x) first")
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, state: Any) -> Standardizer:
        """Rebuild a fitted Standardizer from :meth:`to_dict` output."""
        if not isinstance(state, dict) or not {"mean", "scale"} <= set(state):
            raise ValueError(
                f"state must be a dict with keys 'mean' and 'scale', got {describe(state)}"
            )
        return cls(state["mean"], state["scale"])

    def __repr__(self) -> str:
        if self.mean_ is None or self.scale_ is None:
            return "Standardizer()"
        return f"Standardizer(mean={self.mean_.tolist()}, scale={self.scale_.tolist()})"


def train_test_split(
    x: Any, y: Any, *, test_fraction: float = 0.2, rng: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle the examples and split them into training and test sets.

    Parameters
    ----------
    x : array_like of shape (N, D) or (N,)
    y : array_like of shape (N,) or (N, O)
    test_fraction : float, default 0.2
        Fraction of examples in the test set (rounded to the nearest count), in (0, 1).
    rng : numpy.random.Generator, int or None, default None
        Randomness of the shuffle; an int seed is reproducible.

    Returns
    -------
    x_train, x_test, y_train, y_test : ndarray

    Raises
    ------
    ValueError
        If x and y differ in N or a split would be empty.

    Examples
    --------
    >>> from tinynn.data import make_linear_data, train_test_split
    >>> x_ND, y_N = make_linear_data()
    >>> x_tr, x_te, y_tr, y_te = train_test_split(x_ND, y_N, rng=0)
    >>> x_tr.shape, x_te.shape, y_tr.shape, y_te.shape
    ((240, 2), (60, 2), (240,), (60,))
    """
    x_arr = as_float_array(x, "x", ndims=(1, 2))
    y_arr = as_float_array(y, "y", ndims=(1, 2))
    n = x_arr.shape[0]
    if y_arr.shape[0] != n:
        raise ValueError(
            f"x and y must have the same number of examples, got {n} and {y_arr.shape[0]}"
        )
    frac = check_nonnegative(test_fraction, "test_fraction")
    if not 0.0 < frac < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {frac!r}")
    n_test = round(frac * n)
    if n_test < 1 or n_test > n - 1:
        raise ValueError(
            f"test_fraction={frac!r} of {n} examples leaves an empty training or test set; "
            f"use more examples or a test_fraction closer to 0.5"
        )
    order = as_generator(rng).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return x_arr[train], x_arr[test], y_arr[train], y_arr[test]
