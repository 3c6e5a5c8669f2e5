"""tinynn.diagnostics: R-hat and ESS against ArviZ (when installed) and against known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import diagnostics as dg


def ar1(phi: float, chains: int, draws: int, seed: int) -> np.ndarray:
    """Chains of the AR(1) process x_t = phi x_{t-1} + e_t, started at 0."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(chains, draws))
    x = np.zeros((chains, draws))
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    return x


def cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    alternating = np.tile([1.0, -1.0], (4, 500)) + rng.normal(size=(4, 1000))
    return {
        "iid": rng.normal(size=(4, 1000)),
        "ar 0.5": ar1(0.5, 4, 1000, 1),
        "ar 0.95": ar1(0.95, 4, 2000, 2),
        "cauchy": rng.standard_cauchy(size=(4, 1000)),
        "one chain elsewhere": rng.normal(size=(4, 500)) + np.array([0.0, 0.0, 0.0, 1.0])[:, None],
        "antithetic": alternating,
        "odd draws": ar1(0.3, 3, 777, 3),
    }


@pytest.mark.parametrize("name", sorted(cases()))
def test_agrees_with_arviz(name):
    az = pytest.importorskip("arviz")
    draws = cases()[name]
    assert float(dg.ess_bulk(draws)) == pytest.approx(float(az.ess(draws, method="bulk")), 1e-9)
    assert float(dg.ess_tail(draws)) == pytest.approx(float(az.ess(draws, method="tail")), 1e-9)
    assert float(dg.split_rhat(draws)) == pytest.approx(float(az.rhat(draws)), 1e-9)
    assert float(dg.ess(draws)) == pytest.approx(float(az.ess(draws, method="mean")), 1e-9)


def test_ess_of_an_ar1_process_matches_its_closed_form():
    # the integrated autocorrelation time of AR(1) is (1 + phi) / (1 - phi)
    for phi, seed in [(0.0, 4), (0.5, 5), (0.9, 6)]:
        draws = ar1(phi, 4, 20000, seed)
        expected = draws.size * (1 - phi) / (1 + phi)
        assert float(dg.ess(draws)) == pytest.approx(expected, rel=0.1)
        assert float(dg.ess_bulk(draws)) == pytest.approx(expected, rel=0.1)


def test_rhat_is_one_for_mixed_chains_and_large_otherwise():
    rng = np.random.default_rng(7)
    mixed = rng.normal(size=(4, 2000))
    assert float(dg.split_rhat(mixed)) < 1.01
    elsewhere = mixed + np.array([0.0, 0.0, 0.0, 2.0])[:, None]
    assert float(dg.split_rhat(elsewhere)) > 1.2
    # one chain that drifts disagrees with itself: splitting catches it
    drifting = (rng.normal(size=2000) + np.linspace(0.0, 4.0, 2000))[None]
    assert float(dg.split_rhat(drifting)) > 1.2
    # same location, different scale: only the tail (folded) R-hat sees it
    scales = rng.normal(size=(4, 2000)) * np.array([1.0, 1.0, 1.0, 4.0])[:, None]
    assert float(dg.split_rhat(scales)) > 1.05


def test_tail_ess_falls_when_the_tails_are_rarely_visited():
    rng = np.random.default_rng(8)
    # a chain that stays in one region for long stretches: bulk and tail ESS both far below N
    sticky = np.repeat(rng.normal(size=(4, 100)), 20, axis=1)
    assert float(dg.ess_tail(sticky)) < 0.1 * sticky.size
    assert float(dg.ess_tail(rng.normal(size=(4, 2000)))) > 0.8 * 8000


def test_trailing_axes_are_diagnosed_one_by_one():
    draws = np.stack([ar1(0.2 * k, 3, 400, k) for k in range(6)], axis=-1).reshape(3, 400, 2, 3)
    for fn in (dg.ess, dg.ess_bulk, dg.ess_tail, dg.split_rhat):
        values = fn(draws)
        assert values.shape == (2, 3)
        for i in range(2):
            for j in range(3):
                assert values[i, j] == pytest.approx(float(fn(draws[:, :, i, j])), rel=1e-12)


def test_a_constant_quantity_has_no_ess():
    draws = np.ones((2, 100))
    assert np.isnan(dg.ess(draws)) and np.isnan(dg.ess_bulk(draws))


def test_summary_of_an_array_and_of_a_stacked_tree():
    rng = np.random.default_rng(9)
    table = dg.summary(rng.normal(loc=3.0, size=(4, 1000, 2)))
    assert list(table["name"]) == ["x[0]", "x[1]"]
    np.testing.assert_allclose(table["mean"], 3.0, atol=0.1)
    np.testing.assert_allclose(table["sd"], 1.0, atol=0.1)
    np.testing.assert_allclose(table["q95"] - table["q5"], 2 * 1.6449, atol=0.2)
    assert np.all(table["r_hat"] < 1.01) and np.all(table["ess_bulk"] > 3000)
    params = [{"w": rng.normal(size=(2, 500, 2, 1)), "b": rng.normal(size=(2, 500, 1))}]
    table = dg.summary(params)
    assert list(table["name"]) == [
        "params[0]['w'][0, 0]",
        "params[0]['w'][1, 0]",
        "params[0]['b'][0]",
    ]
    np.testing.assert_allclose(table["ess_bulk"][2], dg.ess_bulk(params[0]["b"][:, :, 0]))
    text = dg.format_summary(table)
    assert text.splitlines()[0].split() == [
        "name", "mean", "sd", "q5", "q95", "ess_bulk", "ess_tail", "r_hat",
    ]  # fmt: skip
    assert len(text.splitlines()) == 4 and "params[0]['b'][0]" in text
    table = dg.summary(rng.normal(size=(2, 50)), names=["theta"])
    assert list(table["name"]) == ["theta"]


def test_bad_draws_are_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"draws_CD must have shape \(C, D\) or \(C, D, \.\.\.\)"):
        dg.ess(np.zeros(10))
    with pytest.raises(ValueError, match="at least 4 draws per chain, got 3"):
        dg.split_rhat(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="draws_CD"):
        dg.ess_bulk(np.array([[0.0, 1.0, np.nan, 2.0]]))
    with pytest.raises(ValueError, match=r"names must have 2 entries \(one per scalar\), got 1"):
        dg.summary(np.zeros((2, 10, 2)) + np.arange(10)[:, None], names=["a"])
    tree = [{"w": np.zeros((2, 10, 1)), "b": np.zeros((3, 10))}]
    with pytest.raises(ValueError, match=r"draws leaf params\[0\]\['b'\] has 3 chains of 10"):
        dg.summary(tree)
    with pytest.raises(TypeError, match=r"draws leaf params\[0\]\['w'\] must hold real numbers"):
        dg.summary([{"w": "text"}])
    with pytest.raises(TypeError, match=r"draws leaf params\[0\]\['w'\] must be an array of num"):
        dg.summary([{"w": None}])
