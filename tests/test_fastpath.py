"""Tests for the fast path: it must agree with plain autograd and record very few graph nodes."""

import threading

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.core import VJPNode, make_vjp
from autograd.test_util import check_grads
from autograd.tracer import trace
from autograd.util import toposort
from conftest import make, seed_check_grads

from tinynn import _primitive, tree
from tinynn.losses import gaussian_nll, log_prior, make_objective
from tinynn.model import ACTIVATIONS, _network, predict

BUILTINS = sorted(ACTIVATIONS)


def reference(params, x, activation="tanh"):
    return _network.reference_predict(params, x, ACTIVATIONS[activation])


def assert_trees_close(got, want, rtol=1e-12, atol=1e-12):
    if isinstance(want, dict):
        assert list(got) == list(want)
        for key in want:
            assert_trees_close(got[key], want[key], rtol, atol)
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_trees_close(g, w, rtol, atol)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def count_nodes(fun, x):
    """Return how many primitives autograd records while tracing ``fun(x)``."""
    _, end_node = trace(VJPNode.new_root(), fun, x)
    return sum(1 for _ in toposort(end_node)) - 1  # the root is not a primitive


# ---------------------------------------------------------------- fast == plain traced path


@pytest.mark.parametrize("activation", BUILTINS)
@pytest.mark.parametrize("sizes", [[2, 1], [2, 5, 1], [3, 4, 5, 3], [1, 3, 2, 4, 2]])
def test_fast_path_equals_reference(activation, sizes):
    rng = np.random.default_rng(len(sizes))
    params = make(sizes, rng)
    x = rng.normal(size=(7, sizes[0]))
    weights = rng.normal(size=predict(params, x).shape)

    def fast(p, xx):
        return anp.sum(weights * predict(p, xx, activation=activation) ** 2)

    def slow(p, xx):
        return anp.sum(weights * reference(p, xx, activation) ** 2)

    np.testing.assert_allclose(fast(params, x), slow(params, x), rtol=1e-12)
    assert_trees_close(
        autograd.grad(fast, (0, 1))(params, x), autograd.grad(slow, (0, 1))(params, x)
    )
    vec = [{k: rng.normal(size=v.shape) for k, v in layer.items()} for layer in params]
    hvp_fast = autograd.grad(lambda p: tree.vdot(autograd.grad(fast)(p, x), vec))(params)
    hvp_slow = autograd.grad(lambda p: tree.vdot(autograd.grad(slow)(p, x), vec))(params)
    assert_trees_close(hvp_fast, hvp_slow, atol=1e-11)


def test_tuple_params_get_tuple_gradients():
    rng = np.random.default_rng(0)
    params = tuple(make([2, 3, 1], rng))
    x = rng.normal(size=(4, 2))
    grads = autograd.grad(lambda p: anp.sum(predict(p, x) ** 2))(params)
    assert isinstance(grads, tuple)
    assert_trees_close(grads, autograd.grad(lambda p: anp.sum(reference(p, x) ** 2))(params))


# ---------------------------------------------------------------- few nodes


def test_node_counts():
    rng = np.random.default_rng(1)
    params = make([2, 30, 30, 1], rng)
    x, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    objective = make_objective(x, y, sigma=0.1, prior_std=1.0)
    assert count_nodes(objective, params) == 1
    assert count_nodes(lambda p: gaussian_nll(y, predict(p, x), 0.1), params) == 2
    assert count_nodes(lambda p: predict(p, x), params) == 1
    assert count_nodes(lambda p: log_prior(p), params) == 1
    slow = count_nodes(lambda p: gaussian_nll(y, reference(p, x), 0.1), params)
    assert slow > 10


# ---------------------------------------------------------------- traced leaves (VI)


@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus"])
def test_sampled_weights_mean_plus_std_times_eps(activation):
    rng = np.random.default_rng(2)
    mean = make([2, 4, 2], rng)
    log_std = [{k: -1.0 + 0.1 * rng.normal(size=v.shape) for k, v in lay.items()} for lay in mean]
    eps = [{k: rng.normal(size=v.shape) for k, v in lay.items()} for lay in mean]
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    objective = make_objective(x, y, sigma=0.5, activation=activation)

    def sample(m, s):
        return [
            {k: m[i][k] + anp.exp(s[i][k]) * eps[i][k] for k in ("w", "b")} for i in range(len(m))
        ]

    def loss(m, s, forward):
        return forward(sample(m, s))

    def by_hand(p):
        return gaussian_nll(y, predict(p, x, activation=activation), 0.5)

    def slow(p):
        return gaussian_nll(y, reference(p, x, activation), 0.5)

    want = autograd.grad(loss, (0, 1))(mean, log_std, slow)
    for forward in (objective, by_hand):
        assert_trees_close(autograd.grad(loss, (0, 1))(mean, log_std, forward), want)
        assert count_nodes(lambda m, f=forward: loss(m, log_std, f), mean) < 30
    seed_check_grads(0)
    check_grads(lambda m, s: loss(m, s, objective), (0, 1), ["rev"], order=2)(mean, log_std)
    check_grads(lambda m, s: loss(m, s, by_hand), (0, 1), ["rev"], order=2)(mean, log_std)


def test_mixed_traced_and_plain_leaves_and_traced_x():
    rng = np.random.default_rng(3)
    params = make([2, 3, 1], rng)
    x = rng.normal(size=(5, 2))

    def fast(w0, xx):
        return anp.sum(predict([{"w": w0, "b": params[0]["b"]}, params[1]], xx) ** 2)

    def slow(w0, xx):
        return anp.sum(reference([{"w": w0, "b": params[0]["b"]}, params[1]], xx) ** 2)

    w0 = params[0]["w"]
    assert_trees_close(autograd.grad(fast, (0, 1))(w0, x), autograd.grad(slow, (0, 1))(w0, x))
    assert_trees_close(autograd.grad(fast, 1)(w0, x), autograd.grad(slow, 1)(w0, x))
    assert_trees_close(
        autograd.grad(lambda xx: anp.sum(predict(params, xx) ** 2))(x[0].copy()),
        autograd.grad(lambda xx: anp.sum(reference(params, xx) ** 2))(x[0].copy()),
    )


# ---------------------------------------------------------------- cached activations and buffers


def test_vjp_called_twice_gives_the_same_result():
    rng = np.random.default_rng(4)
    params = make([2, 6, 1], rng)
    x, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    objective = make_objective(x, y)
    for fun in (objective, lambda p: anp.sum(predict(p, x) ** 2)):
        vjp, _ = make_vjp(fun, params)
        first = vjp(1.0)
        assert_trees_close(vjp(1.0), first, rtol=0, atol=0)


def test_two_forward_passes_before_one_backward():
    rng = np.random.default_rng(5)
    params = make([2, 6, 1], rng)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    objective = make_objective(x, y, sigma=0.3)

    def slow_objective(p):
        return gaussian_nll(y, reference(p, x), 0.3)

    def twice(fun):
        return lambda p: fun(p) + 0.5 * fun([{k: 2.0 * v for k, v in lay.items()} for lay in p])

    assert_trees_close(
        autograd.grad(twice(objective))(params), autograd.grad(twice(slow_objective))(params)
    )
    # a plain call between forward and backward must not corrupt the pending gradient
    vjp, _ = make_vjp(objective, params)
    objective(make([2, 6, 1], rng))
    assert_trees_close(vjp(1.0), autograd.grad(slow_objective)(params))


def test_objective_from_several_threads():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(400, 2)), rng.normal(size=400)
    objective = make_objective(x, y, sigma=0.5)
    starts = [make([2, 20, 1], np.random.default_rng(seed)) for seed in range(4)]
    wanted = [autograd.grad(lambda p: gaussian_nll(y, reference(p, x), 0.5))(p) for p in starts]
    errors = []

    def work(i):
        try:
            for _ in range(30):
                assert_trees_close(autograd.grad(objective)(starts[i]), wanted[i])
        except AssertionError as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_predict_leaves_no_stash_behind_and_gradients_are_fresh_arrays():
    rng = np.random.default_rng(7)
    params = make([2, 3, 1], rng)
    x = rng.normal(size=(4, 2))
    predict(params, x)
    assert getattr(_primitive._STASH, "item", None) is None
    objective = make_objective(x, rng.normal(size=4))
    first = autograd.grad(objective)(params)
    saved = [{k: v.copy() for k, v in lay.items()} for lay in first]
    first[0]["w"] += 100.0  # mutating a returned gradient must not leak into the next call
    assert_trees_close(autograd.grad(objective)(params), saved, rtol=0, atol=0)


def test_forward_mode_falls_back_to_the_reference():
    rng = np.random.default_rng(8)
    params = make([2, 3, 2], rng)
    x, y = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    objective = make_objective(x, y, sigma=0.5, prior_std=1.0)
    seed_check_grads(9)
    check_grads(lambda p, xx: predict(p, xx), (0, 1), ["fwd", "rev"], order=2)(params, x)
    check_grads(lambda p, s: gaussian_nll(y, predict(p, x), s), (0, 1), ["fwd"], order=2)(
        params, 0.7
    )
    check_grads(objective, modes=["fwd", "rev"], order=2)(params)
    check_grads(lambda p: log_prior(p, prior_std=2.0), modes=["fwd"], order=2)(params)


def test_fast_tanh_and_sigmoid_kernels_are_accurate_and_never_overflow():
    from tinynn.model._activations import KERNELS

    z = np.concatenate([np.linspace(-40, 40, 100001), [-1e300, -800.0, 800.0, 1e300, 0.0]])
    for name, exact in [("tanh", np.tanh(z)), ("sigmoid", 0.5 * (np.tanh(0.5 * z) + 1))]:
        out = np.empty_like(z)
        KERNELS[name].forward(z, out)
        np.testing.assert_allclose(out, exact, rtol=0, atol=5e-16)


def test_objective_value_and_grad_without_tracing_matches_autograd():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(20, 2))
    for activation in ("tanh", anp.sin):
        objective = make_objective(x, y, sigma=0.4, prior_std=1.5, activation=activation)
        for params in (make([2, 5, 2], rng), tuple(make([2, 2], rng))):
            value, grads = objective.value_and_grad(params)
            want_value, want_grads = autograd.value_and_grad(objective)(params)
            np.testing.assert_allclose(value, want_value, rtol=1e-14)
            assert_trees_close(grads, want_grads, rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="expects 3 input features but x has 2"):
        objective.value_and_grad([{"w": np.zeros((3, 2)), "b": np.zeros(2)}])


def test_hessian_through_flatten_matches_the_reference():
    rng = np.random.default_rng(11)
    params = make([2, 3, 1], rng)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=6)
    objective = make_objective(x, y, sigma=0.5, prior_std=2.0)
    theta, unflatten = tree.flatten(params)

    def slow(t):
        p = unflatten(t)
        return gaussian_nll(y, reference(p, x), 0.5) - log_prior(p, prior_std=2.0)

    hess = autograd.hessian(lambda t: objective(unflatten(t)))(theta)
    np.testing.assert_allclose(hess, autograd.hessian(slow)(theta), rtol=1e-12, atol=1e-12)
    user = autograd.hessian(lambda t: gaussian_nll(y, predict(unflatten(t), x), 0.5))(theta)
    slow_user = autograd.hessian(lambda t: gaussian_nll(y, reference(unflatten(t), x), 0.5))(theta)
    np.testing.assert_allclose(user, slow_user, rtol=1e-12, atol=1e-12)


def test_list_of_boxed_layer_dicts():
    rng = np.random.default_rng(12)
    params = make([2, 4, 1], rng)
    x = rng.normal(size=(5, 2))

    def fast(p):
        return anp.sum(predict([p[0], p[1]], x) ** 2)

    def slow(p):
        return anp.sum(reference([p[0], p[1]], x) ** 2)

    assert_trees_close(autograd.grad(fast)(params), autograd.grad(slow)(params))


def test_large_work_arrays_are_not_kept_between_calls(monkeypatch):
    from tinynn.losses import _fused

    x = np.random.default_rng(0).normal(size=(2000, 2))
    y = np.sin(x[:, 0])
    params = make([2, 30, 1], np.random.default_rng(1))
    loss = make_objective(x, y, sigma=0.5)
    loss.value_and_grad(params)
    assert len(loss._fused._pool) == 1  # 2 x 2000 x 30 floats, kept
    monkeypatch.setattr(_fused, "POOL_MAX_BYTES", 100_000)
    loss.value_and_grad(params)
    assert len(loss._fused._pool) == 0  # too large to keep: freed after the call
    np.testing.assert_allclose(loss.value_and_grad(params)[0], loss(params), rtol=1e-14)
