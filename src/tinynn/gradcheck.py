"""Check autograd gradients of your own code against central finite differences.

``check_grad(loss, params)`` is a one-line assertion for a course's pytest suite: it raises an
AssertionError naming the worst entry (leaf path and index) when the two gradients disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import autograd
import numpy as np

from tinynn import tree
from tinynn._checks import as_generator, check_int, check_nonnegative, check_positive, describe

__all__ = ["GradCheckReport", "check_grad"]


@dataclass(frozen=True)
class GradCheckReport:
    """Outcome of :func:`check_grad`; truthy when every checked entry agreed.

    Attributes
    ----------
    ok : bool
        True when ``|autograd - numeric| <= atol + rtol * |numeric|`` for every checked entry.
    path : str
        Leaf holding the worst entry, e.g. ``"params[1]['w']"``.
    index : tuple of int
        Index of the worst entry inside that leaf (``()`` for a scalar leaf).
    autograd_value, numeric_value : float
        The two gradient values at the worst entry.
    abs_error, rel_error : float
        ``|autograd - numeric|`` and that divided by ``max(|autograd|, |numeric|)``.
    n_checked : int
        Number of entries compared.
    eps, rtol, atol : float
        Settings used.

    Examples
    --------
    A cube with a hand-written gradient that is wrong (``2 x**2`` instead of ``3 x**2``):

    >>> import autograd.numpy as anp
    >>> from autograd.extend import defvjp, primitive
    >>> from tinynn.gradcheck import check_grad
    >>> @primitive
    ... def cube(x):
    ...     return x**3
    >>> defvjp(cube, lambda ans, x: lambda g: g * 2 * x**2)
    >>> params = {'w': np.array([1.0, 2.0])}
    >>> report = check_grad(lambda p: anp.sum(cube(p['w'])), params, raise_on_failure=False)
    >>> bool(report), report.path, report.index, report.n_checked
    (False, "params['w']", (1,), 2)
    >>> round(report.autograd_value, 3), round(report.numeric_value, 3)
    (8.0, 12.0)
    >>> print(report)  # doctest: +ELLIPSIS
    gradient check FAILED (2 entries, ...); worst entry params['w'][1]: autograd 8, ...
    """

    ok: bool
    path: str
    index: tuple[int, ...]
    autograd_value: float
    numeric_value: float
    abs_error: float
    rel_error: float
    n_checked: int
    eps: float
    rtol: float
    atol: float

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        where = self.path + (f"[{', '.join(map(str, self.index))}]" if self.index else "")
        return (
            f"gradient check {verdict} ({self.n_checked} entries, eps={self.eps:g}, "
            f"rtol={self.rtol:g}, atol={self.atol:g}); worst entry {where}: "
            f"autograd {self.autograd_value:.10g}, finite differences {self.numeric_value:.10g}, "
            f"abs error {self.abs_error:.3g}, rel error {self.rel_error:.3g}"
        )


def _scalar(value: Any) -> float:
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "biuf":
        raise ValueError(f"fn must return a real scalar, got {describe(value)}")
    return float(arr.reshape(()))


def check_grad(
    fn: Any,
    params: Any,
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    raise_on_failure: bool = True,
    max_entries: int | None = None,
    rng: Any = None,
) -> GradCheckReport:
    """Compare ``autograd.grad(fn)(params)`` with central finite differences.

    Each entry ``i`` of the flattened parameters gets the numeric derivative
    ``(fn(theta + eps e_i) - fn(theta - eps e_i)) / (2 eps)``; it agrees with autograd when
    ``|autograd - numeric| <= atol + rtol * |numeric|``.

    Parameters
    ----------
    fn : callable
        Scalar function of a parameter tree, written with ``autograd.numpy``.
    params : tree
        Point to check at: an array, or nested lists, tuples and dicts of arrays (e.g. network
        parameters). Not modified.
    eps : float, default 1e-6
        Finite-difference step.
    rtol, atol : float, default 1e-5 and 1e-7
        Relative and absolute tolerances.
    raise_on_failure : bool, default True
        Raise an AssertionError carrying the report when the check fails.
    max_entries : int, optional
        Check only this many entries, chosen at random (for large networks).
    rng : numpy.random.Generator, int or None, default None
        Randomness for choosing the entries when ``max_entries`` is set.

    Returns
    -------
    GradCheckReport
        Truthy when the gradients agree; ``str()`` gives a readable one-line report.

    Raises
    ------
    AssertionError
        If the gradients disagree and ``raise_on_failure`` is True; the message names the worst
        leaf and index.
    TypeError, ValueError
        If ``fn`` is not callable, does not return a real scalar, or a setting is invalid.

    Examples
    --------
    >>> import autograd.numpy as anp
    >>> from tinynn.gradcheck import check_grad
    >>> params = [{'w': np.array([[1.0, -2.0]]), 'b': np.array([0.5, 0.1])}]
    >>> loss = lambda p: anp.sum(anp.tanh(p[0]['w']) ** 2) + anp.sum(p[0]['b'] ** 3)
    >>> bool(check_grad(loss, params))
    True
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable returning a scalar, got {describe(fn)}")
    eps = check_positive(eps, "eps")
    rtol = check_nonnegative(rtol, "rtol")
    atol = check_nonnegative(atol, "atol")
    theta_P, unflatten = tree.flatten(params)
    if theta_P.size == 0:
        raise ValueError("params must hold at least one number to check, got an empty tree")
    if not np.all(np.isfinite(theta_P)):
        raise ValueError("params must be finite to check gradients, got NaN or infinity")
    point = unflatten(theta_P)  # float64 copy of params: integer leaves cannot be traced
    value = _scalar(fn(point))
    if not np.isfinite(value):
        raise ValueError(
            f"fn returned {value} at params, so its gradient cannot be checked there; check "
            "fn at a point where it is finite"
        )
    grad_P = tree.flatten(autograd.grad(fn)(point))[0]
    entries = np.arange(theta_P.size)
    if max_entries is not None:
        count = check_int(max_entries, "max_entries", minimum=1)
        if count < theta_P.size:
            entries = np.sort(as_generator(rng).choice(theta_P.size, count, replace=False))
    numeric = np.empty(entries.size)
    for k, i in enumerate(entries):
        step = np.zeros_like(theta_P)
        step[i] = eps
        up = _scalar(fn(unflatten(theta_P + step)))
        down = _scalar(fn(unflatten(theta_P - step)))
        numeric[k] = (up - down) / (2.0 * eps)
    auto = grad_P[entries]
    abs_err = np.abs(auto - numeric)
    with np.errstate(invalid="ignore", divide="ignore"):
        badness = abs_err / (atol + rtol * np.abs(numeric))
    badness = np.where(abs_err == 0.0, 0.0, np.where(np.isnan(badness), np.inf, badness))
    worst = int(np.argmax(badness))
    path, index = _locate(params, int(entries[worst]))
    a, n = float(auto[worst]), float(numeric[worst])
    scale = max(abs(a), abs(n))
    report = GradCheckReport(
        ok=bool(np.all(badness <= 1.0)),
        path=path,
        index=index,
        autograd_value=a,
        numeric_value=n,
        abs_error=abs(a - n),
        rel_error=abs(a - n) / scale if scale > 0 else abs(a - n),
        n_checked=int(entries.size),
        eps=eps,
        rtol=rtol,
        atol=atol,
    )
    if raise_on_failure and not report.ok:
        raise AssertionError(str(report))
    return report


def _locate(params: Any, flat_index: int) -> tuple[str, tuple[int, ...]]:
    """Return the leaf path and the index inside that leaf of a flattened entry."""
    pairs = tree.leaves_with_paths(params, root="params")
    sizes = [int(np.size(leaf)) for _, leaf in pairs]
    ends = np.cumsum(sizes)
    k = int(np.searchsorted(ends, flat_index, side="right"))
    path, leaf = pairs[k]
    offset = flat_index - (int(ends[k]) - sizes[k])
    return path, tuple(int(j) for j in np.unravel_index(offset, np.shape(leaf)))
