"""Regressor.fit holds BLAS at one thread only when needed, with the library scan cached."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from tinynn.data import make_quadratic_data
from tinynn.estimator import Regressor
from tinynn.estimator import _training as eu

# These tests fit with a few iterations on purpose; the Regressor warns that such fits
# stopped before converging (tested in test_regressor_uncertainty.py).
pytestmark = pytest.mark.filterwarnings("ignore::tinynn.optim.ConvergenceWarning")

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads() -> list[int]:
    return [
        lib.num_threads
        for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers
    ]


def test_the_library_scan_is_reused_until_sys_modules_changes(monkeypatch):
    first = eu._blas_controller()
    assert eu._blas_controller() is first
    monkeypatch.setitem(sys.modules, "tinynn_test_fake_module", types.ModuleType("fake"))
    second = eu._blas_controller()
    assert second is not first and eu._blas_controller() is second
    assert all(lib.user_api == "blas" for lib in second.lib_controllers)


def test_fit_runs_blas_on_one_thread_and_restores_the_setting():
    if not blas_threads():
        pytest.skip("no BLAS library found by threadpoolctl")
    x, y = make_quadratic_data(40, rng=0)
    Regressor(hidden_sizes=(4,), max_iter=2, uncertainty=None).fit(
        x, y
    )  # loads every BLAS a fit uses (scipy's)
    seen: list[list[int]] = []
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        if max(blas_threads()) < 2:
            pytest.skip("BLAS cannot use 2 threads here")
        before = blas_threads()
        model = Regressor(hidden_sizes=(4,), max_iter=3, random_state=0, uncertainty=None)
        model._tinynn_callback = lambda info: seen.append(blas_threads())
        model.fit(x, y)
        assert blas_threads() == before
    assert seen and all(set(threads) == {1} for threads in seen)


def test_fit_leaves_single_threaded_blas_untouched(monkeypatch):
    controller = eu._blas_controller()
    if controller is None or not controller.lib_controllers:
        pytest.skip("no BLAS library found by threadpoolctl")

    def refuse(**kwargs):
        raise AssertionError("limit must not be called when BLAS already uses one thread")

    x, y = make_quadratic_data(40, rng=0)
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        monkeypatch.setattr(controller, "limit", refuse)
        model = Regressor(hidden_sizes=(4,), max_iter=3, random_state=0, uncertainty=None).fit(x, y)
    assert np.isfinite(model.loss_curve_).all()


def test_without_threadpoolctl_fit_still_works(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # makes the import fail
    assert eu._blas_controller() is None
    x, y = make_quadratic_data(40, rng=0)
    model = Regressor(hidden_sizes=(4,), max_iter=3, random_state=0, uncertainty=None).fit(x, y)
    assert model.n_iter_ == 3
