"""Optimizers and schedules: update formulas, purity, tree handling and schedules' values."""

import math
from collections import namedtuple

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from tinynn import optim

GRADS = [np.array([0.3, -1.2]), np.array([0.5, 0.1]), np.array([-0.7, 2.0]), np.array([0.0, 1.0])]


def run_updates(opt, x0):
    params = {"x": x0}
    state = opt.init(params)
    for g in GRADS:
        params, state = opt.update({"x": g}, state, params)
    return params["x"], state


def test_gradient_descent_is_the_notebook_update():
    x, state = run_updates(optim.gradient_descent(0.1), np.array([1.0, 2.0]))
    expected = np.array([1.0, 2.0])
    for g in GRADS:
        expected = expected - 0.1 * g
    np.testing.assert_array_equal(x, expected)
    assert state == optim.GradientDescentState(4)


@pytest.mark.parametrize("use_nesterov", [False, True])
def test_momentum_matches_hand_computation(use_nesterov):
    opt = optim.momentum(0.1, mass=0.9, nesterov=use_nesterov)
    x, state = run_updates(opt, np.zeros(2))
    expected, v = np.zeros(2), np.zeros(2)
    for g in GRADS:
        v = 0.9 * v + g
        expected = expected - 0.1 * ((g + 0.9 * v) if use_nesterov else v)
    np.testing.assert_allclose(x, expected, rtol=1e-14)
    np.testing.assert_allclose(state.velocity["x"], v, rtol=1e-14)


def test_nesterov_is_momentum_with_nesterov_true():
    a, _ = run_updates(optim.nesterov(0.1, mass=0.5), np.ones(2))
    b, _ = run_updates(optim.momentum(0.1, mass=0.5, nesterov=True), np.ones(2))
    np.testing.assert_array_equal(a, b)


def test_adam_matches_hand_computation():
    x, state = run_updates(optim.adam(0.01, b1=0.8, b2=0.99, eps=1e-6), np.ones(2))
    expected, m, v = np.ones(2), np.zeros(2), np.zeros(2)
    for t, g in enumerate(GRADS, start=1):
        m = 0.8 * m + 0.2 * g
        v = 0.99 * v + 0.01 * g**2
        expected = expected - 0.01 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-6)
    np.testing.assert_allclose(x, expected, rtol=1e-13)
    assert state.n_updates == 4


def test_rmsprop_matches_hand_computation():
    x, _ = run_updates(optim.rmsprop(0.01, decay=0.5, eps=1e-6), np.ones(2))
    expected, s = np.ones(2), np.zeros(2)
    for g in GRADS:
        s = 0.5 * s + 0.5 * g**2
        expected = expected - 0.01 * g / (np.sqrt(s) + 1e-6)
    np.testing.assert_allclose(x, expected, rtol=1e-13)


def test_schedule_is_evaluated_at_the_update_count():
    steps = []

    def schedule(count):
        steps.append(count)
        return 0.1 / (1 + count)

    x, _ = run_updates(optim.gradient_descent(schedule), np.zeros(2))
    assert steps == [0, 1, 2, 3]
    expected = np.zeros(2)
    for count, g in enumerate(GRADS):
        expected = expected - 0.1 / (1 + count) * g
    np.testing.assert_array_equal(x, expected)


def test_clip_by_global_norm_scales_only_long_gradients():
    opt = optim.clip_by_global_norm(optim.gradient_descent(1.0), max_norm=1.0)
    params = [{"w": np.zeros(2)}, {"w": np.zeros(1)}]
    state = opt.init(params)
    short, _ = opt.update([{"w": np.array([0.6, 0.0])}, {"w": np.array([0.8])}], state, params)
    np.testing.assert_allclose(short[1]["w"], [-0.8])
    long, _ = opt.update([{"w": np.array([6.0, 0.0])}, {"w": np.array([8.0])}], state, params)
    np.testing.assert_allclose(long[0]["w"], [-0.6, 0.0])
    np.testing.assert_allclose(long[1]["w"], [-0.8])


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.gradient_descent(0.1),
        lambda: optim.momentum(0.1),
        lambda: optim.adam(0.1),
        lambda: optim.rmsprop(0.1),
        lambda: optim.clip_by_global_norm(optim.adam(0.1), 0.5),
    ],
    ids=["gradient_descent", "momentum", "adam", "rmsprop", "clipped_adam"],
)
def test_updates_are_pure_and_keep_tree_structure(make):
    opt = make()
    Pair = namedtuple("Pair", ["first", "second"])
    params = {"net": [{"w": np.ones((2, 3)), "b": np.zeros(3)}], "extra": Pair(1.0, np.ones(1))}
    grads = {"extra": Pair(0.5, np.ones(1)), "net": [{"b": np.ones(3), "w": np.ones((2, 3))}]}
    state = opt.init(params)
    new, new_state = opt.update(grads, state, params)
    assert list(new) == ["net", "extra"] and list(new["net"][0]) == ["w", "b"]
    assert isinstance(new["extra"], Pair)
    assert new["net"][0]["w"].shape == (2, 3)
    np.testing.assert_array_equal(params["net"][0]["w"], np.ones((2, 3)))  # inputs untouched
    np.testing.assert_array_equal(grads["net"][0]["b"], np.ones(3))
    again, _ = opt.update(grads, state, params)
    np.testing.assert_array_equal(again["net"][0]["w"], new["net"][0]["w"])
    assert type(new_state) is type(state)


def test_mismatched_gradient_structure_raises_with_the_path():
    opt = optim.gradient_descent(0.1)
    params = [{"w": np.ones(2), "b": np.ones(1)}]
    with pytest.raises(ValueError, match=r"tree structures differ at tree\[0\]"):
        opt.update([{"w": np.ones(2)}], opt.init(params), params)
    with pytest.raises(ValueError, match=r"leaf shapes differ at tree\[0\]\['w'\]"):
        opt.update([{"w": np.ones((2, 1)), "b": np.ones(1)}], opt.init(params), params)
    with pytest.raises(ValueError, match="tree structures differ"):
        opt.update([{"w": np.ones(2), "b": np.ones(1)}, {}], opt.init(params), params)


def test_updates_can_be_differentiated_through():
    opt = optim.gradient_descent(0.1)

    def after_one_step(p):
        new, _ = opt.update({"w": 2 * p["w"]}, opt.init(p), p)
        return anp.sum(new["w"] ** 2)

    grad = autograd.grad(after_one_step)({"w": np.array([1.0, -2.0])})
    np.testing.assert_allclose(grad["w"], 2 * 0.64 * np.array([1.0, -2.0]))


# -- schedules -------------------------------------------------------------------------------


def test_constant_schedule():
    schedule = optim.constant(0.5)
    assert [schedule(c) for c in (0, 10, 10**6)] == [0.5, 0.5, 0.5]
    assert repr(schedule) == "Constant(value=0.5)"


def test_exponential_decay_schedule():
    schedule = optim.exponential_decay(1.0, 0.5, 10)
    assert schedule(0) == 1.0 and schedule(10) == 0.5 and schedule(30) == 0.125
    assert schedule(5) == pytest.approx(math.sqrt(0.5))
    assert repr(schedule) == "ExponentialDecay(init_value=1.0, decay_rate=0.5, decay_steps=10)"


def test_cosine_decay_schedule():
    schedule = optim.cosine_decay(1.0, 100, final_value=0.2)
    assert schedule(0) == 1.0
    assert schedule(50) == pytest.approx(0.6)
    assert schedule(100) == pytest.approx(0.2) and schedule(1000) == pytest.approx(0.2)
    values = [schedule(c) for c in range(101)]
    assert np.all(np.diff(values) <= 0)
    assert optim.cosine_decay(1.0, 10)(10) == pytest.approx(0.0)


def test_step_decay_schedule():
    schedule = optim.step_decay(0.8, 0.5, 3)
    assert [schedule(c) for c in range(8)] == [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2]
    assert "every=3" in repr(schedule)


def test_each_public_optimizer_and_schedule_has_a_runnable_example():
    names = [
        "gradient_descent", "momentum", "nesterov", "adam", "rmsprop", "clip_by_global_norm",
        "lbfgs", "constant", "exponential_decay", "cosine_decay", "step_decay", "minimize",
    ]  # fmt: skip
    for name in names:
        doc = getattr(optim, name).__doc__
        assert "Examples\n    --------\n    >>> " in doc, name
        assert "Parameters\n    ----------" in doc and "Returns\n    -------" in doc, name
