"""Tests for the tinynn command: demo (with and without extras), fit, predict, info, errors."""

from __future__ import annotations

import io as stdio
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tinynn import io
from tinynn.cli import main
from tinynn.cli._files import Progress
from tinynn.data import make_quadratic_data
from tinynn.estimator import Regressor
from tinynn.model import layer_shapes

# These tests fit with a few iterations on purpose; the Regressor warns that such fits
# stopped before converging (tested in test_regressor_uncertainty.py).
pytestmark = pytest.mark.filterwarnings("ignore::tinynn.optim.ConvergenceWarning")


def _numbers(text: str, label: str) -> float:
    match = re.search(rf"{label} ([0-9.]+)", text)
    assert match, text
    return float(match.group(1))


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tinynn: error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def table(tmp_path: Path) -> Path:
    x, y = make_quadratic_data(120, rng=3)
    path = tmp_path / "data.csv"
    lines = ["a,b,y"] + [f"{p},{q},{t}" for (p, q), t in zip(x, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_demo_with_extras(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("scipy")
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "with levenberg_marquardt and a laplace posterior" in captured.out
    assert _numbers(captured.out, "train RMSE") <= 0.12
    assert _numbers(captured.out, "test RMSE") <= 0.2
    assert _numbers(captured.out, "test log-likelihood") > 0.5  # noise 0.1: at best 0.88
    assert "noise level 0.1" in captured.out
    on_data = _numbers(captured.out, "predictive std:")
    far = float(re.search(r"\(noise 0\.1\), ([0-9.]+) or more", captured.out).group(1))
    assert 0.08 < on_data < 0.12 and far > 3 * on_data  # honest far from the 1-D data
    names = {p.name for p in out.iterdir()}
    assert names == {"model.npz", "data.csv", "loss_curve.png", "fit.png", "uncertainty.png"}
    assert (out / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = io.load(out / "model.npz")
    assert model.optimizer_ == "levenberg_marquardt"
    assert io.read_metadata(out / "model.npz")["extra"]["feature_names"] == ["x0", "x1"]


def test_demo_without_extras(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("scipy", "scipy.optimize", "matplotlib", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, name, None)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "with levenberg_marquardt and a laplace posterior" in captured.out
    assert "matplotlib is not installed, so no figures" in captured.out
    assert _numbers(captured.out, "train RMSE") <= 0.12
    assert _numbers(captured.out, "test RMSE") <= 0.2
    assert captured.err == ""  # --quiet
    assert {p.name for p in out.iterdir()} == {"model.npz", "data.csv"}


def test_fit_predict_info_round_trip(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.npz"
    argv = ["fit", str(table), "--target", "y", "--hidden", "10", "--out", str(model), "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    ll = r"log-likelihood [-0-9.e]+"
    fit = r"RMSE [0-9.e-]+ \| R\^2"
    assert re.search(rf"train: {fit} (0\.99\d\d|1\.0000) \| {ll} \| 96 rows", out)
    assert re.search(rf"validation: {fit} (0\.9\d\d\d|1\.0000) \| {ll} \| 24 rows", out)
    assert "(set by the evidence)" in out
    assert f"saved the model to {model}" in out

    assert main(["info", str(model)]) == 0
    info = capsys.readouterr().out
    assert "tinynn fitted Regressor" in info
    # the default posterior: five evidence-tuned Laplace fits from different starts, mixed
    assert "layers: 2 -> 10 -> 1 (41 parameters each, 5 members)" in info
    assert "posterior: mixture of 5 Laplace fits" in info
    assert "features: a, b" in info and "target: y" in info
    assert "validation_rmse:" in info

    preds = tmp_path / "preds.csv"
    assert main(["predict", str(model), str(table), "--out", str(preds), "--std"]) == 0
    assert "wrote 120 predictions" in capsys.readouterr().err
    rows = np.genfromtxt(preds, delimiter=",", names=True)
    assert rows.dtype.names == ("a", "b", "y", "y_predicted", "y_std")
    loaded = io.load(model)
    x = np.column_stack([rows["a"], rows["b"]])
    np.testing.assert_array_equal(rows["y_predicted"], loaded.predict(x))
    np.testing.assert_array_equal(rows["y_std"], loaded.predict(x, return_std=True)[1])
    assert np.all(rows["y_std"] > loaded.sigma_)  # the posterior's part adds to the noise

    assert main(["predict", str(model), str(table)]) == 0
    stdout = capsys.readouterr().out.splitlines()
    assert stdout[0] == "a,b,y,y_predicted"
    assert len(stdout) == 121


def test_fit_defaults_are_the_regressors_recipe(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No --hidden, no --uncertainty: Regressor()'s widths chosen by the evidence, two mixed.
    model = tmp_path / "m.npz"
    assert main(["fit", str(table), "--target", "y", "--out", str(model), "--quiet"]) == 0
    out = capsys.readouterr().out
    loaded = io.load(model)
    widths = [layer_shapes(m.params)[0][1] for m in loaded.posterior_.members]
    assert len(widths) == 10 and len(set(widths)) == 2
    first, second = sorted(set(widths))
    assert f"fitted 5 networks of 2-{first}-1 and 5 of 2-{second}-1 on 96 rows" in out
    assert "a laplace_mixture posterior" in out
    data = np.genfromtxt(table, delimiter=",", names=True)
    x, y = np.column_stack([data["a"], data["b"]]), data["y"]
    order = np.random.default_rng(0).permutation(len(y))[24:]  # the rows fit trained on
    direct = Regressor(random_state=0).fit(x[order], y[order])
    np.testing.assert_allclose(loaded.predict(x), direct.predict(x), rtol=1e-12, atol=1e-12)
    assert main(["info", str(model)]) == 0
    info = capsys.readouterr().out
    assert f"2 -> {first} -> 1" in info and f"2 -> {second} -> 1" in info

    # --hidden auto without a posterior is one network of 30 units, as in the Regressor
    argv = ["fit", str(table), "--target", "y", "--hidden", "auto", "--uncertainty", "none"]
    assert main([*argv, "--out", str(tmp_path / "p.npz"), "--quiet"]) == 0
    assert "fitted a 2-30-1 network on 96 rows" in capsys.readouterr().out
    helps = {}
    for command in ("fit", "demo"):
        assert main([command, "--help"]) == 0
        helps[command] = " ".join(capsys.readouterr().out.split())
    assert "(default auto)" in helps["fit"] and "(default laplace_mixture)" in helps["fit"]
    assert "(default 30)" in helps["demo"] and "(default laplace)" in helps["demo"]


@pytest.mark.parametrize(
    ("uncertainty", "networks", "iterations"),
    [
        ("ensemble", "fitted 5 networks of 2-4-1 on 96 rows", r"\(20 iterations, completed\)"),
        ("laplace_mixture", "fitted 5 networks of 2-4-1 on 96 rows", r"\(the first member's fit: "),
        ("laplace", "fitted a 2-4-1 network on 96 rows", r"\([0-9]+ iterations, "),
    ],
)
def test_fit_summary_counts_the_networks_and_says_whose_iterations(
    uncertainty: str,
    networks: str,
    iterations: str,
    table: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["fit", str(table), "--target", "y", "--hidden", "4", "--uncertainty", uncertainty]
    argv += ["--max-iter", "20", "--out", str(tmp_path / "m.npz"), "--quiet"]
    assert main(argv) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(networks), first
    assert f"and {'an' if uncertainty == 'ensemble' else 'a'} {uncertainty} posterior" in first
    assert re.search(iterations, first), first


def test_fit_with_selected_features_and_options(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "lin.npz"
    argv = ["fit", str(table), "--target", "y", "--features", "b", "--hidden", "0", "--sigma",
            "2.0", "--optimizer", "adam", "--validation-fraction", "0", "--out", str(model),
            "--quiet", "--max-iter", "20", "--uncertainty", "none"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "fitted a 1-1 network on 120 rows with adam" in out
    assert "validation" not in out
    assert "noise sigma 2 (fixed)" in out
    assert io.read_metadata(model)["layer_sizes"] == [1, 1]


def test_progress_bar_on_a_terminal() -> None:
    class Tty(stdio.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    bar = Progress(4, stream)
    for i in range(4):
        bar(SimpleNamespace(iteration=i, loss=1.0 / (i + 1), elapsed=0.01 * i))
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r[")
    assert "    4/4 | loss 2.500000e-01" in text
    assert text.endswith("\n")
    plain = stdio.StringIO()
    lines = Progress(20, plain)
    for i in range(20):
        lines(SimpleNamespace(iteration=i, loss=1.0, elapsed=0.0))
    assert [line.split()[1] for line in plain.getvalue().splitlines()] == [
        "1/20",
        *[f"{k}/20" for k in range(2, 21, 2)],
    ]


@pytest.mark.parametrize(
    ("content", "extra_args", "message"),
    [
        (None, [], r"data file '.*missing\.csv' not found"),
        ("", [], "is empty: expected a header row"),
        ("a,b,y\n", [], "has a header but no data rows"),
        ("a,b,y\n1,2\n", [], "data row 1 has 2 cells, expected 3"),
        ("a,b,y\n1,2,3\n4,x,6\n", [], "data row 2, column 'b' holds 'x', which is not a number"),
        ("a,b,y\n1,2,3\n4,nan,6\n", [], "data row 2, column 'b' is nan; drop or impute"),
        ("a,b,y\n1,,3\n", [], "data row 1, column 'b' is empty"),
        ("a,a,y\n1,2,3\n", [], "duplicate column names: a"),
        ("a,,y\n1,2,3\n", [], "empty column name"),
        ("a,b,z\n1,2,3\n", [], "target column 'y' not found in .*; its columns are: a, b, z"),
        ("a,b,y\n1,2,3\n", ["--features", "a,c"], "column 'c' not found in"),
        ("a,b,y\n1,2,3\n", ["--features", "a", "y"], "target column 'y' cannot also be a feature"),
        ("y\n1\n2\n", [], "has no feature columns besides the target 'y'"),
        ("a,y\n1,2\n2,3\n", [], r"has 2 rows, too few for --validation-fraction 0\.2"),
        ("a,y\n1,2\n2,3\n3,4\n", ["--activation", "wobble"], "cannot fit: .*wobble"),
        (
            "a,y\n1,2\n",
            ["--hidden", "3,x"],
            "expected comma-separated layer sizes like 30,30, or auto, got '3,x'",
        ),
        ("a,y\n1,2\n", ["--validation-fraction", "1.5"], r"expected a number in \[0, 1\)"),
        ("a,y\n1,2\n", ["--sigma", "-1"], "expected a positive noise std"),
        ("a,y\n1,2\n", ["--bogus"], "unrecognized arguments: --bogus"),
        ("a,y\n1,2\n", ["--hidden", "3,0"], "layer sizes must be >= 1"),
        ("a,y\n1,2\n", ["--max-iter", "ten"], "expected a whole number, got 'ten'"),
        ("a,y\n1,2\n", ["--max-iter", "0"], "expected a number >= 1, got 0"),
        ("a,y\n1,2\n", ["--sigma", "big"], "expected 'learn' or a number, got 'big'"),
        ("a,y\n1,2\n", ["--validation-fraction", "x"], r"expected a number in \[0, 1\), got 'x'"),
        ('a,y\n1,"2\n', [], "is not valid CSV: unexpected end of data"),
        ("a,y\n1,2\n", ["--seed", "-1"], "expected a seed >= 0, got -1"),
        (
            "a,y\n1,2\n2,2\n3,2\n",
            ["--validation-fraction", "0"],
            "the target column 'y' holds one value \\(2\\) in every training row: --uncertainty "
            "laplace_mixture sets the noise by the evidence, which has no maximum then; add "
            "--sigma NOISE_STD or --uncertainty none",
        ),
    ],
)
def test_fit_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    extra_args: list[str],
    message: str,
) -> None:
    data = tmp_path / ("missing.csv" if content is None else "data.csv")
    if content is not None:
        data.write_text(content)
    model = tmp_path / "model.npz"
    model.write_bytes(b"previous model")
    argv = ["fit", str(data), "--target", "y", "--out", str(model), "--quiet", *extra_args]
    assert main(argv) == 2
    assert re.search(message, _error_line(capsys))
    assert model.read_bytes() == b"previous model"  # nothing already written is damaged


def test_fit_data_path_problems(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["fit", str(tmp_path), "--target", "y"]) == 2
    assert "is a folder, expected a CSV file" in _error_line(capsys)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,y\n\xe9,1\n".encode("latin-1"))
    assert main(["fit", str(latin), "--target", "y"]) == 2
    assert "is not a UTF-8 text CSV file" in _error_line(capsys)


def test_fit_lbfgs_without_scipy_names_the_extra(
    table: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    argv = ["fit", str(table), "--target", "y", "--optimizer", "lbfgs", "--quiet",
            "--uncertainty", "none", "--out", str(tmp_path / "m.npz")]  # fmt: skip
    assert main(argv) == 2
    assert "tinynn-regression[scipy]" in _error_line(capsys)
    assert not (tmp_path / "m.npz").exists()


def test_predict_with_a_model_saved_without_column_names(
    table: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    from tinynn.estimator import Regressor

    x, y = make_quadratic_data(30, rng=0)
    fitted = Regressor((3,), max_iter=5, random_state=0, uncertainty=None).fit(x, y)
    model = io.save(tmp_path / "api.npz", fitted)
    assert main(["predict", str(model), str(table)]) == 2
    assert "expects 2 features and records no column names" in _error_line(capsys)
    two = tmp_path / "two.csv"
    two.write_text("p,q\n1,2\n3,4\n")
    assert main(["predict", str(model), str(two)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "p,q,y_predicted"


def test_fit_output_folder_must_exist(table: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["fit", str(table), "--target", "y", "--out", str(tmp_path / "no" / "m.npz")]) == 2
    assert "output folder" in _error_line(capsys)


def test_fit_missing_target_option(table: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["fit", str(table)]) == 2
    assert "the following arguments are required: --target" in _error_line(capsys)


def test_no_command_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "choose a command: demo, fit, predict or info" in _error_line(capsys)
    assert main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["nonsense"]) == 2
    assert "invalid choice: 'nonsense'" in _error_line(capsys)


@pytest.fixture
def fitted_model(table: Path, tmp_path: Path, capsys) -> Path:  # type: ignore[no-untyped-def]
    model = tmp_path / "good.npz"
    argv = ["fit", str(table), "--target", "y", "--hidden", "4", "--max-iter", "20",
            "--out", str(model), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    return model


def _damaged_models(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    text = tmp_path / "text.npz"
    text.write_text("a,b\n1,2\n")
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.arange(3))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, x=np.array([None, {}], dtype=object))
    params = tmp_path / "params.npz"
    io.save(params, [{"w": np.ones((2, 1)), "b": np.zeros(1)}])
    return {
        "missing": (tmp_path / "absent.npz", r"model file '.*absent\.npz' not found"),
        "folder": (tmp_path, "is a folder"),
        "truncated": (truncated, "truncated or corrupted"),
        "text": (text, "not a tinynn model file: it is not a .npz"),
        "plain": (plain, "not a tinynn model file: it has no 'tinynn_metadata'"),
        "pickled": (pickled, "pickled object array 'x'"),
        "params": (params, "holds a bare parameter tree, not a fitted model"),
    }


@pytest.mark.parametrize(
    "case", ["missing", "folder", "truncated", "text", "plain", "pickled", "params"]
)
def test_predict_bad_model_exits_2(
    case: str, fitted_model: Path, table: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    path, message = _damaged_models(tmp_path, fitted_model)[case]
    out = tmp_path / "preds.csv"
    out.write_text("old predictions\n")
    assert main(["predict", str(path), str(table), "--out", str(out)]) == 2
    assert re.search(message, _error_line(capsys))
    assert out.read_text() == "old predictions\n"


@pytest.mark.parametrize("case", ["missing", "truncated", "text", "plain", "pickled"])
def test_info_bad_model_exits_2(case: str, fitted_model: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path, message = _damaged_models(tmp_path, fitted_model)[case]
    assert main(["info", str(path)]) == 2
    assert re.search(message, _error_line(capsys))


def test_info_describes_a_parameter_tree(fitted_model: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path, _ = _damaged_models(tmp_path, fitted_model)["params"]
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tinynn parameter tree" in out
    assert "layers: 2 -> 1 (3 parameters)" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,y\n1,2\n", "column 'b' not found in"),
        ("a,b\n1,oops\n", "column 'b' holds 'oops', which is not a number"),
        ("a,b\n", "has a header but no data rows"),
    ],
)
def test_predict_bad_data_keeps_old_output(
    content: str, message: str, fitted_model: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "new.csv"
    data.write_text(content)
    out = tmp_path / "preds.csv"
    out.write_text("old predictions\n")
    assert main(["predict", str(fitted_model), str(data), "--out", str(out)]) == 2
    assert message in _error_line(capsys)
    assert out.read_text() == "old predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_demo_out_must_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("keep")
    assert main(["demo", "--out", str(target)]) == 2
    assert "exists and is not a folder" in _error_line(capsys)
    assert target.read_text() == "keep"
    assert main(["demo", "--n-examples", "2", "--out", str(tmp_path / "d")]) == 2
    assert "leaves no test or training examples" in _error_line(capsys)


def test_unwritable_output_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["demo", "--out", str(tmp_path / "locked")]) == 2
    assert "cannot access '" in (line := _error_line(capsys))
    assert line.endswith("locked': Permission denied")


def test_installed_console_script(tmp_path: Path) -> None:
    script = shutil.which("tinynn") or str(Path(sys.executable).parent / "tinynn")
    bad = tmp_path / "bad.npz"
    bad.write_text("not a model")
    done = subprocess.run(
        [script, "info", str(bad)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"tinynn: error: {bad} is not a tinynn model file: it is not a .npz (zip) archive"
    ]
    version = subprocess.run(
        [sys.executable, "-m", "tinynn", "--version"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert version.returncode == 0
    assert version.stdout.startswith("tinynn ")


@pytest.mark.parametrize(
    "features, message",
    [
        (["a,a"], "--features lists a more than once; name each once"),
        (["a", "b,a"], "--features lists a more than once"),
        ([","], "--features names no column"),
        ([" , "], "--features names no column"),
    ],
)
def test_features_must_name_each_column_once(
    table: Path, tmp_path: Path, capsys, features: list[str], message: str
) -> None:  # type: ignore[no-untyped-def]
    argv = ["fit", str(table), "--target", "y", "--features", *features, "--quiet",
            "--out", str(tmp_path / "m.npz")]  # fmt: skip
    assert main(argv) == 2
    assert message in _error_line(capsys)
    assert not (tmp_path / "m.npz").exists()


def test_a_cell_with_an_underscore_is_not_a_number(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "u.csv"
    data.write_text("x,y\n1,2\n1_000,3\n3,4\n4,5\n5,6\n")
    assert main(["fit", str(data), "--target", "y", "--out", str(tmp_path / "m.npz")]) == 2
    assert "data row 2, column 'x' holds '1_000', which is not a number" in _error_line(capsys)


def test_demo_seed_beyond_32_bits_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["demo", "--seed", str(2**40), "--out", str(tmp_path / "d")]) == 2
    assert "--seed must be below 2**32 = 4294967296 for the demo" in _error_line(capsys)
    assert not (tmp_path / "d").exists()


def test_fit_a_laplace_mixture_then_info_and_predict(table: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "mix.npz"
    argv = ["fit", str(table), "--target", "y", "--hidden", "4", "--out", str(model), "--quiet",
            "--uncertainty", "laplace_mixture"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "(set by the evidence)" in out and f"saved the model to {model}" in out
    loaded = io.load(model)
    assert loaded.posterior_.n_members == 5
    assert main(["info", str(model)]) == 0
    described = capsys.readouterr().out
    assert "tinynn fitted Regressor" in described
    assert "layers: 2 -> 4 -> 1 (17 parameters each, 5 members)" in described
    assert "posterior: mixture of 5 Laplace fits" in described
    preds = tmp_path / "preds.csv"
    assert main(["predict", str(model), str(table), "--out", str(preds), "--std"]) == 0
    rows = np.genfromtxt(preds, delimiter=",", names=True)
    x = np.column_stack([rows["a"], rows["b"]])
    np.testing.assert_array_equal(rows["y_std"], loaded.predict(x, return_std=True)[1])


@pytest.mark.parametrize(
    ("uncertainty", "layers", "posterior"),
    [
        ("laplace", "layers: 2 -> 3 -> 2 (17 parameters)", "posterior: Laplace (full precision)"),
        (
            "ensemble",
            "layers: 2 -> 3 -> 2 (17 parameters each, 3 members)",
            "posterior: ensemble of 3 networks",
        ),
        (None, "layers: 2 -> 3 -> 2 (17 parameters)", None),
    ],
)
def test_info_names_the_layers_and_the_posterior(
    uncertainty: str | None, layers: str, posterior: str | None, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    y = np.column_stack([x[:, 0] ** 2, x[:, 1]])
    fitted = Regressor((3,), max_iter=20, n_members=3, uncertainty=uncertainty, random_state=0)
    fitted.fit(x, y)
    path = tmp_path / "model.npz"
    io.save(path, fitted)
    assert main(["info", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert layers in lines
    assert (
        (posterior in lines)
        if posterior
        else not any(line.startswith("posterior:") for line in lines)
    )


def test_fit_warnings_name_the_commands_options(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.npz"
    base = ["fit", str(table), "--target", "y", "--out", str(out), "--quiet", "--max-iter", "3"]
    assert main([*base, "--uncertainty", "laplace", "--hidden", "5"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warned[0] == (
        "tinynn: warning: Regressor: 1 Laplace fit stopped at --max-iter 3 before converging "
        "(the objective still changed by more than a fraction 1e-06 per iteration); raise "
        "--max-iter"
    )
    assert main([*base, "--uncertainty", "none", "--hidden", "5"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warned == [
        "tinynn: warning: Regressor: training stopped at --max-iter 3 before it converged (the "
        "loss still changed by more than tol); raise --max-iter"
    ]
