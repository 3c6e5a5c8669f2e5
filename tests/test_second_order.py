"""Jacobians, Gauss-Newton matrices and their products, against autograd's dense derivatives."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from tinynn import tree
from tinynn.losses import make_objective
from tinynn.model import ACTIVATIONS, input_jacobian, jacobian, predict
from tinynn.params import make_params

RNG = np.random.default_rng(0)
X_ND = RNG.normal(size=(7, 2))


def dense_jacobian(params, x, activation):
    theta_P, unflatten = tree.flatten(params)
    j = autograd.jacobian(lambda t: predict(unflatten(t), x, activation=activation))(theta_P)
    return j


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [[], [4], [4, 3], [3, 4, 2]])
@pytest.mark.parametrize("n_out", [1, 3])
def test_jacobians_match_autograd(activation, hidden, n_out):
    params = make_params(2, hidden, n_out, rng=1, bias_init="normal")
    got = jacobian(params, X_ND, activation=activation)
    want = dense_jacobian(params, X_ND, activation)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.max(np.abs(want)))
    got_x = input_jacobian(params, X_ND, activation=activation)
    rows = autograd.jacobian(lambda z: predict(params, z, activation=activation))(X_ND)
    want_x = np.einsum("nomd->nod", rows.reshape(7, n_out, 7, 2)).reshape(got_x.shape)
    np.testing.assert_allclose(got_x, want_x, rtol=1e-10, atol=1e-12)


def test_jacobian_shapes_and_a_custom_activation():
    params = make_params(2, [5], 3, rng=0)
    cube = lambda z: anp.tanh(z) ** 3  # noqa: E731
    assert jacobian(params, X_ND).shape == (7, 3, 33)
    assert jacobian(params[1:], RNG.normal(size=(4, 5))).shape == (4, 3, 18)
    assert input_jacobian(params, X_ND).shape == (7, 3, 2)
    np.testing.assert_allclose(
        jacobian(params, X_ND, activation=cube), dense_jacobian(params, X_ND, cube), rtol=1e-12
    )
    one = make_params(1, [3], rng=0)
    assert jacobian(one, np.linspace(0, 1, 4)).shape == (4, 10)
    assert input_jacobian(one, np.linspace(0, 1, 4)).shape == (4, 1)


def test_jacobian_errors_are_those_of_predict():
    params = make_params(2, [3], rng=0)
    with pytest.raises(ValueError, match="x has 3 features"):
        jacobian(params, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="activation must be one of"):
        jacobian(params, X_ND, activation="swish")


def reference_ggn(loss, params):
    """J^T diag(1 / sigma^2) J + prior + log-sigma Fisher, built from autograd's Jacobian."""
    net = params["net"] if isinstance(params, dict) else params
    j = dense_jacobian(net, loss.x, "tanh").reshape(len(loss.y), -1, tree.size(net))
    if loss.noise == "joint":
        inv_var = np.exp(-2 * params["log_sigma"])[None, :] * np.ones(j.shape[:2])
    else:
        sigma = loss.unpack(params)[1] if loss.noise == "fixed" else 1.0
        inv_var = np.ones(j.shape[:2]) / np.asarray(sigma) ** 2
    ggn = np.einsum("nop,no,noq->pq", j, inv_var, j)
    f = loss._fused  # the prior's precision, read from the objective under test
    ggn += 2 * f.prior_coef * np.eye(len(ggn))
    if loss.noise == "joint":
        n_net = len(ggn)
        full = np.zeros((n_net + j.shape[1],) * 2)
        full[:n_net, :n_net] = ggn
        net_value = params["net"]
        resid = predict(net_value, loss.x).reshape(len(loss.y), -1) - loss.y.reshape(
            len(loss.y), -1
        )
        curvature = 2 * np.sum(resid**2, axis=0) * np.exp(-2 * params["log_sigma"])
        full[n_net:, n_net:] = np.diag(curvature)
        ggn = full
    return ggn * f.scale


CASES = [
    (1, 0.5, None, "sum"),
    (3, 0.5, 2.0, "sum"),
    (3, np.array([0.5, 1.0, 2.0]), 2.0, "mean"),
    (1, "learn", 2.0, "sum"),
    (3, "learn", 2.0, "mean"),
    (3, "learn", None, "sum"),
]


@pytest.mark.parametrize(("n_out", "sigma", "prior_std", "reduction"), CASES)
def test_ggn_and_its_products_match_dense_references(n_out, sigma, prior_std, reduction):
    y = RNG.normal(size=(7, n_out))
    y = y[:, 0] if n_out == 1 else y
    loss = make_objective(X_ND, y, sigma=sigma, prior_std=prior_std, reduction=reduction)
    params = loss.init(make_params(2, [4], n_out, rng=1, bias_init="normal"), sigma=0.7)
    want = reference_ggn(loss, params)
    np.testing.assert_allclose(loss.ggn(params), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loss.ggn(params, part="diagonal"), np.diag(want), rtol=1e-12)
    n_net = 4 * 3 + (4 + 1) * n_out
    q = 5 * n_out
    np.testing.assert_allclose(
        loss.ggn(params, part="last_layer"),
        want[n_net - q : n_net, n_net - q : n_net],
        rtol=1e-12,
        atol=1e-12,
    )
    v_P = RNG.normal(size=len(want))
    np.testing.assert_allclose(loss.ggn_vector(params, v_P), want @ v_P, rtol=1e-10, atol=1e-12)
    theta_P, unflatten = tree.flatten(params)
    hessian = autograd.hessian(lambda t: loss(unflatten(t)))(theta_P)
    np.testing.assert_allclose(
        loss.hessian_vector(params, v_P), hessian @ v_P, rtol=1e-10, atol=1e-10
    )


def test_ggn_follows_the_key_order_of_the_parameters():
    y = RNG.normal(size=7)
    loss = make_objective(X_ND, y, sigma="learn", prior_std=1.0)
    params = loss.init(make_params(2, [3], rng=0, bias_init="normal"), sigma=0.5)
    swapped = {
        "log_sigma": params["log_sigma"],
        "net": [{"b": layer["b"], "w": layer["w"]} for layer in params["net"]],
    }
    order = tree.flatten(swapped)[0]
    canonical = tree.flatten(params)[0]
    perm = [int(np.flatnonzero(canonical == value)[0]) for value in order]
    np.testing.assert_allclose(loss.ggn(swapped), loss.ggn(params)[np.ix_(perm, perm)])


def test_gauss_newton_equals_the_hessian_at_an_exact_fit_of_a_linear_model():
    x = RNG.normal(size=(10, 2))
    y = x @ np.array([1.5, -2.0]) + 0.3
    loss = make_objective(x, y, sigma=0.5, prior_std=3.0)
    params = [{"w": np.array([[1.5], [-2.0]]), "b": np.array([0.3])}]
    theta_P, unflatten = tree.flatten(params)
    hessian = autograd.hessian(lambda t: loss(unflatten(t)))(theta_P)
    np.testing.assert_allclose(loss.ggn(params), hessian, rtol=1e-12)


def test_memory_guard_names_the_size_before_allocating():
    loss = make_objective(np.zeros((1000, 2)), np.zeros(1000))
    params = make_params(2, [300], rng=0)
    with pytest.raises(
        ValueError, match=r"P=1201 .* N=1000 .* needs 0.0211 GB .* max_bytes=0.001 GB"
    ):
        loss.ggn(params, max_bytes=1e6)
    assert loss.ggn(params, part="diagonal").shape == (1201,)
    with pytest.raises(ValueError, match="part must be one of 'full', 'diagonal', 'last_layer'"):
        loss.ggn(params, part="block")


def test_product_vectors_must_fit_the_parameters():
    loss = make_objective(X_ND, np.zeros(7))
    params = make_params(2, [3], rng=0)
    with pytest.raises(
        ValueError, match=r"v_P must have shape \(13,\) to match params, got \(3,\)"
    ):
        loss.ggn_vector(params, np.zeros(3))
    with pytest.raises(ValueError, match=r"v_P must have shape \(13,\) to match params"):
        loss.hessian_vector(params, np.zeros(12))


HESSIAN_CASES = [
    (1, 0.5, None, "sum"),
    (3, 0.5, 2.0, "sum"),
    (3, np.array([0.5, 1.0, 2.0]), 2.0, "mean"),
    (2, np.full((7, 2), 0.3) + RNG.uniform(size=(7, 2)), None, "sum"),  # one sigma per row
    (1, "learn", None, "sum"),  # sigma profiled out: the objective at unit noise
]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize(("n_out", "sigma", "prior_std", "reduction"), HESSIAN_CASES)
def test_the_exact_hessian_matches_autograds(activation, n_out, sigma, prior_std, reduction):
    y = RNG.normal(size=(7, n_out))
    y = y[:, 0] if n_out == 1 else y
    loss = make_objective(
        X_ND, y, sigma=sigma, prior_std=prior_std, reduction=reduction, activation=activation
    )
    params = make_params(2, [4], n_out, rng=3)
    theta_P, unflatten = tree.flatten(params)
    theta_P = theta_P + 0.3  # away from relu's kinks at zero, which no sample point hits
    flat = loss.flat(params)
    value, grad_P, (hess_PP, ggn_PP) = flat.newton_system(theta_P)
    expected = autograd.hessian(lambda t: loss(unflatten(t)))(theta_P)
    np.testing.assert_allclose(hess_PP, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())
    ref_value, ref_grad = flat.value_and_grad(theta_P)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad_P, ref_grad, rtol=1e-10, atol=1e-12)
    # the term Gauss-Newton leaves out is there: the Hessian is not the GGN
    _, _, ggn = flat.gauss_newton(theta_P)
    np.testing.assert_allclose(ggn_PP, ggn, rtol=1e-12, atol=1e-14 * np.abs(ggn).max())
    if activation != "identity":
        assert np.abs(hess_PP - ggn).max() > 1e-6 * np.abs(ggn).max()


def test_the_exact_hessian_names_what_it_needs():
    y = RNG.normal(size=7)
    deep = make_objective(X_ND, y, sigma=1.0).flat(make_params(2, [3, 3], 1, rng=0))
    with pytest.raises(ValueError, match="needs a network with one hidden layer, got 2 hidden"):
        deep.newton_system(np.zeros(deep.size))
    learned = make_objective(X_ND, y, sigma="learn", prior_std=1.0)  # sigma is a parameter
    start = learned.init(make_params(2, [3], 1, rng=0))
    flat = learned.flat(start)
    with pytest.raises(ValueError, match='needs a fixed sigma, got sigma="learn"'):
        flat.newton_system(tree.flatten(start)[0])
    # every built-in activation has the second derivative the Hessian needs
    from tinynn.losses._second_order import SECOND_DERIVATIVES

    assert set(SECOND_DERIVATIVES) == set(ACTIVATIONS)
