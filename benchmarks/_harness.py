"""Timing harness shared by the benchmark scripts.

Import this module before numpy (the benchmark scripts do): when numpy has not been imported yet it
pins the BLAS and OpenMP thread pools to one thread through the environment, which is the only
setting numpy's BLAS reads at load time. `limit_threads` then checks the pools with threadpoolctl
when it is installed.

The protocol is the one the speed issue asks for: every implementation of a case runs in the same
process, interleaved round-robin (the order rotates on every repeat), and the figure reported is the
median over repeats. On a shared, noisy machine the ratio to the hand-written numpy reference of the
same run is the product; absolute timings are context.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import importlib
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

if "numpy" not in sys.modules:  # a fresh benchmark process; too late once numpy is loaded
    for _variable in THREAD_VARIABLES:
        os.environ[_variable] = "1"
    # the JAX rows, when JAX is installed: one XLA CPU thread as well
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )

import numpy as np  # noqa: E402  (the thread variables above must be set before numpy loads)


@contextlib.contextmanager
def limit_threads() -> Iterator[str]:
    """Hold every BLAS/OpenMP pool at one thread; yield a description of the pools.

    threadpoolctl only limits the libraries loaded when the limit is set, and scipy ships its own
    OpenBLAS, so scipy and scikit-learn are imported first when they are installed.
    """
    for module in ("scipy.linalg", "scipy.optimize", "sklearn.neural_network"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        yield "threadpoolctl not installed; relying on " + ", ".join(
            f"{name}={os.environ.get(name, 'unset')}" for name in THREAD_VARIABLES
        )
        return
    with threadpool_limits(limits=1):
        pools = [
            f"{info.get('internal_api')} {info.get('version')} "
            f"({info.get('threading_layer', 'n/a')} threading) "
            f"num_threads={info.get('num_threads')}"
            for info in threadpool_info()
        ]
        yield "; ".join(pools) if pools else "no BLAS/OpenMP pools found by threadpoolctl"


def interleaved_medians(
    runners: dict[str, Callable[[int], object]],
    *,
    repeats: int,
    min_sample_seconds: float = 0.004,
    min_number: dict[str, int] | None = None,
) -> dict[str, float]:
    """Time every runner round-robin and return the median seconds per unit of work."""
    samples = interleaved_samples(
        runners, repeats=repeats, min_sample_seconds=min_sample_seconds, min_number=min_number
    )
    return {name: statistics.median(values) for name, values in samples.items()}


def paired_ratio(
    samples: dict[str, list[float]], name: str, against: str
) -> tuple[float, float, float] | None:
    """Return the median over rounds of ``samples[name][r] / samples[against][r]``, with spread.

    Both were timed in the same round, moments apart, so a drift of the machine's speed cancels
    in each round's ratio. Returns ``(median, low, high)`` where low and high are the 25th and
    75th percentiles of the per-round ratios, or None when either is missing.
    """
    top, bottom = samples.get(name), samples.get(against)
    if not top or not bottom:
        return None
    ratios = sorted(t / b for t, b in zip(top, bottom, strict=True))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return statistics.median(ratios), quartiles[0], quartiles[2]


def interleaved_samples(
    runners: dict[str, Callable[[int], object]],
    *,
    repeats: int,
    min_sample_seconds: float = 0.004,
    min_number: dict[str, int] | None = None,
) -> dict[str, list[float]]:
    """Time every runner round-robin and return every round's seconds per unit of work.

    Each runner is ``run(n)`` doing ``n`` units of work (``n`` training steps, say). A first call
    warms it up and calibrates ``n`` so that one sample lasts about ``min_sample_seconds``; then
    every repeat (round) times every runner once, in an order that rotates from repeat to repeat.
    ``samples[name][r]`` is round ``r``'s figure, so ratios can be paired round by round. The
    cyclic garbage collector is paused while a sample runs, as `timeit` does.
    """
    names = list(runners)
    min_number = min_number or {}
    numbers: dict[str, int] = {}
    for name in names:
        floor = min_number.get(name, 1)
        elapsed = _time_once(runners[name], floor)
        numbers[name] = max(floor, math.ceil(min_sample_seconds / max(elapsed / floor, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_time_once(runners[name], numbers[name]) / numbers[name])
    return samples


def _time_once(run: Callable[[int], object], number: int) -> float:
    gc.disable()
    try:
        start = time.perf_counter()
        run(number)
        return time.perf_counter() - start
    finally:
        gc.enable()


def tanh_runner(shape: tuple[int, ...]) -> Callable[[int], object]:
    """Return ``run(n)``: tinynn's tanh kernel on an array of ``shape``, ``n`` times.

    The floor under a case whose arithmetic is mostly tanh: timed beside it, the ratio of this
    runner to a reference says how much of a bound the activation alone takes on this machine
    (the kernel is the one the fast paths use, np.tanh or the exp form chosen by timing).
    """
    from tinynn.model import resolve_activation

    forward = resolve_activation("tanh").forward
    z = np.random.default_rng(0).normal(size=shape)
    out = np.empty(shape)

    def run(n: int) -> None:
        for _ in range(n):
            forward(z, out)

    return run


def format_seconds(seconds: float) -> str:
    """Format a duration with a unit that keeps three significant digits (``47.1 µs``)."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        # 0.99996 ms shows as "1 ms", not "1000 µs"
        if seconds >= scale * 0.9995 or unit == "µs":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render a markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Check:
    """One acceptance ratio: ``value`` must be ``<= bound`` (or ``>=`` when ``at_least``)."""

    name: str
    value: float | None
    bound: float
    at_least: bool = False
    note: str = ""

    @property
    def status(self) -> str:
        if self.value is None or not math.isfinite(self.value):
            return "SKIP"
        ok = self.value >= self.bound if self.at_least else self.value <= self.bound
        return "PASS" if ok else "FAIL"

    def row(self) -> list[str]:
        sign = ">=" if self.at_least else "<="
        measured = "n/a" if self.value is None else f"{self.value:.2f}x"
        return [self.name, f"{sign} {self.bound:g}x", measured, f"**{self.status}**", self.note]


def checks_table(checks: Sequence[Check]) -> str:
    """Render acceptance checks as a markdown table with PASS/FAIL/SKIP."""
    return markdown_table(
        ["ratio", "target", "measured", "status", "note"], [c.row() for c in checks]
    )


@dataclass
class Report:
    """What one benchmark script produces: markdown sections, acceptance checks and notes."""

    title: str
    sections: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # paired ratios for charts: ratios[case][implementation] = (median, 25th, 75th percentile)
    ratios: dict[str, dict[str, tuple[float, float, float]]] = field(default_factory=dict)

    def markdown(self, level: int = 2, checks: bool = True) -> str:
        """Return the report as markdown, its title a heading of the given level."""
        parts = [f"{'#' * level} {self.title}", *self.sections]
        if checks and self.checks:
            parts.append(checks_table(self.checks))
        if self.notes:
            parts.append("\n".join(f"- {note}" for note in self.notes))
        return "\n\n".join(parts) + "\n"


def checks_main(
    run: Callable[..., tuple[Sequence[Check], str]], description: str, quick_help: str
) -> None:
    """Parse ``--quick``, run ``run(quick=...)`` with one BLAS thread, print machine, table, checks.

    The ``main`` of the scripts whose result is a table and a list of checks.
    """
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args()
    with limit_threads() as threads:
        checks, table = run(quick=args.quick)
        for label, value in machine_info(threads):
            print(f"{label}: {value}")
    print()
    print(table)
    print()
    print(checks_table(checks))


def machine_info(thread_description: str) -> list[tuple[str, str]]:
    """Return (label, value) pairs describing the machine, the versions and the thread settings."""
    info = [
        ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
        ("CPU", _cpu_model()),
        ("logical CPUs", str(os.cpu_count())),
        ("OS", platform.platform()),
        ("python", platform.python_version()),
    ]
    for module in ("numpy", "autograd", "scipy", "sklearn", "threadpoolctl", "torch", "jax"):
        info.append((module, _version(module)))
    info.append(("tinynn", _version("tinynn")))
    info.append(("BLAS", _blas_name()))
    info.append(("numpy SIMD found", _simd_found()))
    info.append(("np.tanh, float64", f"{_tanh_nanoseconds():.1f} ns per element"))
    info.append(("thread pools (threadpoolctl)", thread_description))
    info.append(
        (
            "thread variables",
            ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in THREAD_VARIABLES),
        )
    )
    return info


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        distribution = {"sklearn": "scikit-learn", "tinynn": "tinynn-regression"}.get(
            module, module
        )
        return version(distribution)
    except Exception:  # not installed under that name
        return "not installed"


def _cpu_model() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _simd_found() -> str:
    try:
        config = np.show_config(mode="dicts")
        return ", ".join(config["SIMD Extensions"]["found"])
    except Exception:  # older numpy or an unexpected layout
        return "see numpy.show_config()"


def _tanh_nanoseconds() -> float:
    """Return the median cost of np.tanh per element (it dominates the small cases here)."""
    a = np.linspace(-3.0, 3.0, 100_000)
    out = np.empty_like(a)
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        np.tanh(a, out=out)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) / a.size * 1e9


def _blas_name() -> str:
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older numpy or an unexpected layout
        return "see numpy.show_config()"
