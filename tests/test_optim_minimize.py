"""minimize: evaluations, reproducibility, resuming, faults, stopping, history and progress."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from conftest import quad_value_and_grad
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynn import optim
from tinynn.optim import (
    DivergenceError,
    DivergenceWarning,
    TrainState,
    gradient_descent,
    minimize,
)

X_ND = np.random.default_rng(0).normal(size=(20, 3))
Y_N = X_ND @ np.array([1.0, -2.0, 0.5]) + 0.3


def make_init(rng=0):
    gen = np.random.default_rng(rng)
    return [
        {"w": gen.normal(size=(3, 4)), "b": np.zeros(4)},
        {"w": gen.normal(size=(4, 1)), "b": np.zeros(1)},
    ]


def net_loss(params):
    h = anp.tanh(anp.dot(X_ND, params[0]["w"]) + params[0]["b"])
    yhat_N = (anp.dot(h, params[1]["w"]) + params[1]["b"])[:, 0]
    return anp.sum((Y_N - yhat_N) ** 2)


def sum_of_squares(x):
    return anp.sum(x**2)


def assert_trees_equal(a, b):
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_trees_equal(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            assert_trees_equal(u, v)
    else:
        np.testing.assert_array_equal(a, b)


OPTIMIZERS = {
    "gradient_descent": lambda: optim.gradient_descent(0.01),
    "momentum": lambda: optim.momentum(0.01, mass=0.8),
    "nesterov": lambda: optim.nesterov(0.01),
    "adam": lambda: optim.adam(optim.cosine_decay(0.05, 60)),
    "rmsprop": lambda: optim.rmsprop(optim.step_decay(0.01, 0.5, 10)),
    "clipped_adam": lambda: optim.clip_by_global_norm(optim.adam(0.05), 1.0),
}


# -- one evaluation per iteration -----------------------------------------------------------


def test_one_loss_evaluation_per_iteration_with_autograd():
    calls = []

    def loss(params):
        calls.append(1)
        return net_loss(params)

    result = minimize(loss, make_init(), optimizer=optim.adam(0.01), n_iters=25)
    assert len(calls) == 25 == result.n_evals == result.n_iters == len(result.history)


def test_one_value_and_grad_call_per_iteration_and_loss_fn_unused():
    calls = []

    def value_and_grad(x):
        calls.append(x.copy())
        return quad_value_and_grad(x)

    result = minimize(
        None,
        np.array([1.0]),
        optimizer=gradient_descent(0.25),
        n_iters=4,
        value_and_grad=value_and_grad,
    )
    assert [c.tolist() for c in calls] == [[1.0], [0.5], [0.25], [0.125]]
    assert result.history.losses.tolist() == [1.0, 0.25, 0.0625, 0.015625]
    assert result.history.grad_norms.tolist() == [2.0, 1.0, 0.5, 0.25]
    assert result.history.iters.tolist() == [0, 1, 2, 3]
    assert np.all(np.diff(result.history.elapsed) >= 0)
    assert result.params.tolist() == [0.125]


# -- reproducibility and resuming ----------------------------------------------------------


def test_same_seed_gives_bit_identical_result():
    a = minimize(net_loss, make_init(7), optimizer=optim.adam(0.01), n_iters=50)
    b = minimize(net_loss, make_init(7), optimizer=optim.adam(0.01), n_iters=50)
    np.testing.assert_array_equal(a.history.losses, b.history.losses)
    assert_trees_equal(a.params, b.params)
    c = minimize(net_loss, make_init(8), optimizer=optim.adam(0.01), n_iters=50)
    assert not np.array_equal(a.history.losses, c.history.losses)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_resumed_run_equals_one_long_run(name):
    long = minimize(net_loss, make_init(), optimizer=OPTIMIZERS[name](), n_iters=60)
    opt = OPTIMIZERS[name]()
    first = minimize(net_loss, make_init(), optimizer=opt, n_iters=25)
    second = minimize(net_loss, first.params, optimizer=opt, n_iters=35, state=first.state)
    joined = np.concatenate([first.history.losses, second.history.losses])
    np.testing.assert_array_equal(joined, long.history.losses)
    assert second.history.iters.tolist() == list(range(25, 60))
    assert_trees_equal(second.params, long.params)
    assert_trees_equal(second.state.opt_state, long.state.opt_state)
    assert second.state.iteration == long.state.iteration == 60


def test_resume_from_other_params_drops_the_pending_gradient():
    first = minimize(
        None,
        np.array([1.0]),
        optimizer=gradient_descent(0.25),
        n_iters=3,
        value_and_grad=quad_value_and_grad,
    )
    second = minimize(
        None,
        np.array([4.0]),
        optimizer=gradient_descent(0.25),
        n_iters=2,
        value_and_grad=quad_value_and_grad,
        state=first.state,
    )
    assert second.history.losses.tolist() == [16.0, 4.0]
    assert second.history.iters.tolist() == [3, 4]
    assert second.state.opt_state.n_updates == first.state.opt_state.n_updates + 1 == 3


def test_bare_optimizer_state_is_accepted():
    opt = optim.momentum(0.1)
    x0 = np.array([1.0, -1.0])
    result = minimize(
        None, x0, optimizer=opt, n_iters=3, value_and_grad=quad_value_and_grad, state=opt.init(x0)
    )
    assert result.state.opt_state.n_updates == 2


def test_state_of_another_optimizer_is_rejected():
    x0 = np.array([1.0])
    first = minimize(
        None, x0, optimizer=optim.adam(), n_iters=2, value_and_grad=quad_value_and_grad
    )
    with pytest.raises(TypeError, match=r"state does not belong to this optimizer.*AdamState"):
        minimize(
            None,
            first.params,
            optimizer=gradient_descent(),
            n_iters=2,
            value_and_grad=quad_value_and_grad,
            state=first.state,
        )


# -- faults ----------------------------------------------------------------------------------


def failing_at(call_number, exc=None, value=None):
    """A value_and_grad that raises ``exc`` or returns ``value`` on call ``call_number``."""
    count = {"n": 0}

    def value_and_grad(x):
        count["n"] += 1
        if count["n"] == call_number:
            if exc is not None:
                raise exc
            return value(x)
        return quad_value_and_grad(x)

    return value_and_grad


@pytest.mark.parametrize("k", [3, 7])
def test_keyboard_interrupt_returns_the_work_so_far_and_can_resume(k):
    x0 = np.array([1.0, 2.0])
    opt = optim.adam(0.1)
    result = minimize(
        None, x0, optimizer=opt, n_iters=10, value_and_grad=failing_at(k + 1, exc=KeyboardInterrupt)
    )
    reference = minimize(None, x0, optimizer=opt, n_iters=k, value_and_grad=quad_value_and_grad)
    assert result.reason == "interrupted"
    assert not result.success
    assert "KeyboardInterrupt" in result.message and f"iteration {k - 1}" in result.message
    assert result.n_iters == len(result.history) == k
    np.testing.assert_array_equal(result.params, reference.params)
    np.testing.assert_array_equal(result.history.losses, reference.history.losses)
    # the returned state continues as if nothing had happened
    rest = minimize(
        None,
        result.params,
        optimizer=opt,
        n_iters=10 - k,
        value_and_grad=quad_value_and_grad,
        state=result.state,
    )
    full = minimize(None, x0, optimizer=opt, n_iters=10, value_and_grad=quad_value_and_grad)
    np.testing.assert_array_equal(rest.params, full.params)


def test_keyboard_interrupt_in_the_loss_with_autograd():
    calls = {"n": 0}

    def loss(params):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return net_loss(params)

    result = minimize(
        loss, make_init(), optimizer=optim.adam(0.01), n_iters=10, record_params_every=1
    )
    assert result.reason == "interrupted"
    assert len(result.history) == 4
    assert sorted(result.history.params) == [0, 1, 2, 3]
    assert_trees_equal(result.params, result.history.params[3])


def test_keyboard_interrupt_in_a_callback_drops_nothing_committed():
    def callback(info):
        if info.iteration == 2:
            raise KeyboardInterrupt

    result = minimize(
        None,
        np.array([1.0]),
        optimizer=gradient_descent(0.25),
        n_iters=5,
        value_and_grad=quad_value_and_grad,
        callback=callback,
    )
    assert result.reason == "interrupted"
    assert result.history.iters.tolist() == [0, 1, 2]
    assert result.params.tolist() == [0.25]


def test_keyboard_interrupt_at_the_first_evaluation_returns_the_initial_params():
    x0 = np.array([3, 4])
    result = minimize(
        None,
        x0,
        optimizer=gradient_descent(0.1),
        n_iters=5,
        value_and_grad=failing_at(1, exc=KeyboardInterrupt),
    )
    assert result.reason == "interrupted"
    assert len(result.history) == 0
    assert result.params.tolist() == [3.0, 4.0] and result.params.dtype == np.float64
    assert result.best_loss == np.inf
    assert "initial parameters" in result.message


@pytest.mark.parametrize("k", [1, 4])
def test_nan_loss_at_a_chosen_iteration_stops_with_the_last_finite_params(k):
    x0 = np.array([1.0, 2.0])
    vg = failing_at(k + 1, value=lambda x: (np.nan, 2.0 * x))
    with pytest.warns(DivergenceWarning, match=rf"iteration {k}: the loss is nan") as record:
        result = minimize(None, x0, optimizer=gradient_descent(0.1), n_iters=10, value_and_grad=vg)
    assert record[0].filename == __file__  # stacklevel points at the caller
    message = str(record[0].message)
    assert "smaller step_size" in message and "standardize the data" in message
    reference = minimize(
        None, x0, optimizer=gradient_descent(0.1), n_iters=k, value_and_grad=quad_value_and_grad
    )
    assert result.reason == "diverged" and not result.success
    assert len(result.history) == result.n_iters == k
    assert result.n_evals == k + 1
    np.testing.assert_array_equal(result.params, reference.params)
    np.testing.assert_array_equal(result.history.losses, reference.history.losses)
    assert result.state.iteration == k


def test_nan_gradient_is_divergence_too():
    vg = failing_at(3, value=lambda x: (1.0, np.full_like(x, np.inf)))
    with pytest.warns(DivergenceWarning, match="iteration 2: the gradient norm is inf"):
        result = minimize(
            None, np.ones(2), optimizer=gradient_descent(0.1), n_iters=5, value_and_grad=vg
        )
    assert result.reason == "diverged" and len(result.history) == 2


def test_nonfinite_at_iteration_zero_returns_initial_params():
    with pytest.warns(DivergenceWarning, match=r"iteration 0.*initial parameters"):
        result = minimize(
            lambda x: anp.sum(anp.log(x)),
            np.array([-1.0]),
            optimizer=gradient_descent(0.1),
            n_iters=5,
        )
    assert result.params.tolist() == [-1.0]
    assert len(result.history) == 0 and result.best_loss == np.inf


def test_real_divergence_with_a_huge_step():
    with pytest.warns(DivergenceWarning, match="diverged at iteration"):
        result = minimize(net_loss, make_init(), optimizer=gradient_descent(10.0), n_iters=500)
    assert result.reason == "diverged"
    assert np.all(np.isfinite(result.history.losses))
    assert all(np.all(np.isfinite(leaf)) for layer in result.params for leaf in layer.values())


def test_on_nonfinite_raise_raises_with_the_result_attached():
    vg = failing_at(3, value=lambda x: (np.inf, 2 * x))
    with pytest.raises(DivergenceError, match="diverged at iteration 2: the loss is inf") as info:
        minimize(
            None,
            np.ones(2),
            optimizer=gradient_descent(0.1),
            n_iters=5,
            value_and_grad=vg,
            on_nonfinite="raise",
        )
    assert isinstance(info.value, FloatingPointError)
    assert info.value.result.reason == "diverged"
    assert len(info.value.result.history) == 2


def test_integer_initial_params_are_cast_to_float_and_never_modified():
    init = {"w": np.array([3, -4]), "b": 2}
    result = minimize(
        lambda p: anp.sum(p["w"] ** 2) + p["b"] ** 2,
        init,
        optimizer=gradient_descent(0.1),
        n_iters=3,
    )
    assert result.params["w"].dtype == np.float64
    np.testing.assert_allclose(result.params["w"], [3 * 0.64, -4 * 0.64])
    assert init["w"].tolist() == [3, -4] and init["b"] == 2


def test_best_params_track_the_lowest_loss():
    def ascent(x):  # the "gradient" points uphill, so the loss grows every step
        return float(np.sum(x * x)), -2.0 * x

    result = minimize(
        None, np.array([1.0]), optimizer=gradient_descent(0.5), n_iters=4, value_and_grad=ascent
    )
    assert result.history.losses.tolist() == [1.0, 4.0, 16.0, 64.0]
    assert result.best_loss == 1.0 and result.best_params.tolist() == [1.0]
    assert result.params.tolist() == [8.0]


def test_result_repr_and_state_type():
    result = minimize(
        None,
        np.array([1.0]),
        optimizer=gradient_descent(0.25),
        n_iters=2,
        value_and_grad=quad_value_and_grad,
    )
    assert repr(result).startswith("OptimizeResult(reason='completed', n_iters=2")
    assert isinstance(result.state, TrainState)
    assert "History(2 iterations 0..1" in repr(result.history)
    assert repr(optim.History()) == "History(empty)"


def test_resume_after_divergence_at_the_first_point_evaluates_afresh():
    with pytest.warns(DivergenceWarning):
        first = minimize(
            None,
            np.array([1.0]),
            optimizer=gradient_descent(0.25),
            n_iters=3,
            value_and_grad=failing_at(1, value=lambda x: (np.nan, x)),
        )
    assert first.state.grads is None and first.state.iteration == 0
    second = minimize(
        None,
        first.params,
        optimizer=gradient_descent(0.25),
        n_iters=2,
        value_and_grad=quad_value_and_grad,
        state=first.state,
    )
    assert second.history.losses.tolist() == [1.0, 0.25]


def test_traced_initial_params_are_rejected():
    def outer(x):
        return minimize(sum_of_squares, x, optimizer="adam", n_iters=2).best_loss

    with pytest.raises(TypeError, match=r"init_params must be a concrete array, got a traced"):
        autograd.grad(outer)(np.ones(2))


@settings(max_examples=25, deadline=None)
@given(n_iters=st.integers(2, 30), data=st.data())
def test_splitting_a_run_anywhere_changes_nothing(n_iters, data):
    split = data.draw(st.integers(1, n_iters - 1))
    opt = optim.adam(optim.exponential_decay(0.3, 0.5, 7))
    x0 = np.array([1.5, -0.5])
    kwargs = {"optimizer": opt, "value_and_grad": quad_value_and_grad}
    long = minimize(None, x0, n_iters=n_iters, **kwargs)
    first = minimize(None, x0, n_iters=split, **kwargs)
    second = minimize(None, first.params, n_iters=n_iters - split, state=first.state, **kwargs)
    np.testing.assert_array_equal(second.params, long.params)
    joined = np.concatenate([first.history.losses, second.history.losses])
    np.testing.assert_array_equal(joined, long.history.losses)


def test_dropping_the_pending_gradient_evaluates_first():
    first = minimize(
        None,
        np.array([1.0]),
        optimizer=gradient_descent(0.25),
        n_iters=2,
        value_and_grad=quad_value_and_grad,
    )
    second = minimize(
        None,
        first.params,
        optimizer=gradient_descent(0.25),
        n_iters=2,
        value_and_grad=quad_value_and_grad,
        state=first.state._replace(grads=None),
    )
    assert second.history.losses.tolist() == [0.25, 0.0625]
    assert second.history.iters.tolist() == [2, 3]


def test_a_loss_with_its_own_value_and_grad_method_is_used():
    class Objective:
        calls = 0

        def __call__(self, x):
            raise AssertionError("minimize should call value_and_grad, not the loss")

        def value_and_grad(self, x):
            Objective.calls += 1
            return quad_value_and_grad(x)

    result = minimize(Objective(), np.array([1.0]), optimizer=gradient_descent(0.25), n_iters=3)
    assert Objective.calls == 3 and result.history.losses.tolist() == [1.0, 0.25, 0.0625]
