"""Validation of what users pass to :func:`tinynn.optim.minimize`, done once per call."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np
from autograd.tracer import isbox

from tinynn import tree
from tinynn._checks import check_choice, check_int, check_positive, describe
from tinynn.optim._adaptive import adam, rmsprop
from tinynn.optim._lbfgs import LBFGS, lbfgs
from tinynn.optim._monitor import Settings
from tinynn.optim._optimizers import Optimizer, gradient_descent, momentum, nesterov

_BY_NAME: dict[str, Callable[[], Any]] = {
    "gradient_descent": gradient_descent,
    "momentum": momentum,
    "nesterov": nesterov,
    "adam": adam,
    "rmsprop": rmsprop,
    "lbfgs": lbfgs,
}


def _optional_callable(value: Any, name: str, what: str) -> Any:
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be {what} or None, got {describe(value)}")
    return value


def check_settings(**options: Any) -> Settings:
    """Validate the keyword options of minimize and return them as :class:`Settings`."""
    n_iters = check_int(options["n_iters"], "n_iters", minimum=1)
    record_params_every = check_int(options["record_params_every"], "record_params_every")
    record_grads_every = check_int(options["record_grads_every"], "record_grads_every")
    metrics_every = check_int(options["metrics_every"], "metrics_every", minimum=1)
    progress_every = check_int(options["progress_every"], "progress_every", minimum=1)
    progress = options["progress"]
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True or False, got {describe(progress)}")
    stream = options["stream"]
    if stream is not None and not callable(getattr(stream, "write", None)):
        raise TypeError(
            f"stream must be a text stream with a write method (sys.stdout, an open file, "
            f"io.StringIO()) or None, got {describe(stream)}"
        )
    tol = None if options["tol"] is None else check_positive(options["tol"], "tol")
    gtol = None if options["gtol"] is None else check_positive(options["gtol"], "gtol")
    validation_fn = _optional_callable(
        options["validation_fn"], "validation_fn", "a function params -> validation loss"
    )
    patience = options["patience"]
    if patience is not None:
        patience = check_int(patience, "patience", minimum=1)
        if validation_fn is None:
            raise ValueError(
                f"patience={patience} needs a validation_fn to watch: pass "
                f"validation_fn=lambda params: <loss on held-out data>, or drop patience"
            )
    callback = _optional_callable(options["callback"], "callback", "a function info -> bool")
    on_nonfinite = check_choice(options["on_nonfinite"], "on_nonfinite", ("stop", "raise"))
    metrics = options["metrics"]
    if metrics is None:
        metrics = {}
    if not isinstance(metrics, Mapping) or not all(
        isinstance(k, str) and callable(v) for k, v in metrics.items()
    ):
        raise TypeError(
            f"metrics must be a dict mapping names to functions params -> float, such as "
            f"{{'val_mse': lambda params: ...}}, got {describe(metrics)}"
        )
    if validation_fn is not None and "val_loss" in metrics:
        raise ValueError(
            "metrics must not use the name 'val_loss' when validation_fn is given: the "
            "history stores the validation loss under that name; rename the metric"
        )
    return Settings(
        n_iters=n_iters,
        record_params_every=record_params_every,
        record_grads_every=record_grads_every,
        metrics=dict(metrics),
        metrics_every=metrics_every,
        progress=bool(progress),
        progress_every=progress_every,
        stream=stream,
        tol=tol,
        gtol=gtol,
        validation_fn=validation_fn,
        patience=patience,
        callback=callback,
        on_nonfinite=on_nonfinite,
    )


def resolve_optimizer(optimizer: Any) -> Optimizer | LBFGS:
    """Return ``optimizer`` as an Optimizer or the L-BFGS marker; names get default settings."""
    if isinstance(optimizer, (Optimizer, LBFGS)):
        return optimizer
    if isinstance(optimizer, str):
        if optimizer not in _BY_NAME:
            choices = ", ".join(repr(name) for name in _BY_NAME)
            raise ValueError(
                f"optimizer must be one of {choices} or an optimizer object such as "
                f"tinynn.optim.adam(1e-3), got {optimizer!r}"
            )
        return _BY_NAME[optimizer]()
    init = getattr(optimizer, "init", None)
    update = getattr(optimizer, "update", None)
    if callable(init) and callable(update):
        return Optimizer(init, update)
    raise TypeError(
        f"optimizer must be an (init, update) pair such as tinynn.optim.adam(1e-3), "
        f"tinynn.optim.lbfgs() or a name like 'adam', got {describe(optimizer)}"
    )


def check_init_params(init_params: Any) -> Any:
    """Return a float64 deep copy of ``init_params`` after checking its leaves are finite."""
    pairs = tree.leaves_with_paths(init_params, root="init_params")
    if not pairs:
        raise ValueError(
            f"init_params must hold at least one array, got {describe(init_params)}; pass "
            f"e.g. tinynn.make_params(n_inputs, hidden_sizes)"
        )
    for path, leaf in pairs:
        if isbox(leaf):
            raise TypeError(f"{path} must be a concrete array, got a traced autograd value")
        arr = np.asarray(leaf)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{path} must hold real numbers, got {describe(leaf)}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"{path} must be finite to start training, got {describe(leaf)} holding NaN "
                f"or infinity; initialize it again"
            )
    return tree.copy(init_params)


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
        matched = tree.map(lambda p, g: g, params, grads, root="params")  # dicts match by key
    except ValueError as err:
        raise ValueError(f"the gradient must have the structure of the parameters: {err}") from None
    for (path, p), g in zip(tree.leaves_with_paths(params), tree.leaves(matched), strict=True):
        if np.shape(p) != np.shape(g):
            raise ValueError(
                f"the gradient of {path} must have its shape {np.shape(p)}, got {np.shape(g)}"
            )
