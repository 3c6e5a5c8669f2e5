"""Predictive distributions are differentiable in their inputs (an acquisition function's gradient).

Every posterior's ``predict`` and the Regressor's ``predict(return_std=True)`` take inputs traced
by autograd; the gradient of ``mean + 2 std`` is checked against central finite differences, and
the traced values against the plain (numpy) predictive.
"""

import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.tracer import getval

from tinynn import model, posterior, tree
from tinynn.data import make_gap_data
from tinynn.estimator import Regressor
from tinynn.params import make_params

X, Y = make_gap_data(40, rng=0)
XQ = np.array([[0.3], [1.5], [-0.8], [4.0]])  # inside, between and far from the data


def optimistic_bound(predict):
    """Return ``x -> sum(mean + 2 std)`` of a predict function giving (mean, std)."""

    def bound(x):
        mean, std = predict(x)
        return anp.sum(mean + 2.0 * std)

    return bound


def check_gradient(fn, x, atol=1e-6):
    got = autograd.grad(fn)(x)
    step = 1e-6
    want = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        shift = np.zeros_like(x)
        shift[index] = step
        want[index] = (fn(x + shift) - fn(x - shift)) / (2 * step)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=atol)
    assert np.any(got != 0.0)


def traced_values(post, x, **kwargs):
    """Return the mean and std ``post.predict`` gives on a traced ``x``."""
    seen = {}

    def fn(x):
        pred = post.predict(x, **kwargs)
        seen["mean"], seen["std"] = getval(pred.mean), getval(pred.std)
        return anp.sum(pred.mean + pred.std)

    autograd.grad(fn)(x)
    return seen["mean"], seen["std"]


def build(kind):
    if kind.startswith("laplace"):
        structure = kind.split("-")[1]
        # the exact Hessian is positive definite at this start's MAP (not at every start's)
        seed = 1 if structure == "hessian" else 0
        return posterior.fit_laplace(X, Y, (6,), rng=seed, structure=structure)
    if kind == "point":
        return posterior.PointEstimate(make_params(1, [6], rng=0), sigma=0.3)
    if kind == "ensemble":
        return posterior.fit_ensemble(X, Y, (6,), n_members=3, rng=0, n_iters=200)
    if kind == "heteroscedastic":
        return posterior.fit_ensemble(
            X, Y, (6,), n_members=3, rng=0, n_iters=200, likelihood="heteroscedastic"
        )
    if kind == "mixture of widths":
        return posterior.fit_width_mixture(X, Y, candidates=((3,), (5,)), n_members=2)
    if kind == "mean field":
        mean = make_params(1, [6], rng=0)
        return posterior.MeanField(mean, tree.full_like(mean, 0.1), 0.3)
    if kind == "nuts":
        return posterior.fit_nuts(X, Y, (4,), n_chains=2, n_warmup=50, n_draws=20, rng=0)
    raise AssertionError(kind)


KINDS = [
    "laplace-full",
    "laplace-diagonal",
    "laplace-last_layer",
    "laplace-hessian",
    "point",
    "ensemble",
    "heteroscedastic",
    "mixture of widths",
    "mean field",
    "nuts",
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_predictive_is_differentiable_in_x(kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits: convergence warnings are not the point
        post = build(kind)
    kwargs = {"n_samples": 10} if kind == "mean field" else {}

    def predict(x):
        pred = post.predict(x, **kwargs)
        return pred.mean, pred.std

    check_gradient(optimistic_bound(predict), XQ)
    mean, std = traced_values(post, XQ, **kwargs)
    plain = post.predict(XQ, **kwargs)
    np.testing.assert_allclose(mean, plain.mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(std, plain.std, rtol=1e-10, atol=1e-12)


def test_laplace_sampled_predictive_is_differentiable_in_x():
    post = posterior.fit_laplace(X, Y, (6,), rng=0)

    def predict(x):
        pred = post.predict(x, method="samples", n_samples=20, rng=0)
        return pred.mean, pred.std

    check_gradient(optimistic_bound(predict), XQ)


def test_laplace_epistemic_std_has_the_gradient_of_its_finite_differences():
    # Before, the numpy Jacobian kernel cut the trace: the std's gradient was silently zero.
    post = posterior.fit_laplace(X, Y, (6,), rng=0)
    far = np.array([[3.0]])
    grad = autograd.grad(lambda x: anp.sum(post.predict(x).epistemic_std))(far)
    assert grad[0, 0] > 0  # the spread grows away from the data, to the right


@pytest.mark.parametrize(
    "settings",
    [{}, {"uncertainty": None}, {"uncertainty": "ensemble", "n_members": 3, "max_iter": 100}],
)
def test_regressor_predictions_are_differentiable_in_x(settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = Regressor(random_state=0, **settings).fit(3.0 * X + 1.0, 2.0 * Y - 5.0)

    def predict(x):
        return reg.predict(x, return_std=True)

    xq = 3.0 * XQ + 1.0
    check_gradient(optimistic_bound(predict), xq, atol=1e-5)
    seen = {}

    def mean_only(x):
        seen["mean"] = getval(reg.predict(x))
        return anp.sum(reg.predict(x))

    autograd.grad(mean_only)(xq)
    np.testing.assert_allclose(seen["mean"], reg.predict(xq), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="X has 2 features, but Regressor is expecting 1"):
        autograd.grad(lambda x: anp.sum(reg.predict(x)))(np.zeros((2, 2)))
    with pytest.raises(
        ValueError, match=r"X must be 2-D of shape \(n_samples, n_features\), got shape \(2,\)"
    ):
        autograd.grad(lambda x: anp.sum(reg.predict(x)))(np.zeros(2))


@pytest.mark.parametrize("name", ["jacobian", "input_jacobian"])
@pytest.mark.parametrize("n_out", [1, 2])
def test_jacobians_are_differentiable_in_x(name, n_out):
    # The numpy kernels cut autograd's trace: a traced x used to give a gradient of zero.
    params = make_params(2, [4], n_out, rng=0, bias_init="normal")
    jac = getattr(model, name)
    x = np.array([[0.3, -0.1], [0.5, 0.2], [1.0, -1.0]])
    check_gradient(lambda x: anp.sum(jac(params, x) ** 3), x)
    seen = {}

    def total(x):
        seen["value"] = getval(jac(params, x))
        return anp.sum(jac(params, x))

    autograd.grad(total)(x)
    np.testing.assert_allclose(seen["value"], jac(params, x), rtol=1e-12, atol=1e-14)
