"""Laplace against Bayesian linear regression's closed forms, and the Laplace interface.

Without a hidden layer the network is linear in its parameters, so the Laplace approximation is
exact: its mean, covariance and evidence must equal the textbook formulas, and the evidence-tuned
prior std and sigma must equal the evidence's maximizers found independently here.
"""

from __future__ import annotations

import math
import warnings

import autograd
import numpy as np
import pytest
from scipy import optimize

from tinynn import io, tree
from tinynn.losses import make_objective
from tinynn.model import predict
from tinynn.optim import ConvergenceWarning
from tinynn.params import make_params
from tinynn.posterior import Laplace, Posterior, fit_laplace
from tinynn.posterior import _fit as fit_module


def blr_data(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, 2))
    y = 1.5 * x[:, 0] - 0.7 * x[:, 1] + 0.3 + 0.4 * rng.normal(size=n)
    return x, y


def design(x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))])  # w row-major, then b: tree.flatten's order


def blr_posterior(x: np.ndarray, y: np.ndarray, prior_std: float, sigma: float) -> tuple:
    a = design(x)
    precision = a.T @ a / sigma**2 + np.eye(a.shape[1]) / prior_std**2
    cov = np.linalg.inv(precision)
    return cov @ a.T @ y / sigma**2, cov


def blr_log_evidence(x: np.ndarray, y: np.ndarray, prior_std: float, sigma: float) -> float:
    a = design(x)
    k = sigma**2 * np.eye(len(y)) + prior_std**2 * a @ a.T  # y ~ N(0, K)
    _, logdet = np.linalg.slogdet(k)
    return float(
        -0.5 * y @ np.linalg.solve(k, y) - 0.5 * logdet - 0.5 * len(y) * math.log(2 * math.pi)
    )


def laplace_at_map(x: np.ndarray, y: np.ndarray, prior_std: float, sigma: float, **kw) -> Laplace:
    loss = make_objective(x, y, sigma=sigma, prior_std=prior_std)
    params = loss.solve_output_layer(make_params(x.shape[1], [], rng=0))
    return Laplace(params, x, y, sigma=sigma, prior_std=prior_std, **kw)


@pytest.mark.parametrize("prior_std, sigma", [(1.0, 0.4), (0.3, 1.2), (5.0, 0.05)])
def test_linear_laplace_is_the_exact_posterior(prior_std: float, sigma: float) -> None:
    x, y = blr_data()
    post = laplace_at_map(x, y, prior_std, sigma)
    mean, cov = blr_posterior(x, y, prior_std, sigma)
    np.testing.assert_allclose(tree.flatten(post.params)[0], mean, rtol=0, atol=1e-10)
    np.testing.assert_allclose(post.covariance, cov, rtol=1e-9, atol=1e-12)
    assert post.log_evidence() == pytest.approx(blr_log_evidence(x, y, prior_std, sigma), abs=1e-8)


def test_linear_predictive_is_the_exact_predictive() -> None:
    x, y = blr_data()
    post = laplace_at_map(x, y, 0.8, 0.5)
    mean, cov = blr_posterior(x, y, 0.8, 0.5)
    x_new = np.array([[0.0, 0.0], [5.0, -5.0]])
    pred = post.predict(x_new)
    a = design(x_new)
    np.testing.assert_allclose(pred.mean, a @ mean, atol=1e-10)
    np.testing.assert_allclose(
        pred.epistemic_std**2, np.einsum("np,pq,nq->n", a, cov, a), rtol=1e-9
    )
    np.testing.assert_allclose(pred.std**2, pred.epistemic_std**2 + 0.25, rtol=1e-12)


def test_evidence_tuning_lands_on_the_closed_form_maximizers() -> None:
    x, y = blr_data(n=40, seed=3)
    best = optimize.minimize(
        lambda v: -blr_log_evidence(x, y, math.exp(v[0]), math.exp(v[1])),
        x0=np.array([0.0, 0.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20000},
    )
    prior_star, sigma_star = np.exp(best.x)
    post = fit_laplace(x, y, hidden_sizes=(), prior_groups="shared", max_rounds=2000, tol=1e-13)
    assert post.prior_std == pytest.approx(prior_star, rel=1e-6)
    assert post.sigma == pytest.approx(sigma_star, rel=1e-6)
    exact = blr_log_evidence(x, y, post.prior_std, post.sigma)
    assert post.log_evidence() == pytest.approx(exact, abs=1e-8)
    assert exact >= -best.fun - 1e-9  # nothing better than the independent maximizer
    mean, cov = blr_posterior(x, y, post.prior_std, post.sigma)
    np.testing.assert_allclose(tree.flatten(post.params)[0], mean, atol=1e-8)
    np.testing.assert_allclose(post.covariance, cov, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("prior_std, sigma", [(1.0, 0.4), (0.3, 1.2)])
def test_evidence_gradient_is_the_closed_form_evidence_gradient(prior_std, sigma) -> None:
    # At the MAP of its own hyperparameters the Laplace evidence of a linear model has the
    # exact evidence's gradient in them (the MAP is a maximum: its own shift does not count).
    x, y = blr_data()
    post = laplace_at_map(x, y, prior_std, sigma)
    grad_prior = autograd.grad(lambda p: post.log_evidence(prior_std=p))(prior_std)
    grad_sigma = autograd.grad(lambda s: post.log_evidence(sigma=s))(sigma)
    step = 1e-6
    want_prior = (
        blr_log_evidence(x, y, prior_std + step, sigma)
        - blr_log_evidence(x, y, prior_std - step, sigma)
    ) / (2 * step)
    want_sigma = (
        blr_log_evidence(x, y, prior_std, sigma + step)
        - blr_log_evidence(x, y, prior_std, sigma - step)
    ) / (2 * step)
    assert grad_prior == pytest.approx(want_prior, rel=1e-6, abs=1e-6)
    assert grad_sigma == pytest.approx(want_sigma, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("structure", ["full", "diagonal", "last_layer"])
def test_evidence_is_differentiable_in_per_leaf_prior_stds_and_sigma(structure: str) -> None:
    x, y = blr_data(n=40)
    post = fit_laplace(x, y, (4,), rng=0, structure=structure)
    stds = np.array([0.7, 1.1, 0.9, 1.3])

    def evidence(stds, sigma):
        return post.log_evidence(prior_std=stds, sigma=sigma)

    value, grad = autograd.value_and_grad(evidence)(stds, 0.5)
    assert value == pytest.approx(post.log_evidence(prior_std=stds, sigma=0.5), rel=1e-12)
    step = 1e-6
    for k in range(4):
        shift = step * np.eye(4)[k]
        fd = (evidence(stds + shift, 0.5) - evidence(stds - shift, 0.5)) / (2 * step)
        assert grad[k] == pytest.approx(fd, rel=1e-5, abs=1e-6)
    fd = (evidence(stds, 0.5 + step) - evidence(stds, 0.5 - step)) / (2 * step)
    assert autograd.grad(evidence, 1)(stds, 0.5) == pytest.approx(fd, rel=1e-5, abs=1e-6)
    with pytest.raises(ValueError, match=r"sigma must be a positive finite number, got -0\.5"):
        autograd.grad(evidence, 1)(stds, -0.5)


def test_tuned_keeps_the_map_and_raises_the_evidence() -> None:
    x, y = blr_data()
    post = laplace_at_map(x, y, 1.0, 2.0)
    tuned = post.tuned()
    assert tuned.params is post.params
    assert tuned.log_evidence() > post.log_evidence()
    for ps, sd in [(tuned.prior_std * 1.01, tuned.sigma), (tuned.prior_std, tuned.sigma * 0.99)]:
        assert post.log_evidence(prior_std=ps, sigma=sd) < tuned.log_evidence()
    only_noise = post.tuned(prior=False)
    assert only_noise.prior_std == 1.0 and only_noise.sigma != 2.0


def small_net_posterior(structure: str) -> Laplace:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(25, 1))
    y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=25)
    return fit_laplace(x, y, (6,), prior_std=1.0, sigma=0.1, structure=structure, rng=0)


@pytest.mark.parametrize("structure", ["full", "diagonal", "last_layer", "hessian"])
def test_samples_match_the_gaussian(structure: str) -> None:
    post = small_net_posterior(structure)
    draws = post.sample(20000, rng=0)
    theta = np.stack([tree.flatten(p)[0] for p in tree.unstack(draws)])[:, -post.n_params :]
    cov = post.covariance if structure != "diagonal" else np.diag(post.covariance)
    std = np.sqrt(np.diag(cov))
    # the sample mean is within 5 Monte Carlo standard errors of the MAP, per parameter
    centre = tree.flatten(post.params)[0][-post.n_params :]
    assert np.all(np.abs(theta.mean(0) - centre) < 5 * std / math.sqrt(20000))
    np.testing.assert_allclose(
        np.cov(theta.T), cov, atol=5 * np.max(np.diag(cov)) / math.sqrt(20000)
    )


def test_sampled_predictive_agrees_with_glm_for_a_linear_model() -> None:
    x, y = blr_data()
    post = laplace_at_map(x, y, 1.0, 0.4)
    x_new = np.array([[1.0, 1.0], [3.0, -2.0]])
    glm = post.predict(x_new)
    sampled = post.predict(x_new, method="samples", n_samples=40000, rng=0)
    np.testing.assert_allclose(sampled.mean, glm.mean, atol=5 * glm.epistemic_std.max() / 200)
    np.testing.assert_allclose(sampled.epistemic_std, glm.epistemic_std, rtol=0.02)


def test_hessian_equals_ggn_for_a_linear_model() -> None:
    x, y = blr_data()
    a = laplace_at_map(x, y, 1.0, 0.4, structure="hessian")
    b = laplace_at_map(x, y, 1.0, 0.4, structure="full")
    np.testing.assert_allclose(a.precision, b.precision, rtol=1e-10)


def test_last_layer_of_a_linear_model_is_the_whole_model() -> None:
    x, y = blr_data()
    a = laplace_at_map(x, y, 1.0, 0.4, structure="last_layer")
    b = laplace_at_map(x, y, 1.0, 0.4)
    np.testing.assert_allclose(a.covariance, b.covariance, rtol=1e-10)
    assert a.log_evidence() == pytest.approx(b.log_evidence(), abs=1e-10)


def test_diagonal_uses_the_diagonal_precision() -> None:
    post = small_net_posterior("diagonal")
    full = small_net_posterior("full")
    np.testing.assert_allclose(post.precision, np.diag(full.precision), rtol=1e-8)


def test_predictive_grows_away_from_the_data() -> None:
    post = small_net_posterior("full")
    pred = post.predict(np.array([[0.0], [4.0]]))
    assert pred.epistemic_std[1] > 3 * post.sigma > pred.epistemic_std[0]


def test_interval_and_predictive_samples_are_consistent() -> None:
    x, y = blr_data()
    post = laplace_at_map(x, y, 1.0, 0.4)
    x_new = np.array([[0.5, 0.5], [2.0, 1.0]])
    lower, upper = post.interval(x_new, level=0.9)
    draws = post.predictive_samples(x_new, 40000, rng=1)
    inside = np.mean((draws >= lower) & (draws <= upper), axis=0)
    np.testing.assert_allclose(inside, 0.9, atol=4 * math.sqrt(0.09 / 40000))


def test_log_predictive_density_is_the_gaussian_one() -> None:
    x, y = blr_data()
    post = laplace_at_map(x, y, 1.0, 0.4)
    pred = post.predict(x[:5])
    expected = np.mean(
        -0.5 * np.log(2 * np.pi * pred.std**2) - 0.5 * ((y[:5] - pred.mean) / pred.std) ** 2
    )
    assert post.log_predictive_density(x[:5], y[:5]) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("structure", ["full", "diagonal", "last_layer"])
def test_save_and_load_round_trip(tmp_path, structure: str) -> None:
    post = small_net_posterior(structure)
    path = io.save(tmp_path / "post.npz", post)
    back = io.load(path)
    assert isinstance(back, Posterior) and isinstance(back, Laplace)
    x_new = np.linspace(-2, 2, 7)[:, None]
    a, b = post.predict(x_new), back.predict(x_new)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_allclose(a.std, b.std, rtol=1e-12)
    assert back.log_evidence() == pytest.approx(post.log_evidence(), rel=1e-12)
    assert io.read_metadata(path)["kind"] == "posterior"


def test_tuning_with_fewer_targets_than_parameters_matches_the_dense_inverse(tmp_path) -> None:
    # 15 targets, 31 parameters: the evidence's fixed point reads the covariance diagonal from
    # a 15 x 15 solve (Woodbury); a loaded posterior has no Jacobian and inverts the 31 x 31
    # precision. Both must propose the same prior stds and sigma.
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(15, 1))
    y = np.sin(3 * x[:, 0]) + 0.05 * rng.normal(size=15)
    net = make_params(1, [10], rng=0)
    post = Laplace(net, x, y, sigma=0.2, prior_std=[1.0, 0.5, 2.0, 1.0])
    back = io.load(io.save(tmp_path / "post.npz", post))
    fast, dense = post.tuned(), back.tuned()
    np.testing.assert_allclose(fast.prior_std, dense.prior_std, rtol=1e-9)
    assert fast.sigma == pytest.approx(dense.sigma, rel=1e-9)
    assert fast.effective_parameters == pytest.approx(dense.effective_parameters, rel=1e-9)
    assert not np.allclose(fast.prior_std, post.prior_std)  # the tuning moved them


def test_hessian_that_is_not_positive_definite_is_refused() -> None:
    x = np.linspace(-1, 1, 10)[:, None]
    y = np.sin(3 * x[:, 0])
    params = make_params(1, [4], rng=0)  # far from a minimum: the Hessian is indefinite
    with pytest.raises(ValueError, match=r'not positive definite.*structure="full"'):
        Laplace(params, x, y, sigma=0.01, prior_std=100.0, structure="hessian")


def test_bad_arguments_are_named() -> None:
    x, y = blr_data()
    params = make_params(2, [], rng=0)
    with pytest.raises(ValueError, match="structure must be one of"):
        Laplace(params, x, y, sigma=1.0, prior_std=1.0, structure="kfac")
    with pytest.raises(ValueError, match="sigma must be"):
        Laplace(params, x, y, sigma=-1.0, prior_std=1.0)
    with pytest.raises(ValueError, match=r"y must have the network's output shape \(30,\)"):
        Laplace(params, x, y[:10], sigma=1.0, prior_std=1.0)
    with pytest.raises(ValueError, match="one network for Laplace"):
        Laplace(tree.stack([params, params]), x, y, sigma=1.0, prior_std=1.0)
    post = Laplace(params, x, y, sigma=1.0, prior_std=1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        post.predict(x, method="mc")
    with pytest.raises(ValueError, match="level must be strictly between 0 and 1"):
        post.interval(x, level=1.5)
    with pytest.raises(ValueError, match="n_samples must be"):
        post.sample(0)
    with pytest.raises(ValueError, match="same number of examples"):
        fit_laplace(x, y[:3], ())
    with pytest.raises(TypeError, match="hidden_sizes must be a sequence"):
        fit_laplace(x, y, 5)


def test_rounds_that_run_out_warn() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(30, 1))
    y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=30)
    with pytest.warns(ConvergenceWarning, match="max_rounds=1"):
        fit_laplace(x, y, (5,), max_rounds=1, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_laplace(x, y, (5,), prior_std=1.0, sigma=0.1, max_rounds=1, rng=0)  # nothing to tune


def test_per_leaf_evidence_tuning_lands_on_the_closed_form_maximizers() -> None:
    """One prior std for w and one for b: MacKay's grouped updates against the exact evidence."""
    x, y = blr_data(n=40, seed=5)
    y = y + 2.0  # a bias the weights' prior would not explain

    def log_evidence(v: np.ndarray) -> float:
        a = design(x)
        stds = np.exp(np.array([v[0], v[0], v[1]]))
        k = np.exp(2 * v[2]) * np.eye(len(y)) + (a * stds**2) @ a.T
        _, logdet = np.linalg.slogdet(k)
        return float(
            -0.5 * y @ np.linalg.solve(k, y) - 0.5 * logdet - 0.5 * len(y) * math.log(2 * math.pi)
        )

    best = optimize.minimize(
        lambda v: -log_evidence(v),
        x0=np.zeros(3),
        method="Nelder-Mead",
        options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 40000},
    )
    post = fit_laplace(x, y, hidden_sizes=(), max_rounds=5000, tol=1e-13)
    assert np.shape(post.prior_std) == (2,)
    np.testing.assert_allclose(post.prior_std, np.exp(best.x[:2]), rtol=1e-6)
    assert post.sigma == pytest.approx(math.exp(best.x[2]), rel=1e-6)
    exact = log_evidence(np.log([*post.prior_std, post.sigma]))
    assert post.log_evidence() == pytest.approx(exact, abs=1e-8)


def test_per_leaf_tuning_with_fewer_rows_than_parameters_follows_the_dense_updates() -> None:
    """The outputs-sized (Woodbury) traces per prior group against the dense covariance's."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=(12, 1))
    y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=12)
    net = make_params(1, [20], rng=0, bias_init="normal")  # 61 parameters, 12 rows
    post = Laplace(net, x, y, sigma=0.3, prior_std=[1.0, 0.5, 2.0, 0.7])
    assert post._jac is not None  # the rows' side: the Gram-matrix traces are the ones used
    theta = tree.flatten(net)[0]
    jac = post._jac
    sizes = np.array([20, 20, 20, 1])
    group = np.repeat(np.arange(4), sizes)
    squares = np.bincount(group, weights=theta**2)
    alpha, var = 1.0 / np.array([1.0, 0.5, 2.0, 0.7]) ** 2, 0.3**2
    for _ in range(10):  # MacKay's updates with the (P, P) covariance, as many steps as tuned()
        cov = np.linalg.inv(jac.T @ jac / var + np.diag(alpha[group]))
        gamma = sizes - alpha * np.bincount(group, weights=np.diag(cov))
        sse = float(np.sum((predict(net, x) - y) ** 2))
        alpha, var = gamma / squares, sse / (len(y) - gamma.sum())
    tuned = post.tuned()
    np.testing.assert_allclose(tuned.prior_std, 1.0 / np.sqrt(alpha), rtol=1e-9)
    assert tuned.sigma == pytest.approx(math.sqrt(var), rel=1e-9)


def test_ctrl_c_hands_back_the_best_round_so_far(monkeypatch) -> None:
    import autograd.numpy as anp

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(30, 1))
    y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=30)
    calls = {"n": 0, "limit": None}

    def tanh_until_interrupted(a):
        calls["n"] += 1
        if calls["limit"] is not None and calls["n"] >= calls["limit"]:
            calls["limit"] = None  # one Ctrl-C
            raise KeyboardInterrupt
        return anp.tanh(a)

    full = fit_laplace(x, y, (4,), activation=tanh_until_interrupted, n_iters=400, rng=0)
    assert full.result.reason != "interrupted" and len(full.rounds) >= 3
    total = calls["n"]
    for limit in range(int(0.2 * total), total, 20):  # Ctrl-C at many points, most in MAP fits
        calls.update(n=0, limit=limit)
        post = fit_laplace(x, y, (4,), activation=tanh_until_interrupted, n_iters=400, rng=0)
        assert post.result.reason == "interrupted"
        done = post.rounds
        assert 1 <= len(done) <= len(full.rounds)
        for mine, theirs in zip(done[:-1], full.rounds, strict=False):  # the same path until then
            assert mine["sigma"] == theirs["sigma"]
        chosen = done[post.best_round]
        assert post.sigma == chosen["sigma"]
        np.testing.assert_array_equal(post.prior_std, chosen["prior_std"])
        assert post.log_evidence() == pytest.approx(chosen["log_evidence"], rel=1e-12)
        assert post.best_round == int(np.argmax([entry["log_evidence"] for entry in done]))
    tune = fit_module.evidence_fixed_point
    tunings = {"n": 0}

    def tune_until_interrupted(post, **kwargs):  # Ctrl-C in the second tuning, between rounds
        tunings["n"] += 1
        if tunings["n"] == 2:
            raise KeyboardInterrupt
        return tune(post, **kwargs)

    monkeypatch.setattr(fit_module, "evidence_fixed_point", tune_until_interrupted)
    post = fit_laplace(x, y, (4,), activation="tanh", n_iters=400, rng=0)
    monkeypatch.undo()
    assert post.result.reason == "interrupted" and "between rounds" in post.result.message
    assert len(post.rounds) == 2
    assert post.best_round == int(np.argmax([entry["log_evidence"] for entry in post.rounds]))
    assert post.sigma == post.rounds[post.best_round]["sigma"]
    calls.update(n=0, limit=10)  # Ctrl-C in round one: its partial fit is all there is
    post = fit_laplace(x, y, (4,), activation=tanh_until_interrupted, n_iters=400, rng=0)
    assert len(post.rounds) == 1 and post.best_round == 0
    assert len(post.rounds[0]["losses"]) < len(full.rounds[0]["losses"])


def test_last_layer_precision_is_the_output_block_of_the_full_one() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(15, 2))
    y = np.column_stack([np.sin(x[:, 0]), np.cos(x[:, 1])])  # two outputs
    net = make_params(2, [5], 2, rng=0)
    full = Laplace(net, x, y, sigma=0.3, prior_std=1.0)
    last = Laplace(net, x, y, sigma=0.3, prior_std=1.0, structure="last_layer")
    q = last.n_params
    assert q == 5 * 2 + 2
    np.testing.assert_allclose(last.precision, full.precision[-q:, -q:], rtol=1e-12)
    x_new = rng.normal(size=(4, 2))
    a = last.predict(x_new)
    sampled = last.predict(x_new, method="samples", n_samples=40000, rng=0)
    np.testing.assert_allclose(sampled.epistemic_std, a.epistemic_std, rtol=0.03)


def test_a_dense_precision_too_large_is_refused_before_allocating() -> None:
    x = np.linspace(-1, 1, 10)[:, None]
    net = make_params(1, [300], rng=0)  # 901 parameters: a 6.5 MB matrix
    with pytest.raises(
        ValueError,
        match=r"a full Laplace posterior of 901 parameters needs .*"
        r"use structure='last_layer' or 'diagonal'",
    ):
        Laplace(net, x, np.sin(x[:, 0]), sigma=0.1, prior_std=1.0, max_bytes=1e6)
    diag = Laplace(net, x, np.sin(x[:, 0]), sigma=0.1, prior_std=1.0, structure="diagonal",
                   max_bytes=1e6)  # fmt: skip
    assert diag.precision.shape == (901,)


def test_auto_structure_keeps_wide_networks_to_the_last_layer() -> None:
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, size=(25, 1))
    y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=25)
    small = fit_laplace(x, y, (10,), prior_std=1.0, sigma=0.1, rng=0)
    assert small.structure == "full"
    with pytest.warns(ConvergenceWarning, match="n_iters=30"):  # 6301 parameters: L-BFGS
        wide = fit_laplace(x, y, (2100,), prior_std=1.0, sigma=0.1, n_iters=30, rng=0)
    assert wide.structure == "last_layer" and wide.n_params == 2101
    pred = wide.predict(np.array([[0.0], [5.0]]))
    assert np.all(np.isfinite(pred.std)) and pred.epistemic_std[1] > pred.epistemic_std[0]


def _sine_data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, size=(n, 1))
    return x, np.sin(2 * x[:, 0]) + 0.05 * rng.normal(size=n)


def _last_relative_change(losses: list[float]) -> float:
    return abs(losses[-1] - losses[-2]) / max(abs(losses[-1]), abs(losses[-2]))


def test_rough_early_rounds_reach_the_all_full_answer_in_fewer_iterations(monkeypatch) -> None:
    from tinynn import optim

    # the schedule under Gauss-Newton alone, as it was designed for; with the exact Hessian in
    # the noisy early rounds both schedules cost about the same here (65 against 64 iterations)
    monkeypatch.setattr(fit_module, "HESSIAN_MIN_NOISE", np.inf)
    x, y = _sine_data()
    post = fit_laplace(x, y, (8,), rng=0)
    tols = []
    real_minimize = optim.minimize

    def every_fit_in_full(*args, **kwargs):
        tols.append(kwargs["tol"])
        return real_minimize(*args, **{**kwargs, "tol": 1e-6})

    monkeypatch.setattr(optim, "minimize", every_fit_in_full)
    full = fit_laplace(x, y, (8,), rng=0)
    monkeypatch.undo()
    assert 1e-4 in tols and tols[-1] == 1e-6  # early rounds were rough, the last one full
    assert post.result.reason == "converged"
    assert _last_relative_change(post.result.history.losses) <= 1e-6
    assert post.sigma == pytest.approx(full.sigma, rel=0.02)
    np.testing.assert_allclose(post.prior_std[::2], full.prior_std[::2], rtol=0.05)  # weights
    assert max(post.prior_std[1::2].max(), full.prior_std[1::2].max()) < 0.01  # biases: off
    assert post.log_evidence() == pytest.approx(full.log_evidence(), rel=0.01)
    x_new = np.linspace(-3, 3, 13)[:, None]
    np.testing.assert_allclose(post.predict(x_new).mean, full.predict(x_new).mean, atol=0.02)
    used = sum(len(r["losses"]) for r in post.rounds)
    assert used < sum(len(r["losses"]) for r in full.rounds)


def test_a_rough_chosen_round_is_fitted_in_full_before_it_is_returned(monkeypatch) -> None:
    from tinynn import optim

    x, y = _sine_data()
    with pytest.warns(ConvergenceWarning, match="max_rounds=1"):
        post = fit_laplace(x, y, (8,), max_rounds=1, rng=0)  # one round, rough: then refined
    assert len(post.rounds) == 1 and post.result.reason == "converged"
    assert _last_relative_change(post.rounds[0]["losses"]) <= 1e-6
    assert post.log_evidence() == pytest.approx(post.rounds[0]["log_evidence"], rel=1e-12)
    real_minimize = optim.minimize
    rough_lengths = []

    def ctrl_c_in_the_refinement(*args, **kwargs):
        if kwargs["tol"] == 1e-6:
            raise KeyboardInterrupt
        result = real_minimize(*args, **kwargs)
        rough_lengths.append(len(result.history.losses))
        return result

    monkeypatch.setattr(optim, "minimize", ctrl_c_in_the_refinement)
    with pytest.warns(ConvergenceWarning, match="max_rounds=1"):
        rough = fit_laplace(x, y, (8,), max_rounds=1, rng=0)
    assert rough.result.reason == "interrupted" and "refining" in rough.result.message
    assert len(rough.rounds[0]["losses"]) == rough_lengths[0] < len(post.rounds[0]["losses"])
    assert rough.sigma == post.sigma  # the same round, as it was before the refinement

    def interrupted_refinement(*args, **kwargs):
        result = real_minimize(*args, **kwargs)
        if kwargs["tol"] == 1e-6:
            from dataclasses import replace

            return replace(result, reason="interrupted")
        return result

    monkeypatch.setattr(optim, "minimize", interrupted_refinement)
    with pytest.warns(ConvergenceWarning, match="max_rounds=1"):
        again = fit_laplace(x, y, (8,), max_rounds=1, rng=0)
    assert again.result.reason == "interrupted"
    assert len(again.rounds[0]["losses"]) == rough_lengths[0]


def test_the_group_traces_from_gram_matrices_equal_the_dense_inverse():
    from tinynn.posterior._laplace import (
        _covariance_diagonal,
        _group_covariance_traces,
        _group_grams,
    )

    rng = np.random.default_rng(3)
    jac = rng.normal(size=(6, 20))
    group = np.repeat([0, 1, 2], [12, 5, 3])
    var = 0.3
    grams = _group_grams(jac, group, 3)
    # a group whose precision has grown huge (its weights pruned to about 0, as the evidence
    # does on constant targets) gives its trace without an overflow warning
    for alpha_G in (np.array([0.5, 2.0, 7.0]), np.array([0.5, 1e200, 7.0])):
        alpha_P = alpha_G[group]
        exact = np.diag(np.linalg.inv(jac.T @ jac / var + np.diag(alpha_P)))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            traces = _group_covariance_traces(grams, alpha_G, var, np.array([12, 5, 3]))
        np.testing.assert_allclose(traces, np.bincount(group, weights=exact), rtol=1e-10)
        dense = _covariance_diagonal(jac.T @ jac, "full", var, alpha_P)
        np.testing.assert_allclose(dense, exact, rtol=1e-10)


def test_the_map_fits_take_the_exact_hessian_when_the_targets_outnumber_the_parameters(
    monkeypatch,
):
    asked = []
    real = fit_module.optim.levenberg_marquardt

    def recording(*args, **kwargs):
        asked.append(kwargs.get("hessian", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module.optim, "levenberg_marquardt", recording)
    gen = np.random.default_rng(0)
    x = gen.uniform(-2, 2, size=(80, 1))
    y = np.sin(2 * x[:, 0]) + 0.3 * gen.normal(size=80)
    wide = fit_laplace(x, y, (40,), rng=0)  # 121 parameters, 80 targets: Gauss-Newton
    assert asked and not any(asked)
    asked.clear()
    post = fit_laplace(x, y, (8,), rng=0)  # 25 parameters: the exact Hessian
    assert asked and all(asked)
    assert wide.result.reason == post.result.reason == "converged"
    asked.clear()
    smooth = np.sin(2 * x[:, 0]) + 0.01 * gen.normal(size=80)  # noise a hundredth of y's spread
    quiet = fit_laplace(x, smooth, (8,), rng=0)
    assert asked[0] and not asked[-1]  # the first round's sigma is half y's std, the last's not
    assert quiet.sigma < 0.1 * np.std(smooth)


@pytest.mark.parametrize("name", ["fit_laplace", "fit_ensemble", "fit_width_mixture"])
def test_constant_targets_cannot_set_the_noise(name: str) -> None:
    # The network fits one repeated value exactly, so the evidence rises without bound as
    # sigma shrinks: every evidence-tuned fitter says so up front instead of warning its way
    # to a noise of 1e-27.
    from tinynn import posterior

    fit = getattr(posterior, name)
    x = np.linspace(-1.0, 1.0, 20)[:, None]
    message = (
        r"y is constant \(every target equals 3\): the evidence rises without bound as sigma "
        r"shrinks to 0, so sigma=None cannot set the noise; pass a fixed sigma"
    )
    with pytest.raises(ValueError, match=message):
        fit(x, np.full(20, 3.0))
    with pytest.raises(ValueError, match=r"y is constant \(every column of y holds one value\)"):
        fit(x, np.tile([3.0, -1.0], (20, 1)))


def test_constant_targets_with_a_fixed_noise_fit_without_warnings() -> None:
    # With sigma fixed only the prior stds are tuned; on all-zero targets the evidence prunes
    # every weight (its precisions grow huge) and the predictive is the noise alone.
    x = np.linspace(-1.0, 1.0, 20)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = fit_laplace(x, np.zeros(20), (5,), sigma=0.1, rng=0)
    pred = post.predict(np.array([[0.0], [3.0]]))
    np.testing.assert_allclose(pred.mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(pred.std, 0.1, rtol=1e-6)
    one_varying = np.linspace(0.0, 1.0, 20)  # one column that varies is enough to set sigma
    assert fit_laplace(x, np.c_[np.full(20, 2.0), one_varying], (), rng=0).sigma > 0
