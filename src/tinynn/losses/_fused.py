"""The objective's fused numpy pass: network, Gaussian NLL and prior as ONE autograd primitive.

Private to :mod:`tinynn.losses`. A ``FusedObjective`` holds data checked once at build time.
Called on parameters it runs the forward pass (``tinynn.model.forward``), the Gaussian NLL and the
optional Gaussian prior as one primitive, and its VJP runs the hand-derived backward pass
(``tinynn.model.backward``), so ``value_and_grad`` records a single node.

The noise is either fixed (``inv_var`` is set at build time) or learned: then ``log_sigma`` of
shape (O,) is an argument of every call, and the objective is
``0.5 * sum(r**2 * exp(-2 log_sigma)) + N * sum(log_sigma)`` plus constants.

Work arrays: hidden activations and backpropagated deltas live in sets of arrays owned by the
objective and reused across calls (at N >= 1000 freshly allocated temporaries page-fault
expensively). A forward pass takes a set from a small pool and the backward pass that follows it
puts the set back, so two passes in flight (nested tracing, threads) never share arrays; taking
and returning are single ``list.pop``/``list.append`` calls, which are atomic, so no lock is
needed. A forward pass whose backward pass never comes simply drops its set. A set of more than
``POOL_MAX_BYTES`` (64 MiB: N x H beyond about 4 million) is not kept, so an idle objective holds
no work arrays of a large data set.

Shape suffixes: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.tracer import isbox

from tinynn import model
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
from tinynn.losses._likelihood import (
    HALF_LOG_2PI,
    nll_constant,
    reference_nll,
    reference_sum_squares,
    weighted_squares,
)
from tinynn.model import Activation, forward

Grads = tuple[list[np.ndarray], list[np.ndarray], Any]


class FusedObjective:
    """The training objective's numbers: data, noise, prior and activation kernel."""

    def __init__(
        self,
        x_ND: np.ndarray,
        y: np.ndarray,
        sigma: float | np.ndarray | None,
        prior_std: float | None,
        kernel: Activation,
        full: bool,
        mean: bool,
    ) -> None:
        self.x_ND = x_ND
        self.y = y
        self.y_NO = y.reshape(y.shape[0], -1)
        self.learn = sigma is None
        self.sigma = sigma
        self.prior_std = prior_std
        self.kernel = kernel
        self.full = full
        self.scale = 1.0 / y.shape[0] if mean else 1.0
        self.lik_scale = 1.0  # N / B on a minibatch of B rows (see ``rows``)
        n, n_out = self.y_NO.shape
        self.inv_var: Any = 1.0
        self.scalar_sigma = sigma is None or np.ndim(sigma) == 0
        self.nll_const = n * n_out * HALF_LOG_2PI if full else 0.0
        if sigma is not None:
            self.inv_var = 1.0 / np.square(sigma)
            if np.ndim(self.inv_var) == 0:
                self.inv_var = float(
                    self.inv_var
                )  # Python floats multiply without numpy's overhead
            if self.per_row(sigma, y):  # one per example (y of shape (N,))
                self.inv_var = self.inv_var.reshape(-1, 1)
            self.nll_const = float(nll_constant(n * n_out, sigma)) if full else 0.0
        self.prior_coef = 0.0 if prior_std is None else 0.5 / prior_std**2
        self.prior_log_const = 0.0
        if prior_std is not None and full:
            self.prior_log_const = HALF_LOG_2PI + float(np.log(prior_std))
        self._pool: list[_WorkArrays] = []
        self._row_pool: list[_WorkArrays] = []  # work arrays of the minibatches
        # (x_ND, [x, 1], [x, 1]^T) for stacked one-hidden-layer networks, built at first need;
        # a copy made by ``rows`` keeps the entry but its x_ND differs, so it builds its own
        self._ones: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @staticmethod
    def per_row(sigma: Any, y: np.ndarray) -> bool:
        """Return True when ``sigma`` holds one value per example (y of shape (N,))."""
        return np.ndim(sigma) == 1 and y.ndim == 1 and np.size(sigma) > 1

    def rows(
        self, index: Any, lik_scale: float, pool: list[Any] | None = None, prior: bool = True
    ) -> FusedObjective:
        """Return this objective on the rows ``index``, its likelihood times ``lik_scale``.

        With ``lik_scale = N / B`` on B rows drawn at random the value and gradient are unbiased
        estimates of the full objective's: the likelihood (and its constant) are scaled, the
        prior is not. ``index`` is an integer array (rows are copied, O(B D)) or a slice (views).
        The minibatches share one pool of work arrays; pass ``pool`` to use another.
        ``prior=False`` leaves the prior out (for pieces of a sum over all rows).
        """
        part = FusedObjective.__new__(FusedObjective)  # a shallow copy, without copy's detours
        part.__dict__.update(self.__dict__)  # the settings stay; rows, noise, constant change
        if isinstance(index, slice):
            part.x_ND, part.y = self.x_ND[index], self.y[index]
        else:
            part.x_ND, part.y = self.x_ND.take(index, axis=0), self.y.take(index, axis=0)
        n = part.y.shape[0]
        part.y_NO = part.y.reshape(n, -1)
        sigma = self.sigma
        if sigma is not None and (np.ndim(sigma) == 2 or self.per_row(sigma, self.y)):
            part.sigma = sigma = np.asarray(sigma)[index]  # one per example or per element
            part.inv_var = self.inv_var[index]
            part.nll_const = float(nll_constant(part.y_NO.size, sigma)) if self.full else 0.0
        else:
            part.nll_const = self.nll_const * (n / self.y.shape[0])
        if not prior:
            part.prior_std, part.prior_coef, part.prior_log_const = None, 0.0, 0.0
        part.lik_scale = lik_scale
        part._pool = self._row_pool if pool is None else pool
        return part

    def _take(self) -> _WorkArrays:
        try:
            return self._pool.pop()
        except IndexError:
            return _WorkArrays()

    def _give(self, work: _WorkArrays) -> None:
        if len(self._pool) < _POOL_SIZE and work.n_bytes <= POOL_MAX_BYTES:
            self._pool.append(work)

    def prior_term(self, leaves: list[np.ndarray]) -> float:
        total = sum(float(np.vdot(leaf, leaf)) for leaf in leaves)
        count = sum(leaf.size for leaf in leaves)
        return self.prior_coef * total + count * self.prior_log_const

    def _learned_noise(self, log_sigma: Any) -> tuple[np.ndarray, float]:
        """Return ``1 / sigma**2`` and the NLL's log-sigma term for a learned sigma."""
        log_sigma_O = np.asarray(log_sigma, dtype=np.float64)
        return np.exp(-2.0 * log_sigma_O), self.y_NO.shape[0] * float(np.sum(log_sigma_O))

    def value(self, ws: list[Any], bs: list[Any], log_sigma: Any, keep: bool) -> tuple[float, Any]:
        """Return the objective and (when ``keep``) what the backward pass needs.

        With stacked parameters (every leaf with a leading axis K) the objective is a vector of
        K values, one per member.
        """
        if ws[0].ndim == 3:
            return self._stacked_value(ws, bs, keep)
        pool = self._pool
        work = pool.pop() if pool else _WorkArrays()
        out, acts = forward(ws, bs, self.x_ND, self.kernel, work.get)
        out -= self.y_NO
        sq_O, log_term = None, 0.0
        if self.learn:
            inv_var, log_term = self._learned_noise(log_sigma)
            sq_O = np.einsum("no,no->o", out, out)
            sq = float(sq_O @ inv_var)
        elif self.scalar_sigma:  # weighted_squares, inline: this runs at every step
            sq = float(np.vdot(out, out)) * float(self.inv_var)
        else:
            sq = weighted_squares(out, self.inv_var, False)
        total = (0.5 * sq + log_term + self.nll_const) * self.lik_scale
        if self.prior_std is not None:
            total += self.prior_term([*ws, *bs])
        if not keep:
            self._give(work)
            return total * self.scale, None
        return total * self.scale, (work, acts, out, sq_O)

    def grads(
        self,
        payload: Any,
        ws: list[Any],
        bs: list[Any],
        log_sigma: Any,
        g: float,
        into: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
    ) -> Grads:
        """Return the gradients of every w and b and of log sigma (None when it is fixed).

        ``payload`` is what :meth:`value` kept (its work arrays are returned to the pool here);
        None recomputes the forward pass. With ``into = (gws, gbs)`` the gradients are written
        into those arrays (views of one flat vector, for L-BFGS) instead of fresh ones.
        """
        if ws[0].ndim == 3:
            return self._stacked_grads(payload, ws, bs, g)
        if payload is None:
            work = None
            out, acts = model.forward(ws, bs, self.x_ND, self.kernel)
            r = out - self.y_NO
            sq_O = np.einsum("no,no->o", r, r) if self.learn else None
        else:
            work, acts, r, sq_O = payload
        factor = g * self.scale
        lik_factor = factor * self.lik_scale
        g_log_sigma = None
        inv_var = self.inv_var
        if self.learn:
            inv_var, _ = self._learned_noise(log_sigma)
            g_log_sigma = lik_factor * (self.y_NO.shape[0] - sq_O * inv_var)
        r *= inv_var * lik_factor
        buffers = None if work is None else work.get
        gws, gbs, _ = model.backward(
            ws, acts, r, self.kernel, need_x=False, buffers=buffers, out=into
        )
        if work is not None:  # back to the pool (``_give``, inline: this runs at every step)
            pool = self._pool
            if len(pool) < _POOL_SIZE and work.n_bytes <= POOL_MAX_BYTES:
                pool.append(work)
        if self.prior_std is not None:
            factor = 2.0 * self.prior_coef * g * self.scale
            for gw, w in zip(gws, ws, strict=True):
                gw += factor * w
            for gb, b in zip(gbs, bs, strict=True):
                gb += factor * b
        return gws, gbs, g_log_sigma

    # -- K stacked parameter sets at once (fixed or profiled sigma) ----------------------------

    def _member_squares(self, leaves: list[np.ndarray]) -> np.ndarray:
        """Return ``sum(theta**2)`` of every stacked member, shape (K,)."""
        total = np.zeros(len(leaves[0]))
        for leaf in leaves:  # one einsum per leaf, without reshaping it
            axes = "ijk"[: leaf.ndim - 1]
            total += np.einsum(f"K{axes},K{axes}->K", leaf, leaf)
        return total

    def _one_hidden_layer(self, ws: list[Any]) -> bool:
        """Whether K stacked networks take the lean path: one hidden layer, one output."""
        return len(ws) == 2 and ws[1].shape[-1] == 1 and self.scalar_sigma

    def _inputs_with_ones(self) -> tuple[np.ndarray, np.ndarray]:
        ones = self._ones
        if ones is None or ones[0] is not self.x_ND:
            ones = self._ones = (self.x_ND, *model.inputs_with_ones(self.x_ND))
        return ones[1], ones[2]

    def _lean_forward(self, ws: list[Any], bs: list[Any], work: _WorkArrays) -> Any:
        """Return the hidden activations (K, N, H) and the residuals (K, N) of the lean path."""
        hidden = model.stacked_hidden(
            self._inputs_with_ones()[0], ws[0], bs[0], self.kernel, work.get
        )
        k, n, _ = hidden.shape
        out = np.matmul(hidden, ws[1], out=work.get("out", (k, n, 1)))
        r_KN = out[..., 0]
        r_KN += bs[1]
        r_KN -= self.y_NO[:, 0]
        return hidden, r_KN

    def _stacked_value(self, ws: list[Any], bs: list[Any], keep: bool) -> tuple[Any, Any]:
        work = self._take()
        if self._one_hidden_layer(ws):
            hidden, r = self._lean_forward(ws, bs, work)
            sq_K = np.einsum("kn,kn->k", r, r)
            payload = (work, hidden, r, None)
        else:
            out, acts = model.forward(ws, bs, self.x_ND, self.kernel, work.get)
            out -= self.y_NO
            weighted = out * self.inv_var if not self.scalar_sigma else out
            sq_K = np.einsum("kno,kno->k", weighted, out)
            payload = (work, acts, out, None)
        if self.scalar_sigma:
            sq_K *= self.inv_var
        total_K = (0.5 * sq_K + self.nll_const) * self.lik_scale
        if self.prior_std is not None:
            leaves = [*ws, *bs]
            count = sum(leaf.size for leaf in leaves) // len(ws[0])
            total_K += self.prior_coef * self._member_squares(leaves)
            total_K += count * self.prior_log_const
        if not keep:
            self._give(work)
            return total_K * self.scale, None
        return total_K * self.scale, payload

    def _stacked_grads(self, payload: Any, ws: list[Any], bs: list[Any], g: Any) -> Grads:
        g = np.asarray(g, dtype=np.float64)  # one factor for all members, or one each (K,)
        factor = g * self.scale * self.lik_scale
        if self._one_hidden_layer(ws):
            gws, gbs, work = self._lean_grads(payload, ws, bs, factor)
        else:
            gws, gbs, work = self._general_grads(payload, ws, bs, factor)
        if work is not None:
            self._give(work)
        if self.prior_std is not None:
            prior = 2.0 * self.prior_coef * self.scale * g
            for grad, leaf in zip([*gws, *gbs], [*ws, *bs], strict=True):
                grad += (prior.reshape(-1, *[1] * (leaf.ndim - 1)) if prior.ndim else prior) * leaf
        return gws, gbs, None

    def _lean_grads(self, payload: Any, ws: list[Any], bs: list[Any], factor: Any) -> Any:
        if payload is None:
            work = self._take()
            hidden, r = self._lean_forward(ws, bs, work)
        else:
            work, hidden, r, _ = payload
        r *= self.inv_var  # two products, in the general path's order: the same bits
        r *= factor[:, None] if factor.ndim else float(factor)
        gw_out = np.matmul(hidden.transpose(0, 2, 1), r[..., None])
        gb_out = np.add.reduce(r, axis=1)[:, None]
        _, x1t_EN = self._inputs_with_ones()
        first = model.stacked_hidden_grads(x1t_EN, hidden, ws[1][..., 0], r, self.kernel, work.get)
        d = self.x_ND.shape[1]
        return [first[:, :d], gw_out], [first[:, d], gb_out], work

    def _general_grads(self, payload: Any, ws: list[Any], bs: list[Any], factor: Any) -> Any:
        if payload is None:
            work = None
            out, acts = model.forward(ws, bs, self.x_ND, self.kernel)
            r = out - self.y_NO
        else:
            work, acts, r, _ = payload
        r *= self.inv_var
        r *= factor.reshape(-1, 1, 1) if factor.ndim else float(factor)
        buffers = None if work is None else work.get
        gws, gbs, _ = model.backward(ws, acts, r, self.kernel, need_x=False, buffers=buffers)
        return gws, gbs, work

    def reference(self, params: Any, log_sigma: Any) -> Any:
        """Return the objective with plain autograd.numpy calls (the reference)."""
        yhat = model.predict(params, self.x_ND, activation=self.kernel.fn)
        y = self.y
        if model.stack_size(params) is not None:  # one value per stacked member
            axes = tuple(range(1, np.ndim(unbox(yhat))))
            total = 0.5 * anp.sum(((yhat - y) / self.sigma) ** 2, axis=axes) + self.nll_const
            total = total * self.lik_scale
            if self.prior_std is not None:
                leaves = layer_leaves(params)
                count = sum(int(np.size(unbox(leaf)[0])) for leaf in leaves)
                squares = sum(
                    anp.sum(leaf**2, axis=tuple(range(1, np.ndim(unbox(leaf))))) for leaf in leaves
                )
                total = total + self.prior_coef * squares + count * self.prior_log_const
            return total * self.scale
        if self.learn:
            sigma = anp.exp(log_sigma)
            sigma = sigma[0] if y.ndim == 1 else sigma
            total = reference_nll(y, yhat, sigma, True, False)
            if not self.full:
                total = total - self.y_NO.size * HALF_LOG_2PI
        else:
            total = reference_nll(y, yhat, self.sigma, self.full, False)
        total = total * self.lik_scale
        if self.prior_std is not None:
            count = sum(int(np.size(unbox(leaf))) for leaf in layer_leaves(params))
            const = count * self.prior_log_const
            total = total + reference_sum_squares(params, self.prior_coef, const)
        return total * self.scale


_POOL_SIZE = 4  # work-array sets kept for reuse; more passes in flight allocate their own
# A set larger than this (N x H work arrays of a large N) is freed after each pass instead of
# kept: memory then does not stay allocated beyond the data while the objective is idle.
POOL_MAX_BYTES = 64 * 2**20


class _WorkArrays:
    """One set of work arrays, looked up by key and reallocated when the shape changes."""

    __slots__ = ("arrays", "n_bytes")

    def __init__(self) -> None:
        self.arrays: dict[Any, np.ndarray] = {}
        self.n_bytes = 0

    def get(self, key: Any, shape: tuple[int, ...]) -> np.ndarray:
        buf = self.arrays.get(key)
        if buf is None or buf.shape != shape:
            old = 0 if buf is None else buf.nbytes
            buf = self.arrays[key] = np.empty(shape)
            self.n_bytes += buf.nbytes - old
        return buf


def _reference_tree(params: Any, log_sigma: Any, obj: FusedObjective) -> Any:
    return obj.reference(params, log_sigma)


def _reference_leaves(obj: FusedObjective, log_sigma: Any, *leaves: Any) -> Any:
    return obj.reference(as_layers(leaves), log_sigma)


def _objective_tree_raw(params: Any, log_sigma: Any, obj: FusedObjective) -> Any:
    leaves = layer_leaves(params)
    if any_box(leaves):  # only reached when traces are nested
        return objective_leaves(obj, log_sigma, *leaves)
    ans, payload = obj.value(leaves[0::2], leaves[1::2], log_sigma, keep=True)
    stash(ans, payload)
    return ans


def _objective_leaves_raw(obj: FusedObjective, log_sigma: Any, *leaves: Any) -> Any:
    ans, payload = obj.value(list(leaves[0::2]), list(leaves[1::2]), log_sigma, keep=True)
    stash(ans, payload)
    return ans


def _objective_tree_vjp(argnums: Any, ans: Any, args: tuple, kwargs: dict) -> Any:
    def backward(cached: Any, g: Any) -> list[Any]:
        params, log_sigma, obj = args
        leaves = layer_leaves(params)
        gws, gbs, g_log_sigma = obj.grads(cached, leaves[0::2], leaves[1::2], log_sigma, g)
        out: list[Any] = []
        if 0 in argnums:
            grads = [{"w": gw, "b": gb} for gw, gb in zip(gws, gbs, strict=True)]
            out.append(tuple(grads) if isinstance(params, tuple) else grads)
        if 1 in argnums:
            out.append(g_log_sigma)
        return out

    return cached_vjp(_reference_tree, argnums, ans, args, backward)


def _objective_leaves_vjp(argnums: Any, ans: Any, args: tuple, kwargs: dict) -> Any:
    def backward(cached: Any, g: Any) -> list[Any]:
        obj, log_sigma, *leaves = args
        gws, gbs, g_log_sigma = obj.grads(
            cached, list(leaves[0::2]), list(leaves[1::2]), log_sigma, g
        )
        return leaf_grads([None, g_log_sigma], gws, gbs, argnums)

    return cached_vjp(_reference_leaves, argnums, ans, args, backward)


objective_tree = register(_objective_tree_raw, _objective_tree_vjp, _reference_tree)
objective_leaves = register(_objective_leaves_raw, _objective_leaves_vjp, _reference_leaves)


def fast_objective(params: Any, log_sigma: Any, obj: FusedObjective) -> Any:
    """Return the objective at checked ``params``, recording at most one autograd node."""
    if isbox(params):
        return objective_tree(params, log_sigma, obj)
    leaves = layer_leaves(params)
    if any_box(leaves):
        return objective_leaves(obj, log_sigma, *leaves)
    if isbox(log_sigma):
        return objective_tree(params, log_sigma, obj)
    return obj.value(leaves[0::2], leaves[1::2], log_sigma, keep=False)[0]
