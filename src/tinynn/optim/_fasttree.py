"""Lean tree operations for the optimizer loop, where :mod:`tinynn.tree` costs too much.

:mod:`tinynn.tree` handles autograd's boxed containers and names paths in every error, which
makes one call cost tens of microseconds per leaf: more than a whole gradient of a tiny network.
The optimizers run on concrete values after :func:`minimize` has checked the gradient's structure
once, so these helpers walk plain dicts, lists and tuples directly. They still never broadcast:
on any difference in structure or leaf shape they hand over to :mod:`tinynn.tree` for its error
message, and boxed values go the slow, general way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from autograd.tracer import isbox

from tinynn import tree


class _Mismatch(Exception):
    pass


class _Boxed(Exception):
    pass


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, np.ndarray) else np.shape(x)


def _map(fn: Callable[..., Any], first: Any, rest: tuple[Any, ...]) -> Any:
    if isinstance(first, dict):
        for other in rest:
            if not isinstance(other, dict) or len(other) != len(first):
                raise _Mismatch
        try:
            return {k: _map(fn, v, tuple(o[k] for o in rest)) for k, v in first.items()}
        except KeyError:
            raise _Mismatch from None
    if isinstance(first, (list, tuple)):
        n = len(first)
        for other in rest:
            if not isinstance(other, (list, tuple)) or len(other) != n:
                raise _Mismatch
        children = [_map(fn, first[i], tuple(o[i] for o in rest)) for i in range(n)]
        if isinstance(first, tuple):
            if hasattr(first, "_fields"):
                return type(first)(*children)
            return tuple(children)
        return children
    if isbox(first):
        raise _Boxed
    shape = _shape(first)
    for other in rest:
        if isbox(other):
            raise _Boxed
        if isinstance(other, (dict, list, tuple)) or _shape(other) != shape:
            raise _Mismatch
    return fn(first, *rest)


def tree_map(fn: Callable[..., Any], first: Any, *rest: Any) -> Any:
    """Return ``fn`` applied leafwise to trees of identical structure and leaf shapes."""
    try:
        return _map(fn, first, rest)
    except _Boxed:
        return tree.map(fn, first, *rest)
    except _Mismatch:
        for other in rest:
            tree.sub(first, other)  # raises ValueError naming the path where the trees differ
        raise ValueError("tree structures differ") from None  # pragma: no cover


def leaves(node: Any, out: list[Any] | None = None) -> list[Any]:
    """Return the leaves of a plain tree in flatten order (dicts in insertion order)."""
    if out is None:
        out = []
    if isinstance(node, dict):
        for value in node.values():
            leaves(value, out)
    elif isinstance(node, (list, tuple)):
        for value in node:
            leaves(value, out)
    else:
        out.append(node)
    return out


def global_norm(node: Any) -> float:
    """Return the Euclidean norm of all scalars of a plain tree, as a Python float."""
    total = 0.0
    for leaf in leaves(node):
        arr = leaf if isinstance(leaf, np.ndarray) else np.asarray(leaf)
        total += float(np.vdot(arr, arr))
    return math.sqrt(total)


def flatten_values(node: Any) -> np.ndarray:
    """Return the leaves of a plain tree concatenated into one float64 vector."""
    parts = [np.ravel(np.asarray(leaf, dtype=np.float64)) for leaf in leaves(node)]
    return np.concatenate(parts) if parts else np.zeros(0)
