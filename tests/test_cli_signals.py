"""The tinynn command under Ctrl-C and a closed pipe: the shell's conventions, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinynn import io

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and pipes")


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tinynn", *args]


def write_table(path: Path, n_rows: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(n_rows, 3))
    y = np.sin(x).sum(axis=1) + 0.1 * rng.normal(size=n_rows)
    rows = ["a,b,c,y"] + [
        ",".join(repr(float(v)) for v in (*r, t)) for r, t in zip(x, y, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")


def signal_a_long_fit(tmp_path: Path, signum: int) -> tuple[int, str, str, Path]:
    """Start a fit that trains for minutes, send ``signum`` while it trains; return the outcome."""
    table = tmp_path / "big.csv"
    write_table(table, 4000)
    model = tmp_path / "m.npz"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        command("fit", str(table), "--target", "y", "--hidden", "200", "--max-iter", "100000",
                "--uncertainty", "none", "--optimizer", "adam", "--out", str(model)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    time.sleep(5.0)  # imports and reading take about a second; then it trains for minutes
    assert proc.poll() is None
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err, model


def test_ctrl_c_during_fit_saves_the_partial_fit_and_exits_130(tmp_path: Path) -> None:
    status, out, err, model = signal_a_long_fit(tmp_path, signal.SIGINT)
    assert status == 130, (out, err)
    assert "iter " in err  # the progress lines show it was training when interrupted
    assert "tinynn: interrupted after " in err
    assert f"saved the model fitted so far to {model}" in err
    assert "Traceback" not in err
    assert io.read_metadata(model)["fit"]["stop_reason"] == "interrupted"


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    write_table(table, 3000)
    model = tmp_path / "m.npz"
    fit = subprocess.run(
        command("fit", str(table), "--target", "y", "--hidden", "3", "--max-iter", "20",
                "--uncertainty", "none", "--out", str(model), "--quiet"),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "saved the model" in fit.stdout
    shell = f"{' '.join(command('predict', str(model), str(table)))} | head -1; "
    shell += 'echo "status ${PIPESTATUS[0]}" >&2'
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("a,b,c,y,y_predicted")
    assert done.stderr.strip().splitlines()[-1] in ("status 141", "status 0")
    assert "Broken pipe" not in done.stderr and "Traceback" not in done.stderr


def test_sigterm_during_fit_exits_143_and_leaves_no_file(tmp_path: Path) -> None:
    status, out, err, _ = signal_a_long_fit(tmp_path, signal.SIGTERM)
    assert status == 143, (out, err)
    assert "tinynn: terminated; nothing was saved" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]


def test_sigterm_during_a_save_removes_the_temporary_file(tmp_path: Path) -> None:
    """SIGTERM arrives while io.save writes (simulated by a slow write): no file is left."""
    script = f"""
import os, signal, numpy as np
from tinynn import io
real = np.lib.format.write_array
def slow(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)  # delivered at the next bytecode
    return real(*args, **kwargs)
np.lib.format.write_array = slow
try:
    io.save({str(tmp_path / "m.npz")!r}, [{{"w": np.ones((1, 1)), "b": np.ones(1)}}])
except io.Terminated:
    print("terminated")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "terminated", done.stderr
    assert list(tmp_path.iterdir()) == []
