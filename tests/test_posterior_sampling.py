"""fit_nuts, fit_hmc and fit_vi on network parameters, against Bayesian linear regression.

A network without hidden layer and with fixed prior std and noise has the closed-form posterior
of Bayesian linear regression, so the whole path (the batched network gradient, the prior, the
samplers, the variational family) is checked against exact numbers: the chains' means and
covariances within their Monte Carlo error (z-scores below 4 with the ESS of each quantity),
and mean-field VI's means and stds against the exact mean-field optimum (the exact means, and
``1 / sqrt(diag(precision))``).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from tinynn import diagnostics, io, optim, tree
from tinynn.posterior import (
    MeanField,
    NetworkLogDensity,
    Samples,
    fit_hmc,
    fit_nuts,
    fit_sgld,
    fit_vi,
    negative_elbo,
)

SIGMA, PRIOR_STD = 0.3, 1.0


@pytest.fixture(scope="module")
def blr():
    """Data and the exact posterior mean and covariance, ordered as the network's [w1, w2, b]."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    features = np.column_stack([x, np.ones(30)])
    y = features @ np.array([1.5, -0.5, 0.3]) + SIGMA * rng.normal(size=30)
    precision = features.T @ features / SIGMA**2 + np.eye(3) / PRIOR_STD**2
    cov = np.linalg.inv(precision)
    return x, y, cov @ features.T @ y / SIGMA**2, cov, precision


def flat_chains(post: Samples) -> np.ndarray:
    chains = post.chains()
    n_chains, n_draws = chains[0]["w"].shape[:2]
    return np.concatenate(
        [np.reshape(leaf, (n_chains, n_draws, -1)) for leaf in tree.leaves(chains)], axis=2
    )


def max_z_score(draws_CSP: np.ndarray, mean_P: np.ndarray, cov_PP: np.ndarray) -> float:
    centred = draws_CSP - mean_P
    pairs = [(draws_CSP[..., i], mean_P[i]) for i in range(len(mean_P))]
    for i in range(len(mean_P)):
        for j in range(i, len(mean_P)):
            pairs.append((centred[..., i] * centred[..., j], cov_PP[i, j]))
    scores = [
        abs(values.mean() - truth) / (values.std() / np.sqrt(float(diagnostics.ess(values))))
        for values, truth in pairs
    ]
    return float(max(scores))


@pytest.mark.parametrize("method", ["nuts", "hmc"])
def test_network_chains_recover_the_bayesian_linear_regression_posterior(blr, method):
    x, y, mean, cov, _ = blr
    if method == "nuts":
        post = fit_nuts(x, y, (), n_draws=1000, prior_std=PRIOR_STD, sigma=SIGMA, rng=0)
    else:
        post = fit_hmc(x, y, (), n_steps=8, prior_std=PRIOR_STD, sigma=SIGMA, rng=0)
    draws = flat_chains(post)
    assert draws.shape[:2] == ((4, 1000) if method == "nuts" else (4, 500))
    assert max_z_score(draws, mean, cov) < 4.0
    if method == "nuts":  # HMC's fixed 8 steps mix more slowly: its R-hat needs more draws
        assert np.all(diagnostics.split_rhat(draws) < 1.01)


def test_samples_predict_save_load_and_resume(blr, tmp_path):
    x, y, _, _, _ = blr
    post = fit_nuts(
        x, y, (), n_chains=2, n_warmup=100, n_draws=60, prior_std=1.0, sigma=SIGMA, rng=1
    )
    assert repr(post) == "Samples(n_chains=2, n_draws=60, sigma=0.3)"
    pred = post.predict(x[:5])
    f_K = np.stack(
        [
            x[:5] @ w[:, 0] + b[0]
            for w, b in zip(post.params[0]["w"], post.params[0]["b"], strict=True)
        ]
    )
    np.testing.assert_allclose(pred.mean, f_K.mean(axis=0))
    np.testing.assert_allclose(pred.epistemic_std, f_K.std(axis=0))
    np.testing.assert_allclose(pred.noise_std, SIGMA)
    loaded = io.load(io.save(os.path.join(tmp_path, "chains.npz"), post))
    assert isinstance(loaded, Samples) and loaded.n_chains == 2 and loaded.run is None
    np.testing.assert_array_equal(loaded.chains()[0]["w"], post.chains()[0]["w"])
    with pytest.raises(ValueError, match="no sampler state to resume"):
        loaded.resume(10)
    longer = post.resume(40)
    assert longer.chains()[0]["w"].shape[:2] == (2, 100)
    np.testing.assert_array_equal(longer.chains()[0]["w"][:, :60], post.chains()[0]["w"])
    again = fit_nuts(
        x, y, (), n_chains=2, n_warmup=100, n_draws=100, prior_std=1.0, sigma=SIGMA, rng=1
    )
    np.testing.assert_array_equal(again.chains()[0]["w"], longer.chains()[0]["w"])


def test_samples_checks_its_arguments():
    params_K = [{"w": np.zeros((6, 1, 1)), "b": np.zeros((6, 1))}]
    with pytest.raises(ValueError, match="not a multiple of n_chains=4"):
        Samples(params_K, 0.1, 4)
    with pytest.raises(ValueError, match="sigma"):
        Samples(params_K, -1.0, 2)


def test_ctrl_c_while_sampling_returns_the_draws_so_far(blr, monkeypatch):
    x, y, _, _, _ = blr
    from tinynn import mcmc

    real = mcmc.nuts

    def interrupted_nuts(*args, **kwargs):
        inner = kwargs["value_and_grad"]
        calls = {"n": 0}

        def value_and_grad(q):
            calls["n"] += 1
            if calls["n"] == 600:
                raise KeyboardInterrupt
            return inner(q)

        return real(*args, **{**kwargs, "value_and_grad": value_and_grad})

    monkeypatch.setattr(mcmc, "nuts", interrupted_nuts)
    post = fit_nuts(
        x, y, (), n_chains=2, n_warmup=50, n_draws=1000, prior_std=1.0, sigma=SIGMA, rng=0
    )
    assert post.run.interrupted
    assert 0 < post.chains()[0]["w"].shape[1] < 1000
    with pytest.raises(KeyboardInterrupt):  # during warm-up there is no draw to return
        fit_nuts(x, y, (), n_chains=2, n_warmup=1000, n_draws=10, prior_std=1.0, sigma=SIGMA)


def _mean_field_blr(x, y, step, sigma=SIGMA, start_sigma=SIGMA, **options):
    """fit_vi on Bayesian linear regression from small stds; return its means and stds.

    With ``sigma="learn"`` the learned sigma is returned too.
    """
    start = MeanField(
        [{"w": np.zeros((2, 1)), "b": np.zeros(1)}],
        [{"w": np.full((2, 1), 0.01), "b": np.full(1, 0.01)}],
        start_sigma,
    )
    post = fit_vi(
        x,
        y,
        (),
        n_iters=6000,
        optimizer=optim.gradient_descent(step),
        prior_std=PRIOR_STD,
        sigma=sigma,
        init=start,
        average=0.5,
        rng=0,
        **options,
    )
    assert len(post.result.history) == 6000
    got_mean = np.r_[post.mean[0]["w"][:, 0], post.mean[0]["b"]]
    got_std = np.r_[post.std[0]["w"][:, 0], post.std[0]["b"]]
    return (got_mean, got_std, post.sigma) if sigma == "learn" else (got_mean, got_std)


def test_mean_field_vi_recovers_the_exact_mean_field_optimum(blr):
    x, y, mean, _, precision = blr
    got_mean, got_std = _mean_field_blr(x, y, 0.004, n_samples=4096)
    np.testing.assert_allclose(got_mean, mean, rtol=1e-3)
    np.testing.assert_allclose(got_std, 1.0 / np.sqrt(np.diag(precision)), rtol=1e-3)


def test_minibatch_vi_recovers_the_mean_field_optimum_and_its_estimates_add_up(blr):
    """Minibatches of 10 of the 30 rows, scaled by 3: the same optimum within 1e-2.

    Without the N / B scaling the stds would be sqrt(3) times too wide and the means shrunk to
    the prior; the remaining error is the minibatch noise left after averaging.
    """
    x, y, mean, _, precision = blr
    q = {
        "mean": [{"w": np.array([[1.0], [-0.3]]), "b": np.array([0.2])}],
        "log_std": [{"w": np.full((2, 1), -2.0), "b": np.full(1, -2.5)}],
    }
    full_value, full_grads = negative_elbo(
        x, y, sigma=SIGMA, prior_std=PRIOR_STD, n_samples=6, rng=4
    ).value_and_grad(q)
    total, summed = 0.0, tree.zeros_like(q)
    for rows in (np.arange(0, 12), np.arange(12, 30)):  # each with the same draws
        elbo = negative_elbo(x, y, sigma=SIGMA, prior_std=PRIOR_STD, n_samples=6, rng=4)
        value, grads = elbo.batch_value_and_grad(q, rows)
        total += value * len(rows) / 30
        summed = tree.axpy(len(rows) / 30, grads, summed)
    assert total == pytest.approx(full_value, rel=1e-12)
    np.testing.assert_allclose(tree.flatten(summed)[0], tree.flatten(full_grads)[0], atol=1e-9)

    got_mean, got_std = _mean_field_blr(x, y, 0.002, n_samples=128, batch_size=10)
    np.testing.assert_allclose(got_mean, mean, rtol=1e-2)
    np.testing.assert_allclose(got_std, 1.0 / np.sqrt(np.diag(precision)), rtol=1e-2)


@pytest.mark.parametrize("sigma", [0.2, "learn"])
def test_elbo_gradient_matches_finite_differences(sigma):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 2))
    y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=12)
    q = {
        "mean": [
            {"w": rng.normal(size=(2, 4)), "b": rng.normal(size=4)},
            {"w": rng.normal(size=(4, 1)), "b": rng.normal(size=1)},
        ],
        "log_std": [
            {"w": rng.normal(-1, 0.3, size=(2, 4)), "b": rng.normal(-1, 0.3, size=4)},
            {"w": rng.normal(-1, 0.3, size=(4, 1)), "b": rng.normal(-1, 0.3, size=1)},
        ],
    }
    if sigma == "learn":
        q["log_sigma"] = np.array([-1.3])

    def elbo(q_):  # the same noise on every call: a deterministic function of q
        objective = negative_elbo(
            x, y, sigma=sigma, prior_std=[1.0, 2.0, 0.5, 1.5], n_samples=5, rng=9
        )
        return objective.value_and_grad(q_)

    value, grads = elbo(q)
    theta, unflatten = tree.flatten(q)
    grad_flat, _ = tree.flatten(grads)
    h = 1e-6
    numeric = np.array(
        [
            (elbo(unflatten(theta + h * e))[0] - elbo(unflatten(theta - h * e))[0]) / (2 * h)
            for e in np.eye(len(theta))
        ]
    )
    np.testing.assert_allclose(grad_flat, numeric, rtol=1e-6, atol=1e-6)
    if sigma == "learn":  # the same value as with that sigma fixed
        fixed = negative_elbo(
            x, y, sigma=float(np.exp(-1.3)), prior_std=[1.0, 2.0, 0.5, 1.5], n_samples=5, rng=9
        )
        q_fixed = {"mean": q["mean"], "log_std": q["log_std"]}
        fixed_value, fixed_grads = fixed.value_and_grad(q_fixed)
        assert value == pytest.approx(fixed_value, rel=1e-12)
        np.testing.assert_allclose(
            tree.flatten(fixed_grads)[0], tree.flatten(grads)[0][:-1], rtol=1e-12
        )


def test_vi_learns_the_noise_at_the_elbo_fixed_point(blr):
    """With sigma learned, the optimum satisfies sigma**2 = E_q[sum of squared residuals] / N.

    For a linear model that expectation is closed-form: the residuals of the mean plus the
    variance each example's features carry, sum over i of x_i**2 . std**2. At the learned sigma
    the means are the exact posterior means and the stds the mean-field stds.
    """
    x, y, _, _, _ = blr
    features = np.column_stack([x, np.ones(len(x))])
    got_mean, got_std, got_sigma = _mean_field_blr(
        x, y, 0.002, n_samples=512, sigma="learn", start_sigma=0.5
    )
    expected_squares = np.sum((y - features @ got_mean) ** 2) + np.sum(features**2 @ got_std**2)
    assert got_sigma == pytest.approx(np.sqrt(expected_squares / len(y)), rel=1e-3)
    assert got_sigma != pytest.approx(0.5, rel=0.1)  # it moved from where it started
    precision = features.T @ features / got_sigma**2 + np.eye(3) / PRIOR_STD**2
    mean = np.linalg.solve(precision, features.T @ y / got_sigma**2)
    np.testing.assert_allclose(got_mean, mean, rtol=1e-6)
    np.testing.assert_allclose(got_std, 1.0 / np.sqrt(np.diag(precision)), rtol=3e-3)


def test_gaussian_kl_matches_its_formula_and_vanishes_at_the_prior():
    from tinynn.posterior._variational import _gaussian_kl

    mean = [{"w": np.array([[0.5, -1.0]]), "b": np.array([2.0])}]
    std = [{"w": np.array([[0.3, 2.0]]), "b": np.array([0.5])}]
    kl, _, _ = _gaussian_kl(mean, std, [4.0, 1.0])
    s0 = 0.5  # prior std of the weights (precision 4)
    expected = sum(
        np.log(s0 / s) + (s**2 + m**2) / (2 * s0**2) - 0.5 for m, s in ((0.5, 0.3), (-1.0, 2.0))
    ) + (np.log(1.0 / 0.5) + (0.25 + 4.0) / 2 - 0.5)
    assert kl == pytest.approx(expected, rel=1e-12)
    at_prior = [{"w": np.full((1, 2), 0.5), "b": np.ones(1)}]
    zero = [{"w": np.zeros((1, 2)), "b": np.zeros(1)}]
    assert _gaussian_kl(zero, at_prior, [4.0, 1.0])[0] == pytest.approx(0.0, abs=1e-15)


def test_fit_vi_default_path_fits_a_network_and_its_elbo_improves():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(40, 1))
    y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=40)
    post = fit_vi(x, y, (10,), n_iters=400, rng=0)
    losses = post.result.history.losses
    assert np.mean(losses[-50:]) < np.mean(losses[:50])
    pred = post.predict(np.array([[0.0], [3.0]]))
    assert pred.epistemic_std[1] > 2 * pred.epistemic_std[0]  # wider away from the data
    assert repr(post).startswith("MeanField(n_params=31, sigma=")


def test_mean_field_sample_save_load(tmp_path):
    post = MeanField(
        [{"w": np.array([[1.0, -1.0]]), "b": np.array([0.5, 0.0])}],
        [{"w": np.array([[0.1, 0.2]]), "b": np.array([0.3, 0.4])}],
        0.25,
    )
    draws = post.sample(20000, rng=0)
    np.testing.assert_allclose(draws[0]["w"].std(axis=0), [[0.1, 0.2]], rtol=0.03)
    np.testing.assert_allclose(draws[0]["b"].mean(axis=0), [0.5, 0.0], atol=0.01)
    loaded = io.load(io.save(os.path.join(tmp_path, "vi.npz"), post))
    assert isinstance(loaded, MeanField) and loaded.sigma == 0.25
    np.testing.assert_array_equal(loaded.std[0]["b"], post.std[0]["b"])
    x = np.array([[1.0], [2.0]])
    np.testing.assert_array_equal(loaded.predict(x).mean, post.predict(x).mean)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: MeanField([{"w": np.zeros(2)}], [{"w": np.ones(3)}], 0.1),
            ValueError,
            "same shapes",
        ),
        (
            lambda: MeanField([{"w": np.zeros(2)}], [{"w": np.zeros(2)}], 0.1),
            ValueError,
            "std must be positive",
        ),
        (
            lambda: fit_vi(
                np.zeros((3, 1)), np.zeros(3), (), average=1.0, prior_std=1.0, sigma=1.0
            ),
            ValueError,
            r"average must be in \[0, 1\)",
        ),
        (
            lambda: fit_vi(np.zeros((3, 1)), np.zeros(3), (), init=3),
            TypeError,
            "init must be a MeanField",
        ),
        (lambda: fit_vi(np.zeros((3, 1)), np.zeros(3), (), n_samples=0), ValueError, "n_samples"),
        (
            lambda: fit_vi(np.zeros((3, 1)), np.zeros(3), (), sigma="learned"),
            ValueError,
            "sigma must be one of 'learn', got 'learned'",
        ),
    ],
)
def test_variational_errors_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(("method", "batch_size"), [("sgld", 30), ("sgld", 10), ("sghmc", 10)])
def test_sgld_with_a_small_step_recovers_the_exact_posterior_mean(blr, method, batch_size):
    x, y, mean, cov, _ = blr
    post = fit_sgld(
        x,
        y,
        (),
        method=method,
        batch_size=batch_size,
        step_size=0.01,
        n_iters=20000,
        burn_in=2000,
        thin=5,
        prior_std=PRIOR_STD,
        sigma=SIGMA,
        rng=0,
    )
    draws = flat_chains(post)
    assert draws.shape[:2] == (4, 3600)
    for i in range(3):
        values = draws[..., i]
        se = values.std() / np.sqrt(float(diagnostics.ess(values)))
        assert abs(values.mean() - mean[i]) / se < 4.0
    # a small step leaves only a small bias in the spread
    np.testing.assert_allclose(draws.reshape(-1, 3).std(axis=0), np.sqrt(np.diag(cov)), rtol=0.1)


def test_minibatch_gradients_averaged_over_an_epoch_equal_the_full_gradient(blr):
    x, y, _, _, _ = blr
    rng = np.random.default_rng(0)
    template = [
        {"w": np.zeros((2, 4)), "b": np.zeros(4)},
        {"w": np.zeros((4, 1)), "b": np.zeros(1)},
    ]
    density = NetworkLogDensity(x, y, template, sigma=SIGMA, prior_std=[1.0, 2.0, 0.5, 1.5])
    q = rng.normal(size=(3, 17))
    full_value, full_grad = density(q)
    order = rng.permutation(30)
    parts = [density.minibatch(q, x[rows], y[rows, None], 30 / 6) for rows in np.split(order, 5)]
    np.testing.assert_allclose(np.mean([g for _, g in parts], axis=0), full_grad, rtol=1e-12)
    np.testing.assert_allclose(np.mean([v for v, _ in parts], axis=0), full_value, rtol=1e-12)


def test_sgld_divergence_and_errors(blr):
    x, y, _, _, _ = blr
    with pytest.warns(optim.DivergenceWarning, match="sgld diverged at step"):
        post = fit_sgld(
            x,
            y,
            (),
            step_size=100.0,
            n_iters=200,
            burn_in=0,
            thin=1,
            prior_std=1.0,
            sigma=SIGMA,
            rng=0,
        )
    assert 0 < post.chains()[0]["w"].shape[1] < 200
    with pytest.raises(ValueError, match="leaves no draw after burn_in=100"):
        fit_sgld(x, y, (), n_iters=100, burn_in=100)
    with pytest.raises(ValueError, match=r"friction must be in \(0, 1\]"):
        fit_sgld(x, y, (), method="sghmc", friction=0.0)
    with pytest.raises(ValueError, match="step_size must be positive"):
        fit_sgld(x, y, (), step_size=-1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        fit_sgld(x, y, (), method="langevin")


def test_network_log_density_checks_its_network_against_the_data(blr):
    x, y, _, _, _ = blr
    wrong = [{"w": np.zeros((3, 1)), "b": np.zeros(1)}]  # three inputs, x has two
    with pytest.raises(ValueError, match="params map 3 inputs to 1 outputs, but x has 2"):
        NetworkLogDensity(x, y, wrong, sigma=SIGMA, prior_std=1.0)
    right = [{"w": np.zeros((2, 1)), "b": np.zeros(1)}]
    with pytest.raises(ValueError, match="built-in activation name"):
        NetworkLogDensity(x, y, right, sigma=SIGMA, prior_std=1.0, activation=lambda z: z**3)
    with pytest.raises(ValueError, match="sigma"):
        NetworkLogDensity(x, y, right, sigma=0.0, prior_std=1.0)
    # the gradient matches central finite differences
    density = NetworkLogDensity(x, y, right, sigma=SIGMA, prior_std=[2.0, 0.5])
    q = np.random.default_rng(0).normal(size=(2, 3))
    _, grad = density(q)
    h = 1e-6
    for j in range(3):
        step = np.zeros(3)
        step[j] = h
        numeric = (density(q + step)[0] - density(q - step)[0]) / (2 * h)
        np.testing.assert_allclose(grad[:, j], numeric, rtol=1e-6)


@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus"])
@pytest.mark.parametrize(
    ("n_in", "hidden", "n_rows", "n_examples"),
    [(1, [20], 32, 60), (3, [4], 5, 7), (2, [30], 1, 300), (2, [6, 5], 4, 40)],
)
def test_network_log_density_equals_autograd_on_the_same_network(
    activation, n_in, hidden, n_rows, n_examples
):
    # One hidden layer and one output take the fused path, two hidden layers the general one;
    # both must be the log posterior autograd differentiates, on the full data and on a
    # minibatch with its likelihood scaled.
    import autograd
    import autograd.numpy as anp

    from tinynn import model, params

    rng = np.random.default_rng(n_in + n_rows)
    x = rng.normal(size=(n_examples, n_in))
    y = rng.normal(size=n_examples)
    template = params.make_params(n_in, hidden, 1, rng=0)
    stds = rng.uniform(0.5, 2.0, size=len(tree.leaves(template)))
    density = NetworkLogDensity(
        x, y, template, sigma=0.3, prior_std=list(stds), activation=activation
    )
    q = rng.normal(size=(n_rows, density.n_params))
    rows = rng.choice(n_examples, size=n_examples // 3 + 1, replace=False)

    def reference(theta_P, x_MD, y_M, scale):
        net = unflatten(theta_P)
        residual = y_M - model.predict(net, x_MD, activation=activation)
        leaves = tree.leaves(net)
        prior = sum(anp.sum(leaf**2) / s**2 for leaf, s in zip(leaves, stds, strict=True))
        return -0.5 * (scale * anp.sum(residual**2) / 0.3**2 + prior)

    _, unflatten = tree.flatten(template)
    value_and_grad = autograd.value_and_grad(reference)
    for x_MD, y_M, scale, (values, grads) in [
        (x, y, 1.0, density(q)),
        (x[rows], y[rows], 2.5, density.minibatch(q, x[rows], y[rows, None], 2.5)),
    ]:
        for b in range(n_rows):
            value, grad = value_and_grad(q[b], x_MD, y_M, scale)
            np.testing.assert_allclose(values[b], value, rtol=1e-12)
            np.testing.assert_allclose(grads[b], grad, rtol=1e-10, atol=1e-12 * np.abs(grad).max())


@pytest.mark.parametrize("name", ["fit_vi", "fit_nuts", "fit_hmc", "fit_sgld"])
def test_the_starting_laplace_fit_warns_in_the_samplers_name(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The starting fit's own words would say "raise n_iters": a parameter the samplers lack,
    # or (fit_vi, fit_sgld) one of theirs that does something else.
    from tinynn import posterior
    from tinynn.posterior import _fit as fit_module

    real = fit_module.fit_laplace

    def short(*args, **kwargs):  # type: ignore[no-untyped-def]
        return real(*args, **{**kwargs, "n_iters": 2, "max_rounds": 1})

    monkeypatch.setattr(fit_module, "fit_laplace", short)
    x = np.linspace(-1.0, 1.0, 30)[:, None]
    y = np.sin(3.0 * x[:, 0])
    options = {
        "fit_vi": {"n_iters": 20},
        "fit_nuts": {"n_warmup": 5, "n_draws": 5},
        "fit_hmc": {"n_warmup": 5, "n_draws": 5},
        "fit_sgld": {"n_iters": 200, "burn_in": 100, "batch_size": 10},
    }[name]
    with pytest.warns(optim.ConvergenceWarning) as record:
        getattr(posterior, name)(x, y, (4,), rng=0, **options)
    assert [w.filename for w in record] == [__file__, __file__]
    assert str(record[0].message) == (
        f"{name}: its starting Laplace fit stopped at n_iters=2 before converging (the "
        "objective still changed by more than a fraction 1e-06 per iteration); it starts from "
        "where that fit stopped"
    )
    assert str(record[1].message).startswith(
        f"{name}: in its starting Laplace fit sigma or the evidence still moved by up to "
    )
    assert str(record[1].message).endswith(
        "(relative) after max_rounds=1 rounds; pass prior_std and sigma to fix them"
    )
