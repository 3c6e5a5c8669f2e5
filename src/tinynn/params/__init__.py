"""Build, check, sample and print the notebook's list-of-dict network parameters.

A network with layer sizes ``[D, H1, ..., O]`` has one dict per layer,
``[{'w': w_DH, 'b': b_H}, ..., {'w': w_HO, 'b': b_O}]``, with float64 arrays: ``w`` of shape
(n_in, n_out) and ``b`` of shape (n_out,). No hidden layers means linear regression.
Shape suffixes: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

import itertools
import numbers
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from tinynn import tree
from tinynn._checks import as_float_array, as_generator, check_int, check_positive, describe
from tinynn._typing import Params
from tinynn.params._initializers import (
    INITIALIZERS,
    Initializer,
    constant,
    fill_init,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    normal,
    ones,
    resolve_init,
    uniform,
    xavier_normal,
    xavier_uniform,
    zeros,
)

__all__ = [
    "INITIALIZERS",
    "Initializer",
    "check_params",
    "constant",
    "format_params",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "layer_sizes",
    "make_params",
    "normal",
    "ones",
    "print_params",
    "sample_prior",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]


def make_params(
    n_inputs: int,
    hidden_sizes: Sequence[int],
    n_outputs: int = 1,
    *,
    weight_init: Any = "glorot_normal",
    bias_init: Any = "zeros",
    rng: Any = None,
) -> Params:
    """Create a network's parameters as the notebook's list of per-layer dicts.

    Parameters
    ----------
    n_inputs : int
        Number of input features D.
    hidden_sizes : sequence of int
        Units per hidden layer, e.g. ``[30]``; ``[]`` gives linear regression.
    n_outputs : int, default 1
        Number of outputs O.
    weight_init, bias_init : str, number, Initializer or callable
        A name in :data:`INITIALIZERS`, a number (constant fill), an initializer such as
        ``normal(std=0.1)`` (called as ``init(shape, rng)``), or the notebook's plain callable
        taking a shape tuple (``np.zeros``). Integer fills become float64.
    rng : numpy.random.Generator, int or None, default None
        Randomness for the built-in initializers, drawn layer by layer, ``'w'`` before ``'b'``.

    Returns
    -------
    list of dict
        ``[{'w': (n_in, n_out), 'b': (n_out,)}, ...]`` of float64 arrays.

    Raises
    ------
    TypeError
        If a size is not an int or an initializer is of the wrong kind.
    ValueError
        If a size is below 1, an initializer name is unknown or a callable returns a wrong shape.

    Examples
    --------
    >>> from tinynn.params import make_params, layer_sizes
    >>> params = make_params(2, [30], rng=0)
    >>> layer_sizes(params), params[0]['w'].shape, params[1]['b'].shape
    ([2, 30, 1], (2, 30), (1,))
    """
    if isinstance(hidden_sizes, (numbers.Integral, np.integer)):
        raise TypeError(
            f"hidden_sizes must be a list of ints, got the int {hidden_sizes}; "
            f"pass [{hidden_sizes}] for one hidden layer or [] for none"
        )
    if not isinstance(hidden_sizes, (Sequence, np.ndarray)) or isinstance(hidden_sizes, str):
        raise TypeError(f"hidden_sizes must be a list of ints, got {describe(hidden_sizes)}")
    sizes = [check_int(n_inputs, "n_inputs", minimum=1)]
    sizes += [check_int(h, f"hidden_sizes[{i}]", minimum=1) for i, h in enumerate(hidden_sizes)]
    sizes.append(check_int(n_outputs, "n_outputs", minimum=1))
    w_init = resolve_init(weight_init, "weight_init")
    b_init = resolve_init(bias_init, "bias_init")
    gen = as_generator(rng)
    params = []
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        w = fill_init(w_init, (n_in, n_out), gen, "weight_init", f"params[{layer}]['w']")
        b = fill_init(b_init, (n_out,), gen, "bias_init", f"params[{layer}]['b']")
        params.append({"w": w, "b": b})
    return params


def _check_layers(params: Params, name: str) -> None:
    if not isinstance(params, (list, tuple)):
        raise TypeError(
            f"{name} must be a list of dicts with keys 'w' and 'b' (one per layer), "
            f"got {describe(params)}"
        )
    if len(params) == 0:
        raise ValueError(f"{name} must hold at least one layer, got an empty list")
    for i, layer in enumerate(params):
        if not isinstance(layer, dict):
            raise TypeError(
                f"{name}[{i}] must be a dict with keys 'w' and 'b', got {describe(layer)}"
            )
        for key in ("w", "b"):
            if key not in layer:
                raise ValueError(
                    f"{name}[{i}] is missing key {key!r}; each layer needs 'w' and 'b'"
                )
        extra = [k for k in layer if k not in ("w", "b")]
        if extra:
            raise ValueError(f"{name}[{i}] has unexpected keys {extra}; each layer has 'w' and 'b'")


def check_params(params: Params, name: str = "params", *, allow_nonfinite: bool = False) -> None:
    """Check that ``params`` is a valid network: raise naming the layer and key at fault.

    Parameters
    ----------
    params : list of dict
        ``[{'w': (n_in, n_out), 'b': (n_out,)}, ...]`` with consecutive layers that fit.
    name : str, default "params"
        Name used in error messages.
    allow_nonfinite : bool, default False
        Accept NaN and infinity (for printing a diverged network).

    Raises
    ------
    TypeError
        If ``params`` is not a list of dicts or holds non-numeric arrays.
    ValueError
        If a key is missing, an array has the wrong shape, layers do not fit or values are not
        finite, e.g. "params[1]['b'] must have shape (1,) ...".

    Examples
    --------
    >>> from tinynn.params import check_params
    >>> check_params([{'w': np.zeros((2, 1)), 'b': np.zeros(2)}])
    Traceback (most recent call last):
    ...
    ValueError: params[0]['b'] must have shape (1,) to match params[0]['w'] of shape (2, 1), ...
    """
    _check_layers(params, name)
    prev_out = None
    for i, layer in enumerate(params):
        w = as_float_array(layer["w"], f"{name}[{i}]['w']", allow_nonfinite=allow_nonfinite)
        b = as_float_array(layer["b"], f"{name}[{i}]['b']", allow_nonfinite=allow_nonfinite)
        if w.ndim != 2:
            raise ValueError(
                f"{name}[{i}]['w'] must be a 2-D array of shape (n_in, n_out), got shape {w.shape}"
            )
        if b.shape != (w.shape[1],):
            raise ValueError(
                f"{name}[{i}]['b'] must have shape ({w.shape[1]},) to match {name}[{i}]['w'] of "
                f"shape {w.shape}, got shape {b.shape}"
            )
        if prev_out is not None and w.shape[0] != prev_out:
            raise ValueError(
                f"{name}[{i}]['w'] must have {prev_out} rows to follow {name}[{i - 1}] with "
                f"{prev_out} outputs, got shape {w.shape}"
            )
        prev_out = w.shape[1]


def layer_sizes(params: Params) -> list[int]:
    """Return the layer sizes ``[D, H1, ..., O]`` of a valid parameter list.

    Examples
    --------
    >>> from tinynn.params import make_params, layer_sizes
    >>> layer_sizes(make_params(3, [4, 5], 2, rng=0))
    [3, 4, 5, 2]
    """
    check_params(params, allow_nonfinite=True)
    return [int(np.shape(params[0]["w"])[0])] + [int(np.shape(lay["w"])[1]) for lay in params]


def sample_prior(template: Params, *, prior_std: float = 1.0, rng: Any = None) -> Params:
    """Draw parameters from the prior N(0, prior_std**2), shaped like ``template``.

    Examples
    --------
    >>> from tinynn.params import make_params, sample_prior
    >>> draw = sample_prior(make_params(2, [3], rng=0), prior_std=0.5, rng=1)
    >>> draw[0]['w'].shape
    (2, 3)
    """
    prior_std = check_positive(prior_std, "prior_std")
    try:
        tree.flatten(template)
    except TypeError as err:
        raise TypeError(
            f"template must be a tree of numeric arrays, such as make_params' output ({err})"
        ) from None
    return tree.normal_like(template, as_generator(rng), std=prior_std)


def format_params(params: Params) -> str:
    """Return the text the notebook's ``pretty_print_nn_param_list`` prints for ``params``.

    Examples
    --------
    >>> from tinynn.params import make_params, format_params
    >>> print(format_params(make_params(2, [], weight_init="zeros")))
    Layer 0
      w | size    (2, 1) | [0. 0.]
      b | size      (1,) | [0.]
    """
    _check_layers(params, "params")
    lines = []
    for i, layer in enumerate(params):
        lines.append(f"Layer {i}")
        for key in ("w", "b"):
            arr = np.asarray(layer[key])  # the notebook's "%9s" of the shape, then str of values
            lines.append(f"  {key} | size {arr.shape!s:>9} | {arr.flatten()}")
    return "\n".join(lines)


def print_params(params: Params, file: TextIO | None = None) -> None:
    """Print :func:`format_params` of ``params`` to ``file`` (default: standard output).

    Examples
    --------
    >>> from tinynn.params import make_params, print_params
    >>> print_params(make_params(1, [2], weight_init="ones", bias_init=0.5))
    Layer 0
      w | size    (1, 2) | [1. 1.]
      b | size      (2,) | [0.5 0.5]
    Layer 1
      w | size    (2, 1) | [1. 1.]
      b | size      (1,) | [0.5]
    """
    print(format_params(params), file=sys.stdout if file is None else file)
