"""Closed-form leave-one-out densities of Laplace posteriors and mixtures, and compare_loo.

Oracles: for Bayesian linear regression at a fixed prior and noise, refitting without each
target; for a network, the rank-one downdate of the linearized posterior's precision, solved
densely per target.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinynn import model, tree
from tinynn.posterior import (
    Laplace,
    Mixture,
    PointEstimate,
    compare_loo,
    fit_laplace,
    fit_laplace_mixture,
)


def _linear_data(n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = x @ np.array([1.5, -0.5]) + 0.3 + 0.4 * rng.normal(size=n)
    return x, y


def _curve_data(n: int = 25, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, size=(n, 1))
    y = np.sin(2.0 * x[:, 0]) + 0.2 * rng.normal(size=n)
    return x, y


def _log_normal(y: float, mean: float, var: float) -> float:
    return -0.5 * math.log(2.0 * math.pi * var) - 0.5 * (y - mean) ** 2 / var


def test_loo_equals_refitting_without_each_target_for_linear_regression() -> None:
    x, y = _linear_data()
    post = fit_laplace(x, y, (), prior_std=0.7, sigma=0.4)
    loo = post.loo_log_density(x, y, pointwise=True)
    refits = []
    for n in range(len(y)):
        keep = np.arange(len(y)) != n
        alone = fit_laplace(x[keep], y[keep], (), prior_std=0.7, sigma=0.4)
        refits.append(alone.log_predictive_density(x[n : n + 1], y[n : n + 1]))
    np.testing.assert_allclose(loo, refits, rtol=0, atol=1e-10)
    assert post.loo_log_density(x, y) == pytest.approx(np.mean(refits), abs=1e-10)


@pytest.mark.parametrize("structure", ["full", "last_layer"])
def test_loo_equals_the_downdated_linearized_posterior(structure: str) -> None:
    x, y = _curve_data()
    fitted = fit_laplace(x, y, (4,), rng=0)
    post = Laplace(
        fitted.params, x, y, sigma=fitted.sigma, prior_std=fitted.prior_std, structure=structure
    )
    jac = np.asarray(model.jacobian(post.params, x)).reshape(len(y), -1)[:, -post.n_params :]
    theta = tree.flatten(post.params)[0][-post.n_params :]
    f = np.asarray(model.predict(post.params, x))
    var = post.sigma**2
    expected = []
    for n in range(len(y)):
        j = jac[n]
        precision = post.precision - np.outer(j, j) / var
        target = y[n] - f[n] + j @ theta  # the linearized model's target for theta
        mean = np.linalg.solve(precision, post.precision @ theta - j * target / var)
        pred_var = j @ np.linalg.solve(precision, j) + var
        expected.append(_log_normal(y[n], f[n] + j @ (mean - theta), pred_var))
    np.testing.assert_allclose(post.loo_log_density(x, y, pointwise=True), expected, atol=1e-9)


def test_loo_of_two_outputs_is_per_target() -> None:
    x, y1 = _linear_data()
    y = np.stack([y1, -2.0 * y1 + 0.1 * x[:, 0]], axis=1)
    post = fit_laplace(x, y, (), prior_std=1.0, sigma=0.5)
    terms = post.loo_log_density(x, y, pointwise=True)
    assert terms.shape == (12, 2)
    # the outputs have their own weights and a shared isotropic prior: each column is the
    # one-output fit's leave-one-out density
    for o in range(2):
        alone = fit_laplace(x, y[:, o], (), prior_std=1.0, sigma=0.5)
        np.testing.assert_allclose(terms[:, o], alone.loo_log_density(x, y[:, o], pointwise=True))


def test_mixture_loo_is_the_log_of_the_members_average_density() -> None:
    x, y = _curve_data()
    mix = fit_laplace_mixture(x, y, (3,), n_members=3, rng=0)
    members = np.stack([m.loo_log_density(x, y, pointwise=True) for m in mix.members])
    expected = np.log(np.mean(np.exp(members), axis=0))
    np.testing.assert_allclose(mix.loo_log_density(x, y, pointwise=True), expected, atol=1e-12)
    assert mix.loo_log_density(x, y) == pytest.approx(expected.mean(), abs=1e-12)


def test_loo_errors_name_what_is_wrong() -> None:
    x, y = _linear_data()
    post = fit_laplace(x, y, (), prior_std=0.7, sigma=0.4)
    diagonal = Laplace(post.params, x, y, sigma=0.4, prior_std=0.7, structure="diagonal")
    with pytest.raises(ValueError, match=r"Gauss-Newton precision .*structure=.diagonal."):
        diagonal.loo_log_density(x, y)
    with pytest.raises(ValueError, match=r"y must have the predictive's shape \(12,\).*\(11,\)"):
        post.loo_log_density(x, y[:-1])
    far = np.vstack([x[:-1], [[40.0, -40.0]]])  # not the training inputs: leverage above one
    with pytest.raises(ValueError, match=r"must be the data the posterior was fitted to.*11"):
        post.loo_log_density(far, y)
    point = PointEstimate(post.params, sigma=0.4)
    with pytest.raises(TypeError, match=r"member 1 of type PointEstimate"):
        Mixture([post, point]).loo_log_density(x, y)


class _Fixed:
    """A stand-in candidate whose pointwise leave-one-out densities are given."""

    def __init__(self, terms: np.ndarray) -> None:
        self.terms = terms

    def loo_log_density(self, x: object, y: object, *, pointwise: bool = False) -> np.ndarray:
        return self.terms


def test_compare_loo_takes_the_first_candidate_within_one_standard_error() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=200)
    noise = rng.normal(size=200)
    close = base + 0.01 + 0.5 * noise  # a gain well inside its standard error (0.035)
    clear = base + 0.3 + 0.5 * noise  # a gain of many standard errors
    result = compare_loo([_Fixed(base), _Fixed(close)], None, None)
    assert (result.best, result.chosen) == (1, 0)
    diff = close - base
    assert result.se_diff[0] == pytest.approx(diff.std(ddof=1) / math.sqrt(200))
    assert result.se_diff[1] == 0.0
    np.testing.assert_allclose(result.loo, [base.mean(), close.mean()])
    result = compare_loo([_Fixed(base), _Fixed(clear), _Fixed(clear + 0.001 * noise)], None, None)
    assert result.chosen == 1
    assert compare_loo([_Fixed(clear), _Fixed(base)], None, None).chosen == 0


def test_compare_loo_on_fits_prefers_the_network_on_curved_data() -> None:
    x, y = _curve_data(60)
    fits = [fit_laplace(x, y, (), rng=0), fit_laplace(x, y, (6,), rng=0)]
    result = compare_loo(fits, x, y)
    assert result.chosen == 1
    assert result.loo[1] - result.loo[0] > 3 * result.se_diff[0]


def test_compare_loo_errors() -> None:
    with pytest.raises(ValueError, match="at least one posterior, got an empty sequence"):
        compare_loo([], None, None)
    with pytest.raises(TypeError, match=r"posteriors\[1\] must be a posterior .* got str"):
        compare_loo([_Fixed(np.zeros(3)), "fit"], None, None)
