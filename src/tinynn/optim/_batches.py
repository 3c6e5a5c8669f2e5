"""Minibatches for :func:`tinynn.optim.minimize`: the order of the rows, and what is evaluated.

Epoch ``e`` visits the N rows in the order of a permutation drawn from
``numpy.random.default_rng([seed, e])`` and cuts it into ``ceil(N / B)`` minibatches of B rows
(the last one smaller when B does not divide N). Iteration ``t`` uses minibatch
``t % steps_per_epoch`` of epoch ``t // steps_per_epoch``, so the rows of any iteration follow
from the seed and the iteration number alone: a run resumed from its state continues with the
very rows one longer run would have used, with no generator state to carry.

Two kinds of losses train on minibatches:

- objects offering the minibatch protocol, ``n_examples`` and
  ``batch_value_and_grad(params, index_B)`` (``tinynn.losses.make_objective`` builds them): the
  estimate's N / B scaling is theirs;
- plain functions ``loss_fn(params, x_B, y_B)`` with ``data=(x, y)``, which must return an
  estimate of the loss on all the data (e.g. ``N / B`` times a sum over the batch, plus the
  prior once).

Shape suffixes: B rows of a minibatch, N examples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinynn._checks import as_float_array, check_int, describe
from tinynn.optim._monitor import check_first_evaluation, scalar_value_and_grad


class BatchPlan:
    """The rows of every iteration (see the module docstring); one epoch's order is cached."""

    def __init__(self, n_examples: int, batch_size: int, seed: int) -> None:
        self.n_examples = n_examples
        self.batch_size = min(batch_size, n_examples)
        self.seed = seed
        self.steps_per_epoch = -(-n_examples // self.batch_size)
        self._epoch = -1
        self._order = np.empty(0, dtype=np.intp)

    def rows(self, iteration: int) -> np.ndarray:
        """Return the row indices of ``iteration``'s minibatch."""
        epoch, step = divmod(iteration, self.steps_per_epoch)
        if epoch != self._epoch:
            gen = np.random.default_rng([self.seed, epoch])
            self._order, self._epoch = gen.permutation(self.n_examples), epoch
        start = step * self.batch_size
        return self._order[start : start + self.batch_size]


class BatchLoss:
    """A loss read on minibatches: ``value_and_grad(params, rows)`` and the full ``value``."""

    def __init__(
        self,
        value_and_grad: Callable[[Any, np.ndarray], tuple[Any, Any]],
        value: Callable[[Any], Any],
        n_examples: int,
    ) -> None:
        self.value_and_grad = value_and_grad
        self.value = value
        self.n_examples = n_examples


def batch_loss(loss_fn: Any, value_and_grad: Any, data: Any) -> BatchLoss:
    """Return how to evaluate ``loss_fn`` on minibatches, or raise a clear error."""
    if value_and_grad is not None:
        raise ValueError(
            "value_and_grad cannot be used with batch_size: pass a loss with the minibatch "
            "protocol (tinynn.losses.make_objective) or loss_fn(params, x_B, y_B) with data=(x, y)"
        )
    protocol = callable(getattr(loss_fn, "batch_value_and_grad", None))
    if data is None:
        if not protocol:
            raise TypeError(
                f"batch_size needs a loss that reads minibatches: an objective of "
                f"tinynn.losses.make_objective, or a function loss_fn(params, x_B, y_B) with "
                f"data=(x, y); got loss_fn={describe(loss_fn)} and no data"
            )
        n = check_int(getattr(loss_fn, "n_examples", None), "loss_fn.n_examples", minimum=1)
        return BatchLoss(loss_fn.batch_value_and_grad, loss_fn, n)
    if protocol:
        raise ValueError(
            "data must not be given with an objective that holds its own data "
            "(make_objective); drop data=, or pass a function loss_fn(params, x_B, y_B)"
        )
    if not isinstance(data, tuple) or len(data) != 2:
        raise TypeError(f"data must be a tuple (x, y) of arrays, got {describe(data)}")
    x = as_float_array(data[0], "data[0] (x)", ndims=(1, 2))
    y = as_float_array(data[1], "data[1] (y)", ndims=(1, 2))
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"data must hold x and y with the same, non-zero number of rows, got x of shape "
            f"{x.shape} and y of shape {y.shape}"
        )
    evaluate = scalar_value_and_grad(loss_fn)
    checked = [False]

    def on_rows(params: Any, rows: np.ndarray) -> tuple[Any, Any]:
        value, grads = evaluate(params, x[rows], y[rows])
        if not checked[0]:
            check_first_evaluation(value, grads, params)
            checked[0] = True
        return value, grads

    return BatchLoss(on_rows, lambda params: loss_fn(params, x, y), len(x))
