"""Every plot function shows what it claims: labelled axes, a legend when there are several
series, distinct colours, data drawn over fitted curves, reference lines on top, log axes only
for positive values. Each public function of ``tinynn.plot`` has a case here (a test checks)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import autograd.numpy as anp  # noqa: E402
import matplotlib.colors as mcolors  # noqa: E402

from tinynn import plot  # noqa: E402
from tinynn.data import make_gap_data  # noqa: E402
from tinynn.posterior import PointEstimate, fit_laplace  # noqa: E402

pytestmark = pytest.mark.usefixtures("close_figures")


@pytest.fixture(scope="module")
def gap():
    x, y = make_gap_data(30, rng=0)
    laplace = fit_laplace(x, y, hidden_sizes=(5,), rng=0)
    return x, y, laplace


def _history():
    return {
        "loss": [4.0, 2.0, 1.0, 0.5],
        "x": [np.array([1.0, -1.0]), np.array([0.5, -0.5]), np.array([0.2, -0.2]), np.zeros(2)],
    }


def _cases(gap) -> dict[str, Callable[[], object]]:
    x, y, laplace = gap
    x_ND = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
    y_N = x_ND.sum(axis=1)

    def two_loss_curves():
        fig = plot.plot_loss_curve([3.0, 2.0, 1.0], label="from zeros")
        return plot.plot_loss_curve([2.0, 1.5, 0.5], ax=fig.axes[0], label="from the truth")

    return {
        "plot_loss_curve": two_loss_curves,
        "plot_param_traces": lambda: plot.plot_param_traces(_history()),
        "plot_predicted_vs_true": lambda: plot.plot_predicted_vs_true(y_N, y_N + 0.1),
        "plot_feature_panels": lambda: plot.plot_feature_panels(x_ND, y_N, y_N + 0.1),
        "plot_fit_1d": lambda: plot.plot_fit_1d(x[:, 0], y, lambda g: anp.sin(3 * g[:, 0])),
        "plot_function_and_derivative": lambda: plot.plot_function_and_derivative(anp.square),
        "plot_predictive": lambda: plot.plot_predictive(laplace, x, y),
        "plot_posteriors": lambda: plot.plot_posteriors(
            {"MAP": PointEstimate(laplace.params, sigma=laplace.sigma), "Laplace": laplace}, x, y
        ),
        "plot_calibration": lambda: plot.plot_calibration(
            y, laplace.predict(x).mean, laplace.predict(x).std, label="Laplace"
        ),
    }


def _labelled(ax) -> list:
    artists = [*ax.lines, *ax.collections, *ax.patches]
    return [a for a in artists if a.get_label() and not a.get_label().startswith("_")]


def _legend_texts(fig) -> set[str]:
    """Return the entries of every legend in the figure: on its axes or on the figure itself."""
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    return {text.get_text() for legend in legends for text in legend.get_texts()}


def _y_values(ax) -> np.ndarray:
    values = [np.asarray(line.get_ydata(), dtype=float) for line in ax.lines]
    return np.concatenate(values) if values else np.array([1.0])


def test_every_public_plot_function_has_a_case(gap):
    assert sorted(_cases(gap)) == sorted(plot.__all__)


@pytest.mark.parametrize("name", sorted(plot.__all__))
def test_the_figure_shows_what_it_claims(name, gap):
    fig = _cases(gap)[name]()
    drawn = [ax for ax in fig.axes if ax.has_data()]
    assert drawn, f"{name} drew nothing"
    rows = {ax.get_subplotspec().rowspan.start for ax in drawn if ax.get_subplotspec()}
    for ax in drawn:
        spec = ax.get_subplotspec()
        # every panel names its axes, or leaves them to the outer panels of a grid
        if spec is None or spec.is_last_row() or len(rows) == 1:
            assert ax.get_xlabel(), f"{name}: a panel has no x label"
        shared = ax.get_shared_y_axes().get_siblings(ax)
        assert any(other.get_ylabel() for other in shared), f"{name}: a panel has no y label"
        series = _labelled(ax)
        if len(series) > 1:
            missing = {a.get_label() for a in series} - _legend_texts(fig)
            assert not missing, f"{name}: series {missing} are in no legend of the figure"
            colours = [mcolors.to_hex(line.get_color()) for line in ax.lines if line in series]
            assert len(set(colours)) == len(colours), f"{name}: two series share a colour"
        if ax.get_yscale() == "log":
            assert np.all(_y_values(ax) > 0), f"{name}: a log axis for values <= 0"
        # data (markers without lines) are never under a fitted curve; reference lines are on top
        data = [ln for ln in ax.lines if ln.get_linestyle() == "None" and ln.get_marker() != "None"]
        curves = [ln for ln in ax.lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) > 2]
        for point_set in data:
            if point_set.get_markerfacecolor() == "none":
                continue  # hollow rings may sit under the data
            for curve in curves:
                # drawn later at the same zorder, or at a higher zorder
                on_top = (point_set.get_zorder(), ax.lines.index(point_set)) > (
                    curve.get_zorder(),
                    ax.lines.index(curve),
                )
                assert on_top, f"{name}: data under a curve"
