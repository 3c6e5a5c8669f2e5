"""The Regressor builds its loss with make_objective and fits the same models as tinynn 0.1.0.

The golden numbers were computed by tinynn 0.1.0 (whose default optimizer, L-BFGS, is named
here), whose Regressor wrote the learned-sigma losses itself (a least-squares fit without a
prior, a hand-composed joint likelihood with one). Thirty L-BFGS or Adam iterations keep
round-off from being amplified by the non-convex fit, so the tolerance can be 1e-8.
"""

import numpy as np
import pytest

from tinynn import Regressor
from tinynn.data import make_quadratic_data
from tinynn.losses import make_objective

# These tests fit with a few iterations on purpose; the Regressor warns that such fits
# stopped before converging (tested in test_regressor_uncertainty.py).
pytestmark = pytest.mark.filterwarnings("ignore::tinynn.optim.ConvergenceWarning")

GOLDEN_0_1 = {
    "learned sigma": (
        {"optimizer": "lbfgs"},
        [3.1993791805569, -0.877629626729644, -5.50330441851074, 12.0621342327],
        1.70818448536469,
    ),
    "learned sigma with a prior": (
        {"prior_std": 1.0, "optimizer": "lbfgs"},
        [4.67881572663602, 0.582159062704327, -2.5523141521288, 11.5976156844232],
        2.37660805783745,
    ),
    "learned sigma with a prior, Adam": (
        {"prior_std": 1.0, "optimizer": "adam"},
        [3.23717482176524, -0.372552069480934, -6.02805917471788, 12.1914020857445],
        17.5901220743842,
    ),
    "fixed sigma with a prior": (
        {"sigma": 0.1, "alpha": 0.5, "optimizer": "lbfgs"},
        [3.19900194028091, -0.877712102114572, -5.5038470234749, 12.0618874851375],
        0.1,
    ),
}


@pytest.mark.parametrize("case", sorted(GOLDEN_0_1))
def test_fits_equal_those_of_tinynn_0_1(case):
    settings, predictions, sigma = GOLDEN_0_1[case]
    x, y = make_quadratic_data()
    est = Regressor(random_state=0, max_iter=30, **settings, uncertainty=None).fit(x, y)
    np.testing.assert_allclose(est.predict(x[:4]), predictions, rtol=1e-8)
    np.testing.assert_allclose(est.sigma_, sigma, rtol=1e-8)


def test_learned_sigma_fit_is_the_objectives_unpacked_result(monkeypatch):
    import tinynn.estimator as estimator_module

    built = []

    def spy(*args, **kwargs):
        built.append(kwargs)
        return make_objective(*args, **kwargs)

    monkeypatch.setattr(estimator_module, "make_objective", spy)
    x, y = make_quadratic_data()
    Regressor(random_state=0, max_iter=5, prior_std=1.0, uncertainty=None).fit(x, y)
    Regressor(random_state=0, max_iter=5, uncertainty=None).fit(x, y)
    assert [kw["sigma"] for kw in built] == ["learn", "learn"]
    assert [kw["prior_std"] for kw in built] == [1.0, None]


# The mean test RMSE of tinynn 0.1.0's default Regressor (L-BFGS, 500 iterations) on 40 draws of
# the notebook's quadratic toy data, each split 80/20 as `tinynn demo` does.
TEST_RMSE_0_1 = 0.11632426975366364


def test_default_fits_are_at_least_as_accurate_as_those_of_tinynn_0_1():
    from tinynn.data import train_test_split

    errors = []
    for seed in range(40):
        x, y = make_quadratic_data(300, rng=seed)
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_fraction=0.2, rng=seed)
        est = Regressor(random_state=seed, uncertainty=None).fit(x_tr, y_tr)
        assert est.optimizer_ == "levenberg_marquardt"
        errors.append(np.sqrt(np.mean((est.predict(x_te) - y_te) ** 2)))
    assert np.mean(errors) <= TEST_RMSE_0_1
