"""Private fast path of ``tinynn.losses.make_objective``: network, NLL and prior in one primitive.

A ``FusedObjective`` holds data checked once at build time. Called on parameters it runs the
forward pass, the Gaussian NLL and the optional Gaussian prior as ONE autograd primitive, and its
VJP runs the hand-derived backward pass, so ``value_and_grad`` records a single node.

Buffers: hidden activations and backpropagated deltas live in arrays owned by the objective and
reused across calls (at N >= 1000 freshly allocated temporaries page-fault expensively). A lock
and a generation counter keep this safe: the VJP uses the buffers only if no other forward pass
has written them since its own forward pass, and recomputes into fresh arrays otherwise. Another
thread that finds the buffers busy uses fresh arrays.

Shape suffixes: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from autograd.extend import defjvp_argnums, defvjp_argnums, primitive
from autograd.tracer import isbox

from tinynn import _fastnet
from tinynn._activations import Kernel
from tinynn._fastloss import HALF_LOG_2PI, reference_nll, reference_sum_squares
from tinynn._fastnet import any_box, cached_vjp, stash, traced_jvp


class FusedObjective:
    """The training objective's numbers: data, noise, prior and activation kernel."""

    def __init__(
        self,
        x_ND: np.ndarray,
        y: np.ndarray,
        sigma: float | np.ndarray,
        prior_std: float | None,
        kernel: Kernel,
        full: bool,
        mean: bool,
    ) -> None:
        self.x_ND = x_ND
        self.y = y
        self.y_NO = y.reshape(y.shape[0], -1)
        self.sigma = sigma
        self.inv_var = 1.0 / np.square(sigma)
        self.scalar_sigma = np.ndim(sigma) == 0
        self.prior_std = prior_std
        self.kernel = kernel
        self.full = full
        self.scale = 1.0 / y.shape[0] if mean else 1.0
        n, n_out = self.y_NO.shape
        self.nll_const = 0.0
        if full:
            copies = n * n_out // np.size(sigma)
            self.nll_const = n * n_out * HALF_LOG_2PI + copies * float(np.sum(np.log(sigma)))
        self.prior_coef = 0.0 if prior_std is None else 0.5 / prior_std**2
        self.prior_log_const = 0.0
        if prior_std is not None and full:
            self.prior_log_const = HALF_LOG_2PI + float(np.log(prior_std))
        self._lock = threading.Lock()
        self._generation = 0
        self._buffers: dict[Any, np.ndarray] = {}

    def _buffer(self, key: Any, shape: tuple[int, ...]) -> np.ndarray:
        buf = self._buffers.get(key)
        if buf is None or buf.shape != shape:
            buf = self._buffers[key] = np.empty(shape)
        return buf

    def _prior(self, leaves: list[np.ndarray]) -> float:
        if self.prior_std is None:
            return 0.0
        total = sum(float(np.vdot(leaf, leaf)) for leaf in leaves)
        count = sum(leaf.size for leaf in leaves)
        return self.prior_coef * total + count * self.prior_log_const

    def value(self, ws: list[Any], bs: list[Any], keep: bool) -> tuple[float, Any]:
        """Return the objective and (when ``keep``) what the backward pass needs."""
        use = self._lock.acquire(blocking=False)
        try:
            generation = None
            if use:
                self._generation += 1
                generation = self._generation
            buffers = self._buffer if use else None
            out, acts = _fastnet.forward(ws, bs, self.x_ND, self.kernel, buffers)
            out -= self.y_NO
            if self.scalar_sigma:
                sq = float(np.vdot(out, out)) * float(self.inv_var)
            else:
                sq = float(np.sum(out * out * self.inv_var))
        finally:
            if use:
                self._lock.release()
        total = 0.5 * sq + self.nll_const + self._prior([*ws, *bs])
        return total * self.scale, ((generation, acts, out) if keep else None)

    def grads(
        self,
        payload: Any,
        ws: list[Any],
        bs: list[Any],
        g: float,
        into: tuple[list[np.ndarray], list[np.ndarray]] | None = None,
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return the gradients of every w and b, reusing the forward pass when it is intact.

        With ``into = (gws, gbs)`` the gradients are written into those arrays (views of one
        flat vector, for L-BFGS) instead of fresh ones.
        """
        generation, acts, r = payload if payload is not None else (None, None, None)
        locked = generation is not None and self._lock.acquire(blocking=False)
        if locked and self._generation != generation:  # another forward pass reused the buffers
            self._lock.release()
            locked = False
        try:
            if r is None or acts is None or (generation is not None and not locked):
                out, acts = _fastnet.forward(ws, bs, self.x_ND, self.kernel)
                r = out - self.y_NO
            r *= self.inv_var * (g * self.scale)
            buffers = self._buffer if locked else None
            gws, gbs, _ = _fastnet.backward(
                ws, acts, r, self.kernel, need_x=False, buffers=buffers, out=into
            )
            if locked:
                self._generation += 1  # the backward pass overwrote the cached activations
        finally:
            if locked:
                self._lock.release()
        if self.prior_std is not None:
            factor = 2.0 * self.prior_coef * g * self.scale
            for gw, w in zip(gws, ws, strict=True):
                gw += factor * w
            for gb, b in zip(gbs, bs, strict=True):
                gb += factor * b
        return gws, gbs

    def reference(self, params: Any, activation: Callable[[Any], Any]) -> Any:
        """Return the objective with plain autograd.numpy calls (the reference)."""
        yhat = _fastnet.reference_predict(params, self.x_ND, activation)
        total = reference_nll(self.y, yhat, self.sigma, self.full, False)
        if self.prior_std is not None:
            count = sum(int(np.size(_fastnet.unbox(leaf))) for leaf in _leaves(params))
            const = count * self.prior_log_const
            total = total + reference_sum_squares(params, self.prior_coef, const)
        return total * self.scale


def _leaves(params: Any) -> list[Any]:
    return [leaf for layer in params for leaf in (layer["w"], layer["b"])]


def _reference_tree(params: Any, obj: FusedObjective) -> Any:
    return obj.reference(params, obj.kernel.fn)


def _reference_leaves(obj: FusedObjective, *leaves: Any) -> Any:
    params = [{"w": w, "b": b} for w, b in zip(leaves[0::2], leaves[1::2], strict=True)]
    return obj.reference(params, obj.kernel.fn)


def _objective_tree_raw(params: Any, obj: FusedObjective) -> Any:
    leaves = _leaves(params)
    if any_box(leaves):  # only reached when traces are nested
        return objective_leaves(obj, *leaves)
    ans, payload = obj.value(leaves[0::2], leaves[1::2], keep=True)
    stash(ans, payload)
    return ans


def _objective_leaves_raw(obj: FusedObjective, *leaves: Any) -> Any:
    ans, payload = obj.value(list(leaves[0::2]), list(leaves[1::2]), keep=True)
    stash(ans, payload)
    return ans


objective_tree = primitive(_objective_tree_raw)
objective_leaves = primitive(_objective_leaves_raw)


def _objective_tree_vjp(argnums: Any, ans: Any, args: tuple, kwargs: dict) -> Any:
    def backward(cached: Any, g: Any) -> list[Any]:
        params, obj = args
        leaves = _leaves(params)
        gws, gbs = obj.grads(cached, leaves[0::2], leaves[1::2], g)
        grads = [{"w": gw, "b": gb} for gw, gb in zip(gws, gbs, strict=True)]
        return [tuple(grads) if isinstance(params, tuple) else grads]

    return cached_vjp(_reference_tree, argnums, ans, args, backward)


def _objective_leaves_vjp(argnums: Any, ans: Any, args: tuple, kwargs: dict) -> Any:
    def backward(cached: Any, g: Any) -> list[Any]:
        obj, *leaves = args
        gws, gbs = obj.grads(cached, list(leaves[0::2]), list(leaves[1::2]), g)
        grads: list[Any] = [None]
        for gw, gb in zip(gws, gbs, strict=True):
            grads += [gw, gb]
        return [grads[i] for i in argnums]

    return cached_vjp(_reference_leaves, argnums, ans, args, backward)


defvjp_argnums(objective_tree, _objective_tree_vjp)
defvjp_argnums(objective_leaves, _objective_leaves_vjp)
defjvp_argnums(objective_tree, traced_jvp(_reference_tree))
defjvp_argnums(objective_leaves, traced_jvp(_reference_leaves))


def fast_objective(params: Any, obj: FusedObjective) -> Any:
    """Return the objective at checked ``params``, recording at most one autograd node."""
    if isbox(params):
        return objective_tree(params, obj)
    leaves = _leaves(params)
    if any_box(leaves):
        return objective_leaves(obj, *leaves)
    return obj.value(leaves[0::2], leaves[1::2], keep=False)[0]
