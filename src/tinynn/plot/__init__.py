"""Figures for training runs, fits and posteriors: loss curves, traces, predictions, bands.

Needs the ``plot`` extra (``pip install 'tinynn-regression[plot]'``); matplotlib is imported only
inside these functions. Each function draws into the Axes you pass (``ax=`` or ``axes=``) or into a
new figure, and returns the :class:`matplotlib.figure.Figure`. None of them calls ``show()``:
display the figure in a notebook by leaving it as the cell's value, or call ``fig.savefig(...)``.

Shape suffixes: N examples, D input features, G grid points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinynn._checks import as_float_array, check_int, describe
from tinynn.plot._axes import row_of_axes as _row_of_axes
from tinynn.plot._axes import single_axes as _single_axes
from tinynn.plot._chains import plot_rank, plot_trace
from tinynn.plot._uncertainty import plot_calibration, plot_posteriors, plot_predictive

__all__ = [
    "plot_calibration",
    "plot_feature_panels",
    "plot_fit_1d",
    "plot_function_and_derivative",
    "plot_loss_curve",
    "plot_param_traces",
    "plot_posteriors",
    "plot_predicted_vs_true",
    "plot_predictive",
    "plot_rank",
    "plot_trace",
]


def _loss_series(source: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (iters, losses) from a History, a Regressor, the notebook's dict or an array."""
    if hasattr(source, "losses") and hasattr(source, "iters"):
        return np.asarray(source.iters, dtype=float), np.asarray(source.losses, dtype=float)
    if hasattr(source, "loss_curve_"):
        losses = np.asarray(source.loss_curve_, dtype=float)
        return np.arange(len(losses), dtype=float), losses
    if isinstance(source, dict) and "f" in source:
        losses = np.asarray(source["f"], dtype=float)
        iters = np.asarray(source.get("iter", np.arange(len(losses))), dtype=float)
        return iters, losses
    losses = as_float_array(source, "history", ndims=(1,), allow_nonfinite=True)
    return np.arange(len(losses), dtype=float), losses


def plot_loss_curve(
    history: Any,
    *,
    ax: Any = None,
    log: bool = True,
    label: str | None = None,
    ylabel: str = "loss",
) -> Any:
    """Plot the training loss against iterations, on a log scale by default.

    Parameters
    ----------
    history : History, Regressor, dict or array_like of shape (T,)
        A ``tinynn.optim.History``, a fitted Regressor (its ``loss_curve_``), the notebook's history
        dict with keys ``'iter'`` and ``'f'``, or the losses themselves.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    log : bool, default True
        Use a logarithmic y axis. Losses that reach zero or below (a Gaussian NLL with a learned
        sigma can be negative) keep a linear axis.
    label : str, optional
        Legend label for the curve.
    ylabel : str, default "loss"
        The y-axis label.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> fig = plot_loss_curve([10.0, 3.0, 1.0, 0.5])
    >>> fig.axes[0].get_yscale()
    'log'
    """
    iters, losses = _loss_series(history)
    fig, ax = _single_axes(ax, (6.0, 3.5))
    ax.plot(iters, losses, ".-", label=label, markersize=3)  # the next colour of the axes
    if log:
        finite = losses[np.isfinite(losses)]
        # a log axis only for positive losses: a symmetric-log axis would draw a cliff where the
        # loss crosses zero that is not in the data
        ax.set_yscale("log" if finite.size == 0 or finite.min() > 0 else "linear")
    ax.set_xlabel("iters")
    ax.set_ylabel(ylabel)
    if any(not line.get_label().startswith("_") for line in ax.get_lines()):
        ax.legend()
    return fig


_MAX_LEGEND_ENTRIES = 12  # beyond this a legend hides the plot: the traces stay unlabelled


def plot_param_traces(
    history: Any,
    *,
    ax: Any = None,
    ylabel: str = "x_d",
    max_traces: int = 100,
) -> Any:
    """Plot each parameter scalar against iterations: the notebook's ``x_d`` versus ``iters`` panel.

    Parameters
    ----------
    history : History or dict
        A ``tinynn.optim.History`` run with ``record_params_every > 0`` (its ``params`` maps an
        iteration to a parameter tree), or the notebook's history dict (``'iter'`` and ``'x'`` or
        ``'x_D'``, one tree or vector per iteration).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    ylabel : str, default "x_d"
        The y-axis label.
    max_traces : int, default 100
        Draw at most this many scalars (the first ones in flatten order: layer by layer, ``'w'``
        before ``'b'``), so huge networks stay readable.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the history holds no recorded parameters.
    TypeError
        If ``history`` is neither a History nor a dict.

    Examples
    --------
    >>> hist = {"iter": [0, 1, 2], "x_D": [[3.0, -1.0], [1.5, -0.5], [0.7, -0.2]]}
    >>> fig = plot_param_traces(hist)
    >>> len(fig.axes[0].lines)
    2
    """
    from tinynn import tree as tree_lib

    max_traces = check_int(max_traces, "max_traces", minimum=1)
    if isinstance(history, dict):
        records = history.get("x", history.get("x_D"))
        if records is None:
            raise ValueError("history must have a 'x' or 'x_D' entry with one record per iteration")
        iters = list(history.get("iter", range(len(records))))
    elif hasattr(history, "params"):
        recorded = history.params
        iters, records = list(recorded), [recorded[i] for i in recorded]
    else:
        raise TypeError(f"history must be a tinynn History or a dict, got {describe(history)}")
    if len(records) == 0:
        raise ValueError(
            "history holds no recorded parameters; run minimize(..., record_params_every=1)"
        )
    rows = [np.concatenate([np.ravel(leaf) for leaf in tree_lib.leaves(r)]) for r in records]
    values_TP = np.asarray(rows, dtype=float)
    names = [
        path + ("[" + ", ".join(map(str, index)) + "]" if np.ndim(leaf) else "")
        for path, leaf in tree_lib.leaves_with_paths(records[0], root="x")
        for index in np.ndindex(np.shape(leaf))
    ]
    fig, ax = _single_axes(ax, (7.5, 3.0))
    steps = np.asarray(iters, dtype=float)
    for p, name in enumerate(names[:max_traces]):
        ax.plot(steps, values_TP[:, p], label=name)
    ax.set_xlabel("iters")
    ax.set_ylabel(ylabel)
    if min(max_traces, len(names)) <= _MAX_LEGEND_ENTRIES:
        ax.legend(fontsize="small")
    return fig


def plot_predicted_vs_true(y_true: Any, y_pred: Any, *, ax: Any = None) -> Any:
    """Scatter predicted against true values with the identity line ``y = x`` for reference.

    Parameters
    ----------
    y_true : array_like of shape (N,)
        Observed targets.
    y_pred : array_like of shape (N,)
        Predictions for the same examples.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the two arrays differ in shape.

    Examples
    --------
    >>> fig = plot_predicted_vs_true([1.0, 2.0, 3.0], [1.1, 1.9, 3.2])
    >>> fig.axes[0].get_xlabel()
    'predicted y|x'
    """
    y_N = as_float_array(y_true, "y_true", ndims=(1,))
    yhat_N = as_float_array(y_pred, "y_pred", ndims=(1,))
    if y_N.shape != yhat_N.shape:
        raise ValueError(
            f"y_pred must have the shape of y_true {y_N.shape}, got {yhat_N.shape}; "
            f"pass yhat.ravel() for one output"
        )
    fig, ax = _single_axes(ax, (4.5, 4.5))
    ax.plot(yhat_N, y_N, "k.", label="examples")
    lo = float(min(y_N.min(), yhat_N.min()))
    hi = float(max(y_N.max(), yhat_N.max()))
    ax.plot([lo, hi], [lo, hi], "r-", linewidth=1, label="y = x", zorder=3)  # on top of the data
    ax.set_xlabel("predicted y|x")
    ax.set_ylabel("true y")
    ax.legend()
    return fig


def plot_feature_panels(
    x_ND: Any,
    y_N: Any,
    yhat_N: Any = None,
    *,
    feature_names: Sequence[str] | None = None,
    axes: Any = None,
) -> Any:
    """Plot the target against each input feature, one panel per feature, with predictions.

    The notebook's panels, drawn so that neither hides the other: the data as small black dots
    on top, the predictions as larger orange rings under them, a legend, x-axis labels ``x_0``,
    ``x_1``, ... and ``y`` on every panel.

    Parameters
    ----------
    x_ND : array_like of shape (N, D)
        Inputs.
    y_N : array_like of shape (N,)
        Targets.
    yhat_N : array_like of shape (N,), optional
        Predictions to overlay.
    feature_names : sequence of str of length D, optional
        Panel x-axis labels; ``x_0, x_1, ...`` when omitted.
    axes : sequence of D matplotlib Axes, optional
        Where to draw; a new row of panels is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If shapes disagree or ``feature_names``/``axes`` have the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> x_ND = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    >>> fig = plot_feature_panels(x_ND, x_ND.sum(axis=1), x_ND.sum(axis=1) + 0.1)
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['x_0', 'x_1']
    """
    x = as_float_array(x_ND, "x_ND", ndims=(1, 2))
    x = x[:, None] if x.ndim == 1 else x
    y = as_float_array(y_N, "y_N", ndims=(1,))
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y_N must have shape ({x.shape[0]},) to match x_ND, got {y.shape}")
    yhat = None
    if yhat_N is not None:
        yhat = as_float_array(yhat_N, "yhat_N", ndims=(1,))
        if yhat.shape != y.shape:
            raise ValueError(f"yhat_N must have shape {y.shape} to match y_N, got {yhat.shape}")
    n_features = x.shape[1]
    names = [f"x_{d}" for d in range(n_features)] if feature_names is None else list(feature_names)
    if len(names) != n_features:
        raise ValueError(f"feature_names must have {n_features} names, got {len(names)}")
    panels = _row_of_axes(axes, n_features, (5.0 * n_features, 3.0), sharey=False)
    for d, ax in enumerate(panels):
        # data on top as small filled dots; predictions under them as larger hollow rings, so
        # neither hides the other where they coincide
        ax.plot(x[:, d], y, "k.", markersize=4, label="data", zorder=3)
        if yhat is not None:
            ax.plot(
                x[:, d], yhat, "o", color="C1", markerfacecolor="none", markersize=6,
                label="predicted", zorder=2,
            )  # fmt: skip
        ax.set_xlabel(names[d])
        ax.set_ylabel("y")  # every panel: their y axes are not shared
    if yhat is not None:
        panels[0].legend()
    return panels[0].figure


def plot_fit_1d(
    x_N: Any,
    y_N: Any,
    model: Any,
    *,
    n_grid: int = 200,
    ax: Any = None,
    show_std: bool = True,
) -> Any:
    """Plot a one-feature fit as a curve over a grid, with its data and an optional noise band.

    Parameters
    ----------
    x_N : array_like of shape (N,) or (N, 1)
        Inputs of the single feature.
    y_N : array_like of shape (N,)
        Targets.
    model : Regressor or callable
        A fitted estimator with ``predict(x_G1)`` or a function mapping an array of shape (G, 1)
        to predictions of shape (G,).
    n_grid : int, default 200
        Number of grid points across the data's range.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    show_std : bool, default True
        When ``model.predict`` accepts ``return_std=True``, shade prediction +- 2 noise std.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``x_N`` has more than one feature or shapes disagree.
    TypeError
        If ``model`` is neither callable nor has ``predict``.

    Examples
    --------
    >>> import numpy as np
    >>> x_N = np.linspace(-1, 1, 9)
    >>> fig = plot_fit_1d(x_N, x_N**2, lambda x_G1: x_G1[:, 0] ** 2, n_grid=5)
    >>> fig.axes[0].lines[1].get_xdata().shape
    (5,)
    """
    x = as_float_array(x_N, "x_N", ndims=(1, 2))
    if x.ndim == 2:
        if x.shape[1] != 1:
            raise ValueError(f"x_N must have one feature, got shape {x.shape}")
        x = x[:, 0]
    y = as_float_array(y_N, "y_N", ndims=(1,))
    if y.shape != x.shape:
        raise ValueError(f"y_N must have shape {x.shape} to match x_N, got {y.shape}")
    n_grid = check_int(n_grid, "n_grid", minimum=2)
    if hasattr(model, "predict"):
        predict_fn: Callable[..., Any] = model.predict
    elif callable(model):
        predict_fn = model
    else:
        raise TypeError(f"model must be a fitted Regressor or a callable, got {describe(model)}")
    grid_G1 = np.linspace(x.min(), x.max(), n_grid)[:, None]
    std = None
    if show_std and hasattr(model, "predict"):
        mean_G, std = predict_fn(grid_G1, return_std=True)
    else:
        mean_G = predict_fn(grid_G1)
    mean_G = np.asarray(mean_G, dtype=float).ravel()
    fig, ax = _single_axes(ax, (6.0, 4.0))
    ax.plot(x, y, "k.", label="data", zorder=3)  # over the curve and the band
    ax.plot(grid_G1[:, 0], mean_G, "b-", label="prediction")
    if std is not None:
        band = 2.0 * np.broadcast_to(np.asarray(std, dtype=float).ravel(), mean_G.shape)
        ax.fill_between(
            grid_G1[:, 0],
            mean_G - band,
            mean_G + band,
            color="b",
            alpha=0.2,
            label="+- 2 noise std",
        )
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    return fig


def plot_function_and_derivative(
    f: Callable[[Any], Any],
    x_grid: Any = None,
    *,
    title: str = "f(x)",
    axes: Any = None,
) -> Any:
    """Plot a scalar function beside its derivative computed by ``autograd.grad``.

    Parameters
    ----------
    f : callable
        A function of one float returning one float, written with ``autograd.numpy``.
    x_grid : array_like of shape (G,), optional
        Points to evaluate at; ``np.linspace(-10, 10, 100)`` as in the notebook when omitted.
    title : str, default "f(x)"
        Title of the left panel; the right panel is titled ``"gradient of " + title``.
    axes : sequence of two matplotlib Axes, optional
        Where to draw; a new pair of panels sharing both axes is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``f`` is not callable.

    Examples
    --------
    >>> import autograd.numpy as ag_np
    >>> fig = plot_function_and_derivative(ag_np.square, [-1.0, 0.0, 1.0], title="x^2")
    >>> fig.axes[1].lines[0].get_ydata().tolist()
    [-2.0, 0.0, 2.0]
    """
    import autograd

    if not callable(f):
        raise TypeError(f"f must be a callable of one float, got {describe(f)}")
    grid_G = np.linspace(-10, 10, 100) if x_grid is None else as_float_array(x_grid, "x_grid")
    grid_G = np.ravel(grid_G)
    g = autograd.grad(f)
    f_G = np.array([float(f(float(x))) for x in grid_G])
    g_G = np.array([float(g(float(x))) for x in grid_G])
    # each on its own y axis: the derivative's scale is not the function's (2x against x^2)
    left, right = _row_of_axes(axes, 2, (10.0, 3.0), sharey=False)
    left.plot(grid_G, f_G, "k.-")
    left.set_title(title)
    left.set_ylabel("f(x)")
    right.plot(grid_G, g_G, "b.-")
    right.set_title(f"gradient of {title}")
    right.set_ylabel("df/dx")
    for ax in (left, right):
        ax.set_xlabel("x")
    return left.figure
