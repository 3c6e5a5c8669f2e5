"""Tests for tinynn.estimator.Regressor: conventions, fitting, prediction, errors, persistence."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from tinynn import io
from tinynn.data import make_quadratic_data
from tinynn.estimator import NotFittedError, Regressor

# These tests fit with a few iterations on purpose; the Regressor warns that such fits
# stopped before converging (tested in test_regressor_uncertainty.py).
pytestmark = pytest.mark.filterwarnings("ignore::tinynn.optim.ConvergenceWarning")


@pytest.fixture(scope="module")
def quad() -> tuple[np.ndarray, np.ndarray]:
    return make_quadratic_data(200, rng=0)


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def test_constructor_stores_arguments_as_given() -> None:
    hidden = [5, 5]
    est = Regressor(hidden, sigma=0.3, random_state=3, uncertainty=None)
    assert est.hidden_sizes is hidden
    params = est.get_params()
    assert params["sigma"] == 0.3 and params["random_state"] == 3
    assert set(params) == set(Regressor().get_params())
    assert not [k for k in vars(est) if k.endswith("_")]


def test_set_params_and_repr() -> None:
    est = Regressor(uncertainty=None)
    assert est.set_params(max_iter=5, alpha=0.1) is est
    assert (est.max_iter, est.alpha) == (5, 0.1)
    assert repr(est) == "Regressor(max_iter=5, alpha=0.1, uncertainty=None)"
    assert repr(Regressor()) == "Regressor()"
    with pytest.raises(ValueError, match="Invalid parameter 'bogus' for estimator Regressor"):
        est.set_params(bogus=1)


def test_default_fit_reaches_noise_floor(quad: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = quad
    est = Regressor(random_state=0, uncertainty=None)
    assert est.fit(x, y) is est
    assert _rmse(est.predict(x), y) < 0.15
    assert est.optimizer_ == "levenberg_marquardt"
    assert est.optimizer_reason_.startswith(f"auto: P=121 parameters and N={len(y)} examples")
    assert 0.05 < est.sigma_ < 0.2
    assert est.n_features_in_ == 2
    assert est.loss_curve_.shape == (est.n_iter_,)
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert len(est.history_) == est.n_iter_
    np.testing.assert_allclose(est.x_mean_, x.mean(axis=0))
    np.testing.assert_allclose(est.y_scale_, [y.std()])
    assert est.score(x, y) > 0.999


def test_auto_without_scipy_is_levenberg_marquardt_when_small(
    monkeypatch: pytest.MonkeyPatch, quad: tuple
) -> None:
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    x, y = quad
    est = Regressor(hidden_sizes=(10,), random_state=0, uncertainty=None).fit(x, y)
    assert est.optimizer_ == "levenberg_marquardt"
    assert _rmse(est.predict(x), y) < 0.15


def test_adam_without_scipy(monkeypatch: pytest.MonkeyPatch, quad: tuple) -> None:
    from tinynn.estimator import _training

    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    monkeypatch.setattr(_training, "LM_MAX_WORK", 0.0)  # as if the problem were large
    x, y = quad
    est = Regressor(hidden_sizes=(10,), max_iter=300, random_state=0, uncertainty=None).fit(x, y)
    assert est.optimizer_ == "adam"
    assert est.optimizer_reason_.startswith("auto: scipy is not installed for L-BFGS; P=41")
    assert 0 < est.n_iter_ <= 300
    assert _rmse(est.predict(x), y) < 0.2


def test_explicit_lbfgs_without_scipy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(ImportError, match=r"tinynn-regression\[scipy\]"):
        Regressor(optimizer="lbfgs", uncertainty=None).fit(np.zeros((3, 1)), np.zeros(3))


def test_same_seed_same_model(quad: tuple) -> None:
    x, y = quad
    a = Regressor((8,), max_iter=50, random_state=1, uncertainty=None).fit(x, y).predict(x)
    b = Regressor((8,), max_iter=50, random_state=1, uncertainty=None).fit(x, y).predict(x)
    c = Regressor((8,), max_iter=50, random_state=2, uncertainty=None).fit(x, y).predict(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fixed_sigma_is_reported_in_y_units(quad: tuple) -> None:
    x, y = quad
    est = Regressor((5,), sigma=0.25, max_iter=30, random_state=0, uncertainty=None).fit(x, y)
    assert est.sigma_ == 0.25
    mean, std = est.predict(x[:4], return_std=True)
    np.testing.assert_array_equal(std, np.full(4, 0.25))
    assert mean.shape == (4,)


def test_predictions_are_in_original_units() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(80, 1)) * 1000.0 + 5000.0
    y = 3e4 + 2e3 * (x[:, 0] - 5000.0) / 1000.0 + rng.normal(size=80)
    for standardize in (True, False):
        est = Regressor((), standardize=standardize, random_state=0, max_iter=500, uncertainty=None)
        est.fit(x, y)
        if standardize:
            assert _rmse(est.predict(x), y) < 2.0
            assert 0.5 < est.sigma_ < 2.0
    assert np.all(est.x_scale_ == 1.0) and np.all(est.y_mean_ == 0.0)


def test_linear_model_matches_least_squares() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=50)
    est = Regressor((), sigma=0.1, random_state=0, tol=None, max_iter=200, uncertainty=None).fit(
        x, y
    )
    design = np.hstack([x, np.ones((50, 1))])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(est.predict(x), design @ coef, atol=1e-6)


def test_prior_shrinks_weights(quad: tuple) -> None:
    x, y = quad
    free = Regressor((5,), sigma=1.0, max_iter=200, random_state=0, uncertainty=None).fit(x, y)
    tight = Regressor(
        (5,), sigma=1.0, prior_std=0.05, max_iter=200, random_state=0, uncertainty=None
    ).fit(x, y)
    alpha = Regressor(
        (5,), sigma=1.0, alpha=400.0, max_iter=200, random_state=0, uncertainty=None
    ).fit(x, y)

    def norm(est: Regressor) -> float:
        return float(sum(np.sum(layer["w"] ** 2) for layer in est.params_))

    assert norm(tight) < 0.2 * norm(free)
    np.testing.assert_allclose(tight.predict(x), alpha.predict(x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_linear_map_matches_ridge_oracle(optimizer: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 2))
    y = x @ np.array([2.0, -1.0]) + 0.5 + 0.3 * rng.normal(size=40)
    sigma, prior_std = 0.3, 0.1
    est = Regressor(
        (),
        sigma=sigma,
        prior_std=prior_std,
        standardize=False,
        optimizer=optimizer,
        max_iter=300,
        tol=None,
        random_state=0,
        uncertainty=None,
    ).fit(x, y)
    design = np.hstack([x, np.ones((40, 1))])
    ridge = (sigma / prior_std) ** 2
    coef = np.linalg.solve(design.T @ design + ridge * np.eye(3), design.T @ y)
    np.testing.assert_allclose(est.predict(x), design @ coef, atol=1e-6)


def test_multi_output_targets(quad: tuple) -> None:
    x, y = quad
    y2 = np.column_stack([y, -2.0 * y + 1.0])
    est = Regressor((10,), random_state=0, max_iter=300, uncertainty=None).fit(x, y2)
    mean, std = est.predict(x, return_std=True)
    assert mean.shape == std.shape == (200, 2)
    assert est.sigma_.shape == (2,)
    assert est.score(x, y2) > 0.99
    column = Regressor((10,), random_state=0, max_iter=50, uncertainty=None).fit(x, y[:, None])
    assert column.predict(x).shape == (200, 1)


def test_early_stopping_keeps_validation_scores(quad: tuple) -> None:
    x, y = quad
    est = Regressor(
        (30,),
        optimizer="adam",
        step_size=0.05,
        max_iter=3000,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=5,
        random_state=0,
        uncertainty=None,
    ).fit(x, y)
    assert est.stop_reason_ == "early_stopping"
    assert est.n_iter_ < 3000
    assert est.validation_scores_ is not None
    assert len(est.validation_scores_) == est.n_iter_
    assert est.validation_scores_.min() < 1.0


def test_verbose_prints_progress(quad: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    x, y = quad
    Regressor((3,), optimizer="adam", max_iter=60, verbose=1, random_state=0, uncertainty=None).fit(
        x, y
    )
    out = capsys.readouterr().out
    assert "completed iter     1/60 after" in out
    assert "completed iter    50/60" in out


def test_unfitted_use_raises() -> None:
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        Regressor().predict(np.zeros((2, 2)))
    with pytest.raises(AttributeError):
        Regressor().score(np.zeros((2, 2)), np.zeros(2))


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        (np.zeros(5), np.zeros(5), ValueError, "Reshape your data"),
        (np.zeros((0, 2)), np.zeros(0), ValueError, "0 samples"),
        (np.zeros((4, 0)), np.zeros(4), ValueError, r"0 feature\(s\)"),
        (np.array([[1.0], [np.nan]]), np.zeros(2), ValueError, "Input X contains NaN"),
        (np.zeros((2, 1)), np.array([0.0, np.inf]), ValueError, "Input y contains NaN or inf"),
        (np.zeros((2, 1)), None, ValueError, "requires y to be passed"),
        (np.zeros((3, 1)), np.zeros(2), ValueError, r"y must have shape \(3,\)"),
        (np.ones((2, 1)) * 1j, np.zeros(2), ValueError, "Complex data not supported"),
        (np.array([["a"], ["b"]]), np.zeros(2), TypeError, "X must hold real numbers"),
        (np.array([[{}], [1]], dtype=object), np.zeros(2), TypeError, "argument must be"),
        (np.zeros((2, 1)), np.array(["a", "b"]), TypeError, "y must hold real numbers"),
        (None, np.zeros(2), ValueError, "X must be an array of shape .* got None"),
        ([[1.0, 2.0], [3.0]], np.zeros(2), ValueError, "X must be a rectangular array"),
        (np.array([["1"], ["x"]], dtype=object), np.zeros(2), ValueError, "could not convert"),
    ],
)
def test_bad_data_is_rejected(X: object, y: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Regressor(max_iter=2, uncertainty=None).fit(X, y)


def test_sparse_input_is_rejected() -> None:
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"sparse matrix.*toarray"):
        Regressor(max_iter=2, uncertainty=None).fit(sparse.csr_matrix(np.eye(3)), np.zeros(3))


@pytest.mark.parametrize(
    ("settings", "error", "match"),
    [
        ({"hidden_sizes": "10"}, TypeError, 'hidden_sizes must be "auto", a sequence of ints'),
        ({"hidden_sizes": (0,)}, ValueError, r"hidden_sizes\[i\] must be an int >= 1"),
        ({"prior_std": 1.0, "alpha": 1.0}, ValueError, "set at most one of prior_std and alpha"),
        ({"alpha": -1.0}, ValueError, "alpha must be a finite number >= 0"),
        ({"alpha": "big"}, TypeError, "alpha must be a number >= 0 or None"),
        ({"prior_std": 0.0}, ValueError, "prior_std must be a positive finite number"),
        ({"sigma": "fixed"}, ValueError, "sigma must be one of 'learn'"),
        ({"sigma": -1.0}, ValueError, "sigma must be a positive finite number"),
        ({"optimizer": "newton"}, ValueError, "optimizer must be one of 'auto'"),
        ({"optimizer": "adam", "step_size": 0}, ValueError, "step_size must be a positive"),
        ({"max_iter": 0}, ValueError, "max_iter must be an int >= 1"),
        ({"verbose": -1}, ValueError, "verbose must be an int >= 0"),
        ({"early_stopping": True, "validation_fraction": 0.0}, ValueError, r"in \(0, 1\)"),
        ({"random_state": "seed"}, TypeError, "random_state must be a numpy.random.Generator"),
    ],
)
def test_bad_settings_are_rejected_in_fit(settings: dict, error: type, match: str) -> None:
    est = Regressor(
        **settings, uncertainty=None
    )  # the constructor never validates (scikit-learn convention)
    with pytest.raises(error, match=match):
        est.fit(np.zeros((4, 1)), np.arange(4.0))


def test_early_stopping_needs_two_samples() -> None:
    with pytest.raises(ValueError, match="early_stopping needs at least 2 samples"):
        Regressor(early_stopping=True, uncertainty=None).fit(np.zeros((1, 1)), np.zeros(1))


def test_predict_checks_features(quad: tuple) -> None:
    x, y = quad
    est = Regressor((3,), max_iter=5, random_state=0, uncertainty=None).fit(x, y)
    with pytest.raises(ValueError, match="X has 3 features, but Regressor is expecting 2"):
        est.predict(np.zeros((2, 3)))


def test_input_arrays_are_not_modified(quad: tuple) -> None:
    x, y = quad
    x0, y0 = x.copy(), y.copy()
    Regressor((3,), max_iter=5, random_state=0, uncertainty=None).fit(x, y)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_pickle_round_trip(quad: tuple) -> None:
    x, y = quad
    est = Regressor((4,), max_iter=20, random_state=0, uncertainty=None).fit(x, y)
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(clone.predict(x), est.predict(x))


def test_save_load_round_trip_gives_identical_predictions(quad: tuple, tmp_path: Path) -> None:
    x, y = quad
    est = Regressor((6, 4), activation="relu", max_iter=40, random_state=0, uncertainty=None).fit(
        x, y
    )
    path = io.save(tmp_path / "model.npz", est, metadata={"target": "y"})
    loaded = io.load(path)
    assert isinstance(loaded, Regressor)
    np.testing.assert_array_equal(loaded.predict(x), est.predict(x))
    _, s1 = loaded.predict(x, return_std=True)
    np.testing.assert_array_equal(s1, est.predict(x, return_std=True)[1])
    assert loaded.get_params()["hidden_sizes"] == (6, 4)
    np.testing.assert_array_equal(loaded.loss_curve_, est.loss_curve_)
    assert (loaded.n_iter_, loaded.optimizer_, loaded.history_) == (
        est.n_iter_,
        "levenberg_marquardt",
        None,
    )
    assert loaded.optimizer_reason_ == est.optimizer_reason_
    meta = io.read_metadata(path)
    assert meta["kind"] == "regressor"
    assert meta["layer_sizes"] == [2, 6, 4, 1]
    assert meta["activation"] == "relu"
    assert meta["standardization"]["y_scale"] == est.y_scale_.tolist()
    np.testing.assert_array_equal(io.load_params(path)[0]["w"], est.params_[0]["w"])


def test_save_refuses_unfitted_and_custom_activation(tmp_path: Path, quad: tuple) -> None:
    with pytest.raises(NotFittedError):
        io.save(tmp_path / "m.npz", Regressor(uncertainty=None))
    x, y = quad
    est = Regressor(
        (2,), activation=lambda a: a * 0.5, max_iter=3, random_state=0, uncertainty=None
    ).fit(x, y)
    with pytest.raises(ValueError, match=r"custom activation function.*cannot be saved"):
        io.save(tmp_path / "m.npz", est)
    assert not (tmp_path / "m.npz").exists()


def test_save_numpy_scalars_and_generators(tmp_path: Path, quad: tuple) -> None:
    x, y = quad
    est = Regressor(
        np.array([3]), max_iter=np.int64(5), random_state=np.random.default_rng(0), uncertainty=None
    ).fit(x, y)
    loaded = io.load(io.save(tmp_path / "m.npz", est))
    assert loaded.get_params()["max_iter"] == 5
    assert loaded.get_params()["hidden_sizes"] == (3,)
    assert loaded.random_state is None
    np.testing.assert_array_equal(loaded.predict(x), est.predict(x))


def test_save_refuses_unsaveable_settings(tmp_path: Path, quad: tuple) -> None:
    from tinynn.params import glorot_uniform

    x, y = quad
    est = Regressor(
        (2,), weight_init=glorot_uniform(), max_iter=3, random_state=0, uncertainty=None
    ).fit(x, y)
    with pytest.raises(ValueError, match=r"weight_init=.* cannot be saved; use a name or a number"):
        io.save(tmp_path / "m.npz", est)


def test_tampered_regressor_metadata_is_reported(tmp_path: Path, quad: tuple) -> None:
    import json
    import os

    x, y = quad
    path = io.save(
        tmp_path / "m.npz", Regressor((2,), max_iter=3, random_state=0, uncertainty=None).fit(x, y)
    )
    with np.load(path, allow_pickle=False) as npz:
        arrays = {n: npz[n] for n in npz.files}
    meta = json.loads(arrays.pop("tinynn_metadata").tobytes().decode())
    del meta["standardization"]
    meta["checksum"] = io._checksum(meta, arrays)
    arrays["tinynn_metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    os.remove(path)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="inconsistent regressor metadata"):
        io.load(path)
