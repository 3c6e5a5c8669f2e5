"""Every error message of tinynn.optim, and what it says."""

import autograd.numpy as anp
import numpy as np
import pytest

from tinynn import optim
from tinynn.optim import minimize


def loss(x):
    return anp.sum(x**2)


def call(**overrides):
    kwargs = {"optimizer": optim.gradient_descent(0.1), "n_iters": 3}
    kwargs.update(overrides)
    return minimize(loss, np.ones(2), **kwargs)


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"n_iters": 0}, ValueError, r"n_iters must be an int >= 1, got 0"),
        ({"n_iters": 1.5}, TypeError, r"n_iters must be an int, got 1.5"),
        ({"n_iters": "10"}, TypeError, r"n_iters must be an int, got '10'"),
        ({"on_nonfinite": "ignore"}, ValueError, r"on_nonfinite must be one of 'stop', 'raise'"),
        ({"record_params_every": -1}, ValueError, r"record_params_every must be an int >= 0"),
        ({"record_grads_every": 0.5}, TypeError, r"record_grads_every must be an int"),
        ({"metrics_every": 0}, ValueError, r"metrics_every must be an int >= 1, got 0"),
        ({"progress_every": 0}, ValueError, r"progress_every must be an int >= 1, got 0"),
        ({"progress": "yes"}, TypeError, r"progress must be True or False, got 'yes'"),
        ({"stream": 42}, TypeError, r"stream must be a text stream with a write method"),
        ({"tol": -1e-3}, ValueError, r"tol must be a positive finite number, got -0.001"),
        ({"tol": "small"}, TypeError, r"tol must be a positive number"),
        ({"gtol": 0}, ValueError, r"gtol must be a positive finite number, got 0.0"),
        ({"validation_fn": 3}, TypeError, r"validation_fn must be a function params -> "),
        ({"patience": 5}, ValueError, r"patience=5 needs a validation_fn to watch"),
        (
            {"patience": 0, "validation_fn": loss},
            ValueError,
            r"patience must be an int >= 1, got 0",
        ),
        ({"callback": "print"}, TypeError, r"callback must be a function info -> bool"),
        ({"metrics": [loss]}, TypeError, r"metrics must be a dict mapping names to functions"),
        ({"metrics": {"m": 3}}, TypeError, r"metrics must be a dict mapping names"),
        (
            {"metrics": {"val_loss": loss}, "validation_fn": loss},
            ValueError,
            r"metrics must not use the name 'val_loss' when validation_fn is given",
        ),
        ({"optimizer": "sgd"}, ValueError, r"optimizer must be one of 'gradient_descent', "),
        ({"optimizer": 0.1}, TypeError, r"optimizer must be an \(init, update\) pair"),
        ({"value_and_grad": 3}, TypeError, r"value_and_grad must be a function params -> "),
    ],
)
def test_minimize_option_errors(overrides, error, match):
    with pytest.raises(error, match=match):
        call(**overrides)


def test_loss_fn_errors():
    with pytest.raises(TypeError, match=r"loss_fn must be a function params -> loss, got None"):
        minimize(None, np.ones(2), optimizer="adam", n_iters=3)
    with pytest.raises(TypeError, match=r"loss_fn must be a function params -> loss, got 3"):
        minimize(3, np.ones(2), optimizer="adam", n_iters=3, value_and_grad=lambda x: (0.0, x))


@pytest.mark.parametrize(
    ("init", "error", "match"),
    [
        ({}, ValueError, r"init_params must hold at least one array, got a dict"),
        ([], ValueError, r"init_params must hold at least one array"),
        ([{"w": np.array(["a"])}], TypeError, r"init_params\[0\]\['w'\] must hold real numbers"),
        ({"w": np.array([1.0, np.nan])}, ValueError, r"init_params\['w'\] must be finite"),
    ],
)
def test_init_params_errors(init, error, match):
    with pytest.raises(error, match=match):
        minimize(lambda p: 0.0, init, optimizer="adam", n_iters=3)


def test_loss_must_be_a_real_scalar():
    with pytest.raises(
        ValueError, match=r"the loss must be a scalar, got an array of shape \(1,\)"
    ):
        minimize(lambda x: x[:1] ** 2, np.ones(2), optimizer="adam", n_iters=3)
    with pytest.raises(TypeError, match=r"the loss must be a real number, got 'oops'"):
        minimize(
            None, np.ones(2), optimizer="adam", n_iters=3, value_and_grad=lambda x: ("oops", x)
        )


def test_gradient_must_match_the_parameters():
    params = {"w": np.ones(2), "b": np.ones(1)}
    with pytest.raises(ValueError, match=r"the gradient must have the structure of the param"):
        minimize(
            None, params, optimizer="adam", n_iters=3, value_and_grad=lambda p: (1.0, {"w": p["w"]})
        )
    with pytest.raises(
        ValueError, match=r"the gradient of params\['w'\] must have its shape \(2,\)"
    ):
        minimize(
            None,
            params,
            optimizer="adam",
            n_iters=3,
            value_and_grad=lambda p: (1.0, {"w": np.ones((2, 1)), "b": p["b"]}),
        )


def test_any_object_with_init_and_update_is_an_optimizer():
    class HalfStep:
        def init(self, params):
            return None

        def update(self, grads, state, params):
            return params - 0.25 * grads, state

    result = minimize(loss, np.ones(1), optimizer=HalfStep(), n_iters=3)
    assert result.params.tolist() == [0.25]


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (
            lambda: optim.gradient_descent(0),
            ValueError,
            r"step_size must be a positive finite number, got 0.0; try",
        ),
        (lambda: optim.gradient_descent(-1e-3), ValueError, r"step_size must be a positive finite"),
        (
            lambda: optim.gradient_descent(np.nan),
            ValueError,
            r"step_size must be a positive finite number, got nan",
        ),
        (
            lambda: optim.adam(np.inf),
            ValueError,
            r"step_size must be a positive finite number, got inf",
        ),
        (
            lambda: optim.gradient_descent("big"),
            TypeError,
            r"step_size must be a positive number or a schedule",
        ),
        (
            lambda: optim.rmsprop(True),
            TypeError,
            r"step_size must be a positive number or a schedule \(a callable",
        ),
        (lambda: optim.momentum(0.1, mass=1.0), ValueError, r"mass must be in \[0, 1\), got 1.0"),
        (
            lambda: optim.nesterov(0.1, mass="heavy"),
            TypeError,
            r"mass must be a number in \[0, 1\)",
        ),
        (lambda: optim.momentum(0.1, nesterov=1), TypeError, r"nesterov must be True or False"),
        (lambda: optim.adam(b1=1), ValueError, r"b1 must be in \[0, 1\), got 1.0"),
        (lambda: optim.adam(b2=-0.1), ValueError, r"b2 must be in \[0, 1\), got -0.1"),
        (lambda: optim.adam(eps=0), ValueError, r"eps must be a positive finite number, got 0.0"),
        (lambda: optim.rmsprop(decay=1.5), ValueError, r"decay must be in \[0, 1\), got 1.5"),
        (
            lambda: optim.clip_by_global_norm(optim.lbfgs(), 1.0),
            TypeError,
            r"optimizer must be a tinynn.optim.Optimizer",
        ),
        (
            lambda: optim.clip_by_global_norm(optim.adam(), 0),
            ValueError,
            r"max_norm must be a positive finite number",
        ),
        (lambda: optim.constant(0), ValueError, r"value must be a positive finite number, got 0.0"),
        (lambda: optim.constant(None), TypeError, r"value must be a positive number, got None"),
        (
            lambda: optim.exponential_decay(-1, 0.5, 10),
            ValueError,
            r"init_value must be a positive",
        ),
        (
            lambda: optim.exponential_decay(0.1, 1.5, 10),
            ValueError,
            r"decay_rate must be in \(0, 1\] so that the step shrinks, got 1.5",
        ),
        (
            lambda: optim.exponential_decay(0.1, 0.5, 0),
            ValueError,
            r"decay_steps must be an int >= 1, got 0",
        ),
        (lambda: optim.exponential_decay(0.1, 0.5, 2.5), TypeError, r"decay_steps must be an int"),
        (
            lambda: optim.cosine_decay(0.1, 10, final_value=0.2),
            ValueError,
            r"final_value must be between 0 and init_value=0.1, got 0.2",
        ),
        (
            lambda: optim.cosine_decay(0.1, 10, final_value=-0.1),
            ValueError,
            r"final_value must be between 0",
        ),
        (
            lambda: optim.cosine_decay(0.1, 10, final_value="0"),
            TypeError,
            r"final_value must be a number",
        ),
        (
            lambda: optim.step_decay(0.1, 0, 10),
            ValueError,
            r"factor must be a positive finite number",
        ),
        (lambda: optim.step_decay(0.1, 2.0, 10), ValueError, r"factor must be in \(0, 1\]"),
        (lambda: optim.step_decay(0.1, 0.5, 0), ValueError, r"every must be an int >= 1, got 0"),
    ],
)
def test_optimizer_and_schedule_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
