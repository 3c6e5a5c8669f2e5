"""Execute docs/tutorial.md (a MyST-NB text notebook) so it is tested on every run.

The docs build executes the tutorial too, through myst-nb. This test runs the same code cells in
order in one namespace with matplotlib's Agg backend, outside Sphinx, and checks what the page
promises: the notebook's printed numbers, its exercises' answers and the figures.
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
pytest.importorskip("scipy", reason="the tutorial uses L-BFGS: pip install '.[scipy]'")

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def code_cells(text: str) -> list[str]:
    """Return the source of each {code-cell}, without its option lines (":key: value")."""
    cells = []
    for match in CODE_CELL.finditer(text):
        lines = match.group(1).splitlines()
        if lines and lines[0].strip() == "---":  # a YAML options block
            end = lines.index("---", 1)
            lines = lines[end + 1 :]
        while lines and re.match(r"^:\w[\w-]*:", lines[0]):
            lines = lines[1:]
        cells.append("\n".join(lines) + "\n")
    return cells


def squash(text: str) -> str:
    return " ".join(re.sub(r"after\s+[0-9.]+\s+sec", "after T sec", text).split())


@pytest.fixture(scope="module")
def text() -> str:
    return TUTORIAL.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def executed(text):
    """Run every cell; return (namespace, stdout of each cell, figures made by each cell)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    namespace: dict = {"__name__": "tutorial"}
    outputs, figures = [], []
    for index, source in enumerate(code_cells(text)):
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            exec(compile(source, f"docs/tutorial.md code cell {index}", "exec"), namespace)
        outputs.append(stdout.getvalue())
        figures.append([plt.figure(n) for n in plt.get_fignums()])
        for fig in figures[-1]:
            fig.canvas.draw()  # render as the docs build does, to catch drawing errors
        plt.close("all")
    return namespace, outputs, figures


def test_front_matter_makes_it_a_mystnb_notebook(text):
    front = text.split("---", 2)[1]
    assert "file_format: mystnb" in front
    assert "kernelspec:" in front and "language: python" in front
    assert len(code_cells(text)) >= 30


def test_parser_finds_cells_and_strips_options():
    sample = "x\n```{code-cell} ipython3\n:tags: [hide-input]\na = 1\n```\n```python\nb = 2\n```\n"
    assert code_cells(sample) == ["a = 1\n"]


def test_every_part_and_exercise_of_the_notebook_is_covered(text):
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    for wanted in [
        "Part 1",
        "Exercise 1a",
        "Part 2",
        "Part 3",
        "Worked example 3a",
        "Exercise 3b",
        "Part 4",
        "Worked example 4a",
        "Exercise 4b",
        "Part 5 setup",
        "Part 5: neural networks",
        "Worked exercise 5a",
        "10, 30 and 100 units",
        "Try it yourself",
        "zero training error",
        "train faster",
        "deeper networks",
        "other data",
    ]:
        assert any(wanted in heading for heading in headings), wanted
    assert not any("TODO" in cell for cell in code_cells(text))


def test_tutorial_prints_the_notebooks_numbers(executed):
    _, outputs, _ = executed
    printed = squash("".join(outputs))
    for expected in [
        "0.0 [-2.0, 2.0]",
        "[0. 0. 0. 0.] 0.0 [0. 0. 0. 0.]",
        "[1. 2. 3. 4.] 30.0 [2. 4. 6. 8.]",
        "4649826.583041586",
        "[-1053476.33939486 1159525.45599207]",
        "list [array([0., 0., 0.]), array([0., 2., 4., 6., 8.])]",
        "Layer 0 w | size (1, 1) | [0.] b | size (1,) | [0.]",
        "Layer 0 w | size (2, 3) | [1. 1. 1. 1. 1. 1.] b | size (3,) | [0. 0. 0.] "
        "Layer 1 w | size (3, 1) | [1. 1. 1.] b | size (1,) | [0.]",
        "completed iter 1/100 after T sec | loss 1.632803e+02",
        "completed iter 100/100 after T sec | loss 1.596883e+02 "
        "Layer 0 w | size (2, 1) | [ 4.20137427 -4.2023327 ] b | size (1,) | [0.08737985]",
        "completed iter 3/100 after T sec | loss 1.367394e+06",
        "completed iter 50/100 after T sec | loss 1.634750e+02",
        "completed iter 100/100 after T sec | loss 1.598624e+02 "
        "Layer 0 w | size (2, 1) | [ 4.20137256 -4.2023501 ] b | size (1,) | [0.08325989]",
        "[2, 3, 4, 5, 6, 5, 4, 3, 1]",
        "(1,)",
    ]:
        assert squash(expected) in printed, expected


def test_tutorial_answers_the_exercises(executed):
    ns, _, _ = executed
    np.testing.assert_allclose(ns["one_at_a_time_G"], ns["by_hand_G"], atol=1e-12)
    np.testing.assert_allclose(ns["trid_result"].params, [2, 2])
    assert ns["trid_result"].history.losses[-1] == pytest.approx(-2.0)
    np.testing.assert_allclose(ns["linreg"].params, ns["lstsq_w_D"], rtol=1e-5)
    np.testing.assert_allclose(ns["linreg_bias"].params, ns["lstsq_wtilde_E"], atol=1e-3)
    np.testing.assert_allclose(ns["fitted_E"], ns["lstsq_wtilde_E"], atol=1e-6)
    assert ns["linear_lbfgs"].success


def test_hidden_layer_networks_beat_the_notebooks_gradient_descent(executed):
    ns = executed[0]
    gd_loss = ns["h10_gd"].history.losses[-1]
    for n_hidden, result in ns["hidden_results"].items():
        assert [(p["w"].shape, p["b"].shape) for p in result.params] == [
            ((2, n_hidden), (n_hidden,)),
            ((n_hidden, 1), (1,)),
        ]
        assert result.history.losses[-1] < gd_loss / 20
    assert ns["train_rmse_100"] < 1.0


def test_try_it_yourself_answers_hold(executed):
    ns = executed[0]
    rmse, small_predict = ns["rmse"], ns["small_predict"]
    small_train = rmse(ns["y_small_N"], small_predict(ns["x_small_ND"]))
    small_test = rmse(ns["y_test_N"], small_predict(ns["x_test_ND"]))
    assert small_train < 0.1 < small_test  # overfits: below the noise floor, worse on new data
    long_train = rmse(ns["y_small_N"], ns["long_predict"](ns["x_small_ND"]))
    long_test = rmse(ns["y_test_N"], ns["long_predict"](ns["x_test_ND"]))
    assert long_train < small_train / 2 and long_test > small_test  # toward zero, and worse
    full_test = rmse(ns["y_test_N"], ns["full_predict"](ns["x_test_ND"]))
    assert full_test < 0.2
    speed = ns["speed"]
    assert speed["raw, gradient descent 1e-5"][0].reason == "diverged"
    best = speed["standardized, L-BFGS"][1][-1]
    assert best < 0.12
    assert best < speed["raw, gradient descent 1e-6"][1][-1] / 10
    assert set(ns["depth_runs"]) == {"[30]", "[30, 30]", "[30, 30, 30]", "[10, 10, 10, 10]"}


def test_tutorial_makes_its_figures(executed):
    _, _, figures = executed
    n_figures = sum(len(figs) for figs in figures)
    assert n_figures >= 15
    for index, figs in enumerate(figures):
        for fig in figs:
            assert all(ax.has_data() for ax in fig.axes)
            assert_figure_reads_well(fig, f"tutorial code cell {index}")
