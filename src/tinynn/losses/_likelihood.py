"""The Gaussian likelihood and the prior's sum of squares (private to :mod:`tinynn.losses`).

The Gaussian negative log-likelihood is written here once, in two forms that must agree:

- numpy, for the fast primitives: :func:`nll_constant` and :func:`weighted_squares`, which the
  fused objective (``_fused.py``) uses too;
- plain ``autograd.numpy``, :func:`reference_nll`, which autograd differentiates when a derivative
  of a derivative is asked for.

``nll`` and ``sum_squares_tree`` are fast primitives (one graph node each, hand-derived VJP; see
``tinynn._primitive``), so a loss written by the user as ``gaussian_nll(y, predict(params, x),
sigma)`` records two graph nodes.

Shape suffixes: N examples, O outputs.
"""

from __future__ import annotations

import math
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.tracer import isbox

from tinynn import tree
from tinynn._checks import (
    SMALLEST_STD,
    as_float_or_box,
    check_finite,
    check_std,
    describe,
    shape_of,
)
from tinynn._primitive import any_box, cached_vjp, register, unbox

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
FORMS = ("full", "notebook")
REDUCTIONS = ("sum", "mean")


def n_examples(shape: tuple[int, ...]) -> int:
    """Return N, the length of the first axis (1 for a scalar)."""
    return int(shape[0]) if shape else 1


# ---------------------------------------------------------------- input checks


def check_pair(y: Any, yhat: Any) -> tuple[Any, Any]:
    """Return y and yhat as float arrays (boxes pass through) after an exact shape check."""
    y, yhat = as_float_or_box(y, "y"), as_float_or_box(yhat, "yhat")
    check_finite(y, "y")
    check_finite(yhat, "yhat")
    y_shape, yhat_shape = shape_of(y), shape_of(yhat)
    if y_shape != yhat_shape:
        hint = "pass arrays of the same shape"
        if y_shape == (*yhat_shape, 1):
            hint = "pass y.ravel()"
        elif yhat_shape == (*y_shape, 1):
            hint = "pass yhat.ravel() (or y[:, None] to keep a column)"
        raise ValueError(
            f"y and yhat must have the same shape, got y {y_shape} and yhat {yhat_shape}; "
            f"{hint} (shapes are never broadcast, (N,) against (N, 1) would give (N, N))"
        )
    return y, yhat


def check_sigma(sigma: Any, yhat_shape: tuple[int, ...], tiny_ok: bool = False) -> Any:
    """Return sigma checked: positive when concrete; a scalar, (O,) or yhat's shape.

    ``tiny_ok`` admits a sigma below 1.49e-154 (see :func:`check_std`).
    """
    if type(sigma) is float and SMALLEST_STD <= sigma < math.inf:  # the common case, cheaply
        return sigma
    value = unbox(sigma)
    shape = np.shape(value)
    allowed = np.size(value) == 1 or shape == yhat_shape
    allowed = allowed or (len(yhat_shape) == 2 and shape == yhat_shape[1:])
    if not allowed:
        raise ValueError(
            f"sigma must be a scalar, one value per output (shape {yhat_shape[1:]}) or one per "
            f"element (shape {yhat_shape}), got shape {shape}"
        )
    if isbox(sigma):
        return sigma
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.number, np.ndarray, list)):
        raise TypeError(f"sigma must be a positive number or array, got {describe(sigma)}")
    if np.ndim(sigma) == 0:
        return check_std(sigma, "sigma", tiny_ok=tiny_ok)
    arr = np.asarray(sigma, dtype=np.float64)
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"sigma must be positive and finite everywhere, got {arr}")
    if np.any(arr < SMALLEST_STD) and not tiny_ok:
        check_std(float(arr.min()), "sigma")  # raises, naming the smallest value
    return arr


# ---------------------------------------------------------------- the Gaussian NLL, numpy


def nll_constant(n_elements: int, sigma: Any) -> Any:
    """Return ``n * 0.5 * log(2 pi) + sum over elements of log(sigma)``: the NLL's constant.

    ``sigma`` is a scalar, one value per output or one per element; each of its values covers
    ``n_elements // sigma.size`` elements. Works on numpy values and on traced ones.
    """
    if type(sigma) is float:  # the common case, without numpy's per-call overhead
        return n_elements * HALF_LOG_2PI + n_elements * math.log(sigma)
    copies = n_elements // int(np.size(unbox(sigma)))
    if isbox(sigma):
        return n_elements * HALF_LOG_2PI + copies * anp.sum(anp.log(sigma))
    return n_elements * HALF_LOG_2PI + copies * float(np.sum(np.log(sigma)))


def weighted_squares(r: np.ndarray, inv_var: Any, scalar: bool) -> float:
    """Return ``sum(r**2 * inv_var)`` for residuals ``r`` and ``1 / sigma**2`` (numpy).

    ``scalar`` says that ``inv_var`` is one number (then one dot product does it).
    """
    if scalar:
        return float(np.vdot(r, r)) * float(inv_var)
    return float(np.sum(r * r * inv_var))


def _nll_raw(y: Any, yhat: Any, sigma: Any, full: bool, mean: bool) -> Any:
    if any_box((y, yhat, sigma)):  # only reached when traces are nested
        return reference_nll(y, yhat, sigma, full, mean)
    z = np.subtract(yhat, y) / sigma  # divided first: residuals and sigma of any finite size
    value = 0.5 * float(np.vdot(z, z))
    if full:
        value += nll_constant(z.size, sigma)
    return value / n_examples(z.shape) if mean else value


# ---------------------------------------------------------------- the Gaussian NLL, traced


def reference_nll(y: Any, yhat: Any, sigma: Any, full: bool, mean: bool) -> Any:
    """Return the Gaussian NLL with plain autograd.numpy calls (the reference)."""
    shape = np.shape(unbox(yhat))
    value = 0.5 * anp.sum(((yhat - y) / sigma) ** 2)
    if full:
        value = value + nll_constant(int(np.prod(shape)), sigma)
    return value / n_examples(shape) if mean else value


# ---------------------------------------------------------------- the Gaussian NLL, its VJP


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
    def backward(_cached: Any, g: Any) -> list[Any]:
        y, yhat, sigma, full, mean = args
        z = np.subtract(yhat, y) / sigma  # divided before squaring: any finite sigma works
        scale = g / n_examples(z.shape) if mean else g
        d_yhat = z * (scale / sigma)
        out: list[Any] = []
        for argnum in argnums:
            if argnum == 0:
                out.append(np.reshape(-d_yhat, np.shape(y)))
            elif argnum == 1:
                out.append(np.reshape(d_yhat, np.shape(yhat)))
            else:  # d/d sigma of 0.5 z^2 (+ log sigma), z = r / sigma
                e = -(z * z) * (scale / sigma)
                if full:
                    e = e + scale / np.broadcast_to(sigma, z.shape)
                out.append(_sum_to(np.asarray(e), sigma))
        return out

    return cached_vjp(reference_nll, argnums, ans, args, backward)


nll = register(_nll_raw, _nll_vjp, reference_nll)


def gaussian_nll_value(y: Any, yhat: Any, sigma: Any, full: bool, mean: bool) -> Any:
    """Return the NLL of checked inputs: through the primitive when anything is traced."""
    if isbox(y) or isbox(yhat) or isbox(sigma):
        return nll(y, yhat, sigma, full, mean)
    return _nll_raw(y, yhat, sigma, full, mean)


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
    def backward(_cached: Any, g: Any) -> list[Any]:
        params, coef, _ = args
        factor = 2.0 * coef * g
        return [tree.map(lambda leaf: factor * np.asarray(leaf, dtype=float), params)]

    return cached_vjp(reference_sum_squares, argnums, ans, args, backward)


sum_squares_tree = register(_sumsq_raw, _sumsq_vjp, reference_sum_squares)


def sum_squares(params: Any, coef: float, const: float) -> Any:
    """Return ``coef * sum(theta**2) + const`` recording at most one node per traced leaf."""
    if isbox(params):
        return sum_squares_tree(params, coef, const)
    leaves = tree.leaves(params)
    if any_box(leaves):
        return reference_sum_squares(params, coef, const)
    return _sumsq_raw(params, coef, const)
