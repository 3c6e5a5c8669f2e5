"""Oracles: every optimizer must reach the known optimum of a few classic problems."""

import autograd.numpy as anp
import numpy as np
import pytest
from conftest import rosenbrock

from tinynn import optim
from tinynn.optim import minimize


def sum_of_squares(x_D):
    return anp.sum(anp.square(x_D))


def trid(x_D):
    return (x_D[0] - 1) ** 2 + (x_D[1] - 1) ** 2 - x_D[0] * x_D[1]


def trid_value_and_grad(x_D):
    """The trid function with its hand-written gradient, to keep long runs fast."""
    a, b = x_D
    return (a - 1) ** 2 + (b - 1) ** 2 - a * b, np.array([2 * (a - 1) - b, 2 * (b - 1) - a])


def rosenbrock_value_and_grad(x_D):
    """Rosenbrock's banana (minimum 0 at (1, 1)) with its hand-written gradient (fast)."""
    a, b = x_D
    value = (1 - a) ** 2 + 100 * (b - a**2) ** 2
    grad = np.array([-2 * (1 - a) - 400 * a * (b - a**2), 200 * (b - a**2)])
    return value, grad


def test_sum_of_squares_goes_to_zero_like_the_notebook():
    init = np.asarray([-3.0, 4.0, -5.0, 6.0])
    result = minimize(sum_of_squares, init, optimizer=optim.gradient_descent(0.01), n_iters=1000)
    assert result.history.losses[-1] < 1e-12
    np.testing.assert_allclose(result.params, 0.0, atol=1e-6)
    np.testing.assert_array_equal(init, [-3.0, 4.0, -5.0, 6.0])  # never modified


TRID_OPTIMIZERS = {
    "gradient_descent": (optim.gradient_descent(0.1), 500),
    "momentum": (optim.momentum(0.05, mass=0.9), 500),
    "nesterov": (optim.nesterov(0.05, mass=0.9), 500),
    "adam": (optim.adam(optim.exponential_decay(0.1, 0.1, 1000)), 3000),
    "rmsprop": (optim.rmsprop(optim.exponential_decay(0.05, 0.01, 1000)), 3000),
    "clipped_gd": (optim.clip_by_global_norm(optim.gradient_descent(0.1), 1.0), 500),
    "lbfgs": (optim.lbfgs(), 100),
}


@pytest.mark.parametrize("name", sorted(TRID_OPTIMIZERS))
def test_trid_from_notebook_start_reaches_2_2(name):
    opt, n_iters = TRID_OPTIMIZERS[name]
    result = minimize(
        None,
        np.array([1.0, -1.0]),
        optimizer=opt,
        n_iters=n_iters,
        value_and_grad=trid_value_and_grad,
    )
    np.testing.assert_allclose(result.params, [2.0, 2.0], atol=1e-4)
    assert result.best_loss == pytest.approx(-2.0, abs=1e-7)
    assert result.success


def test_trid_with_autograd_gradient():
    result = minimize(trid, np.array([1, -1]), optimizer=optim.gradient_descent(0.1), n_iters=300)
    np.testing.assert_allclose(result.params, [2.0, 2.0], atol=1e-4)
    assert result.history.losses[-1] == pytest.approx(-2.0, abs=1e-8)
    assert result.params.dtype == np.float64  # integer start cast to float


@pytest.mark.parametrize("name", ["gradient_descent", "momentum", "nesterov", "adam", "rmsprop"])
def test_optimizer_by_name_with_default_settings_solves_parabola(name):
    def value_and_grad(p):
        return float(np.sum((p["w"] - 0.5) ** 2)), {"w": 2 * (p["w"] - 0.5)}

    result = minimize(
        None, {"w": np.zeros(3)}, optimizer=name, n_iters=4000, value_and_grad=value_and_grad
    )
    np.testing.assert_allclose(result.params["w"], 0.5, atol=1e-2)


def test_rosenbrock_solved_by_adam():
    result = minimize(
        None,
        np.array([-1.2, 1.0]),
        optimizer=optim.adam(optim.exponential_decay(0.05, 0.5, 1000)),
        n_iters=6000,
        value_and_grad=rosenbrock_value_and_grad,
    )
    np.testing.assert_allclose(result.params, [1.0, 1.0], atol=1e-3)
    assert result.history.losses[-1] < 1e-6


def test_rosenbrock_solved_by_lbfgs():
    result = minimize(rosenbrock, np.array([-1.2, 1.0]), optimizer=optim.lbfgs(), n_iters=500)
    np.testing.assert_allclose(result.params, [1.0, 1.0], atol=1e-6)
    assert result.reason == "converged"
    assert result.n_iters < 100
    assert len(result.history) == result.n_iters
    assert result.n_evals >= result.n_iters


def test_network_without_hidden_layers_lands_on_lstsq_with_lbfgs():
    prng = np.random.RandomState(0)
    x_ND = prng.uniform(-5, 5, size=(300, 2))
    y_N = x_ND @ np.array([4.2, -4.2]) + 0.1 + 0.1 * prng.randn(300)

    def loss(params):
        yhat_N = anp.dot(x_ND, params[0]["w"])[:, 0] + params[0]["b"][0]
        return 0.5 / 0.1**2 * anp.sum(anp.square(y_N - yhat_N))

    init = [{"w": np.zeros((2, 1)), "b": np.zeros(1)}]
    result = minimize(loss, init, optimizer=optim.lbfgs(), n_iters=200)
    xtilde_NE = np.hstack([x_ND, np.ones((300, 1))])
    expected_E = np.linalg.lstsq(xtilde_NE, y_N, rcond=None)[0]
    got_E = np.concatenate([result.params[0]["w"].ravel(), result.params[0]["b"]])
    np.testing.assert_allclose(got_E, expected_E, atol=1e-6, rtol=0)
    assert result.params[0]["w"].shape == (2, 1)


def test_network_oracle_with_tinynn_model_and_losses():
    model = pytest.importorskip("tinynn.model")
    losses = pytest.importorskip("tinynn.losses")
    prng = np.random.RandomState(0)
    x_ND = prng.uniform(-5, 5, size=(300, 2))
    y_N = x_ND @ np.array([4.2, -4.2]) + 0.1 + 0.1 * prng.randn(300)

    def loss(params):
        return losses.gaussian_nll(y_N, model.predict(params, x_ND), 0.1, form="notebook")

    init = [{"w": np.zeros((2, 1)), "b": np.zeros(1)}]
    result = minimize(loss, init, optimizer=optim.lbfgs(), n_iters=200)
    expected_E = np.linalg.lstsq(np.hstack([x_ND, np.ones((300, 1))]), y_N, rcond=None)[0]
    got_E = np.concatenate([result.params[0]["w"].ravel(), result.params[0]["b"]])
    np.testing.assert_allclose(got_E, expected_E, atol=1e-6, rtol=0)
