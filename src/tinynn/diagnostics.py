"""Convergence diagnostics for Markov chains: rank-normalized split R-hat, bulk and tail ESS.

Every function takes the draws of one quantity from several chains as an array of shape (C, D):
C chains of D draws each. Trailing axes are further quantities, each diagnosed on its own, so the
draws of a stacked parameter leaf of shape (C, D, 2, 3) give results of shape (2, 3), and
:func:`summary` does this for every leaf of a tree.

The definitions are those of Vehtari, Gelman, Simpson, Carpenter and Buerkner (2021),
"Rank-normalization, folding, and localization: an improved R-hat for assessing convergence of
MCMC", Bayesian Analysis 16(2):

- every chain is split in half, so that a chain that drifts disagrees with itself;
- the draws are replaced by the normal quantiles of their ranks across all chains, so that heavy
  tails and infinite variances do not break the estimates;
- R-hat is the larger of the bulk value (of the ranks) and the tail value (of the ranks of the
  distance to the median); values above 1.01 say the chains have not mixed;
- the effective sample size (ESS) comes from the chains' autocorrelations, summed by Geyer's
  initial monotone sequence; the bulk ESS is that of the rank-normalized draws, the tail ESS the
  smaller of those of the indicators of the 5% and 95% quantiles.

>>> import numpy as np
>>> from tinynn import diagnostics
>>> draws_CD = np.random.default_rng(0).normal(size=(4, 1000))  # four well-mixed chains
>>> round(float(diagnostics.split_rhat(draws_CD)), 2)
1.0
>>> bool(diagnostics.ess_bulk(draws_CD) > 3000)
True
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

from tinynn import tree
from tinynn._checks import as_float_array

__all__ = ["ess", "ess_bulk", "ess_tail", "format_summary", "split_rhat", "summary"]

# fewer draws per chain than this cannot say anything about mixing
MIN_DRAWS = 4


def _draws(value: Any, name: str = "draws_CD") -> np.ndarray:
    """Check ``value`` as (C, D, ...) draws; return it as float64 with the trailing axes kept."""
    draws = as_float_array(value, name, allow_nonfinite=False)
    if draws.ndim < 2:
        raise ValueError(
            f"{name} must have shape (C, D) or (C, D, ...): C chains of D draws each, got shape "
            f"{draws.shape}; pass draws[None] for one chain"
        )
    if draws.shape[1] < MIN_DRAWS:
        raise ValueError(
            f"{name} must hold at least {MIN_DRAWS} draws per chain, got {draws.shape[1]} "
            f"(shape {draws.shape})"
        )
    return draws


def _split(draws: np.ndarray) -> np.ndarray:
    """Cut every chain into its first and second half (dropping the middle draw of an odd D)."""
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, -half:]], axis=0)


def _normal_quantiles(p: np.ndarray) -> np.ndarray:
    """Return the standard normal quantile of every element of ``p`` (all in (0, 1))."""
    try:
        from scipy.special import ndtri  # fast and exact, when scipy is installed
    except ImportError:
        return np.vectorize(NormalDist().inv_cdf, otypes=[float])(p)
    return np.asarray(ndtri(p), dtype=float)


def _rank_normalize(draws: np.ndarray) -> np.ndarray:
    """Replace the draws of each quantity by the normal quantiles of their pooled ranks.

    Tied draws share their average rank; the fractional offset (r - 3/8) / (S + 1/4) is Blom's.
    """
    chains, n = draws.shape[:2]
    flat = draws.reshape(chains * n, -1)
    total = flat.shape[0]
    ranks = np.empty_like(flat)
    for j in range(flat.shape[1]):
        column = flat[:, j]
        order = np.argsort(column, kind="mergesort")
        sorted_values = column[order]
        # average rank (1-based) of every run of equal values
        starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
        ends = np.r_[starts[1:], total]
        average = (starts + ends + 1) / 2.0
        ranks[order, j] = np.repeat(average, ends - starts)
    z = _normal_quantiles((ranks - 0.375) / (total + 0.25))
    return z.reshape(draws.shape)


def _rhat(draws: np.ndarray) -> np.ndarray:
    """Return the classic potential scale reduction factor of (M, n, ...) chains."""
    n = draws.shape[1]
    within = draws.var(axis=1, ddof=1).mean(axis=0)
    between_over_n = draws.mean(axis=1).var(axis=0, ddof=1)
    pooled = (n - 1) / n * within + between_over_n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(pooled / within)


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Return the biased autocovariance of every chain along axis 1, lags 0 to n - 1."""
    n = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()  # zero padding: no wrap-around of the lags
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    return np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=1)[:, :n] / n


def _ess_of_chains(chains: np.ndarray) -> float:
    """Return the effective sample size of one quantity drawn by M chains of n draws (M, n)."""
    m, n = chains.shape
    if np.ptp(chains) == 0.0:
        return float("nan")  # a constant: no variance to estimate
    acov = _autocovariance(chains)
    within = acov[:, 0].mean() * n / (n - 1)
    pooled = within * (n - 1) / n + (chains.mean(axis=1).var(ddof=1) if m > 1 else 0.0)
    rho = 1.0 - (within - acov.mean(axis=0)) / pooled
    rho[0] = 1.0  # by definition (the formula gives 1 only up to the n / (n - 1) correction)
    # Geyer: sums of consecutive pairs rho[2k] + rho[2k+1], taken while they are positive (an
    # initial positive sequence) and each made no larger than the one before (monotone). The
    # last pair looked at counts with its even term only, and only when that is positive: this
    # keeps chains whose draws alternate (antithetic chains) from being credited with too many.
    pairs, evens = [rho[0] + rho[1]], [rho[0]]
    stopped_by_negative_pair = False
    k = 2
    while k < n - 2 and pairs[-1] > 0.0:
        pair = rho[k] + rho[k + 1]
        evens.append(rho[k])
        if pair < 0.0:
            stopped_by_negative_pair = True
            break
        pairs.append(pair)
        k += 2
    full = pairs if stopped_by_negative_pair else pairs[:-1]
    monotone = np.minimum.accumulate(np.asarray(full)) if full else np.zeros(0)
    # tau = -1 + 2 * (the pairs) + that even term: the -1 because rho[0] = 1 is counted twice.
    # Bounded below, so the ESS is at most (draws) * log10(draws).
    tau = -1.0 + 2.0 * float(monotone.sum()) + max(float(evens[-1]), 0.0)
    tau = max(tau, 1.0 / math.log10(m * n))
    return m * n / tau


def _per_quantity(draws: np.ndarray, one: Any) -> np.ndarray:
    """Apply ``one`` (of (M, n) chains) to every trailing index of (M, n, ...) draws."""
    flat = draws.reshape(draws.shape[0], draws.shape[1], -1)
    values = [one(flat[:, :, j]) for j in range(flat.shape[2])]
    return np.asarray(values, dtype=float).reshape(draws.shape[2:])


def _smaller_tail_ess(chains: np.ndarray) -> float:
    """Return the smaller ESS of the indicators of the 5% and 95% quantiles of (M, n) chains."""
    low, high = np.quantile(chains, [0.05, 0.95])
    return min(
        _ess_of_chains((chains <= low).astype(float)),
        _ess_of_chains((chains <= high).astype(float)),
    )


def _split_rhat(split: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """Return the larger of the bulk R-hat (of ``ranked``, the rank-normalized ``split``) and
    the tail R-hat (of the ranks of the distance to the median)."""
    folded = np.abs(split - np.median(split.reshape(-1, *split.shape[2:]), axis=0))
    return np.fmax(_rhat(ranked), _rhat(_rank_normalize(folded)))


def ess(draws_CD: Any) -> np.ndarray:
    """Return the effective sample size of the draws themselves (split chains, no ranks).

    The plain estimate the bulk and tail ESS are built on; it assumes the quantity has a finite
    variance. Prefer :func:`ess_bulk` and :func:`ess_tail`.

    Parameters
    ----------
    draws_CD : array_like of shape (C, D) or (C, D, ...)
        C chains of D draws (at least 4) of one or more quantities.

    Returns
    -------
    ndarray of shape () or (...)
        The ESS of each quantity: C * D for independent draws, less for correlated ones. NaN for
        a quantity that never changes.

    Raises
    ------
    ValueError
        If ``draws_CD`` has fewer than two axes, fewer than 4 draws per chain, or holds NaN or
        infinity.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> chain = np.zeros(4000)
    >>> for t in range(1, 4000):  # AR(1), coefficient 0.5: ESS about N (1 - 0.5) / 1.5
    ...     chain[t] = 0.5 * chain[t - 1] + rng.normal()
    >>> round(float(ess(chain[None])) / 4000, 1)
    0.3
    """
    return _per_quantity(_split(_draws(draws_CD)), _ess_of_chains)


def ess_bulk(draws_CD: Any) -> np.ndarray:
    """Return the bulk effective sample size: that of the rank-normalized split chains.

    It says how precisely the draws pin down the centre of the distribution (its mean and
    median). A few hundred per quantity is enough for most summaries.

    Parameters
    ----------
    draws_CD : array_like of shape (C, D) or (C, D, ...)
        C chains of D draws (at least 4) of one or more quantities.

    Returns
    -------
    ndarray of shape () or (...)

    Raises
    ------
    ValueError
        As :func:`ess`.

    Examples
    --------
    >>> draws_CD = np.random.default_rng(0).standard_cauchy(size=(4, 1000))
    >>> bool(ess_bulk(draws_CD) > 3000)  # ranks do not mind the infinite variance
    True
    """
    return _per_quantity(_rank_normalize(_split(_draws(draws_CD))), _ess_of_chains)


def ess_tail(draws_CD: Any) -> np.ndarray:
    """Return the tail effective sample size: the smaller ESS of the 5% and 95% quantiles.

    It says how precisely the draws pin down a central 90% interval. Chains that rarely visit
    a tail have a tail ESS far below their bulk ESS.

    Parameters
    ----------
    draws_CD : array_like of shape (C, D) or (C, D, ...)
        C chains of D draws (at least 4) of one or more quantities.

    Returns
    -------
    ndarray of shape () or (...)

    Raises
    ------
    ValueError
        As :func:`ess`.

    Examples
    --------
    >>> draws_CD = np.random.default_rng(0).normal(size=(4, 1000))
    >>> bool(ess_tail(draws_CD) > 2500)
    True
    """
    return _per_quantity(_split(_draws(draws_CD)), _smaller_tail_ess)


def split_rhat(draws_CD: Any) -> np.ndarray:
    """Return the rank-normalized split R-hat: the larger of its bulk and tail values.

    1.0 for chains that agree with each other and with themselves; above 1.01 the chains have
    not mixed and their draws should not be trusted.

    Parameters
    ----------
    draws_CD : array_like of shape (C, D) or (C, D, ...)
        C chains of D draws (at least 4) of one or more quantities. One chain is split in two, so
        it gives an R-hat as well.

    Returns
    -------
    ndarray of shape () or (...)

    Raises
    ------
    ValueError
        As :func:`ess`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> stuck_CD = rng.normal(size=(4, 500)) + np.array([0.0, 0.0, 0.0, 3.0])[:, None]
    >>> bool(split_rhat(stuck_CD) > 1.1)  # one chain sits somewhere else
    True
    """
    split = _split(_draws(draws_CD))
    return _split_rhat(split, _rank_normalize(split))


def summary(draws: Any, *, names: list[str] | None = None) -> dict[str, Any]:
    """Return the mean, sd, 5% and 95% quantiles, bulk and tail ESS and R-hat of every scalar.

    Parameters
    ----------
    draws : array_like of shape (C, D, ...) or a tree of such arrays
        Draws of C chains; a tree (list of dicts of stacked parameter leaves, each of shape
        (C, D, ...)) is flattened leaf by leaf, in the order of :func:`tinynn.tree.leaves`.
    names : list of str, optional
        One name per scalar; ``x[0]``, ``x[1]``, ... or the leaf paths of a tree by default.

    Returns
    -------
    dict
        ``name`` (a list of str) and the arrays ``mean``, ``sd``, ``q5``, ``q95``,
        ``ess_bulk``, ``ess_tail`` and ``r_hat``, each with one entry per scalar.

    Raises
    ------
    ValueError
        If leaves disagree in C or D, or as :func:`ess`.
    TypeError
        If ``draws`` or one of its leaves is not numeric (the message names the leaf).

    Examples
    --------
    >>> table = summary(np.random.default_rng(0).normal(size=(4, 400, 2)))
    >>> table["name"], [round(float(r), 2) for r in table["r_hat"]]
    (['x[0]', 'x[1]'], [1.0, 1.0])
    """
    columns, default_names = _columns(draws)
    if names is not None and len(names) != len(columns):
        raise ValueError(
            f"names must have {len(columns)} entries (one per scalar), got {len(names)}"
        )
    stacked = np.stack(columns, axis=-1)  # (C, D, P), every column checked by _columns
    pooled = stacked.reshape(-1, stacked.shape[-1])
    split = _split(stacked)
    ranked = _rank_normalize(split)  # shared by the bulk ESS and the R-hat
    return {
        "name": [str(name) for name in (default_names if names is None else names)],
        "mean": pooled.mean(axis=0),
        "sd": pooled.std(axis=0, ddof=1),
        "q5": np.quantile(pooled, 0.05, axis=0),
        "q95": np.quantile(pooled, 0.95, axis=0),
        "ess_bulk": _per_quantity(ranked, _ess_of_chains),
        "ess_tail": _per_quantity(split, _smaller_tail_ess),
        "r_hat": _split_rhat(split, ranked),
    }


def _columns(draws: Any) -> tuple[list[np.ndarray], list[str]]:
    """Flatten (C, D, ...) draws, or a tree of them, into a list of (C, D) columns with names."""
    if isinstance(draws, (list, tuple, dict)) and not _is_numeric_nest(draws):
        pairs = tree.leaves_with_paths(draws)  # each leaf is checked as (C, D, ...) draws below
        columns, names = [], []
        shape: tuple[int, ...] | None = None
        for path, leaf in pairs:
            array = _draws(leaf, f"draws leaf {path}")
            if shape is not None and array.shape[:2] != shape:
                raise ValueError(
                    f"draws leaf {path} has {array.shape[0]} chains of {array.shape[1]} draws, "
                    f"the leaves before it {shape[0]} of {shape[1]}"
                )
            shape = array.shape[:2]
            flat = array.reshape(shape[0], shape[1], -1)
            for j, index in enumerate(np.ndindex(array.shape[2:])):
                suffix = f"[{', '.join(map(str, index))}]" if index else ""
                columns.append(flat[:, :, j])
                names.append(f"{path}{suffix}")
        return columns, names
    array = _draws(draws, "draws")
    flat = array.reshape(array.shape[0], array.shape[1], -1)
    names = [f"x[{', '.join(map(str, index))}]" for index in np.ndindex(array.shape[2:])]
    return [flat[:, :, j] for j in range(flat.shape[2])], names if array.ndim > 2 else ["x"]


def _is_numeric_nest(value: Any) -> bool:
    """True for nested lists of numbers (an array written as lists), False for a tree of arrays."""
    try:
        np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, dict)


def format_summary(table: dict[str, Any]) -> str:
    """Return a :func:`summary` as an aligned text table, one row per scalar.

    Examples
    --------
    >>> table = summary(np.random.default_rng(0).normal(size=(4, 400)))
    >>> print(format_summary(table).splitlines()[0])
    name     mean     sd     q5    q95  ess_bulk  ess_tail  r_hat
    """
    width = max([4, *(len(str(name)) for name in table["name"])])
    lines = [
        f"{'name':<{width}} {'mean':>6} {'sd':>6} {'q5':>6} {'q95':>6} "
        f"{'ess_bulk':>9} {'ess_tail':>9} {'r_hat':>6}"
    ]
    for k, name in enumerate(table["name"]):
        lines.append(
            f"{name!s:<{width}} {table['mean'][k]:6.3g} {table['sd'][k]:6.3g} "
            f"{table['q5'][k]:6.3g} {table['q95'][k]:6.3g} {table['ess_bulk'][k]:9.0f} "
            f"{table['ess_tail'][k]:9.0f} {table['r_hat'][k]:6.3f}"
        )
    return "\n".join(lines)
