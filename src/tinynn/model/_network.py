"""The network's numpy kernels and its fast primitive (private to :mod:`tinynn.model`).

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

The forward pass keeps the hidden activations for the VJP (``tinynn._primitive.stash``), so the
backward pass never recomputes them; higher-order derivatives differentiate the plain traced
``reference_predict``.

Shape suffixes: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.tracer import isbox

from tinynn._primitive import (
    any_box,
    as_layers,
    cached_vjp,
    layer_leaves,
    leaf_grads,
    register,
    stash,
    unbox,
)
from tinynn.model._activations import KERNELS, Activation

Buffers = Callable[[Any, tuple[int, ...]], np.ndarray] | None


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
    kernel: Activation,
    buffers: Buffers = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run the network forward in numpy; return its output and the input of every layer.

    The numpy kernel behind :func:`predict`'s fast path, for code that differentiates by hand
    (the fused objective, Jacobians). Nothing is checked here: validate with
    :func:`layer_shapes` first.

    Parameters
    ----------
    ws, bs : sequence of ndarray
        Every layer's weights ``(n_in, n_out)`` and biases ``(n_out,)``, float64.
    x_ND : ndarray of shape (N, D)
        Inputs.
    kernel : Activation
        A built-in activation from :func:`resolve_activation` (one with numpy kernels).
    buffers : callable, optional
        ``buffers(key, shape)`` returning a reusable float64 array for a hidden layer, so that
        repeated calls allocate nothing; the returned activations then live in those arrays.

    Returns
    -------
    out_NO : ndarray of shape (N, O)
        The network's output (a fresh array).
    acts : list of ndarray
        ``acts[0]`` is ``x_ND``; ``acts[i]`` is the output of hidden layer ``i``, of shape
        (N, H_i). :func:`backward` needs them.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import forward, resolve_activation
    >>> ws = [np.ones((2, 3)), np.ones((3, 1))]
    >>> bs = [np.zeros(3), np.zeros(1)]
    >>> out_NO, acts = forward(ws, bs, np.zeros((4, 2)), resolve_activation("tanh"))
    >>> out_NO.shape, [a.shape for a in acts]
    ((4, 1), [(4, 2), (4, 3)])
    """
    acts = [x_ND]
    a = x_ND
    last = len(ws) - 1
    for layer in range(last):
        w = ws[layer]
        b = bs[layer]
        if layer == 0 and w.ndim == 3 and a.ndim == 2:  # K members on shared inputs
            a = stacked_hidden(_ones_column(a, buffers), w, b, kernel, buffers)
            acts.append(a)
            continue
        shape = (a.shape[0], w.shape[1]) if w.ndim == 2 else _product_shape(a, w)
        size = math.prod(shape)
        # the activation's first pass folded into the (much smaller) weights, when it has one
        scale = kernel.prescale(size) if 8 * w.size <= size else 1.0
        if scale != 1.0:
            w = w * scale
            b = b * scale
        if buffers is None:
            z = a @ w
        else:
            z = buffers(("a", layer), shape)
            if w.shape[-2] == 1:  # one input: an outer product, 2x faster as a broadcast
                np.multiply(a, w, out=z)
            else:
                np.matmul(a, w, out=z)
        if b.ndim == 1:  # inline: this loop runs at every step
            z += b
        else:
            z += b[:, None, :]
        kernel.forward_prescaled(z, scale)
        acts.append(z)
        a = z
    out = a @ ws[last]
    b = bs[last]
    if b.ndim == 1:
        out += b
    else:
        out += b[:, None, :]
    return out, acts


def inputs_with_ones(x_ND: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``[x, 1]`` of shape (N, D + 1) and its transpose (D + 1, N), both contiguous.

    The inputs of :func:`stacked_hidden` and :func:`stacked_hidden_grads`: appending a column
    of ones to x lets one matrix product apply the weights and add the bias. Build them once
    for data that does not change.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import inputs_with_ones
    >>> x1_NE, x1t_EN = inputs_with_ones(np.array([[2.0], [3.0]]))
    >>> x1_NE.tolist(), x1t_EN.tolist()
    ([[2.0, 1.0], [3.0, 1.0]], [[2.0, 3.0], [1.0, 1.0]])
    """
    x1_NE = np.empty((x_ND.shape[0], x_ND.shape[1] + 1))
    x1_NE[:, :-1] = x_ND
    x1_NE[:, -1] = 1.0
    return x1_NE, np.ascontiguousarray(x1_NE.T)


def _ones_column(x_ND: np.ndarray, buffers: Buffers) -> np.ndarray:
    """Return ``[x, 1]`` in a reusable buffer (a fresh array without buffers)."""
    if buffers is None:
        return inputs_with_ones(x_ND)[0]
    n, d = x_ND.shape
    x1_NE = buffers("x1", (n, d + 1))
    x1_NE[:, :d] = x_ND
    x1_NE[:, d] = 1.0
    return x1_NE


def stacked_hidden(
    x1_NE: np.ndarray,
    w_KDH: np.ndarray,
    b_KH: np.ndarray,
    kernel: Activation,
    buffers: Buffers = None,
) -> np.ndarray:
    """Return the first hidden layer's activations for K stacked networks on shared inputs.

    ``f([x, 1] @ [w; b])`` for every member, one (K, N, H) array. Adding a (K, 1, H) bias to a
    (K, N, H) product runs numpy's inner loop over only H elements K N times; with the bias
    as a last row of the weights and a column of ones in x the addition happens inside the
    matrix product instead (over 2x faster at K = 32, N = 60, H = 20). The activation's first
    pass (see :meth:`Activation.prescale`) is folded into the small weight block.

    Parameters
    ----------
    x1_NE : ndarray of shape (N, D + 1)
        The inputs with a last column of ones (:func:`inputs_with_ones`).
    w_KDH, b_KH : ndarray
        The members' first-layer weights (K, D, H) and biases (K, H); views are fine.
    kernel : Activation
        A built-in activation (:func:`resolve_activation`).
    buffers : callable, optional
        Reusable work arrays, as in :func:`forward`; the result then lives in one of them.

    Returns
    -------
    ndarray of shape (K, N, H)

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import inputs_with_ones, resolve_activation, stacked_hidden
    >>> x1_NE, _ = inputs_with_ones(np.array([[0.0], [1.0]]))
    >>> w_KDH = np.array([[[1.0]], [[2.0]]]); b_KH = np.zeros((2, 1))
    >>> stacked_hidden(x1_NE, w_KDH, b_KH, resolve_activation("tanh"))[:, :, 0].round(4)
    array([[0.    , 0.7616],
           [0.    , 0.964 ]])
    """
    k, d, h = w_KDH.shape
    shape = (k, x1_NE.shape[0], h)
    scale = kernel.prescale(math.prod(shape))
    if buffers is None:
        wb, z = np.empty((k, d + 1, h)), np.empty(shape)
    else:
        wb, z = buffers("wb", (k, d + 1, h)), buffers(("a", 0), shape)
    np.multiply(w_KDH, scale, out=wb[:, :d])
    np.multiply(b_KH, scale, out=wb[:, d])
    np.matmul(x1_NE, wb, out=z)
    kernel.forward_prescaled(z, scale)
    return z


def _product_shape(a: np.ndarray, w: np.ndarray) -> tuple[int, ...]:
    """Return the shape of ``a @ w``: (N, H), or (K, N, H) for stacked weights."""
    if w.ndim == 2:
        return (a.shape[0], w.shape[1])
    return (w.shape[0], a.shape[-2], w.shape[-1])


def _transposed(a: np.ndarray) -> np.ndarray:
    """Swap the last two axes (a plain transpose, or one per stacked member)."""
    return a.T if a.ndim == 2 else a.transpose(0, 2, 1)


def backward(
    ws: Sequence[np.ndarray],
    acts: list[np.ndarray],
    g_NO: np.ndarray,
    kernel: Activation,
    *,
    need_x: bool,
    buffers: Buffers = None,
    out: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
    """Backpropagate ``g_NO = d(loss)/d(output)`` through the network in numpy.

    The hand-derived backward pass of :func:`forward`. The hidden activations in ``acts`` are
    overwritten by their derivatives, so call it once per forward pass.

    Parameters
    ----------
    ws : sequence of ndarray
        Every layer's weights, as given to :func:`forward`.
    acts : list of ndarray
        The activations :func:`forward` returned (consumed).
    g_NO : ndarray of shape (N, O)
        Gradient of the loss with respect to the network's output.
    kernel : Activation
        The activation given to :func:`forward`.
    need_x : bool
        Also return the gradient with respect to the inputs.
    buffers : callable, optional
        Reusable work arrays, as in :func:`forward`.
    out : tuple of two sequences of ndarray, optional
        ``(gws, gbs)`` arrays to write the gradients into instead of fresh ones.

    Returns
    -------
    gws, gbs : list of ndarray
        Gradients of every ``w`` and ``b``.
    gx_ND : ndarray of shape (N, D) or None
        Gradient with respect to ``x_ND`` when ``need_x``.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import backward, forward, resolve_activation
    >>> tanh = resolve_activation("tanh")
    >>> ws, bs = [np.ones((1, 2)), np.ones((2, 1))], [np.zeros(2), np.zeros(1)]
    >>> out_NO, acts = forward(ws, bs, np.zeros((3, 1)), tanh)
    >>> gws, gbs, gx = backward(ws, acts, np.ones_like(out_NO), tanh, need_x=True)
    >>> gbs[0].tolist(), gx.ravel().tolist()  # tanh'(0) = 1: two paths of weight 1
    ([3.0, 3.0], [2.0, 2.0, 2.0])
    """
    n_layers = len(ws)
    gws: list[np.ndarray] = [g_NO] * n_layers
    gbs: list[np.ndarray] = [g_NO] * n_layers
    delta = g_NO
    for layer in range(n_layers - 1, -1, -1):
        a = acts[layer]
        a_t = a.T if a.ndim == 2 else _transposed(a)
        gb = None if out is None else out[1][layer]
        if delta.ndim == 3 and delta.shape[-1] > 1:
            # Summing (K, N, H) over N with np.add.reduce runs K N inner loops of H elements;
            # a product with a vector of ones is 4x faster at K = 32, N = 60, H = 20.
            gbs[layer] = np.matmul(np.ones(delta.shape[-2]), delta, out=gb)
        else:
            gbs[layer] = np.add.reduce(delta, axis=-2, out=gb)
        gws[layer] = a_t @ delta if out is None else np.matmul(a_t, delta, out=out[0][layer])
        if layer == 0 and not need_x:
            break
        w = ws[layer]
        if layer == 1 == n_layers - 1 and not need_x and w.ndim == 3 and w.shape[-1] == 1:
            # (a stacked x takes the general path below)
            x_ND = acts[0]
            if x_ND.ndim == 2:
                x1t_EN = _ones_column(x_ND, buffers).T
                first = stacked_hidden_grads(
                    x1t_EN, acts[1], w[..., 0], delta[..., 0], kernel, buffers
                )
                d = x_ND.shape[1]
                if out is None:
                    gws[0], gbs[0] = first[:, :d], first[:, d]
                else:
                    gws[0], gbs[0] = out[0][0], out[1][0]
                    np.copyto(gws[0], first[:, :d])
                    np.copyto(gbs[0], first[:, d])
                break
        w_t = w.T if w.ndim == 2 else _transposed(w)
        if layer == 0 or buffers is None:
            # one output: an outer product, faster as a broadcast (the same numbers)
            d_prev = delta * w_t if w_t.ndim == 2 and w_t.shape[0] == 1 else delta @ w_t
        else:
            d_prev = buffers(("d", layer), (*delta.shape[:-1], w_t.shape[-1]))
            if w_t.ndim == 3 and w_t.shape[-2] == 1:  # one output, K members: K outer products
                np.einsum("kn,kh->knh", delta[..., 0], w_t[:, 0], out=d_prev)  # 1.7x a broadcast
            elif w_t.shape[-2] == 1:  # one output: an outer product, 2x faster as a broadcast
                np.multiply(delta, w_t, out=d_prev)
            else:
                np.matmul(delta, w_t, out=d_prev)
        if layer > 0:
            kernel.deriv_mul(a, d_prev)
        delta = d_prev
    return gws, gbs, (delta if need_x else None)


def stacked_hidden_grads(
    x1t_EN: np.ndarray,
    a_KNH: np.ndarray,
    w_KH: np.ndarray,
    g_KN: np.ndarray,
    kernel: Activation,
    buffers: Buffers = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Return the gradient of ``[w; b]`` of the first layer of K one-hidden-layer networks.

    For networks with one output, ``out_KN = f([x, 1] @ [w; b]) @ w_KH + b2``, and ``g_KN`` the
    gradient of a loss with respect to ``out_KN``. The hidden layer's delta is
    ``(g w^T) * f'(z)``, one outer product per member scaled elementwise, so
    ``[x, 1]^T delta = w^T * ([x, 1]^T (g * f'(z)))`` with ``g`` folded into the small left
    factor: one (K, D + 1, N) @ (K, N, H) product gives both gradients, and the (K, N, H)
    delta is never formed (the whole backward pass 1.6x faster at K = 32, N = 60, H = 20).

    Parameters
    ----------
    x1t_EN : ndarray of shape (D + 1, N)
        The inputs with a last row of ones (the transpose from :func:`inputs_with_ones`).
    a_KNH : ndarray of shape (K, N, H)
        The hidden activations from :func:`stacked_hidden` (consumed: overwritten by
        ``f'(z)``).
    w_KH : ndarray of shape (K, H)
        The output weights (views are fine).
    g_KN : ndarray of shape (K, N)
        The gradient with respect to the output.
    kernel : Activation
        The activation given to :func:`stacked_hidden`.
    buffers : callable, optional
        Reusable work arrays, as in :func:`forward`.
    out : ndarray of shape (K, D + 1, H), optional
        Where to write the result (a view is fine).

    Returns
    -------
    ndarray of shape (K, D + 1, H)
        The gradient of every member's weights (rows ``:D``) and bias (row ``D``).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import (inputs_with_ones, resolve_activation, stacked_hidden,
    ...                           stacked_hidden_grads)
    >>> tanh = resolve_activation("tanh")
    >>> x1_NE, x1t_EN = inputs_with_ones(np.array([[0.0], [1.0]]))
    >>> a_KNH = stacked_hidden(x1_NE, np.ones((1, 1, 1)), np.zeros((1, 1)), tanh)
    >>> g = stacked_hidden_grads(x1t_EN, a_KNH, np.ones((1, 1)), np.ones((1, 2)), tanh)
    >>> # d/dw and d/db of tanh(0 w + b) + tanh(1 w + b) at w = 1, b = 0
    >>> g.ravel().round(4).tolist()
    [0.42, 1.42]
    """
    k, n, h = a_KNH.shape
    e = x1t_EN.shape[0]
    fprime = kernel.derivative(
        a_KNH,
        lambda: np.empty((k, n, h)) if buffers is None else buffers(("d", 1), (k, n, h)),
    )
    left = np.empty((k, e, n)) if buffers is None else buffers("left", (k, e, n))
    np.multiply(x1t_EN[: e - 1], g_KN[:, None, :], out=left[:, : e - 1])
    left[:, e - 1] = g_KN
    if out is None:  # a fresh array: the result must not live in a reused buffer
        out = np.matmul(left, fprime)
        out *= w_KH[:, None, :]
        return out
    grads = np.empty((k, e, h)) if buffers is None else buffers("wb", (k, e, h))
    np.matmul(left, fprime, out=grads)
    return np.multiply(grads, w_KH[:, None, :], out=out)


# ---------------------------------------------------------------- plain traced reference


def reference_predict(params: Any, x: Any, activation: Callable[[Any], Any]) -> Any:
    """Predict with plain autograd.numpy calls (the reference, and the path for callables)."""
    n_layers = len(params)
    first_w = params[0]["w"]
    a = as_matrix(x, unbox(first_w).shape[-2])
    for layer in range(n_layers):
        layer_dict = params[layer]
        b = layer_dict["b"]
        z = anp.matmul(a, layer_dict["w"]) + (b if np.ndim(unbox(b)) == 1 else b[:, None, :])
        if layer == n_layers - 1:
            a = z
            break
        a = activation(z)
        if np.shape(unbox(a)) != np.shape(unbox(z)):  # a reduction or a broadcast: not elementwise
            raise ValueError(
                f"the activation must return an array of its input's shape (it acts element "
                f"by element), got shape {np.shape(unbox(a))} for input {np.shape(unbox(z))}"
            )
    return a[..., 0] if unbox(a).shape[-1] == 1 else a


# ---------------------------------------------------------------- primitives


def _layers(params: Any) -> tuple[list[Any], list[Any]]:
    return [layer["w"] for layer in params], [layer["b"] for layer in params]


def _finish(out_NO: np.ndarray) -> np.ndarray:
    return out_NO[..., 0] if out_NO.shape[-1] == 1 else out_NO


def _predict_tree_raw(params: Any, x: Any, name: str) -> Any:
    ws, bs = _layers(params)
    if isbox(x) or any_box(ws) or any_box(bs):  # only reached when traces are nested
        return predict_leaves(
            x, name, *[leaf for pair in zip(ws, bs, strict=True) for leaf in pair]
        )
    out, acts = forward(ws, bs, as_matrix(x, ws[0].shape[-2]), KERNELS[name])
    ans = _finish(out)
    stash(ans, acts)
    return ans


def _predict_leaves_raw(x: Any, name: str, *leaves: Any) -> Any:
    ws, bs = list(leaves[0::2]), list(leaves[1::2])
    out, acts = forward(ws, bs, as_matrix(x, ws[0].shape[-2]), KERNELS[name])
    ans = _finish(out)
    stash(ans, acts)
    return ans


def _reference_tree(params: Any, x: Any, name: str) -> Any:
    return reference_predict(params, x, KERNELS[name].fn)


def _reference_leaves(x: Any, name: str, *leaves: Any) -> Any:
    return reference_predict(as_layers(leaves), x, KERNELS[name].fn)


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
    x_ND = as_matrix(x, ws[0].shape[-2])
    if acts is None:  # this VJP already ran once, or the stash did not match: recompute
        _, acts = forward(ws, bs, x_ND, kernel)
    g_NO = np.reshape(g, (*ws[-1].shape[:-2], x_ND.shape[0], ws[-1].shape[-1]))
    gws, gbs, gx = backward(ws, acts, g_NO, kernel, need_x=need_x)
    if gx is not None and gx.ndim == 3:  # stacked members share x: their gradients add up
        gx = gx.sum(axis=0)
    return gws, gbs, gx


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
        head = [None if gx is None else np.reshape(gx, np.shape(x)), None]
        return leaf_grads(head, gws, gbs, argnums)

    return cached_vjp(_reference_leaves, argnums, ans, args, backward)


predict_tree = register(_predict_tree_raw, _predict_tree_vjp, _reference_tree)
predict_leaves = register(_predict_leaves_raw, _predict_leaves_vjp, _reference_leaves)


def fast_predict(params: Any, x: Any, name: str) -> Any:
    """Predict with the built-in activation ``name``, recording at most one autograd node.

    ``params`` must already be validated; ``x`` is an ndarray (or a box of one) of ndim 1 or 2.
    """
    if isbox(params):
        return predict_tree(params, x, name)
    leaves = layer_leaves(params)
    if any_box(leaves):
        return predict_leaves(x, name, *leaves)
    if isbox(x):
        return predict_tree(params, x, name)
    ws, bs = leaves[0::2], leaves[1::2]
    out, _ = forward(ws, bs, as_matrix(x, ws[0].shape[-2]), KERNELS[name])
    return _finish(out)
