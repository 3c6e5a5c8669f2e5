"""Extreme magnitudes and malformed templates get a clear answer, not a bare exception.

Each case was reported in the reliability issue: a std whose square underflows float64, a global
norm whose squares overflow, a prior drawn from a template that is not a tree of arrays, a
Python number that came back from a file with the wrong shape, a schedule that returns a
negative step, a NaN validation loss, and an activation that changes the shape.
"""

from __future__ import annotations

import math
import re
import warnings

import autograd.numpy as anp
import numpy as np
import pytest

from tinynn import io, optim, params, tree
from tinynn.losses import gaussian_nll, log_prior, make_objective
from tinynn.model import predict

NET = [{"w": np.ones((1, 1)), "b": np.ones(1)}]


def test_make_objective_refuses_a_sigma_or_prior_std_whose_square_underflows() -> None:
    """The objective keeps 1 / sigma**2 and 1 / prior_std**2, which overflow below 1.49e-154."""
    with pytest.raises(ValueError, match=r"sigma must be at least 1.49e-154, got 1e-300"):
        make_objective(np.zeros((3, 1)), np.zeros(3), sigma=1e-300)
    with pytest.raises(ValueError, match=r"prior_std must be at least 1.49e-154, got 1e-300"):
        make_objective(np.zeros((3, 1)), np.zeros(3), sigma=1.0, prior_std=1e-300)
    assert np.isfinite(make_objective(np.zeros((3, 1)), np.zeros(3), sigma=1e-150)(NET))


@pytest.mark.parametrize("scale", [1e-300, 1e-160, 1e300])
def test_nll_and_prior_with_any_positive_std_equal_the_unscaled_ones(scale: float) -> None:
    """gaussian_nll and log_prior divide before squaring: values, gradients and std rescale."""
    import autograd

    y, yhat = np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0])
    nll = gaussian_nll(y * scale, yhat * scale, sigma=0.5 * scale)
    assert nll - 3 * math.log(scale) == pytest.approx(gaussian_nll(y, yhat, sigma=0.5), rel=1e-13)
    d_sigma = autograd.grad(lambda s: gaussian_nll(y * scale, yhat * scale, sigma=s))(0.5 * scale)
    assert d_sigma * scale == pytest.approx(-4.0, rel=1e-12)  # d/d sigma at sigma = 0.5
    per_element = gaussian_nll(y * scale, yhat * scale, sigma=np.full(3, 0.5 * scale))
    assert per_element == pytest.approx(nll, rel=1e-13)
    net = [{"w": y * scale}]
    prior = log_prior(net, prior_std=scale) + 3 * math.log(scale)
    assert prior == pytest.approx(log_prior([{"w": y}], prior_std=1.0), rel=1e-13)
    grad = autograd.grad(lambda p: log_prior(p, prior_std=scale))(net)[0]["w"]
    np.testing.assert_allclose(grad * scale, -y, rtol=1e-13)


def test_huge_sigma_gives_the_finite_nll() -> None:
    value = gaussian_nll(np.zeros(3), np.ones(3), sigma=1e300)
    assert value == pytest.approx(3 * (0.5 * math.log(2 * math.pi) + math.log(1e300)), rel=1e-12)


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1.0])
def test_global_norm_survives_overflow_and_underflow_of_the_squares(scale: float) -> None:
    leaves = [{"w": np.full((2, 2), 3.0 * scale), "b": np.full(2, 4.0 * scale)}]
    expected = scale * math.sqrt(4 * 9.0 + 2 * 16.0)
    assert float(tree.global_norm(leaves)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("template", [None, "abc", [{"w": None, "b": np.zeros(1)}]])
def test_sample_prior_needs_a_tree_of_arrays(template) -> None:
    with pytest.raises(TypeError, match="template must be a tree of numeric arrays"):
        params.sample_prior(template)
    with pytest.raises(TypeError, match="flatten needs numeric leaves"):
        tree.normal_like(template, rng=0)


@pytest.mark.parametrize("value", [1.5, np.float64(-2.0), np.array(3.0), 7])
def test_a_number_saved_loads_back_as_a_0d_array(tmp_path, value) -> None:
    back = io.load(io.save(tmp_path / "n.npz", value))
    assert back.shape == () and float(back) == float(value)
    nested = io.load(io.save(tmp_path / "t.npz", {"a": value, "b": [np.zeros(2)]}))
    assert nested["a"].shape == () and nested["b"][0].shape == (2,)


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
@pytest.mark.parametrize(
    "make", [optim.gradient_descent, optim.momentum, optim.adam, optim.rmsprop]
)
def test_a_schedule_that_returns_a_bad_step_is_refused(make, bad: float) -> None:
    schedule = lambda count: 0.1 if count < 2 else bad  # noqa: E731
    with pytest.raises(ValueError, match=r"the step-size schedule returned .* at update 2"):
        optim.minimize(lambda p: anp.sum(p**2), np.ones(2), optimizer=make(schedule), n_iters=6)


def test_a_nan_validation_loss_stops_training_as_diverged() -> None:
    def validation(p: np.ndarray) -> float:
        return math.nan if p[0] < 0.5 else float(p[0])

    with pytest.warns(optim.DivergenceWarning, match="validation_fn returned nan"):
        result = optim.minimize(
            lambda p: anp.sum(p**2), np.ones(2), optimizer=optim.adam(0.1), n_iters=50,
            validation_fn=validation,
        )  # fmt: skip
    assert result.reason == "diverged"
    assert result.params[0] >= 0.5  # the parameters of the best finite validation loss
    with pytest.raises(optim.DivergenceError):
        optim.minimize(
            lambda p: anp.sum(p**2), np.ones(2), optimizer=optim.adam(0.1), n_iters=50,
            validation_fn=validation, on_nonfinite="raise",
        )  # fmt: skip


@pytest.mark.parametrize(
    "activation",
    [
        lambda z: anp.sum(z, axis=-1, keepdims=True),  # a reduction
        lambda z: anp.tanh(z)[..., None] * anp.ones(2),  # a broadcast to a new axis
    ],
    ids=["reduction", "broadcast"],
)
def test_an_activation_that_changes_the_shape_is_refused(activation) -> None:
    net = params.make_params(2, [3], rng=0)
    with pytest.raises(ValueError, match=r"the activation must return an array of its input's"):
        predict(net, np.zeros((4, 2)), activation=activation)


@pytest.mark.parametrize("name", ["gradient_descent", "momentum", "nesterov"])
def test_plain_gradient_steps_are_refused_by_name_with_the_way_out(name: str) -> None:
    """By name they reached R^2 0.45-0.98 on the toy data where Adam reaches 1.0."""
    from tinynn import Regressor
    from tinynn.data import make_quadratic_data

    x, y = make_quadratic_data(50, rng=0)
    with pytest.raises(ValueError, match=rf"optimizer='{name}' is not offered by name.*"
                       rf"tinynn.optim.{name}\(step\)"):  # fmt: skip
        Regressor(optimizer=name).fit(x, y)
    step = getattr(optim, name)(1e-4)
    model = Regressor(
        (5,), optimizer=step, uncertainty=None, max_iter=20, tol=None, random_state=0
    ).fit(x, y)
    assert model.optimizer_reason_ == "given as an optimizer object"
    assert np.all(np.isfinite(model.predict(x)))


def test_the_cli_does_not_offer_plain_gradient_steps() -> None:
    from tinynn.cli import main

    assert main(["demo", "--optimizer", "momentum"]) == 2


@pytest.mark.parametrize(
    ("loss", "got"),
    [
        (lambda p: None, r"got None \(type NoneType\)"),
        (lambda p: "oops", r"got 'oops' \(type str\)"),
        (lambda p: p * 2.0, r"got an array of shape \(2,\)"),
    ],
)
def test_a_loss_that_is_not_a_real_scalar_is_named(loss, got: str) -> None:
    with pytest.raises(TypeError, match=r"loss_fn must return a real scalar .*" + got):
        optim.minimize(loss, np.ones(2), optimizer=optim.adam(0.1), n_iters=3)


@pytest.mark.parametrize("bad", [None, 3, "sgd"])
def test_regressor_names_an_optimizer_that_is_not_one(bad) -> None:
    from tinynn import Regressor

    kind = ValueError if isinstance(bad, str) else TypeError
    with pytest.raises(kind, match=r"optimizer must be one of 'auto', 'adam'"):
        Regressor(optimizer=bad).fit(np.zeros((4, 1)), np.arange(4.0))


def test_check_grad_says_when_the_function_is_not_finite() -> None:
    from tinynn.gradcheck import check_grad

    with pytest.raises(ValueError, match=r"fn returned nan at params, so its gradient cannot"):
        check_grad(lambda p: anp.sum(p) * np.nan, np.ones(3))


def test_the_regressor_warns_when_one_network_stops_at_max_iter() -> None:
    from tinynn import Regressor

    x, y = np.linspace(-1, 1, 20)[:, None], np.linspace(-1, 1, 20) ** 2
    with pytest.warns(optim.ConvergenceWarning, match=r"stopped at max_iter=3 before it conv"):
        Regressor((3,), uncertainty=None, optimizer="adam", max_iter=3, random_state=0).fit(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tol=None: exactly max_iter iterations, no warning
        Regressor(
            (3,), uncertainty=None, optimizer="adam", max_iter=3, tol=None, random_state=0
        ).fit(x, y)


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--n-examples", "1000000000000"],
        ["demo", "--hidden", "100000000"],
    ],
)
def test_sizes_that_cannot_fit_in_memory_are_refused_before_allocating(args, tmp_path, capsys):
    from tinynn.cli import main

    assert main([*args, "--out", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"needs at least [\d,]+ bytes \([\d,.]+ GiB\) to train, more than", err), err
    assert not (tmp_path / "demo").exists()  # refused before anything was written


def test_fit_refuses_a_hidden_layer_too_big_for_memory(tmp_path, capsys):
    from tinynn.cli import main

    table = tmp_path / "t.csv"
    table.write_text("a,y\n" + "".join(f"{i},{i * i}\n" for i in range(10)))
    status = main(["fit", str(table), "--target", "y", "--hidden", "100000000",
                   "--out", str(tmp_path / "m.npz")])  # fmt: skip
    assert status == 2
    assert "--hidden 100000000 on 8 rows of 1 features needs at least" in capsys.readouterr().err


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_finite_inputs_whose_squares_overflow_pass_and_a_nan_among_them_is_named(dtype) -> None:
    """The finiteness check sums squares first: an overflowing sum must not reject finite data,
    and a NaN or infinity hidden among huge values must still be found and named."""
    huge = np.finfo(dtype).max / 4
    x = np.array([[huge], [-huge], [1.0]], dtype=dtype)
    assert predict(NET, x).shape == (3,)  # finite: accepted although x**2 overflows
    for bad in (np.nan, np.inf, -np.inf):
        x_bad = x.copy()
        x_bad[1, 0] = bad
        with pytest.raises(ValueError, match=r"x must be finite, got .* at index \(1, 0\)"):
            predict(NET, x_bad)
    y = np.array([1.0, 2.0, np.nan])
    with pytest.raises(ValueError, match=r"y must be finite, got nan at index \(2,\)"):
        gaussian_nll(y, np.zeros(3), sigma=1.0)
