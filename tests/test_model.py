"""Tests for tinynn.model: shapes, activations, errors and finite-difference gradients."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from conftest import make, seed_check_grads
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynn.model import ACTIVATIONS, get_activation, predict

BUILTINS = sorted(ACTIVATIONS)


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    ("x_shape", "sizes", "expected"),
    [
        ((5, 2), [2, 3, 1], (5,)),
        ((5, 2), [2, 3, 4], (5, 4)),
        ((5,), [1, 3, 1], (5,)),
        ((5,), [1, 2], (5, 2)),
        ((2,), [2, 3, 1], (1,)),
        ((2,), [2, 3, 3], (1, 3)),
        ((1, 2), [2, 1], (1,)),
        ((1,), [1, 1], (1,)),
        ((0, 2), [2, 3, 1], (0,)),
    ],
)
def test_predict_shapes(x_shape, sizes, expected):
    rng = np.random.default_rng(0)
    yhat = predict(make(sizes, rng), rng.normal(size=x_shape))
    assert yhat.shape == expected


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    d=st.integers(1, 4),
    hidden=st.lists(st.integers(1, 5), max_size=3),
    n_out=st.integers(1, 3),
    activation=st.sampled_from(BUILTINS),
    one_example=st.booleans(),
    flat=st.booleans(),
)
def test_predict_shapes_property(n, d, hidden, n_out, activation, one_example, flat):
    rng = np.random.default_rng(n * 100 + d)
    params = make([d, *hidden, n_out], rng)
    x = rng.normal(size=(d,)) if one_example else rng.normal(size=(n, d))
    if flat and d == 1 and not one_example:
        x = x[:, 0]  # (N,) means N examples of one feature
    rows = 1 if one_example else n
    yhat = predict(params, x, activation=activation)
    assert yhat.shape == ((rows,) if n_out == 1 else (rows, n_out))
    assert np.all(np.isfinite(yhat))


def test_predict_matches_explicit_numpy_and_linear_output():
    rng = np.random.default_rng(1)
    params = make([2, 4, 3, 2], rng)
    x = rng.normal(size=(6, 2))
    h = np.tanh(x @ params[0]["w"] + params[0]["b"])
    h = np.tanh(h @ params[1]["w"] + params[1]["b"])
    expected = h @ params[2]["w"] + params[2]["b"]
    np.testing.assert_allclose(predict(params, x), expected, rtol=1e-14, atol=1e-14)


def test_one_example_equals_row_of_batch():
    rng = np.random.default_rng(2)
    params = make([3, 4, 1], rng)
    x = rng.normal(size=(5, 3))
    np.testing.assert_allclose(predict(params, x[2]), predict(params, x)[2:3], rtol=1e-14)


def test_integer_x_and_tuple_params():
    params = ({"w": np.ones((2, 1)), "b": np.zeros(1)},)
    np.testing.assert_array_equal(predict(params, [[1, 2], [3, 4]]), [3.0, 7.0])


# ---------------------------------------------------------------- activations


def test_activation_values():
    z = np.array([-800.0, -2.0, 0.0, 1.5, 800.0])
    expected = {
        "tanh": np.tanh(z),
        "relu": np.maximum(z, 0),
        "leaky_relu": np.where(z > 0, z, 0.01 * z),
        "elu": np.where(z > 0, z, np.exp(np.minimum(z, 0)) - 1),
        "sigmoid": 1 / (1 + np.exp(-np.clip(z, -700, 700))),
        "softplus": np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0),
        "identity": z,
    }
    assert set(expected) == set(ACTIVATIONS)
    for name, want in expected.items():
        np.testing.assert_allclose(get_activation(name)(z), want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", BUILTINS)
def test_hidden_layer_uses_activation(name):
    params = [{"w": np.array([[1.0, -1.0]]), "b": np.zeros(2)}, {"w": np.eye(2), "b": np.zeros(2)}]
    z = np.array([[-1.5, 1.5], [2.0, -2.0]])
    yhat = predict(params, np.array([-1.5, 2.0]), activation=name)
    np.testing.assert_allclose(yhat, ACTIVATIONS[name](z), rtol=1e-14)


def test_aliases_and_callables():
    assert get_activation("linear") is ACTIVATIONS["identity"]
    custom = get_activation(lambda z: z**2)
    assert custom(3.0) == 9.0
    rng = np.random.default_rng(3)
    params = make([2, 3, 1], rng)
    x = rng.normal(size=(4, 2))
    np.testing.assert_allclose(
        predict(params, x, activation=lambda z: anp.tanh(z)), predict(params, x), rtol=1e-14
    )
    np.testing.assert_allclose(
        predict(params, x, activation=np.tanh), predict(params, x), rtol=1e-14
    )


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match=r"activation must be one of 'tanh', 'relu'.*got 'tan'"):
        get_activation("tan")
    with pytest.raises(ValueError, match="'softplus'"):
        predict([{"w": np.ones((1, 1)), "b": np.zeros(1)}], np.ones(3), activation="gelu")


def test_activation_of_wrong_kind():
    with pytest.raises(TypeError, match=r"activation must be a name such as 'tanh' or a callable"):
        get_activation(3)


# ---------------------------------------------------------------- errors


def test_feature_mismatch_names_both_sizes():
    params = [{"w": np.ones((2, 3)), "b": np.zeros(3)}, {"w": np.ones((3, 1)), "b": np.zeros(1)}]
    with pytest.raises(ValueError, match=r"x has 3 features \(shape \(4, 3\)\).*expects 2"):
        predict(params, np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"x has 5 features \(shape \(5,\)\).*expects 2"):
        predict(params, np.ones(5))


def test_x_with_three_dimensions():
    params = [{"w": np.ones((2, 1)), "b": np.zeros(1)}]
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\).*got shape \(2, 2, 2\)"):
        predict(params, np.ones((2, 2, 2)))


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ([], ValueError, "at least one layer"),
        ({"w": 1}, TypeError, "params must be a list of dicts"),
        ([{"w": np.ones((2, 1))}], ValueError, r"params\[0\] is missing key 'b'"),
        ([{"w": np.ones((2, 1)), "b": np.ones(2)}], ValueError, r"params\[0\]\['b'\] must have"),
        ([{"w": np.ones(2), "b": np.ones(1)}], ValueError, r"params\[0\]\['w'\] must be a 2-D"),
        (
            [{"w": np.ones((2, 3)), "b": np.ones(3)}, {"w": np.ones((2, 1)), "b": np.ones(1)}],
            ValueError,
            r"params\[1\]\['w'\] must have 3 rows",
        ),
    ],
)
def test_bad_params(params, error, match):
    with pytest.raises(error, match=match):
        predict(params, np.ones((3, 2)))


# ---------------------------------------------------------------- finite differences


@pytest.mark.parametrize("activation", BUILTINS)
@pytest.mark.parametrize("n_hidden_layers", [0, 1, 2, 3])
@pytest.mark.parametrize("n_out", [1, 3])
def test_gradients_match_finite_differences(activation, n_hidden_layers, n_out):
    rng = np.random.default_rng(10 * n_hidden_layers + n_out)
    sizes = [2, *[4, 3, 5][:n_hidden_layers], n_out]
    params = make(sizes, rng)
    x = rng.normal(size=(6, 2))
    seed_check_grads(0)
    check_grads(lambda p: predict(p, x, activation=activation), modes=["rev"], order=2)(params)
    check_grads(lambda xx: predict(params, xx, activation=activation), modes=["rev"], order=1)(x)


def test_gradients_for_callable_activation_and_one_dimensional_x():
    rng = np.random.default_rng(4)
    params = make([1, 3, 1], rng)
    x = rng.normal(size=7)
    seed_check_grads(1)
    check_grads(lambda p, xx: predict(p, xx, activation=anp.sin), (0, 1), ["rev"], order=1)(
        params, x
    )
    check_grads(lambda xx: predict(params, xx), modes=["rev"], order=2)(x)


def test_invalid_params_that_check_params_lets_through(monkeypatch):
    import tinynn.model

    monkeypatch.setattr(tinynn.model, "check_params", lambda *args, **kwargs: None)
    with pytest.raises(ValueError, match="params is not a valid network, got a list of length 0"):
        predict([], np.ones((2, 1)))


def test_non_numeric_and_ragged_x():
    params = [{"w": np.ones((2, 1)), "b": np.zeros(1)}]
    with pytest.raises(TypeError, match="x must hold real numbers, got dtype <U1"):
        predict(params, np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="x must be a rectangular array of numbers"):
        predict(params, [[1.0, 2.0], [3.0]])
