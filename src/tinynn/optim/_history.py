"""The training history recorded by :func:`tinynn.optim.minimize`."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinynn._checks import describe

__all__ = ["History"]


class History:
    """What happened during a call to :func:`~tinynn.optim.minimize`, iteration by iteration.

    Always recorded, for every iteration: the iteration number, the loss, the global norm of the
    gradient and the seconds elapsed since the call started. These live in typed arrays and cost
    32 bytes per iteration (3.2 MB for 100,000 iterations).

    Recorded only on request, every k-th iteration (``record_params_every``,
    ``record_grads_every``, ``metrics_every``): deep copies of the parameters and of the
    gradients, and user metrics. A parameter or gradient record costs 8 bytes per scalar
    (``8 * tinynn.tree.size(params)``) plus about 120 bytes per array and 200 bytes per dict or
    list of the tree; a metric record costs 8 bytes per metric plus 8 for its iteration number.
    Recording the parameters of a 1,000-scalar network every 1,000 of 100,000 iterations keeps
    100 copies, about 0.8 MB, rather than 100,000 copies (800 MB).

    Attributes
    ----------
    iters : ndarray of shape (T,)
        Iteration numbers (int64). A run resumed from a state continues the numbering.
    losses : ndarray of shape (T,)
        Loss at the parameters of each iteration.
    grad_norms : ndarray of shape (T,)
        Global Euclidean norm of the gradient at those parameters.
    elapsed : ndarray of shape (T,)
        Seconds since the call started, when the iteration was recorded.
    params : dict of int to tree
        Copies of the parameters, keyed by iteration.
    grads : dict of int to tree
        Copies of the gradients, keyed by iteration.
    metrics : dict of str to ndarray
        Each metric's values (a validation loss, say) at the iterations in ``metric_iters``;
        the validation loss of early stopping is stored as ``"val_loss"``.
    metric_iters : ndarray
        Iterations at which the metrics were computed.

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> from tinynn.optim import gradient_descent, minimize
    >>> result = minimize(lambda x: anp.sum(x**2), np.array([1.0]),
    ...                   optimizer=gradient_descent(0.25), n_iters=4,
    ...                   record_params_every=2)
    >>> result.history.losses.tolist()
    [1.0, 0.25, 0.0625, 0.015625]
    >>> sorted(result.history.params)
    [0, 2]
    """

    def __init__(self) -> None:
        self._iters = array("q")
        self._losses = array("d")
        self._grad_norms = array("d")
        self._elapsed = array("d")
        self.params: dict[int, Any] = {}
        self.grads: dict[int, Any] = {}
        self._metric_iters = array("q")
        self._metrics: dict[str, array[float]] = {}

    # -- recording (used by minimize) ----------------------------------------------------------

    def _append(self, iteration: int, loss: float, grad_norm: float, elapsed: float) -> None:
        self._iters.append(iteration)
        self._losses.append(loss)
        self._grad_norms.append(grad_norm)
        self._elapsed.append(elapsed)

    def _append_metrics(self, iteration: int, values: dict[str, float]) -> None:
        if not self._metrics:
            self._metrics = {name: array("d") for name in values}
        self._metric_iters.append(iteration)
        for name, value in values.items():
            self._metrics[name].append(value)

    def _truncate(self, last_iteration: int | None) -> None:
        """Drop every record after ``last_iteration`` (all of them when it is None)."""

        def keep(iters: array[int]) -> int:
            n = len(iters)
            while n and (last_iteration is None or iters[n - 1] > last_iteration):
                n -= 1
            return n

        n = keep(self._iters)
        for column in (self._iters, self._losses, self._grad_norms, self._elapsed):
            del column[n:]
        m = min([keep(self._metric_iters)] + [len(col) for col in self._metrics.values()])
        del self._metric_iters[m:]
        for column in self._metrics.values():
            del column[m:]
        for records in (self.params, self.grads):
            for key in [k for k in records if last_iteration is None or k > last_iteration]:
                del records[key]

    # -- reading ---------------------------------------------------------------------------------

    @property
    def iters(self) -> np.ndarray:
        return np.array(self._iters, dtype=np.int64)

    @property
    def losses(self) -> np.ndarray:
        return np.array(self._losses, dtype=np.float64)

    @property
    def grad_norms(self) -> np.ndarray:
        return np.array(self._grad_norms, dtype=np.float64)

    @property
    def elapsed(self) -> np.ndarray:
        return np.array(self._elapsed, dtype=np.float64)

    @property
    def metric_iters(self) -> np.ndarray:
        return np.array(self._metric_iters, dtype=np.int64)

    @property
    def metrics(self) -> dict[str, np.ndarray]:
        return {name: np.array(col, dtype=np.float64) for name, col in self._metrics.items()}

    def __len__(self) -> int:
        return len(self._iters)

    def __repr__(self) -> str:
        if not self._iters:
            return "History(empty)"
        return (
            f"History({len(self)} iterations {self._iters[0]}..{self._iters[-1]}, "
            f"final loss {self._losses[-1]:.6e}, {len(self.params)} parameter records, "
            f"{len(self.grads)} gradient records, metrics {sorted(self._metrics)})"
        )

    @classmethod
    def concat(cls, histories: Iterable[History]) -> History:
        """Join the histories of successive calls, e.g. a run and its resumption, into one.

        Elapsed times are shifted so that they keep growing across calls; a metric missing
        from one of the histories is filled with NaN there.

        Parameters
        ----------
        histories : iterable of History
            In order; each one's iterations must come after the previous one's.

        Returns
        -------
        History
            A new history; the inputs are left as they are (parameter records are shared).

        Raises
        ------
        TypeError
            If an item is not a History.
        ValueError
            If the iterations do not increase from one history to the next.

        Examples
        --------
        >>> import numpy as np
        >>> import autograd.numpy as anp
        >>> from tinynn.optim import History, gradient_descent, minimize
        >>> opt = gradient_descent(0.25)
        >>> first = minimize(lambda x: anp.sum(x**2), np.array([1.0]), optimizer=opt, n_iters=2)
        >>> rest = minimize(lambda x: anp.sum(x**2), first.params, optimizer=opt, n_iters=2,
        ...                 state=first.state)
        >>> History.concat([first.history, rest.history]).iters.tolist()
        [0, 1, 2, 3]
        """
        out = cls()
        offset = 0.0
        items = list(histories)
        for h in items:
            if not isinstance(h, History):
                raise TypeError(f"histories must hold History objects, got {describe(h)}")
        names = list(dict.fromkeys(name for h in items for name in h._metrics))
        for h in items:
            if len(h) and len(out) and h._iters[0] <= out._iters[-1]:
                raise ValueError(
                    f"histories must continue each other, but iteration {h._iters[0]} comes "
                    f"after iteration {out._iters[-1]}; pass them in the order they were run"
                )
            out._iters.extend(h._iters)
            out._losses.extend(h._losses)
            out._grad_norms.extend(h._grad_norms)
            out._elapsed.extend(array("d", [t + offset for t in h._elapsed]))
            offset = out._elapsed[-1] if len(out) else offset
            out.params.update(h.params)
            out.grads.update(h.grads)
            out._metric_iters.extend(h._metric_iters)
            for name in names:
                column = out._metrics.setdefault(name, array("d"))
                column.extend(h._metrics.get(name, array("d", [math.nan] * len(h._metric_iters))))
        return out

    def as_dict(self) -> dict[str, list[Any]]:
        """Return the notebook's history dict with keys ``'iter'``, ``'f'``, ``'x'`` and ``'g'``.

        ``'iter'`` and ``'f'`` hold every iteration. ``'x'`` and ``'g'`` hold the recorded
        parameter and gradient copies in iteration order; with ``record_params_every=1`` and
        ``record_grads_every=1`` they line up with ``'iter'`` exactly as in the notebook.

        Returns
        -------
        dict
            ``{'iter': list of int, 'f': list of float, 'x': list of trees,
            'g': list of trees}``.

        Examples
        --------
        >>> import numpy as np
        >>> import autograd.numpy as anp
        >>> from tinynn.optim import gradient_descent, minimize
        >>> result = minimize(lambda x: anp.sum(x**2), np.array([1.0]),
        ...                   optimizer=gradient_descent(0.25), n_iters=2,
        ...                   record_params_every=1, record_grads_every=1)
        >>> history = result.history.as_dict()
        >>> history['iter'], history['f']
        ([0, 1], [1.0, 0.25])
        >>> history['x'], history['g']
        ([array([1.]), array([0.5])], [array([2.]), array([1.])])
        """
        return {
            "iter": list(self._iters),
            "f": list(self._losses),
            "x": [self.params[k] for k in sorted(self.params)],
            "g": [self.grads[k] for k in sorted(self.grads)],
        }
