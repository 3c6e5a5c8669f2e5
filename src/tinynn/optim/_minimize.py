"""Minimize a differentiable function of a parameter tree: :func:`minimize`."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import IO, Any, cast

import numpy as np

from tinynn._checks import describe
from tinynn.optim._batches import BatchPlan, batch_loss
from tinynn.optim._first_order import FlatSteps, TreeSteps, run_first_order
from tinynn.optim._lbfgs import LBFGS, run_lbfgs
from tinynn.optim._lm import LevenbergMarquardt, run_levenberg_marquardt
from tinynn.optim._monitor import Settings, scalar_value_and_grad
from tinynn.optim._optimizers import Optimizer, elementwise
from tinynn.optim._options import check_init_params, check_settings, resolve_optimizer
from tinynn.optim._result import DivergenceError, DivergenceWarning, OptimizeResult

__all__ = ["minimize"]


def minimize(
    loss_fn: Callable[[Any], Any] | None,
    init_params: Any,
    *,
    optimizer: Any,
    n_iters: int,
    value_and_grad: Callable[[Any], tuple[Any, Any]] | None = None,
    state: Any = None,
    record_params_every: int = 0,
    record_grads_every: int = 0,
    metrics: Mapping[str, Callable[[Any], float]] | None = None,
    metrics_every: int = 1,
    progress: bool = False,
    progress_every: int = 50,
    stream: IO[str] | None = None,
    tol: float | None = None,
    gtol: float | None = None,
    validation_fn: Callable[[Any], float] | None = None,
    patience: int | None = None,
    callback: Callable[[Any], Any] | None = None,
    on_nonfinite: str = "stop",
    batch_size: int | None = None,
    data: tuple[Any, Any] | None = None,
    seed: int = 0,
    full_loss_every: int = 0,
) -> OptimizeResult:
    """Minimize ``loss_fn(params)`` over a tree of parameters, never losing the work done.

    Iteration 0 evaluates the loss and gradient at ``init_params``; every later iteration
    first takes one optimizer step with the gradient of the previous iteration, then
    evaluates the new parameters. So ``n_iters`` iterations make ``n_iters`` loss-and-gradient
    evaluations and ``n_iters - 1`` updates, exactly like the teaching notebook's
    ``run_many_iters_of_gradient_descent``, the returned parameters are always ones whose loss
    is known (``history.losses[-1]``), and nothing is ever evaluated twice. The gradient of the
    last iteration is kept in ``result.state``; passing that state back applies it first, so
    two calls of 50 iterations equal one call of 100, bit for bit.

    With ``batch_size=B`` every iteration evaluates a minibatch of B rows instead of all N:
    epoch ``e`` visits the rows in the order of a permutation drawn from
    ``numpy.random.default_rng([seed, e])``, cut into ``ceil(N / B)`` minibatches, and the
    likelihood of each is scaled by N / B so that its loss and gradient are unbiased estimates
    of the full ones. Iteration ``t``'s rows follow from ``seed`` and ``t`` alone, so resuming
    from ``result.state`` (with the same seed) continues bit for bit here too. The history
    holds the minibatch estimates; ``full_loss_every=k`` adds the loss on all the data, every
    k epochs, as the metric ``"full_loss"``.

    Parameters
    ----------
    loss_fn : callable or None
        ``loss_fn(params) -> float``, differentiable by autograd. May be None when
        ``value_and_grad`` is given. If it has a ``value_and_grad`` method (the objectives of
        :func:`tinynn.losses.make_objective` do), that method is used instead of autograd; if
        it has a ``flat(params)`` method returning an object with ``value_and_grad(theta_P)``
        and ``unflatten(theta_P)`` (or None), L-BFGS works on flat vectors through it.
    init_params : tree
        Nested lists, tuples and dicts of arrays, e.g. ``[{'w': w_DH, 'b': b_H}, ...]``.
        Copied and cast to float64 (integers cannot be differentiated); never modified.
    optimizer : Optimizer, LBFGS or str
        ``gradient_descent(step)``, ``momentum(...)``, ``nesterov(...)``, ``adam(...)``,
        ``rmsprop(...)`` (optionally wrapped by ``clip_by_global_norm``), ``lbfgs()``, any
        object with ``init`` and ``update``, or one of their names for default settings.
    n_iters : int
        Number of iterations (evaluated points), at least 1. For L-BFGS, the most.
    value_and_grad : callable, optional
        ``value_and_grad(params) -> (loss, grads)`` replacing autograd's, e.g. a hand-written
        gradient.
    state : TrainState, optional
        ``result.state`` of an earlier call, to continue it (pass ``result.params`` as
        ``init_params``). If ``init_params`` differ from the parameters the state ended at,
        the pending gradient is dropped and iteration 0 evaluates ``init_params``, keeping the
        optimizer's moments. The pending gradient belongs to the earlier loss: when the loss
        changed (new data), pass ``state=result.state._replace(grads=None)`` to evaluate first.
        A bare optimizer state (from ``optimizer.init``) is accepted too. Validation
        bookkeeping (best validation loss, patience) starts afresh in each call.
    record_params_every, record_grads_every : int, default 0
        Keep a copy of the parameters (gradients) at every k-th iteration (0: never). See
        :class:`History` for the memory cost.
    metrics : dict of str to callable, optional
        ``{name: fn(params) -> float}`` recorded every ``metrics_every`` iterations.
    metrics_every : int, default 1
        How often the metrics and ``validation_fn`` run.
    progress : bool, default False
        Print ``completed iter %5d/%d after %7.1f sec | loss %.6e`` for the first three
        iterations and every ``progress_every``-th.
    progress_every : int, default 50
        Stride of the progress lines.
    stream : text stream, optional
        Where progress goes; ``sys.stdout`` by default.
    tol : float, optional
        Stop ("converged") when the relative loss change
        ``|f_prev - f| / max(|f_prev|, |f|)`` is at most ``tol``.
    gtol : float, optional
        Stop ("converged") when the global gradient norm is at most ``gtol``.
    validation_fn : callable, optional
        ``validation_fn(params) -> float``, a loss on held-out data, recorded as the metric
        ``"val_loss"``. Whenever it is given, ``result.params`` are the parameters with the
        lowest validation loss, however training stopped.
    patience : int, optional
        Stop ("early_stopping") after this many validation checks without improvement.
        Needs ``validation_fn``.
    callback : callable, optional
        ``callback(info)`` after every iteration (the first at ``init_params``) with a
        :class:`CallbackInfo` (iteration, params, loss, grads, grad_norm, elapsed); return
        True to stop ("callback"). Read the trees, never modify them in place.
    on_nonfinite : {"stop", "raise"}, default "stop"
        On a NaN or infinite loss or gradient, "stop" returns the last finite parameters
        with reason "diverged" and a :class:`DivergenceWarning`; "raise" raises
        :class:`DivergenceError` carrying that result as ``error.result``.
    batch_size : int, optional
        Train on minibatches of this many rows (at most N; first-order optimizers only). The
        loss must read minibatches: an objective of :func:`tinynn.losses.make_objective`
        (anything with ``n_examples`` and ``batch_value_and_grad(params, index_B)``), or a
        function ``loss_fn(params, x_B, y_B)`` together with ``data``, returning an estimate
        of the loss on all the data (``N / B`` times the batch's sum, plus the prior once).
        ``tol`` and ``gtol`` are refused: noisy estimates say nothing about convergence.
    data : tuple (x, y), optional
        The rows a function ``loss_fn(params, x_B, y_B)`` is given minibatches of.
    seed : int, default 0
        Seed of the shuffles (see above); only used with ``batch_size``.
    full_loss_every : int, default 0
        With ``batch_size``, record the loss on all the data every this many epochs, starting
        at iteration 0, as ``history.metrics["full_loss"]`` (NaN in metric rows in between).
        An objective of ``make_objective`` sums it over chunks of rows, so its work arrays
        stay the size of a chunk.

    Returns
    -------
    OptimizeResult
        ``params``, ``best_params``, ``best_loss``, ``history``, ``n_iters``, ``state``,
        ``reason``, ``message``, ``n_evals`` and ``success``. A KeyboardInterrupt returns
        the result so far with reason "interrupted".

    Raises
    ------
    TypeError
        If an argument has the wrong type, or ``state`` belongs to another optimizer.
    ValueError
        If an argument has a bad value, the loss is not a scalar or the gradient does not
        match the parameters.
    DivergenceError
        If the loss or gradient is not finite and ``on_nonfinite="raise"``.
    ImportError
        If L-BFGS is asked for without scipy installed.

    Warns
    -----
    DivergenceWarning
        When training diverged (with the iteration number and what to try). numpy's own
        overflow and invalid-value warnings are silenced during training: a non-finite loss
        or gradient is reported once, by this warning.

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> from tinynn.optim import adam, minimize
    >>> def loss(params):
    ...     return anp.sum((params['x'] - 1.0) ** 2) + params['y'] ** 2
    >>> start = {'x': np.zeros(2), 'y': 3}
    >>> result = minimize(loss, start, optimizer=adam(0.1), n_iters=500)
    >>> result.reason, len(result.history)
    ('completed', 500)
    >>> np.round(result.params['x'], 3), round(float(result.params['y']), 3)
    (array([1., 1.]), 0.0)
    """
    given = locals()  # each option is spelled once more, as a field of Settings
    settings = check_settings({name: given[name] for name in Settings._fields})
    method = resolve_optimizer(optimizer)
    if settings.batch_size is not None:
        result = _minimize_batches(
            loss_fn, value_and_grad, data, init_params, method, state, settings
        )
        return _report(result, settings)
    if data is not None:
        raise ValueError(
            "data is only used with batch_size (minibatches); a full-batch loss_fn(params) "
            "holds its data itself. Pass batch_size=, or drop data="
        )
    if value_and_grad is not None:
        if not callable(value_and_grad):
            raise TypeError(
                f"value_and_grad must be a function params -> (loss, grads), got "
                f"{describe(value_and_grad)}"
            )
        if loss_fn is not None and not callable(loss_fn):
            raise TypeError(f"loss_fn must be a function params -> loss, got {describe(loss_fn)}")
        evaluate = value_and_grad
    elif not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be a function params -> loss, got {describe(loss_fn)}; or pass "
            f"value_and_grad=fn returning (loss, grads)"
        )
    elif callable(getattr(loss_fn, "value_and_grad", None)):
        evaluate = getattr(loss_fn, "value_and_grad")  # noqa: B009 - make_objective's fused pass
    else:
        evaluate = scalar_value_and_grad(loss_fn)
    params = check_init_params(init_params)
    flat = None
    if isinstance(method, (LBFGS, LevenbergMarquardt)):  # the methods that work on flat vectors
        flat = _flat_protocol(loss_fn, value_and_grad, params)
    if isinstance(method, LBFGS) and state is not None:
        raise ValueError(
            "state cannot be used with lbfgs(): L-BFGS restarts from init_params each call; "
            "pass state=None"
        )
    if isinstance(method, LevenbergMarquardt):
        if state is not None:
            raise ValueError(
                "state cannot be used with levenberg_marquardt(): it restarts from init_params "
                "each call; pass state=None"
            )
        if value_and_grad is not None:
            raise ValueError(
                "levenberg_marquardt() needs the loss itself, not value_and_grad: pass a "
                "make_objective loss or a function returning residuals as loss_fn"
            )
    # Overflow shows up as a non-finite loss or gradient, reported once by DivergenceWarning.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if isinstance(method, LBFGS):
            result = run_lbfgs(evaluate, params, method, settings, flat)
        elif isinstance(method, LevenbergMarquardt):
            result = run_levenberg_marquardt(loss_fn, params, method, settings, flat)
        else:
            flat = _flat_protocol(loss_fn, value_and_grad, params) if elementwise(method) else None
            steps = TreeSteps(evaluate, None) if flat is None else FlatSteps(flat, None)
            result = run_first_order(steps, params, method, state, settings)
    return _report(result, settings)


def _report(result: OptimizeResult, settings: Settings) -> OptimizeResult:
    """Warn about (or raise for) a diverged run, then return its result."""
    if result.reason == "diverged":
        if settings.on_nonfinite == "raise":
            raise DivergenceError(result.message, result)
        warnings.warn(result.message, DivergenceWarning, stacklevel=3)
    return result


def _minimize_batches(
    loss_fn: Any,
    value_and_grad: Any,
    data: Any,
    init_params: Any,
    method: Any,
    state: Any,
    settings: Settings,
) -> OptimizeResult:
    """The body of :func:`minimize` with ``batch_size``: first-order steps on minibatches."""
    if not isinstance(method, Optimizer):
        raise ValueError(
            f"batch_size needs a first-order optimizer (adam, rmsprop, momentum, ...), got "
            f"{type(method).__name__}: L-BFGS and Levenberg-Marquardt need the full loss"
        )
    loss = batch_loss(loss_fn, value_and_grad, data)
    params = check_init_params(init_params)
    plan = BatchPlan(loss.n_examples, cast(int, settings.batch_size), settings.seed)
    full_loss = None
    if settings.full_loss_every:
        full_loss = (loss.value, settings.full_loss_every * plan.steps_per_epoch)
    flat = None
    if data is None and elementwise(method):
        flat = _flat_protocol(loss_fn, None, params)
        if not callable(getattr(flat, "batch_value_and_grad", None)):
            flat = None  # flat vectors without minibatches: stay on trees
    steps = TreeSteps(loss.value_and_grad, plan) if flat is None else FlatSteps(flat, plan)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return run_first_order(steps, params, method, state, settings, full_loss)


def _flat_protocol(loss_fn: Any, value_and_grad: Any, params: Any) -> Any:
    """Return ``owner.flat(params)`` of an objective that offers flat vectors, or None.

    The owner is ``loss_fn``, or the object whose bound ``value_and_grad`` method was passed.
    """
    owner = loss_fn
    if value_and_grad is not None:
        if getattr(value_and_grad, "__name__", None) != "value_and_grad":
            return None
        owner = getattr(value_and_grad, "__self__", None)
    make_flat = getattr(owner, "flat", None)
    return make_flat(params) if callable(make_flat) else None
