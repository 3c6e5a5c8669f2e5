"""Private: turn a fitted Regressor into JSON metadata and arrays for ``tinynn.io``, and back."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tinynn import model, tree
from tinynn._checks import describe
from tinynn.params import check_params
from tinynn.posterior import LooComparison, from_state

POSTERIOR_PREFIX = "posterior_"  # names of a posterior's arrays inside a Regressor's file


def _jsonable(name: str, value: Any) -> Any:
    """Return a constructor argument in a JSON-safe form (numpy scalars, tuples -> lists)."""
    if isinstance(value, (np.generic, np.ndarray)):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(name, v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise ValueError(
        f"a Regressor with {name}={describe(value)} cannot be saved; use a name or a number"
    )


def fitted_state(est: Any) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
    """Return ``(params_, metadata, arrays)`` describing a fitted Regressor.

    A non-string ``optimizer`` is recorded as ``"auto"`` and a Generator ``random_state`` as
    None: they shaped the training, not the predictions.
    """
    if not isinstance(est.activation, str):
        raise ValueError(
            f"a Regressor with a custom activation function ({describe(est.activation)}) "
            f"cannot be saved; use a built-in activation name"
        )
    params = dict(est.get_params())
    if not isinstance(params["optimizer"], str):
        params["optimizer"] = "auto"
    rs = params["random_state"]
    is_seed = isinstance(rs, (numbers.Integral, np.integer)) and not isinstance(rs, bool)
    params["random_state"] = int(rs) if is_seed else None
    params = {k: _jsonable(k, v) for k, v in params.items()}
    info = {
        "activation": est.activation,
        "estimator_params": params,
        "n_features_in": int(est.n_features_in_),
        "y_ndim": int(est._y_ndim),
        "sigma": np.atleast_1d(np.asarray(est.sigma_, dtype=float)).tolist(),
        "standardization": {
            "x_mean": est.x_mean_.tolist(),
            "x_scale": est.x_scale_.tolist(),
            "y_mean": est.y_mean_.tolist(),
            "y_scale": est.y_scale_.tolist(),
        },
        "fit": {
            "n_iter": int(est.n_iter_),
            "optimizer": est.optimizer_,
            "optimizer_reason": getattr(est, "optimizer_reason_", ""),
            "stop_reason": est.stop_reason_,
            "stop_message": getattr(est, "stop_message_", ""),
            "final_loss": float(est.loss_curve_[-1]) if len(est.loss_curve_) else None,
        },
    }
    info["hidden_sizes"] = [int(h) for h in est.hidden_sizes_]
    info["loo"] = [
        {
            "loo": c.loo.tolist(),
            "se_diff": c.se_diff.tolist(),
            "best": int(c.best),
            "chosen": int(c.chosen),
        }
        for c in est.loo_
    ]
    arrays = {"loss_curve": np.asarray(est.loss_curve_, dtype=float)}
    posterior = getattr(est, "posterior_", None)
    if posterior is not None:  # its parameters are params_; its own numbers go beside them
        _, post_info, post_arrays = posterior._tinynn_fitted_state()
        info["posterior"] = post_info
        arrays.update({POSTERIOR_PREFIX + name: value for name, value in post_arrays.items()})
    return est.params_, info, arrays


def _check_consistent(params: Any, meta: dict[str, Any]) -> None:
    """Check a saved Regressor's arrays against its metadata before trusting either."""
    check_params(params if model.stack_size(params) is None else tree.index(params, 0), "params")
    shapes = model.layer_shapes(
        params if model.stack_size(params) is None else tree.index(params, 0)
    )
    n_in, n_out = shapes[0][0], shapes[-1][1]
    std = meta["standardization"]
    lengths = {
        "n_features_in": int(meta["n_features_in"]),
        "x_mean": len(std["x_mean"]),
        "x_scale": len(std["x_scale"]),
    }
    outputs = {
        "y_mean": len(std["y_mean"]),
        "y_scale": len(std["y_scale"]),
        "sigma": len(meta["sigma"]),
    }
    if "posterior" in meta and meta["posterior"].get("heteroscedastic") is True:
        n_out = 1  # the second output is the log noise std
    wrong = [f"{k}={v}" for k, v in lengths.items() if v != n_in]
    wrong += [f"{k}={v}" for k, v in outputs.items() if v != n_out]
    if wrong or int(meta["y_ndim"]) not in (1, 2):
        raise ValueError(
            f"the network maps {n_in} inputs to {n_out} outputs, but the metadata says "
            f"{', '.join(wrong) or 'y_ndim=' + str(meta['y_ndim'])}"
        )


def restore(est: Any, params: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """Set the fitted attributes of a fresh Regressor ``est`` from saved metadata and arrays."""
    if isinstance(est.hidden_sizes, list):  # JSON has lists where tuples were
        est.hidden_sizes = tuple(tuple(h) if isinstance(h, list) else h for h in est.hidden_sizes)
    std = meta["standardization"]
    _check_consistent(params, meta)
    est.x_mean_ = np.asarray(std["x_mean"], dtype=float)
    est.x_scale_ = np.asarray(std["x_scale"], dtype=float)
    est.y_mean_ = np.asarray(std["y_mean"], dtype=float)
    est.y_scale_ = np.asarray(std["y_scale"], dtype=float)
    est._y_ndim = int(meta["y_ndim"])
    sigma = np.asarray(meta["sigma"], dtype=float)
    est.sigma_ = float(sigma[0]) if est._y_ndim == 1 else sigma
    est.params_ = params
    est.history_ = None
    est.loss_curve_ = np.asarray(arrays["loss_curve"], dtype=float)
    est.n_iter_ = int(meta["fit"]["n_iter"])
    est.optimizer_ = str(meta["fit"]["optimizer"])
    est.optimizer_reason_ = str(meta["fit"].get("optimizer_reason", ""))
    est.stop_reason_ = str(meta["fit"]["stop_reason"])
    est.stop_message_ = str(meta["fit"].get("stop_message", ""))
    est.validation_scores_ = None
    est.posterior_ = None
    if "posterior" in meta:
        post_arrays = {
            name[len(POSTERIOR_PREFIX) :]: value
            for name, value in arrays.items()
            if name.startswith(POSTERIOR_PREFIX)
        }
        est.posterior_ = from_state(params, meta["posterior"], post_arrays)
    est.n_features_in_ = int(meta["n_features_in"])
    first = params if model.stack_size(params) is None else tree.index(params, 0)
    widths = [shape[1] for shape in model.layer_shapes(first)[:-1]]
    est.hidden_sizes_ = tuple(int(h) for h in meta.get("hidden_sizes", widths))
    est.loo_ = [
        LooComparison(
            np.asarray(c["loo"], dtype=float),
            np.asarray(c["se_diff"], dtype=float),
            int(c["best"]),
            int(c["chosen"]),
        )
        for c in meta.get("loo", [])
    ]
    return est
