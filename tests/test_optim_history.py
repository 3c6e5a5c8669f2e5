"""minimize: the history recorder, progress lines and every way to stop early."""

import io
import re

import numpy as np
import pytest
from conftest import quad_value_and_grad

from tinynn import optim
from tinynn.optim import CallbackInfo, DivergenceWarning, gradient_descent, minimize


def run_quad(n_iters, **kwargs):
    """GD with step 0.25 on x**2 from x = 1: x_k = 0.5**k, loss 0.25**k, grad norm 2 * 0.5**k."""
    return minimize(
        None,
        np.array([1.0]),
        optimizer=gradient_descent(0.25),
        n_iters=n_iters,
        value_and_grad=quad_value_and_grad,
        **kwargs,
    )


# -- history -------------------------------------------------------------------------------------


def test_sparse_recording_keeps_100_copies_of_100000_iterations():
    result = minimize(
        None,
        {"w": np.array([1.0])},
        optimizer=gradient_descent(1e-6),
        n_iters=100_000,
        value_and_grad=lambda p: (float(p["w"][0] ** 2), {"w": 2.0 * p["w"]}),
        record_params_every=1000,
        record_grads_every=1000,
    )
    history = result.history
    assert len(history) == 100_000
    assert len(history.params) == 100 and len(history.grads) == 100
    assert sorted(history.params) == list(range(0, 100_000, 1000))
    np.testing.assert_allclose(history.params[1000]["w"], (1 - 2e-6) ** 1000)
    np.testing.assert_allclose(history.grads[99_000]["w"], 2 * (1 - 2e-6) ** 99_000)
    as_dict = history.as_dict()
    assert len(as_dict["x"]) == len(as_dict["g"]) == 100 and len(as_dict["f"]) == 100_000


def test_recording_off_keeps_no_copies():
    history = run_quad(5).history
    assert history.params == {} and history.grads == {} and history.metrics == {}
    assert history.as_dict()["x"] == [] and history.metric_iters.tolist() == []


def test_records_are_independent_copies():
    x0 = np.array([1.0, 2.0])
    result = minimize(
        None,
        x0,
        optimizer=gradient_descent(0.25),
        n_iters=3,
        value_and_grad=quad_value_and_grad,
        record_params_every=1,
    )
    assert result.history.params[0] is not x0
    result.params[:] = 99.0
    x0[:] = -1.0
    assert result.history.params[2].tolist() == [0.25, 0.5]
    assert result.history.params[0].tolist() == [1.0, 2.0]


def test_metrics_are_recorded_every_k_iterations():
    result = run_quad(7, metrics={"x": lambda x: float(x[0])}, metrics_every=3)
    assert result.history.metric_iters.tolist() == [0, 3, 6]
    assert result.history.metrics["x"].tolist() == [1.0, 0.125, 0.015625]


# -- progress ------------------------------------------------------------------------------------


def test_progress_is_off_by_default(capsys):
    run_quad(60)
    assert capsys.readouterr().out == ""


def test_progress_goes_to_stdout_with_a_configurable_stride(capsys):
    run_quad(6, progress=True, progress_every=2)
    lines = capsys.readouterr().out.splitlines()
    numbers = [int(re.match(r"completed iter +(\d+)/6 after", line).group(1)) for line in lines]
    assert numbers == [1, 2, 3, 4, 6]
    assert lines[3].endswith("| loss 1.562500e-02")  # iteration 4 is x = 0.5**3


def test_progress_of_a_resumed_run_counts_on():
    first = run_quad(3)
    stream = io.StringIO()
    minimize(
        None,
        first.params,
        optimizer=gradient_descent(0.25),
        n_iters=3,
        value_and_grad=quad_value_and_grad,
        state=first.state,
        progress=True,
        stream=stream,
    )
    assert [line[:25] for line in stream.getvalue().splitlines()] == [
        "completed iter     4/6 af",
        "completed iter     5/6 af",
        "completed iter     6/6 af",
    ]


# -- stopping ------------------------------------------------------------------------------------


def test_gtol_stops_when_the_gradient_is_small():
    result = run_quad(50, gtol=0.3)
    assert result.reason == "converged" and result.success
    assert result.history.grad_norms.tolist() == [2.0, 1.0, 0.5, 0.25]
    assert "gradient norm 2.500e-01 <= gtol=0.3" in result.message


def test_tol_stops_on_small_relative_loss_change():
    # loss 1 + 0.64**k: the relative change shrinks geometrically
    result = minimize(
        None,
        np.array([1.0]),
        optimizer=gradient_descent(0.1),
        n_iters=1000,
        value_and_grad=lambda x: (float(1.0 + x[0] ** 2), 2.0 * x),
        tol=1e-3,
    )
    f = result.history.losses
    changes = np.abs(np.diff(f)) / np.maximum(np.abs(f[:-1]), np.abs(f[1:]))
    assert result.reason == "converged"
    assert changes[-1] <= 1e-3 < changes[-2]
    assert "relative loss change" in result.message


def test_tol_is_met_when_the_loss_stops_changing():
    result = minimize(
        None,
        np.array([0.0]),
        optimizer=gradient_descent(0.1),
        n_iters=10,
        value_and_grad=lambda x: (0.0, np.zeros(1)),
        tol=1e-12,
    )
    assert result.reason == "converged" and result.n_iters == 2


def validation_fn(x):
    """Best at x = 0.125 (iteration 3 of run_quad); worse after that."""
    return float((x[0] - 0.1) ** 2)


def test_early_stopping_restores_the_best_validation_params():
    result = run_quad(50, validation_fn=validation_fn, patience=2)
    assert result.reason == "early_stopping" and result.success
    assert result.n_iters == 6
    assert result.params.tolist() == [0.125]
    assert result.best_params.tolist() == [0.5**5]  # lowest training loss: the last point
    assert result.history.metrics["val_loss"].argmin() == 3
    assert "restored the parameters of iteration 3" in result.message
    assert "did not improve for 2 checks" in result.message


@pytest.mark.parametrize("patience", [None, 40])
def test_best_validation_params_are_restored_even_without_stopping_early(patience):
    result = run_quad(8, validation_fn=validation_fn, patience=patience)
    assert result.reason == "completed"
    assert result.params.tolist() == [0.125]
    assert result.state.params.tolist() == [0.5**7]  # the state stays at the last point


def test_best_validation_params_are_restored_after_divergence():
    count = {"n": 0}

    def vg(x):
        count["n"] += 1
        return (np.nan, 2 * x) if count["n"] == 7 else quad_value_and_grad(x)

    with pytest.warns(DivergenceWarning):
        result = minimize(
            None,
            np.array([1.0]),
            optimizer=gradient_descent(0.25),
            n_iters=20,
            value_and_grad=vg,
            validation_fn=validation_fn,
        )
    assert result.reason == "diverged" and result.params.tolist() == [0.125]


def test_validation_every_k_iterations_counts_patience_in_checks():
    result = run_quad(50, validation_fn=validation_fn, patience=1, metrics_every=2)
    # checks at x = 1, 0.25, 0.0625 (best), 0.015625 (worse: stop)
    assert result.history.metric_iters.tolist() == [0, 2, 4, 6]
    assert result.reason == "early_stopping" and result.n_iters == 7
    assert result.params.tolist() == [0.0625]


def test_callback_sees_every_iteration_and_can_stop():
    seen = []

    def callback(info):
        seen.append(info)
        return info.iteration == 3

    result = run_quad(10, callback=callback)
    assert result.reason == "callback" and result.success
    assert result.n_iters == 4 and "iteration 3" in result.message
    assert all(isinstance(info, CallbackInfo) for info in seen)
    assert [info.iteration for info in seen] == [0, 1, 2, 3]
    assert [info.loss for info in seen] == result.history.losses.tolist()
    assert [info.grad_norm for info in seen] == result.history.grad_norms.tolist()
    assert seen[2].params.tolist() == [0.25] and seen[2].grads.tolist() == [0.5]


def test_callback_returning_none_never_stops():
    result = run_quad(5, callback=lambda info: None)
    assert result.reason == "completed" and result.n_iters == 5
    assert result.message == "completed 5 iterations"


def test_optimizer_states_are_exposed_with_their_counts():
    result = minimize(
        None,
        np.array([1.0]),
        optimizer=optim.adam(0.1),
        n_iters=4,
        value_and_grad=quad_value_and_grad,
    )
    assert isinstance(result.state.opt_state, optim.AdamState)
    assert result.state.opt_state.n_updates == 3
    assert result.state.grads.tolist() == [2 * result.params[0]]


def test_concat_joins_a_run_and_its_resumption():
    long = run_quad(6, record_params_every=2)
    first = run_quad(3, record_params_every=2, metrics={"x": lambda x: float(x[0])})
    rest = minimize(
        None,
        first.params,
        optimizer=gradient_descent(0.25),
        n_iters=3,
        value_and_grad=quad_value_and_grad,
        state=first.state,
        record_params_every=2,
    )
    joined = optim.History.concat([first.history, rest.history])
    assert joined.iters.tolist() == long.history.iters.tolist() == list(range(6))
    np.testing.assert_array_equal(joined.losses, long.history.losses)
    assert sorted(joined.params) == [0, 2, 4]
    assert np.all(np.diff(joined.elapsed) >= 0)
    assert joined.metric_iters.tolist() == [0, 1, 2]
    assert joined.metrics["x"].tolist() == [1.0, 0.5, 0.25]
    assert len(first.history) == 3  # inputs unchanged


def test_concat_fills_missing_metrics_with_nan():
    a = run_quad(2, metrics={"m": lambda x: 1.0})
    b = minimize(
        None,
        a.params,
        optimizer=gradient_descent(0.25),
        n_iters=2,
        value_and_grad=quad_value_and_grad,
        state=a.state,
        metrics={"k": lambda x: 2.0},
    )
    joined = optim.History.concat([a.history, b.history])
    np.testing.assert_array_equal(joined.metrics["m"], [1.0, 1.0, np.nan, np.nan])
    np.testing.assert_array_equal(joined.metrics["k"], [np.nan, np.nan, 2.0, 2.0])


def test_concat_errors():
    history = run_quad(3).history
    with pytest.raises(ValueError, match=r"histories must continue each other, but iteration 0"):
        optim.History.concat([history, history])
    with pytest.raises(TypeError, match=r"histories must hold History objects, got a dict"):
        optim.History.concat([history, {"iter": []}])
