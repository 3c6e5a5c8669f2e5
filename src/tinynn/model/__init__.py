"""Feed-forward regression networks: predict outputs from inputs and list-of-dict parameters.

Parameters are the notebook's list of per-layer dicts ``[{'w': w_DH, 'b': b_H}, ...,
{'w': w_HO, 'b': b_O}]``. Hidden layers apply an activation; the output layer is linear.

Shape suffixes: N examples, D input features, H hidden units, O outputs.

With a built-in activation, :func:`predict` runs the whole network as one autograd primitive with
a hand-derived gradient (the kernels :func:`forward` and :func:`backward`), so training under
``autograd.grad`` costs about what hand-written numpy backpropagation costs. Gradients still
flow to the parameters, to ``x`` and through anything you compose on top; grad-of-grad falls
back to plain autograd.

Where things go: a new built-in activation is one entry of ``_activations.KERNELS`` (its
traceable function and two in-place numpy kernels); the network's kernels and its fast primitive
are in ``_network.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.tracer import isbox

from tinynn import tree
from tinynn._checks import as_float_array, as_float_or_box, check_finite, describe, shape_of
from tinynn._primitive import unbox
from tinynn._typing import Params
from tinynn.model import _network
from tinynn.model._activations import ALIASES, KERNELS, Activation, custom
from tinynn.model._jacobian import jacobians
from tinynn.model._network import (
    as_matrix,
    backward,
    forward,
    inputs_with_ones,
    stacked_hidden,
    stacked_hidden_grads,
)
from tinynn.params import check_params

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "backward",
    "forward",
    "get_activation",
    "input_jacobian",
    "inputs_with_ones",
    "jacobian",
    "jacobians",
    "layer_shapes",
    "predict",
    "resolve_activation",
    "stack_size",
    "stacked_hidden",
    "stacked_hidden_grads",
]

ACTIVATIONS: dict[str, Callable[[Any], Any]] = {name: k.fn for name, k in KERNELS.items()}
"""Built-in hidden-layer activations by name (each is written with ``autograd.numpy``)."""


def resolve_activation(activation: str | Callable[[Any], Any]) -> Activation:
    """Return the :class:`Activation` for a name or a callable.

    A built-in name (or the function of a built-in, such as ``np.tanh``) gives the activation
    with its numpy kernels, which the fast paths of :func:`predict` and
    :func:`tinynn.losses.make_objective` use; any other callable gives an activation with
    ``name`` None, which those functions differentiate with plain autograd.

    Parameters
    ----------
    activation : str or callable
        A name in :data:`ACTIVATIONS` (or ``'linear'``) or a function of one array written with
        ``autograd.numpy``.

    Returns
    -------
    Activation
        ``(name, fn, forward, deriv_mul)``.

    Raises
    ------
    ValueError
        If ``activation`` is an unknown name; the message lists the valid ones.
    TypeError
        If ``activation`` is neither a string nor a callable.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import resolve_activation
    >>> resolve_activation("linear").name, resolve_activation(np.tanh).name
    ('identity', 'tanh')
    >>> resolve_activation(lambda z: z**3).name is None
    True
    """
    try:
        name = ALIASES.get(activation, activation)
    except TypeError:  # unhashable
        name = None
    if isinstance(name, str) and name in KERNELS:
        return KERNELS[name]
    if isinstance(activation, str):
        valid = ", ".join(repr(n) for n in [*KERNELS, "linear"])
        raise ValueError(f"activation must be one of {valid} or a callable, got {activation!r}")
    if callable(activation):
        return custom(activation)
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
    return resolve_activation(activation).fn


def _deep_unbox(value: Any) -> Any:
    value = unbox(value)
    if isinstance(value, dict):
        return {k: _deep_unbox(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_deep_unbox(v) for v in value]
    return value


def _plain_shapes(layers: Any) -> list[tuple[int, int]]:
    """Return the layer shapes of plain dicts of arrays (or of autograd's array boxes).

    Raises KeyError, AttributeError, TypeError or ValueError on anything else; the caller then
    takes the careful path.
    """
    shapes: list[tuple[int, int]] = []
    n_in = None
    for layer in layers:
        if type(layer) is not dict or len(layer) != 2:
            raise TypeError
        w_shape = layer["w"].shape
        if len(w_shape) != 2 or layer["b"].shape != (w_shape[1],):
            raise ValueError
        if n_in is not None and w_shape[0] != n_in:
            raise ValueError
        n_in = w_shape[1]
        shapes.append(w_shape)
    if not shapes:
        raise ValueError
    return shapes


def layer_shapes(params: Params) -> list[tuple[int, int]]:
    """Return ``[(n_in, n_out), ...]``, the shape of every layer's ``w``, after checking ``params``.

    Stacked parameters (every ``w`` of shape (K, n_in, n_out), see :func:`stack_size`) are
    checked as such and give the shapes of one member.

    The common case costs a few attribute lookups per layer (it also accepts parameters traced by
    autograd); anything odd is handed to :func:`tinynn.params.check_params` for a message naming
    the layer and key at fault.

    Parameters
    ----------
    params : list of dict
        ``[{'w': w_DH, 'b': b_H}, ..., {'w': w_HO, 'b': b_O}]``; may be traced by autograd.

    Returns
    -------
    list of tuple of int
        One ``(n_in, n_out)`` pair per layer.

    Raises
    ------
    TypeError, ValueError
        If ``params`` is not a network whose layer shapes chain.

    Examples
    --------
    >>> from tinynn.model import layer_shapes
    >>> from tinynn.params import make_params
    >>> layer_shapes(make_params(2, [30], 1, rng=0))
    [(2, 30), (30, 1)]
    """
    plain = unbox(params)
    if type(plain) is list or type(plain) is tuple:  # the common case, in a few lookups a layer
        try:
            return _plain_shapes(plain)
        except (KeyError, AttributeError, TypeError, ValueError):
            pass  # something odd: the careful walk below words the error
    n_members = _n_members(params)
    if n_members is not None:
        return _stacked_shapes(params, n_members)
    shapes: list[tuple[int, int]] = []
    ok = isinstance(plain, (list, tuple)) and len(plain) > 0
    if ok:
        for layer in plain:
            layer = unbox(layer)
            if not isinstance(layer, dict) or len(layer) != 2 or "w" not in layer:
                ok = False
                break
            w_shape = shape_of(layer["w"])
            b_shape = shape_of(layer.get("b"))
            if len(w_shape) != 2 or b_shape != w_shape[1:]:
                ok = False
                break
            if shapes and shapes[-1][1] != w_shape[0]:
                ok = False
                break
            shapes.append((int(w_shape[0]), int(w_shape[1])))
    if not ok:
        check_params(_deep_unbox(params), allow_nonfinite=True)
        raise ValueError(f"params is not a valid network, got {describe(plain)}")
    return shapes


def stack_size(params: Params) -> int | None:
    """Return K for stacked parameters (each ``w`` of shape (K, n_in, n_out)), else None.

    Only the first layer is looked at; :func:`layer_shapes` checks them all.

    Examples
    --------
    >>> from tinynn import tree
    >>> from tinynn.model import stack_size
    >>> from tinynn.params import make_params
    >>> params = make_params(1, [2], rng=0)
    >>> stack_size(params), stack_size(tree.stack([params, params, params]))
    (None, 3)
    """
    return _n_members(params)


def _n_members(params: Any) -> int | None:
    """Return K when ``params`` are stacked (each ``w`` of shape (K, n_in, n_out)), else None."""
    try:
        shape = shape_of(unbox(unbox(unbox(params)[0])["w"]))
    except (TypeError, KeyError, IndexError, AttributeError):
        return None
    return int(shape[0]) if len(shape) == 3 else None


def _stacked_shapes(params: Any, n_members: int) -> list[tuple[int, int]]:
    """Return ``[(n_in, n_out), ...]`` of stacked parameters after checking them."""
    net = unbox(params)
    shapes: list[tuple[int, int]] = []
    for i, layer in enumerate(net):
        layer = unbox(layer)
        if not isinstance(layer, dict) or sorted(layer) != ["b", "w"]:
            raise TypeError(
                f"params[{i}] must be a dict with keys 'w' and 'b', got {describe(layer)}"
            )
        w_shape, b_shape = shape_of(layer["w"]), shape_of(layer["b"])
        if len(w_shape) != 3 or w_shape[0] != n_members:
            raise ValueError(
                f"params[{i}]['w'] must have shape (K, n_in, n_out) with K={n_members} like "
                f"params[0]['w'] (stacked parameters), got shape {w_shape}"
            )
        if b_shape != (n_members, w_shape[2]):
            raise ValueError(
                f"params[{i}]['b'] must have shape ({n_members}, {w_shape[2]}) to match "
                f"params[{i}]['w'] of shape {w_shape}, got shape {b_shape}"
            )
        if shapes and shapes[-1][1] != w_shape[1]:
            raise ValueError(
                f"params[{i}]['w'] must take {shapes[-1][1]} inputs to follow params[{i - 1}], "
                f"got shape {w_shape}"
            )
        shapes.append((int(w_shape[1]), int(w_shape[2])))
    if not shapes:
        raise ValueError("params must hold at least one layer, got an empty list")
    return shapes


def _check_x(x: Any, n_features: int) -> Any:
    """Return ``x`` as a float array (boxes pass through) after checking its shape."""
    x = as_float_or_box(x, "x")
    check_finite(x, "x")
    shape = shape_of(x)
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


PARAMS_HINT = "parameters with NaN or infinity come from a fit that diverged"


def _check_finite_leaves(params: Any) -> None:
    """Refuse NaN or infinity in concrete parameters (traced ones pass: see check_finite)."""
    for i, layer in enumerate(params):
        for key in ("w", "b"):
            check_finite(layer[key], f"params[{i}][{key!r}]", PARAMS_HINT)


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
        One example gives shape (1,) or (1, O); never a 0-d scalar. Stacked parameters (every
        leaf with a leading axis K, from :func:`tinynn.tree.stack`: K samples, chains or
        ensemble members) give (K, N) or (K, N, O) from one batched pass.

    Raises
    ------
    ValueError
        If the feature count of ``x`` does not match ``params[0]['w']`` (both sizes named),
        if layer shapes do not chain, if the activation name is unknown, or if concrete ``x``
        or parameters hold NaN or infinity (traced values pass: see the user guide's input
        policy).
    TypeError
        If ``params`` is not a list of ``{'w', 'b'}`` dicts, ``activation`` has the wrong kind,
        or ``x`` is None, complex or not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import predict
    >>> params = [{'w': np.ones((2, 3)), 'b': np.zeros(3)},
    ...           {'w': np.ones((3, 1)), 'b': np.ones(1)}]
    >>> predict(params, np.zeros((4, 2))).shape
    (4,)
    >>> predict(params, np.array([0.0, 0.0]))
    array([1.])

    Five parameter sets at once, on the sample axis:

    >>> from tinynn import tree
    >>> from tinynn.params import make_params
    >>> params_K = tree.stack([make_params(2, [3], rng=k) for k in range(5)])
    >>> predict(params_K, np.zeros((4, 2))).shape
    (5, 4)
    """
    act = resolve_activation(activation)
    shapes = layer_shapes(params)
    x = _check_x(x, shapes[0][0])
    if not isbox(params):
        _check_finite_leaves(params)
    if act.name is not None:
        return _network.fast_predict(params, x, act.name)
    return _network.reference_predict(params, x, act.fn)


def _jacobian(params: Params, x: Any, activation: Any, wrt_params: bool) -> np.ndarray:
    traced_x = x if isbox(x) else None  # differentiated through, once checked as an array
    if _n_members(params) is not None:
        raise ValueError(
            "jacobian takes one parameter set, got stacked parameters (leaves with a leading "
            "axis K); take member k with tinynn.tree.index(params_K, k)"
        )
    act = resolve_activation(activation)
    shapes = layer_shapes(params)
    x = _check_x(as_float_array(_deep_unbox(x), "x", allow_nonfinite=True), shapes[0][0])
    net = _deep_unbox(params)
    x_ND = as_matrix(x, shapes[0][0])
    n_out = shapes[-1][1]
    out: Any
    if traced_x is not None:  # the numpy kernels below would cut autograd's trace
        return _traced_jacobian(net, anp.reshape(traced_x, x_ND.shape), act, wrt_params, n_out)
    if act.name is not None:
        ws = [np.asarray(layer["w"], dtype=np.float64) for layer in net]
        bs = [np.asarray(layer["b"], dtype=np.float64) for layer in net]
        _, j_NOP, jx_NOD = jacobians(ws, bs, x_ND, act, wrt_params=wrt_params, wrt_x=not wrt_params)
        out = j_NOP if wrt_params else jx_NOD
    elif wrt_params:  # a custom activation: plain autograd, one reverse pass per output row
        theta_P, unflatten = tree.flatten(net)
        fn = act.fn
        out = autograd.jacobian(lambda t: predict(unflatten(t), x_ND, activation=fn))(theta_P)
    else:  # d yhat_n / d x_m for all n, m, of which the rows with m == n are the answer
        fn = act.fn
        rows = autograd.jacobian(lambda z: predict(net, z, activation=fn))(x_ND)
        out = np.einsum("nomd->nod", rows.reshape(len(x_ND), n_out, len(x_ND), -1))
    width = tree.size(net) if wrt_params else x_ND.shape[1]
    out = np.asarray(out).reshape(len(x_ND), n_out, width)
    return out[:, 0, :] if n_out == 1 else out


def _traced_jacobian(net: Any, x_ND: Any, act: Activation, wrt_params: bool, n_out: int) -> Any:
    """:func:`_jacobian` for inputs traced by autograd, differentiable in them.

    Differentiated by autograd with the inputs still traced, so the result carries their trace
    (the gradient of a predictive spread in x, say). The parameter Jacobian is
    ``autograd.jacobian`` of :func:`predict` (one reverse pass per output value). An example's
    prediction depends on its own row of x alone, so the gradient of one output summed over the
    examples holds every row's ``d yhat_n / d x_n``: one reverse pass per output.
    """
    fn = act.fn
    n = x_ND.shape[0]
    if wrt_params:
        theta_P, unflatten = tree.flatten(net)
        out = autograd.jacobian(lambda t: predict(unflatten(t), x_ND, activation=fn))(theta_P)
        out = anp.reshape(out, (n, n_out, theta_P.size))
    else:

        def summed(o: int) -> Any:
            return lambda z: anp.sum(anp.reshape(predict(net, z, activation=fn), (n, n_out))[:, o])

        out = anp.stack([autograd.grad(summed(o))(x_ND) for o in range(n_out)], axis=1)
    return out[:, 0, :] if n_out == 1 else out


def jacobian(params: Params, x: Any, *, activation: str | Callable[[Any], Any] = "tanh") -> Any:
    """Return the Jacobian of the network's outputs with respect to its parameters.

    Row ``n`` holds the derivatives of the prediction for example ``n`` with respect to every
    scalar of ``params``, in the order of :func:`tinynn.tree.flatten` (layer by layer, ``w``
    row-major, then ``b``). With a built-in activation all rows come from one vectorized forward
    and backward pass; a custom activation is differentiated by ``autograd.jacobian``, and so
    is any network when ``x`` is traced by autograd (the result is then differentiable in x).

    Parameters
    ----------
    params : list of dict
        ``[{'w': w_DH, 'b': b_H}, ..., {'w': w_HO, 'b': b_O}]``.
    x : ndarray of shape (N, D), (N,) when D == 1, or (D,) for one example
        Inputs.
    activation : str or callable, default "tanh"
        Hidden-layer activation, as in :func:`predict`.

    Returns
    -------
    J : ndarray of shape (N, P) for one output, (N, O, P) for O outputs

    Raises
    ------
    ValueError, TypeError
        As :func:`predict` for parameters, inputs and activations that do not fit.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import jacobian
    >>> from tinynn.params import make_params
    >>> params = make_params(1, [], rng=0)  # linear regression: y = w x + b
    >>> jacobian(params, np.array([[2.0], [3.0]]))  # d/dw = x, d/db = 1
    array([[2., 1.],
           [3., 1.]])
    """
    return _jacobian(params, x, activation, wrt_params=True)


def input_jacobian(
    params: Params, x: Any, *, activation: str | Callable[[Any], Any] = "tanh"
) -> Any:
    """Return the derivatives of each example's outputs with respect to its own inputs.

    The sensitivity of the prediction to every input feature, at every example: row ``n`` is
    ``d yhat_n / d x_n`` (an example's prediction does not depend on the other examples).
    Differentiable in ``x`` when autograd traces it (computed by autograd then).

    Parameters
    ----------
    params : list of dict
        Network parameters.
    x : ndarray of shape (N, D), (N,) when D == 1, or (D,) for one example
        Inputs.
    activation : str or callable, default "tanh"
        Hidden-layer activation, as in :func:`predict`.

    Returns
    -------
    Jx : ndarray of shape (N, D) for one output, (N, O, D) for O outputs

    Raises
    ------
    ValueError, TypeError
        As :func:`predict`.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import input_jacobian
    >>> params = [{'w': np.array([[1.0], [-2.0]]), 'b': np.zeros(1)}]
    >>> input_jacobian(params, np.zeros((2, 2)))  # linear: the weights, at every x
    array([[ 1., -2.],
           [ 1., -2.]])
    """
    return _jacobian(params, x, activation, wrt_params=False)
