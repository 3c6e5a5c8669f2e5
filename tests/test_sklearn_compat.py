"""scikit-learn compatibility of tinynn's Regressor: its estimator checks, Pipeline and searches."""

from __future__ import annotations

import unittest
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone, is_regressor  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from tinynn.data import make_quadratic_data  # noqa: E402
from tinynn.estimator import Regressor  # noqa: E402

FAST = {"hidden_sizes": (5,), "random_state": 0}


# Regressor deliberately does not inherit from sklearn.base.BaseEstimator (tinynn does not depend
# on scikit-learn); scikit-learn warns about that once, while collecting the checks.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Estimator Regressor does not inherit", UserWarning)
    _ALL_CHECKS = parametrize_with_checks([Regressor(**FAST)])


@_ALL_CHECKS
def test_sklearn_estimator_checks(estimator, check) -> None:  # type: ignore[no-untyped-def]
    try:
        check(estimator)
    except unittest.SkipTest as skip:  # e.g. pandas checks without pandas, on any pytest
        pytest.skip(str(skip))


def test_not_fitted_error_is_also_sklearns() -> None:
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    from tinynn.estimator import NotFittedError

    with pytest.raises(SklearnNotFittedError, match="not fitted yet") as info:
        Regressor().predict(np.zeros((1, 1)))
    assert isinstance(info.value, NotFittedError)


def test_is_a_regressor_and_clones() -> None:
    est = Regressor(**FAST)
    assert is_regressor(est)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert copy is not est


def test_pipeline_and_cross_val_score() -> None:
    x, y = make_quadratic_data(120, rng=0)
    reg = Regressor((10,), max_iter=200, random_state=0)
    pipe = make_pipeline(StandardScaler(), reg)
    scores = cross_val_score(pipe, x, y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,)
    assert scores.min() > 0.99


def test_grid_search_over_hidden_sizes_and_prior() -> None:
    x, y = make_quadratic_data(90, rng=1)
    grid = GridSearchCV(
        Regressor(max_iter=300, random_state=0),
        {"hidden_sizes": [(), (8,)], "prior_std": [None, 1.0]},
        cv=3,
    )
    grid.fit(x, y)
    assert grid.best_params_["hidden_sizes"] == (8,)
    assert grid.best_score_ > 0.95
    assert isinstance(grid.best_estimator_, Regressor)
    assert grid.best_estimator_.n_features_in_ == 2
