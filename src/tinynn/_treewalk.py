"""Walk several trees in step: the machinery behind :mod:`tinynn.tree` (private).

``fast_walk`` handles the common case without tracking paths and raises ``Mismatch`` on any
difference; ``apply`` then re-walks with ``walk``, which tracks paths only to word the error.
Both unwrap autograd's boxed containers with ``getval`` and index them through the box so that
gradients flow.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np
from autograd.tracer import getval, isbox

from tinynn._checks import describe

Path = tuple[Any, ...]


def format_path(root: str, path: Path) -> str:
    return root + "".join(f"[{key!r}]" for key in path)


def _rebuild(template: Any, children: list[Any]) -> Any:
    """Return a plain container of the same kind as ``template`` holding ``children``."""
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        return type(template)(*children)
    if isinstance(template, tuple):
        return tuple(children)
    return children


class Mismatch(Exception):
    """Raised by the fast walk; the slow walk then finds the path and raises a ValueError."""


def fast_walk(fn: Callable[..., Any], first: Any, rest: tuple[Any, ...] = ()) -> Any:
    """Apply ``fn(*leaves)`` without tracking paths; raise Mismatch on any difference."""
    value = getval(first) if isbox(first) else first
    if isinstance(value, dict):
        for other in rest:
            other_value = getval(other) if isbox(other) else other
            if not isinstance(other_value, dict) or len(other_value) != len(value):
                raise Mismatch
        try:
            return {k: fast_walk(fn, first[k], tuple(t[k] for t in rest)) for k in value}
        except KeyError:
            raise Mismatch from None
    if isinstance(value, (list, tuple)):
        n = len(value)
        for other in rest:
            other_value = getval(other) if isbox(other) else other
            if not isinstance(other_value, (list, tuple)) or len(other_value) != n:
                raise Mismatch
        items = value if value is first else [first[i] for i in range(n)]
        if rest:
            children = [fast_walk(fn, items[i], tuple(t[i] for t in rest)) for i in range(n)]
        else:
            children = [fast_walk(fn, item, ()) for item in items]
        return _rebuild(value, children)
    for other in rest:
        if isinstance(getval(other) if isbox(other) else other, (dict, list, tuple)):
            raise Mismatch
    return fn(first, *rest)


def walk(fn: Callable[..., Any], trees: tuple[Any, ...], path: Path, root: str) -> Any:
    """Apply ``fn(path, *leaves)``, tracking paths so that errors can name them (slow path)."""
    first = getval(trees[0])
    values = [getval(t) for t in trees[1:]]
    if isinstance(first, dict):
        for j, other in enumerate(values, start=2):
            if not isinstance(other, dict):
                _mismatch(root, path, first, other, j)
            if len(other) != len(first) or builtins.any(k not in other for k in first):
                missing = [k for k in first if k not in other]
                extra = [k for k in other if k not in first]
                raise ValueError(
                    f"tree structures differ at {format_path(root, path)}: tree {j} is missing "
                    f"keys {missing} and has extra keys {extra} compared with the first tree"
                )
        return {k: walk(fn, tuple(t[k] for t in trees), (*path, k), root) for k in first}
    if isinstance(first, (list, tuple)):
        for j, other in enumerate(values, start=2):
            if not isinstance(other, (list, tuple)) or len(other) != len(first):
                _mismatch(root, path, first, other, j)
        children = [
            walk(fn, tuple(t[i] for t in trees), (*path, i), root) for i in range(len(first))
        ]
        return _rebuild(first, children)
    for j, other in enumerate(values, start=2):
        if isinstance(other, (dict, list, tuple)):
            _mismatch(root, path, first, other, j)
    return fn(path, *trees)


def shape_of(x: Any) -> tuple[int, ...]:
    try:
        return tuple(x.shape)  # ndarray, numpy scalar, ArrayBox
    except AttributeError:
        return tuple(np.shape(x))


def apply(op: Callable[..., Any], trees: tuple[Any, ...], root: str, same_shapes: bool) -> Any:
    """Map ``op`` over the leaves of ``trees``: fast path first, slow path for the error."""

    def fast_op(*xs: Any) -> Any:
        shape = shape_of(xs[0])
        if builtins.any(shape_of(x) != shape for x in xs[1:]):
            raise Mismatch
        return op(*xs)

    try:
        return fast_walk(fast_op if same_shapes else op, trees[0], trees[1:])
    except Mismatch:
        pass

    def slow_op(path: Path, *xs: Any) -> Any:
        shapes = [shape_of(x) for x in xs]
        if same_shapes and builtins.any(s != shapes[0] for s in shapes[1:]):
            raise ValueError(
                f"leaf shapes differ at {format_path(root, path)}: got shapes "
                f"{', '.join(str(s) for s in shapes)}; tree operations never broadcast"
            )
        return op(*xs)

    return walk(slow_op, trees, (), root)


def _mismatch(root: str, path: Path, first: Any, other: Any, j: int) -> None:
    raise ValueError(
        f"tree structures differ at {format_path(root, path)}: the first tree has "
        f"{describe(first)}, tree {j} has {describe(other)}; pass trees of the same structure"
    )
