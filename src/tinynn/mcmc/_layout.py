"""Positions as the user gave them (an array or a stacked tree) and as the kernels use them.

Private to :mod:`tinynn.mcmc`. The kernels move (C, P) arrays; a user may start from a stacked
parameter tree (a leading chain axis on every leaf) and write the log density on such trees.
:class:`Layout` converts between the two and builds the batched value-and-gradient.
"""

from __future__ import annotations

import math
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from tinynn import tree
from tinynn._checks import as_float_array, describe


class Layout:
    """How a batch of positions is shaped: a (C, P) array, or a tree of (C, ...) leaves."""

    def __init__(self, init: Any) -> None:
        self.is_tree = isinstance(init, (list, dict, tuple))
        if self.is_tree:
            leaf_list = [np.asarray(leaf, dtype=float) for leaf in tree.leaves(init)]
            leading = {leaf.shape[0] if leaf.ndim else -1 for leaf in leaf_list}
            if not leaf_list or len(leading) != 1 or -1 in leading:
                raise ValueError(
                    "init as a tree must be stacked parameters: a leading chain axis C of the "
                    f"same length on every leaf, got leading lengths {sorted(leading)}; build "
                    "it with tinynn.tree.stack"
                )
            self.template = init
            self.shapes = [leaf.shape[1:] for leaf in leaf_list]
            self.q_CP = np.concatenate([leaf.reshape(len(leaf), -1) for leaf in leaf_list], axis=1)
        else:
            q = as_float_array(init, "init", ndims=(2,))
            self.shapes = [q.shape[1:]]
            self.q_CP = q.copy()
        if not np.all(np.isfinite(self.q_CP)):
            raise ValueError("init must be finite, got NaN or infinite entries")
        self.n_chains, self.n_params = self.q_CP.shape
        if self.n_params == 0:
            raise ValueError("init must hold at least one parameter per chain, got 0")

    def batch(self, q_BP: Any, lead: tuple[int, ...] | None = None) -> Any:
        """Return positions (B, P) (or (C, S, P) with ``lead``) in the user's form."""
        lead = lead if lead is not None else q_BP.shape[:1]
        if not self.is_tree:
            return q_BP
        sizes = [math.prod(shape) for shape in self.shapes]
        pieces = iter(np.split(q_BP, np.cumsum(sizes)[:-1], axis=-1))
        shapes = iter(self.shapes)
        return tree.map(lambda _leaf: next(pieces).reshape(*lead, *next(shapes)), self.template)

    def flat(self, batch: Any, n: int) -> np.ndarray:
        """Return a batch in the user's form as (n, P)."""
        if not self.is_tree:
            return np.array(batch, dtype=float).reshape(n, -1)
        return np.concatenate([np.reshape(leaf, (n, -1)) for leaf in tree.leaves(batch)], axis=1)

    def value_and_grad(self, log_density: Any, value_and_grad: Any) -> Any:
        """Return ``f(q_BP) -> (logp_B, grad_BP)`` from the user's function."""
        if (log_density is None) == (value_and_grad is None):
            raise TypeError(
                "give exactly one of log_density (differentiated by autograd) and "
                f"value_and_grad, got {describe(log_density)} and {describe(value_and_grad)}"
            )
        if not callable(log_density if value_and_grad is None else value_and_grad):
            raise TypeError(
                f"log_density must be callable, got {describe(log_density or value_and_grad)}"
            )

        def flat_value_and_grad(q_BP: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            n = q_BP.shape[0]
            if value_and_grad is not None:
                values, grads = value_and_grad(self.batch(q_BP))
            else:
                values, grads = _traced(log_density, self.batch(q_BP))
            values = np.array(values, dtype=float)  # owned copies: the sampler writes into them
            if values.shape != (n,):
                raise ValueError(
                    f"the log density must return one value per chain, shape ({n},), for "
                    f"{n} chains, got shape {values.shape}"
                )
            return values, self.flat(grads, n)

        return flat_value_and_grad


def _traced(log_density: Any, batch: Any) -> tuple[Any, Any]:
    """Return the per-chain values and the gradient of their sum (chains are independent)."""
    kept: dict[str, Any] = {}

    hint = (
        "write it with autograd.numpy (import autograd.numpy as anp) so that autograd can "
        "differentiate it, or pass value_and_grad instead"
    )

    def total(b: Any) -> Any:
        try:
            values = log_density(b)
        except TypeError as err:  # plain numpy on autograd's traced values fails like this
            raise TypeError(
                f"log_density failed on autograd's traced values ({err}); {hint}"
            ) from err
        if isinstance(values, np.ndarray) and values.dtype == object:
            raise TypeError(f"log_density returned a numpy array of autograd boxes: {hint}")
        kept["values"] = getval(values)
        return anp.sum(values)

    _, grads = autograd.value_and_grad(total)(batch)
    return kept["values"], grads
