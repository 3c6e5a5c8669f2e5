"""Tests for tinynn.params: building, initializers, validation, prior draws and the printer."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from notebook_outputs import PRETTY_PRINTED

from tinynn import params as P
from tinynn.params import (
    check_params,
    format_params,
    layer_sizes,
    make_params,
    print_params,
    sample_prior,
)


def collapse(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- golden: the notebook's printer

GOLDEN_0_HIDDEN_1D = PRETTY_PRINTED["zeros_1_to_1"]
GOLDEN_0_HIDDEN_2D = PRETTY_PRINTED["zeros_2_to_1"]
GOLDEN_1_HIDDEN_ZEROS = PRETTY_PRINTED["hidden3_zeros"]
GOLDEN_1_HIDDEN_ONES = PRETTY_PRINTED["hidden3_ones"]
GOLDEN_7_HIDDEN = PRETTY_PRINTED["seven_hidden"]


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((1, []), {"weight_init": np.zeros, "bias_init": np.zeros}, GOLDEN_0_HIDDEN_1D),
        ((2, []), {"weight_init": np.zeros, "bias_init": np.zeros}, GOLDEN_0_HIDDEN_2D),
        ((2, [3]), {"weight_init": "zeros"}, GOLDEN_1_HIDDEN_ZEROS),
        ((2, [3]), {"weight_init": np.ones, "bias_init": np.zeros}, GOLDEN_1_HIDDEN_ONES),
        ((2, [3, 4, 5, 6, 5, 4, 3]), {"weight_init": 0}, GOLDEN_7_HIDDEN),
    ],
)
def test_format_params_reproduces_the_notebook(args: Any, kwargs: Any, expected: str) -> None:
    assert collapse(format_params(make_params(*args, **kwargs))) == collapse(expected)


def test_format_params_keeps_line_wrapping_and_shape_width() -> None:
    text = format_params(make_params(5, [6], weight_init="zeros"))
    lines = text.splitlines()
    assert lines[1] == "  w | size    (5, 6) | " + "[" + "0. " * 23 + "0."
    assert lines[2] == " " + " ".join(["0."] * 6) + "]"
    assert lines[3] == "  b | size      (6,) | [0. 0. 0. 0. 0. 0.]"


def test_format_params_matches_the_notebook_trained_values() -> None:
    trained = [{"w": np.array([[4.20137427], [-4.2023327]]), "b": np.array([0.08737985])}]
    expected = (
        "Layer 0\n w | size (2, 1) | [ 4.20137427 -4.2023327 ]\n b | size (1,) | [0.08737985]"
    )
    assert collapse(format_params(trained)) == collapse(expected)
    random_w = np.array([-1.89696697, 0.10497134, -0.11371797, 1.09290398, 0.28420754, 1.60185133])
    text = format_params([{"w": random_w.reshape(2, 3), "b": np.zeros(3)}])
    assert collapse(text).startswith(
        "Layer 0 w | size (2, 3) | [-1.89696697 0.10497134 -0.11371797 1.09290398 "
        "0.28420754 1.60185133] b | size (3,) | [0. 0. 0.]"
    )


def test_format_params_prints_nonfinite_values() -> None:
    text = format_params([{"w": np.array([[np.nan]]), "b": np.array([np.inf])}])
    assert "[nan]" in text
    assert "[inf]" in text


def test_print_params_writes_format_params(capsys: pytest.CaptureFixture[str]) -> None:
    params = make_params(2, [3], rng=0)
    buffer = io.StringIO()
    print_params(params, file=buffer)
    assert buffer.getvalue() == format_params(params) + "\n"
    print_params(params)
    assert capsys.readouterr().out == format_params(params) + "\n"


def test_format_params_rejects_non_list() -> None:
    with pytest.raises(TypeError, match=r"params must be a list of dicts with keys 'w' and 'b'"):
        format_params({"w": np.zeros((1, 1)), "b": np.zeros(1)})


# ---------------------------------------------------------------- make_params and initializers


@pytest.mark.parametrize("name", sorted(P.INITIALIZERS))
def test_every_named_initializer_gives_float64_layers(name: str) -> None:
    params = make_params(3, [4, 5], 2, weight_init=name, bias_init=name, rng=0)
    assert layer_sizes(params) == [3, 4, 5, 2]
    for layer in params:
        assert list(layer) == ["w", "b"]
        assert layer["w"].dtype == np.float64
        assert layer["b"].dtype == np.float64
        assert np.all(np.isfinite(layer["w"]))
    if name in ("zeros", "ones"):
        assert np.all(params[1]["w"] == (name == "ones"))


def test_defaults_are_glorot_weights_and_zero_biases() -> None:
    params = make_params(2, [30], rng=0)
    assert np.all(params[0]["b"] == 0.0)
    assert np.std(params[0]["w"]) > 0.0
    again = make_params(2, [30], weight_init=P.glorot_normal(), rng=0)
    np.testing.assert_array_equal(params[0]["w"], again[0]["w"])


def test_hidden_sizes_empty_is_linear_regression() -> None:
    params = make_params(2, [], rng=0)
    assert len(params) == 1
    assert params[0]["w"].shape == (2, 1)
    assert params[0]["b"].shape == (1,)


def test_integer_fills_become_float64() -> None:
    for init in (1, np.int64(2), P.constant(3), lambda shape: np.ones(shape, dtype=int)):
        params = make_params(2, [3], weight_init=init, bias_init=init)
        assert params[0]["w"].dtype == np.float64
        assert params[0]["b"].dtype == np.float64
    assert np.all(make_params(2, [], weight_init=2.5)[0]["w"] == 2.5)


def test_notebook_callable_receives_the_shape_tuple() -> None:
    seen = []

    def fill(shape: tuple[int, ...]) -> np.ndarray:
        seen.append(shape)
        return 0.1 * np.arange(np.prod(shape)).reshape(shape)

    params = make_params(2, [3], weight_init=fill, bias_init=np.zeros)
    assert seen == [(2, 3), (3, 1)]
    np.testing.assert_allclose(params[0]["w"], 0.1 * np.arange(6.0).reshape(2, 3))


def test_callable_returning_a_shared_array_is_copied() -> None:
    shared = np.zeros(3)
    params = make_params(3, [3], 3, weight_init=np.zeros, bias_init=lambda shape: shared)
    params[0]["b"][0] = 1.0
    assert params[1]["b"][0] == 0.0
    assert shared[0] == 0.0


LARGE = (400, 600)


@pytest.mark.parametrize(
    ("init", "std", "bound"),
    [
        (P.glorot_normal(), np.sqrt(2.0 / 1000), None),
        (P.xavier_normal(), np.sqrt(2.0 / 1000), None),
        (P.glorot_uniform(), np.sqrt(2.0 / 1000), np.sqrt(6.0 / 1000)),
        (P.xavier_uniform(), np.sqrt(2.0 / 1000), np.sqrt(6.0 / 1000)),
        (P.he_normal(), np.sqrt(2.0 / 400), None),
        (P.he_uniform(), np.sqrt(2.0 / 400), np.sqrt(6.0 / 400)),
        (P.normal(std=0.3), 0.3, None),
        (P.uniform(-2.0, 2.0), 2.0 / np.sqrt(3.0), 2.0),
    ],
)
def test_initializer_statistics(init: P.Initializer, std: float, bound: float | None) -> None:
    w = init(LARGE, np.random.default_rng(42))
    assert w.shape == LARGE
    assert w.dtype == np.float64
    assert abs(w.std() / std - 1.0) < 0.01  # 240000 draws: relative error of the std ~ 0.15%
    assert abs(w.mean()) < 0.01 * std
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound


def test_uniform_range_and_bias_fans() -> None:
    draws = P.uniform(1.0, 3.0)((10000,), 0)
    assert draws.min() >= 1.0
    assert draws.max() < 3.0
    bias = P.glorot_normal()((100000,), 0)
    assert abs(bias.std() / np.sqrt(2.0 / 200000) - 1.0) < 0.01


def test_initializer_reprs() -> None:
    assert repr(P.glorot_normal()) == "glorot_normal()"
    assert repr(P.normal(0.1)) == "normal(std=0.1)"
    assert repr(P.constant(2)) == "constant(value=2.0)"


def test_custom_initializer_subclass_gets_the_rng() -> None:
    class Tiny(P.Initializer):
        name = "tiny"

        def draw(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
            return 1e-3 * rng.standard_normal(shape)

    first = make_params(2, [3], weight_init=Tiny(), rng=7)
    again = make_params(2, [3], weight_init=Tiny(), rng=np.random.default_rng(7))
    np.testing.assert_array_equal(first[0]["w"], again[0]["w"])
    assert np.abs(first[0]["w"]).max() < 1e-2


def test_rng_seed_generator_and_none() -> None:
    a = make_params(2, [5], weight_init="normal", bias_init="uniform", rng=3)
    b = make_params(2, [5], weight_init="normal", bias_init="uniform", rng=3)
    c = make_params(2, [5], weight_init="normal", bias_init="uniform", rng=4)
    for key in ("w", "b"):
        np.testing.assert_array_equal(a[0][key], b[0][key])
    assert not np.array_equal(a[0]["w"], c[0]["w"])
    gen = np.random.default_rng(0)
    first = make_params(2, [5], rng=gen)
    second = make_params(2, [5], rng=gen)  # the generator moved on
    assert not np.array_equal(first[0]["w"], second[0]["w"])
    fresh = make_params(2, [5], rng=None)
    assert fresh[0]["w"].shape == (2, 5)


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: make_params(0, [3]), ValueError, r"n_inputs must be an int >= 1, got 0"),
        (
            lambda: make_params(2, [3, -1]),
            ValueError,
            r"hidden_sizes\[1\] must be an int >= 1, got -1",
        ),
        (lambda: make_params(2, [3], 0), ValueError, r"n_outputs must be an int >= 1, got 0"),
        (lambda: make_params(2.0, [3]), TypeError, r"n_inputs must be an int, got 2.0"),
        (lambda: make_params(2, [2.5]), TypeError, r"hidden_sizes\[0\] must be an int, got 2.5"),
        (
            lambda: make_params(2, 5),
            TypeError,
            r"hidden_sizes must be a list of ints, got the int 5; pass \[5\]",
        ),
        (lambda: make_params(2, "30"), TypeError, r"hidden_sizes must be a list of ints, got '30'"),
        (
            lambda: make_params(2, [3], weight_init="glorot"),
            ValueError,
            r"weight_init must be one of 'zeros', .*got 'glorot'",
        ),
        (
            lambda: make_params(2, [3], bias_init=None),
            TypeError,
            r"bias_init must be an initializer name .* got None",
        ),
        (
            lambda: make_params(2, [3], bias_init=True),
            TypeError,
            r"bias_init must be an initializer name .* got True",
        ),
        (
            lambda: make_params(2, [3], weight_init=float("nan")),
            ValueError,
            r"weight_init must be finite, got nan",
        ),
        (
            lambda: make_params(2, [3], weight_init=lambda s: np.zeros(s[::-1])),
            ValueError,
            r"weight_init must return an array of shape \(2, 3\) for params\[0\]\['w'\], "
            r"got shape \(3, 2\)",
        ),
        (
            lambda: make_params(2, [3], bias_init=lambda s: np.full(s, "a")),
            TypeError,
            r"bias_init output for params\[0\]\['b'\] must hold real numbers",
        ),
        (
            lambda: make_params(2, [3], bias_init=lambda s: np.full(s, np.nan)),
            ValueError,
            r"bias_init output for params\[0\]\['b'\] must be finite",
        ),
        (
            lambda: make_params(2, [3], rng="seed"),
            TypeError,
            r"rng must be a numpy.random.Generator",
        ),
        (
            lambda: make_params(2, [3], rng=-1),
            ValueError,
            r"rng must be a non-negative int seed, got -1",
        ),
        (lambda: P.normal(std=0.0), ValueError, r"std must be a positive finite number, got 0.0"),
        (lambda: P.normal(std="1"), TypeError, r"std must be a positive number, got '1'"),
        (
            lambda: P.uniform(1.0, 0.0),
            ValueError,
            r"uniform needs low < high, got low=1.0, high=0.0",
        ),
        (lambda: P.uniform("a", 1.0), TypeError, r"low must be a real number, got 'a'"),
        (lambda: P.uniform(0.0, np.inf), ValueError, r"high must be finite, got inf"),
        (lambda: P.constant(None), TypeError, r"value must be a real number, got None"),
    ],
)
def test_make_params_errors(call: Any, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        call()


def test_base_initializer_needs_draw() -> None:
    with pytest.raises(NotImplementedError):
        P.Initializer()((2,), 0)


# ---------------------------------------------------------------- check_params and layer_sizes


def good() -> list[dict[str, Any]]:
    return make_params(2, [3], rng=0)


def test_check_params_accepts_valid_and_layer_sizes() -> None:
    check_params(good())
    check_params(tuple(good()))
    check_params([{"w": [[1, 2]], "b": [0, 0]}])  # lists and ints are fine
    assert layer_sizes(good()) == [2, 3, 1]
    assert layer_sizes(make_params(4, [], 3)) == [4, 3]


def broken(change: Any) -> Any:
    params = good()
    change(params)
    return params


@pytest.mark.parametrize(
    ("params", "error", "pattern"),
    [
        (
            {"w": 1},
            TypeError,
            r"params must be a list of dicts with keys 'w' and 'b' \(one per layer\), got a dict",
        ),
        ([], ValueError, r"params must hold at least one layer, got an empty list"),
        (
            broken(lambda p: p.__setitem__(1, [1, 2])),
            TypeError,
            r"params\[1\] must be a dict with keys 'w' and 'b', got a list",
        ),
        (broken(lambda p: p[1].pop("b")), ValueError, r"params\[1\] is missing key 'b'"),
        (broken(lambda p: p[0].pop("w")), ValueError, r"params\[0\] is missing key 'w'"),
        (
            broken(lambda p: p[0].__setitem__("W", 1.0)),
            ValueError,
            r"params\[0\] has unexpected keys \['W'\]",
        ),
        (
            broken(lambda p: p[0].__setitem__("w", np.zeros(3))),
            ValueError,
            r"params\[0\]\['w'\] must be a 2-D array of shape \(n_in, n_out\), got shape \(3,\)",
        ),
        (
            broken(lambda p: p[1].__setitem__("b", np.zeros((1, 1)))),
            ValueError,
            r"params\[1\]\['b'\] must have shape \(1,\) to match params\[1\]\['w'\] of "
            r"shape \(3, 1\), got shape \(1, 1\)",
        ),
        (
            broken(lambda p: p[1].__setitem__("w", np.zeros((4, 1)))),
            ValueError,
            r"params\[1\]\['w'\] must have 3 rows to follow params\[0\] with 3 outputs, "
            r"got shape \(4, 1\)",
        ),
        (
            broken(lambda p: p[0]["w"].__setitem__((1, 2), np.nan)),
            ValueError,
            r"params\[0\]\['w'\] must be finite, got nan at index \(1, 2\)",
        ),
        (
            broken(lambda p: p[0].__setitem__("b", ["a", "b", "c"])),
            TypeError,
            r"params\[0\]\['b'\] must hold real numbers",
        ),
        (
            broken(lambda p: p[0].__setitem__("b", [[1.0], [1.0, 2.0]])),
            ValueError,
            r"params\[0\]\['b'\] must be a rectangular array of numbers",
        ),
    ],
)
def test_check_params_errors_name_layer_and_key(
    params: Any, error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        check_params(params)


def test_check_params_custom_name_and_nonfinite_option() -> None:
    params = good()
    params[1]["b"][0] = np.inf
    with pytest.raises(ValueError, match=r"init\[1\]\['b'\] must be finite"):
        check_params(params, "init")
    check_params(params, allow_nonfinite=True)
    assert layer_sizes(params) == [2, 3, 1]


def test_layer_sizes_validates() -> None:
    with pytest.raises(ValueError, match=r"params\[0\] is missing key 'b'"):
        layer_sizes([{"w": np.zeros((2, 1))}])


# ---------------------------------------------------------------- prior sampling


def test_sample_prior_shapes_scale_and_seed() -> None:
    template = make_params(50, [200], 4, rng=0)
    before = format_params(template)
    draw = sample_prior(template, prior_std=0.5, rng=1)
    again = sample_prior(template, prior_std=0.5, rng=np.random.default_rng(1))
    assert format_params(template) == before  # the template is untouched
    assert layer_sizes(draw) == [50, 200, 4]
    values = np.concatenate([draw[0]["w"].ravel(), draw[1]["w"].ravel()])
    assert abs(values.std() - 0.5) < 0.01
    np.testing.assert_array_equal(draw[1]["b"], again[1]["b"])
    assert not np.array_equal(draw[0]["w"], sample_prior(template, prior_std=0.5, rng=2)[0]["w"])


def test_sample_prior_rejects_bad_std() -> None:
    with pytest.raises(ValueError, match=r"prior_std must be a positive finite number, got -2.0"):
        sample_prior(good(), prior_std=-2.0)
    with pytest.raises(TypeError, match=r"prior_std must be a positive number, got None"):
        sample_prior(good(), prior_std=None)  # type: ignore[arg-type]
