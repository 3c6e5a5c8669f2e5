"""Helpers shared by the test files (import them with ``from conftest import ...``)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest


def seed_check_grads(seed):
    """Seed numpy's global state: autograd's check_grads draws its random directions there."""
    np.random.seed(seed)  # noqa: NPY002


def make(sizes, rng, scale=0.7):
    """Return random network parameters for layer sizes ``[D, H1, ..., O]``."""
    return [
        {"w": scale * rng.normal(size=(a, b)), "b": 0.3 * rng.normal(size=b)}
        for a, b in itertools.pairwise(sizes)
    ]


def quad_value_and_grad(x):
    """Return ``sum(x**2)`` and its gradient ``2 x`` (a hand-written value_and_grad)."""
    return float(np.sum(x * x)), 2.0 * x


def rosenbrock(x_D):
    """Return Rosenbrock's banana, minimum 0 at (1, 1)."""
    return (1 - x_D[0]) ** 2 + 100 * (x_D[1] - x_D[0] ** 2) ** 2


def interrupted_at_call(real, n, calls):
    """Return ``real`` wrapped to record each call's hidden sizes (its third argument) in
    ``calls`` and to raise KeyboardInterrupt at the ``n``-th call, as a Ctrl-C would."""

    def wrapper(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    return wrapper


@pytest.fixture
def close_figures():
    """Close every matplotlib figure a test made (use with ``pytest.mark.usefixtures``)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# -- what every figure of the package and its docs must show (tests/test_plot_properties.py) ----


def _labelled(ax) -> list:
    artists = [*ax.lines, *ax.collections, *ax.patches]
    return [a for a in artists if a.get_label() and not a.get_label().startswith("_")]


def _legend_texts(fig) -> set[str]:
    """Return the entries of every legend in the figure: on its axes or on the figure itself."""
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    return {text.get_text() for legend in legends for text in legend.get_texts()}


def _y_values(ax) -> np.ndarray:
    """Return the y data of the axes' lines that are in data units (not an axvline's 0 to 1)."""
    values = [
        np.asarray(line.get_ydata(), dtype=float)
        for line in ax.lines
        if line.get_transform().contains_branch_seperately(ax.transData)[1]
    ]
    return np.concatenate(values) if values else np.array([1.0])


def assert_figure_reads_well(fig, name: str) -> None:
    """Fail unless ``fig`` shows what it claims: labelled axes, every series of an axes with
    more than one in a legend and told apart by colour, line style or marker, log axes only for
    positive values, and data points (markers without lines) over fitted curves."""
    import matplotlib.colors as mcolors

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
            # each line series differs from the others in colour, line style or marker
            looks = [
                (mcolors.to_hex(line.get_color()), line.get_linestyle(), line.get_marker())
                for line in ax.lines
                if line in series
            ]
            assert len(set(looks)) == len(looks), f"{name}: two series look the same"
        # a symmetric-log axis draws a cliff where values cross zero (plot loss minus its minimum)
        assert "symlog" not in (ax.get_xscale(), ax.get_yscale()), f"{name}: a symlog axis"
        if ax.get_yscale() == "log":
            assert np.all(_y_values(ax) > 0), f"{name}: a log axis for values <= 0"
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
