"""The network's Jacobians in one vectorized pass (private to :mod:`tinynn.model`).

One forward pass keeps every layer's input; one backward pass then carries, for every example
and every output at once, the derivative of that output with respect to each layer's
pre-activation (``delta_NOH``). The Jacobian with respect to a weight is then the outer product
of the layer's input and that delta, for all examples in one broadcast product; with respect to
``x`` it is the delta pushed through the first weight matrix. No loop over examples, no finite
differences.

Shape suffixes: N examples, D input features, H hidden units, O outputs, P scalars of the
flattened parameters (``tinynn.tree.flatten`` order: layer by layer, ``w`` row-major, then ``b``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinynn.model._activations import Activation
from tinynn.model._network import forward


def _derivative(kernel: Activation, a: np.ndarray) -> np.ndarray:
    """Return ``f'(z)`` of a hidden layer from its output ``a = f(z)`` (``a`` is kept)."""
    d = np.ones_like(a)
    kernel.deriv_mul(a.copy(), d)
    return d


def jacobians(
    ws: Sequence[np.ndarray],
    bs: Sequence[np.ndarray],
    x_ND: np.ndarray,
    kernel: Activation,
    *,
    wrt_params: bool,
    wrt_x: bool,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Return ``(out_NO, J_NOP, Jx_NOD)``: the output and its Jacobians (None when not asked)."""
    out_NO, acts = forward(ws, bs, x_ND, kernel)
    n, n_out = x_ND.shape[0], ws[-1].shape[1]
    sizes = [w.size + b.size for w, b in zip(ws, bs, strict=True)]
    j_NOP = np.empty((n, n_out, sum(sizes))) if wrt_params else None
    starts = np.concatenate([[0], np.cumsum(sizes)])
    delta_NOH = np.broadcast_to(np.eye(n_out), (n, n_out, n_out))
    jx_NOD = None
    for layer in range(len(ws) - 1, -1, -1):
        a_NH = acts[layer]
        if j_NOP is not None:
            start, n_w = int(starts[layer]), ws[layer].size
            outer = a_NH[:, None, :, None] * delta_NOH[:, :, None, :]
            j_NOP[:, :, start : start + n_w] = outer.reshape(n, n_out, n_w)
            j_NOP[:, :, start + n_w : int(starts[layer + 1])] = delta_NOH
        if layer == 0:
            if wrt_x:
                jx_NOD = delta_NOH @ ws[0].T
            break
        delta_NOH = (delta_NOH @ ws[layer].T) * _derivative(kernel, a_NH)[:, None, :]
    return out_NO, j_NOP, jx_NOD
