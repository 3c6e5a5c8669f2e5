"""The loop of first-order training (private to :mod:`tinynn.optim`), on trees or on one vector.

Each iteration takes one optimizer step with the gradient of the previous iteration, evaluates the
new parameters (all rows, or the minibatch of a :class:`~tinynn.optim._batches.BatchPlan`) and
hands them to the :class:`~tinynn.optim._monitor.Monitor`, which commits them.

The parameters move in one of two representations. :class:`TreeSteps` keeps the trees the user
passed. :class:`FlatSteps` keeps one float64 vector ``theta_P`` laid out like
``tree.flatten(params)``, when the loss offers flat vectors (``Objective.flat``) and the optimizer
is elementwise (built by this package, so the same arithmetic on every element whatever the
layout): an optimizer step is then a dozen numpy calls on one vector instead of a dozen per leaf,
with bit-identical results. The monitor, the history and callbacks see trees either way (views
of the vectors, never modified in place), and the state handed back holds trees, so a run can
be resumed in either representation.

Shape suffixes: P scalars in a flat parameter vector.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tinynn import tree
from tinynn.optim._batches import BatchPlan
from tinynn.optim._monitor import Monitor, Point, Settings, evaluate_point, returning
from tinynn.optim._optimizers import Optimizer
from tinynn.optim._result import OptimizeResult, TrainState


class TreeSteps:
    """Parameters, gradients and optimizer states as the user's trees."""

    def __init__(self, evaluate: Callable[..., tuple[Any, Any]], plan: BatchPlan | None) -> None:
        self._evaluate = evaluate
        self._plan = plan

    def work(self, value: Any) -> Any:
        return value

    def trees(self, value: Any) -> Any:
        return value

    def evaluate(self, params: Any, iteration: int, first: bool) -> tuple[float, Any, Any, float]:
        """Return the loss, the gradient (twice: worked on, and as a tree) and its norm."""
        if self._plan is None:
            loss, grads, norm = evaluate_point(self._evaluate, params, first)
        else:
            rows = self._plan.rows(iteration)
            loss, grads, norm = evaluate_point(lambda p: self._evaluate(p, rows), params, first)
        return loss, grads, grads, norm


class FlatSteps:
    """Parameters, gradients and optimizer-state trees as vectors of a flat objective."""

    def __init__(self, flat: Any, plan: BatchPlan | None) -> None:
        self._flat = flat
        self._plan = plan

    def work(self, value: Any) -> Any:
        """Return a tree (or a state whose fields are trees) as vectors."""
        if _is_state(value):
            return type(value)(*(self.work(field) for field in value))
        if value is None or isinstance(value, (int, float, np.number)):
            return value
        return tree.flatten(value)[0]

    def trees(self, value: Any) -> Any:
        """Return a vector (or a state whose fields are vectors) as trees of views."""
        if _is_state(value):
            return type(value)(*(self.trees(field) for field in value))
        if isinstance(value, np.ndarray) and value.shape == (self._flat.size,):
            return self._flat.unflatten(value)
        return value

    def evaluate(
        self, theta_P: np.ndarray, iteration: int, first: bool
    ) -> tuple[float, Any, Any, float]:
        """Return the loss, the gradient as a vector and as a tree of its views, and its norm.

        The norm is taken leaf by leaf, as on trees, so both walks record the same numbers.
        """
        if self._plan is None:
            loss, grad_P = self._flat.value_and_grad(theta_P)
        else:
            loss, grad_P = self._flat.batch_value_and_grad(theta_P, self._plan.rows(iteration))
        grads = self._flat.unflatten(grad_P)
        return float(loss), grad_P, grads, float(tree.global_norm(grads))


def _is_state(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def run_first_order(
    steps: TreeSteps | FlatSteps,
    params: Any,
    optimizer: Optimizer,
    state: Any,
    settings: Settings,
    full_loss: tuple[Callable[[Any], Any], int] | None = None,
) -> OptimizeResult:
    """Run first-order steps from ``params`` (a tree) and return the result with trees."""
    start, opt_state, first = resume(optimizer, params, state)
    monitor = Monitor(settings, first + settings.n_iters, start, full_loss)
    reason, message, n_evals = "completed", "", 0
    iteration = first
    # the committed point in the working representation: parameters, pending gradient, state
    x = steps.work(params if start is None else start.params)
    g = None if start is None else steps.work(start.grads)
    st = steps.work(opt_state)
    try:
        for iteration in range(first, first + settings.n_iters):
            new_x, new_st = (x, st) if g is None else optimizer.update(g, st, x)
            loss, new_g, grads, grad_norm = steps.evaluate(new_x, iteration, n_evals == 0)
            n_evals += 1
            if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                reason = "diverged"
                message = diverged_message(iteration, loss, grad_norm, monitor.current)
                break
            stop = monitor.observe(iteration, steps.trees(new_x), loss, grads, grad_norm, new_st)
            x, g, st = new_x, new_g, new_st
            if stop is not None:
                reason = stop
                break
    except KeyboardInterrupt:
        reason = "interrupted"
        message = (
            f"interrupted by KeyboardInterrupt during iteration {iteration}; returning "
            f"{returning(monitor.current)}"
        )
    current = monitor.current
    if current is None:
        train_state = TrainState(opt_state, params, None, None, first)
    else:
        train_state = TrainState(
            steps.trees(current.opt_state),
            current.params,
            current.grads,
            current.loss,
            current.iteration + 1,
        )
    return monitor.finish(reason, message, params, train_state, n_evals)


def same_values(a: Any, b: Any) -> bool:
    """Return True when trees ``a`` and ``b`` have the same structure and equal leaves."""
    if a is b:
        return True
    try:
        equal = tree.map(lambda x, y: bool(np.array_equal(x, y)), a, b)
    except ValueError:
        return False
    return all(tree.leaves(equal))


def resume(optimizer: Optimizer, params: Any, state: Any) -> tuple[Point | None, Any, int]:
    """Return the starting point (None when nothing is pending), optimizer state, iteration."""
    if state is None:
        return None, optimizer.init(params), 0
    given = state.opt_state if isinstance(state, TrainState) else state
    expected = optimizer.init(params)
    if type(given) is not type(expected):
        raise TypeError(
            f"state does not belong to this optimizer: it holds a {type(given).__name__}, "
            f"but this optimizer's state is a {type(expected).__name__}; pass the optimizer "
            f"that produced the state, or state=None to start afresh"
        )
    if not isinstance(state, TrainState):
        return None, state, 0
    if state.grads is not None and state.loss is not None and same_values(params, state.params):
        start = Point(state.iteration - 1, state.params, state.loss, state.grads, state.opt_state)
        return start, state.opt_state, state.iteration
    return None, state.opt_state, state.iteration


def diverged_message(iteration: int, loss: float, grad_norm: float, current: Any) -> str:
    what = f"the loss is {loss}" if not math.isfinite(loss) else f"the gradient norm is {grad_norm}"
    return (
        f"training diverged at iteration {iteration}: {what}; returning {returning(current)}, "
        f"the last finite ones. Try a smaller step_size (or clip_by_global_norm), or "
        f"standardize the data (tinynn.data.Standardizer)"
    )
