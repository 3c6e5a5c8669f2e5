"""Tests for tinynn.gradcheck: it passes right gradients and catches wrong ones, naming the spot."""

from __future__ import annotations

from typing import Any

import autograd.numpy as anp
import numpy as np
import pytest
from autograd.extend import defvjp, primitive

from tinynn.gradcheck import GradCheckReport, check_grad


@primitive
def wrong_square(x: Any) -> Any:
    """x**2 with a deliberately wrong gradient (3x instead of 2x)."""
    return x**2


defvjp(wrong_square, lambda ans, x: lambda g: g * 3.0 * x)


@primitive
def slightly_wrong_exp(x: Any) -> Any:
    """exp(x) whose gradient is 0.1% too large."""
    return np.exp(x)


defvjp(slightly_wrong_exp, lambda ans, x: lambda g: g * 1.001 * ans)


@primitive
def nan_gradient(x: Any) -> Any:
    """The identity with a NaN gradient."""
    return x


defvjp(nan_gradient, lambda ans, x: lambda g: g * np.nan)


def network_params() -> list[dict[str, np.ndarray]]:
    return [
        {"w": np.array([[0.3, -0.7, 0.2], [1.1, 0.4, -0.5]]), "b": np.array([0.1, -0.2, 0.05])},
        {"w": np.array([[0.1], [-3.0], [0.5]]), "b": np.array([0.25])},
    ]


def network_loss(params: Any) -> Any:
    x_ND = np.array([[0.5, -1.0], [1.5, 2.0], [-0.3, 0.8], [2.0, -2.0]])
    y_N = np.array([0.2, -0.4, 1.0, 0.0])
    h = anp.tanh(anp.dot(x_ND, params[0]["w"]) + params[0]["b"])
    yhat_N = anp.dot(h, params[1]["w"])[:, 0] + params[1]["b"][0]
    return 0.5 / 0.1**2 * anp.sum((y_N - yhat_N) ** 2)


# ---------------------------------------------------------------- passing checks


def test_passes_on_a_network_loss_and_reports() -> None:
    params = network_params()
    before = [layer["w"].copy() for layer in params]
    report = check_grad(network_loss, params)
    assert isinstance(report, GradCheckReport)
    assert report
    assert report.ok
    assert report.n_checked == 13
    assert report.abs_error <= report.atol + report.rtol * abs(report.numeric_value)
    assert str(report).startswith("gradient check passed (13 entries, eps=1e-06")
    for layer, w in zip(params, before, strict=True):
        np.testing.assert_array_equal(layer["w"], w)


@pytest.mark.parametrize(
    ("fn", "point"),
    [
        (lambda x: anp.sum(anp.sin(x) * x), np.linspace(-2, 2, 7)),
        (lambda p: p["a"] ** 3 + anp.sum(anp.exp(p["b"])), {"a": 1.5, "b": np.array([0.1, -1])}),
        (lambda t: t[0] * anp.sum(t[1] ** 2), (2.0, np.arange(3))),  # integer leaf is fine
        (lambda x: anp.sum(anp.log1p(x**2)), np.array([[3.0, -0.5], [0.0, 1e-3]])),
    ],
)
def test_passes_on_correct_functions_of_any_tree(fn: Any, point: Any) -> None:
    assert check_grad(fn, point)


def test_max_entries_checks_a_seeded_subset() -> None:
    report = check_grad(network_loss, network_params(), max_entries=5, rng=0)
    assert report.n_checked == 5
    assert check_grad(network_loss, network_params(), max_entries=100).n_checked == 13


# ---------------------------------------------------------------- failing checks


def loss_with_wrong_primitive(params: Any) -> Any:
    return anp.sum(params[0]["w"] ** 2) + anp.sum(wrong_square(params[1]["w"]))


def test_fails_on_wrong_gradient_naming_leaf_and_index() -> None:
    with pytest.raises(
        AssertionError,
        match=r"gradient check FAILED \(13 entries.*worst entry params\[1\]\['w'\]\[1, 0\]: "
        r"autograd -9, finite differences -(6|5\.99)",
    ):
        check_grad(loss_with_wrong_primitive, network_params())


def test_report_without_raising() -> None:
    report = check_grad(loss_with_wrong_primitive, network_params(), raise_on_failure=False)
    assert not report
    assert report.path == "params[1]['w']"
    assert report.index == (1, 0)
    assert report.autograd_value == pytest.approx(-9.0)
    assert report.numeric_value == pytest.approx(-6.0, rel=1e-6)
    assert report.abs_error == pytest.approx(3.0, rel=1e-6)
    assert report.rel_error == pytest.approx(1 / 3, rel=1e-6)


def test_catches_a_small_relative_error_and_honours_rtol() -> None:
    fn = lambda p: anp.sum(slightly_wrong_exp(p["w"]))  # noqa: E731
    point = {"w": np.array([0.5, 1.0])}
    with pytest.raises(AssertionError, match=r"worst entry params\['w'\]\[1\]"):
        check_grad(fn, point)
    assert check_grad(fn, point, rtol=1e-2)


def test_nan_gradient_fails_and_scalar_leaf_report() -> None:
    report = check_grad(nan_gradient, 0.0, raise_on_failure=False)
    assert not report
    assert report.path == "params"
    assert report.index == ()
    assert "worst entry params: autograd nan" in str(report)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "pattern"),
    [
        (
            ("loss", np.zeros(2)),
            {},
            TypeError,
            r"fn must be a callable returning a scalar, got 'loss'",
        ),
        (
            (lambda x: x * 2, np.zeros(3)),
            {},
            ValueError,
            r"fn must return a real scalar, got an array of shape \(3,\)",
        ),
        (
            (anp.sum, []),
            {},
            ValueError,
            r"params must hold at least one number to check, got an empty tree",
        ),
        (
            (anp.sum, np.array([1.0, np.nan])),
            {},
            ValueError,
            r"params must be finite to check gradients",
        ),
        (
            (anp.sum, np.zeros(2)),
            {"eps": 0.0},
            ValueError,
            r"eps must be a positive finite number, got 0.0",
        ),
        (
            (anp.sum, np.zeros(2)),
            {"rtol": -1.0},
            ValueError,
            r"rtol must be a non-negative finite number, got -1.0",
        ),
        (
            (anp.sum, np.zeros(2)),
            {"atol": "tiny"},
            TypeError,
            r"atol must be a non-negative number, got 'tiny'",
        ),
        (
            (anp.sum, np.zeros(2)),
            {"max_entries": 0},
            ValueError,
            r"max_entries must be an int >= 1, got 0",
        ),
        ((anp.sum, {"w": "abc"}), {}, TypeError, r"flatten needs numeric leaves, but tree\['w'\]"),
    ],
)
def test_bad_input(args: Any, kwargs: Any, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        check_grad(*args, **kwargs)


def test_worst_entry_is_located_past_empty_and_scalar_leaves() -> None:
    point = {"empty": np.zeros((0, 3)), "s": 0.5, "v": np.array([1.0, -2.0])}
    report = check_grad(
        lambda p: p["s"] ** 2 + anp.sum(wrong_square(p["v"])), point, raise_on_failure=False
    )
    assert (report.path, report.index) == ("params['v']", (1,))
