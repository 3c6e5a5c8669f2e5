"""The README's promises: its example runs and fits, and its quick start names real commands."""

import contextlib
import io
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_example_fits_to_the_noise_level():
    pytest.importorskip("scipy")
    blocks = python_blocks(README.read_text())
    assert len(blocks) == 2
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], str(README), "exec"), namespace)
    reason, rmse = out.getvalue().split()
    assert reason == "completed"
    assert 0.05 < float(rmse) < 0.12
    assert len(namespace["grads"]) == 2


def test_readme_uncertainty_example_widens_far_from_the_data():
    blocks = python_blocks(README.read_text())
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[1], str(README), "exec"), namespace)
    sigma, on_data, far = (
        float(v) for v in out.getvalue().replace("[", " ").replace("]", " ").split()
    )
    assert 0.08 < sigma < 0.12  # "~0.1 (the noise)"
    assert 0.08 < on_data < 0.13 and 5 < far < 15  # "~0.1 on the data, ~9 far away"


def test_quick_start_shows_the_demo_and_the_test_command():
    text = README.read_text()
    assert 'pip install ".[all]" && tinynn demo' in text
    assert "python -m pytest" in text
