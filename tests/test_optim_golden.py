"""Golden tests: the seed notebook's printed gradient-descent numbers, to the printed digits."""

import io
import re

import autograd.numpy as anp
import numpy as np
import pytest

from tinynn.optim import gradient_descent, minimize

SIGMA = 0.1


@pytest.fixture(scope="module")
def linear_data():
    prng = np.random.RandomState(0)
    x_ND = prng.uniform(low=-5, high=5, size=(300, 2))
    y_N = np.dot(x_ND, np.asarray([4.2, -4.2])) + 0.1 + SIGMA * prng.randn(300)
    return x_ND, y_N


def notebook_loss(x_ND, y_N):
    """The notebook's nn_regression_loss_function for a network without hidden layers."""

    def loss(params):
        yhat_N = anp.squeeze(anp.dot(x_ND, params[0]["w"]) + params[0]["b"])
        return 0.5 / anp.square(SIGMA) * anp.sum(anp.square(y_N - yhat_N))

    return loss


def zero_params():
    return [{"w": np.zeros((2, 1)), "b": np.zeros(1)}]


def true_params():
    return [{"w": np.array([[4.2], [-4.2]]), "b": np.array([0.1])}]


def fmt(values):
    return [f"{v:.6e}" for v in values]


def run(loss, init, **kwargs):
    return minimize(loss, init, optimizer=gradient_descent(1e-6), n_iters=100, **kwargs)


def test_from_zeros_matches_notebook(linear_data):
    result = run(notebook_loss(*linear_data), zero_params())
    losses = result.history.losses
    assert len(losses) == 100
    assert fmt(losses[[0, 1, 2, 49, 99]]) == [
        "4.649827e+06",
        "2.520065e+06",
        "1.367394e+06",
        "1.634750e+02",
        "1.598624e+02",
    ]
    assert np.round(result.params[0]["w"].ravel(), 8).tolist() == [4.20137256, -4.2023501]
    assert np.round(result.params[0]["b"], 8).tolist() == [0.08325989]
    assert result.reason == "completed"
    assert result.n_iters == 100
    assert result.n_evals == 100


def test_from_true_params_matches_notebook(linear_data):
    result = run(notebook_loss(*linear_data), true_params())
    losses = result.history.losses
    assert fmt(losses[[0, 1, 2, 49, 99]]) == [
        "1.632803e+02",
        "1.626805e+02",
        "1.622965e+02",
        "1.598157e+02",
        "1.596883e+02",
    ]
    assert np.round(result.params[0]["w"].ravel(), 8).tolist() == [4.20137427, -4.2023327]
    assert np.round(result.params[0]["b"], 8).tolist() == [0.08737985]


def test_progress_lines_match_notebook_format(linear_data):
    stream = io.StringIO()
    run(notebook_loss(*linear_data), true_params(), progress=True, stream=stream)
    lines = stream.getvalue().splitlines()
    pattern = re.compile(r"completed iter +(\d+)/100 after +\d+\.\d sec \| loss (\S+)")
    parsed = [pattern.fullmatch(line).groups() for line in lines]
    assert parsed == [
        ("1", "1.632803e+02"),
        ("2", "1.626805e+02"),
        ("3", "1.622965e+02"),
        ("50", "1.598157e+02"),
        ("100", "1.596883e+02"),
    ]
    # exact layout: %5d/%d, %7.1f
    assert lines[0].startswith("completed iter     1/100 after ")
    assert re.fullmatch(
        r"completed iter    50/100 after [ \d]{5}\.\d sec \| loss 1.598157e\+02", lines[3]
    )


def test_notebook_history_keys_and_final_point(linear_data):
    result = run(
        notebook_loss(*linear_data), zero_params(), record_params_every=1, record_grads_every=1
    )
    history = result.history.as_dict()
    assert sorted(history) == ["f", "g", "iter", "x"]
    assert history["iter"] == list(range(100))
    assert len(history["x"]) == len(history["g"]) == 100
    # the returned parameters are the last evaluated point, as in the notebook
    np.testing.assert_array_equal(history["x"][-1][0]["w"], result.params[0]["w"])
    assert history["f"][-1] == result.history.losses[-1]


def test_golden_with_tinynn_objective(linear_data):
    losses_mod = pytest.importorskip("tinynn.losses")
    objective = losses_mod.make_objective(*linear_data, sigma=SIGMA, form="notebook")
    result = run(objective, zero_params())
    assert fmt(result.history.losses[[0, 1, 2, 49, 99]]) == [
        "4.649827e+06",
        "2.520065e+06",
        "1.367394e+06",
        "1.634750e+02",
        "1.598624e+02",
    ]
    assert np.round(result.params[0]["w"].ravel(), 8).tolist() == [4.20137256, -4.2023501]
    assert np.round(result.params[0]["b"], 8).tolist() == [0.08325989]
