"""Rows of the data: minibatch indices checked, and the full loss summed over row chunks.

Private to :mod:`tinynn.losses`. A minibatch is an array of row indices; ``check_rows`` checks it
once per call of ``Objective.batch_value_and_grad``. ``chunked_value`` evaluates the objective on
all N rows, and ``residual_squares`` the squared residuals behind a profiled sigma, in pieces of at
most ``CHUNK_ELEMENTS`` hidden values, so a million rows need work arrays of a chunk, not N x H.

Shape suffixes: B rows of a minibatch, N examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import model
from tinynn._checks import describe
from tinynn._primitive import any_box, layer_leaves, unbox
from tinynn.losses._fused import FusedObjective, fast_objective

# The widest layer's values of one chunk of rows: 2**20 float64 are 8 MiB per work array.
CHUNK_ELEMENTS = 2**20


def check_rows(index: Any, n_examples: int) -> np.ndarray:
    """Return ``index`` as a 1-D integer array of rows in ``[0, n_examples)``, or raise."""
    rows = np.asarray(index)
    if rows.dtype.kind not in "iu":
        raise TypeError(
            f"index must be an array of integer row numbers, got {describe(index)}; draw one "
            f"with rng.permutation(N)[:B]"
        )
    if rows.ndim != 1 or rows.size == 0:
        raise ValueError(
            f"index must be a non-empty 1-D array of row numbers, got shape {rows.shape}"
        )
    low, high = int(rows.min()), int(rows.max())
    if low < 0 or high >= n_examples:
        bad = low if low < 0 else high
        raise ValueError(
            f"index must hold rows in [0, {n_examples}) of the {n_examples} examples, got {bad}"
        )
    return rows


def chunked_value(fused: FusedObjective, net: Any, log_sigma: Any) -> Any:
    """Return the objective at plain ``net``, in chunks of rows when N x width is large."""
    leaves = layer_leaves(net)
    ws = leaves[0::2]
    n = fused.x_ND.shape[0]
    width = max(int(np.shape(w)[-1]) for w in ws)
    if any_box(leaves):  # traced leaves in a plain list: one autograd node, never chunked
        return fast_objective(net, log_sigma, fused)
    if np.ndim(ws[0]) != 2 or n * width <= CHUNK_ELEMENTS:  # stacked, or small: one pass
        return fused.value(ws, leaves[1::2], log_sigma, keep=False)[0]
    step = max(1, CHUNK_ELEMENTS // width)
    pool: list[Any] = []
    total = 0.0
    for start in range(0, n, step):
        part = fused.rows(slice(start, start + step), 1.0, pool, prior=False)
        total += part.value(ws, leaves[1::2], log_sigma, keep=False)[0]
    if fused.prior_std is not None:
        total += fused.prior_term(leaves) * fused.scale
    return total


def residual_squares(fused: FusedObjective, net: Any, activation: Any) -> np.ndarray:
    """Return the sum of squared residuals of every output, in chunks of rows, shape (O,)."""
    x_ND, y_NO = fused.x_ND, fused.y_NO
    width = max(int(np.shape(unbox(layer["w"]))[-1]) for layer in net)
    step = max(1, CHUNK_ELEMENTS // width)
    total_O = np.zeros(y_NO.shape[1])
    for start in range(0, len(x_ND), step):
        yhat = np.asarray(
            unbox(model.predict(net, x_ND[start : start + step], activation=activation))
        )
        resid = yhat.reshape(-1, y_NO.shape[1]) - y_NO[start : start + step]
        total_O += np.einsum("no,no->o", resid, resid)
    return total_O
