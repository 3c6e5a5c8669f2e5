"""tinynn.mcmc: NUTS and HMC recover known posteriors within their own Monte Carlo error.

The oracles are Gaussians whose means and covariances are known exactly: Bayesian linear
regression's posterior (written here in numpy, so only the sampler is under test) and a 2-D
Gaussian with correlation 0.99. A z-score divides an estimate's error by its Monte Carlo
standard error, ``sd / sqrt(ESS)`` with the ESS of the very quantity averaged; every z-score
must stay below 4. The seeds are fixed, so each test gives the same draws on every run.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import diagnostics, mcmc, tree


def gaussian(mean_P: np.ndarray, cov_PP: np.ndarray):
    """Return the batched value and gradient of the log density of N(mean, cov)."""
    precision = np.linalg.inv(cov_PP)

    def value_and_grad(q_BP: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = q_BP - mean_P
        g = -(r @ precision)
        return 0.5 * np.sum(r * g, axis=1), g

    return value_and_grad


def blr_posterior(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return the exact posterior mean and covariance of a Bayesian linear regression."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(30, 2))
    features = np.column_stack([x, np.ones(30)])  # w1, w2, bias
    y = features @ np.array([1.5, -0.5, 0.3]) + 0.3 * rng.normal(size=30)
    sigma, prior_std = 0.3, 1.0
    precision = features.T @ features / sigma**2 + np.eye(3) / prior_std**2
    cov = np.linalg.inv(precision)
    return cov @ features.T @ y / sigma**2, cov


def z_scores(draws_CSP: np.ndarray, mean_P: np.ndarray, cov_PP: np.ndarray) -> np.ndarray:
    """Return the z-scores of the sample means and of every sample covariance entry."""
    centred = draws_CSP - mean_P
    n_params = len(mean_P)
    quantities = [draws_CSP[..., i] for i in range(n_params)]
    exact = list(mean_P)
    for i in range(n_params):
        for j in range(i, n_params):
            quantities.append(centred[..., i] * centred[..., j])
            exact.append(cov_PP[i, j])
    scores = []
    for values_CS, truth in zip(quantities, exact, strict=True):
        ess = float(diagnostics.ess(values_CS))
        se = values_CS.std() / np.sqrt(ess)
        scores.append((values_CS.mean() - truth) / se)
    return np.abs(np.array(scores))


@pytest.mark.parametrize("method", ["nuts", "hmc"])
def test_bayesian_linear_regression_posterior_is_recovered(method):
    mean, cov = blr_posterior()
    init = np.zeros((4, 3))
    if method == "nuts":
        run = mcmc.nuts(None, init, value_and_grad=gaussian(mean, cov), n_draws=1000, rng=0)
    else:
        run = mcmc.hmc(None, init, value_and_grad=gaussian(mean, cov), n_steps=10, rng=0)
    assert np.max(z_scores(run.flat_draws, mean, cov)) < 4.0
    assert not run.stats["diverging"].any()
    # the warm-up found each coordinate's scale: the inverse mass is near the variances
    np.testing.assert_allclose(run.inv_mass, np.broadcast_to(np.diag(cov), (4, 3)), rtol=0.5)


def test_nuts_recovers_a_strongly_correlated_gaussian():
    cov = np.array([[1.0, 0.99], [0.99, 1.0]])
    mean = np.array([1.0, -2.0])
    run = mcmc.nuts(
        None,
        np.zeros((4, 2)),
        value_and_grad=gaussian(mean, cov),
        n_warmup=500,
        n_draws=1000,
        rng=3,
    )
    assert np.max(z_scores(run.flat_draws, mean, cov)) < 4.0
    assert np.all(diagnostics.split_rhat(run.flat_draws) < 1.01)
    # a diagonal metric cannot undo the correlation: the trajectories have to be long
    assert run.chain_stats()["tree_depth"].mean() > 3


def test_a_sampler_that_ignores_detailed_balance_would_fail_the_z_scores():
    """The oracle can fail: a sampler biased by 20% of a posterior sd gives z-scores above 4."""
    mean, cov = blr_posterior()
    run = mcmc.nuts(None, np.zeros((4, 3)), value_and_grad=gaussian(mean, cov), n_draws=1000, rng=0)
    shifted = run.flat_draws + 0.2 * np.sqrt(np.diag(cov))
    assert np.max(z_scores(shifted, mean, cov)) > 4.0


def test_autograd_log_density_on_a_stacked_tree_gives_tree_draws():
    def log_density(params_B):
        w, b = params_B[0]["w"], params_B[0]["b"]
        return -0.5 * (w[:, 0, 0] - 1.0) ** 2 / 0.25 - 0.5 * b[:, 0] ** 2

    init = tree.stack([[{"w": np.zeros((1, 1)), "b": np.zeros(1)}]] * 2)
    run = mcmc.nuts(log_density, init, n_warmup=300, n_draws=600, rng=0)
    assert run.draws[0]["w"].shape == (2, 600, 1, 1)
    assert run.draws[0]["b"].shape == (2, 600, 1)
    table = run.summary()
    assert table["name"] == ["params[0]['w'][0, 0]", "params[0]['b'][0]"]
    np.testing.assert_allclose(table["mean"], [1.0, 0.0], atol=0.15)
    np.testing.assert_allclose(table["sd"], [0.5, 1.0], rtol=0.15)


def test_same_seed_same_draws_and_another_seed_other_draws():
    vg = gaussian(np.zeros(2), np.eye(2))
    a = mcmc.nuts(None, np.zeros((2, 2)), value_and_grad=vg, n_warmup=50, n_draws=30, rng=5)
    b = mcmc.nuts(None, np.zeros((2, 2)), value_and_grad=vg, n_warmup=50, n_draws=30, rng=5)
    c = mcmc.nuts(None, np.zeros((2, 2)), value_and_grad=vg, n_warmup=50, n_draws=30, rng=6)
    np.testing.assert_array_equal(a.flat_draws, b.flat_draws)
    for name in a.stats:
        np.testing.assert_array_equal(a.stats[name], b.stats[name])
    assert not np.array_equal(a.flat_draws, c.flat_draws)


class Interrupter:
    """A log density that raises KeyboardInterrupt (Ctrl-C) at its n-th call."""

    def __init__(self, inner, at_call: int) -> None:
        self.inner, self.at_call, self.calls = inner, at_call, 0

    def __call__(self, q_BP):
        self.calls += 1
        if self.calls == self.at_call:
            raise KeyboardInterrupt
        return self.inner(q_BP)


@pytest.mark.parametrize("method", ["nuts", "hmc"])
@pytest.mark.parametrize("at_call", [40, 900])  # during warm-up; during the draws
def test_ctrl_c_returns_the_draws_so_far_and_resume_continues_bit_for_bit(method, at_call):
    vg = gaussian(np.array([1.0, 2.0]), np.diag([1.0, 4.0]))
    sampler = mcmc.nuts if method == "nuts" else mcmc.hmc
    kwargs = {"n_warmup": 100, "n_draws": 150, "rng": 11}
    whole = sampler(None, np.zeros((3, 2)), value_and_grad=vg, **kwargs)
    stopped = sampler(None, np.zeros((3, 2)), value_and_grad=Interrupter(vg, at_call), **kwargs)
    assert stopped.interrupted
    assert "interrupted by KeyboardInterrupt" in stopped.message
    assert stopped.n_draws < 150
    np.testing.assert_array_equal(stopped.flat_draws, whole.flat_draws[:, : stopped.n_draws])
    finished = stopped.resume()
    assert not finished.interrupted
    np.testing.assert_array_equal(finished.flat_draws, whole.flat_draws)
    np.testing.assert_array_equal(finished.step_size, whole.step_size)
    for name in whole.stats:
        np.testing.assert_array_equal(finished.stats[name], whole.stats[name])


def test_resume_with_more_draws_equals_one_longer_run():
    vg = gaussian(np.zeros(3), np.eye(3))
    long = mcmc.nuts(None, np.zeros((2, 3)), value_and_grad=vg, n_warmup=60, n_draws=80, rng=2)
    short = mcmc.nuts(None, np.zeros((2, 3)), value_and_grad=vg, n_warmup=60, n_draws=50, rng=2)
    more = short.resume(n_draws=30)
    np.testing.assert_array_equal(more.flat_draws, long.flat_draws)
    assert short.n_draws == 50  # the first result is left as it was


def test_hmc_statistics():
    vg = gaussian(np.zeros(10), np.diag(np.linspace(0.5, 2.0, 10)))
    run = mcmc.hmc(
        None, np.zeros((4, 10)), value_and_grad=vg, n_steps=8, n_warmup=200, n_draws=100, rng=0
    )
    assert run.stats["n_leapfrog"].shape == (4, 100)
    assert np.all(run.stats["n_leapfrog"] == 8)
    assert np.all((run.stats["accept_prob"] >= 0) & (run.stats["accept_prob"] <= 1))
    assert "tree_depth" not in run.stats
    assert np.all(run.stats["step_size"] == run.step_size[:, None])


def test_dual_averaging_finds_the_step_size_of_the_target_acceptance():
    """On an acceptance curve known in closed form, the averaged step lands on its root."""
    from tinynn.mcmc._adapt import DualAveraging

    def acceptance(step_C):
        return np.exp(-(step_C**2))  # falls from 1 as the step grows

    for target in (0.6, 0.8, 0.95):
        averaging = DualAveraging.start(np.array([0.01, 1.0, 10.0]), target)
        for _ in range(2000):
            averaging.update(acceptance(averaging.step_C))
        np.testing.assert_allclose(averaging.final_step_C, np.sqrt(-np.log(target)), rtol=0.05)


def test_a_higher_target_acceptance_gives_smaller_steps_and_more_acceptance():
    vg = gaussian(np.zeros(4), np.diag([0.5, 1.0, 1.5, 2.0]))
    low, high = (
        mcmc.nuts(
            None,
            np.zeros((4, 4)),
            value_and_grad=vg,
            n_warmup=300,
            n_draws=200,
            target_accept=target,
            rng=0,
        )
        for target in (0.6, 0.95)
    )
    assert np.all(high.step_size < low.step_size)
    assert high.chain_stats()["accept_prob"].mean() > 0.9
    assert low.chain_stats()["accept_prob"].mean() < high.chain_stats()["accept_prob"].mean()


def test_nuts_statistics_are_consistent():
    vg = gaussian(np.zeros(3), np.eye(3))
    run = mcmc.nuts(
        None, np.zeros((2, 3)), value_and_grad=vg, n_warmup=100, n_draws=200, max_depth=3, rng=0
    )
    depth, steps = run.stats["tree_depth"], run.stats["n_leapfrog"]
    assert np.all((depth >= 1) & (depth <= 3))
    assert np.all(steps <= 2**depth - 1)  # a trajectory of depth d has at most 2**d - 1 new points
    assert np.all(steps >= 2 ** (depth - 1))
    assert np.array_equal(run.chain_stats()["max_depth_hits"], (depth == 3).sum(axis=1))
    # the energy of a draw is its Hamiltonian: at least the potential energy
    assert np.all(run.stats["energy"] >= -run.stats["log_density"] - 1e-12)
    assert run.n_grad_evals >= steps.sum()


def test_divergences_are_detected_and_the_chain_stays_where_it_was():
    vg = gaussian(np.zeros(50), np.eye(50))
    run = mcmc.hmc(
        None,
        np.zeros((2, 50)),
        value_and_grad=vg,
        n_steps=10,
        n_warmup=0,
        n_draws=20,
        step_size=2.5,
        rng=0,
    )
    assert run.stats["diverging"].all()  # a step of 2.5 on a unit scale blows up
    assert np.all(run.flat_draws == 0.0)  # every proposal rejected
    assert run.chain_stats()["n_divergent"].tolist() == [20, 20]


@pytest.mark.parametrize(
    ("method", "n_warmup", "n_draws"), [("nuts", 100, 300), ("hmc", 1000, 3000)]
)
def test_a_log_density_that_is_minus_infinity_outside_a_box_is_sampled_inside_it(
    method, n_warmup, n_draws
):
    def value_and_grad(q_BP):
        inside = np.all(np.abs(q_BP) < 1.0, axis=1)
        return np.where(inside, 0.0, -np.inf), np.zeros_like(q_BP)

    sampler = getattr(mcmc, method)
    run = sampler(
        None,
        np.zeros((2, 2)),
        value_and_grad=value_and_grad,
        n_warmup=n_warmup,
        n_draws=n_draws,
        rng=0,
    )
    assert np.all(np.abs(run.flat_draws) < 1.0)
    assert run.stats["diverging"].any()  # leaving the box is a divergence
    np.testing.assert_allclose(run.flat_draws.var(axis=(0, 1)), 1.0 / 3.0, rtol=0.3)


def test_summary_and_format_show_per_chain_statistics():
    vg = gaussian(np.zeros(2), np.eye(2))
    run = mcmc.nuts(None, np.zeros((3, 2)), value_and_grad=vg, n_warmup=50, n_draws=40, rng=0)
    text = run.format()
    assert text.splitlines()[0] == "completed 90 iterations (50 warm-up, 40 draws)"
    assert "n_divergent" in text and "r_hat" in text
    assert len(text.splitlines()) == 2 + 3 + 1 + 1 + 2
    assert repr(run) == (
        "MCMCResult(method='nuts', n_chains=3, n_draws=40, n_params=2, interrupted=False)"
    )


def test_window_schedule_follows_stan():
    from tinynn.mcmc._adapt import first_slow_iteration, window_ends

    assert window_ends(1000) == [100, 150, 250, 450, 950]
    assert first_slow_iteration(1000) == 75
    assert window_ends(150) == [100]
    assert window_ends(19) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"init": np.zeros(3)}, ValueError, r"init must hold one row per chain.*init\[None\]"),
        ({"init": np.full((2, 2), np.nan)}, ValueError, "init must be finite"),
        ({"init": np.zeros((2, 0))}, ValueError, "at least one parameter per chain"),
        ({"init": [{"w": np.zeros((2, 1)), "b": np.zeros(3)}]}, ValueError, "leading chain axis"),
        ({"n_draws": -1}, ValueError, "n_draws"),
        ({"target_accept": 1.0}, ValueError, "target_accept must be strictly between 0 and 1"),
        ({"target_accept": "high"}, TypeError, "target_accept must be a float"),
        ({"max_depth": 0}, ValueError, "max_depth"),
        ({"max_depth": 25}, ValueError, "max_depth must be at most 20"),
        ({"step_size": -0.1}, ValueError, "step_size must be positive"),
        ({"inv_mass": np.ones(3)}, ValueError, r"inv_mass must have shape \(\) or \(2,\) or"),
        ({"adapt_mass": 1}, TypeError, "adapt_mass must be True or False"),
        ({"log_density": None}, TypeError, "exactly one of log_density"),
        ({"log_density": 3.0}, TypeError, "log_density must be callable"),
        ({"log_density": lambda q: q}, ValueError, r"one value per chain, shape \(2,\)"),
        (
            {"log_density": lambda q: np.einsum("bi,bi->b", q, q)},
            TypeError,
            "write it with autograd.numpy",
        ),
        ({"log_density": lambda q: -np.inf * q.sum(1)}, ValueError, "chain 0 starts at"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    arguments = {
        "log_density": lambda q: -0.5 * (q**2).sum(1) + 1.0,
        "init": np.ones((2, 2)),
        "n_warmup": 5,
        "n_draws": 5,
    }
    arguments.update(kwargs)
    log_density, init = arguments.pop("log_density"), arguments.pop("init")
    with pytest.raises(error, match=match):
        mcmc.nuts(log_density, init, **arguments)


def test_hmc_checks_its_step_count():
    with pytest.raises(ValueError, match="n_steps"):
        mcmc.hmc(lambda q: -(q**2).sum(1), np.zeros((1, 1)), n_steps=0)


def test_the_batched_target_masks_only_the_chains_that_went_bad():
    from tinynn.mcmc._kernels import Target

    seen = []

    def value_and_grad(q_BP):
        seen.append(len(q_BP))
        values = -0.5 * np.sum(q_BP**2, axis=1)
        values[q_BP[:, 0] > 5.0] = np.nan  # a chain past 5 gets a NaN log density
        return values, -q_BP

    target = Target(value_and_grad, 2)
    q = np.array([[1.0, 2.0], [np.inf, 0.0], [6.0, 0.0], [0.0, 1.0]])
    point = target(q)
    assert seen == [3]  # the infinite position is never evaluated
    assert target.n_evals == 3 and target.n_calls == 1
    np.testing.assert_array_equal(point.logp_C, [-2.5, -np.inf, -np.inf, -0.5])
    np.testing.assert_array_equal(point.grad_CP, [[-1.0, -2.0], [0, 0], [0, 0], [0.0, -1.0]])
    good = target(q[[0, 3]])  # all finite: the values and gradients are passed through as they are
    assert seen == [3, 2] and target.n_evals == 5
    np.testing.assert_array_equal(good.logp_C, [-2.5, -0.5])
