"""Walk several trees in step: the machinery behind :mod:`tinynn.tree` (private to it).

``fast_walk`` handles the common case without tracking paths and raises ``Mismatch`` on any
difference; ``apply`` then re-walks with ``walk``, which tracks paths only to word the error.
Both unwrap autograd's boxed containers with ``getval`` and index them through the box so that
gradients flow. Plain dicts, lists and tuples are recognised before anything is unwrapped, so
the walks over concrete values (the optimizer loop runs several per step) stay lean.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np
from autograd.tracer import box_types, getval

from tinynn._checks import describe, shape_of

Path = tuple[Any, ...]

_CONTAINERS = (dict, list, tuple)


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


def fast_walk(
    fn: Callable[..., Any], first: Any, rest: tuple[Any, ...] = (), same_shapes: bool = False
) -> Any:
    """Apply ``fn(*leaves)`` without tracking paths; raise Mismatch on any difference.

    With ``same_shapes`` a difference in leaf shapes is a mismatch too (nothing broadcasts).
    Plain containers are recognised first; boxed ones are unwrapped and indexed through the box.
    """
    if type(first) is list and _is_layer_list(first, rest, same_shapes):
        if not rest:  # one or two trees, the optimizer's usual calls: no generator per leaf
            return [{k: fn(v) for k, v in layer.items()} for layer in first]
        if len(rest) == 1:
            return [
                {k: fn(v, other[k]) for k, v in layer.items()}
                for layer, other in zip(first, rest[0], strict=True)
            ]
        return [
            {k: fn(v, *(t[i][k] for t in rest)) for k, v in layer.items()}
            for i, layer in enumerate(first)
        ]
    value = getval(first) if type(first) in box_types else first  # autograd's own isbox test
    if isinstance(value, dict):
        for other in rest:
            if not isinstance(other, dict):
                other = getval(other) if type(other) in box_types else None
                if not isinstance(other, dict):
                    raise Mismatch
            if len(other) != len(value):
                raise Mismatch
        items = first.items() if value is first else [(k, first[k]) for k in value]
        try:
            return {
                k: fast_walk(fn, child, tuple(t[k] for t in rest), same_shapes)
                for k, child in items
            }
        except KeyError:
            raise Mismatch from None
    if isinstance(value, (list, tuple)):
        n = len(value)
        for other in rest:
            if not isinstance(other, (list, tuple)):
                other = getval(other) if type(other) in box_types else None
                if not isinstance(other, (list, tuple)):
                    raise Mismatch
            if len(other) != n:
                raise Mismatch
        children = [
            fast_walk(fn, first[i], tuple(t[i] for t in rest), same_shapes) for i in range(n)
        ]
        return _rebuild(value, children)
    if rest:
        shape = _shape(first) if same_shapes else ()
        for other in rest:
            if isinstance(other, _CONTAINERS):
                raise Mismatch
            if type(other) in box_types and isinstance(getval(other), _CONTAINERS):
                raise Mismatch
            if same_shapes and _shape(other) != shape:
                raise Mismatch
    return fn(first, *rest)


def _is_layer_list(first: list[Any], rest: tuple[Any, ...], same_shapes: bool) -> bool:
    """Say whether all trees are plain lists of plain dicts of ndarrays with equal structure.

    That is the network's parameter layout, the case every optimizer step walks several times;
    it is then mapped in one flat comprehension instead of a recursive walk.
    """
    n = len(first)
    for other in rest:
        if type(other) is not list or len(other) != n:
            return False
    for i, layer in enumerate(first):
        if type(layer) is not dict:
            return False
        others = [t[i] for t in rest]
        for other in others:
            if type(other) is not dict or len(other) != len(layer):
                return False
        for k, v in layer.items():
            if type(v) is not np.ndarray:
                return False
            for other in others:
                u = other.get(k)
                if type(u) is not np.ndarray or (same_shapes and u.shape != v.shape):
                    return False
    return True


def collect_leaves(node: Any, out: list[Any]) -> list[Any]:
    """Append the leaves of ``node`` to ``out`` in flatten order and return ``out``."""
    if isinstance(node, dict):
        for child in node.values():
            collect_leaves(child, out)
    elif isinstance(node, (list, tuple)):
        for child in node:
            collect_leaves(child, out)
    elif type(node) in box_types and isinstance(getval(node), _CONTAINERS):
        fast_walk(out.append, node)  # a boxed container: index through the box
    else:
        out.append(node)
    return out


def concat_values(leaf_list: list[Any]) -> np.ndarray:
    """Return concrete numeric leaves raveled and concatenated into one float64 vector."""
    if not leaf_list:
        return np.zeros(0)
    return np.concatenate([np.ravel(leaf) for leaf in leaf_list]).astype(np.float64, copy=False)


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


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, np.ndarray) else shape_of(x)


def apply(op: Callable[..., Any], trees: tuple[Any, ...], root: str, same_shapes: bool) -> Any:
    """Map ``op`` over the leaves of ``trees``: fast path first, slow path for the error."""
    try:
        return fast_walk(op, trees[0], trees[1:], same_shapes)
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
