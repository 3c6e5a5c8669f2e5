"""The cost of importing tinynn, against importing its two runtime dependencies.

Each sample is a fresh Python interpreter that times one import statement with
``time.perf_counter`` around it (the interpreter's own start-up is not counted) and prints it:

- the reference: ``import numpy, autograd``;
- ``import tinynn``: its top-level names load on first use (PEP 562), so this is the package
  alone;
- ``import tinynn`` and then every name of ``tinynn.__all__`` (``Regressor``, ``make_objective``,
  ``minimize``, ``predict``...): what a script that uses the everyday API pays, numpy and
  autograd included.

The three run one after the other in every round, in an order that rotates from round to
round, and the ratios are paired (the median over rounds of the per-round ratio). Every
interpreter reads bytecode compiled once, before the first round, into a private cache
(``PYTHONPYCACHEPREFIX``), so a machine that forbids writing bytecode
(``PYTHONDONTWRITEBYTECODE``) does not make tinynn pay for compiling its sources while numpy
reads the bytecode its wheel installed. Nothing is written into the source tree.

    python benchmarks/bench_import.py [--quick]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

import _harness

REFERENCE = "import numpy, autograd"
STATEMENTS = {
    REFERENCE: "import numpy, autograd",
    "import tinynn": "import tinynn",
    "import tinynn, then every name of `tinynn.__all__`": (
        "import tinynn\nfor _name in tinynn.__all__:\n    getattr(tinynn, _name)"
    ),
}
TIMER = (
    "import time\n_t0 = time.perf_counter()\n{statement}\nprint(repr(time.perf_counter() - _t0))\n"
)


def _environment(cache: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def time_import(statement: str, env: dict[str, str]) -> float:
    """Return the seconds one fresh interpreter spends in ``statement``."""
    code = TIMER.format(statement=statement)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def run(quick: bool = False, rounds: int | None = None) -> tuple[list[_harness.Check], str]:
    """Time the three statements in ``rounds`` rounds (15, or 5 when ``quick``)."""
    if rounds is None:
        rounds = 5 if quick else 15
    names = list(STATEMENTS)
    samples: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="tinynn-pycache-") as cache:
        env = _environment(cache)
        for name in names:  # compile every module into the private cache: not a round
            time_import(STATEMENTS[name], env)
        for k in range(rounds):
            shift = k % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(time_import(STATEMENTS[name], env))
    rows = []
    for name in names:
        median = _harness.format_seconds(statistics.median(samples[name]))
        if name == REFERENCE:
            rows.append([name, median, "1.00x"])
            continue
        mid, low, high = _harness.paired_ratio(samples, name, REFERENCE) or (0.0, 0.0, 0.0)
        rows.append([name, median, f"{mid:.2f}x ({low:.2f}-{high:.2f})"])
    table = _harness.markdown_table(["statement (fresh interpreter)", "time", "ratio"], rows)
    alone = _harness.paired_ratio(samples, "import tinynn", REFERENCE)
    checks = [
        _harness.Check(
            "import tinynn / import numpy, autograd",
            None if alone is None else alone[0],
            1.15,
            note="its names load on first use; the table has the cost of loading them all",
        ),
    ]
    return checks, table


def main() -> None:
    _harness.checks_main(run, __doc__.splitlines()[0], "fewer rounds")


if __name__ == "__main__":
    main()
