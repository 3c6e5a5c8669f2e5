"""Leave-one-out predictive densities in closed form, and choosing among posteriors by them
(private to :mod:`tinynn.posterior`).

For a linear-Gaussian model, removing one target from the data is a rank-one downdate of the
posterior, so its leave-one-out predictive needs no refit: with the leverage
``h = s / sigma**2`` of target n (``s`` its epistemic variance under the full posterior, which is
below the noise variance for every training target), the predictive without it is Gaussian with
mean ``y - (y - m) / (1 - h)`` and variance ``sigma**2 / (1 - h)``, the PRESS residual of linear
regression. A linearized Laplace posterior is such a model, in the network's Jacobian at the MAP,
so the formula gives its leave-one-out log-likelihood exactly, the prior and noise held where
they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinynn._checks import as_float_array


def gaussian_loo_terms(
    y: Any, mean: np.ndarray, epistemic_std: np.ndarray, sigma: float
) -> np.ndarray:
    """Return ``log p(y_n | x_n, data without n)`` per target, shaped like ``mean``.

    ``mean`` and ``epistemic_std`` are the linearized predictive at the training inputs, under
    the posterior of all the data; ``sigma`` the noise std it was built with.
    """
    y_arr = as_float_array(y, "y")
    if y_arr.shape != mean.shape:
        raise ValueError(
            f"y must have the predictive's shape {mean.shape} (the training targets), got "
            f"{y_arr.shape}"
        )
    var = sigma**2
    leverage = epistemic_std**2 / var
    worst = int(np.argmax(leverage)) if leverage.size else 0
    if leverage.size and not leverage.flat[worst] < 1.0:
        raise ValueError(
            "x, y must be the data the posterior was fitted to: at every training target the "
            "epistemic variance is below the noise variance, but at target "
            f"{worst} it is {leverage.flat[worst]:.3g} times the noise variance"
        )
    keep = 1.0 - leverage
    resid = y_arr - mean
    return -0.5 * math.log(2.0 * math.pi * var) + 0.5 * np.log(keep) - 0.5 * resid**2 / (var * keep)


@dataclass(frozen=True)
class LooComparison:
    """Posteriors compared by their closed-form leave-one-out log-likelihood.

    Attributes
    ----------
    loo : ndarray of shape (C,)
        Each candidate's mean leave-one-out log predictive density per target.
    se_diff : ndarray of shape (C,)
        Standard error of each candidate's mean difference to the best one (0 for the best):
        the std of the per-target differences over the square root of their number.
    best : int
        The candidate with the highest ``loo``.
    chosen : int
        The first candidate whose ``loo`` is within one ``se_diff`` of the best: the one
        standard error rule, which prefers the earlier (simpler) candidate when the data cannot
        tell them apart.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import LooComparison
    >>> loo, se_diff = np.array([-1.30, -1.28]), np.array([0.05, 0.0])
    >>> result = LooComparison(loo, se_diff, best=1, chosen=0)
    >>> gap = result.loo[result.best] - result.loo[result.chosen]
    >>> bool(gap <= result.se_diff[result.chosen])  # within one standard error of the best
    True
    """

    loo: np.ndarray
    se_diff: np.ndarray
    best: int
    chosen: int


def compare_loo(posteriors: Sequence[Any], x: Any, y: Any) -> LooComparison:
    """Compare posteriors fitted to the same data by their leave-one-out log-likelihood.

    Each candidate's ``loo_log_density(x, y, pointwise=True)`` (closed form, no refits) gives
    one log density per training target; their means rank the candidates, and the paired
    per-target differences give the standard error of each gap. List the candidates from the
    simplest to the most flexible (for example growing widths): ``chosen`` is then the simplest
    one within one standard error of the best (the one standard error rule of cross-validation,
    Hastie, Tibshirani and Friedman, *The Elements of Statistical Learning*, section 7.10).

    Parameters
    ----------
    posteriors : sequence of Posterior
        At least one, each with a closed-form leave-one-out density (:class:`Laplace` with a
        Gauss-Newton precision, or a :class:`Mixture` of those), all fitted to ``x, y``.
    x : ndarray of shape (N, D)
        The training inputs.
    y : ndarray of shape (N,) or (N, O)
        The training targets.

    Returns
    -------
    LooComparison

    Raises
    ------
    ValueError
        If ``posteriors`` is empty, or as ``loo_log_density`` raises.
    TypeError
        If a candidate has no closed-form leave-one-out density.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import compare_loo, fit_laplace
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(40, 1))
    >>> y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=40)
    >>> fits = [fit_laplace(x, y, (), rng=0), fit_laplace(x, y, (8,), rng=0)]
    >>> result = compare_loo(fits, x, y)
    >>> result.chosen, bool(result.loo[1] > result.loo[0])  # the network, clearly better
    (1, True)
    """
    posteriors = list(posteriors)
    if not posteriors:
        raise ValueError("posteriors must hold at least one posterior, got an empty sequence")
    terms = []
    for k, post in enumerate(posteriors):
        method = getattr(post, "loo_log_density", None)
        if method is None:
            raise TypeError(
                f"posteriors[{k}] must be a posterior with loo_log_density, got "
                f"{type(post).__name__}"
            )
        terms.append(np.ravel(method(x, y, pointwise=True)))
    t_CN = np.array(terms)
    loo = t_CN.mean(axis=1)
    best = int(np.argmax(loo))
    n = t_CN.shape[1]
    diff_CN = t_CN[best] - t_CN
    se_diff = diff_CN.std(axis=1, ddof=1) / math.sqrt(n) if n > 1 else np.zeros(len(loo))
    chosen = next(k for k in range(len(loo)) if loo[best] - loo[k] <= se_diff[k])
    return LooComparison(loo, se_diff, best, chosen)
