"""Tests for tinynn.plot: inspect the data, scales and labels of the returned figures (Agg)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import autograd.numpy as ag_np  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from tinynn import plot  # noqa: E402

pytestmark = pytest.mark.usefixtures("close_figures")


def test_loss_curve_from_array_history_dict_and_estimator() -> None:
    fig = plot.plot_loss_curve([4.0, 2.0, 1.0])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [4.0, 2.0, 1.0])
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, 1, 2])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("iters", "loss")

    history = SimpleNamespace(iters=[5, 6], losses=[3.0, 2.5])
    line = plot.plot_loss_curve(history, label="train").axes[0].lines[0]
    np.testing.assert_array_equal(line.get_xdata(), [5, 6])
    assert line.get_label() == "train"

    nb = {"iter": [0, 1], "f": [9.0, 8.0]}
    np.testing.assert_array_equal(plot.plot_loss_curve(nb).axes[0].lines[0].get_ydata(), [9, 8])

    est = SimpleNamespace(loss_curve_=np.array([2.0, 1.0]))
    np.testing.assert_array_equal(plot.plot_loss_curve(est).axes[0].lines[0].get_ydata(), [2, 1])


def test_loss_curve_scales_and_given_axes() -> None:
    assert plot.plot_loss_curve([1.0, -2.0]).axes[0].get_yscale() == "linear"
    assert plot.plot_loss_curve([1.0, 2.0], log=False).axes[0].get_yscale() == "linear"
    fig, ax = plt.subplots()
    assert plot.plot_loss_curve([1.0], ax=ax) is fig
    assert len(ax.lines) == 1


def test_param_traces_from_notebook_dict_and_history() -> None:
    nb = {"iter": [0, 1, 2], "x_D": [np.array([3.0, -1.0]), np.array([1.0, 0.0]), np.zeros(2)]}
    ax = plot.plot_param_traces(nb).axes[0]
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [3.0, 1.0, 0.0])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("iters", "x_d")

    trees = {
        0: [{"w": np.array([[1.0, 2.0]]), "b": np.array([3.0])}],
        10: [{"w": np.array([[4.0, 5.0]]), "b": np.array([6.0])}],
    }
    history = SimpleNamespace(params=trees)
    ax = plot.plot_param_traces(history, ylabel="w_d", max_traces=2).axes[0]
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [0, 10])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [2.0, 5.0])
    assert ax.get_ylabel() == "w_d"


def test_param_traces_errors() -> None:
    with pytest.raises(ValueError, match=r"no recorded parameters.*record_params_every"):
        plot.plot_param_traces(SimpleNamespace(params={}))
    with pytest.raises(ValueError, match="must have a 'x' or 'x_D' entry"):
        plot.plot_param_traces({"iter": [0]})
    with pytest.raises(TypeError, match="history must be a tinynn History or a dict"):
        plot.plot_param_traces([1, 2])


def test_predicted_vs_true_has_identity_line() -> None:
    ax = plot.plot_predicted_vs_true([1.0, 2.0, 3.0], [1.5, 2.0, 4.0]).axes[0]
    points, identity = ax.lines
    np.testing.assert_array_equal(points.get_xdata(), [1.5, 2.0, 4.0])
    np.testing.assert_array_equal(points.get_ydata(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(identity.get_xdata(), [1.0, 4.0])
    np.testing.assert_array_equal(identity.get_ydata(), [1.0, 4.0])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted y|x", "true y")
    with pytest.raises(ValueError, match=r"y_pred must have the shape of y_true \(3,\)"):
        plot.plot_predicted_vs_true([1.0, 2.0, 3.0], [1.0, 2.0])


def test_feature_panels_match_the_notebook() -> None:
    x_ND = np.array([[0.0, 5.0], [1.0, 6.0], [2.0, 7.0]])
    y_N = np.array([1.0, 2.0, 3.0])
    fig = plot.plot_feature_panels(x_ND, y_N, y_N + 0.5)
    assert [ax.get_xlabel() for ax in fig.axes] == ["x_0", "x_1"]
    data, pred = fig.axes[1].lines
    np.testing.assert_array_equal(data.get_xdata(), [5.0, 6.0, 7.0])
    np.testing.assert_array_equal(pred.get_ydata(), [1.5, 2.5, 3.5])
    assert data.get_color() == "k" and pred.get_color() == "C1"
    assert pred.get_markerfacecolor() == "none" and data.get_zorder() > pred.get_zorder()
    assert fig.axes[0].get_legend() is not None

    fig = plot.plot_feature_panels(x_ND[:, 0], y_N, feature_names=["age"])
    assert fig.axes[0].get_xlabel() == "age"
    assert len(fig.axes[0].lines) == 1


def test_param_traces_name_each_trace_in_a_legend() -> None:
    history = {"x": [np.array([0.0, 1.0]), np.array([0.5, 1.5])], "iter": [0, 1]}
    legend = plot.plot_param_traces(history).axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["x[0]", "x[1]"]
    params = [{"w": np.zeros((2, 1)), "b": np.zeros(1)}]
    legend = plot.plot_param_traces({"x": [params, params]}).axes[0].get_legend()
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == ["x[0]['w'][0, 0]", "x[0]['w'][1, 0]", "x[0]['b'][0]"]
    many = {"x": [np.zeros(20), np.ones(20)]}
    assert plot.plot_param_traces(many, max_traces=20).axes[0].get_legend() is None


def test_loss_curves_on_one_axes_have_distinct_colours_and_a_legend() -> None:
    fig = plot.plot_loss_curve([3.0, 2.0, 1.0], label="from zeros")
    plot.plot_loss_curve([2.0, 1.0, 0.5], ax=fig.axes[0], label="from the truth")
    first, second = fig.axes[0].lines
    assert first.get_color() != second.get_color()
    legend = fig.axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["from zeros", "from the truth"]
    assert plot.plot_loss_curve([2.0, 1.0]).axes[0].get_legend() is None


def test_feature_panels_errors() -> None:
    x_ND = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"y_N must have shape \(3,\) to match x_ND"):
        plot.plot_feature_panels(x_ND, np.zeros(4))
    with pytest.raises(ValueError, match=r"yhat_N must have shape \(3,\)"):
        plot.plot_feature_panels(x_ND, np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="feature_names must have 2 names, got 1"):
        plot.plot_feature_panels(x_ND, np.zeros(3), feature_names=["a"])
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="axes must hold 2 Axes, got 1"):
        plot.plot_feature_panels(x_ND, np.zeros(3), axes=[ax])


class _FakeModel:
    def predict(self, x_G1: np.ndarray, return_std: bool = False):  # type: ignore[no-untyped-def]
        mean = 2.0 * x_G1[:, 0]
        return (mean, 0.5) if return_std else mean


def test_fit_1d_draws_data_curve_and_band() -> None:
    x_N = np.array([0.0, 1.0, 2.0])
    fig = plot.plot_fit_1d(x_N, 2.0 * x_N, _FakeModel(), n_grid=3)
    ax = fig.axes[0]
    data, curve = ax.lines
    np.testing.assert_array_equal(data.get_ydata(), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(curve.get_xdata(), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(curve.get_ydata(), [0.0, 2.0, 4.0])
    assert len(ax.collections) == 1  # the +- 2 std band
    fig = plot.plot_fit_1d(x_N[:, None], x_N, lambda g: g[:, 0], n_grid=4, show_std=False)
    assert len(fig.axes[0].collections) == 0
    assert fig.axes[0].lines[1].get_xdata().shape == (4,)


def test_fit_1d_errors() -> None:
    with pytest.raises(ValueError, match="x_N must have one feature"):
        plot.plot_fit_1d(np.zeros((3, 2)), np.zeros(3), _FakeModel())
    with pytest.raises(ValueError, match=r"y_N must have shape \(3,\) to match x_N"):
        plot.plot_fit_1d(np.zeros(3), np.zeros(2), _FakeModel())
    with pytest.raises(TypeError, match="model must be a fitted Regressor or a callable"):
        plot.plot_fit_1d(np.zeros(3), np.zeros(3), 42)


def test_function_and_derivative_uses_autograd() -> None:
    fig = plot.plot_function_and_derivative(lambda x: ag_np.exp(-x / 10) * ag_np.cos(x))
    left, right = fig.axes
    x_G = left.lines[0].get_xdata()
    assert x_G.shape == (100,)
    assert (x_G[0], x_G[-1]) == (-10.0, 10.0)
    want = -0.1 * np.exp(-x_G / 10) * np.cos(x_G) - np.exp(-x_G / 10) * np.sin(x_G)
    np.testing.assert_allclose(right.lines[0].get_ydata(), want, rtol=1e-12)
    assert (left.get_title(), right.get_title()) == ("f(x)", "gradient of f(x)")
    assert (left.get_ylabel(), right.get_ylabel()) == ("f(x)", "df/dx")
    square = plot.plot_function_and_derivative(ag_np.square)  # 0..100 against -20..20
    assert square.axes[1].get_ylim()[1] < 0.5 * square.axes[0].get_ylim()[1]
    with pytest.raises(TypeError, match="f must be a callable of one float"):
        plot.plot_function_and_derivative(3.0)


def test_no_function_calls_show(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("show() was called")

    monkeypatch.setattr(plt, "show", fail)
    plot.plot_loss_curve([1.0, 0.5])
    plot.plot_predicted_vs_true([1.0], [1.0])
    plot.plot_feature_panels(np.zeros((2, 1)), np.zeros(2))
    plot.plot_fit_1d(np.arange(3.0), np.arange(3.0), lambda g: g[:, 0])
    plot.plot_function_and_derivative(ag_np.square, [0.0, 1.0])
    plot.plot_param_traces({"x": [np.zeros(1)]})


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'tinynn-regression\[plot\]'"):
        plot.plot_loss_curve([1.0])


def test_plots_from_a_real_minimize_history() -> None:
    from tinynn.optim import gradient_descent, minimize

    def loss(x_D: np.ndarray) -> float:
        return ag_np.sum(ag_np.square(x_D))

    result = minimize(
        loss,
        np.array([-3.0, 4.0, -5.0, 6.0]),
        optimizer=gradient_descent(0.01),
        n_iters=100,
        record_params_every=10,
    )
    traces = plot.plot_param_traces(result.history).axes[0]
    assert len(traces.lines) == 4
    np.testing.assert_array_equal(traces.lines[0].get_xdata(), np.arange(0, 100, 10))
    np.testing.assert_allclose(traces.lines[0].get_ydata()[0], -3.0)
    assert abs(traces.lines[3].get_ydata()[-1]) < 6.0 * 0.99**80
    curve = plot.plot_loss_curve(result.history).axes[0]
    np.testing.assert_array_equal(curve.lines[0].get_ydata(), result.history.losses)
    assert curve.get_yscale() == "log"


def test_trace_draws_every_chain_and_names_the_quantity() -> None:
    draws = np.arange(12.0).reshape(3, 4)
    ax = plot.plot_trace(draws, name="w").axes[0]
    assert len(ax.lines) == 3
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [4.0, 5.0, 6.0, 7.0])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("draw", "w")
    many = plot.plot_trace(np.zeros((12, 5))).axes[0]
    assert many.get_legend() is None  # twelve entries would hide the lines


def test_rank_histograms_are_flat_for_agreeing_chains_and_not_otherwise() -> None:
    rng = np.random.default_rng(0)
    agree = rng.normal(size=(4, 1000))
    ax = plot.plot_rank(agree, bins=10).axes[0]
    counts = np.array([line.get_ydata() for line in ax.lines[:4]])
    assert counts.sum() == agree.size and np.all(np.abs(counts - 100) < 45)
    apart = agree + np.array([0.0, 0.0, 0.0, 2.0])[:, None]
    ax = plot.plot_rank(apart, bins=10).axes[0]
    highest = ax.lines[3].get_ydata()
    assert highest[-1] > 300 and highest[0] < 5  # the fourth chain holds the top ranks
    np.testing.assert_array_equal(ax.lines[4].get_ydata(), [100.0, 100.0])


def test_chain_plots_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="draws_CD"):
        plot.plot_trace(np.zeros(10))
    with pytest.raises(ValueError, match=r"at least 4 draws per chain, got shape \(2, 3\)"):
        plot.plot_rank(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="bins must be a positive integer, got 0"):
        plot.plot_rank(np.zeros((2, 10)), bins=0)
