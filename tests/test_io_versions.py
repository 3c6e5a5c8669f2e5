"""Model files cross numpy's major versions: one written under numpy 1, one under numpy 2.

``tests/fixtures/make_model_files.py`` wrote both files; CI runs this module under the newest
and under the oldest admitted numpy, so each file is loaded by the other major version too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinynn import io
from tinynn.estimator import Regressor

FIXTURES = Path(__file__).with_name("fixtures")
X_CHECK = np.linspace(-1.5, 1.5, 14).reshape(7, 2)  # as make_model_files.py


@pytest.mark.parametrize("major", ["1", "2"])
def test_a_model_file_loads_and_predicts_under_either_numpy(major: str) -> None:
    path = FIXTURES / f"regressor_numpy{major}.npz"
    extra = io.read_metadata(path)["extra"]
    assert extra["numpy"].split(".")[0] == major  # the file really came from that numpy
    est = io.load(path)
    assert isinstance(est, Regressor)
    mean, std = est.predict(X_CHECK, return_std=True)
    np.testing.assert_allclose(mean, extra["mean"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(std, extra["std"], rtol=1e-10, atol=1e-12)


def test_the_fixtures_hold_no_pickled_member() -> None:
    for path in FIXTURES.glob("*.npz"):
        with np.load(path, allow_pickle=False) as archive:
            assert all(archive[name].dtype != object for name in archive.files)
