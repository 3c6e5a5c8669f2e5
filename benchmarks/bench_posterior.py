"""What the sample axis saves: K stacked networks in one call, and ensembles trained together.

Two paired ratios, each the median over rounds of the per-round ratio, both runners timed in
the same round:

- per-member cost at K = 16 on a 1-20-1 network with N = 60: one ``value_and_grad`` of the
  objective on 16 stacked parameter sets, divided by 16 single-network calls (target <= 0.2,
  the uncertainty issue's "a fifth of a single-member call");
- a K = 5 ensemble of 13-50-1 networks on N = 455 examples (Boston's size) trained together by
  Adam for a fixed number of iterations, divided by one member trained alone by the same
  optimizer for as many iterations (target <= 2.5).

Beside each, the members' hidden-layer tanh alone (tinynn's kernel, once per call or per
iteration), as a ratio to the same reference: the floor that the activation by itself puts
under the figure on this machine. Where np.exp and np.tanh have no SIMD float64 kernel (an AVX2
CPU), the five members' tanh alone takes about two thirds of the ensemble's 2.5x budget, and
the rest must hold five members' matrix products. For the ensemble a second floor adds the
first layer's two products per iteration (forward ``[x, 1] @ [w; b]`` and the gradient
``[x, 1]^T @ delta``, five members, BLAS): the arithmetic no implementation of the training can
skip, so a ratio above the bound there means the bound cannot be met on this machine.

    python benchmarks/bench_posterior.py
"""

from __future__ import annotations

import argparse
from typing import Any

import _harness  # one BLAS thread: imported before numpy loads
import numpy as np

from tinynn import optim, tree
from tinynn.losses import make_objective
from tinynn.params import make_params


def summarize(
    samples: dict[str, list[float]], pair: tuple[str, str], label: str, bound: float, what: str
) -> tuple[_harness.Check, str]:
    """Return the paired ratio ``pair[0] / pair[1]`` as a check, and a table of median times."""
    ratio = _harness.paired_ratio(samples, *pair)
    check = _harness.Check(
        label,
        None if ratio is None else ratio[0],
        bound,
        note="" if ratio is None else f"quartiles {ratio[1]:.2f}-{ratio[2]:.2f}",
    )
    rows = [
        [name, _harness.format_seconds(float(np.median(values)))]
        for name, values in samples.items()
    ]
    return check, _harness.markdown_table([what, "median time"], rows)


def per_member_case(repeats: int) -> tuple[_harness.Check, str]:
    """Return the per-member check at K = 16 and a table of its timings."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(60, 1))
    y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=60)
    loss = make_objective(x, y, sigma=0.1, prior_std=1.0)
    members = [make_params(1, [20], rng=k) for k in range(16)]
    stacked = tree.stack(members)

    def one_at_a_time(n: int) -> None:
        for _ in range(n):
            for member in members:
                loss.value_and_grad(member)

    def all_at_once(n: int) -> None:
        for _ in range(n):
            loss.value_and_grad(stacked)

    samples = _harness.interleaved_samples(
        {
            "16 single calls": one_at_a_time,
            "one stacked call": all_at_once,
            FLOOR: _harness.tanh_runner((16, 60, 20)),
        },
        repeats=repeats,
    )
    label = "stacked value_and_grad per member / single call, K=16, 1-20-1, N=60"
    check, table = summarize(
        samples, ("one stacked call", "16 single calls"), label, 0.2, "K = 16 networks"
    )
    return _with_floor(check, samples, "16 single calls"), table


def ensemble_case(repeats: int, n_iters: int) -> tuple[_harness.Check, str]:
    """Return the check for a K = 5 ensemble trained together against one member alone."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(455, 13))
    y = np.tanh(x @ rng.normal(size=13) / 3.0) + 0.3 * rng.normal(size=455)
    loss = make_objective(x, y, sigma=0.3, prior_std=1.0)
    one = make_params(13, [50], rng=0)
    five = tree.stack([make_params(13, [50], rng=k) for k in range(5)])

    def total(params_K: object) -> tuple[float, object]:
        values, grads = loss.value_and_grad(params_K)
        return float(np.sum(values)), grads

    def train_one(n: int) -> None:
        for _ in range(n):
            optim.minimize(loss, one, optimizer=optim.adam(0.01), n_iters=n_iters)

    def train_five(n: int) -> None:
        for _ in range(n):
            optim.minimize(
                None, five, value_and_grad=total, optimizer=optim.adam(0.01), n_iters=n_iters
            )

    tanh_five = _harness.tanh_runner((5, 455, 50))
    products_five = _products_runner(x, 5, 50)

    def arithmetic(n: int) -> None:
        tanh_five(n * n_iters)
        products_five(n * n_iters)

    samples = _harness.interleaved_samples(
        {
            "one member": train_one,
            "five members together": train_five,
            FLOOR: lambda n: tanh_five(n * n_iters),
            ARITHMETIC: arithmetic,
        },
        repeats=repeats,
        min_sample_seconds=0.05,
    )
    label = f"K=5 ensemble of 13-50-1, N=455, Adam {n_iters} iterations / one member"
    pair = ("five members together", "one member")
    check, table = summarize(samples, pair, label, 2.5, f"{n_iters} Adam iterations")
    check = _with_floor(check, samples, "one member")
    floor = _harness.paired_ratio(samples, ARITHMETIC, "one member")
    if floor is not None:
        check.note += f"; with the first layer's products {floor[0]:.2f}x"
    return check, table


def _products_runner(x_ND: np.ndarray, k: int, h: int) -> Any:
    """Return ``run(n)``: the first layer's forward and gradient products of K members, n times."""
    rng = np.random.default_rng(0)
    x1_NE = np.column_stack([x_ND, np.ones(len(x_ND))])
    x1t_EN = np.ascontiguousarray(x1_NE.T)
    wb_KEH = rng.normal(size=(k, x1_NE.shape[1], h))
    delta_KNH = rng.normal(size=(k, len(x_ND), h))
    z_KNH, g_KEH = np.empty_like(delta_KNH), np.empty_like(wb_KEH)

    def run(n: int) -> None:
        for _ in range(n):
            np.matmul(x1_NE, wb_KEH, out=z_KNH)
            np.matmul(x1t_EN, delta_KNH, out=g_KEH)

    return run


# The members' hidden-layer tanh alone, timed in the same rounds: what the activation by itself
# costs of each bound on this machine (a bound below it cannot be met with this tanh).
FLOOR = "tanh alone, the members' hidden units"
# The same tanh plus the first layer's two matrix products per iteration (forward and gradient):
# arithmetic that every implementation of the ensemble's training has to do.
ARITHMETIC = "tanh and the first layer's two products, the members"


def _with_floor(check: _harness.Check, samples: dict[str, list[float]], single: str) -> Any:
    """Return ``check`` with the tanh floor's paired ratio to ``single`` in its note."""
    floor = _harness.paired_ratio(samples, FLOOR, single)
    if floor is not None:
        check.note += f"; tanh alone {floor[0]:.2f}x"
    return check


def run(repeats: int = 15, n_iters: int = 100) -> _harness.Report:
    """Return both cases as one report (its checks: the two paired ratios)."""
    first, table_a = per_member_case(repeats)
    second, table_b = ensemble_case(repeats, n_iters)
    return _harness.Report("The sample axis", sections=[table_a, table_b], checks=[first, second])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--iters", type=int, default=100, help="Adam iterations (default 100)")
    args = parser.parse_args(argv)
    with _harness.limit_threads() as threads:
        report = run(args.repeats, args.iters)
    print(report.markdown())
    print(_harness.markdown_table(["machine", ""], _harness.machine_info(threads)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
