"""Ensembles through the sample axis, the mixture predictive, and the metrics module."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from tinynn import io, metrics, tree
from tinynn.losses import make_objective
from tinynn.model import predict
from tinynn.optim import ConvergenceWarning
from tinynn.params import make_params
from tinynn.posterior import Ensemble, PointEstimate, Posterior, fit_ensemble

# fit_ensemble's warning when its joint fit reaches n_iters before converging
UNCONVERGED = "fit_ensemble: the joint fit stopped at n_iters="

# -- metrics against scipy ---------------------------------------------------------------------


def gaussian_case(n: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=n), rng.normal(size=n), rng.uniform(0.2, 2.0, size=n)


def test_gaussian_log_likelihood_matches_scipy() -> None:
    y, mean, std = gaussian_case()
    expected = np.mean(stats.norm.logpdf(y, mean, std))
    assert metrics.gaussian_log_likelihood(y, mean, std) == pytest.approx(expected, rel=1e-13)


def test_mixture_log_likelihood_matches_a_direct_sum_and_survives_far_components() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=20)
    means = rng.normal(size=(4, 20))
    stds = rng.uniform(0.5, 1.5, size=(4, 20))
    direct = np.mean(np.log(np.mean(stats.norm.pdf(y, means, stds), axis=0)))
    assert metrics.mixture_log_likelihood(y, means, stds) == pytest.approx(direct, rel=1e-12)
    far = np.array([[0.0], [1e4]])  # a direct sum would underflow to log(0) without logsumexp
    value = metrics.mixture_log_likelihood(np.array([50.0]), far, np.full((2, 1), 0.1))
    assert np.isfinite(value)
    one = metrics.mixture_log_likelihood(y, means[:1], stds[:1])
    assert one == pytest.approx(metrics.gaussian_log_likelihood(y, means[0], stds[0]), rel=1e-13)


def test_crps_matches_numerical_integration() -> None:
    y, mean, std = gaussian_case(5)
    expected = [  # the CRPS definition: integral of (F(u) - 1{u >= y})**2 du, split at y
        integrate.quad(lambda u, m=m, s=s: stats.norm.cdf(u, m, s) ** 2, -np.inf, t)[0]
        + integrate.quad(lambda u, m=m, s=s: stats.norm.sf(u, m, s) ** 2, t, np.inf)[0]
        for t, m, s in zip(y, mean, std, strict=True)
    ]
    assert metrics.crps_gaussian(y, mean, std) == pytest.approx(np.mean(expected), rel=1e-9)


def test_coverage_width_and_calibration() -> None:
    y = np.array([0.0, 1.0, 2.0, 3.0])
    lower, upper = np.full(4, 0.5), np.full(4, 2.0)
    assert metrics.interval_coverage(y, lower, upper) == 0.5
    assert metrics.interval_width(lower, upper) == 1.5
    rng = np.random.default_rng(2)
    z = rng.normal(size=100000)
    nominal, observed = metrics.calibration_curve(2.0 * z, np.zeros_like(z), np.ones_like(z))
    assert np.all(observed < nominal)  # too narrow by 2x: overconfident, below the diagonal
    nominal, observed = metrics.calibration_curve(
        z, np.zeros_like(z), np.ones_like(z), levels=[0.5, 0.9]
    )
    np.testing.assert_allclose(observed, nominal, atol=4 * math.sqrt(0.25 / 100000))
    assert metrics.normal_cdf(np.array([-1.0]))[0] == pytest.approx(stats.norm.cdf(-1.0), rel=1e-15)
    assert metrics.normal_quantile(0.9) == pytest.approx(stats.norm.ppf(0.9), rel=1e-12)


def test_metric_errors_name_the_argument() -> None:
    y, mean, std = gaussian_case(3)
    with pytest.raises(ValueError, match=r"same shape \(nothing is broadcast\)"):
        metrics.gaussian_log_likelihood(y, mean[:, None], std)
    with pytest.raises(ValueError, match="std must be positive"):
        metrics.gaussian_log_likelihood(y, mean, -std)
    with pytest.raises(ValueError, match="means_K and stds_K must both have shape"):
        metrics.mixture_log_likelihood(y, mean, std)
    with pytest.raises(ValueError, match="are they swapped"):
        metrics.interval_coverage(y, y + 1, y - 1)
    with pytest.raises(ValueError, match="levels must lie strictly between 0 and 1"):
        metrics.calibration_curve(y, mean, std, levels=[0.5, 1.0])
    with pytest.raises(ValueError, match="level must be strictly between 0 and 1"):
        metrics.normal_quantile(1.0)
    with pytest.raises(ValueError, match="mean must be finite, got nan"):
        metrics.crps_gaussian(y, mean * np.nan, std)


# -- ensembles ----------------------------------------------------------------------------------


def toy(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(-2, -0.5, n // 2), rng.uniform(0.5, 2, n - n // 2)])[:, None]
    return x, np.sin(2 * x[:, 0]) + 0.1 * rng.normal(size=n)


def test_joint_training_equals_separate_members() -> None:
    """Adam's steps are per element, so K members trained together equal K separate fits."""
    x, y = toy()
    with pytest.warns(ConvergenceWarning, match=UNCONVERGED):  # 60 iterations on purpose
        ens = fit_ensemble(
            x,
            y,
            (8,),
            n_members=3,
            prior_std=1.0,
            sigma=0.1,
            anchored=False,
            optimizer="adam",
            n_iters=60,
            rng=4,
        )
    loss = make_objective(x, y, sigma=0.1)
    from tinynn import optim

    gen = np.random.default_rng(4)  # fit_ensemble draws the K starts from one generator
    starts = [make_params(1, [8], 1, rng=gen) for _ in range(3)]
    for k, start in enumerate(starts):

        def vg(p):
            v, g = loss.value_and_grad(p)
            return v + 0.5 * tree.vdot(p, p), tree.add(g, p)

        alone = optim.minimize(
            None, start, value_and_grad=vg, optimizer=optim.adam(0.01), n_iters=60
        )
        for got, want in zip(
            tree.leaves(tree.index(ens.params, k)), tree.leaves(alone.params), strict=True
        ):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_anchored_members_differ_and_fit() -> None:
    x, y = toy()
    with pytest.warns(ConvergenceWarning, match=UNCONVERGED):
        ens = fit_ensemble(x, y, (16,), n_members=4, prior_std=1.0, sigma=0.1, rng=0)
    f_K = predict(ens.params, x)
    assert f_K.shape == (4, len(y))
    assert np.all(np.sqrt(np.mean((f_K - y) ** 2, axis=1)) < 0.2)
    far = ens.predict(np.array([[6.0]]))
    assert far.epistemic_std[0] > 3 * 0.1  # members disagree far from the data


def test_joint_fit_converges_or_says_so() -> None:
    """A converged joint fit stops by itself and does not change when n_iters grows; a fit cut
    short by n_iters warns, and its result is exactly the first n_iters iterations."""
    x, y = toy()
    settings = {"n_members": 3, "prior_std": 1.0, "sigma": 0.1, "rng": 0}
    converged = fit_ensemble(x, y, (6,), n_iters=3000, **settings)
    assert converged.result.reason == "converged"
    n = converged.result.n_iters
    assert 10 < n < 3000
    longer = fit_ensemble(x, y, (6,), n_iters=2 * n, **settings)
    for got, want in zip(tree.leaves(longer.params), tree.leaves(converged.params), strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.warns(ConvergenceWarning, match=f"{UNCONVERGED}{n // 2} before converging"):
        short = fit_ensemble(x, y, (6,), n_iters=n // 2, **settings)
    assert short.result.reason == "completed" and short.result.n_iters == n // 2
    first = converged.result.history.losses[: len(short.result.history.losses)]
    np.testing.assert_array_equal(short.result.history.losses, first)  # the same path, cut
    assert not np.array_equal(short.predict(x).mean, converged.predict(x).mean)


def test_evidence_sets_missing_hyperparameters() -> None:
    x, y = toy()
    with pytest.warns(ConvergenceWarning, match=UNCONVERGED):
        ens = fit_ensemble(x, y, (8,), n_members=2, n_iters=100, rng=0)
    assert 0.03 < ens.sigma[0] < 0.3


def test_mixture_predictive_and_density() -> None:
    members = [[{"w": np.array([[a]]), "b": np.zeros(1)}] for a in (1.0, 3.0)]
    ens = Ensemble(tree.stack(members), sigma=np.array([0.5, 1.0]), activation="tanh")
    x = np.array([[1.0], [2.0]])
    pred = ens.predict(x)
    np.testing.assert_allclose(pred.mean, [2.0, 4.0])
    np.testing.assert_allclose(pred.std**2, [1.0 + 0.625, 4.0 + 0.625])
    y = np.array([1.2, 5.0])
    direct = np.mean(
        np.log(0.5 * stats.norm.pdf(y, [1.0, 2.0], 0.5) + 0.5 * stats.norm.pdf(y, [3.0, 6.0], 1.0))
    )
    assert ens.log_predictive_density(x, y) == pytest.approx(direct, rel=1e-12)
    lower, upper = ens.interval(x, 0.8)

    def cdf(t: float, i: int) -> float:
        return 0.5 * stats.norm.cdf(t, [1.0, 2.0][i], 0.5) + 0.5 * stats.norm.cdf(
            t, [3.0, 6.0][i], 1.0
        )

    for i in range(2):
        assert cdf(lower[i], i) == pytest.approx(0.1, abs=1e-12)
        assert cdf(upper[i], i) == pytest.approx(0.9, abs=1e-12)
    draws = ens.predictive_samples(x, 40000, rng=0)
    inside = np.mean((draws >= lower) & (draws <= upper), axis=0)
    np.testing.assert_allclose(inside, 0.8, atol=4 * math.sqrt(0.16 / 40000))


def test_ensemble_save_and_load(tmp_path) -> None:
    x, y = toy()
    with pytest.warns(ConvergenceWarning, match=UNCONVERGED):
        ens = fit_ensemble(x, y, (4,), n_members=3, prior_std=1.0, sigma=0.2, n_iters=20, rng=0)
    back = io.load(io.save(tmp_path / "ens.npz", ens))
    assert isinstance(back, Posterior) and isinstance(back, Ensemble)
    np.testing.assert_array_equal(back.predict(x).mean, ens.predict(x).mean)


def test_ensemble_errors() -> None:
    single = make_params(1, [3], rng=0)
    with pytest.raises(ValueError, match="params_K must be stacked"):
        Ensemble(single, sigma=1.0)
    with pytest.raises(ValueError, match="sigma must be a positive number or 2 positive numbers"):
        Ensemble(tree.stack([single, single]), sigma=[1.0, 2.0, 3.0])
    x, y = toy()
    with pytest.raises(ValueError, match="optimizer must be one of"):
        fit_ensemble(x, y, (3,), prior_std=1.0, sigma=0.1, optimizer="sgd")
    with pytest.raises(ValueError, match="n_members must be"):
        fit_ensemble(x, y, (3,), n_members=0, prior_std=1.0, sigma=0.1)


def test_point_estimate_has_only_noise(tmp_path) -> None:
    params = make_params(1, [3], rng=0)
    point = PointEstimate(params, sigma=0.3)
    x = np.linspace(-5, 5, 7)[:, None]
    pred = point.predict(x)
    np.testing.assert_array_equal(pred.mean, predict(params, x))
    np.testing.assert_array_equal(pred.std, np.full(7, 0.3))
    draws = point.predictive_samples(x, 20000, rng=0)
    np.testing.assert_allclose(draws.std(axis=0), 0.3, rtol=0.03)
    assert point.sample(3)[0]["w"].shape == (3, 1, 3)
    back = io.load(io.save(tmp_path / "p.npz", point))
    assert isinstance(back, PointEstimate) and back.sigma == 0.3
    with pytest.raises(ValueError, match="one network for PointEstimate"):
        PointEstimate(tree.stack([params, params]), sigma=1.0)
    with pytest.raises(ValueError, match="sigma must be"):
        PointEstimate(params, sigma=0.0)


def test_heteroscedastic_nll_matches_scipy_and_its_gradient() -> None:
    from autograd.test_util import check_grads

    from tinynn.losses import heteroscedastic_nll

    rng = np.random.default_rng(3)
    y = rng.normal(size=6)
    out = rng.normal(size=(6, 2))
    expected = -np.sum(stats.norm.logpdf(y, out[:, 0], np.exp(out[:, 1])))
    assert heteroscedastic_nll(y, out) == pytest.approx(expected, rel=1e-13)
    stacked = np.stack([out, out * 0.5])
    np.testing.assert_allclose(
        heteroscedastic_nll(y, stacked), [expected, heteroscedastic_nll(y, out * 0.5)], rtol=1e-13
    )
    check_grads(lambda o: heteroscedastic_nll(y, o), modes=["rev"], order=1)(out)
    with pytest.raises(ValueError, match=r"out must have shape \(N, 2\) or \(K, N, 2\) with N = 6"):
        heteroscedastic_nll(y, out[:, :1])


def test_heteroscedastic_ensemble_learns_noise_that_grows_with_x(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(300, 1))
    noise = 0.05 + 0.4 * np.abs(x[:, 0])
    y = np.sin(2 * x[:, 0]) + noise * rng.normal(size=300)
    with pytest.warns(ConvergenceWarning, match=UNCONVERGED):
        ens = fit_ensemble(x, y, (16,), n_members=3, likelihood="heteroscedastic", rng=0)
    assert ens.heteroscedastic and repr(ens) == "Ensemble(n_members=3, heteroscedastic=True)"
    grid = np.array([[0.0], [0.5], [0.95]])
    pred = ens.predict(grid)
    truth = 0.05 + 0.4 * np.abs(grid[:, 0])
    np.testing.assert_allclose(pred.noise_std[1:], truth[1:], rtol=0.3)  # learned per x
    assert pred.noise_std[0] < 0.15  # the kink of |x| at 0, smoothed by a tanh network
    assert pred.noise_std[0] < pred.noise_std[1] < pred.noise_std[2]
    direct = np.mean(
        np.log(np.mean(stats.norm.pdf(y[:20], pred_means(ens, x[:20]), pred_stds(ens, x[:20])), 0))
    )
    assert ens.log_predictive_density(x[:20], y[:20]) == pytest.approx(direct, rel=1e-10)
    draws = ens.predictive_samples(grid, 20000, rng=0)
    np.testing.assert_allclose(draws.std(axis=0), pred.std, rtol=0.05)
    back = io.load(io.save(tmp_path / "h.npz", ens))
    assert back.heteroscedastic
    np.testing.assert_array_equal(back.predict(grid).noise_std, pred.noise_std)
    with pytest.raises(ValueError, match="likelihood='heteroscedastic' needs one output"):
        fit_ensemble(x, np.column_stack([y, y]), (3,), likelihood="heteroscedastic")
    with pytest.raises(ValueError, match="heteroscedastic members need two outputs"):
        Ensemble(tree.stack([make_params(1, [2], rng=0)] * 2), None, heteroscedastic=True)


def pred_means(ens: Ensemble, x: np.ndarray) -> np.ndarray:
    return predict(ens.params, x)[..., 0]


def pred_stds(ens: Ensemble, x: np.ndarray) -> np.ndarray:
    return np.exp(predict(ens.params, x)[..., 1])
