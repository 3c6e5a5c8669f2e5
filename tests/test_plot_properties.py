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
from conftest import assert_figure_reads_well  # noqa: E402

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
    chains = np.random.default_rng(0).normal(size=(3, 200))

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
        "plot_trace": lambda: plot.plot_trace(chains, name="theta"),
        "plot_rank": lambda: plot.plot_rank(chains, name="theta", bins=10),
        "plot_calibration": lambda: plot.plot_calibration(
            y, laplace.predict(x).mean, laplace.predict(x).std, label="Laplace"
        ),
    }


def test_every_public_plot_function_has_a_case(gap):
    assert sorted(_cases(gap)) == sorted(plot.__all__)


@pytest.mark.parametrize("name", sorted(plot.__all__))
def test_the_figure_shows_what_it_claims(name, gap):
    assert_figure_reads_well(_cases(gap)[name](), name)
