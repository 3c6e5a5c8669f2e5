"""Private to :mod:`tinynn.plot`: predictive bands, calibration curves, posteriors side by side."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tinynn import metrics
from tinynn._checks import as_float_array, describe
from tinynn.plot._axes import row_of_axes, single_axes

TOTAL_COLOUR = "C0"
NOISE_COLOUR = "C1"


def _predictive(source: Any, grid_G1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return mean, total std and noise std at the grid from a Posterior or a Regressor."""
    if hasattr(source, "posterior_") and getattr(source, "posterior_", None) is not None:
        mean, std = source.predict(grid_G1, return_std=True)
        noise = np.full_like(mean, float(np.ravel(source.sigma_)[0]))
        return mean, std, np.minimum(noise, std)
    if hasattr(source, "predict") and hasattr(source, "sample"):
        pred = source.predict(grid_G1)
        return pred.mean, pred.std, pred.noise_std
    raise TypeError(
        "source must be a tinynn.posterior Posterior or a Regressor fitted with uncertainty=..., "
        f"got {describe(source)}"
    )


def _one_feature(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    x_arr = as_float_array(x, "x", ndims=(1, 2))
    if x_arr.ndim == 2 and x_arr.shape[1] != 1:
        raise ValueError(f"x must have one feature, shape (N,) or (N, 1), got {x_arr.shape}")
    x_N = x_arr.ravel()
    y_N = as_float_array(y, "y", ndims=(1,))
    if y_N.shape != x_N.shape:
        raise ValueError(f"y must have shape {x_N.shape} to match x, got {y_N.shape}")
    return x_N, y_N


def _default_grid(x_N: np.ndarray) -> np.ndarray:
    span = float(np.ptp(x_N)) or 1.0
    return np.linspace(x_N.min() - span, x_N.max() + span, 400)


def plot_predictive(
    source: Any,
    x: Any,
    y: Any,
    *,
    grid: Any = None,
    level: float = 0.95,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Plot a 1-D predictive distribution: data, mean, the noise band and the total band.

    The total band is the central ``level`` interval of the whole predictive (posterior and
    noise); the narrower noise band is the same interval for the noise alone, around the same
    mean, so the gap between the two is what the model does not know. The grid spans three
    times the data's range by default, so what happens outside the data shows. The y axis is
    kept to the data's range plus its width on each side; wider bands run off the plot.

    Parameters
    ----------
    source : Posterior or Regressor
        A :mod:`tinynn.posterior` posterior (in the units of ``x`` and ``y`` it was fitted on),
        or a :class:`~tinynn.Regressor` fitted with ``uncertainty``.
    x : ndarray of shape (N,) or (N, 1)
        Training inputs, drawn as points.
    y : ndarray of shape (N,)
        Training targets.
    grid : ndarray of shape (G,), optional
        Where to draw the predictive; default 400 points over the data's range widened by its
        width on each side.
    level : float, default 0.95
        Probability inside the bands.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from tinynn.data import make_gap_data
    >>> from tinynn.plot import plot_predictive
    >>> from tinynn.posterior import fit_laplace
    >>> x, y = make_gap_data(40)
    >>> fig = plot_predictive(fit_laplace(x, y, (10,), rng=0), x, y)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['95% predictive (total)', '95% noise only', 'predictive mean', 'training data']
    """
    x_N, y_N = _one_feature(x, y)
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    grid_G = _default_grid(x_N) if grid is None else as_float_array(grid, "grid", ndims=(1,))
    mean, std, noise = _predictive(source, grid_G[:, None])
    z = metrics.normal_quantile(0.5 + 0.5 * float(level))
    fig, ax = single_axes(ax, (6.4, 4.0))
    pct = f"{float(level):.0%}"
    ax.fill_between(
        grid_G,
        mean - z * std,
        mean + z * std,
        color=TOTAL_COLOUR,
        alpha=0.22,
        linewidth=0,
        label=f"{pct} predictive (total)",
    )
    ax.fill_between(
        grid_G,
        mean - z * noise,
        mean + z * noise,
        color=NOISE_COLOUR,
        alpha=0.45,
        linewidth=0,
        label=f"{pct} noise only",
    )
    ax.plot(grid_G, mean, color=TOTAL_COLOUR, linewidth=2.0, label="predictive mean")
    ax.scatter(x_N, y_N, s=14, color="black", zorder=5, label="training data")
    span = float(np.ptp(y_N)) or 1.0
    ax.set_ylim(y_N.min() - span, y_N.max() + span)
    ax.set_xlim(grid_G.min(), grid_G.max())
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small", framealpha=0.9)
    return fig


def plot_calibration(
    y: Any, mean: Any, std: Any, *, ax: Any = None, label: str | None = None
) -> Any:
    """Plot observed against nominal coverage of central Gaussian intervals.

    A calibrated predictive follows the dashed diagonal; below it the intervals are too narrow
    (overconfident), above it too wide. Call it again on the same ``ax`` with another
    ``label`` to compare predictives.

    Parameters
    ----------
    y, mean, std : ndarray, all of the same shape
        Targets and the Gaussian predictive (see :func:`tinynn.metrics.calibration_curve`).
    ax : matplotlib Axes, optional
    label : str, optional
        Legend entry of this curve.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from tinynn.plot import plot_calibration
    >>> y = np.random.default_rng(0).normal(size=200)
    >>> fig = plot_calibration(y, np.zeros(200), np.ones(200), label="N(0, 1)")
    >>> fig.axes[0].get_xlabel()
    'nominal coverage of the central interval'
    """
    nominal, observed = metrics.calibration_curve(y, mean, std)
    fig, ax = single_axes(ax, (4.2, 4.2))
    if not any(line.get_label() == "ideal" for line in ax.get_lines()):
        ax.plot([0, 1], [0, 1], linestyle="--", color="0.5", label="ideal")
    ax.plot(nominal, observed, marker="o", markersize=3.5, label=label or "predictive")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("nominal coverage of the central interval")
    ax.set_ylabel("observed coverage")
    ax.legend(loc="upper left", fontsize="small")
    return fig


def plot_posteriors(
    sources: Mapping[str, Any],
    x: Any,
    y: Any,
    *,
    grid: Any = None,
    level: float = 0.95,
    axes: Any = None,
) -> Any:
    """Plot several predictives on the same data side by side, one panel each, same axes.

    Parameters
    ----------
    sources : mapping of str to Posterior or Regressor
        Panel title to what :func:`plot_predictive` draws.
    x, y, grid, level
        As in :func:`plot_predictive`.
    axes : sequence of matplotlib Axes, optional
        One per source.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from tinynn.data import make_gap_data
    >>> from tinynn.plot import plot_posteriors
    >>> from tinynn.posterior import fit_laplace
    >>> x, y = make_gap_data(40)
    >>> posts = {"Laplace": fit_laplace(x, y, (10,), rng=0),
    ...          "linear": fit_laplace(x, y, ())}
    >>> [ax.get_title() for ax in plot_posteriors(posts, x, y).axes]
    ['Laplace', 'linear']
    """
    if not isinstance(sources, Mapping) or not sources:
        raise TypeError(
            f"sources must be a non-empty dict of title -> posterior, got {describe(sources)}"
        )
    panels = row_of_axes(axes, len(sources), (3.0 * len(sources) + 0.5, 3.4), sharey=True)
    for ax, (name, source) in zip(panels, sources.items(), strict=True):
        plot_predictive(source, x, y, grid=grid, level=level, ax=ax, title=name)
    handles, labels = panels[0].get_legend_handles_labels()
    for ax in panels:
        spec = ax.get_subplotspec()
        if spec is not None:  # panels of a grid keep the labels of the outer edge only
            if not spec.is_first_col():
                ax.set_ylabel("")
            if not spec.is_last_row():
                ax.set_xlabel("")
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
    # one legend for all panels, below them, where it covers no data
    fig = panels[0].figure
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize="small")
    fig.tight_layout(rect=(0.0, 0.35 / fig.get_figheight(), 1.0, 1.0))
    return fig
