"""The sample axis: K parameter sets stacked on a leading axis, evaluated in one batched pass."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads

from tinynn import tree
from tinynn.losses import make_objective
from tinynn.model import (
    ACTIVATIONS,
    backward,
    forward,
    inputs_with_ones,
    predict,
    resolve_activation,
    stack_size,
    stacked_hidden,
    stacked_hidden_grads,
)
from tinynn.params import make_params

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 2))


def members(n_out=1, hidden=(5,), count=4):
    return [make_params(2, list(hidden), n_out, rng=k, bias_init="normal") for k in range(count)]


def test_stack_unstack_and_index_round_trip():
    trees = members()
    stacked = tree.stack(trees)
    assert stacked[0]["w"].shape == (4, 2, 5) and stacked[1]["b"].shape == (4, 1)
    for original, back in zip(trees, tree.unstack(stacked), strict=True):
        for a, b in zip(tree.leaves(original), tree.leaves(back), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(tree.index(stacked, -1)[0]["w"], trees[-1][0]["w"])
    assert stack_size(stacked) == 4 and stack_size(trees[0]) is None


def test_stack_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="stack needs a non-empty list of trees"):
        tree.stack([])
    with pytest.raises(ValueError, match=r"leaf shapes differ at tree\[0\]\['w'\]"):
        tree.stack([make_params(2, [3], rng=0), make_params(2, [4], rng=0)])
    with pytest.raises(IndexError, match="k=4 is out of range for a stack of K=4 members"):
        tree.index(tree.stack(members()), 4)
    with pytest.raises(ValueError, match="one leading axis K of the same length on every leaf"):
        tree.unstack({"a": np.zeros((3, 2)), "b": np.zeros((2,))})


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize(("hidden", "n_out"), [((), 1), ((5,), 1), ((4, 3), 3)])
def test_stacked_predict_equals_a_loop_and_so_do_its_gradients(activation, hidden, n_out):
    trees = members(n_out, hidden)
    stacked = tree.stack(trees)
    got = predict(stacked, X, activation=activation)
    want = np.stack([predict(p, X, activation=activation) for p in trees])
    assert got.shape == want.shape == ((4, 30) if n_out == 1 else (4, 30, n_out))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    weights_K = RNG.normal(size=got.shape)

    def total(p):
        return anp.sum(predict(p, X, activation=activation) * weights_K)

    grads = autograd.grad(total)(stacked)
    loop = tree.stack(
        [
            autograd.grad(
                lambda p, k=k: anp.sum(predict(p, X, activation=activation) * weights_K[k])
            )(t)
            for k, t in enumerate(trees)
        ]
    )
    for a, b in zip(tree.leaves(grads), tree.leaves(loop), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    check_grads(total, modes=["rev"], order=1)(stacked)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize(("n_in", "hidden", "n_out"), [(1, (7,), 1), (3, (4,), 1), (2, (4, 3), 2)])
@pytest.mark.parametrize("need_x", [False, True])
@pytest.mark.parametrize("buffered", [False, True])
def test_stacked_kernels_equal_the_one_network_kernels(
    activation, n_in, hidden, n_out, need_x, buffered
):
    # The stacked first layer is one product [x, 1] @ [w; b]; with one hidden layer and one
    # output the first layer's gradients skip the (K, N, H) delta: both against K plain calls.
    kernel = resolve_activation(activation)
    x = RNG.normal(size=(30, n_in))
    trees = [make_params(n_in, list(hidden), n_out, rng=k, bias_init="normal") for k in range(4)]
    g_KNO = RNG.normal(size=(4, 30, n_out))
    work: dict = {}

    def buffers(key, shape):
        if key not in work or work[key].shape != shape:
            work[key] = np.empty(shape)
        return work[key]

    stacked = tree.stack(trees)
    ws, bs = [layer["w"] for layer in stacked], [layer["b"] for layer in stacked]
    for repeat in range(2):  # the second call reuses the buffers
        out, acts = forward(ws, bs, x, kernel, buffers if buffered else None)
        gws, gbs, gx = backward(
            ws, acts, g_KNO, kernel, need_x=need_x, buffers=buffers if buffered else None
        )
        for k, one in enumerate(trees):
            w1, b1 = [layer["w"] for layer in one], [layer["b"] for layer in one]
            out1, acts1 = forward(w1, b1, x, kernel)
            np.testing.assert_allclose(out[k], out1, rtol=1e-13, atol=1e-13)
            gw1, gb1, gx1 = backward(w1, acts1, g_KNO[k], kernel, need_x=need_x)
            for got, want in zip([*gws, *gbs], [*gw1, *gb1], strict=True):
                np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-12)
            if need_x:
                np.testing.assert_allclose(gx[k], gx1, rtol=1e-12, atol=1e-12)
        assert gx is None or need_x, repeat


@pytest.mark.parametrize(
    ("sigma", "prior_std", "reduction"),
    [(0.3, None, "sum"), (0.3, 2.0, "mean"), ("learn", None, "sum"), ("per-example", 1.0, "sum")],
)
@pytest.mark.parametrize("hidden", [(5,), (4, 3)])  # the lean one-hidden-layer path, the general
def test_stacked_objective_is_a_vector_of_the_members_objectives(
    sigma, prior_std, reduction, hidden
):
    y = np.sin(X[:, 0])
    noise = np.linspace(0.2, 1.0, 30) if sigma == "per-example" else sigma
    loss = make_objective(X, y, sigma=noise, prior_std=prior_std, reduction=reduction)
    trees = members(hidden=hidden)
    stacked = tree.stack(trees)
    want = np.array([loss(p) for p in trees])
    np.testing.assert_allclose(loss(stacked), want, rtol=1e-12)
    values, grads = loss.value_and_grad(stacked)
    np.testing.assert_allclose(values, want, rtol=1e-12)
    loop = tree.stack([loss.value_and_grad(p)[1] for p in trees])
    traced = autograd.grad(lambda p: anp.sum(loss(p)))(stacked)
    for a, b, c in zip(tree.leaves(grads), tree.leaves(loop), tree.leaves(traced), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(c, b, rtol=1e-10, atol=1e-10)
    # one cotangent per member: each member's gradient scaled by its own weight
    weights_K = np.array([0.5, -1.0, 2.0, 3.0])
    weighted = autograd.grad(lambda p: anp.sum(loss(p) * weights_K))(stacked)
    for a, b in zip(tree.leaves(weighted), tree.leaves(loop), strict=True):
        np.testing.assert_allclose(a, weights_K.reshape(-1, *[1] * (b.ndim - 1)) * b, atol=1e-10)
    check_grads(lambda p: anp.sum(loss(p)), modes=["rev"], order=2)(stacked)


def test_stacked_minibatches_equal_a_loop_and_leave_the_full_data_alone():
    # A minibatch is the objective on other rows; the full objective afterwards is unchanged.
    loss = make_objective(X, np.sin(X[:, 0]), sigma=0.3, prior_std=1.0)
    trees = members()
    stacked = tree.stack(trees)
    before = loss.value_and_grad(stacked)
    index = np.array([3, 7, 7, 20])
    values, grads = loss.batch_value_and_grad(stacked, index)
    for k, one in enumerate(trees):
        value, grad = loss.batch_value_and_grad(one, index)
        np.testing.assert_allclose(values[k], value, rtol=1e-12)
        for a, b in zip(tree.leaves(grads), tree.leaves(grad), strict=True):
            np.testing.assert_allclose(a[k], b, rtol=1e-10, atol=1e-12)
    after = loss.value_and_grad(stacked)
    np.testing.assert_array_equal(after[0], before[0])
    for a, b in zip(tree.leaves(after[1]), tree.leaves(before[1]), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_stacked_hidden_grads_match_finite_differences(activation):
    # out_KN = stacked_hidden([x, 1], w, b) @ v + c; the gradient of sum(g * out) by [w; b]
    kernel = resolve_activation(activation)
    x = RNG.normal(size=(9, 2))
    x1_NE, x1t_EN = inputs_with_ones(x)
    w_KDH, b_KH, v_KH = RNG.normal(size=(3, 2, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    g_KN = RNG.normal(size=(3, 9))

    def objective(w, b):
        return float(
            np.sum(g_KN * np.einsum("knh,kh->kn", stacked_hidden(x1_NE, w, b, kernel), v_KH))
        )

    hidden = stacked_hidden(x1_NE, w_KDH, b_KH, kernel)
    loop = [ACTIVATIONS[activation](x @ w + b) for w, b in zip(w_KDH, b_KH, strict=True)]
    np.testing.assert_allclose(hidden, loop, rtol=1e-14, atol=1e-14)
    into = np.full((3, 3, 4), np.nan)
    got = stacked_hidden_grads(x1t_EN, hidden.copy(), v_KH, g_KN, kernel)
    stacked_hidden_grads(x1t_EN, hidden, v_KH, g_KN, kernel, out=into)
    np.testing.assert_array_equal(into, got)
    step = 1e-6
    for index in np.ndindex(3, 3, 4):
        k, row, h = index
        shifted = []
        for sign in (1.0, -1.0):
            w, b = w_KDH.copy(), b_KH.copy()
            if row < 2:
                w[k, row, h] += sign * step
            else:
                b[k, h] += sign * step
            shifted.append(objective(w, b))
        np.testing.assert_allclose(got[index], (shifted[0] - shifted[1]) / (2 * step), atol=1e-7)


def test_reparameterized_samples_on_the_sample_axis_get_gradients():
    y = np.sin(X[:, 0])
    loss = make_objective(X, y, sigma=0.3, prior_std=1.0)
    mean = members(count=1)[0]
    eps_K = tree.stack([tree.normal_like(mean, rng=k) for k in range(8)])

    def expected_loss(mean, log_std):
        # eps_K carries the sample axis K: the broadcast is meant, so it is asked for
        reparameterized = lambda m, s, e: m + anp.exp(s) * e  # noqa: E731
        sample_K = tree.map(reparameterized, mean, log_std, eps_K, same_shapes=False)
        return anp.mean(loss(sample_K))

    log_std = tree.full_like(mean, -2.0)
    check_grads(expected_loss, modes=["rev"], order=1)(mean, log_std)


def test_one_parameter_set_methods_refuse_a_stack():
    loss = make_objective(X, np.sin(X[:, 0]), sigma=0.3)
    stacked = tree.stack(members())
    with pytest.raises(ValueError, match="ggn takes one parameter set, got stacked parameters"):
        loss.ggn(stacked)
    assert loss.flat(stacked) is None
    joint = make_objective(X, np.sin(X[:, 0]), sigma="learn", prior_std=1.0)
    with pytest.raises(ValueError, match=r"stacked parameters .* not with log_sigma trained"):
        joint({"net": stacked, "log_sigma": np.zeros(1)})
    with pytest.raises(ValueError, match=r"params\[1\]\['w'\] must have shape \(K, n_in, n_out\)"):
        predict([stacked[0], members()[0][1]], X)


def test_tree_map_refuses_a_broadcast_unless_asked() -> None:
    a, b = [{"w": np.ones(3)}], [{"w": np.ones((3, 1))}]
    with pytest.raises(ValueError, match=r"leaf shapes differ at tree\[0\]\['w'\]"):
        tree.map(lambda u, v: u + v, a, b)
    assert tree.map(lambda u, v: u + v, a, b, same_shapes=False)[0]["w"].shape == (3, 3)
