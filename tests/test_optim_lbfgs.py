"""L-BFGS through scipy: same result object and history, faults, and the missing-scipy error."""

import io
import sys

import autograd.numpy as anp
import numpy as np
import pytest
from conftest import rosenbrock

from tinynn import optim
from tinynn.optim import DivergenceWarning, lbfgs, minimize

pytest.importorskip("scipy")


def counting(fn, fail_at=None, exc=None, value=None):
    """Wrap a value_and_grad: count calls; on call ``fail_at`` raise ``exc`` or return ``value``."""
    calls = {"n": 0}

    def wrapped(x):
        calls["n"] += 1
        if calls["n"] == fail_at:
            if exc is not None:
                raise exc
            return value
        return fn(x)

    wrapped.calls = calls
    return wrapped


def rosen_vg(x):
    a, b = x["a"], x["b"]
    value = float((1 - a) ** 2 + 100 * (b - a**2) ** 2)
    grad = {"a": -2 * (1 - a) - 400 * a * (b - a**2), "b": 200 * (b - a**2)}
    return value, grad


INIT = {"a": np.array(-1.2), "b": np.array(1.0)}


def test_history_has_one_record_per_iteration_from_cached_evaluations():
    vg = counting(rosen_vg)
    result = minimize(
        None, INIT, optimizer=lbfgs(), n_iters=200, value_and_grad=vg, record_params_every=1
    )
    history = result.history
    assert result.n_evals == vg.calls["n"]  # every evaluation came from scipy, none repeated
    assert history.iters.tolist() == list(range(result.n_iters))
    assert np.all(np.diff(history.losses) <= 0)  # accepted points only
    assert history.losses[0] == pytest.approx(24.2)
    assert history.losses[-1] == rosen_vg(result.params)[0]
    assert sorted(history.params) == list(range(result.n_iters))
    assert list(history.params[0]) == ["a", "b"] and history.params[0]["a"].shape == ()
    assert result.state is None
    assert result.best_loss == history.losses.min()


def test_n_iters_bounds_the_iterations():
    result = minimize(rosenbrock, np.array([-1.2, 1.0]), optimizer=lbfgs(), n_iters=5)
    assert result.reason == "completed" and result.n_iters == len(result.history) == 5


def test_single_iteration_evaluates_the_start_only():
    result = minimize(rosenbrock, np.array([-1.2, 1.0]), optimizer="lbfgs", n_iters=1)
    assert result.reason == "completed" and result.n_evals == 1
    assert result.params.tolist() == [-1.2, 1.0]


def test_evaluation_budget_stops_as_completed_with_a_message():
    result = minimize(rosenbrock, np.array([-1.2, 1.0]), optimizer=lbfgs(max_evals=6), n_iters=100)
    assert result.reason == "completed" and "max_evals=6" in result.message
    assert result.n_evals <= 7


def test_gtol_and_callback_and_progress_work_as_for_first_order():
    stream = io.StringIO()
    result = minimize(
        rosenbrock,
        np.array([-1.2, 1.0]),
        optimizer=lbfgs(),
        n_iters=500,
        gtol=1e-2,
        progress=True,
        progress_every=10,
        stream=stream,
    )
    assert result.reason == "converged" and result.history.grad_norms[-1] <= 1e-2
    assert stream.getvalue().startswith("completed iter     1/500 after ")
    stopped = minimize(
        rosenbrock,
        np.array([-1.2, 1.0]),
        optimizer=lbfgs(),
        n_iters=500,
        callback=lambda info: info.iteration == 4,
    )
    assert stopped.reason == "callback" and stopped.n_iters == 5


def test_callback_can_stop_at_the_first_point():
    result = minimize(
        rosenbrock, np.array([-1.2, 1.0]), optimizer=lbfgs(), n_iters=50, callback=lambda info: True
    )
    assert result.reason == "callback" and result.n_iters == 1 and result.n_evals == 1


def test_early_stopping_with_lbfgs_restores_best_validation_params():
    def val(x):
        return float((x[0] - 0.0) ** 2)  # the path passes near a = 0 before reaching 1

    result = minimize(
        rosenbrock,
        np.array([-1.2, 1.0]),
        optimizer=lbfgs(),
        n_iters=500,
        validation_fn=val,
        patience=3,
        record_params_every=1,
    )
    assert result.reason == "early_stopping"
    best = int(result.history.metrics["val_loss"].argmin())
    np.testing.assert_array_equal(result.params, result.history.params[best])


@pytest.mark.parametrize("fail_at", [1, 6])
def test_keyboard_interrupt_returns_last_accepted_point(fail_at):
    vg = counting(rosen_vg, fail_at=fail_at, exc=KeyboardInterrupt)
    result = minimize(
        None, INIT, optimizer=lbfgs(), n_iters=100, value_and_grad=vg, record_params_every=1
    )
    assert result.reason == "interrupted" and "KeyboardInterrupt" in result.message
    if fail_at == 1:
        assert len(result.history) == 0 and result.params["a"] == -1.2
    else:
        last = int(result.history.iters[-1])
        np.testing.assert_array_equal(result.params["a"], result.history.params[last]["a"])


def test_nan_during_lbfgs_is_divergence():
    vg = counting(rosen_vg, fail_at=5, value=(np.nan, {"a": 0.0, "b": 0.0}))
    with pytest.warns(DivergenceWarning, match="diverged during iteration .* loss is nan"):
        result = minimize(None, INIT, optimizer=lbfgs(), n_iters=100, value_and_grad=vg)
    assert result.reason == "diverged" and len(result.history) >= 1
    assert np.isfinite(result.params["a"]) and result.n_evals == 5


def test_nan_at_the_start_raises_when_asked():
    def vg(x):
        return np.inf, 2 * x

    with pytest.raises(optim.DivergenceError, match="initial parameters"):
        minimize(
            None, np.ones(2), optimizer=lbfgs(), n_iters=10, value_and_grad=vg, on_nonfinite="raise"
        )


def test_state_is_rejected_with_lbfgs():
    with pytest.raises(ValueError, match="state cannot be used with lbfgs"):
        minimize(anp.sum, np.ones(2), optimizer=lbfgs(), n_iters=3, state=object())


def test_missing_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(ImportError, match=r"pip install 'tinynn-regression\[scipy\]'"):
        lbfgs()
    with pytest.raises(ImportError, match=r"requires scipy"):
        minimize(anp.sum, np.ones(2), optimizer="lbfgs", n_iters=3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_corrections": 0}, ValueError, "max_corrections must be an int >= 1, got 0"),
        ({"max_corrections": 2.5}, TypeError, "max_corrections must be an int"),
        ({"max_line_search": 0}, ValueError, "max_line_search must be an int >= 1"),
        ({"max_evals": -1}, ValueError, "max_evals must be an int >= 1, got -1"),
    ],
)
def test_lbfgs_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        lbfgs(**kwargs)


def test_a_point_scipy_reports_without_asking_is_evaluated_once(monkeypatch):
    from tinynn.optim import _lbfgs

    def fake_scipy_minimize(fun, x0, jac, method, callback, options):
        assert jac is True and method == "L-BFGS-B" and options["maxiter"] == 9
        fun(x0)
        callback(x0 + 1.0)  # never evaluated through fun
        return type("Result", (), {"nfev": 1, "message": "fake stop"})()

    monkeypatch.setattr(_lbfgs, "_import_scipy_minimize", lambda: fake_scipy_minimize)
    result = minimize(anp.sum, np.zeros(2), optimizer=lbfgs(), n_iters=10)
    assert result.n_evals == 2
    assert result.history.losses.tolist() == [0.0, 2.0]
    assert result.reason == "converged" and "fake stop" in result.message
