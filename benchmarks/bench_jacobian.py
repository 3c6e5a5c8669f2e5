"""Time the network's Jacobian (N, P): tinynn's vectorized pass against autograd's ways.

Three ways to get every example's gradient of the prediction with respect to every parameter of a
2-H-1 tanh network on the quadratic toy data: ``tinynn.model.jacobian`` (one forward and one
backward pass for all examples at once), ``autograd.jacobian`` of the prediction on the flat
parameters (one reverse pass per example), and a loop of N separate ``autograd.grad`` calls, one
per example. All run interleaved in one process with one BLAS thread; the table gives the median
time and the paired ratio to tinynn (median over rounds of the ratio within each round). The
three results are compared before timing.

Run ``python benchmarks/bench_jacobian.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics

import _harness
import _reference as ref
import autograd
import numpy as np

FULL_CASES = ((30, 100), (30, 300), (100, 300))
TINYNN = "tinynn.model.jacobian (one vectorized pass)"


def _builders(n_hidden: int, n_examples: int):
    from tinynn import tree
    from tinynn.model import jacobian, predict
    from tinynn.params import make_params

    x_ND, _ = ref.make_quadratic_data(n_examples)
    params = make_params(2, [n_hidden], rng=0, bias_init="normal")
    theta_P, unflatten = tree.flatten(params)

    def with_tinynn():
        return jacobian(params, x_ND)

    flat_predict = autograd.jacobian(lambda t: predict(unflatten(t), x_ND))

    def with_autograd_jacobian():
        return flat_predict(theta_P)

    one = autograd.grad(lambda t, x_D: predict(unflatten(t), x_D[None, :])[0])

    def with_separate_gradients():
        return np.stack([one(theta_P, x_D) for x_D in x_ND])

    return {
        TINYNN: with_tinynn,
        "autograd.jacobian (one reverse pass per example)": with_autograd_jacobian,
        "N separate autograd.grad calls": with_separate_gradients,
    }


def run(*, quick: bool = False, cases=None, repeats: int | None = None) -> _harness.Report:
    """Run the Jacobian benchmark and return its report."""
    cases = cases if cases is not None else (((30, 100),) if quick else FULL_CASES)
    repeats = repeats if repeats is not None else (3 if quick else 9)
    rows: dict[str, list[str]] = {}
    notes = []
    for n_hidden, n_examples in cases:
        builders = _builders(n_hidden, n_examples)
        results = {name: fn() for name, fn in builders.items()}
        expected = results[TINYNN]
        for name, value in results.items():
            error = float(np.max(np.abs(np.reshape(value, expected.shape) - expected)))
            if error > 1e-10 * max(1.0, float(np.max(np.abs(expected)))):
                notes.append(f"{name} differs from tinynn by {error:.3g} at H={n_hidden}")
        runners = {name: _repeat(fn) for name, fn in builders.items()}
        samples = _harness.interleaved_samples(runners, repeats=repeats, min_sample_seconds=0.01)
        for name in builders:
            median = statistics.median(samples[name])
            ratio, low, high = _harness.paired_ratio(samples, name, TINYNN)
            spread = "" if name == TINYNN else f", {low:.2f}-{high:.2f}"
            cell = f"{_harness.format_seconds(median)} ({ratio:.1f}x{spread})"
            rows.setdefault(name, []).append(cell)
    header = ["method", *(f"H={h}, N={n} (P={4 * h + 1})" for h, n in cases)]
    result = _harness.Report("Network Jacobian, N x P, of a 2-H-1 tanh network")
    result.sections.append(
        _harness.markdown_table(header, [[name, *cells] for name, cells in rows.items()])
    )
    result.notes.extend(notes or ["the three methods agree to 1e-10 relative on every case"])
    return result


def _repeat(fn):
    def run(n: int) -> None:
        for _ in range(n):
            fn()

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small case, 3 repeats")
    args = parser.parse_args(argv)
    with _harness.limit_threads() as threads:
        print(f"<!-- threads: {threads} -->\n")
        print(run(quick=args.quick).markdown())


if __name__ == "__main__":
    main()
