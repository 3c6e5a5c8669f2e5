"""The gallery examples' text states what their numbers and figures show; these tests rerun every
script once and check its claims and that each of its figures reads well."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from conftest import assert_figure_reads_well  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(path.stem for path in EXAMPLES.glob("plot_*.py"))
_runs: dict[str, tuple[dict, list]] = {}


def run(stem: str) -> tuple[dict, list]:
    """Run examples/<stem>.py once per test session; return its namespace and its figures."""
    if stem not in _runs:
        try:
            namespace = runpy.run_path(str(EXAMPLES / f"{stem}.py"))
            figures = [plt.figure(number) for number in plt.get_fignums()]
            for fig in figures:
                fig.canvas.draw()  # render, as the docs build does
        finally:
            plt.close("all")
        _runs[stem] = (namespace, figures)
    return _runs[stem]


@pytest.mark.parametrize("stem", SCRIPTS)
def test_every_gallery_figure_reads_well(stem):
    _, figures = run(stem)
    assert figures, f"{stem} draws no figure"
    for k, fig in enumerate(figures, start=1):
        assert_figure_reads_well(fig, f"{stem} figure {k}")
        # sphinx-gallery makes the alt text from the figure's title: there must be one
        titles = [text.get_text() for text in fig.texts]  # a suptitle is one of them
        titles += [ax.get_title() for ax in fig.axes]
        assert any(titles), f"{stem} figure {k} has no title (its alt text in the gallery)"


def test_underfit_overfit_tells_its_story_over_the_draws():
    ns, _ = run("plot_underfit_overfit")
    sizes, train, test = ns["hidden_sizes"], ns["median_train"], ns["median_test"]
    # underfitting at H=1: both errors high; the best test error at two or three units
    assert sizes[int(np.argmin(test))] in (2, 3)
    assert test[0] > 1.4 * test.min() and train[0] > 1.5 * ns["sigma"]
    # overfitting: the training error keeps falling below the noise while the test error is,
    # from 10 units on, more than twice its best
    assert np.all(np.diff(train) < 0) and train[-1] < ns["sigma"]
    assert np.all(test[sizes.index(10) :] > 2 * test.min())
    # the median, not the mean: some draws' test RMSE is huge
    assert ns["test_rmse"].max() > 10 * np.median(ns["test_rmse"])


def test_learn_sigma_finds_the_rms_residual():
    ns, _ = run("plot_learn_sigma")
    residual = np.sqrt(np.mean(ns["residual_N"] ** 2))
    # at the fit sigma is (to the optimizer's tolerance: 2% on the oldest numpy and scipy) the RMS
    # residual, a little below the true 0.1
    assert abs(ns["sigma_hat"] / residual - 1) < 0.02 and 0.08 < ns["sigma_hat"] < 0.1
    full, notebook = np.asarray(ns["full"]), np.asarray(ns["notebook"])
    grid = ns["sigma_grid"]
    # the full form has its minimum at the learned sigma; the notebook form only falls
    assert abs(np.log(grid[np.argmin(full)] / ns["sigma_hat"])) < 0.05
    assert np.all(np.diff(notebook) < 0) and np.min(full) < 0 < np.min(notebook)
