"""The teaching notebook's helper functions, as thin calls into tinynn.

Course code written against the notebook "Intro to neural net training with autograd" defines
five helpers itself. Delete those definitions and import these instead; the calls, defaults,
return values, history keys and printed progress lines stay the same::

    from tinynn.compat import (
        make_nn_params_as_list_of_dicts,
        pretty_print_nn_param_list,
        predict_y_given_x_with_NN,
        run_many_iters_of_gradient_descent,
        run_many_iters_of_gradient_descent_with_list_of_dict,
    )

None of these functions holds any math of its own: each one forwards to the core API and only
reshapes the answer into the notebook's form.

==========================================================  ========================================
notebook helper                                             core function
==========================================================  ========================================
``make_nn_params_as_list_of_dicts``                         :func:`tinynn.params.make_params`
``pretty_print_nn_param_list``                              :func:`tinynn.params.print_params`
``predict_y_given_x_with_NN``                               :func:`tinynn.model.predict`
``run_many_iters_of_gradient_descent``                      :func:`tinynn.optim.minimize`
``run_many_iters_of_gradient_descent_with_list_of_dict``    :func:`tinynn.optim.minimize`
==========================================================  ========================================

Shape suffixes in names: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

import autograd.numpy as ag_np
import numpy as np

from tinynn._checks import check_int, describe
from tinynn.model import predict
from tinynn.optim import gradient_descent, minimize
from tinynn.params import make_params, print_params

__all__ = [
    "make_nn_params_as_list_of_dicts",
    "predict_y_given_x_with_NN",
    "pretty_print_nn_param_list",
    "run_many_iters_of_gradient_descent",
    "run_many_iters_of_gradient_descent_with_list_of_dict",
]


def make_nn_params_as_list_of_dicts(
    n_hiddens_per_layer_list=[5],  # noqa: B006 - the notebook's default; read, never mutated
    n_dims_input=1,
    n_dims_output=1,
    weight_fill_func=np.zeros,
    bias_fill_func=np.zeros,
):
    """Create network parameters as a list of per-layer dicts, filled by the given functions.

    Parameters
    ----------
    n_hiddens_per_layer_list : list of int, default [5]
        Hidden units in each hidden layer; ``[]`` gives linear regression. The list is only read,
        so the notebook's list default is safe here.
    n_dims_input : int, default 1
        Number of input features D.
    n_dims_output : int, default 1
        Number of outputs O.
    weight_fill_func : callable, default np.zeros
        Called with a shape tuple ``(n_in, n_out)``; returns the layer's weights.
    bias_fill_func : callable, default np.zeros
        Called with a shape tuple ``(n_out,)``; returns the layer's biases.

    Returns
    -------
    nn_param_list : list of dict
        One ``{'w': w_IJ, 'b': b_J}`` per layer, float64. Fill functions are called layer by
        layer, weights before biases, as the notebook does, so a fill drawing from the global
        ``np.random`` state draws in the notebook's order.

    Raises
    ------
    TypeError, ValueError
        From :func:`tinynn.params.make_params` when a size is not a whole number >= 1 or a fill
        function returns the wrong shape.

    See Also
    --------
    tinynn.params.make_params : The core function this calls, as
        ``make_params(n_dims_input, n_hiddens_per_layer_list, n_dims_output,
        weight_init=weight_fill_func, bias_init=bias_fill_func)``. Prefer it in new code: it
        defaults to Glorot initialization and takes a seed (``rng=0``) instead of drawing from the
        global ``np.random`` state. All-zero weights, the notebook's default, leave every hidden
        unit identical forever, so a network with hidden layers cannot learn from them.

    Examples
    --------
    >>> params = make_nn_params_as_list_of_dicts([3], n_dims_input=2)
    >>> [(layer['w'].shape, layer['b'].shape) for layer in params]
    [((2, 3), (3,)), ((3, 1), (1,))]
    """
    return make_params(
        n_dims_input,
        list(n_hiddens_per_layer_list),
        n_dims_output,
        weight_init=weight_fill_func,
        bias_init=bias_fill_func,
    )


def pretty_print_nn_param_list(nn_param_list_of_dict):
    """Print each layer's weight and bias shapes and values to standard output.

    Parameters
    ----------
    nn_param_list_of_dict : list of dict
        Network parameters, one ``{'w': ..., 'b': ...}`` per layer.

    Returns
    -------
    None
        The text goes to ``sys.stdout``: a line ``Layer <index>`` per layer, then one line each
        for ``w`` and ``b`` with the shape and the flattened values.

    Raises
    ------
    TypeError, ValueError
        From :func:`tinynn.params.format_params` when the parameters are not a list of dicts of
        arrays.

    See Also
    --------
    tinynn.params.print_params : The core function this calls, as ``print_params(params)``; it
        also takes ``file=`` to write elsewhere.
    tinynn.params.format_params : The same text as a string, for logs and tests.

    Examples
    --------
    >>> pretty_print_nn_param_list(make_nn_params_as_list_of_dicts([], n_dims_input=2))
    Layer 0
      w | size    (2, 1) | [0. 0.]
      b | size      (1,) | [0.]
    """
    print_params(nn_param_list_of_dict, file=sys.stdout)


def predict_y_given_x_with_NN(x=None, nn_param_list=None, activation_func=ag_np.tanh):
    """Predict outputs for inputs ``x`` with a feed-forward network, squeezing the result.

    Parameters
    ----------
    x : ndarray of shape (N, D), or (N,) when D is 1, or (D,) for one example
        Inputs. A 1-D ``x`` whose length equals the number of input features is one example;
        otherwise a 1-D ``x`` is N examples of one feature.
    nn_param_list : list of dict
        Network parameters, one ``{'w': ..., 'b': ...}`` per layer.
    activation_func : callable, default autograd.numpy.tanh
        Applied after every hidden layer; the output layer is linear.

    Returns
    -------
    yhat : ndarray
        The network's output with every length-1 axis squeezed away, as in the notebook: shape
        (N,) for one output, (N, O) for O outputs, and a 0-d array when N is 1 and O is 1.

    Raises
    ------
    TypeError
        If ``x`` or ``nn_param_list`` is left at its default of None.
    ValueError
        From :func:`tinynn.model.predict` when the number of input features does not match the
        first layer's weights.

    See Also
    --------
    tinynn.model.predict : The core function this calls, as
        ``predict(nn_param_list, x, activation=activation_func)``. The notebook's final squeeze is
        a trap: for a single example it returns a 0-d scalar instead of an array of length 1,
        so code that indexes or measures the prediction breaks for N = 1. ``predict`` always
        returns (N,) or (N, O).

    Notes
    -----
    Differentiable with autograd with respect to both ``x`` and the parameters.

    Examples
    --------
    >>> params = make_nn_params_as_list_of_dicts(
    ...     [], n_dims_input=2, weight_fill_func=np.ones)
    >>> predict_y_given_x_with_NN(np.array([[1.0, 2.0], [3.0, 4.0]]), params)
    array([3., 7.])
    >>> predict_y_given_x_with_NN(np.array([1.0, 2.0]), params).shape  # one example: 0-d
    ()
    """
    if x is None:
        raise TypeError(
            "predict_y_given_x_with_NN needs inputs: pass x, an array of shape (N, D), got None"
        )
    if nn_param_list is None:
        raise TypeError(
            "predict_y_given_x_with_NN needs parameters: pass nn_param_list, a list of "
            "{'w': ..., 'b': ...} dicts (see make_nn_params_as_list_of_dicts), got None"
        )
    return ag_np.squeeze(predict(nn_param_list, x, activation=activation_func))


def _check_loop_args(f: Any, g: Any, init: Any, init_name: str, n_iters: Any) -> int:
    for fn, name in ((f, "f"), (g, "g")):
        if not callable(fn):
            raise TypeError(f"{name} must be a function of the parameters, got {describe(fn)}")
    if init is None:
        raise TypeError(f"{init_name} must be the starting parameters, got None")
    return check_int(n_iters, "n_iters", minimum=0)


def _is_autograd_grad_of(g: Any, f: Any) -> bool:
    """Return True when ``g`` is ``autograd.grad(f)``, the gradient with respect to argument 0."""
    if getattr(g, "__name__", None) != f"grad_of_{getattr(f, '__name__', '')}_wrt_argnum_0":
        return False
    cells = getattr(g, "__closure__", None) or ()
    for cell in cells:
        try:
            if cell.cell_contents is f:
                return True
        except ValueError:  # an empty cell
            continue
    return False


def _run_notebook_loop(
    f: Callable[[Any], Any],
    g: Callable[[Any], Any],
    init: Any,
    n_iters: int,
    step_size: float,
    *,
    progress: bool,
) -> tuple[Any, dict[str, list[Any]]]:
    """Run the notebook's loop through minimize; return (params, history with iter/f/x/g)."""
    optimizer = gradient_descent(step_size)  # validates step_size even when n_iters is 0
    if n_iters == 0:  # minimize needs one point; the notebook hands back a copy and no history
        return copy.deepcopy(init), {"iter": [], "f": [], "x": [], "g": []}
    # When g is autograd.grad(f), one value-and-gradient pass gives the very numbers f and g
    # would give separately, at half the cost; any other g is called as the notebook called it.
    one_pass = _is_autograd_grad_of(g, f)
    result = minimize(
        f if one_pass else None,
        init,
        optimizer=optimizer,
        n_iters=n_iters,
        value_and_grad=None if one_pass else (lambda params: (f(params), g(params))),
        record_params_every=1,
        record_grads_every=1,
        progress=progress,
        progress_every=50,
        stream=sys.stdout,
    )
    return result.params, result.history.as_dict()


def run_many_iters_of_gradient_descent(f, g, init_x_D=None, n_iters=100, step_size=0.001):
    """Minimize ``f`` by plain gradient descent with gradient function ``g``, keeping a history.

    Parameters
    ----------
    f : callable
        The objective, ``f(x_D) -> float``.
    g : callable
        Its gradient, ``g(x_D) -> ndarray of shape (D,)``; usually ``autograd.grad(f)``.
    init_x_D : ndarray of shape (D,) or float
        Starting point; it is copied, never changed.
    n_iters : int, default 100
        Number of points in the history. The first is ``init_x_D`` itself, so ``n_iters - 1``
        gradient steps are taken.
    step_size : float, default 0.001
        The fixed step: ``x_D <- x_D - step_size * g(x_D)``.

    Returns
    -------
    x_D : ndarray of shape (D,)
        The last point, after ``n_iters - 1`` steps.
    history : dict of list
        ``'iter'`` (0, 1, ..., n_iters - 1), ``'f'`` (objective at each point), ``'x_D'`` (each
        point) and ``'g_D'`` (the gradient at each point), each of length ``n_iters``.

    Raises
    ------
    TypeError
        If ``f`` or ``g`` is not callable, ``init_x_D`` is None, ``n_iters`` is not an int or
        ``step_size`` is not a number.
    ValueError
        If ``n_iters`` is negative or ``step_size`` is not positive (the notebook would have
        climbed uphill with a negative step).

    See Also
    --------
    tinynn.optim.minimize : The core loop this calls, as ``minimize(f, init_x_D,
        optimizer=gradient_descent(step_size), n_iters=n_iters, value_and_grad=lambda x: (f(x),
        g(x)), record_params_every=1, record_grads_every=1)``, then renames the keys of
        ``History.as_dict()``. Prefer it in new code: leave out ``value_and_grad`` and it gets the
        loss and gradient from one autograd pass, takes any optimizer, records parameters only
        as often as asked, stops on divergence and returns what it had on Ctrl-C.

    Notes
    -----
    The notebook calls ``g`` twice per iteration (once for the step, once for the history) and
    ``f`` once. Here ``g`` is called once per point and that one gradient serves both the history
    and the next step; when ``g`` is ``autograd.grad(f)`` itself, one
    ``autograd.value_and_grad(f)`` pass replaces the separate calls (the same numbers, half the
    work), so the history is the notebook's for any ``g`` that is a function of its
    input, including a ``g`` that is not the gradient of ``f``: ``f`` feeds only ``'f'`` and ``g``
    alone moves ``x_D``.

    Two changes protect the work done. A NaN or infinite loss or gradient stops the run with a
    :class:`tinynn.optim.DivergenceWarning` and returns the last finite point with the history up
    to it (the notebook went on filling the history with NaN). Ctrl-C returns the point and
    history reached so far instead of discarding them.

    Examples
    --------
    >>> import autograd
    >>> import autograd.numpy as anp
    >>> f = lambda x_D: anp.sum(anp.square(x_D))
    >>> x_D, history = run_many_iters_of_gradient_descent(
    ...     f, autograd.grad(f), np.array([-3.0, 4.0]), n_iters=3, step_size=0.25)
    >>> x_D
    array([-0.75,  1.  ])
    >>> sorted(history), history['f']
    (['f', 'g_D', 'iter', 'x_D'], [25.0, 6.25, 1.5625])
    """
    n_iters = _check_loop_args(f, g, init_x_D, "init_x_D", n_iters)
    x_D, hist = _run_notebook_loop(f, g, init_x_D, n_iters, step_size, progress=False)
    return x_D, {"iter": hist["iter"], "f": hist["f"], "x_D": hist["x"], "g_D": hist["g"]}


def run_many_iters_of_gradient_descent_with_list_of_dict(
    f, g, init_x_list_of_dict=None, n_iters=100, step_size=0.001
):
    """Minimize ``f`` over a list of dicts of arrays by gradient descent, printing progress.

    Parameters
    ----------
    f : callable
        The objective, ``f(params) -> float``, for example a network's loss.
    g : callable
        Its gradient, returning a list of dicts shaped like the parameters; usually
        ``autograd.grad(f)``.
    init_x_list_of_dict : list of dict
        Starting parameters, e.g. from :func:`make_nn_params_as_list_of_dicts`; they are copied,
        never changed. Any nested list/tuple/dict of arrays works.
    n_iters : int, default 100
        Number of points in the history. The first is the starting point, so ``n_iters - 1``
        gradient steps are taken.
    step_size : float, default 0.001
        The fixed step applied to every array: ``w <- w - step_size * grad_w``.

    Returns
    -------
    params : list of dict
        The last parameters, after ``n_iters - 1`` steps.
    history : dict of list
        ``'iter'``, ``'f'``, ``'x'`` (a copy of the parameters at each point) and ``'g'`` (the
        gradient there), each of length ``n_iters``.

    Raises
    ------
    TypeError
        If ``f`` or ``g`` is not callable, ``init_x_list_of_dict`` is None, ``n_iters`` is not an
        int or ``step_size`` is not a number.
    ValueError
        If ``n_iters`` is negative or ``step_size`` is not positive.

    See Also
    --------
    tinynn.optim.minimize : The core loop this calls, as ``minimize(f, init_x_list_of_dict,
        optimizer=gradient_descent(step_size), n_iters=n_iters, value_and_grad=lambda x: (f(x),
        g(x)), record_params_every=1, record_grads_every=1, progress=True)``; ``History.as_dict()``
        already has these keys. Prefer it in new code with ``value_and_grad`` left out (one
        autograd pass gives loss and gradient), a faster optimizer such as
        ``tinynn.optim.adam`` or ``tinynn.optim.lbfgs()``, and ``record_params_every=0`` unless
        the parameter trace is needed: a copy of every parameter at every step costs memory.

    Notes
    -----
    Progress goes to ``sys.stdout`` as the notebook prints it, for points 1, 2, 3 and every 50th::

        completed iter     1/100 after     0.0 sec | loss 1.632803e+02

    The notebook calls ``g`` twice per iteration; here it is called once per point and that one
    gradient serves both the history and the next step (and when ``g`` is ``autograd.grad(f)``
    itself, one ``autograd.value_and_grad(f)`` pass gives both numbers), so the history is the
    notebook's for any ``g`` that is a function of its input (``f`` feeds only ``'f'``; ``g``
    alone moves the parameters, even when it is not the gradient of ``f``).

    A NaN or infinite loss or gradient stops the run with a
    :class:`tinynn.optim.DivergenceWarning` and returns the last finite parameters with the
    history up to them (the notebook went on filling the history with NaN); Ctrl-C returns what
    was reached so far instead of discarding it.

    Examples
    --------
    >>> import autograd
    >>> import autograd.numpy as anp
    >>> f = lambda params: anp.sum(anp.square(params[0]['w']))
    >>> init = [{'w': np.array([1.0, -2.0])}]
    >>> params, history = run_many_iters_of_gradient_descent_with_list_of_dict(
    ...     f, autograd.grad(f), init, n_iters=2, step_size=0.25)  # doctest: +ELLIPSIS
    completed iter     1/2 after ... sec | loss 5.000000e+00
    completed iter     2/2 after ... sec | loss 1.250000e+00
    >>> params[0]['w'], history['f']
    (array([ 0.5, -1. ]), [5.0, 1.25])
    """
    n_iters = _check_loop_args(f, g, init_x_list_of_dict, "init_x_list_of_dict", n_iters)
    return _run_notebook_loop(f, g, init_x_list_of_dict, n_iters, step_size, progress=True)
