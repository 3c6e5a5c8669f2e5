"""Private fast path of ``tinynn.losses``: the Gaussian NLL and a sum of squares as primitives.

Each is one autograd primitive with a hand-derived VJP, so a loss written by the user as
``gaussian_nll(y, predict(params, x), sigma)`` records two graph nodes. Inputs reaching a
primitive with boxes nested inside (grad of grad) are computed and differentiated by the plain
traced reference instead, exactly as in ``tinynn._fastnet``.

Shape suffixes: N examples, O outputs.
"""

from __future__ import annotations

import math
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.extend import defjvp_argnums, defvjp_argnums, primitive
from autograd.tracer import isbox

from tinynn import tree
from tinynn._fastnet import any_box, traced_jvp, traced_vjp, unbox

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def n_examples(shape: tuple[int, ...]) -> int:
    """Return N, the length of the first axis (1 for a scalar)."""
    return int(shape[0]) if shape else 1


# ---------------------------------------------------------------- Gaussian NLL


def reference_nll(y: Any, yhat: Any, sigma: Any, full: bool, mean: bool) -> Any:
    """Return the Gaussian NLL with plain autograd.numpy calls (the reference)."""
    shape = np.shape(unbox(yhat))
    value = 0.5 * anp.sum(((yhat - y) / sigma) ** 2)
    if full:
        size = int(np.prod(shape))
        copies = size // int(np.size(unbox(sigma)))
        value = value + size * HALF_LOG_2PI + copies * anp.sum(anp.log(sigma))
    return value / n_examples(shape) if mean else value


def _nll_raw(y: Any, yhat: Any, sigma: Any, full: bool, mean: bool) -> Any:
    if any_box((y, yhat, sigma)):  # only reached when traces are nested
        return reference_nll(y, yhat, sigma, full, mean)
    r = np.subtract(yhat, y)
    if type(sigma) is float or np.ndim(sigma) == 0:
        value = 0.5 * float(np.vdot(r, r)) / float(sigma) ** 2
    else:
        value = 0.5 * float(np.sum(r * r / np.square(sigma)))
    if full:
        copies = r.size // np.size(sigma)
        value += r.size * HALF_LOG_2PI + copies * float(np.sum(np.log(sigma)))
    return value / n_examples(r.shape) if mean else value


def _sum_to(e: np.ndarray, sigma: Any) -> Any:
    """Sum the elementwise ``e`` down to the shape of ``sigma`` (scalar, (O,) or e's shape)."""
    shape = np.shape(sigma)
    if np.size(sigma) == 1:
        total = np.sum(e)
        return np.reshape(total, shape) if isinstance(sigma, np.ndarray) else float(total)
    if shape == e.shape:
        return e
    return e.reshape(-1, shape[-1]).sum(axis=0).reshape(shape)


def _nll_vjp(argnums: Any, ans: Any, args: tuple, kwargs: dict) -> Any:
    if isbox(ans):
        return traced_vjp(reference_nll, argnums, args)
    y, yhat, sigma, full, mean = args

    def vjp(g: Any) -> list[Any]:
        if isbox(g):
            return traced_vjp(reference_nll, argnums, args)(g)
        r = np.subtract(yhat, y)
        scale = g / n_examples(r.shape) if mean else g
        inv_var = 1.0 / sigma**2 if type(sigma) is float else 1.0 / np.square(sigma)
        d_yhat = r * (scale * inv_var)
        out: list[Any] = []
        for argnum in argnums:
            if argnum == 0:
                out.append(np.reshape(-d_yhat, np.shape(y)))
            elif argnum == 1:
                out.append(np.reshape(d_yhat, np.shape(yhat)))
            else:
                e = -(r * r) * (scale * inv_var / sigma)
                if full:
                    e = e + scale / np.broadcast_to(sigma, r.shape)
                out.append(_sum_to(np.asarray(e), sigma))
        return out

    return vjp


nll = primitive(_nll_raw)
defvjp_argnums(nll, _nll_vjp)
defjvp_argnums(nll, traced_jvp(reference_nll))


def fast_nll(y: Any, yhat: Any, sigma: Any, full: bool, mean: bool) -> Any:
    """Return the Gaussian NLL through the primitive (checked inputs)."""
    return nll(y, yhat, sigma, full, mean)


# ---------------------------------------------------------------- coef * sum(theta**2) + const


def reference_sum_squares(params: Any, coef: float, const: float) -> Any:
    """Return ``coef * sum(theta**2) + const`` with plain autograd.numpy calls."""
    return coef * sum(anp.sum(leaf * leaf) for leaf in tree.leaves(params)) + const


def _sumsq_raw(params: Any, coef: float, const: float) -> Any:
    leaves = tree.leaves(params)
    if any_box(leaves):  # only reached when traces are nested
        return reference_sum_squares(params, coef, const)
    return coef * sum(float(np.vdot(leaf, leaf)) for leaf in leaves) + const


def _sumsq_vjp(argnums: Any, ans: Any, args: tuple, kwargs: dict) -> Any:
    if isbox(ans):
        return traced_vjp(reference_sum_squares, argnums, args)
    params, coef, _ = args

    def vjp(g: Any) -> list[Any]:
        if isbox(g):
            return traced_vjp(reference_sum_squares, argnums, args)(g)
        factor = 2.0 * coef * g
        return [tree.map(lambda leaf: factor * np.asarray(leaf, dtype=float), params)]

    return vjp


sum_squares_tree = primitive(_sumsq_raw)
defvjp_argnums(sum_squares_tree, _sumsq_vjp)
defjvp_argnums(sum_squares_tree, traced_jvp(reference_sum_squares))


def sum_squares(params: Any, coef: float, const: float) -> Any:
    """Return ``coef * sum(theta**2) + const`` recording at most one node per traced leaf."""
    if isbox(params):
        return sum_squares_tree(params, coef, const)
    leaves = tree.leaves(params)
    if any_box(leaves):
        return reference_sum_squares(params, coef, const)
    return _sumsq_raw(params, coef, const)
