"""Regressor(hidden_sizes=[candidates]): architectures chosen by leave-one-out while growing."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import interrupted_at_call

from tinynn import Regressor, io
from tinynn.cli import main
from tinynn.posterior import compare_loo, fit_laplace


def _curved(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, 1))
    return x, np.sin(2.0 * x[:, 0]) + 0.1 * rng.normal(size=n)


def _straight(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, 1))
    return x, 2.0 * x[:, 0] + 0.5 * rng.normal(size=n)


def test_candidates_keep_the_network_on_curved_data_as_compare_loo_does() -> None:
    x, y = _curved()
    est = Regressor(hidden_sizes=[(), (8,)], uncertainty="laplace", random_state=0).fit(x, y)
    assert est.hidden_sizes_ == (8,)
    assert est.posterior_.params[0]["w"].shape == (1, 8)
    # the same two fits, standardized and seeded as the Regressor does, compared directly
    xs = (x - x.mean(0)) / x.std(0)
    ys = (y - y.mean()) / y.std()
    gen = np.random.default_rng(0)
    fits = [fit_laplace(xs, ys, (), rng=gen), fit_laplace(xs, ys, (8,), rng=gen)]
    expected = compare_loo(fits, xs, ys)
    assert len(est.loo_) == 1 and est.loo_[0].chosen == expected.chosen == 1
    np.testing.assert_allclose(est.loo_[0].loo, expected.loo, rtol=1e-12)
    np.testing.assert_allclose(est.loo_[0].se_diff, expected.se_diff, rtol=1e-12)
    np.testing.assert_allclose(est.predict(x), fits[1].predict(xs).mean * y.std() + y.mean())


def test_candidates_stop_at_the_first_that_is_not_clearly_better() -> None:
    x, y = _straight()
    est = Regressor(hidden_sizes=[(), (8,), (16,)], uncertainty="laplace", random_state=0).fit(x, y)
    assert est.hidden_sizes_ == ()
    assert len(est.loo_) == 1  # (16,) was never fitted
    gap = est.loo_[0].loo[est.loo_[0].best] - est.loo_[0].loo[0]
    assert gap <= est.loo_[0].se_diff[0]


def test_candidates_with_a_laplace_mixture_and_without_candidates() -> None:
    x, y = _curved(40)
    est = Regressor(
        hidden_sizes=[[3], [6]], uncertainty="laplace_mixture", n_members=2, random_state=0
    ).fit(x, y)
    assert est.hidden_sizes_ in {(3,), (6,)}
    assert est.posterior_.n_members == 2
    assert est.posterior_.params[0]["w"].shape == (2, 1, est.hidden_sizes_[0])
    plain = Regressor(hidden_sizes=(5,), uncertainty="laplace", random_state=0).fit(x, y)
    assert plain.hidden_sizes_ == (5,) and plain.loo_ == []
    single = Regressor(hidden_sizes=5, uncertainty=None, max_iter=20, tol=None, random_state=0)
    single.fit(x, y)
    assert single.hidden_sizes_ == (5,) and single.loo_ == []


def test_candidates_save_and_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    x, y = _curved(40)
    est = Regressor(
        hidden_sizes=[(2,), (6,)], uncertainty="laplace_mixture", n_members=2, random_state=0
    ).fit(x, y)
    path = io.save(tmp_path / "model.npz", est)
    loaded = io.load(path)
    assert loaded.hidden_sizes == ((2,), (6,))
    assert loaded.hidden_sizes_ == est.hidden_sizes_
    assert len(loaded.loo_) == len(est.loo_) == 1
    np.testing.assert_array_equal(loaded.loo_[0].loo, est.loo_[0].loo)
    assert loaded.loo_[0].chosen == est.loo_[0].chosen
    np.testing.assert_array_equal(loaded.predict(x), est.predict(x))


def test_candidates_info_names_the_kept_layers(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    x, y = _curved(40)
    est = Regressor(
        hidden_sizes=[(2,), (6,)], uncertainty="laplace_mixture", n_members=2, random_state=0
    ).fit(x, y)
    path = io.save(tmp_path / "model.npz", est)
    capsys.readouterr()
    assert main(["info", str(path)]) == 0
    width = est.hidden_sizes_[0]
    n_params = 3 * width + 1
    assert f"layers: 1 -> {width} -> 1 ({n_params} parameters each, 2 members)" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("settings", "error", "match"),
    [
        (
            {"hidden_sizes": [(4,), (8,)], "uncertainty": None},
            ValueError,
            r"2 candidate architectures .* needs uncertainty 'laplace' or 'laplace_mixture', "
            r"got uncertainty=None",
        ),
        (
            {"hidden_sizes": [(4,), (8,)], "uncertainty": "ensemble"},
            ValueError,
            r"got uncertainty='ensemble'",
        ),
        (
            {"hidden_sizes": [4, (8,)]},
            TypeError,
            r"\"auto\", a sequence of ints, or a sequence of such sequences \(candidates\), got a "
            r"mix of "
            r"ints and sequences: \[4, \(8,\)\]",
        ),
        ({"hidden_sizes": [(4,), (0,)]}, ValueError, r"hidden_sizes\[k\]\[i\]"),
        (
            {"hidden_sizes": "wide"},
            TypeError,
            r"hidden_sizes must be \"auto\", a sequence of ints, or .* got 'wide' \(type str\)",
        ),
    ],
)
def test_candidate_errors_name_the_setting(settings: dict, error: type, match: str) -> None:
    x, y = _curved(20)
    with pytest.raises(error, match=match):
        Regressor(**settings).fit(x, y)


def test_a_saved_comparison_that_is_malformed_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    x, y = _curved(30)
    est = Regressor(hidden_sizes=[(), (4,)], uncertainty="laplace", random_state=0).fit(x, y)
    state = est._tinynn_fitted_state  # the hook io.save uses, with the comparison broken

    def broken_state():  # type: ignore[no-untyped-def]
        params, info, arrays = state()
        return params, {**info, "loo": [{"loo": [0.1, 0.2], "best": 1}]}, arrays

    est._tinynn_fitted_state = broken_state
    path = io.save(tmp_path / "bad.npz", est)
    with pytest.raises(ValueError, match=r"inconsistent regressor metadata .*se_diff"):
        io.load(path)


def test_ctrl_c_during_a_wider_candidate_keeps_the_current_fit(monkeypatch) -> None:
    import tinynn.estimator as estimator

    x, y = _curved(40)
    calls: list = []
    second = interrupted_at_call(estimator.fit_laplace, 2, calls)
    monkeypatch.setattr(estimator, "fit_laplace", second)
    est = Regressor(hidden_sizes=[(3,), (6,), (9,)], uncertainty="laplace", random_state=0)
    est.fit(x, y)
    assert calls == [[3], [6]]
    assert est.hidden_sizes_ == (3,) and est.loo_ == []
    assert est.stop_reason_ == "interrupted"
    assert est.stop_message_ == (
        "interrupted by KeyboardInterrupt while fitting hidden_sizes=[6]; keeping the fit of [3]"
    )
    assert est.predict(x).shape == (40,)
