"""Shared machinery for tinynn's fast autograd primitives (private, ground floor).

A fast primitive is a numpy function that autograd records as ONE graph node, with a hand-derived
vector-Jacobian product. Every fast primitive in tinynn (the network in ``tinynn.model``, the
Gaussian likelihood, the sum of squares and the fused objective in ``tinynn.losses``) is defined
the same way:

1. its forward function computes with plain numpy and leaves what its backward pass needs with
   :func:`stash` (a thread-local slot checked by identity of the output, because autograd calls
   the VJP maker right after the forward call);
2. its VJP maker calls :func:`cached_vjp` with a ``backward(cached, g)`` function that reuses the
   stashed forward pass;
3. :func:`register` wraps the forward function with ``autograd.extend.primitive``, attaches the
   VJP, and attaches a forward-mode JVP computed from a plain traced ``reference``.

Whenever the output or the cotangent is itself traced (grad of grad, Hessian-vector products),
the VJP differentiates the plain traced ``reference`` instead, so higher-order derivatives stay
correct while first-order ones stay fast.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from autograd.core import make_jvp, make_vjp
from autograd.extend import defjvp_argnums, defvjp_argnums, primitive
from autograd.tracer import box_types, getval, isbox

__all__ = [
    "any_box",
    "as_layers",
    "cached_vjp",
    "layer_leaves",
    "leaf_grads",
    "register",
    "stash",
    "traced_vjp",
    "unbox",
]

_STASH = threading.local()

unbox = getval
"""Peel autograd boxes off a value (a container box holds a plain container)."""


def any_box(values: Sequence[Any]) -> bool:
    """Return True when any of ``values`` is an autograd box (autograd's own exact-type test)."""
    return not box_types.isdisjoint(map(type, values))


def _substituted(
    fun: Callable[..., Any], args: Sequence[Any], argnums: Sequence[int]
) -> Callable[[Any], Any]:
    """Return ``sub -> fun(*args)`` with ``args[argnums[i]]`` replaced by ``sub[i]``."""

    def partial(sub: Any) -> Any:
        full = list(args)
        for i, argnum in enumerate(argnums):
            full[argnum] = sub[i]
        return fun(*full)

    return partial


def traced_vjp(
    fun: Callable[..., Any], argnums: Sequence[int], args: Sequence[Any]
) -> Callable[[Any], Any]:
    """Return a VJP over ``argnums`` computed by autograd on ``fun`` (the second-order path)."""

    def vjp(g: Any) -> Any:
        vjp_fn, _ = make_vjp(_substituted(fun, args, argnums), tuple(args[i] for i in argnums))
        return vjp_fn(g)

    return vjp


def _traced_jvp(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Return a JVP maker for ``defjvp_argnums`` that runs forward mode on ``fun``."""

    def jvp(argnums: Sequence[int], gs: Sequence[Any], ans: Any, args: tuple, kwargs: dict) -> Any:
        partial = _substituted(fun, args, argnums)
        return make_jvp(partial, tuple(args[i] for i in argnums))(tuple(gs))[1]

    return jvp


def stash(ans: Any, payload: Any) -> None:
    """Leave ``payload`` for the VJP maker that autograd calls right after this forward pass."""
    _STASH.item = (ans, payload)


def _take_stash(ans: Any) -> Any:
    """Return what the forward pass that produced ``ans`` stashed, or None."""
    item = getattr(_STASH, "item", None)
    _STASH.item = None
    if item is None or item[0] is not ans:
        return None
    return item[1]


def cached_vjp(
    reference: Callable[..., Any],
    argnums: Sequence[int],
    ans: Any,
    args: tuple,
    backward: Callable[[Any, Any], list[Any]],
) -> Callable[[Any], Any]:
    """Return the VJP of a fast primitive: ``backward(cached, g)`` on the stashed forward pass.

    Under higher-order tracing (``ans`` or ``g`` boxed) autograd differentiates ``reference``
    instead. The stash is handed to ``backward`` once; a second call gets None and must
    recompute what it needs.
    """
    payload = _take_stash(ans)
    if isbox(ans):
        return traced_vjp(reference, argnums, args)
    state = [payload]

    def vjp(g: Any) -> list[Any]:
        if isbox(g):
            return traced_vjp(reference, argnums, args)(g)
        cached, state[0] = state[0], None
        return backward(cached, g)

    return vjp


# ---------------------------------------------------------------- the layers' leaves convention
# A network primitive that receives its parameters as separate traced leaves takes them in the
# order w0, b0, w1, b1, ... after its other arguments (``head``).


def layer_leaves(params: Any) -> list[Any]:
    """Return ``[w0, b0, w1, b1, ...]`` of a list of ``{'w', 'b'}`` layers."""
    return [leaf for layer in params for leaf in (layer["w"], layer["b"])]


def as_layers(leaves: Sequence[Any]) -> list[dict[str, Any]]:
    """Return the list of ``{'w', 'b'}`` layers of ``[w0, b0, w1, b1, ...]``."""
    return [{"w": w, "b": b} for w, b in zip(leaves[0::2], leaves[1::2], strict=True)]


def leaf_grads(
    head: list[Any], gws: Sequence[Any], gbs: Sequence[Any], argnums: Sequence[int]
) -> list[Any]:
    """Return the gradients asked for by ``argnums``: ``head`` then ``gw0, gb0, gw1, ...``."""
    grads = list(head)
    for gw, gb in zip(gws, gbs, strict=True):
        grads += [gw, gb]
    return [grads[i] for i in argnums]


def register(
    forward: Callable[..., Any],
    make_vjp_fn: Callable[..., Any],
    reference: Callable[..., Any],
) -> Any:
    """Return ``forward`` as an autograd primitive with its VJP maker and a reference JVP.

    ``make_vjp_fn(argnums, ans, args, kwargs)`` is autograd's ``defvjp_argnums`` protocol;
    forward mode (``autograd.make_jvp``) differentiates the plain traced ``reference``, which
    takes the same arguments as ``forward``.
    """
    prim = primitive(forward)
    defvjp_argnums(prim, make_vjp_fn)
    defjvp_argnums(prim, _traced_jvp(reference))
    return prim
