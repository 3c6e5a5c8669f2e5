"""Tests for tinynn.losses: golden numbers, oracles, properties, gradients and every error."""

import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from conftest import make, seed_check_grads
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinynn.losses import gaussian_nll, l2_penalty, log_prior, make_objective, mse, rmse
from tinynn.model import predict

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def linear_toy_data():
    prng = np.random.RandomState(0)
    x_ND = prng.uniform(low=-5, high=5, size=(300, 2))
    y_N = np.dot(x_ND, np.asarray([4.2, -4.2])) + 0.1 + 0.1 * prng.randn(300)
    return x_ND, y_N


def zero_linear_params():
    return [{"w": np.zeros((2, 1)), "b": np.zeros(1)}]


# ---------------------------------------------------------------- golden and oracle


def test_golden_notebook_loss_and_gradient():
    x, y = linear_toy_data()
    params = zero_linear_params()
    by_hand = gaussian_nll(y, predict(params, x), 0.1, form="notebook")
    objective = make_objective(x, y, sigma=0.1, form="notebook")
    value, grads = autograd.value_and_grad(objective)(params)
    for got in (by_hand, objective(params), value):
        np.testing.assert_allclose(got, 4649826.583041586, rtol=1e-12)
    golden_grad = [-1053476.33939486, 1159525.45599207]
    np.testing.assert_allclose(grads[0]["w"][:, 0], golden_grad, rtol=1e-12)
    user = autograd.grad(lambda p: gaussian_nll(y, predict(p, x), 0.1, form="notebook"))(params)
    np.testing.assert_allclose(user[0]["w"][:, 0], golden_grad, rtol=1e-12)


@pytest.mark.parametrize("form", ["full", "notebook"])
def test_gradient_is_zero_at_least_squares_solution(form):
    x, y = linear_toy_data()
    coef, *_ = np.linalg.lstsq(np.hstack([x, np.ones((300, 1))]), y, rcond=None)
    params = [{"w": coef[:2, None], "b": coef[2:]}]
    objective = make_objective(x, y, sigma=0.1, form=form)
    grads = autograd.grad(objective)(params)
    scale = np.abs(autograd.grad(objective)(zero_linear_params())[0]["w"]).max()
    assert np.abs(grads[0]["w"]).max() < 1e-10 * scale
    assert np.abs(grads[0]["b"]).max() < 1e-10 * scale
    moved = [{"w": params[0]["w"] + 1e-3, "b": params[0]["b"]}]
    assert objective(moved) > objective(params)


# ---------------------------------------------------------------- formulas and properties


def test_full_form_formula_and_reductions():
    rng = np.random.default_rng(0)
    y, yhat = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    sigma = np.array([0.5, 1.0, 2.0])
    terms = HALF_LOG_2PI + np.log(sigma) + 0.5 * ((y - yhat) / sigma) ** 2
    np.testing.assert_allclose(gaussian_nll(y, yhat, sigma), terms.sum(), rtol=1e-14)
    np.testing.assert_allclose(
        gaussian_nll(y, yhat, sigma, reduction="mean"), terms.sum() / 5, rtol=1e-14
    )
    per_element = rng.uniform(0.5, 2.0, size=(5, 3))
    terms = HALF_LOG_2PI + np.log(per_element) + 0.5 * ((y - yhat) / per_element) ** 2
    np.testing.assert_allclose(gaussian_nll(y, yhat, per_element), terms.sum(), rtol=1e-14)
    notebook = 0.5 / 0.3**2 * np.sum((y - yhat) ** 2)
    np.testing.assert_allclose(gaussian_nll(y, yhat, 0.3, form="notebook"), notebook, rtol=1e-14)


@settings(max_examples=50, deadline=None)
@given(
    y=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=6),
        elements=st.floats(-1e6, 1e6),
    ),
    sigma=st.floats(1e-3, 1e3),
)
def test_loss_is_zero_for_perfect_predictions(y, sigma):
    assert gaussian_nll(y, y.copy(), sigma, form="notebook") == 0.0
    constant = y.size * (HALF_LOG_2PI + math.log(sigma))
    assert math.isclose(gaussian_nll(y, y.copy(), sigma), constant, rel_tol=1e-12, abs_tol=1e-12)
    assert mse(y, y.copy()) == 0.0


def test_mse_rmse():
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    yhat = y + np.array([[1.0, -1.0], [3.0, 0.0]])
    assert mse(y, yhat) == pytest.approx(11.0 / 4)
    assert rmse(y, yhat) == pytest.approx(math.sqrt(11.0 / 4))
    check_grads(lambda yh: rmse(y, yh), modes=["rev"], order=1)(yhat)


def test_log_prior_and_l2_penalty():
    params = [{"w": np.array([[1.0, -2.0]]), "b": np.array([0.5, 0.0])}]
    total = 1.0 + 4.0 + 0.25
    expected = -4 * (HALF_LOG_2PI + math.log(2.0)) - 0.5 * total / 4.0
    assert log_prior(params, prior_std=2.0) == pytest.approx(expected, rel=1e-14)
    assert l2_penalty(params, strength=3.0) == pytest.approx(1.5 * total, rel=1e-14)
    other = [{"w": np.array([[0.3, 0.7]]), "b": np.array([-1.0, 2.0])}]
    diff = l2_penalty(params, strength=0.25) - l2_penalty(other, strength=0.25)
    assert diff == pytest.approx(
        -(log_prior(params, prior_std=2.0) - log_prior(other, prior_std=2.0))
    )
    seed_check_grads(0)
    check_grads(lambda p: log_prior(p, prior_std=2.0), modes=["rev"], order=2)(params)
    check_grads(lambda p: l2_penalty(p, strength=3.0), modes=["rev"], order=2)(params)
    check_grads(lambda s: log_prior(params, prior_std=s), modes=["rev"], order=1)(1.3)
    check_grads(lambda s: l2_penalty(params, strength=s), modes=["rev"], order=1)(1.3)


# ---------------------------------------------------------------- gradients users compose


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("form", ["full", "notebook"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_learnable_sigma_gradients(n_out, form, reduction):
    rng = np.random.default_rng(n_out)
    params = make([2, 4, n_out], rng)
    x = rng.normal(size=(8, 2))
    y = rng.normal(size=(8, n_out)) if n_out > 1 else rng.normal(size=8)

    def loss(p, log_sigma):
        yhat = predict(p, x)
        return gaussian_nll(y, yhat, anp.exp(log_sigma), form=form, reduction=reduction)

    seed_check_grads(2)
    check_grads(loss, (0, 1), ["rev"], order=2)(params, -0.3)
    check_grads(loss, (0, 1), ["rev"], order=1)(params, np.array(0.2))
    check_grads(loss, (0, 1), ["rev"], order=2)(params, rng.normal(size=n_out) * 0.3)


def test_gradients_with_respect_to_y_and_per_element_sigma():
    rng = np.random.default_rng(5)
    y, yhat = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    seed_check_grads(3)
    check_grads(gaussian_nll, (0, 1, 2), ["rev"], order=2)(y, yhat, rng.uniform(0.5, 2, (4, 2)))


def test_gaussian_prior_on_top_of_the_likelihood():
    rng = np.random.default_rng(6)
    params = make([2, 5, 1], rng)
    x, y = rng.normal(size=(9, 2)), rng.normal(size=9)

    def loss(p):
        return gaussian_nll(y, predict(p, x), 0.5) - log_prior(p, prior_std=1.5)

    seed_check_grads(4)
    check_grads(loss, modes=["rev"], order=2)(params)
    objective = make_objective(x, y, sigma=0.5, prior_std=1.5)
    np.testing.assert_allclose(objective(params), loss(params), rtol=1e-13)
    check_grads(objective, modes=["rev"], order=2)(params)


@pytest.mark.parametrize("form", ["full", "notebook"])
@pytest.mark.parametrize("prior_std", [None, 0.8])
def test_make_objective_matches_composition(form, prior_std):
    rng = np.random.default_rng(7)
    params = make([3, 4, 2], rng)
    x, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    sigma = np.array([0.4, 1.1])

    def by_hand(p):
        total = gaussian_nll(y, predict(p, x, activation="relu"), sigma, form=form)
        if prior_std is not None and form == "full":
            total = total - log_prior(p, prior_std=prior_std)
        elif prior_std is not None:
            total = total + l2_penalty(p, strength=1 / prior_std**2)
        return total

    for reduction, divisor in [("sum", 1), ("mean", 10)]:
        objective = make_objective(
            x,
            y,
            sigma=sigma,
            prior_std=prior_std,
            activation="relu",
            form=form,
            reduction=reduction,
        )
        value, grads = autograd.value_and_grad(objective)(params)
        ref_value, ref_grads = autograd.value_and_grad(by_hand)(params)
        np.testing.assert_allclose(value, ref_value / divisor, rtol=1e-13)
        for got, want in zip(grads, ref_grads, strict=True):
            for key in ("w", "b"):
                np.testing.assert_allclose(got[key], want[key] / divisor, rtol=1e-12, atol=1e-13)


def test_make_objective_with_callable_activation_and_one_dimensional_x():
    rng = np.random.default_rng(8)
    params = make([1, 3, 1], rng)
    x, y = rng.normal(size=6), rng.normal(size=6)
    objective = make_objective(x, y, activation=anp.sin)
    np.testing.assert_allclose(
        objective(params), gaussian_nll(y, predict(params, x, activation=anp.sin)), rtol=1e-14
    )
    seed_check_grads(5)
    check_grads(objective, modes=["rev"], order=2)(params)
    assert "N=6, D=1, O=1" in repr(objective)


# ---------------------------------------------------------------- errors


def test_shape_mismatch_hints():
    with pytest.raises(ValueError, match=r"got y \(3, 1\) and yhat \(3,\); pass y.ravel\(\)"):
        gaussian_nll(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match=r"pass yhat.ravel\(\)"):
        gaussian_nll(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"got y \(3,\) and yhat \(4,\); pass arrays of the same"):
        mse(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("sigma", [0.0, -1.0, float("inf"), float("nan")])
def test_non_positive_sigma(sigma):
    with pytest.raises(ValueError, match="sigma must be a positive finite number"):
        gaussian_nll(np.zeros(3), np.zeros(3), sigma)
    with pytest.raises(ValueError, match="sigma must be a positive finite number"):
        make_objective(np.zeros((3, 1)), np.zeros(3), sigma=sigma)


def test_bad_sigma_arrays_and_kinds():
    with pytest.raises(ValueError, match="sigma must be positive and finite everywhere"):
        gaussian_nll(np.zeros((3, 2)), np.zeros((3, 2)), np.array([1.0, 0.0]))
    with pytest.raises(
        ValueError, match=r"one value per output \(shape \(2,\)\).*got shape \(3,\)"
    ):
        gaussian_nll(np.zeros((3, 2)), np.zeros((3, 2)), np.ones(3))
    with pytest.raises(TypeError, match="sigma must be a positive number or array"):
        gaussian_nll(np.zeros(3), np.zeros(3), "0.1")


def test_bad_form_and_reduction():
    with pytest.raises(ValueError, match=r"form must be one of 'full', 'notebook', got 'nb'"):
        gaussian_nll(np.zeros(3), np.zeros(3), form="nb")
    with pytest.raises(ValueError, match=r"reduction must be one of 'sum', 'mean', got 'avg'"):
        gaussian_nll(np.zeros(3), np.zeros(3), reduction="avg")
    with pytest.raises(ValueError, match="form must be one of"):
        make_objective(np.zeros((3, 1)), np.zeros(3), form="Full")
    with pytest.raises(ValueError, match="reduction must be one of"):
        make_objective(np.zeros((3, 1)), np.zeros(3), reduction=None)


def test_prior_and_penalty_errors():
    params = zero_linear_params()
    with pytest.raises(ValueError, match=r"prior_std must be a positive finite number, got 0\.0"):
        log_prior(params, prior_std=0.0)
    with pytest.raises(ValueError, match="prior_std must be a positive finite number"):
        make_objective(np.zeros((3, 1)), np.zeros(3), prior_std=-1.0)
    with pytest.raises(ValueError, match="strength must be a non-negative finite number, got -1"):
        l2_penalty(params, strength=-1)
    with pytest.raises(TypeError, match="strength must be a non-negative number"):
        l2_penalty(params, strength="1")
    with pytest.raises(TypeError, match=r"params\[0\]\['w'\] must be numeric"):
        log_prior([{"w": np.array(["a"]), "b": np.zeros(1)}])


@pytest.mark.parametrize("name", ["x", "y"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_make_objective_rejects_non_finite_data(name, bad):
    x, y = np.zeros((4, 2)), np.zeros(4)
    (x if name == "x" else y)[1] = bad
    with pytest.raises(ValueError, match=rf"{name} must be finite, got {bad} at index \(1"):
        make_objective(x, y)


def test_make_objective_shape_errors():
    with pytest.raises(ValueError, match=r"y must have shape \(4,\).*got \(4, 1\); pass y.ravel"):
        make_objective(np.zeros((4, 2)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"same number of examples, got x \(5, 2\) and y \(4,\)"):
        make_objective(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="x must have 1 or 2 dimensions"):
        make_objective(np.zeros((4, 2, 1)), np.zeros(4))
    with pytest.raises(TypeError, match="sigma must be a fixed number in make_objective"):
        autograd.grad(lambda s: make_objective(np.zeros((2, 1)), np.zeros(2), sigma=s))(1.0)
    with pytest.raises(ValueError, match="activation must be one of"):
        make_objective(np.zeros((4, 2)), np.zeros(4), activation="swish")


def test_objective_checks_params_against_data():
    objective = make_objective(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"expects 5 input features but x has 2"):
        objective([{"w": np.zeros((5, 3)), "b": np.zeros(3)}])
    with pytest.raises(ValueError, match=r"gives 1 outputs but y has 3"):
        objective([{"w": np.zeros((2, 1)), "b": np.zeros(1)}])


def test_non_numeric_targets():
    with pytest.raises(TypeError, match="y must hold real numbers"):
        gaussian_nll(np.array(["a", "b"]), np.zeros(2))
    with pytest.raises(ValueError, match="yhat must be a rectangular array of numbers"):
        mse(np.zeros(2), [[1.0], [2.0, 3.0]])
