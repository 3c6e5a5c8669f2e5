"""Mixtures of posteriors: the mixture predictive, sampling, saving, mixtures of Laplace fits."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import interrupted_at_call
from scipy import stats

from tinynn import io, model, tree
from tinynn.optim import ConvergenceWarning
from tinynn.params import make_params
from tinynn.posterior import (
    Laplace,
    Mixture,
    PointEstimate,
    fit_ensemble,
    fit_laplace,
    fit_laplace_mixture,
    fit_width_mixture,
)
from tinynn.posterior import _fit as fit_module
from tinynn.posterior import _mixture as mixture_module


def gap_data(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(-2, -0.5, n // 2), rng.uniform(0.5, 2, n - n // 2)])[:, None]
    return x, np.sin(2 * x[:, 0]) + 0.1 * rng.normal(size=n)


@pytest.fixture(scope="module")
def laplaces() -> list[Laplace]:
    x, y = gap_data()
    return [fit_laplace(x, y, (6,), rng=seed) for seed in range(3)]


def test_mixture_predictive_is_the_mixture_of_the_members_gaussians(laplaces) -> None:
    x_test = np.linspace(-4, 4, 9)[:, None]
    y_test = np.sin(2 * x_test[:, 0])
    pred = Mixture(laplaces).predict(x_test)
    means = np.stack([post.predict(x_test).mean for post in laplaces])
    stds = np.stack([post.predict(x_test).std for post in laplaces])
    noises = np.array([post.sigma for post in laplaces])
    np.testing.assert_allclose(pred.mean, means.mean(axis=0), rtol=1e-14)
    # the variance of an equal-weight mixture: mean of (variance + mean**2) minus mean**2
    total = np.mean(stds**2 + means**2, axis=0) - means.mean(axis=0) ** 2
    np.testing.assert_allclose(pred.std**2, total, rtol=1e-10)
    np.testing.assert_allclose(pred.noise_std, np.sqrt(np.mean(noises**2)), rtol=1e-14)
    np.testing.assert_array_equal(pred.means_K, means)
    np.testing.assert_array_equal(pred.noise_stds_K, stds)
    direct = np.mean(np.log(np.mean(stats.norm.pdf(y_test, means, stds), axis=0)))
    lpd = Mixture(laplaces).log_predictive_density(x_test, y_test)
    assert lpd == pytest.approx(direct, rel=1e-12)
    low, high = pred.interval(0.9)  # the mixture's own quantiles
    cdf = lambda v: np.mean(stats.norm.cdf(v, means, stds), axis=0)  # noqa: E731
    np.testing.assert_allclose(cdf(low), 0.05, atol=1e-9)
    np.testing.assert_allclose(cdf(high), 0.95, atol=1e-9)


def test_a_mixture_of_one_is_its_member(laplaces) -> None:
    x_test = np.linspace(-3, 3, 7)[:, None]
    alone, mixed = laplaces[0].predict(x_test), Mixture(laplaces[:1]).predict(x_test)
    np.testing.assert_array_equal(mixed.mean, alone.mean)
    np.testing.assert_allclose(mixed.std, alone.std, rtol=1e-14)
    np.testing.assert_allclose(mixed.epistemic_std, alone.epistemic_std, rtol=1e-10)


def test_mixture_samples_come_from_the_members_in_proportion(laplaces) -> None:
    # point members: a draw is its member's network itself, so every draw names its member
    points = [
        PointEstimate([{"w": np.full((1, 1), float(k)), "b": np.zeros(1)}], sigma=0.1 * (k + 1))
        for k in range(3)
    ]
    mix = Mixture(points)
    params_K, sigma_K = mix._draw(3000, np.random.default_rng(0))
    member = params_K[0]["w"][:, 0, 0].astype(int)
    np.testing.assert_allclose(sigma_K, 0.1 * (member + 1), rtol=1e-15)  # its own noise
    counts = np.bincount(member, minlength=3) / 3000
    np.testing.assert_allclose(counts, 1 / 3, atol=4 * np.sqrt(2 / 9 / 3000))
    assert len(set(member[:20].tolist())) == 3  # the order is the picks', not grouped
    again = mix.sample(3000, rng=0)
    np.testing.assert_array_equal(again[0]["w"], mix.sample(3000, rng=0)[0]["w"])
    laplace_mix = Mixture(laplaces)
    draws = laplace_mix.sample(40, rng=0)
    assert draws[0]["w"].shape == (40, 1, 6)
    assert laplace_mix.predictive_samples(np.zeros((2, 1)), 11, rng=0).shape == (11, 2)


def test_mixture_saves_and_loads_without_pickle(laplaces, tmp_path) -> None:
    mix = Mixture(laplaces)
    path = io.save(tmp_path / "mixture.npz", mix)
    back = io.load(path)
    assert isinstance(back, Mixture) and back.n_members == 3
    assert all(isinstance(member, Laplace) for member in back.members)
    x_test = np.linspace(-3, 3, 5)[:, None]
    a, b = mix.predict(x_test), back.predict(x_test)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_allclose(a.std, b.std, rtol=1e-12)
    assert repr(back) == "Mixture(n_members=3, of=Laplace)"


def test_mixture_refuses_what_it_cannot_mix(laplaces) -> None:
    x, y = gap_data()
    with pytest.raises(ValueError, match="members must be a non-empty list"):
        Mixture([])
    with pytest.warns(ConvergenceWarning, match="fit_ensemble: the joint fit stopped"):
        ensemble = fit_ensemble(x, y, (6,), n_members=2, rng=0)
    with pytest.raises(ValueError, match=r"members\[1\] must be a posterior over one network"):
        Mixture([laplaces[0], ensemble])
    with pytest.raises(ValueError, match=r"members\[0\] must be a posterior over one network"):
        Mixture(["not a posterior"])
    deeper = PointEstimate(make_params(1, [6, 6], 1, rng=0), sigma=0.1)
    with pytest.raises(
        ValueError,
        match=r"same number of layers, inputs and outputs \(hidden widths may differ\): "
        r"members\[0\] has layers \[\(1, 6\), \(6, 1\)\], members\[1\] has \[\(1, 6\), \(6, 6\)",
    ):
        Mixture([laplaces[0], deeper])
    two_outputs = PointEstimate(make_params(1, [6], 2, rng=0), sigma=0.1)
    with pytest.raises(ValueError, match=r"members\[1\] has \[\(1, 6\), \(6, 2\)\]"):
        Mixture([laplaces[0], two_outputs])
    relu = PointEstimate(laplaces[0].params, sigma=0.1, activation="relu")
    with pytest.raises(ValueError, match="one activation: members\\[0\\] uses 'tanh'"):
        Mixture([laplaces[0], relu])
    with pytest.raises(ValueError, match="n_members"):
        fit_laplace_mixture(x, y, (3,), n_members=0)


def test_fit_laplace_mixture_is_seeded_laplace_fits_mixed() -> None:
    x, y = gap_data()
    mix = fit_laplace_mixture(x, y, (5,), n_members=3, rng=7)
    gen = np.random.default_rng(7)
    by_hand = [fit_laplace(x, y, (5,), rng=gen) for _ in range(3)]
    for member, alone in zip(mix.members, by_hand, strict=True):
        np.testing.assert_array_equal(tree.flatten(member.params)[0], tree.flatten(alone.params)[0])
        assert member.sigma == alone.sigma
    assert mix.result is mix.members[0].result and mix.optimizer == "levenberg_marquardt"
    # the members differ (different starts), and far from the data the mixture is wide
    assert np.ptp([m.predict(np.array([[6.0]])).mean[0] for m in mix.members]) > 0
    far, near = mix.predict(np.array([[6.0]])), mix.predict(np.array([[1.0]]))
    assert far.std[0] > 3 * far.noise_std[0] and near.std[0] < 1.2 * near.noise_std[0]


def test_ctrl_c_in_a_later_member_returns_the_members_so_far(monkeypatch) -> None:
    x, y = gap_data()
    fits = {"n": 0}
    real = fit_module.map_fit

    def map_fit_until_member_two(*args, **kwargs):
        fits["n"] += 1
        if fits["n"] == fits["limit"]:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    fits["limit"] = -1
    whole = fit_laplace_mixture(x, y, (4,), n_members=3, rng=0)
    per_member = [len(member.rounds) for member in whole.members]
    fits.update(n=0, limit=per_member[0] + 2)  # in member 1's first round: nothing of it yet
    monkeypatch.setattr(fit_module, "map_fit", map_fit_until_member_two)
    mix = fit_laplace_mixture(x, y, (4,), n_members=3, rng=0)
    assert mix.n_members == 1 and mix.result.reason == "interrupted"
    assert "while fitting member 1" in mix.result.message
    fits.update(n=0, limit=1)  # in the very first round: nothing to hand back
    with pytest.raises(KeyboardInterrupt):
        fit_laplace_mixture(x, y, (4,), n_members=3, rng=0)


def test_a_mixture_over_widths_pads_narrower_networks_with_units_that_compute_nothing(
    laplaces,
) -> None:
    x, y = gap_data()
    narrow = fit_laplace(x, y, (3,), rng=5)
    mix = Mixture([narrow, laplaces[0], PointEstimate(make_params(1, [8], 1, rng=1), sigma=0.2)])
    assert [leaf.shape for leaf in tree.leaves(mix.params)] == [
        (3, 1, 8),
        (3, 8),
        (3, 8, 1),
        (3, 1),
    ]
    w_pad = mix.params[0]["w"][0]
    assert np.all(w_pad[:, 3:] == 0) and np.all(mix.params[1]["w"][0][3:] == 0)
    x_test = np.linspace(-4, 4, 9)[:, None]
    stacked_K = np.asarray(model.predict(mix.params, x_test))  # (K, N)
    for k, member in enumerate(mix.members):  # the padded network is the member's function
        np.testing.assert_allclose(stacked_K[k], member.predict(x_test).mean, rtol=0, atol=1e-14)
    draws = mix.sample(60, rng=0)
    assert draws[0]["w"].shape == (60, 1, 8)
    # every draw is one member's network: a PointEstimate's draw is its own (padded) network
    outputs = np.asarray(model.predict(draws, x_test))
    point = mix.members[2].predict(x_test).mean
    assert 0 < sum(np.allclose(row, point, rtol=0, atol=1e-14) for row in outputs) < 60


def test_a_mixture_over_widths_saves_and_loads_each_member_at_its_width(tmp_path) -> None:
    x, y = gap_data()
    mix = Mixture([fit_laplace(x, y, (3,), rng=0), fit_laplace(x, y, (6,), rng=1)])
    back = io.load(io.save(tmp_path / "widths.npz", mix))
    assert [m.params[0]["w"].shape for m in back.members] == [(1, 3), (1, 6)]
    x_test = np.linspace(-3, 3, 7)[:, None]
    a, b = mix.predict(x_test), back.predict(x_test)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_allclose(a.std, b.std, rtol=1e-12)
    params, info, arrays = mix._state()
    info["members"][0]["layers"] = [[1, 9], [9, 1]]  # wider than the stored network
    with pytest.raises(ValueError, match=r"member 0 of a saved mixture has layers=\[\[1, 9\]"):
        Mixture._from_state(params, info, arrays)


def test_fit_width_mixture_grows_while_the_evidence_rises_and_mixes_both_sides() -> None:
    x, y = gap_data()
    candidates = [(2,), (4,), (8,), (16,)]
    mix = fit_width_mixture(x, y, candidates, n_members=2, rng=3)
    # the same fits by hand: fit_laplace_mixture per candidate, one generator drawn in turn
    gen = np.random.default_rng(3)
    by_hand, evidence = [], []
    for hidden in candidates:
        fit = fit_laplace_mixture(x, y, hidden, n_members=2, rng=gen)
        by_hand.append(fit)
        evidence.append(float(np.mean([m.log_evidence() for m in fit.members])))
        if len(evidence) > 1 and evidence[-1] <= evidence[-2]:
            break
    assert [entry["hidden_sizes"] for entry in mix.search] == candidates[: len(by_hand)]
    np.testing.assert_allclose([e["log_evidence"] for e in mix.search], evidence, rtol=1e-12)
    fell = len(evidence) > 1 and evidence[-1] <= evidence[-2]
    peak = len(by_hand) - 2 if fell else len(by_hand) - 1
    assert mix.hidden_sizes == candidates[peak]
    expected = [m for fit in by_hand[-2:] for m in fit.members]
    assert mix.n_members == len(expected) == 4
    for member, alone in zip(mix.members, expected, strict=True):
        np.testing.assert_array_equal(tree.flatten(member.params)[0], tree.flatten(alone.params)[0])
    first = by_hand[peak].members[0].result  # the result is the peak's first member's fit
    assert (mix.result.n_iters, mix.result.best_loss) == (first.n_iters, first.best_loss)


@pytest.mark.parametrize(
    ("evidence", "mixed", "peak"),
    [
        ([1.0, 2.0, 1.5, 9.0], [(2,), (3,)], (2,)),  # fell at the third: the second and third
        ([2.0, 1.0, 9.0, 9.0], [(1,), (2,)], (1,)),  # fell at once: the first two
        ([1.0, 2.0, 3.0, 4.0], [(3,), (4,)], (4,)),  # rose to the end: the last two
        ([1.0, 1.0, 3.0, 4.0], [(1,), (2,)], (1,)),  # equal is not a rise
    ],
)
def test_fit_width_mixture_keeps_the_two_candidates_around_the_peak(
    monkeypatch, evidence, mixed, peak
) -> None:
    x, y = gap_data(20)
    values = iter(evidence)
    monkeypatch.setattr(mixture_module, "_mean_evidence", lambda fit: next(values))
    mix = fit_width_mixture(x, y, [(1,), (2,), (3,), (4,)], n_members=1, n_iters=20, rng=0)
    assert [m.params[0]["w"].shape[1] for m in mix.members] == [h[0] for h in mixed]
    assert mix.hidden_sizes == peak
    assert len(mix.search) == [(1,), (2,), (3,), (4,)].index(mixed[1]) + 1


def test_fit_width_mixture_with_one_candidate_is_its_mixture() -> None:
    x, y = gap_data(20)
    mix = fit_width_mixture(x, y, [[3]], n_members=2, n_iters=30, rng=0)
    alone = fit_laplace_mixture(x, y, (3,), n_members=2, n_iters=30, rng=0)
    assert mix.n_members == 2 and mix.hidden_sizes == (3,) and len(mix.search) == 1
    np.testing.assert_array_equal(mix.predict(x).mean, alone.predict(x).mean)


def test_ctrl_c_during_a_wider_candidate_returns_the_candidates_before_it(monkeypatch) -> None:
    x, y = gap_data(20)
    calls: list = []
    third = interrupted_at_call(mixture_module.fit_laplace_mixture, 3, calls)
    values = iter([1.0, 2.0])
    monkeypatch.setattr(mixture_module, "_mean_evidence", lambda fit: next(values))
    monkeypatch.setattr(mixture_module, "fit_laplace_mixture", third)
    mix = fit_width_mixture(x, y, [(1,), (2,), (3,)], n_members=1, n_iters=20, rng=0)
    assert calls == [(1,), (2,), (3,)]
    assert [m.params[0]["w"].shape[1] for m in mix.members] == [1, 2]
    assert mix.result.reason == "interrupted"
    assert "while fitting hidden_sizes=(3,)" in mix.result.message
    calls.clear()
    monkeypatch.setattr(
        mixture_module,
        "fit_laplace_mixture",
        lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt),
    )
    with pytest.raises(KeyboardInterrupt):  # nothing fitted yet: nothing to hand back
        fit_width_mixture(x, y, [(1,), (2,)], n_members=1, rng=0)


@pytest.mark.parametrize(
    ("candidates", "match"),
    [
        ([], r"candidates must be a non-empty sequence of hidden_sizes .*, got \[\]"),
        ((5,), r"candidates\[0\] must be a non-empty sequence of ints, got 5"),
        ([(3,), (2, 2)], r"of one depth, got depths \[1, 2\]"),
        ([(3,), (0,)], r"candidates\[1\]\[i\]"),
    ],
)
def test_fit_width_mixture_names_bad_candidates(candidates, match) -> None:
    x, y = gap_data(20)
    with pytest.raises(ValueError, match=match):
        fit_width_mixture(x, y, candidates)


def test_the_mixtures_say_each_kind_of_warning_once_at_the_caller() -> None:
    # Five members (and three widths of five) cut short warn once, with the count, in the
    # mixture's own name and at the caller's line, not once per fit from inside tinynn.
    x, y = gap_data(40)
    with pytest.warns(ConvergenceWarning) as record:
        mixture = fit_laplace_mixture(x, y, (6,), n_iters=3, rng=0)
    assert [(str(w.message), w.filename) for w in record] == [
        (
            "fit_laplace_mixture: 5 Laplace fits stopped at n_iters=3 before converging (the "
            "objective still changed by more than a fraction 1e-06 per iteration); raise n_iters",
            __file__,
        )
    ]
    assert record[0].message.n_cut == mixture.n_members == 5
    with pytest.warns(ConvergenceWarning) as record:
        searched = fit_width_mixture(x, y, [(2,), (4,), (8,)], n_members=2, n_iters=3, rng=0)
    n_fits = 2 * len(searched.search)
    assert [(str(w.message), w.filename) for w in record] == [
        (
            f"fit_width_mixture: {n_fits} Laplace fits stopped at n_iters=3 before converging "
            "(the objective still changed by more than a fraction 1e-06 per iteration); raise "
            "n_iters",
            __file__,
        )
    ]
    with pytest.warns(ConvergenceWarning) as record:
        fit_laplace_mixture(x, y, (6,), n_members=3, max_rounds=1, rng=0)
    moved = [w for w in record if "max_rounds" in str(w.message)]
    assert len(moved) == 1 and moved[0].filename == __file__
    assert len(moved[0].message.moved) == 3
    assert str(moved[0].message) == (
        f"fit_laplace_mixture: in 3 Laplace fits sigma or the evidence still moved by up to "
        f"{max(moved[0].message.moved):.2g} (relative) after max_rounds=1 rounds; raise "
        "max_rounds or tol"
    )


def test_the_ensembles_own_laplace_fit_warns_in_its_name() -> None:
    x, y = gap_data(40)
    with pytest.warns(ConvergenceWarning) as record:
        fit_ensemble(x, y, (6,), n_members=2, n_iters=3, rng=0)
    messages = [(str(w.message), w.filename) for w in record]
    assert messages[0] == (
        "fit_ensemble: its Laplace fit for prior_std and sigma stopped at n_iters=3 before "
        "converging (the objective still changed by more than a fraction 1e-06 per iteration); "
        "raise n_iters",
        __file__,
    )
    assert messages[1][0].startswith("fit_ensemble: the joint fit stopped at n_iters=3")
    assert len(messages) == 2
