"""Run every tinynn benchmark and print (or write) the figures as markdown.

    python benchmarks/run_all.py                 # full run, about 4 minutes
    python benchmarks/run_all.py --quick         # smoke run, under 30 s
    python benchmarks/run_all.py --write docs/performance_figures.md \
        --chart docs/performance_ratios.png    # what the docs show

The output is a markdown fragment (level-3 headings, for inclusion under a section of the docs'
performance page): the machine, the versions and the thread settings, the per-step
table (with the objective's step up to N = 1,000,000), the time-to-target tables, the
Jacobian, the default fits, the sample axis (stacked calls and ensembles trained together), the
samplers against BlackJAX (when JAX and BlackJAX are installed), the cost of importing tinynn
and every acceptance ratio with PASS or FAIL.
Everything runs in this one process with one BLAS thread; ratios against the reference of the
same run are the figures to read, absolute times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _harness
import bench_fit
import bench_import
import bench_jacobian
import bench_mcmc
import bench_posterior
import bench_step


def draw_ratios(ratios: dict[str, dict[str, tuple[float, float, float]]], path: Path) -> None:
    """Draw the per-step paired ratios to hand-written numpy, one panel per problem size.

    Each bar is the median over rounds of the per-round ratio; its whisker spans the 25th to 75th
    percentile. The x axis is logarithmic (ratios are positive); the line at 1 is numpy.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    cases = list(ratios)
    names = [name for name in ratios[cases[0]] if name != bench_step.REFERENCE]
    for case in cases[1:]:
        names += [
            name for name in ratios[case] if name not in names and name != bench_step.REFERENCE
        ]
    ncols = 2
    nrows = -(-len(cases) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(7.4, 1.2 + 0.28 * len(names) * nrows), sharey=True,
        layout="constrained", squeeze=False,
    )  # fmt: skip
    every = [value for case in cases for triple in ratios[case].values() for value in triple]
    low_edge, high_edge = min(every) / 1.5, max(every) * 1.5
    positions = list(range(len(names)))[::-1]
    groups = {"tinynn": "C0", "numpy variants": "0.6", "other libraries": "C1"}

    def group(name: str) -> str:
        if name.startswith(("tinynn", "user composition")):  # the composition is tinynn's too
            return "tinynn"
        return "numpy variants" if "numpy" in name else "other libraries"

    colours = [groups[group(name)] for name in names]
    for ax, case in zip(axes.flat, cases, strict=False):  # spare panels hidden below
        for y, name, colour in zip(positions, names, colours, strict=True):
            if name not in ratios[case]:
                ax.text(1.0, y, "  not run", va="center", fontsize=7, color="0.4")
                continue
            mid, low, high = ratios[case][name]
            ax.barh(y, mid, color=colour, height=0.7)
            ax.plot([low, high], [y, y], color="k", linewidth=1)
        ax.axvline(1.0, color="k", linestyle="--", linewidth=1, zorder=3)
        ax.set_xscale("log")
        ax.set_xlim(low_edge, high_edge)  # one scale for every panel
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(case, fontsize=9)
        ax.set_xlabel("time / hand-written numpy", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(axis="x", which="both", alpha=0.3)
    for ax in axes.flat[len(cases) :]:
        ax.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour) for colour in groups.values()]
    fig.legend(
        [*handles, plt.Line2D([], [], color="k", linestyle="--")],
        [*groups, "hand-written numpy (1x)"], loc="outside lower center", ncols=4, fontsize=7,
    )  # fmt: skip
    for row in axes:
        row[0].set_yticks(positions, names, fontsize=7)
        row[0].set_ylabel("implementation", fontsize=8)
    fig.savefig(path, dpi=150)
    plt.close(fig)


def render(quick: bool, chart: Path | None = None) -> str:
    """Run both benchmarks and return the markdown fragment (and draw the chart when asked)."""
    start = time.perf_counter()
    with _harness.limit_threads() as threads:
        step = bench_step.run(quick=quick)
        fit = bench_fit.run(quick=quick)
        fit_tight = bench_fit.run(quick=quick, target=0.11)
        fit_tight.checks = []  # the acceptance ratios are at RMSE 0.3
        jac = bench_jacobian.run(quick=quick)
        sampling_checks, sampling_table = bench_mcmc.run(quick=quick)
        extra = bench_fit.defaults_and_lbfgs_bookkeeping(
            seeds=(0, 1) if quick else bench_fit.FULL_SEEDS, repeats=3 if quick else 7
        )
        sample_axis = bench_posterior.run(repeats=3 if quick else 15, n_iters=10 if quick else 100)
        import_checks, import_table = bench_import.run(quick=quick)
        machine = _harness.machine_info(threads)
    elapsed = time.perf_counter() - start
    if chart is not None:
        draw_ratios(step.ratios, chart)
    command = "python benchmarks/run_all.py" + (" --quick" if quick else "")
    intro = (
        "<!-- Generated by benchmarks/run_all.py; do not edit by hand. -->\n\n"
        f"Measured with `{command}` in {elapsed:.0f} s: every implementation in one process, "
        "interleaved round-robin, one BLAS thread, float64. Times are medians over rounds; every "
        "ratio is paired: the median over rounds of the ratio of the two times measured in the "
        "same round, with the 25th-75th percentile range of those ratios (or, for the "
        "time-to-target tables, the range over seeds). The machine was shared with other jobs, "
        "so read the ratios; absolute times are context. The machine table gives the cost of "
        "np.tanh per element: where numpy does not vectorize float64 tanh, tanh dominates every "
        "step at N >= 300 and hides fixed per-step costs, which the N = 10 column shows on their "
        "own (they dominate on machines with a fast tanh)."
    )
    sections = [
        intro,
        "### Machine\n\n"
        + _harness.markdown_table(["item", "value"], [list(row) for row in machine]),
        step.markdown(level=3, checks=False).rstrip(),
        fit.markdown(level=3, checks=False).rstrip(),
        fit_tight.markdown(level=3, checks=False).rstrip(),
        jac.markdown(level=3, checks=False).rstrip(),
        extra.markdown(level=3, checks=False).rstrip(),
        sample_axis.markdown(level=3, checks=False).rstrip(),
        "### Sampling and variational inference, 1-20-1 network, N = 60\n\n"
        + sampling_table.rstrip()
        + "\n\n- HMC: 32 chains, 50 leapfrog steps per draw, fixed step size; BlackJAX's chains "
        "compiled in `lax.scan` (one) and under `vmap` (32), compile time apart; per chain per "
        "gradient. ELBO: one value and gradient with K = 8 draws, per evaluation.",
        "### Import\n\n"
        + import_table.rstrip()
        + "\n\n- Each time is one import statement in a fresh interpreter, its start-up not "
        "counted, with bytecode compiled beforehand into a private cache for every module alike.",
        "### Targets\n\n"
        + _harness.checks_table(
            step.checks
            + fit.checks
            + extra.checks
            + sample_axis.checks
            + sampling_checks
            + import_checks
        ),
    ]
    return "\n\n".join(sections) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer repeats and seeds")
    parser.add_argument("--write", type=Path, help="also write the markdown to this file")
    parser.add_argument("--chart", type=Path, help="draw the per-step ratios into this PNG")
    args = parser.parse_args(argv)
    text = render(args.quick, args.chart)
    sys.stdout.write(text)
    if args.write is not None:
        args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
