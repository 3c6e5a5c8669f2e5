"""Feed-forward regression networks: predict outputs from inputs and list-of-dict parameters.

Parameters are the notebook's list of per-layer dicts ``[{'w': w_DH, 'b': b_H}, ...,
{'w': w_HO, 'b': b_O}]``. Hidden layers apply an activation; the output layer is linear.

Shape suffixes: N examples, D input features, H hidden units, O outputs.

With a built-in activation, :func:`predict` runs the whole network as one autograd primitive with
a hand-derived gradient (see ``tinynn._fastnet``), so training under ``autograd.grad`` costs
about what hand-written numpy backpropagation costs. Gradients still flow to the parameters, to
``x`` and through anything you compose on top; grad-of-grad falls back to plain autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from autograd.tracer import isbox

from tinynn import _fastnet
from tinynn._activations import ALIASES, KERNELS
from tinynn._checks import as_float_array, describe
from tinynn.params import check_params

__all__ = ["ACTIVATIONS", "get_activation", "predict"]

ACTIVATIONS: dict[str, Callable[[Any], Any]] = {name: k.fn for name, k in KERNELS.items()}
"""Built-in hidden-layer activations by name (each is written with ``autograd.numpy``)."""


def _resolve(activation: Any) -> tuple[str | None, Callable[[Any], Any]]:
    """Return ``(built-in name or None, function)`` for a name or a callable."""
    try:
        name = ALIASES.get(activation, activation)
    except TypeError:  # unhashable
        name = None
    if isinstance(name, str) and name in KERNELS:
        return name, KERNELS[name].fn
    if isinstance(activation, str):
        valid = ", ".join(repr(n) for n in [*KERNELS, "linear"])
        raise ValueError(f"activation must be one of {valid} or a callable, got {activation!r}")
    if callable(activation):
        return None, activation
    raise TypeError(
        f"activation must be a name such as 'tanh' or a callable, got {describe(activation)}"
    )


def get_activation(activation: str | Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Return the activation function for a name, or the callable itself.

    Parameters
    ----------
    activation : str or callable
        One of ``'tanh'``, ``'relu'``, ``'leaky_relu'``, ``'elu'``, ``'sigmoid'``,
        ``'softplus'``, ``'identity'`` (alias ``'linear'``), or a function of one array
        written with ``autograd.numpy``.

    Returns
    -------
    callable
        A function mapping pre-activations to activations elementwise.

    Raises
    ------
    ValueError
        If ``activation`` is an unknown name; the message lists the valid ones.
    TypeError
        If ``activation`` is neither a string nor a callable.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import get_activation
    >>> get_activation("relu")(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    return _resolve(activation)[1]


def _deep_unbox(value: Any) -> Any:
    value = _fastnet.unbox(value)
    if isinstance(value, dict):
        return {k: _deep_unbox(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_deep_unbox(v) for v in value]
    return value


def _as_float(value: Any, name: str) -> Any:
    """Return ``value`` as a float64 array (boxes pass through); clear errors for bad input."""
    if isbox(value) or (type(value) is np.ndarray and value.dtype == np.float64):
        return value
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):  # ragged or non-numeric: let the shared check word it
        return as_float_array(value, name, allow_nonfinite=True)


def _shape(value: Any) -> tuple[int, ...]:
    if type(value) is np.ndarray:
        return value.shape
    return np.shape(_fastnet.unbox(value))


def _shapes(params: Any) -> list[tuple[int, int]]:
    """Return ``[(n_in, n_out), ...]`` after cheap structural checks of ``params``.

    The common case costs a few attribute lookups per layer; anything odd is handed to
    :func:`tinynn.params.check_params` for a message naming the layer and key at fault.
    """
    plain = _fastnet.unbox(params)
    shapes: list[tuple[int, int]] = []
    ok = isinstance(plain, (list, tuple)) and len(plain) > 0
    if ok:
        for layer in plain:
            layer = _fastnet.unbox(layer)
            if not isinstance(layer, dict) or len(layer) != 2 or "w" not in layer:
                ok = False
                break
            w_shape = _shape(layer["w"])
            b_shape = _shape(layer.get("b"))
            if len(w_shape) != 2 or b_shape != w_shape[1:]:
                ok = False
                break
            if shapes and shapes[-1][1] != w_shape[0]:
                ok = False
                break
            shapes.append(w_shape)
    if not ok:
        check_params(_deep_unbox(params), allow_nonfinite=True)
        raise ValueError(f"params is not a valid network, got {describe(plain)}")
    return shapes


def _check_x(x: Any, n_features: int) -> Any:
    """Return ``x`` as a float array (boxes pass through) after checking its shape."""
    x = _as_float(x, "x")
    shape = _shape(x)
    if len(shape) == 2 and shape[1] == n_features:
        return x
    if len(shape) == 1 and (n_features == 1 or shape[0] == n_features):
        return x
    if len(shape) not in (1, 2):
        raise ValueError(
            f"x must have shape (N, {n_features}), (N,) when D == 1, or ({n_features},) for one "
            f"example, got shape {shape}"
        )
    got = shape[-1]
    raise ValueError(
        f"x has {got} features (shape {shape}) but params[0]['w'] expects {n_features} "
        f"(shape ({n_features}, ...)); pass x with {n_features} columns or rebuild params "
        f"for {got} inputs"
    )


def predict(params: Any, x: Any, *, activation: str | Callable[[Any], Any] = "tanh") -> Any:
    """Predict outputs of a feed-forward network with linear output layer.

    Parameters
    ----------
    params : list of dict
        ``[{'w': w_DH, 'b': b_H}, ..., {'w': w_HO, 'b': b_O}]`` as built by
        :func:`tinynn.params.make_params`; may be traced by autograd, container or leaves.
    x : ndarray of shape (N, D), (N,) when D == 1, or (D,) for one example
        Inputs; may be traced by autograd.
    activation : str or callable, default "tanh"
        Hidden-layer activation: a name in :data:`ACTIVATIONS` (fast path) or a function
        written with ``autograd.numpy`` (plain autograd path).

    Returns
    -------
    yhat : ndarray of shape (N,) for one output or (N, O) for O outputs
        One example gives shape (1,) or (1, O); never a 0-d scalar.

    Raises
    ------
    ValueError
        If the feature count of ``x`` does not match ``params[0]['w']`` (both sizes named),
        if layer shapes do not chain, or if the activation name is unknown.
    TypeError
        If ``params`` is not a list of ``{'w', 'b'}`` dicts or ``activation`` has the wrong kind.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import predict
    >>> params = [{'w': np.ones((2, 3)), 'b': np.zeros(3)}, {'w': np.ones((3, 1)), 'b': np.ones(1)}]
    >>> predict(params, np.zeros((4, 2))).shape
    (4,)
    >>> predict(params, np.array([0.0, 0.0]))
    array([1.])
    """
    name, fn = _resolve(activation)
    shapes = _shapes(params)
    x = _check_x(x, shapes[0][0])
    if name is not None:
        return _fastnet.fast_predict(params, x, name)
    return _fastnet.reference_predict(params, x, fn)
