"""Private to :mod:`tinynn.plot`: matplotlib on demand and the Axes every figure draws into."""

from __future__ import annotations

from typing import Any

import numpy as np


def pyplot() -> Any:
    """Return matplotlib.pyplot, or say how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "tinynn.plot requires matplotlib: pip install 'tinynn-regression[plot]'"
        ) from err
    return plt


def single_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """Return ``(figure, ax)``: the given Axes, or a new figure's."""
    if ax is not None:
        return ax.figure, ax
    fig, new_ax = pyplot().subplots(figsize=figsize)
    return fig, new_ax


def row_of_axes(axes: Any, n: int, figsize: tuple[float, float], *, sharey: bool) -> Any:
    """Return ``n`` Axes: the given ones (checked) or a new figure's row."""
    plt = pyplot()
    if axes is None:
        _, grid = plt.subplots(
            nrows=1, ncols=n, sharex=False, sharey=sharey, figsize=figsize, squeeze=False
        )
        return list(grid[0])
    axes = list(np.ravel(np.asarray(axes, dtype=object)))
    if len(axes) != n:
        raise ValueError(f"axes must hold {n} Axes, got {len(axes)}")
    return axes
