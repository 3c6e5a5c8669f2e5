"""make_objective's treatment of the noise: fixed, profiled out, or learned with the network."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads

from tinynn import tree
from tinynn.losses import gaussian_nll, l2_penalty, log_prior, make_objective
from tinynn.model import predict
from tinynn.optim import lbfgs, minimize
from tinynn.params import make_params


def data(n_out=1, n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = np.column_stack([np.sin(x[:, 0]) + 0.3 * k * x[:, 1] for k in range(n_out)])
    y = y + 0.1 * rng.normal(size=y.shape)
    return x, (y[:, 0] if n_out == 1 else y)


def joint_reference(x, y, params, prior_std, form):
    """The joint objective composed from the public pieces, as 0.1.0's Regressor wrote it."""
    sigma = anp.exp(params["log_sigma"])
    yhat = predict(params["net"], x)
    nll = gaussian_nll(y, yhat, sigma[0] if y.ndim == 1 else sigma)
    if form == "full":
        return nll - log_prior(params["net"], prior_std=prior_std)
    penalty = l2_penalty(params["net"], strength=prior_std**-2)
    return nll - y.size * 0.5 * np.log(2 * np.pi) + penalty


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("form", ["full", "notebook"])
def test_joint_objective_equals_its_composition_value_and_gradient(n_out, form):
    x, y = data(n_out)
    loss = make_objective(x, y, sigma="learn", prior_std=2.0, form=form)
    params = loss.init(make_params(2, [5], n_out, rng=1), sigma=0.7)
    params["log_sigma"] = params["log_sigma"] + np.linspace(-0.2, 0.2, n_out)
    want, want_grad = autograd.value_and_grad(lambda p: joint_reference(x, y, p, 2.0, form))(params)
    for got, got_grad in (loss.value_and_grad(params), autograd.value_and_grad(loss)(params)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
        for g, w in zip(tree.leaves(got_grad), tree.leaves(want_grad), strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", lambda z: anp.tanh(z) ** 3])
def test_joint_objective_gradients_match_finite_differences(activation):
    x, y = data(2, n=12)
    loss = make_objective(x, y, sigma="learn", prior_std=1.5, activation=activation)
    params = loss.init(make_params(2, [4], 2, rng=2), sigma=0.5)
    check_grads(loss, modes=["rev"], order=2)(params)


def test_joint_flat_protocol_reads_log_sigma_last():
    x, y = data(2)
    loss = make_objective(x, y, sigma="learn", prior_std=1.0)
    params = loss.init(make_params(2, [3], 2, rng=0), sigma=0.3)
    theta_P, unflatten = tree.flatten(params)
    flat = loss.flat(params)
    value, grad_P = flat.value_and_grad(theta_P)
    want, want_grads = loss.value_and_grad(params)
    assert value == pytest.approx(want, rel=1e-14)
    np.testing.assert_allclose(grad_P, tree.flatten(want_grads)[0], rtol=1e-12)
    rebuilt = flat.unflatten(theta_P)
    assert list(rebuilt) == ["net", "log_sigma"]
    np.testing.assert_array_equal(rebuilt["log_sigma"], unflatten(theta_P)["log_sigma"])
    assert loss.flat({"log_sigma": params["log_sigma"], "net": params["net"]}) is None


def test_learned_sigma_with_a_prior_reaches_the_least_squares_noise():
    # A linear model with a vague prior: sigma's maximum is the RMS residual of least squares.
    x, y = data(1, n=200)
    loss = make_objective(x, y, sigma="learn", prior_std=1e3)
    result = minimize(loss, loss.init(make_params(2, [], rng=0)), optimizer=lbfgs(), n_iters=200)
    net, sigma = loss.unpack(result.params)
    a_NK = np.column_stack([x, np.ones(len(x))])
    coef = np.linalg.lstsq(a_NK, y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[net[0]["w"][:, 0], net[0]["b"]], coef, rtol=1e-5)
    assert sigma == pytest.approx(np.sqrt(np.mean((a_NK @ coef - y) ** 2)), rel=1e-6)


def test_profile_objective_is_the_likelihood_at_unit_noise_and_unpacks_the_rms_residual():
    x, y = data(2)
    params = make_params(2, [3], 2, rng=0)
    profile = make_objective(x, y, sigma="learn")
    assert profile.noise == "profile" and profile.init(params) is params
    assert profile(params) == pytest.approx(make_objective(x, y, sigma=1.0)(params), rel=1e-14)
    net, sigma = profile.unpack(params)
    resid = predict(params, x) - y
    np.testing.assert_allclose(sigma, np.sqrt(np.mean(resid**2, axis=0)), rtol=1e-14)
    assert net is params


def test_fixed_sigma_unpacks_as_given():
    x, y = data(1)
    loss = make_objective(x, y, sigma=0.25)
    assert loss.noise == "fixed" and loss.unpack(make_params(2, [3], rng=0))[1] == 0.25


def test_per_example_sigma_is_exact_not_broadcast():
    x, y = data(1, n=30)
    sigma_N = np.linspace(0.2, 1.0, 30)
    params = make_params(2, [4], rng=0)
    want = gaussian_nll(y, predict(params, x), sigma_N)
    loss = make_objective(x, y, sigma=sigma_N)
    assert loss(params) == pytest.approx(want, rel=1e-13)
    grads = loss.value_and_grad(params)[1]
    want_grads = autograd.grad(lambda p: gaussian_nll(y, predict(p, x), sigma_N))(params)
    for g, w in zip(tree.leaves(grads), tree.leaves(want_grads), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(("sigma", "prior_std"), [(1.0, None), (0.5, 2.0), ("learn", 2.0)])
def test_solve_output_layer_is_the_ridge_least_squares_optimum(sigma, prior_std):
    x, y = data(2)
    loss = make_objective(x, y, sigma=sigma, prior_std=prior_std)
    params = loss.init(make_params(2, [6], 2, rng=3), sigma=0.5)
    solved = loss.solve_output_layer(params)
    net = solved["net"] if sigma == "learn" else solved
    # The gradient of the objective in the output layer is zero at its optimum.
    grads = loss.value_and_grad(solved)[1]
    out_grads = (grads["net"] if sigma == "learn" else grads)[-1]
    assert np.max(np.abs(out_grads["w"])) < 1e-9 and np.max(np.abs(out_grads["b"])) < 1e-9
    assert net[0] is (params["net"] if sigma == "learn" else params)[0]


def test_solve_output_layer_refuses_per_example_sigma():
    x, y = data(1)
    loss = make_objective(x, y, sigma=np.full(len(y), 0.5))
    with pytest.raises(ValueError, match="solve_output_layer needs sigma as one value or one per"):
        loss.solve_output_layer(make_params(2, [3], rng=0))


def test_joint_parameters_are_checked_with_clear_errors():
    x, y = data(2)
    loss = make_objective(x, y, sigma="learn", prior_std=1.0)
    net = make_params(2, [3], 2, rng=0)
    with pytest.raises(TypeError, match=r"must be a dict \{'net': params, 'log_sigma': s_O\}"):
        loss(net)
    with pytest.raises(ValueError, match=r"params\['log_sigma'\] must have shape \(2,\)"):
        loss({"net": net, "log_sigma": np.zeros(1)})
    with pytest.raises(ValueError, match="sigma must be one of 'learn'"):
        make_objective(x, y, sigma="estimate")
    with pytest.raises(ValueError, match="sigma must be a positive finite number"):
        loss.init(net, sigma=-1.0)


def test_repr_names_a_learned_sigma():
    x, y = data(1)
    assert "sigma='learn'" in repr(make_objective(x, y, sigma="learn"))
