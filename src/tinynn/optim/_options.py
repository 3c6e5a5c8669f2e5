"""Validation of what users pass to :func:`tinynn.optim.minimize`, done once per call.

Also the one table of optimizer names (:data:`OPTIMIZERS`) that ``minimize``, the Regressor and
the ``tinynn`` command accept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from autograd.tracer import isbox

from tinynn import tree
from tinynn._checks import check_choice, check_int, check_positive, describe
from tinynn.optim._adaptive import adam, rmsprop
from tinynn.optim._lbfgs import LBFGS, lbfgs
from tinynn.optim._lm import LevenbergMarquardt, levenberg_marquardt
from tinynn.optim._monitor import Settings
from tinynn.optim._optimizers import Optimizer, gradient_descent, momentum, nesterov

OPTIMIZERS: Mapping[str, Callable[[], Any]] = MappingProxyType(
    {
        "gradient_descent": gradient_descent,
        "momentum": momentum,
        "nesterov": nesterov,
        "adam": adam,
        "rmsprop": rmsprop,
        "lbfgs": lbfgs,
        "levenberg_marquardt": levenberg_marquardt,
    }
)
"""The optimizers by name, each a function giving it with default settings (read-only)."""


def _optional_callable(value: Any, name: str, what: str) -> Any:
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be {what} or None, got {describe(value)}")
    return value


def check_settings(options: Mapping[str, Any]) -> Settings:
    """Validate the keyword options of minimize (one entry per field of Settings)."""
    o = dict(options)
    o["n_iters"] = check_int(o["n_iters"], "n_iters", minimum=1)
    for name in ("record_params_every", "record_grads_every"):
        o[name] = check_int(o[name], name)
    for name in ("metrics_every", "progress_every"):
        o[name] = check_int(o[name], name, minimum=1)
    if not isinstance(o["progress"], (bool, np.bool_)):
        raise TypeError(f"progress must be True or False, got {describe(o['progress'])}")
    o["progress"] = bool(o["progress"])
    stream = o["stream"]
    if stream is not None and not callable(getattr(stream, "write", None)):
        raise TypeError(
            f"stream must be a text stream with a write method (sys.stdout, an open file, "
            f"io.StringIO()) or None, got {describe(stream)}"
        )
    for name in ("tol", "gtol"):
        o[name] = None if o[name] is None else check_positive(o[name], name)
    o["validation_fn"] = _optional_callable(
        o["validation_fn"], "validation_fn", "a function params -> validation loss"
    )
    if o["patience"] is not None:
        o["patience"] = check_int(o["patience"], "patience", minimum=1)
        if o["validation_fn"] is None:
            raise ValueError(
                f"patience={o['patience']} needs a validation_fn to watch: pass "
                f"validation_fn=lambda params: <loss on held-out data>, or drop patience"
            )
    o["callback"] = _optional_callable(o["callback"], "callback", "a function info -> bool")
    o["on_nonfinite"] = check_choice(o["on_nonfinite"], "on_nonfinite", ("stop", "raise"))
    _check_batch_options(o)
    metrics = {} if o["metrics"] is None else o["metrics"]
    if not isinstance(metrics, Mapping) or not all(
        isinstance(k, str) and callable(v) for k, v in metrics.items()
    ):
        raise TypeError(
            f"metrics must be a dict mapping names to functions params -> float, such as "
            f"{{'val_mse': lambda params: ...}}, got {describe(metrics)}"
        )
    for name, taken in (("val_loss", o["validation_fn"]), ("full_loss", o["full_loss_every"])):
        if taken and name in metrics:
            raise ValueError(
                f"metrics must not use the name {name!r} when "
                f"{'validation_fn' if name == 'val_loss' else 'full_loss_every'} is given: the "
                f"history stores that loss under this name; rename the metric"
            )
    o["metrics"] = dict(metrics)
    return Settings(**o)


def _check_batch_options(o: dict[str, Any]) -> None:
    """Check ``batch_size``, ``seed`` and ``full_loss_every`` in place."""
    o["seed"] = check_int(o["seed"], "seed")
    o["full_loss_every"] = check_int(o["full_loss_every"], "full_loss_every")
    if o["batch_size"] is None:
        if o["full_loss_every"]:
            raise ValueError(
                f"full_loss_every={o['full_loss_every']} needs minibatches: pass batch_size, or "
                f"drop full_loss_every (without minibatches every loss is the full one)"
            )
        return
    o["batch_size"] = check_int(o["batch_size"], "batch_size", minimum=1)
    for name in ("tol", "gtol"):
        if o[name] is not None:
            raise ValueError(
                f"{name} cannot be used with batch_size: the loss and gradient of a minibatch "
                f"are noisy estimates, so their changes say nothing about convergence; stop "
                f"with validation_fn and patience, or a callback, instead"
            )


def resolve_optimizer(optimizer: Any) -> Optimizer | LBFGS | LevenbergMarquardt:
    """Return ``optimizer`` as an Optimizer or a method's settings; names get default settings."""
    if isinstance(optimizer, (Optimizer, LBFGS, LevenbergMarquardt)):
        return optimizer
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            choices = ", ".join(repr(name) for name in OPTIMIZERS)
            raise ValueError(
                f"optimizer must be one of {choices} or an optimizer object such as "
                f"tinynn.optim.adam(1e-3), got {optimizer!r}"
            )
        return OPTIMIZERS[optimizer]()
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
