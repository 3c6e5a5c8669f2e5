"""Tests for tinynn.data: the notebook's toy data bit for bit, standardization, splitting."""

from __future__ import annotations

import json
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from tinynn.data import Standardizer, make_linear_data, make_quadratic_data, train_test_split


def notebook_linear() -> tuple[np.ndarray, np.ndarray]:
    """The notebook's cell, retyped: linear toy data."""
    N, D, sigma = 300, 2, 0.1
    true_w_D = np.asarray([4.2, -4.2])
    true_bias = 0.1
    train_prng = np.random.RandomState(0)
    x_ND = train_prng.uniform(low=-5, high=5, size=(N, D))
    y_N = np.dot(x_ND, true_w_D) + true_bias + sigma * train_prng.randn(N)
    return x_ND, y_N


def notebook_quadratic() -> tuple[np.ndarray, np.ndarray]:
    """The notebook's cell, retyped: quadratic toy data."""
    N, D, sigma = 300, 2, 0.1
    wsq_D = np.asarray([-2.0, 2.0])
    w_D = np.asarray([4.2, -4.2])
    train_prng = np.random.RandomState(0)
    x_ND = train_prng.uniform(low=-5, high=5, size=(N, D))
    y_N = np.dot(np.square(x_ND), wsq_D) + np.dot(x_ND, w_D) + sigma * train_prng.randn(N)
    return x_ND, y_N


# ---------------------------------------------------------------- toy data


@pytest.mark.parametrize(
    ("make", "notebook"),
    [(make_linear_data, notebook_linear), (make_quadratic_data, notebook_quadratic)],
)
def test_defaults_are_bit_identical_to_the_notebook(make: Any, notebook: Any) -> None:
    expected_x, expected_y = notebook()
    for x_ND, y_N in (make(), make(rng=0), make(300, rng=np.random.RandomState(0))):
        assert x_ND.dtype == np.float64
        assert np.array_equal(x_ND, expected_x)
        assert np.array_equal(y_N, expected_y)


def test_notebook_golden_loss_and_gradient_at_zero_weights() -> None:
    x_ND, y_N = make_linear_data()
    sigma = 0.1

    def loss(w_D: Any) -> Any:
        return 0.5 / anp.square(sigma) * anp.sum(anp.square(anp.dot(x_ND, w_D) - y_N))

    np.testing.assert_allclose(0.5 / 0.1**2 * np.sum(y_N**2), 4649826.583041586, rtol=1e-12)
    np.testing.assert_allclose(loss(np.zeros(2)), 4649826.583041586, rtol=1e-12)
    golden_grad = [-1053476.33939486, 1159525.45599207]
    np.testing.assert_allclose(-1 / 0.01 * x_ND.T @ y_N, golden_grad, rtol=1e-12)
    np.testing.assert_allclose(autograd.grad(loss)(np.zeros(2)), golden_grad, rtol=1e-12)


def test_options_change_the_data_as_documented() -> None:
    x_ND, y_N = make_linear_data(50, weights=[1.0, 2.0, 3.0], bias=-1.0, sigma=0.0, rng=3)
    assert x_ND.shape == (50, 3)
    assert np.all(np.abs(x_ND) <= 5)
    np.testing.assert_allclose(y_N, x_ND @ [1.0, 2.0, 3.0] - 1.0)
    xq, yq = make_quadratic_data(40, weights=[1.0], square_weights=[0.5], sigma=0.0, rng=1)
    np.testing.assert_allclose(yq, 0.5 * xq[:, 0] ** 2 + xq[:, 0])
    noisy = make_linear_data(2000, sigma=0.3, rng=0)
    residual = noisy[1] - noisy[0] @ [4.2, -4.2] - 0.1
    assert abs(residual.std() - 0.3) < 0.02


def test_generator_and_none_rng() -> None:
    a = make_linear_data(rng=np.random.default_rng(5))
    b = make_linear_data(rng=np.random.default_rng(5))
    assert np.array_equal(a[0], b[0])
    assert np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], notebook_linear()[0])
    x_ND, y_N = make_quadratic_data(10, rng=None)
    assert x_ND.shape == (10, 2)
    assert y_N.shape == (10,)


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: make_linear_data(0), ValueError, r"n_examples must be an int >= 1, got 0"),
        (lambda: make_linear_data(2.5), TypeError, r"n_examples must be an int, got 2.5"),
        (
            lambda: make_linear_data(weights=[[1.0, 2.0]]),
            ValueError,
            r"weights must have 1 dimensions, got shape \(1, 2\)",
        ),
        (
            lambda: make_linear_data(weights=[]),
            ValueError,
            r"weights must have at least one entry, got shape \(0,\)",
        ),
        (lambda: make_linear_data(weights=[1.0, np.nan]), ValueError, r"weights must be finite"),
        (lambda: make_linear_data(bias="0.1"), TypeError, r"bias must be a real number, got '0.1'"),
        (lambda: make_linear_data(bias=np.inf), ValueError, r"bias must be finite, got inf"),
        (
            lambda: make_linear_data(sigma=-0.1),
            ValueError,
            r"sigma must be a non-negative finite number, got -0.1",
        ),
        (
            lambda: make_quadratic_data(sigma=None),
            TypeError,
            r"sigma must be a non-negative number, got None",
        ),
        (
            lambda: make_quadratic_data(square_weights=[1.0, 2.0, 3.0]),
            ValueError,
            r"square_weights must have 2 entries, got shape \(3,\)",
        ),
        (
            lambda: make_linear_data(rng=-1),
            ValueError,
            r"rng must be an int seed between 0 and 2\*\*32 - 1, got -1",
        ),
        (
            lambda: make_quadratic_data(rng="zero"),
            TypeError,
            r"rng must be an int seed, a numpy.random.RandomState, a numpy.random.Generator "
            r"or None, got 'zero'",
        ),
    ],
)
def test_toy_data_errors(call: Any, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        call()


# ---------------------------------------------------------------- Standardizer


def test_standardizer_fit_both_ways_and_round_trip() -> None:
    x_ND, _ = make_linear_data()
    by_class = Standardizer.fit(x_ND)
    instance = Standardizer()
    returned = instance.fit(x_ND)
    assert returned is instance
    np.testing.assert_array_equal(by_class.mean_, instance.mean_)
    z_ND = by_class.transform(x_ND)
    np.testing.assert_allclose(z_ND.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z_ND.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(by_class.inverse_transform(z_ND), x_ND, rtol=1e-12, atol=1e-12)


def test_standardizer_uses_training_statistics_only() -> None:
    train = np.array([[0.0], [2.0]])
    scaler = Standardizer.fit(train)
    np.testing.assert_allclose(scaler.transform(np.array([[4.0]])), [[3.0]])


def test_standardizer_constant_columns_are_safe() -> None:
    x_ND = np.column_stack([np.arange(5.0), np.zeros(5), np.full(5, 0.1), np.full(5, 1e6)])
    scaler = Standardizer.fit(x_ND)
    np.testing.assert_array_equal(scaler.scale_[1:], [1.0, 1.0, 1.0])
    z_ND = scaler.transform(x_ND)
    assert np.all(np.isfinite(z_ND))
    np.testing.assert_allclose(z_ND[:, 1:], 0.0, atol=1e-9)
    np.testing.assert_allclose(scaler.inverse_transform(z_ND), x_ND)


def test_standardizer_on_targets_and_serialisation() -> None:
    _, y_N = make_quadratic_data()
    scaler = Standardizer.fit(y_N)
    assert scaler.mean_ is not None
    assert scaler.mean_.shape == ()
    state = json.loads(json.dumps(scaler.to_dict()))
    again = Standardizer.from_dict(state)
    np.testing.assert_array_equal(again.transform(y_N), scaler.transform(y_N))
    assert again.transform(y_N).shape == (300,)
    assert repr(again).startswith("Standardizer(mean=")
    assert repr(Standardizer()) == "Standardizer()"
    x_state = Standardizer.fit(make_linear_data()[0]).to_dict()
    assert len(x_state["mean"]) == 2


def test_standardizer_inverse_transform_is_differentiable() -> None:
    scaler = Standardizer.fit(np.array([1.0, 3.0, 5.0]))
    grad = autograd.grad(lambda z: anp.sum(scaler.inverse_transform(z)))(np.zeros(4))
    np.testing.assert_allclose(grad, np.full(4, scaler.scale_))


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (
            lambda: Standardizer().transform(np.zeros((2, 2))),
            ValueError,
            r"this Standardizer is not fitted yet; call Standardizer.fit\(x\) first",
        ),
        (
            lambda: Standardizer().to_dict(),
            ValueError,
            r"this Standardizer is not fitted yet",
        ),
        (
            lambda: Standardizer.fit(np.zeros((5, 2))).transform(np.zeros((5, 3))),
            ValueError,
            r"x must have shape \(N, 2\) to match the data the Standardizer was fitted on, "
            r"got \(5, 3\)",
        ),
        (
            lambda: Standardizer.fit(np.zeros(5)).inverse_transform(np.zeros((5, 1))),
            ValueError,
            r"z must have shape \(N,\) to match the data the Standardizer was fitted on",
        ),
        (lambda: Standardizer.fit(np.zeros((0, 2))), ValueError, r"x must hold at least one"),
        (lambda: Standardizer.fit([1.0, np.nan]), ValueError, r"x must be finite, got nan"),
        (lambda: Standardizer.fit(np.zeros((2, 2, 2))), ValueError, r"x must have 1 or 2 dim"),
        (lambda: Standardizer(mean=[0.0]), ValueError, r"needs both mean and scale, or neither"),
        (
            lambda: Standardizer([0.0, 1.0], [1.0]),
            ValueError,
            r"mean and scale must have the same shape, got \(2,\) and \(1,\)",
        ),
        (lambda: Standardizer([0.0], [0.0]), ValueError, r"scale must be positive, got \[0.\]"),
        (
            lambda: Standardizer.from_dict({"mean": 0.0}),
            ValueError,
            r"state must be a dict with keys 'mean' and 'scale', got a dict with keys \['mean'\]",
        ),
    ],
)
def test_standardizer_errors(call: Any, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        call()


# ---------------------------------------------------------------- train_test_split


def test_train_test_split_partitions_and_keeps_pairs() -> None:
    x_ND, y_N = make_linear_data()
    x_tr, x_te, y_tr, y_te = train_test_split(x_ND, y_N, rng=0)
    assert (len(x_tr), len(x_te), len(y_tr), len(y_te)) == (240, 60, 240, 60)
    rows = {tuple(r) for r in np.vstack([x_tr, x_te])}
    assert rows == {tuple(r) for r in x_ND}
    lookup = {tuple(r): y for r, y in zip(x_ND, y_N, strict=True)}
    assert all(lookup[tuple(r)] == y for r, y in zip(x_te, y_te, strict=True))
    again = train_test_split(x_ND, y_N, rng=0)
    assert np.array_equal(again[1], x_te)
    other = train_test_split(x_ND, y_N, rng=1)
    assert not np.array_equal(other[1], x_te)


def test_train_test_split_fraction_and_shapes() -> None:
    x_N = np.arange(10.0)
    y_NO = np.arange(20.0).reshape(10, 2)
    x_tr, x_te, y_tr, y_te = train_test_split(x_N, y_NO, test_fraction=0.34, rng=2)
    assert x_te.shape == (3,)
    assert x_tr.shape == (7,)
    assert y_tr.shape == (7, 2)
    np.testing.assert_array_equal(y_te[:, 0], 2 * x_te)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        (
            {"y": np.zeros(9)},
            ValueError,
            r"x and y must have the same number of examples, got 10 and 9",
        ),
        (
            {"test_fraction": 1.0},
            ValueError,
            r"test_fraction must be between 0 and 1 \(exclusive\)",
        ),
        ({"test_fraction": 0.0}, ValueError, r"test_fraction must be between 0 and 1"),
        ({"test_fraction": -0.2}, ValueError, r"test_fraction must be a non-negative finite"),
        ({"test_fraction": "20%"}, TypeError, r"test_fraction must be a non-negative number"),
        (
            {"test_fraction": 0.01},
            ValueError,
            r"test_fraction=0.01 of 10 examples leaves an empty training or test set",
        ),
        ({"x": [[1.0], [2.0, 3.0]]}, ValueError, r"x must be a rectangular array of numbers"),
        ({"rng": "seed"}, TypeError, r"rng must be a numpy.random.Generator"),
    ],
)
def test_train_test_split_errors(kwargs: Any, error: type[Exception], pattern: str) -> None:
    args = {"x": np.zeros((10, 2)), "y": np.zeros(10)}
    args.update(kwargs)
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(error, match=pattern):
        train_test_split(x, y, **args)
