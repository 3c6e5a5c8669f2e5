"""The Regressor's default recipe: hidden_sizes="auto", the width grown by the evidence."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import interrupted_at_call

from tinynn import Regressor, io
from tinynn.optim import ConvergenceWarning
from tinynn.posterior import Laplace, Mixture, fit_laplace, fit_width_mixture

WIDTHS = [(5,), (7,), (10,), (14,), (20,), (28,)]


def _curved(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, 1))
    return x, np.sin(2.0 * x[:, 0]) + 0.1 * rng.normal(size=n)


def _standardized(est: Regressor, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The data as the fitted ``est`` standardized it."""
    return (x - est.x_mean_) / est.x_scale_, (y - est.y_mean_[0]) / est.y_scale_[0]


@pytest.fixture(scope="module")
def default_fit() -> Regressor:
    x, y = _curved()
    return Regressor(n_members=2, random_state=0).fit(x, y)


def test_the_default_is_fit_width_mixture_on_the_standardized_data(default_fit) -> None:
    est = default_fit
    assert (est.hidden_sizes, est.uncertainty) == ("auto", "laplace_mixture")
    x, y = _curved()
    xs, ys = _standardized(est, x, y)
    by_hand = fit_width_mixture(xs, ys, WIDTHS, n_members=2, n_iters=500, rng=0)
    post = est.posterior_
    assert isinstance(post, Mixture) and post.n_members == by_hand.n_members == 4
    assert est.hidden_sizes_ == post.hidden_sizes == by_hand.hidden_sizes
    assert [e["hidden_sizes"] for e in post.search] == [e["hidden_sizes"] for e in by_hand.search]
    np.testing.assert_allclose(
        [e["log_evidence"] for e in post.search],
        [e["log_evidence"] for e in by_hand.search],
        rtol=1e-12,
    )
    x_test = np.linspace(-5, 5, 11)[:, None]
    mean, std = est.predict(x_test, return_std=True)
    pred = by_hand.predict((x_test - est.x_mean_) / est.x_scale_)
    np.testing.assert_allclose(mean, pred.mean * est.y_scale_ + est.y_mean_, rtol=1e-12)
    np.testing.assert_allclose(std, pred.std * est.y_scale_, rtol=1e-12)
    # far from the data the mixture is unsure; near it, about as sure as the noise
    assert std[0] > 3 * est.sigma_ and std[-1] > 3 * est.sigma_
    assert std[5] < 1.5 * est.sigma_
    assert est.stop_reason_ == "converged" and est.n_iter_ == len(est.loss_curve_) > 0


def test_the_default_saves_and_loads_its_mixture_of_two_widths(default_fit, tmp_path) -> None:
    est = default_fit
    widths = {m.params[0]["w"].shape[1] for m in est.posterior_.members}
    loaded = io.load(io.save(tmp_path / "default.npz", est))
    assert {m.params[0]["w"].shape[1] for m in loaded.posterior_.members} == widths
    x_test = np.linspace(-3, 3, 7)[:, None]
    np.testing.assert_array_equal(loaded.predict(x_test), est.predict(x_test))
    np.testing.assert_allclose(
        loaded.predict(x_test, return_std=True)[1], est.predict(x_test, return_std=True)[1],
        rtol=1e-12,
    )  # fmt: skip


def test_auto_with_one_laplace_fit_keeps_the_evidence_peak() -> None:
    x, y = _curved()
    est = Regressor(uncertainty="laplace", random_state=1).fit(x, y)
    xs, ys = _standardized(est, x, y)
    gen = np.random.default_rng(1)
    fits, evidence = [], []
    for hidden in WIDTHS:  # by hand: grow while the evidence rises
        fits.append(fit_laplace(xs, ys, hidden, n_iters=500, rng=gen))
        evidence.append(fits[-1].log_evidence())
        if len(evidence) > 1 and evidence[-1] <= evidence[-2]:
            break
    peak = int(np.argmax(evidence))
    assert isinstance(est.posterior_, Laplace)
    assert est.hidden_sizes_ == WIDTHS[peak]
    np.testing.assert_allclose(est.posterior_.log_evidence(), evidence[peak], rtol=1e-12)


def test_auto_without_a_laplace_posterior_is_one_layer_of_thirty() -> None:
    x, y = _curved(30)
    point = Regressor(uncertainty=None, max_iter=5, tol=None, random_state=0).fit(x, y)
    assert point.hidden_sizes_ == (30,) and point.params_[0]["w"].shape == (1, 30)
    ensemble = Regressor(uncertainty="ensemble", n_members=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Regressor: the ensemble's joint fit stopped"):
        assert ensemble.fit(x, y).hidden_sizes_ == (30,)


def test_ctrl_c_during_a_wider_width_keeps_the_narrower_fit(monkeypatch) -> None:
    import tinynn.estimator as estimator

    x, y = _curved(30)
    calls: list = []
    second = interrupted_at_call(estimator.fit_laplace, 2, calls)
    monkeypatch.setattr(estimator, "fit_laplace", second)
    est = Regressor(uncertainty="laplace", random_state=0).fit(x, y)
    assert calls == [(5,), (7,)]
    assert est.hidden_sizes_ == (5,) and est.stop_reason_ == "interrupted"
    assert est.stop_message_ == (
        "interrupted by KeyboardInterrupt while fitting hidden_sizes=(7,); keeping the fit of (5,)"
    )


def test_info_lists_each_width_of_the_default_mixture(default_fit, tmp_path, capsys) -> None:
    from tinynn.cli import main

    path = io.save(tmp_path / "default.npz", default_fit)
    capsys.readouterr()
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    narrow, wide = sorted({m.params[0]["w"].shape[1] for m in default_fit.posterior_.members})
    assert (
        f"layers: 1 -> {narrow} -> 1 ({3 * narrow + 1} parameters each, 2 members); "
        f"1 -> {wide} -> 1 ({3 * wide + 1} parameters each, 2 members)\n"
    ) in out
    assert "posterior: mixture of 4 Laplace fits" in out
