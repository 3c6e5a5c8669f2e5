"""Private to :mod:`tinynn.plot`: trace and rank plots of Markov chains."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn._checks import as_float_array
from tinynn.plot._axes import single_axes

# more chains than this get no legend entry each (the colours still tell them apart)
MAX_LEGEND_CHAINS = 10


def _chains(draws_CD: Any) -> np.ndarray:
    """Check the draws of one quantity: shape (C, D), at least 4 draws per chain."""
    draws = as_float_array(draws_CD, "draws_CD", ndims=(2,))
    if draws.shape[1] < 4:
        raise ValueError(f"draws_CD must hold at least 4 draws per chain, got shape {draws.shape}")
    return draws


def _label_chains(ax: Any, n_chains: int) -> None:
    if n_chains > 1 and n_chains <= MAX_LEGEND_CHAINS:
        ax.legend(fontsize="small", ncol=min(n_chains, 4))


def plot_trace(draws_CD: Any, *, name: str = "x", ax: Any = None) -> Any:
    """Plot the draws of one quantity against the draw index, one line per chain.

    Chains that mix overlap as one band of noise; a chain that sits apart or drifts stands out.
    Read it beside :func:`tinynn.diagnostics.split_rhat`.

    Parameters
    ----------
    draws_CD : array_like of shape (C, D)
        C chains of D draws (at least 4) of one quantity; index a stacked leaf to pick one,
        for example ``draws[0]['w'][:, :, 0, 0]``.
    name : str, default "x"
        The quantity's name, for the y axis.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``draws_CD`` is not two-dimensional or has fewer than 4 draws per chain.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_trace(np.random.default_rng(0).normal(size=(4, 200)), name="theta")
    >>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    ['chain 0', 'chain 1', 'chain 2', 'chain 3']
    """
    draws = _chains(draws_CD)
    fig, ax = single_axes(ax, (6.4, 3.2))
    for c, chain in enumerate(draws):
        ax.plot(chain, color=f"C{c % 10}", linewidth=0.8, alpha=0.8, label=f"chain {c}")
    ax.set_xlabel("draw")
    ax.set_ylabel(name)
    _label_chains(ax, len(draws))
    return fig


def plot_rank(draws_CD: Any, *, name: str = "x", bins: int = 20, ax: Any = None) -> Any:
    """Plot each chain's histogram of the ranks of its draws among all chains' draws.

    When the chains sample the same distribution the ranks spread evenly over the chains, so
    every histogram is flat around the dashed line; a chain whose histogram slopes or peaks
    sits higher, lower or narrower than the others (Vehtari et al. 2021). Unlike a trace plot
    it stays readable for thousands of draws.

    Parameters
    ----------
    draws_CD : array_like of shape (C, D)
        C chains of D draws (at least 4) of one quantity.
    name : str, default "x"
        The quantity's name, for the title.
    bins : int, default 20
        Number of rank bins.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``draws_CD`` is not two-dimensional, has fewer than 4 draws per chain, or ``bins``
        is not a positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_rank(np.random.default_rng(0).normal(size=(4, 400)), bins=10)
    >>> len(fig.axes[0].lines)  # four chains and the line of a flat histogram
    5
    """
    draws = _chains(draws_CD)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    n_chains, n_draws = draws.shape
    ranks = np.argsort(np.argsort(draws.ravel(), kind="mergesort"), kind="mergesort")
    ranks = ranks.reshape(draws.shape)
    edges = np.linspace(0, draws.size, bins + 1)
    fig, ax = single_axes(ax, (6.4, 3.2))
    centres = 0.5 * (edges[:-1] + edges[1:])
    for c in range(n_chains):
        counts, _ = np.histogram(ranks[c], bins=edges)
        ax.plot(
            centres, counts, drawstyle="steps-mid", marker="o", markersize=3,
            color=f"C{c % 10}", label=f"chain {c}",
        )  # fmt: skip
    ax.plot(
        [edges[0], edges[-1]], [n_draws / bins] * 2, color="k", linestyle="--", linewidth=1,
        label="flat: chains agree", zorder=3,
    )  # fmt: skip
    highest = max(line.get_ydata().max() for line in ax.lines)
    ax.set_ylim(0, 1.3 * highest)  # room above the histograms for the legend
    ax.set_xlabel("rank among all chains' draws")
    ax.set_ylabel(f"draws per bin ({name})")
    ax.legend(fontsize="small", ncol=min(n_chains + 1, 4), loc="upper left")
    return fig
