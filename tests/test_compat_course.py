"""Course code that defines the notebook's helpers itself can import tinynn.compat's instead.

A small course-style script uses the five helpers the way the notebook's cells do. It runs twice:
once after a header that defines the helpers the course's way (written here from the notebook's
documented behaviour), once after ``from tinynn.compat import ...``. The body is the same text both
times, and both runs must print the same lines (timings masked) and compute the same numbers.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap

import numpy as np
import pytest

COURSE_HELPERS = textwrap.dedent(
    """
    import copy
    import time

    import autograd.numpy as ag_np
    import numpy as np


    def make_nn_params_as_list_of_dicts(
        n_hiddens_per_layer_list=[5], n_dims_input=1, n_dims_output=1,
        weight_fill_func=np.zeros, bias_fill_func=np.zeros,
    ):
        sizes = [n_dims_input, *n_hiddens_per_layer_list, n_dims_output]
        return [
            {"w": weight_fill_func((a, b)), "b": bias_fill_func((b,))}
            for a, b in zip(sizes[:-1], sizes[1:])
        ]


    def pretty_print_nn_param_list(nn_param_list_of_dict):
        for index, layer in enumerate(nn_param_list_of_dict):
            print("Layer %d" % index)
            for key in ("w", "b"):
                print("  %s | size %9s | %s" % (key, layer[key].shape, layer[key].flatten()))


    def predict_y_given_x_with_NN(x=None, nn_param_list=None, activation_func=ag_np.tanh):
        if x.ndim == 1:
            one_example = x.size == nn_param_list[0]["w"].shape[0]
            x = x[ag_np.newaxis, :] if one_example else x[:, ag_np.newaxis]
        h = x
        for index, layer in enumerate(nn_param_list):
            if index > 0:
                h = activation_func(h)
            h = ag_np.dot(h, layer["w"]) + layer["b"]
        return ag_np.squeeze(h)


    def run_many_iters_of_gradient_descent(f, g, init_x_D=None, n_iters=100, step_size=0.001):
        x_D = copy.deepcopy(init_x_D)
        history = {"iter": [], "f": [], "x_D": [], "g_D": []}
        for it in range(n_iters):
            if it > 0:
                x_D = x_D - step_size * g(x_D)
            history["iter"].append(it)
            history["f"].append(f(x_D))
            history["x_D"].append(x_D)
            history["g_D"].append(g(x_D))
        return x_D, history


    def run_many_iters_of_gradient_descent_with_list_of_dict(
        f, g, init_x_list_of_dict=None, n_iters=100, step_size=0.001
    ):
        params = copy.deepcopy(init_x_list_of_dict)
        history = {"iter": [], "f": [], "x": [], "g": []}
        start = time.time()
        for it in range(n_iters):
            if it > 0:
                grads = g(params)
                params = [
                    {k: layer[k] - step_size * grad[k] for k in layer}
                    for layer, grad in zip(params, grads)
                ]
            loss = f(params)
            history["iter"].append(it)
            history["f"].append(loss)
            history["x"].append(copy.deepcopy(params))
            history["g"].append(g(params))
            if it < 3 or (it + 1) % 50 == 0:
                print("completed iter %5d/%d after %7.1f sec | loss %.6e"
                      % (it + 1, n_iters, time.time() - start, loss))
        return params, history
    """
)

TINYNN_HELPERS = textwrap.dedent(
    """
    from tinynn.compat import (
        make_nn_params_as_list_of_dicts,
        predict_y_given_x_with_NN,
        pretty_print_nn_param_list,
        run_many_iters_of_gradient_descent,
        run_many_iters_of_gradient_descent_with_list_of_dict,
    )
    """
)

COURSE_SCRIPT = textwrap.dedent(
    """
    import autograd
    import autograd.numpy as ag_np
    import numpy as np

    sigma = 0.1
    prng = np.random.RandomState(0)
    x_ND = prng.uniform(low=-5, high=5, size=(300, 2))
    y_N = np.dot(x_ND, np.asarray([4.2, -4.2])) + 0.1 + sigma * prng.randn(300)

    def nn_loss(nn_params):
        yhat_N = predict_y_given_x_with_NN(x_ND, nn_params)
        return 0.5 / ag_np.square(sigma) * ag_np.sum(ag_np.square(y_N - yhat_N))

    linear = make_nn_params_as_list_of_dicts(
        n_hiddens_per_layer_list=[], n_dims_input=2, n_dims_output=1)
    pretty_print_nn_param_list(linear)
    linear_opt, linear_hist = run_many_iters_of_gradient_descent_with_list_of_dict(
        nn_loss, autograd.grad(nn_loss), linear, n_iters=60, step_size=0.000001)
    pretty_print_nn_param_list(linear_opt)

    np.random.seed(0)
    hidden = make_nn_params_as_list_of_dicts(
        n_hiddens_per_layer_list=[4], n_dims_input=2, n_dims_output=1,
        weight_fill_func=lambda sz_tuple: 0.1 * np.random.randn(*sz_tuple))
    hidden_opt, hidden_hist = run_many_iters_of_gradient_descent_with_list_of_dict(
        nn_loss, autograd.grad(nn_loss), hidden, n_iters=4, step_size=0.0000001)
    print(predict_y_given_x_with_NN(x_ND[:3], hidden_opt))
    print(predict_y_given_x_with_NN(x_ND[0], hidden_opt).shape)

    def f(x_D):
        return ag_np.sum(ag_np.square(x_D))

    opt_x_D, hist_D = run_many_iters_of_gradient_descent(
        f, autograd.grad(f), np.asarray([-3.0, 4.0]), n_iters=20, step_size=0.1)
    print(opt_x_D, hist_D["f"][-1], sorted(hist_D))
    """
)


def run_course(header: str) -> tuple[str, dict]:
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(header + COURSE_SCRIPT, "<course>", "exec"), namespace)
    return out.getvalue(), namespace


def normalize(text: str) -> str:
    return " ".join(re.sub(r"after\s+[0-9.]+\s+sec", "after T sec", text).split())


@pytest.fixture(scope="module")
def both_runs():
    return run_course(COURSE_HELPERS), run_course(TINYNN_HELPERS)


def test_course_script_prints_the_same(both_runs):
    (course_out, _), (tinynn_out, _) = both_runs
    assert "completed iter 50/60" in normalize(course_out)
    assert normalize(tinynn_out) == normalize(course_out)


def test_course_script_computes_the_same(both_runs):
    (_, course), (_, ours) = both_runs
    assert ours["make_nn_params_as_list_of_dicts"].__module__ == "tinynn.compat"
    for name in ("linear_hist", "hidden_hist"):
        assert sorted(ours[name]) == sorted(course[name]) == ["f", "g", "iter", "x"]
        assert ours[name]["iter"] == course[name]["iter"]
        np.testing.assert_allclose(
            np.asarray(ours[name]["f"], dtype=float),
            np.asarray(course[name]["f"], dtype=float),
            rtol=1e-12,
        )
        for got, want in zip(ours[name]["x"], course[name]["x"], strict=True):
            for got_layer, want_layer in zip(got, want, strict=True):
                for key in ("w", "b"):
                    np.testing.assert_allclose(got_layer[key], want_layer[key], rtol=1e-12)
    for name in ("linear_opt", "hidden_opt"):
        for got_layer, want_layer in zip(ours[name], course[name], strict=True):
            for key in ("w", "b"):
                np.testing.assert_allclose(got_layer[key], want_layer[key], rtol=1e-12)
    assert sorted(ours["hist_D"]) == ["f", "g_D", "iter", "x_D"]
    np.testing.assert_allclose(ours["opt_x_D"], course["opt_x_D"], rtol=1e-12)
