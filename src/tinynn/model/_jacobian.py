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

import functools
import itertools
from collections.abc import Sequence

import numpy as np

from tinynn.model._activations import Activation
from tinynn.model._network import forward


def jacobians(
    ws: Sequence[np.ndarray],
    bs: Sequence[np.ndarray],
    x_ND: np.ndarray,
    kernel: Activation,
    *,
    wrt_params: bool,
    wrt_x: bool,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Return the network's output and its Jacobians, all examples in one vectorized pass.

    The numpy kernel behind :func:`jacobian` and :func:`input_jacobian`, for code that
    differentiates by hand (the Gauss-Newton matrix of the objectives). Nothing is checked
    here: validate with :func:`layer_shapes` first.

    Parameters
    ----------
    ws, bs, x_ND, kernel
        As for :func:`forward`: the layers' weights and biases, the inputs (N, D), and a
        built-in activation.
    wrt_params, wrt_x : bool
        Which Jacobians to build.

    Returns
    -------
    out_NO : ndarray of shape (N, O)
    J_NOP : ndarray of shape (N, O, P) or None
        Derivatives with respect to the parameters, in :func:`tinynn.tree.flatten`'s order.
    Jx_NOD : ndarray of shape (N, O, D) or None
        Derivatives with respect to the inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import jacobians, resolve_activation
    >>> ws = [np.ones((2, 3)), np.ones((3, 1))]
    >>> bs = [np.zeros(3), np.zeros(1)]
    >>> out, j, jx = jacobians(ws, bs, np.zeros((4, 2)), resolve_activation("tanh"),
    ...                        wrt_params=True, wrt_x=False)
    >>> j.shape, jx is None
    ((4, 1, 13), True)
    """
    out_NO, acts = forward(ws, bs, x_ND, kernel)
    n, n_out = x_ND.shape[0], ws[-1].shape[1]
    sizes = [w.size + b.size for w, b in zip(ws, bs, strict=True)]
    j_NOP = np.empty((n, n_out, sum(sizes))) if wrt_params else None
    starts = list(itertools.accumulate(sizes, initial=0))
    delta_NOH = np.eye(n_out)[None]  # (1, O, O) for now: it broadcasts over the examples
    jx_NOD = None
    for layer in range(len(ws) - 1, -1, -1):
        a_NH = acts[layer]
        if j_NOP is not None:
            start, n_w = starts[layer], ws[layer].size
            # the outer products written straight into J: its w block, split into (in, out),
            # is a view (no temporary, no copy of a broadcast product's odd layout)
            block = j_NOP[:, :, start : start + n_w].reshape(n, n_out, *ws[layer].shape)
            np.multiply(a_NH[:, None, :, None], delta_NOH[:, :, None, :], out=block)
            j_NOP[:, :, start + n_w : starts[layer + 1]] = delta_NOH
        if layer == 0:
            if wrt_x:
                jx_NOD = np.broadcast_to(delta_NOH, (n, n_out, delta_NOH.shape[2])) @ ws[0].T
            break
        fprime_NH = kernel.derivative(a_NH.copy(), functools.partial(np.empty, a_NH.shape))
        delta_NOH = (delta_NOH @ ws[layer].T) * fprime_NH[:, None, :]
    return out_NO, j_NOP, jx_NOD
