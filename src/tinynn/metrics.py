"""Scores for predictive distributions: log-likelihood, interval coverage, calibration and CRPS.

A point estimate is judged by its error; a predictive distribution is judged by how much
probability it puts on what happens. These functions score Gaussian predictives given by a mean
and a standard deviation per target, and mixtures of K Gaussians (ensembles, posterior samples)
given by stacked means and standard deviations. Every score is an average over the targets, so
figures from test sets of different sizes compare.

Shape suffixes: N targets (of any shape, here written N), K mixture components.

>>> import numpy as np
>>> from tinynn import metrics
>>> y = np.array([0.0, 1.0]); mean = np.zeros(2); std = np.ones(2)
>>> round(metrics.gaussian_log_likelihood(y, mean, std), 6)
-1.168939
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

from tinynn._checks import as_float_array, check_positive, describe

__all__ = [
    "calibration_curve",
    "crps_gaussian",
    "gaussian_log_likelihood",
    "interval_coverage",
    "interval_width",
    "mixture_log_likelihood",
    "normal_cdf",
    "normal_quantile",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_ERF = np.frompyfunc(math.erf, 1, 1)


def normal_cdf(z: Any) -> np.ndarray:
    """Return the standard normal distribution function at every element of ``z``.

    Exact to double precision (it evaluates :func:`math.erf` per element).

    Examples
    --------
    >>> normal_cdf(np.array([0.0, 1.959963984540054]))
    array([0.5  , 0.975])
    """
    z = np.asarray(z, dtype=float)
    return 0.5 * (1.0 + _ERF(z / math.sqrt(2.0)).astype(float))


def normal_quantile(level: float) -> float:
    """Return the ``level`` quantile of the standard normal distribution.

    Examples
    --------
    >>> round(normal_quantile(0.975), 6)
    1.959964
    """
    level = _check_level(level, "level")
    return float(NormalDist().inv_cdf(level))


def _check_level(level: Any, name: str) -> float:
    value = check_positive(level, name)
    if not value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return value


def _three_aligned(values: dict[str, Any], note: str = "") -> list[np.ndarray]:
    """Return three named arrays checked finite, of one shape and not empty (y first)."""
    arrays = [as_float_array(value, name) for name, value in values.items()]
    shapes = [a.shape for a in arrays]
    if not shapes[0] == shapes[1] == shapes[2]:
        first, second, third = values
        raise ValueError(
            f"{first}, {second} and {third} must have the same shape{note}, got {shapes[0]}, "
            f"{shapes[1]} and {shapes[2]}"
        )
    if arrays[0].size == 0:
        raise ValueError("y must hold at least one target, got an empty array")
    return arrays


def _gaussian(y: Any, mean: Any, std: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a Gaussian predictive: three arrays of one shape, finite, std positive."""
    y_arr, mean_arr, std_arr = _three_aligned(
        {"y": y, "mean": mean, "std": std}, " (nothing is broadcast)"
    )
    if np.any(std_arr <= 0):
        raise ValueError(f"std must be positive everywhere, got minimum {std_arr.min()!r}")
    return y_arr, mean_arr, std_arr


def gaussian_log_likelihood(y: Any, mean: Any, std: Any) -> float:
    """Return the mean over targets of ``log N(y | mean, std**2)``.

    The test log-likelihood of the Bayesian deep learning papers for a Gaussian predictive.

    Parameters
    ----------
    y, mean, std : ndarray, all of the same shape
        Targets, predictive means and predictive standard deviations (not variances).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes differ, an array is empty or not finite, or ``std`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> round(gaussian_log_likelihood(np.zeros(3), np.zeros(3), np.ones(3)), 6)
    -0.918939
    """
    y_arr, mean_arr, std_arr = _gaussian(y, mean, std)
    z = (y_arr - mean_arr) / std_arr
    return float(np.mean(-_HALF_LOG_2PI - np.log(std_arr) - 0.5 * z * z))


def mixture_log_likelihood(y: Any, means_K: Any, stds_K: Any) -> float:
    """Return the mean over targets of the log density of an equal-weight Gaussian mixture.

    ``log (1/K) sum_k N(y | means_K[k], stds_K[k]**2)``, computed with logsumexp so that
    components far from ``y`` neither underflow nor dominate: the test log-likelihood of an
    ensemble or of K posterior samples.

    Parameters
    ----------
    y : ndarray of shape (N,) (or any shape S)
        Targets.
    means_K, stds_K : ndarray of shape (K, N) (or K followed by S)
        Each component's means and standard deviations.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes do not match (nothing is broadcast) or ``stds_K`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> means = np.array([[-1.0], [1.0]]); stds = np.ones((2, 1))
    >>> round(mixture_log_likelihood(np.array([1.0]), means, stds), 6)
    -1.485158
    """
    y_arr = as_float_array(y, "y")
    means = as_float_array(means_K, "means_K")
    stds = as_float_array(stds_K, "stds_K")
    if means.shape != stds.shape or means.shape[1:] != y_arr.shape or means.ndim < 1:
        raise ValueError(
            "means_K and stds_K must both have shape (K, *y.shape) = "
            f"(K, {', '.join(map(str, y_arr.shape))}), got {means.shape} and {stds.shape}"
        )
    if means.shape[0] == 0 or y_arr.size == 0:
        raise ValueError(f"the mixture needs at least one component and target, got {means.shape}")
    if np.any(stds <= 0):
        raise ValueError(f"stds_K must be positive everywhere, got minimum {stds.min()!r}")
    z = (y_arr[None] - means) / stds
    log_k = -_HALF_LOG_2PI - np.log(stds) - 0.5 * z * z
    top = np.max(log_k, axis=0)
    log_mix = top + np.log(np.mean(np.exp(log_k - top), axis=0))
    return float(np.mean(log_mix))


def _interval(y: Any, lower: Any, upper: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_arr, lo, hi = _three_aligned({"y": y, "lower": lower, "upper": upper})
    if np.any(hi < lo):
        raise ValueError("upper must be at least lower everywhere; are they swapped?")
    return y_arr, lo, hi


def interval_coverage(y: Any, lower: Any, upper: Any) -> float:
    """Return the fraction of targets inside their intervals (PICP), ends included.

    Examples
    --------
    >>> import numpy as np
    >>> interval_coverage(np.array([0.0, 2.0]), np.array([-1.0, -1.0]),
    ...                   np.array([1.0, 1.0]))
    0.5
    """
    y_arr, lo, hi = _interval(y, lower, upper)
    return float(np.mean((y_arr >= lo) & (y_arr <= hi)))


def interval_width(lower: Any, upper: Any) -> float:
    """Return the mean width ``upper - lower`` of prediction intervals.

    Examples
    --------
    >>> import numpy as np
    >>> interval_width(np.array([-1.0, 0.0]), np.array([1.0, 4.0]))
    3.0
    """
    lo = as_float_array(lower, "lower")
    hi = as_float_array(upper, "upper")
    if lo.shape != hi.shape or lo.size == 0:
        raise ValueError(
            f"lower and upper must have the same non-empty shape, got {lo.shape} and {hi.shape}"
        )
    if np.any(hi < lo):
        raise ValueError("upper must be at least lower everywhere; are they swapped?")
    return float(np.mean(hi - lo))


def calibration_curve(
    y: Any, mean: Any, std: Any, *, levels: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return nominal and observed coverage of central Gaussian intervals.

    For each level ``p`` the interval ``mean +- z_p std`` with ``z_p`` the ``(1 + p) / 2``
    quantile should hold a fraction ``p`` of the targets; a calibrated predictive lies on the
    diagonal, an overconfident one below it.

    Parameters
    ----------
    y, mean, std : ndarray, all of the same shape
        Targets and the Gaussian predictive.
    levels : array-like of floats in (0, 1), optional
        Nominal levels; default ``0.05, 0.10, ..., 0.95``.

    Returns
    -------
    nominal : ndarray of shape (L,)
    observed : ndarray of shape (L,)

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).normal(size=20000)
    >>> nominal, observed = calibration_curve(y, np.zeros_like(y), np.ones_like(y))
    >>> bool(np.max(np.abs(nominal - observed)) < 0.02)
    True
    """
    y_arr, mean_arr, std_arr = _gaussian(y, mean, std)
    if levels is None:
        nominal = np.round(np.arange(1, 20) * 0.05, 2)
    else:
        nominal = as_float_array(levels, "levels", ndims=(1,))
        if nominal.size == 0 or np.any((nominal <= 0) | (nominal >= 1)):
            raise ValueError(f"levels must lie strictly between 0 and 1, got {describe(levels)}")
    z = np.abs(y_arr - mean_arr) / std_arr
    observed = np.array([np.mean(z <= normal_quantile(0.5 + 0.5 * p)) for p in nominal])
    return nominal, observed


def crps_gaussian(y: Any, mean: Any, std: Any) -> float:
    """Return the mean continuous ranked probability score of a Gaussian predictive.

    ``CRPS = std * (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))`` with ``z = (y - mean) / std``
    (Gneiting and Raftery 2007): in the units of ``y``, lower is better, and it reduces to the
    absolute error as ``std`` goes to zero.

    Examples
    --------
    >>> import numpy as np
    >>> round(crps_gaussian(np.zeros(1), np.zeros(1), np.ones(1)), 6)
    0.233695

    References
    ----------
    T. Gneiting and A. E. Raftery, "Strictly proper scoring rules, prediction, and estimation",
    Journal of the American Statistical Association 102 (2007).
    """
    y_arr, mean_arr, std_arr = _gaussian(y, mean, std)
    z = (y_arr - mean_arr) / std_arr
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    crps = std_arr * (z * (2.0 * normal_cdf(z) - 1.0) + 2.0 * pdf - 1.0 / math.sqrt(math.pi))
    return float(np.mean(crps))
