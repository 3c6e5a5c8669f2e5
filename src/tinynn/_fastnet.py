"""Private fast path of ``tinynn.model.predict``: the whole network as one autograd primitive.

autograd records one graph node per traced numpy call (about 15 us each) and one
``container_take`` node per ``params[i]['w']`` lookup. Here the forward pass is one primitive with
a hand-derived vector-Jacobian product, so ``value_and_grad`` of a loss built on ``predict`` records
a handful of nodes whatever the depth of the network.

Two primitives cover the two ways parameters arrive under autograd:

- ``predict_tree(params, x, name)`` takes the WHOLE parameter container. A function under
  ``autograd.grad`` receives its list argument as one ``SequenceBox``; passing that box straight in
  records no indexing nodes, and the VJP returns a gradient list of dicts of the same structure.
- ``predict_leaves(x, name, *leaves)`` takes ``w0, b0, w1, b1, ...`` as separate arguments, for a
  plain list of dicts whose leaves are traced (variational inference: ``w = mean + std * eps``).

The forward pass keeps the hidden activations and hands them to the VJP through a thread-local
stash checked by identity of the output (the VJP maker runs right after the forward call), so the
backward pass never recomputes them. A VJP reached with traced arguments or a traced cotangent
(grad of grad, Hessian-vector products) falls back to differentiating the plain traced reference,
``reference_predict``, so higher-order derivatives stay correct.

Shape suffixes: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.core import make_jvp, make_vjp
from autograd.extend import defjvp_argnums, defvjp_argnums, primitive
from autograd.tracer import isbox

from tinynn._activations import KERNELS, Kernel

_STASH = threading.local()

Buffers = Callable[[Any, tuple[int, ...]], np.ndarray] | None


def unbox(value: Any) -> Any:
    """Peel autograd boxes off ``value`` (a container box holds a plain container)."""
    while isbox(value):
        value = value._value
    return value


def any_box(values: Sequence[Any]) -> bool:
    """Return True when any of ``values`` is an autograd box."""
    return any(isbox(v) for v in values)


def as_matrix(x: Any, n_features: int) -> Any:
    """Return x as (N, D): (N,) is N examples of one feature, (D,) one example of D features."""
    if x.ndim == 2:
        return x
    if n_features == 1:
        return x.reshape(-1, 1)
    return x.reshape(1, -1)


# ---------------------------------------------------------------- numpy kernels


def forward(
    ws: Sequence[np.ndarray],
    bs: Sequence[np.ndarray],
    x_ND: np.ndarray,
    kernel: Kernel,
    buffers: Buffers = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the network output (N, O) and the inputs of every layer (``acts[0]`` is x)."""
    acts = [x_ND]
    a = x_ND
    last = len(ws) - 1
    for layer in range(last):
        w = ws[layer]
        if buffers is None:
            z = a @ w
        else:
            z = buffers(("a", layer), (a.shape[0], w.shape[1]))
            np.matmul(a, w, out=z)
        z += bs[layer]
        kernel.forward(z, z)
        acts.append(z)
        a = z
    out = a @ ws[last]
    out += bs[last]
    return out, acts


def backward(
    ws: Sequence[np.ndarray],
    acts: list[np.ndarray],
    g_NO: np.ndarray,
    kernel: Kernel,
    *,
    need_x: bool,
    buffers: Buffers = None,
    out: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
    """Return the gradients of every w, every b and (when asked) x, given d(loss)/d(output).

    The hidden activations in ``acts`` are overwritten by their derivatives: call it once per
    forward pass. Returned gradients are fresh arrays (autograd may add into them in place),
    or the arrays of ``out = (gws, gbs)`` written in place when it is given.
    """
    n_layers = len(ws)
    gws: list[np.ndarray] = [g_NO] * n_layers
    gbs: list[np.ndarray] = [g_NO] * n_layers
    delta = g_NO
    for layer in range(n_layers - 1, -1, -1):
        a = acts[layer]
        if out is None:
            gws[layer] = a.T @ delta
            gbs[layer] = np.add.reduce(delta, axis=0)
        else:
            gws[layer] = np.matmul(a.T, delta, out=out[0][layer])
            gbs[layer] = np.add.reduce(delta, axis=0, out=out[1][layer])
        if layer == 0 and not need_x:
            break
        w_t = ws[layer].T
        if layer == 0 or buffers is None:
            d_prev = delta @ w_t
        else:
            d_prev = buffers(("d", layer), (delta.shape[0], w_t.shape[1]))
            np.matmul(delta, w_t, out=d_prev)
        if layer > 0:
            kernel.deriv_mul(a, d_prev)
        delta = d_prev
    return gws, gbs, (delta if need_x else None)


# ---------------------------------------------------------------- plain traced reference


def reference_predict(params: Any, x: Any, activation: Callable[[Any], Any]) -> Any:
    """Predict with plain autograd.numpy calls (the reference, and the path for callables)."""
    n_layers = len(params)
    first_w = params[0]["w"]
    a = as_matrix(x, unbox(first_w).shape[0])
    for layer in range(n_layers):
        layer_dict = params[layer]
        z = anp.dot(a, layer_dict["w"]) + layer_dict["b"]
        a = activation(z) if layer < n_layers - 1 else z
    return a[:, 0] if unbox(a).shape[1] == 1 else a


def traced_vjp(
    fun: Callable[..., Any], argnums: Sequence[int], args: Sequence[Any]
) -> Callable[[Any], Any]:
    """Return a VJP over ``argnums`` computed by autograd on ``fun`` (the second-order path)."""

    def partial(sub: Any) -> Any:
        full = list(args)
        for i, argnum in enumerate(argnums):
            full[argnum] = sub[i]
        return fun(*full)

    def vjp(g: Any) -> Any:
        vjp_fn, _ = make_vjp(partial, tuple(args[i] for i in argnums))
        return vjp_fn(g)

    return vjp


def traced_jvp(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Return a JVP maker for ``defjvp_argnums`` that runs forward mode on ``fun``."""

    def jvp(argnums: Sequence[int], gs: Sequence[Any], ans: Any, args: tuple, kwargs: dict) -> Any:
        def partial(sub: Any) -> Any:
            full = list(args)
            for i, argnum in enumerate(argnums):
                full[argnum] = sub[i]
            return fun(*full)

        return make_jvp(partial, tuple(args[i] for i in argnums))(tuple(gs))[1]

    return jvp


def stash(ans: Any, payload: Any) -> None:
    """Leave ``payload`` for the VJP maker that autograd calls right after this forward pass."""
    _STASH.item = (ans, payload)


def take_stash(ans: Any) -> Any:
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
    instead. The stash is handed to ``backward`` once; a second call gets None.
    """
    payload = take_stash(ans)
    if isbox(ans):
        return traced_vjp(reference, argnums, args)
    state = [payload]

    def vjp(g: Any) -> list[Any]:
        if isbox(g):
            return traced_vjp(reference, argnums, args)(g)
        cached, state[0] = state[0], None
        return backward(cached, g)

    return vjp


# ---------------------------------------------------------------- primitives


def _layers(params: Any) -> tuple[list[Any], list[Any]]:
    return [layer["w"] for layer in params], [layer["b"] for layer in params]


def _finish(out_NO: np.ndarray) -> np.ndarray:
    return out_NO[:, 0] if out_NO.shape[1] == 1 else out_NO


def _predict_tree_raw(params: Any, x: Any, name: str) -> Any:
    ws, bs = _layers(params)
    if isbox(x) or any_box(ws) or any_box(bs):  # only reached when traces are nested
        return predict_leaves(
            x, name, *[leaf for pair in zip(ws, bs, strict=True) for leaf in pair]
        )
    out, acts = forward(ws, bs, as_matrix(x, ws[0].shape[0]), KERNELS[name])
    ans = _finish(out)
    stash(ans, acts)
    return ans


def _predict_leaves_raw(x: Any, name: str, *leaves: Any) -> Any:
    ws, bs = list(leaves[0::2]), list(leaves[1::2])
    out, acts = forward(ws, bs, as_matrix(x, ws[0].shape[0]), KERNELS[name])
    ans = _finish(out)
    stash(ans, acts)
    return ans


predict_tree = primitive(_predict_tree_raw)
predict_leaves = primitive(_predict_leaves_raw)


def _reference_tree(params: Any, x: Any, name: str) -> Any:
    return reference_predict(params, x, KERNELS[name].fn)


def _reference_leaves(x: Any, name: str, *leaves: Any) -> Any:
    params = [{"w": w, "b": b} for w, b in zip(leaves[0::2], leaves[1::2], strict=True)]
    return reference_predict(params, x, KERNELS[name].fn)


def _backward_from(
    acts: list[np.ndarray] | None,
    ws: list[Any],
    bs: list[Any],
    x: Any,
    name: str,
    g: Any,
    need_x: bool,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
    kernel = KERNELS[name]
    x_ND = as_matrix(x, ws[0].shape[0])
    if acts is None:  # this VJP already ran once, or the stash did not match: recompute
        _, acts = forward(ws, bs, x_ND, kernel)
    g_NO = np.reshape(g, (x_ND.shape[0], ws[-1].shape[1]))
    return backward(ws, acts, g_NO, kernel, need_x=need_x)


def _predict_tree_vjp(argnums: Sequence[int], ans: Any, args: tuple, kwargs: dict) -> Any:
    def backward(cached: Any, g: Any) -> list[Any]:
        params, x, name = args
        ws, bs = _layers(params)
        gws, gbs, gx = _backward_from(cached, ws, bs, x, name, g, 1 in argnums)
        out: list[Any] = []
        if 0 in argnums:
            grads = [{"w": gw, "b": gb} for gw, gb in zip(gws, gbs, strict=True)]
            out.append(tuple(grads) if isinstance(params, tuple) else grads)
        if gx is not None:
            out.append(np.reshape(gx, np.shape(x)))
        return out

    return cached_vjp(_reference_tree, argnums, ans, args, backward)


def _predict_leaves_vjp(argnums: Sequence[int], ans: Any, args: tuple, kwargs: dict) -> Any:
    def backward(cached: Any, g: Any) -> list[Any]:
        x, name, *leaves = args
        ws, bs = list(leaves[0::2]), list(leaves[1::2])
        gws, gbs, gx = _backward_from(cached, ws, bs, x, name, g, 0 in argnums)
        grads = [None if gx is None else np.reshape(gx, np.shape(x)), None]
        for gw, gb in zip(gws, gbs, strict=True):
            grads += [gw, gb]
        return [grads[i] for i in argnums]

    return cached_vjp(_reference_leaves, argnums, ans, args, backward)


defvjp_argnums(predict_tree, _predict_tree_vjp)
defvjp_argnums(predict_leaves, _predict_leaves_vjp)
defjvp_argnums(predict_tree, traced_jvp(_reference_tree))
defjvp_argnums(predict_leaves, traced_jvp(_reference_leaves))


def fast_predict(params: Any, x: Any, name: str) -> Any:
    """Predict with the built-in activation ``name``, recording at most one autograd node.

    ``params`` must already be validated; ``x`` is an ndarray (or a box of one) of ndim 1 or 2.
    """
    if isbox(params):
        return predict_tree(params, x, name)
    leaves = [leaf for layer in params for leaf in (layer["w"], layer["b"])]
    if any_box(leaves):
        return predict_leaves(x, name, *leaves)
    if isbox(x):
        return predict_tree(params, x, name)
    ws, bs = leaves[0::2], leaves[1::2]
    out, _ = forward(ws, bs, as_matrix(x, ws[0].shape[0]), KERNELS[name])
    return _finish(out)
