"""Execute docs/bayesian.md (the Bayesian tutorial, a MyST-NB text notebook) and check its claims.

The docs build runs the page through myst-nb; this runs its code cells in one namespace, in order,
and checks what the prose says of the numbers: the evidence finds the noise, Laplace and the
ensemble widen far from the data while the point estimate does not, and only the point estimate
is overconfident in the gap.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_figure_reads_well

pytest.importorskip("matplotlib", reason="the tutorial draws figures: pip install '.[plot]'")
pytest.importorskip("scipy", reason="the ensemble trains with L-BFGS: pip install '.[scipy]'")

PAGE = Path(__file__).resolve().parents[1] / "docs" / "bayesian.md"


@pytest.fixture(scope="module")
def run() -> tuple[dict, str, list]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    text = PAGE.read_text(encoding="utf-8")
    assert "file_format: mystnb" in text.split("---", 2)[1]
    sources = re.findall(r"^```\{code-cell\} ipython3\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)
    # a cell may open with a YAML block of options (its figure's alt text): not code
    sources = [re.sub(r"\A---\n.*?\n---\n", "", source, flags=re.DOTALL) for source in sources]
    assert len(sources) >= 8
    namespace: dict = {"__name__": "bayesian_tutorial"}
    printed = io.StringIO()
    figures = []
    with contextlib.redirect_stdout(printed):
        for index, source in enumerate(sources):
            exec(compile(source, f"docs/bayesian.md cell {index}", "exec"), namespace)
            figures += [plt.figure(n) for n in plt.get_fignums()]
            for fig in figures:
                fig.canvas.draw()
            plt.close("all")
    return namespace, printed.getvalue(), figures


def test_the_evidence_finds_the_noise(run) -> None:
    namespace, _, _ = run
    assert 0.08 < namespace["laplace"].sigma < 0.13
    assert namespace["model"].sigma_ == pytest.approx(namespace["laplace"].sigma, rel=0.05)


def test_far_from_the_data_only_the_point_estimate_stays_narrow(run) -> None:
    _, printed, _ = run
    row = re.compile(r"^(.+?)\s+[0-9.]+\s+[0-9.]+\s+(\d+)x$", re.MULTILINE)
    ratios = {m.group(1).strip(): int(m.group(2)) for m in row.finditer(printed)}
    assert ratios["point estimate (MAP)"] == 1
    assert ratios["Laplace (GGN, linearized)"] >= 3
    assert ratios["ensemble of 5, anchored"] >= 3


def test_in_distribution_scores_agree_and_the_gap_separates_them(run) -> None:
    namespace, printed, _ = run
    rows = namespace["rows"]
    lls = [row[2] for row in rows]
    assert max(lls) - min(lls) < 0.05  # on data like the training data the three agree
    assert all(0.9 <= row[3] <= 0.99 for row in rows)  # 95% intervals hold about 95%
    gap = {
        m.group(1).strip(): float(m.group(2))
        for m in re.finditer(r"^(.+?)test LL .*coverage ([0-9.]+)$", printed, re.MULTILINE)
    }
    assert gap["point estimate (MAP)"] < 0.85
    assert gap["Laplace (GGN, linearized)"] >= 0.9 and gap["ensemble of 5, anchored"] >= 0.9


def test_figures_show_what_the_prose_says(run) -> None:
    _, _, figures = run
    for k, fig in enumerate(figures):
        assert_figure_reads_well(fig, f"Bayesian tutorial figure {k}")
    grid, calibration, sampled = figures
    assert [ax.get_title() for ax in sampled.axes] == [
        "NUTS, 4 chains",
        "SGHMC on minibatches",
        "mean-field VI",
        "Laplace (GGN, linearized)",
    ]
    assert [ax.get_title() for ax in grid.axes] == [
        "point estimate (MAP)",
        "Laplace (GGN, linearized)",
        "ensemble of 5, anchored",
    ]
    legend = [t.get_text() for t in grid.legends[0].get_texts()]  # one, below the panels
    assert legend == [
        "95% predictive (total)",
        "95% noise only",
        "predictive mean",
        "training data",
    ]
    labels = [t.get_text() for t in calibration.axes[0].get_legend().get_texts()]
    assert labels[0] == "ideal" and len(labels) == 4
    np.testing.assert_array_equal(calibration.axes[0].get_xlim(), (0.0, 1.0))


def test_the_sampling_section_says_what_its_numbers_say(run) -> None:
    namespace, printed, _ = run
    rhat = {
        m.group(1): float(m.group(2))
        for m in re.finditer(
            r"^(NUTS|SGHMC)\s+\d+ draws: .*largest R-hat ([0-9.]+)$", printed, re.MULTILINE
        )
    }
    # the prose: this short NUTS run (300 draws a chain, depth 7) lands between 1.01 and 1.08,
    # and SGHMC's R-hat is "far over NUTS's"
    assert 1.01 <= rhat["NUTS"] < 1.08
    assert rhat["SGHMC"] > rhat["NUTS"] + 0.05
    ess = re.search(r"^SGHMC\s+(\d+) draws: bulk ESS (\d+) to (\d+),", printed, re.MULTILINE)
    assert ess is not None and int(ess.group(3)) < 0.1 * int(ess.group(1))  # "few"
    far = np.array([[-3.0], [3.0]])
    vi, nuts = namespace["vi"], namespace["nuts"]
    assert np.all(vi.predict(far).epistemic_std < 0.5 * nuts.predict(far).epistemic_std)
    hits = nuts.run.chain_stats()["max_depth_hits"]
    assert np.all(hits >= 0.95 * 300) and hits.max() == 300  # "every draw, or nearly every one"
