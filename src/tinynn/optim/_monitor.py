"""Bookkeeping shared by every optimizer loop: history, best parameters, progress, stopping.

A loop evaluates the loss and gradient at some parameters, checks they are finite, and hands
them to :meth:`Monitor.observe`, which records the iteration, commits it as the current point
(one assignment, so an interrupt never leaves half an iteration behind), prints progress, runs
the metrics, the validation function and the callback, and says whether to stop.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from time import perf_counter
from typing import IO, Any, NamedTuple, cast

import numpy as np
from autograd.core import make_vjp
from autograd.extend import vspace
from autograd.tracer import getval

from tinynn import tree
from tinynn._checks import describe
from tinynn.optim._history import History
from tinynn.optim._result import CallbackInfo, OptimizeResult, TrainState

PROGRESS_FORMAT = "completed iter %5d/%d after %7.1f sec | loss %.6e"


class Settings(NamedTuple):
    """The validated keyword options of :func:`minimize`."""

    n_iters: int
    record_params_every: int
    record_grads_every: int
    metrics: dict[str, Any]
    metrics_every: int
    progress: bool
    progress_every: int
    stream: IO[str] | None
    tol: float | None
    gtol: float | None
    validation_fn: Any
    patience: int | None
    callback: Any
    on_nonfinite: str
    batch_size: int | None
    seed: int
    full_loss_every: int


class Point(NamedTuple):
    """The last committed iteration: its number, parameters, loss, gradient, optimizer state."""

    iteration: int
    params: Any
    loss: float
    grads: Any
    opt_state: Any


class Monitor:
    """Record iterations and decide when to stop; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        total: int,
        start: Point | None,
        full_loss: tuple[Callable[[Any], Any], int] | None = None,
    ) -> None:
        self.settings = settings
        self.full_loss = full_loss  # (loss on all the data, every how many iterations)
        self.total = total
        self.history = History()
        self.t0 = perf_counter()
        self.current: Point | None = start
        self.n_done = 0
        self.best_loss = start.loss if start is not None else math.inf
        self.best_params = start.params if start is not None else None
        self.prev_loss = start.loss if start is not None else None
        self.best_val = math.inf
        self.best_val_params: Any = None
        self.best_val_iter = -1
        self.wait = 0
        self.stop_message = ""

    def observe(
        self, iteration: int, params: Any, loss: float, grads: Any, grad_norm: float, opt_state: Any
    ) -> str | None:
        """Record and commit one finite iteration; return a stop reason or None to go on."""
        s = self.settings
        elapsed = perf_counter() - self.t0
        self.history._append(iteration, loss, grad_norm, elapsed)
        if s.record_params_every and iteration % s.record_params_every == 0:
            self.history.params[iteration] = tree.copy(params)
        if s.record_grads_every and iteration % s.record_grads_every == 0:
            self.history.grads[iteration] = tree.copy(grads)
        self.current = Point(iteration, params, loss, grads, opt_state)
        self.n_done += 1
        if loss < self.best_loss:
            self.best_loss, self.best_params = loss, params
        if s.progress and (self.n_done <= 3 or (iteration + 1) % s.progress_every == 0):
            self._print_progress(iteration, elapsed, loss)
        prev, self.prev_loss = self.prev_loss, loss
        due = (s.metrics or s.validation_fn is not None) and iteration % s.metrics_every == 0
        full_due = self.full_loss is not None and iteration % self.full_loss[1] == 0
        if due or full_due:
            reason = self._check_metrics(iteration, params, due, full_due)
            if reason is not None:
                return reason
        if s.gtol is not None and grad_norm <= s.gtol:
            self.stop_message = (
                f"converged at iteration {iteration}: gradient norm {grad_norm:.3e} <= "
                f"gtol={s.gtol:g}"
            )
            return "converged"
        if s.tol is not None and prev is not None:
            change = abs(prev - loss)
            if change <= s.tol * max(abs(prev), abs(loss)):
                self.stop_message = (
                    f"converged at iteration {iteration}: relative loss change "
                    f"{change / max(abs(prev), abs(loss), 1e-300):.3e} <= tol={s.tol:g}"
                )
                return "converged"
        if s.callback is not None:
            info = CallbackInfo(iteration, params, loss, grads, grad_norm, elapsed)
            if s.callback(info):
                self.stop_message = f"the callback asked to stop at iteration {iteration}"
                return "callback"
        return None

    def _print_progress(self, iteration: int, elapsed: float, loss: float) -> None:
        import sys

        stream = self.settings.stream if self.settings.stream is not None else sys.stdout
        stream.write(PROGRESS_FORMAT % (iteration + 1, self.total, elapsed, loss) + "\n")
        if hasattr(stream, "flush"):
            stream.flush()

    def _check_metrics(self, iteration: int, params: Any, due: bool, full_due: bool) -> str | None:
        """Record the metrics that are due at ``iteration`` (NaN for the others)."""
        s = self.settings
        values = {name: float(fn(params)) if due else math.nan for name, fn in s.metrics.items()}
        if self.full_loss is not None:
            values["full_loss"] = float(self.full_loss[0](params)) if full_due else math.nan
        if s.validation_fn is None or not due:
            if s.validation_fn is not None:
                values["val_loss"] = math.nan
            self.history._append_metrics(iteration, values)
            return None
        val = float(s.validation_fn(params))
        values["val_loss"] = val
        self.history._append_metrics(iteration, values)
        if not math.isfinite(val):
            self.stop_message = (
                f"training diverged at iteration {iteration}: validation_fn returned {val!r}"
            )
            if self.best_val_params is None:  # else finish() says which parameters it restored
                self.stop_message += f"; returning {returning(self.current)}"
            return "diverged"
        if val < self.best_val:
            self.best_val, self.best_val_params, self.best_val_iter = val, params, iteration
            self.wait = 0
            return None
        self.wait += 1
        if s.patience is not None and self.wait >= s.patience:
            self.stop_message = (
                f"early stopping at iteration {iteration}: the validation loss did not improve "
                f"for {self.wait} checks"
            )
            return "early_stopping"
        return None

    def wants_trees(self) -> bool:
        """Return whether anything reads each iteration's parameters and gradient as trees.

        Records, metrics, a validation function and a callback do; without them a loop may
        hand :meth:`observe` flat vectors and call :meth:`points_as_trees` once at the end.
        """
        s = self.settings
        return bool(
            s.record_params_every
            or s.record_grads_every
            or s.metrics
            or s.validation_fn is not None
            or s.callback is not None
        )

    def points_as_trees(
        self, params_of: Callable[[Any], Any], grads_of: Callable[[Any], Any]
    ) -> None:
        """Turn the flat vectors kept as the current and best points into trees."""
        current = self.current
        if current is None:
            return
        params = params_of(current.params)
        if self.best_params is current.params:
            self.best_params = params
        elif self.best_params is not None:
            self.best_params = params_of(self.best_params)
        self.current = current._replace(params=params, grads=grads_of(current.grads))

    def elapsed(self) -> float:
        return perf_counter() - self.t0

    def finish(
        self, reason: str, message: str, init_params: Any, state: TrainState | None, n_evals: int
    ) -> OptimizeResult:
        """Build the result; restore the best validation parameters when there are some."""
        current = self.current
        if reason == "interrupted":
            self.history._truncate(current.iteration if current is not None else None)
        params = current.params if current is not None else init_params
        if not message:
            message = self.stop_message or f"completed {self.n_done} iterations"
        if self.best_val_params is not None:
            params = self.best_val_params
            message += (
                f"; restored the parameters of iteration {self.best_val_iter}, which had the "
                f"lowest validation loss ({self.best_val:.6e})"
            )
        best_params = self.best_params if self.best_params is not None else init_params
        return OptimizeResult(
            params=params,
            best_params=best_params,
            best_loss=float(self.best_loss),
            history=self.history,
            n_iters=len(self.history),
            state=state,
            reason=reason,
            message=message,
            n_evals=n_evals,
        )


def evaluate_point(
    value_and_grad: Callable[[Any], tuple[Any, Any]], params: Any, first: bool
) -> tuple[float, Any, float]:
    """Return ``(loss, grads, grad_norm)`` at ``params``; the first evaluation is checked."""
    loss, grads = value_and_grad(params)
    if first:
        check_first_evaluation(loss, grads, params)
    return float(loss), grads, float(tree.global_norm(grads))


def returning(current: Any) -> str:
    """Name the parameters a stopped run hands back: the last committed iteration's."""
    if current is None:
        return "the initial parameters"
    return f"the parameters of iteration {current.iteration}"


def check_first_evaluation(loss: Any, grads: Any, params: Any) -> None:
    """Check the first loss is a real scalar and the first gradient is shaped like ``params``."""
    shape = np.shape(cast(Any, loss))
    if not isinstance(loss, (numbers.Real, np.number, np.ndarray)):
        raise TypeError(f"the loss must be a real number, got {describe(loss)}")
    if shape != ():
        raise ValueError(
            f"the loss must be a scalar, got an array of shape {shape}; reduce it "
            f"with np.sum(...) or np.mean(...)"
        )
    try:
        # dicts match by key; shapes are compared below, with a message about the gradient
        matched = tree.map(lambda p, g: g, params, grads, root="params", same_shapes=False)
    except ValueError as err:
        raise ValueError(f"the gradient must have the structure of the parameters: {err}") from None
    for (path, p), g in zip(tree.leaves_with_paths(params), tree.leaves(matched), strict=True):
        if np.shape(p) != np.shape(g):
            raise ValueError(
                f"the gradient of {path} must have its shape {np.shape(p)}, got {np.shape(g)}"
            )


def scalar_value_and_grad(loss_fn: Callable[..., Any]) -> Callable[..., tuple[Any, Any]]:
    """Return autograd's value_and_grad of ``loss_fn`` (in its first argument), with a clear
    error for a non-scalar loss.

    autograd's own messages ("Can't find vector space for value None", "only applies to real
    scalar-output functions") do not say that the loss returned the wrong thing.

    It is autograd's ``value_and_grad`` without its wrappers: one ``make_vjp`` and, for the usual
    float loss, a seed of one made directly instead of through the loss's vector space (about
    10% of a value-and-gradient of the notebook's 2-30-1 objective at N = 300).
    """

    def evaluate(params: Any, *args: Any) -> tuple[Any, Any]:
        vjp, value = make_vjp(lambda p: loss_fn(p, *args), params)
        if type(value) is float or type(value) is np.float64:
            return value, vjp(np.array(1.0))  # np.ones(()) costs 5x more
        space = vspace(value)  # a TypeError naming "vector space" for what has none
        if space.size != 1:
            raise TypeError(
                "the loss is not a scalar: value_and_grad only applies to real "
                "scalar-output functions"
            )
        return value, vjp(space.ones())

    first = [True]

    def checked(params: Any, *args: Any) -> tuple[Any, Any]:
        if not first[0]:
            return evaluate(params, *args)
        first[0] = False
        try:
            with warnings.catch_warnings():  # autograd's warning for a constant loss comes first
                warnings.filterwarnings("ignore", "Output seems independent of input")
                return evaluate(params, *args)
        except TypeError as err:
            text = str(err)
            if "vector space" not in text and "scalar-output" not in text:
                raise
            value = loss_fn(params, *args)
            raise TypeError(
                f"loss_fn must return a real scalar (a float or a 0-d array), got "
                f"{describe(getval(value))}"
            ) from None

    return checked
