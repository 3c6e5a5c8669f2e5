"""Private home of ``tinynn.losses.make_objective``'s objective and the loss input checks.

Shape suffixes: N examples, D input features, O outputs.
"""

from __future__ import annotations

import math
from typing import Any

import autograd
import numpy as np
from autograd.tracer import isbox

from tinynn import _fastobjective, model
from tinynn._activations import KERNELS
from tinynn._checks import as_float_array, check_choice, check_positive, describe
from tinynn._fastnet import unbox

FORMS = ("full", "notebook")
REDUCTIONS = ("sum", "mean")


def check_pair(y: Any, yhat: Any) -> tuple[Any, Any]:
    """Return y and yhat as float arrays (boxes pass through) after an exact shape check."""
    y, yhat = model._as_float(y, "y"), model._as_float(yhat, "yhat")
    y_shape, yhat_shape = model._shape(y), model._shape(yhat)
    if y_shape != yhat_shape:
        hint = "pass arrays of the same shape"
        if y_shape == (*yhat_shape, 1):
            hint = "pass y.ravel()"
        elif yhat_shape == (*y_shape, 1):
            hint = "pass yhat.ravel() (or y[:, None] to keep a column)"
        raise ValueError(
            f"y and yhat must have the same shape, got y {y_shape} and yhat {yhat_shape}; "
            f"{hint} (shapes are never broadcast, (N,) against (N, 1) would give (N, N))"
        )
    return y, yhat


def check_sigma(sigma: Any, yhat_shape: tuple[int, ...]) -> Any:
    """Return sigma checked: positive when concrete; a scalar, (O,) or yhat's shape."""
    if type(sigma) is float and 0.0 < sigma < math.inf:  # the common case, checked cheaply
        return sigma
    value = unbox(sigma)
    shape = np.shape(value)
    allowed = np.size(value) == 1 or shape == yhat_shape
    allowed = allowed or (len(yhat_shape) == 2 and shape == yhat_shape[1:])
    if not allowed:
        raise ValueError(
            f"sigma must be a scalar, one value per output (shape {yhat_shape[1:]}) or one per "
            f"element (shape {yhat_shape}), got shape {shape}"
        )
    if isbox(sigma):
        return sigma
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.number, np.ndarray, list)):
        raise TypeError(f"sigma must be a positive number or array, got {describe(sigma)}")
    if np.ndim(sigma) == 0:
        return check_positive(sigma, "sigma")
    arr = np.asarray(sigma, dtype=np.float64)
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"sigma must be positive and finite everywhere, got {arr}")
    return arr


class Objective:
    """The training objective ``loss(params)`` built by :func:`make_objective`.

    Calling it returns the negative log-likelihood of the stored data (plus the negative log
    prior when ``prior_std`` is set) at ``params``; autograd differentiates it as one node.
    """

    def __init__(self, fused: _fastobjective.FusedObjective, name: str | None, fn: Any) -> None:
        self._fused = fused
        self._name = name
        self._fn = fn
        self.x = fused.x_ND
        self.y = fused.y

    def __call__(self, params: Any) -> Any:
        self._check(params)
        if self._name is None:
            return self._fused.reference(params, self._fn)
        return _fastobjective.fast_objective(params, self._fused)

    def _check(self, params: Any) -> None:
        shapes = model._shapes(params)
        n_features, n_outputs = self.x.shape[1], self._fused.y_NO.shape[1]
        if shapes[0][0] != n_features:
            raise ValueError(
                f"params[0]['w'] expects {shapes[0][0]} input features but x has {n_features} "
                f"(shape {self.x.shape}); rebuild params for {n_features} inputs"
            )
        if shapes[-1][1] != n_outputs:
            raise ValueError(
                f"params[-1]['w'] gives {shapes[-1][1]} outputs but y has {n_outputs} "
                f"(shape {self.y.shape}); rebuild params for {n_outputs} outputs"
            )

    def value_and_grad(self, params: Any) -> tuple[float, Any]:
        """Return the loss and its gradient at plain ``params`` without autograd's tracing.

        Gives the same numbers as ``autograd.value_and_grad(loss)(params)`` about 30 us sooner
        per call; meant for optimizer loops.

        Parameters
        ----------
        params : list of dict
            Network parameters matching the data's D inputs and O outputs.

        Returns
        -------
        value : float
            The objective at ``params``.
        grads : list of dict
            Its gradient, new arrays shaped like ``params``.

        Raises
        ------
        ValueError
            If ``params`` does not fit the data (both sizes named).

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.losses import make_objective
        >>> loss = make_objective(np.array([[1.0]]), np.array([3.0]), form="notebook")
        >>> value, grads = loss.value_and_grad([{'w': np.array([[1.0]]), 'b': np.array([0.0])}])
        >>> float(value), grads[0]['w'].tolist(), grads[0]['b'].tolist()
        (2.0, [[-2.0]], [-2.0])
        """
        self._check(params)
        if self._name is None or isbox(params):
            return autograd.value_and_grad(self)(params)
        leaves = _fastobjective._leaves(params)
        if any(isbox(leaf) for leaf in leaves):
            return autograd.value_and_grad(self)(params)
        ws, bs = leaves[0::2], leaves[1::2]
        value, payload = self._fused.value(ws, bs, keep=True)
        gws, gbs = self._fused.grads(payload, ws, bs, 1.0)
        grads = [{"w": gw, "b": gb} for gw, gb in zip(gws, gbs, strict=True)]
        if any(next(iter(layer)) != "w" for layer in params):  # keep each dict's key order
            pairs = zip(grads, params, strict=True)
            grads = [{key: grad[key] for key in layer} for grad, layer in pairs]
        return value, (tuple(grads) if isinstance(params, tuple) else grads)

    def _flat_value_and_grad(self, params: Any) -> FlatEntry | None:
        """Return the flat entry point on ``tree.flatten(params)``'s layout, or None.

        For optimizers that work on the flattened parameters (L-BFGS). Returns None when
        ``params`` is not a plain list (or tuple) of ``{'w', 'b'}`` dicts in that key order or
        the activation is a custom callable; callers then use :meth:`value_and_grad`.
        ``params`` is checked against the data once, here, with the errors of a call.
        """
        if self._name is None or type(params) not in (list, tuple):
            return None
        if not all(type(layer) is dict and list(layer) == ["w", "b"] for layer in params):
            return None
        self._check(params)
        return FlatEntry(self._fused, model._shapes(params), isinstance(params, tuple))

    def __repr__(self) -> str:
        f = self._fused
        return (
            f"Objective(N={self.x.shape[0]}, D={self.x.shape[1]}, O={f.y_NO.shape[1]}, "
            f"sigma={f.sigma!r}, prior_std={f.prior_std!r}, "
            f"activation={self._name or self._fn!r}, form={'full' if f.full else 'notebook'!r})"
        )


class FlatEntry:
    """An objective's numbers on one flat float64 vector laid out like ``tree.flatten``.

    :meth:`value_and_grad` reads every w and b as views of ``theta_P`` and writes the gradient
    into one new vector of the same layout, so no tree is built per evaluation;
    :meth:`as_params` builds the parameter tree (views of a vector) only when one is needed.
    """

    def __init__(
        self, fused: _fastobjective.FusedObjective, shapes: list[tuple[int, int]], as_tuple: bool
    ) -> None:
        self._fused = fused
        self._as_tuple = as_tuple
        self._w_slices: list[tuple[int, int, tuple[int, int]]] = []
        self._b_slices: list[tuple[int, int]] = []
        start = 0
        for n_in, n_out in shapes:
            self._w_slices.append((start, start + n_in * n_out, (n_in, n_out)))
            start += n_in * n_out
            self._b_slices.append((start, start + n_out))
            start += n_out
        self.size = start

    def _views(self, vec_P: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        ws = [vec_P[s:e].reshape(shape) for s, e, shape in self._w_slices]
        bs = [vec_P[s:e] for s, e in self._b_slices]
        return ws, bs

    def value_and_grad(self, theta_P: np.ndarray) -> tuple[float, np.ndarray]:
        """Return the objective at ``theta_P`` (P,) and its gradient as a new (P,) vector."""
        theta_P = np.asarray(theta_P, dtype=np.float64)
        if theta_P.shape != (self.size,):
            raise ValueError(
                f"theta_P must have shape ({self.size},) to match the parameters, got "
                f"shape {theta_P.shape}"
            )
        grad_P = np.empty(self.size)
        ws, bs = self._views(theta_P)
        value, payload = self._fused.value(ws, bs, keep=True)
        self._fused.grads(payload, ws, bs, 1.0, into=self._views(grad_P))
        return value, grad_P

    def as_params(self, vec_P: np.ndarray) -> Any:
        """Return the parameter tree whose leaves are views of the (P,) vector ``vec_P``."""
        ws, bs = self._views(vec_P)
        layers = [{"w": w, "b": b} for w, b in zip(ws, bs, strict=True)]
        return tuple(layers) if self._as_tuple else layers


def build(
    x: Any,
    y: Any,
    sigma: Any,
    prior_std: float | None,
    activation: Any,
    form: str,
    reduction: str,
) -> Objective:
    """Check the data once and return the objective (the body of ``losses.make_objective``)."""
    full = check_choice(form, "form", FORMS) == "full"
    mean = check_choice(reduction, "reduction", REDUCTIONS) == "mean"
    x_arr = as_float_array(x, "x", ndims=(1, 2))
    y_arr = as_float_array(y, "y", ndims=(1, 2))
    n = y_arr.shape[0]
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        raise ValueError(
            f"y must have shape ({n},) for one output (predictions of a one-output network have "
            f"shape (N,)), got {y_arr.shape}; pass y.ravel()"
        )
    x_ND = x_arr.reshape(-1, 1) if x_arr.ndim == 1 else x_arr
    if x_ND.shape[0] != n:
        raise ValueError(
            f"x and y must have the same number of examples, got x {x_arr.shape} and "
            f"y {y_arr.shape}"
        )
    if isbox(sigma):
        raise TypeError(
            "sigma must be a fixed number in make_objective, got a traced value; to learn sigma "
            "write the loss as gaussian_nll(y, predict(params, x), sigma)"
        )
    sigma = check_sigma(sigma, y_arr.shape)
    if prior_std is not None:
        prior_std = check_positive(prior_std, "prior_std")
    name, fn = model._resolve(activation)
    kernel = KERNELS[name] if name is not None else KERNELS["identity"]
    fused = _fastobjective.FusedObjective(x_ND, y_arr, sigma, prior_std, kernel, full, mean)
    return Objective(fused, name, fn)
