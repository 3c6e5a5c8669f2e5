"""Golden tests: the teaching notebook's scenarios, re-created through tinynn.compat.

Each test rebuilds one scenario of the notebook's code cells with the compat helpers and checks the
output the notebook recorded. The expected strings below are the notebook's printed output; the
notebook's shared copy had its runs of spaces collapsed, so printed text is compared with runs of
whitespace collapsed. Timings in progress lines are masked.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import itertools
import re

import autograd
import autograd.numpy as ag_np
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from notebook_outputs import PRETTY_PRINTED

from tinynn import compat
from tinynn.compat import (
    make_nn_params_as_list_of_dicts,
    predict_y_given_x_with_NN,
    pretty_print_nn_param_list,
    run_many_iters_of_gradient_descent,
    run_many_iters_of_gradient_descent_with_list_of_dict,
)

SIGMA = 0.1


def squash(text: str) -> str:
    """Collapse every run of whitespace to one space, as in the shared copy of the notebook."""
    return " ".join(text.split())


def mask_times(text: str) -> str:
    return re.sub(r"after\s+[0-9.]+\s+sec", "after T sec", text)


def linear_toy_data():
    """The notebook's linear toy data: N=300, D=2, w=(4.2, -4.2), bias 0.1, sigma 0.1, seed 0."""
    prng = np.random.RandomState(0)
    x_ND = prng.uniform(low=-5, high=5, size=(300, 2))
    y_N = x_ND @ np.array([4.2, -4.2]) + 0.1 + SIGMA * prng.randn(300)
    return x_ND, y_N


def quadratic_toy_data():
    """The notebook's quadratic toy data (no bias), same seed and noise."""
    prng = np.random.RandomState(0)
    x_ND = prng.uniform(low=-5, high=5, size=(300, 2))
    y_N = (
        np.square(x_ND) @ np.array([-2.0, 2.0])
        + x_ND @ np.array([4.2, -4.2])
        + SIGMA * prng.randn(300)
    )
    return x_ND, y_N


def nn_loss_for(x_ND, y_N):
    def loss(nn_params):
        yhat_N = predict_y_given_x_with_NN(x_ND, nn_params)
        return 0.5 / ag_np.square(SIGMA) * ag_np.sum(ag_np.square(y_N - yhat_N))

    return loss


# --- Part 1 and 2: autograd on scalar and vector functions --------------------------------------


def test_gradient_of_square_at_scalars():
    g = autograd.grad(lambda x: ag_np.square(x))
    assert g(0.0) == 0.0
    assert [g(-1.0), g(1.0)] == [-2.0, 2.0]


@pytest.mark.parametrize(
    ("x_D", "expected"),
    [
        (np.zeros(4), "[0. 0. 0. 0.] 0.0 [0. 0. 0. 0.]"),
        (np.asarray([1.0, 2.0, 3.0, 4.0]), "[1. 2. 3. 4.] 30.0 [2. 4. 6. 8.]"),
    ],
)
def test_sum_of_squares_value_and_gradient_print(capsys, x_D, expected):
    def f(x_D):
        return ag_np.sum(ag_np.square(x_D))

    print(x_D)
    print(f(x_D))
    print(autograd.grad(f)(x_D))
    assert squash(capsys.readouterr().out) == expected


# --- Part 3: gradient descent on arrays ----------------------------------------------------------


def reference_descent(f, g, init, n_iters, step_size):
    """The notebook's loop written out plainly, as an oracle for the history."""
    x = np.array(init, dtype=float)
    hist = {"iter": [], "f": [], "x_D": [], "g_D": []}
    for it in range(n_iters):
        if it > 0:
            x = x - step_size * g(x)
        hist["iter"].append(it)
        hist["f"].append(f(x))
        hist["x_D"].append(x)
        hist["g_D"].append(g(x))
    return x, hist


def assert_same_history(got, want):
    assert sorted(got) == sorted(want)
    assert got["iter"] == want["iter"]
    np.testing.assert_allclose(np.asarray(got["f"], dtype=float), want["f"], rtol=1e-12)
    for key in got:
        if key in ("iter", "f"):
            continue
        assert len(got[key]) == len(want[key])
        for a, b in zip(got[key], want[key], strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-300)


def test_sum_of_squares_descent_goes_to_zero():
    def f(x_D):
        return ag_np.sum(ag_np.square(x_D))

    g = autograd.grad(f)
    init_x_D = np.asarray([-3.0, 4.0, -5.0, 6.0])
    opt_x_D, history = run_many_iters_of_gradient_descent(
        f, g, init_x_D, n_iters=1000, step_size=0.01
    )
    assert sorted(history) == ["f", "g_D", "iter", "x_D"]
    assert history["iter"] == list(range(1000))
    assert history["f"][0] == 86.0
    np.testing.assert_array_equal(history["x_D"][0], init_x_D)
    np.testing.assert_allclose(opt_x_D, 0.0, atol=1e-7)
    np.testing.assert_array_equal(init_x_D, [-3.0, 4.0, -5.0, 6.0])  # never changed
    _, want = reference_descent(f, g, init_x_D, 1000, 0.01)
    assert_same_history(history, want)


def test_trid_descent_reaches_known_minimum():
    def trid(x_D):
        return ag_np.square(x_D[0] - 1) + ag_np.square(x_D[1] - 1) - x_D[0] * x_D[1]

    opt_x_D, history = run_many_iters_of_gradient_descent(
        trid, autograd.grad(trid), np.asarray([1.0, -1.0]), n_iters=300, step_size=0.1
    )
    np.testing.assert_allclose(opt_x_D, [2.0, 2.0], atol=1e-6)
    assert history["f"][-1] == pytest.approx(-2.0, abs=1e-10)


def test_linear_regression_loss_gradient_and_descent():
    x_ND, y_N = linear_toy_data()

    def calc_neg_likelihood_linreg(w_D):
        return 0.5 / ag_np.square(SIGMA) * ag_np.sum(ag_np.square(ag_np.dot(x_ND, w_D) - y_N))

    init_w_D = np.zeros(2)
    assert calc_neg_likelihood_linreg(init_w_D) == pytest.approx(4649826.583041586, rel=1e-13)
    grad_fn = autograd.grad(calc_neg_likelihood_linreg)
    np.testing.assert_allclose(
        grad_fn(init_w_D), [-1053476.33939486, 1159525.45599207], rtol=0, atol=5e-9
    )
    opt_w_D, history = run_many_iters_of_gradient_descent(
        calc_neg_likelihood_linreg, grad_fn, init_w_D, n_iters=300, step_size=0.000001
    )
    assert len(history["f"]) == 300
    assert history["f"][-1] < history["f"][0] / 1000
    np.testing.assert_allclose(opt_w_D, [4.2, -4.2], atol=0.01)
    _, want = reference_descent(calc_neg_likelihood_linreg, grad_fn, init_w_D, 300, 1e-6)
    assert_same_history(history, want)


def test_descent_uses_g_not_f_when_they_disagree():
    """The notebook steps with the user's g and records f; keep that even when g is not grad f."""
    calls = {"f": 0, "g": 0}

    def f(x_D):
        calls["f"] += 1
        return float(np.sum(x_D))

    def g(x_D):
        calls["g"] += 1
        return np.ones_like(x_D)  # the gradient of f, but pretend it is anything

    def g_other(x_D):
        return 2.0 * x_D  # not the gradient of f

    x_D, history = run_many_iters_of_gradient_descent(f, g_other, np.array([1.0, 2.0]), 3, 0.5)
    _, want = reference_descent(f, g_other, np.array([1.0, 2.0]), 3, 0.5)
    np.testing.assert_allclose(x_D, [0.0, 0.0])
    assert_same_history(history, want)
    calls.update(f=0, g=0)
    run_many_iters_of_gradient_descent(f, g, np.array([1.0, 2.0]), 5, 0.5)
    assert calls == {"f": 5, "g": 5}  # the notebook called g 9 times; once per point is enough


@pytest.mark.parametrize("n_iters", [0, 1])
def test_descent_with_no_steps(n_iters):
    init = np.array([1.0, 2.0])
    x_D, history = run_many_iters_of_gradient_descent(
        lambda x: ag_np.sum(x**2), autograd.grad(lambda x: ag_np.sum(x**2)), init, n_iters
    )
    np.testing.assert_array_equal(x_D, init)
    assert history["iter"] == list(range(n_iters))
    assert len(history["x_D"]) == len(history["g_D"]) == len(history["f"]) == n_iters


def test_descent_on_a_scalar():
    x, history = run_many_iters_of_gradient_descent(
        lambda x: x**2, autograd.grad(lambda x: x**2), 3.0, n_iters=3, step_size=0.25
    )
    assert float(x) == 0.75
    np.testing.assert_allclose(np.asarray(history["f"], dtype=float), [9.0, 2.25, 0.5625])


# --- Part 5 setup: gradients of lists and dicts ---------------------------------------------------


def test_gradient_of_a_list():
    g = autograd.grad(lambda ws: ag_np.sum(ag_np.square(ws[0])) + ag_np.sum(ag_np.square(ws[1])))
    grad = g([np.zeros(3), np.arange(5, dtype=np.float64)])
    assert type(grad) is list
    assert squash(repr(grad)) == "[array([0., 0., 0.]), array([0., 2., 4., 6., 8.])]"


def test_gradient_of_a_dict():
    g = autograd.grad(
        lambda d: ag_np.sum(ag_np.square(d["weights"])) + ag_np.sum(ag_np.square(d["bias"]))
    )
    grad = g(dict(weights=np.arange(5, dtype=np.float64), bias=4.2))
    assert type(grad) is dict
    # the notebook ran on Python 2, whose dicts printed their keys sorted
    assert squash(repr({k: grad[k] for k in sorted(grad)})) == (
        "{'bias': array(8.4), 'weights': array([0., 2., 4., 6., 8.])}"
    )
    assert float(grad["bias"]) == pytest.approx(8.4)


# --- Part 5: parameters, pretty printing, prediction ---------------------------------------------

PRINTED = PRETTY_PRINTED


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        (dict(n_hiddens_per_layer_list=[], n_dims_input=1, n_dims_output=1), "zeros_1_to_1"),
        (dict(n_hiddens_per_layer_list=[], n_dims_input=2, n_dims_output=1), "zeros_2_to_1"),
        (dict(n_hiddens_per_layer_list=[3], n_dims_input=2, n_dims_output=1), "hidden3_zeros"),
        (
            dict(
                n_hiddens_per_layer_list=[3],
                n_dims_input=2,
                n_dims_output=1,
                weight_fill_func=np.ones,
            ),
            "hidden3_ones",
        ),
        (
            dict(n_hiddens_per_layer_list=[3, 4, 5, 6, 5, 4, 3], n_dims_input=2, n_dims_output=1),
            "seven_hidden",
        ),
    ],
)
def test_pretty_print_matches_notebook(capsys, kwargs, key):
    nn_params = make_nn_params_as_list_of_dicts(**kwargs)
    assert pretty_print_nn_param_list(nn_params) is None
    assert squash(capsys.readouterr().out) == squash(PRINTED[key])


def test_random_fill_draws_in_notebook_order_and_shapes(capsys):
    """Cell 70 draws unseeded numbers; seeded here, the draws come layer by layer, w before b."""
    prng = np.random.RandomState(123)
    nn_params = make_nn_params_as_list_of_dicts(
        n_hiddens_per_layer_list=[3],
        n_dims_input=2,
        n_dims_output=1,
        weight_fill_func=lambda size_tuple: prng.randn(*size_tuple),
        bias_fill_func=lambda size_tuple: prng.randn(*size_tuple),
    )
    prng = np.random.RandomState(123)
    expected = [prng.randn(2, 3), prng.randn(3), prng.randn(3, 1), prng.randn(1)]
    got = [nn_params[0]["w"], nn_params[0]["b"], nn_params[1]["w"], nn_params[1]["b"]]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    pretty_print_nn_param_list(nn_params)
    out = capsys.readouterr().out
    assert re.findall(r"size\s+(\([0-9, ]*\))", out) == ["(2, 3)", "(3,)", "(3, 1)", "(1,)"]


def test_default_params_and_signatures_match_notebook():
    params = make_nn_params_as_list_of_dicts()
    assert [(p["w"].shape, p["b"].shape) for p in params] == [((1, 5), (5,)), ((5, 1), (1,))]
    assert all(p[k].dtype == np.float64 and not p[k].any() for p in params for k in "wb")
    sig = inspect.signature(make_nn_params_as_list_of_dicts)
    assert list(sig.parameters) == [
        "n_hiddens_per_layer_list",
        "n_dims_input",
        "n_dims_output",
        "weight_fill_func",
        "bias_fill_func",
    ]
    assert sig.parameters["n_hiddens_per_layer_list"].default == [5]
    assert sig.parameters["weight_fill_func"].default is np.zeros
    sig = inspect.signature(predict_y_given_x_with_NN)
    assert list(sig.parameters) == ["x", "nn_param_list", "activation_func"]
    assert sig.parameters["activation_func"].default is ag_np.tanh
    for fn, init_name in [
        (run_many_iters_of_gradient_descent, "init_x_D"),
        (run_many_iters_of_gradient_descent_with_list_of_dict, "init_x_list_of_dict"),
    ]:
        sig = inspect.signature(fn)
        assert list(sig.parameters) == ["f", "g", init_name, "n_iters", "step_size"]
        assert [sig.parameters[k].default for k in (init_name, "n_iters", "step_size")] == [
            None,
            100,
            0.001,
        ]


def test_hidden_size_list_is_never_mutated():
    sizes = [3, 4]
    make_nn_params_as_list_of_dicts(sizes, n_dims_input=2, n_dims_output=2)
    assert sizes == [3, 4]
    make_nn_params_as_list_of_dicts()
    make_nn_params_as_list_of_dicts()
    assert inspect.signature(make_nn_params_as_list_of_dicts).parameters[
        "n_hiddens_per_layer_list"
    ].default == [5]


def test_zero_layer_network_with_true_and_zero_params():
    x_ND, y_N = linear_toy_data()
    true_nn_params = make_nn_params_as_list_of_dicts(
        n_hiddens_per_layer_list=[], n_dims_input=2, n_dims_output=1
    )
    true_nn_params[0]["w"][:] = np.array([4.2, -4.2])[:, np.newaxis]
    true_nn_params[0]["b"][:] = 0.1
    yhat_N = predict_y_given_x_with_NN(x_ND, true_nn_params)
    assert yhat_N.shape == (300,)
    assert np.sqrt(np.mean(np.square(yhat_N - y_N))) < 0.12
    zero_nn_params = make_nn_params_as_list_of_dicts(
        n_hiddens_per_layer_list=[], n_dims_input=2, n_dims_output=1
    )
    yhat_N = predict_y_given_x_with_NN(x_ND, zero_nn_params)
    assert yhat_N.size == 300
    assert not yhat_N.any()


def test_prediction_squeezes_like_the_notebook():
    params = make_nn_params_as_list_of_dicts([4], n_dims_input=2, weight_fill_func=np.ones)
    assert predict_y_given_x_with_NN(np.ones((5, 2)), params).shape == (5,)
    one = predict_y_given_x_with_NN(np.ones(2), params)  # the trap: one example gives 0-d
    assert one.shape == ()
    assert float(one) == pytest.approx(4 * np.tanh(2.0))
    assert predict_y_given_x_with_NN(np.ones((1, 2)), params).shape == ()
    params_1d = make_nn_params_as_list_of_dicts([4], n_dims_input=1, weight_fill_func=np.ones)
    assert predict_y_given_x_with_NN(np.linspace(-1, 1, 7), params_1d).shape == (7,)
    params_2out = make_nn_params_as_list_of_dicts([4], 2, 2, weight_fill_func=np.ones)
    assert predict_y_given_x_with_NN(np.ones((5, 2)), params_2out).shape == (5, 2)
    relu = predict_y_given_x_with_NN(-np.ones((3, 2)), params, activation_func=ag_np.tanh)
    np.testing.assert_allclose(relu, 4 * np.tanh(-2.0))


def test_prediction_is_differentiable_wrt_params_and_x():
    x_ND, y_N = quadratic_toy_data()
    prng = np.random.RandomState(0)
    params = make_nn_params_as_list_of_dicts(
        [3], 2, 1, weight_fill_func=lambda s: 0.1 * prng.randn(*s)
    )
    grads = autograd.grad(nn_loss_for(x_ND[:10], y_N[:10]))(params)
    assert [(g["w"].shape, g["b"].shape) for g in grads] == [((2, 3), (3,)), ((3, 1), (1,))]
    eps = 1e-6
    loss = nn_loss_for(x_ND[:10], y_N[:10])
    bumped = [dict(layer) for layer in params]
    bumped[1] = {"w": params[1]["w"], "b": params[1]["b"] + eps}
    numeric = (loss(bumped) - loss(params)) / eps
    assert grads[1]["b"][0] == pytest.approx(numeric, rel=1e-4)
    dx = autograd.grad(lambda x: ag_np.sum(predict_y_given_x_with_NN(x, params)))(x_ND[:4])
    assert dx.shape == (4, 2)


# --- Worked exercise 5a: the two 100-iteration runs ----------------------------------------------

FROM_TRUE_LINES = """completed iter 1/100 after 0.1 sec | loss 1.632803e+02
completed iter 2/100 after 0.4 sec | loss 1.626805e+02
completed iter 3/100 after 0.5 sec | loss 1.622965e+02
completed iter 50/100 after 9.2 sec | loss 1.598157e+02
completed iter 100/100 after 20.8 sec | loss 1.596883e+02"""
FROM_TRUE_PARAMS = """Layer 0
 w | size (2, 1) | [ 4.20137427 -4.2023327 ]
 b | size (1,) | [0.08737985]"""
FROM_ZERO_LINES = """completed iter 1/100 after 0.1 sec | loss 4.649827e+06
completed iter 2/100 after 0.3 sec | loss 2.520065e+06
completed iter 3/100 after 0.6 sec | loss 1.367394e+06
completed iter 50/100 after 9.4 sec | loss 1.634750e+02
completed iter 100/100 after 20.2 sec | loss 1.598624e+02"""
FROM_ZERO_PARAMS = """Layer 0
 w | size (2, 1) | [ 4.20137256 -4.2023501 ]
 b | size (1,) | [0.08325989]"""


@pytest.mark.parametrize(
    ("start", "lines", "final"),
    [("true", FROM_TRUE_LINES, FROM_TRUE_PARAMS), ("zero", FROM_ZERO_LINES, FROM_ZERO_PARAMS)],
)
def test_zero_layer_network_descent_matches_notebook(capsys, start, lines, final):
    x_ND, y_N = linear_toy_data()
    init = make_nn_params_as_list_of_dicts(
        n_hiddens_per_layer_list=[], n_dims_input=2, n_dims_output=1
    )
    if start == "true":
        init[0]["w"][:] = np.array([4.2, -4.2])[:, np.newaxis]
        init[0]["b"][:] = 0.1
    init_copy = [{k: v.copy() for k, v in layer.items()} for layer in init]
    loss = nn_loss_for(x_ND, y_N)
    opt_params, history = run_many_iters_of_gradient_descent_with_list_of_dict(
        loss, autograd.grad(loss), init, n_iters=100, step_size=0.000001
    )
    printed = capsys.readouterr().out
    assert squash(mask_times(printed)) == squash(mask_times(lines))
    assert all(
        re.fullmatch(r"completed iter +\d+/100 after +\d+\.\d sec \| loss \S+", line)
        for line in printed.splitlines()
    )
    pretty_print_nn_param_list(opt_params)
    assert squash(capsys.readouterr().out) == squash(final)
    assert sorted(history) == ["f", "g", "iter", "x"]
    assert history["iter"] == list(range(100))
    assert len(history["x"]) == len(history["g"]) == len(history["f"]) == 100
    for layer, layer0 in zip(
        init, init_copy, strict=True
    ):  # the starting parameters are never changed
        for key in layer:
            np.testing.assert_array_equal(layer[key], layer0[key])
    for key in ("w", "b"):
        np.testing.assert_array_equal(history["x"][0][0][key], init_copy[0][key])
        np.testing.assert_array_equal(history["x"][-1][0][key], opt_params[0][key])
        np.testing.assert_allclose(
            history["g"][-1][0][key], autograd.grad(loss)(opt_params)[0][key], rtol=1e-12
        )
    assert float(history["f"][-1]) == pytest.approx(float(loss(opt_params)), rel=1e-12)


def test_list_of_dict_history_matches_the_plain_loop(capsys):
    x_ND, y_N = quadratic_toy_data()
    prng = np.random.RandomState(1)
    init = make_nn_params_as_list_of_dicts(
        [4], 2, 1, weight_fill_func=lambda s: 0.1 * prng.randn(*s)
    )
    loss = nn_loss_for(x_ND, y_N)
    grad = autograd.grad(loss)
    params, history = run_many_iters_of_gradient_descent_with_list_of_dict(
        loss, grad, init, 4, 1e-6
    )
    capsys.readouterr()
    want_x = [{k: v.copy() for k, v in layer.items()} for layer in init]
    for it in range(4):
        if it > 0:
            step = grad(want_x)
            want_x = [
                {k: layer[k] - 1e-6 * gl[k] for k in layer}
                for layer, gl in zip(want_x, step, strict=True)
            ]
        assert float(history["f"][it]) == pytest.approx(float(loss(want_x)), rel=1e-12)
        for got_layer, want_layer in zip(history["x"][it], want_x, strict=True):
            for k in want_layer:
                np.testing.assert_allclose(got_layer[k], want_layer[k], rtol=1e-12)
    for got_layer, want_layer in zip(params, want_x, strict=True):
        for k in want_layer:
            np.testing.assert_allclose(got_layer[k], want_layer[k], rtol=1e-12)


def test_progress_lines_first_three_and_every_50th(capsys):
    f = lambda p: ag_np.sum(ag_np.square(p[0]["w"]))  # noqa: E731
    run_many_iters_of_gradient_descent_with_list_of_dict(
        f, autograd.grad(f), [{"w": np.ones(2)}], n_iters=160, step_size=0.001
    )
    iters = [int(m) for m in re.findall(r"completed iter +(\d+)/160", capsys.readouterr().out)]
    assert iters == [1, 2, 3, 50, 100, 150]


# --- Quadratic data and hidden-layer networks (unseeded in the notebook: shapes and keys only) --


def test_quadratic_data_matches_tinynn_data():
    from tinynn.data import make_linear_data, make_quadratic_data

    x_ND, y_N = quadratic_toy_data()
    got_x, got_y = make_quadratic_data()
    np.testing.assert_array_equal(got_x, x_ND)
    np.testing.assert_array_equal(got_y, y_N)
    x_ND, y_N = linear_toy_data()
    got_x, got_y = make_linear_data()
    np.testing.assert_array_equal(got_x, x_ND)
    np.testing.assert_array_equal(got_y, y_N)
    assert x_ND.shape == (300, 2) and y_N.shape == (300,)


@pytest.mark.parametrize(("n_hidden", "scale"), [(10, 0.1), (30, 0.1), (100, 0.05)])
def test_hidden_layer_runs_have_right_shapes(capsys, n_hidden, scale):
    x_ND, y_N = quadratic_toy_data()
    init = make_nn_params_as_list_of_dicts(
        n_hiddens_per_layer_list=[n_hidden],
        n_dims_input=2,
        n_dims_output=1,
        weight_fill_func=lambda sz_tuple: scale * np.random.randn(*sz_tuple),  # noqa: NPY002
    )
    loss = nn_loss_for(x_ND, y_N)
    opt_params, history = run_many_iters_of_gradient_descent_with_list_of_dict(
        loss, autograd.grad(loss), init, n_iters=5, step_size=0.0000005
    )
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert sorted(history) == ["f", "g", "iter", "x"]
    assert len(history["f"]) == 5
    assert [(p["w"].shape, p["b"].shape) for p in opt_params] == [
        ((2, n_hidden), (n_hidden,)),
        ((n_hidden, 1), (1,)),
    ]
    assert predict_y_given_x_with_NN(x_ND, opt_params).shape == (300,)
    assert float(history["f"][-1]) < float(history["f"][0])


# --- Errors ---------------------------------------------------------------------------------------


def test_predict_errors():
    params = make_nn_params_as_list_of_dicts([], 2)
    with pytest.raises(TypeError, match="pass x, an array of shape"):
        predict_y_given_x_with_NN(nn_param_list=params)
    with pytest.raises(TypeError, match="pass nn_param_list"):
        predict_y_given_x_with_NN(np.ones((3, 2)))


@pytest.mark.parametrize(
    "runner",
    [run_many_iters_of_gradient_descent, run_many_iters_of_gradient_descent_with_list_of_dict],
)
def test_descent_errors(runner):
    f = lambda x: ag_np.sum(x**2)  # noqa: E731
    with pytest.raises(TypeError, match="f must be a function"):
        runner(None, f, np.ones(2))
    with pytest.raises(TypeError, match="g must be a function"):
        runner(f, np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="must be the starting parameters, got None"):
        runner(f, autograd.grad(f))
    with pytest.raises(TypeError, match="n_iters must be an int"):
        runner(f, autograd.grad(f), np.ones(2), n_iters=10.5)
    with pytest.raises(ValueError, match="n_iters must be an int >= 0"):
        runner(f, autograd.grad(f), np.ones(2), n_iters=-1)
    for n_iters in (0, 3):
        with pytest.raises(ValueError, match="step_size must be a positive finite number"):
            runner(f, autograd.grad(f), np.ones(2), n_iters=n_iters, step_size=-0.1)
        with pytest.raises(TypeError, match="step_size must be a positive number"):
            runner(f, autograd.grad(f), np.ones(2), n_iters=n_iters, step_size="big")


@pytest.mark.parametrize(
    ("runner", "init", "f"),
    [
        (
            run_many_iters_of_gradient_descent,
            np.array([1.0, 2.0]),
            lambda x_D: ag_np.sum(x_D**4),
        ),
        (
            run_many_iters_of_gradient_descent_with_list_of_dict,
            [{"w": np.array([1.0, 2.0])}],
            lambda params: ag_np.sum(params[0]["w"] ** 4),
        ),
    ],
)
def test_divergence_stops_and_keeps_last_finite_point(capsys, runner, init, f):
    from tinynn.optim import DivergenceWarning

    with (
        np.errstate(over="ignore", invalid="ignore"),
        pytest.warns(DivergenceWarning, match="diverged at iteration"),
    ):
        params, history = runner(f, autograd.grad(f), init, n_iters=50, step_size=10.0)
    capsys.readouterr()
    assert 1 <= len(history["f"]) < 50
    assert len(history["x" if "x" in history else "x_D"]) == len(history["f"])
    assert np.all(np.isfinite(history["f"]))
    assert np.all(np.isfinite(tinynn_leaves(params)))


def tinynn_leaves(params):
    from tinynn import tree

    return np.concatenate([np.ravel(leaf) for leaf in tree.leaves(params)])


@settings(max_examples=30, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 4), max_size=3),
    n_in=st.integers(1, 3),
    n_out=st.integers(1, 2),
    n_examples=st.integers(1, 4),
)
def test_shapes_for_any_layer_list(hidden, n_in, n_out, n_examples):
    params = make_nn_params_as_list_of_dicts(hidden, n_in, n_out, weight_fill_func=np.ones)
    sizes = [n_in, *hidden, n_out]
    assert [p["w"].shape for p in params] == list(itertools.pairwise(sizes))
    assert [p["b"].shape for p in params] == [(n,) for n in sizes[1:]]
    yhat = predict_y_given_x_with_NN(np.ones((n_examples, n_in)), params)
    assert yhat.shape == tuple(n for n in (n_examples, n_out) if n != 1)  # the notebook's squeeze


def _counting(fn):
    calls = []

    def counted(params):
        calls.append(1)
        return fn(params)

    return counted, calls


def test_autograd_grad_of_f_takes_one_pass_with_the_same_history():
    x_N = np.linspace(-1.0, 1.0, 7)
    y_N = 3.0 * x_N - 0.5

    def loss(params):
        yhat_N = params[0]["w"][0, 0] * x_N + params[0]["b"][0]
        return ag_np.sum(ag_np.square(y_N - yhat_N))

    f, calls = _counting(loss)
    init = make_nn_params_as_list_of_dicts([], 1, 1)
    with contextlib.redirect_stdout(io.StringIO()):
        fast_params, fast = run_many_iters_of_gradient_descent_with_list_of_dict(
            f, autograd.grad(f), init, n_iters=20, step_size=0.01
        )
        one_pass_calls = len(calls)
        calls.clear()
        slow_g = autograd.grad(f)
        slow_params, slow = run_many_iters_of_gradient_descent_with_list_of_dict(
            f, lambda p: slow_g(p), init, n_iters=20, step_size=0.01
        )
    assert one_pass_calls == 20  # one traced pass per point
    assert len(calls) == 40  # f for the history, and f again inside g
    assert fast["f"] == slow["f"]
    for a, b in zip(fast["g"] + fast["x"], slow["g"] + slow["x"], strict=True):
        assert a[0]["w"].tobytes() == b[0]["w"].tobytes()
        assert a[0]["b"].tobytes() == b[0]["b"].tobytes()
    assert fast_params[0]["w"].tobytes() == slow_params[0]["w"].tobytes()


def test_gradient_with_respect_to_another_argument_is_not_taken_for_f():
    def f(a, b=2.0):
        return a * b

    assert compat._is_autograd_grad_of(autograd.grad(f), f)
    assert not compat._is_autograd_grad_of(autograd.grad(f, 1), f)
    assert not compat._is_autograd_grad_of(autograd.grad(lambda a: a * 2.0), f)
    assert not compat._is_autograd_grad_of(lambda a: 2.0, f)
