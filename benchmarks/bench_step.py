"""Time one full-batch training step of a 2-H-1 tanh network, against hand-written numpy.

One step is: the Gaussian NLL of the whole data set, its gradient, and a gradient-descent update of
the parameters in place. Every implementation runs in this one process, interleaved round-robin,
one BLAS thread; the table reports the median time per step and its paired ratio to the
hand-written numpy backprop (the median over rounds of the ratio within each round, with the
25th-75th percentile range of those ratios). The loop rows (the notebook's own loop, tinynn's
notebook-compatible loop, ``minimize`` with full history) report time per iteration of the loop.

Run ``python benchmarks/bench_step.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import _harness
import _reference as ref
import autograd
import numpy as np

SIGMA = 0.1
# Small enough that thousands of timed steps never move the weights far; the cost of a step does
# not depend on it.
STEP_SIZE = 1e-9
FULL_CASES = ((30, 300), (100, 3000), (100, 30000), (30, 10))
# At N=10 the arithmetic is negligible: that column shows each implementation's fixed cost per step
# (Python, autograd tracing, validation), which dominates on a machine with a fast vectorized tanh.
OVERHEAD_CASE = (30, 10)
# The loop rows cost several gradient evaluations per iteration; above this N they are left out to
# keep a full run near two minutes (their acceptance ratio is at H=30, N=300).
LOOP_MAX_EXAMPLES = 3000
REFERENCE = "hand-written numpy backprop"
OBJECTIVE_STEP = "tinynn make_objective, its own value_and_grad method"
# Sizes where only these rows run: the step must be no slower than hand-written numpy (with
# np.tanh) at every size from N = 300 to N = 1,000,000, and the other rows would take minutes
# there (a numpy step is about a second at N = 1,000,000).
LARGE_CASES = ((30, 100_000), (30, 1_000_000))
LARGE_ROWS = (REFERENCE, OBJECTIVE_STEP, "tinynn make_objective + value_and_grad")

Runner = Callable[[int], object]


class Skip(Exception):
    """Raised by a case builder when its implementation is not available."""


@dataclass
class Problem:
    """The data and starting parameters of one (H, N) case."""

    n_hidden: int
    n_examples: int
    x_ND: np.ndarray
    y_N: np.ndarray
    params: ref.Params

    @classmethod
    def make(cls, n_hidden: int, n_examples: int) -> Problem:
        x_ND, y_N = ref.make_quadratic_data(n_examples)
        return cls(n_hidden, n_examples, x_ND, y_N, ref.glorot_params(2, n_hidden, seed=0))

    def fresh_params(self) -> ref.Params:
        return ref.copy_params(self.params)


def _quiet(function: Callable[[], object]) -> object:
    with contextlib.redirect_stdout(io.StringIO()):
        return function()


def _step_runner(value_and_grad: Callable, params: ref.Params) -> Runner:
    def run(n_steps: int) -> None:
        for _ in range(n_steps):
            _, grads = value_and_grad(params)
            ref.sgd_inplace(params, grads, STEP_SIZE)

    return run


def _check_gradient(problem: Problem, value_and_grad, params) -> str:
    """Return a note when an implementation's gradient disagrees with the numpy reference."""
    _, expected = ref.numpy_value_and_grad(params, problem.x_ND, problem.y_N, SIGMA)
    _, got = value_and_grad(params)
    worst = max(
        float(np.max(np.abs(np.asarray(g[k]) - e[k])) / (np.max(np.abs(e[k])) + 1e-300))
        for g, e in zip(got, expected, strict=True)
        for k in e
    )
    if worst < 1e-8:
        return ""
    case = f"H={problem.n_hidden}, N={problem.n_examples}"
    return f"gradient differs from the numpy reference at {case} (rel. {worst:.1e})"


# --- builders: each returns (runner, note) or raises Skip ------------------------------------


def build_numpy(problem: Problem):
    x_ND, y_N = problem.x_ND, problem.y_N
    vg = lambda params: ref.numpy_value_and_grad(params, x_ND, y_N, SIGMA)  # noqa: E731
    return _step_runner(vg, problem.fresh_params()), ""


def build_preallocated(problem: Problem):
    vg = ref.PreallocatedBackprop(problem.x_ND, problem.y_N, SIGMA, problem.n_hidden)
    return _step_runner(vg, problem.fresh_params()), ""


def build_preallocated_exp_tanh(problem: Problem):
    vg = ref.PreallocatedBackprop(problem.x_ND, problem.y_N, SIGMA, problem.n_hidden, True)
    return _step_runner(vg, problem.fresh_params()), ""


def build_plain_autograd(problem: Problem):
    x_ND, y_N = problem.x_ND, problem.y_N
    vg_raw = autograd.value_and_grad(ref.plain_nll)
    vg = lambda params: vg_raw(params, x_ND, y_N, SIGMA)  # noqa: E731
    params = problem.fresh_params()
    return _step_runner(vg, params), _check_gradient(problem, vg, params)


def build_notebook_loop(problem: Problem):
    loss = ref.make_notebook_loss(problem.x_ND, problem.y_N, SIGMA)
    grad = autograd.grad(loss)
    params = problem.fresh_params()

    def run(n_iters: int) -> None:
        _quiet(lambda: ref.notebook_gradient_descent(loss, grad, params, n_iters, STEP_SIZE))

    return run, ""


def _tinynn_losses():
    try:
        from tinynn import losses, model
    except Exception as error:  # the module may not exist yet, or be half-written
        raise Skip(f"tinynn.losses/model not importable: {type(error).__name__}: {error}") from None
    return losses, model


def build_make_objective(problem: Problem):
    losses, _ = _tinynn_losses()
    vg = autograd.value_and_grad(losses.make_objective(problem.x_ND, problem.y_N, sigma=SIGMA))
    params = problem.fresh_params()
    return _step_runner(vg, params), _check_gradient(problem, vg, params)


def build_objective_method(problem: Problem):
    losses, _ = _tinynn_losses()
    vg = losses.make_objective(problem.x_ND, problem.y_N, sigma=SIGMA).value_and_grad
    params = problem.fresh_params()
    return _step_runner(vg, params), _check_gradient(problem, vg, params)


def build_user_composition(problem: Problem):
    losses, model = _tinynn_losses()
    x_ND, y_N = problem.x_ND, problem.y_N

    def objective(params):
        return losses.gaussian_nll(y_N, model.predict(params, x_ND), SIGMA)

    vg = autograd.value_and_grad(objective)
    params = problem.fresh_params()
    return _step_runner(vg, params), _check_gradient(problem, vg, params)


def _notebook_form_objective(problem: Problem):
    """Return tinynn's predict and NLL in the notebook's form, as a notebook user would write it."""
    losses, model = _tinynn_losses()
    x_ND, y_N = problem.x_ND, problem.y_N

    def objective(params):
        return losses.gaussian_nll(y_N, model.predict(params, x_ND), SIGMA, form="notebook")

    return objective


def build_compat_loop(problem: Problem):
    try:
        from tinynn.compat import run_many_iters_of_gradient_descent_with_list_of_dict as loop
    except Exception as error:
        raise Skip(f"tinynn.compat not importable: {type(error).__name__}: {error}") from None
    objective = _notebook_form_objective(problem)
    grad = autograd.grad(objective)
    params = problem.fresh_params()
    try:
        _quiet(lambda: loop(objective, grad, params, n_iters=2, step_size=STEP_SIZE))
    except NotImplementedError as error:
        raise Skip(f"tinynn.compat loop not implemented yet: {error}") from None

    def run(n_iters: int) -> None:
        _quiet(lambda: loop(objective, grad, params, n_iters=n_iters, step_size=STEP_SIZE))

    return run, "f, autograd.grad(f) of gaussian_nll(y, predict(params, x), sigma, form='notebook')"


def build_minimize_full_history(problem: Problem):
    try:
        from tinynn import optim
    except Exception as error:
        raise Skip(f"tinynn.optim not importable: {type(error).__name__}: {error}") from None
    objective = _notebook_form_objective(problem)
    params = problem.fresh_params()

    def run(n_iters: int) -> None:
        optim.minimize(
            objective,
            params,
            optimizer=optim.gradient_descent(STEP_SIZE),
            n_iters=n_iters,
            record_params_every=1,
            record_grads_every=1,
        )

    run(2)
    return run, "records params and grads every iteration"


ADAM_STEP = 1e-9  # as STEP_SIZE: the cost of an Adam step does not depend on it


def build_numpy_adam(problem: Problem):
    """Hand-written numpy Adam: numpy backprop, then the moment updates in place, per layer."""
    x_ND, y_N = problem.x_ND, problem.y_N
    params = problem.fresh_params()
    adam = ref.NumpyAdam(params, ADAM_STEP)

    def run(n_steps: int) -> None:
        for _ in range(n_steps):
            _, grads = ref.numpy_value_and_grad(params, x_ND, y_N, SIGMA)
            adam.update(params, grads)

    return run, ""


def build_minimize_adam(problem: Problem):
    try:
        from tinynn import losses, optim
    except Exception as error:
        raise Skip(f"tinynn not importable: {type(error).__name__}: {error}") from None
    objective = losses.make_objective(problem.x_ND, problem.y_N, sigma=SIGMA)
    params = problem.fresh_params()

    def run(n_iters: int) -> None:
        optim.minimize(objective, params, optimizer=optim.adam(ADAM_STEP), n_iters=n_iters)

    run(2)
    return run, "make_objective, default history (loss, gradient norm and time per iteration)"


def build_torch(problem: Problem):
    try:
        import torch
    except ImportError:
        raise Skip("PyTorch not installed") from None
    torch.set_num_threads(1)
    x_ND = torch.tensor(problem.x_ND)
    y_N = torch.tensor(problem.y_N)
    leaves = [torch.tensor(layer[k], requires_grad=True) for layer in problem.params for k in "wb"]
    constant = ref.nll_constant(problem.n_examples, SIGMA)

    def run(n_steps: int) -> None:
        w_DH, b_H, w_H1, b_1 = leaves
        for _ in range(n_steps):
            yhat_N = (torch.tanh(x_ND @ w_DH + b_H) @ w_H1)[:, 0] + b_1[0]
            loss = 0.5 * (((y_N - yhat_N) / SIGMA) ** 2).sum() + constant
            for leaf in leaves:
                leaf.grad = None
            loss.backward()
            with torch.no_grad():
                for leaf in leaves:
                    leaf -= STEP_SIZE * leaf.grad

    return run, f"torch {torch.__version__}, eager, 1 thread"


def build_jax(problem: Problem, *, steps_per_call: int = 1):
    try:
        import jax
    except ImportError:
        raise Skip("JAX not installed") from None
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    x_ND, y_N = jnp.asarray(problem.x_ND), jnp.asarray(problem.y_N)
    constant = ref.nll_constant(problem.n_examples, SIGMA)

    def loss(params):
        h_NH = jnp.tanh(x_ND @ params[0]["w"] + params[0]["b"])
        yhat_N = (h_NH @ params[1]["w"])[:, 0] + params[1]["b"][0]
        return 0.5 * jnp.sum(((y_N - yhat_N) / SIGMA) ** 2) + constant

    def one_step(params):
        grads = jax.grad(loss)(params)
        return jax.tree_util.tree_map(lambda p, g: p - STEP_SIZE * g, params, grads)

    if steps_per_call == 1:
        step = jax.jit(one_step)
    else:
        step = jax.jit(lambda p: jax.lax.fori_loop(0, steps_per_call, lambda i, q: one_step(q), p))
    state = {"params": jax.tree_util.tree_map(jnp.asarray, problem.params)}
    jax.block_until_ready(step(state["params"]))  # compile outside the timing

    def run(n_calls: int) -> None:
        params = state["params"]
        for _ in range(n_calls):
            params = step(params)
        jax.block_until_ready(params)
        state["params"] = params

    if steps_per_call == 1:
        return run, f"jax {jax.__version__}, jit, one call per step"
    return run, f"jax {jax.__version__}, {steps_per_call} steps per compiled call (time per step)"


IMPLEMENTATIONS: dict[str, Callable] = {
    REFERENCE: build_numpy,
    "numpy, preallocated buffers": build_preallocated,
    "numpy, preallocated buffers, tanh via exp": build_preallocated_exp_tanh,
    "autograd value_and_grad, plain list-of-dict predict": build_plain_autograd,
    "notebook's own loop (per iteration)": build_notebook_loop,
    "tinynn make_objective + value_and_grad": build_make_objective,
    "tinynn make_objective, its own value_and_grad method": build_objective_method,
    "user composition gaussian_nll(y, predict(params, x), sigma)": build_user_composition,
    "tinynn notebook-compatible loop (per iteration)": build_compat_loop,
    "tinynn minimize, full history (per iteration)": build_minimize_full_history,
    "hand-written numpy Adam (per iteration)": build_numpy_adam,
    "tinynn minimize with adam (per iteration)": build_minimize_adam,
    "PyTorch CPU": build_torch,
    "JAX jit, one call per step": build_jax,
    "JAX, 100 steps in one compiled loop": lambda p: build_jax(p, steps_per_call=100),
}
LOOPS = {
    "notebook's own loop (per iteration)",
    "tinynn notebook-compatible loop (per iteration)",
    "tinynn minimize, full history (per iteration)",
    "hand-written numpy Adam (per iteration)",
    "tinynn minimize with adam (per iteration)",
}
JAX_LOOP = "JAX, 100 steps in one compiled loop"


def measure(cases, *, repeats: int, min_sample_seconds: float, only=None):
    """Measure every implementation (or those named in ``only``) on every case.

    Return (seconds, notes): ``seconds[name][(H, N)]`` is the list of per-round times per step
    (None when skipped), one per round of the interleaved timing; ``notes[name]`` is a list of
    remarks (why it was skipped, a gradient mismatch).
    """
    seconds: dict[str, dict[tuple[int, int], list[float] | None]] = {n: {} for n in IMPLEMENTATIONS}
    notes: dict[str, list[str]] = {n: [] for n in IMPLEMENTATIONS}
    for n_hidden, n_examples in cases:
        problem = Problem.make(n_hidden, n_examples)
        runners: dict[str, Runner] = {}
        for name, build in IMPLEMENTATIONS.items():
            if only is not None and name not in only:
                continue
            if name in LOOPS and n_examples > LOOP_MAX_EXAMPLES:
                seconds[name][(n_hidden, n_examples)] = None
                note = f"not run above N={LOOP_MAX_EXAMPLES} (keeps the full run short)"
                if note not in notes[name]:
                    notes[name].append(note)
                continue
            try:
                runner, note = build(problem)
            except Skip as reason:
                runner, note = None, f"skipped: {reason}"
            except Exception as error:  # an optional backend or a half-written module failed
                runner, note = None, f"failed: {type(error).__name__}: {error}"
            if note and note not in notes[name]:
                notes[name].append(note)
            if runner is not None:
                runners[name] = runner
        min_number = {name: (10 if n_examples <= 300 else 3) for name in LOOPS}
        timed = _harness.interleaved_samples(
            runners,
            repeats=repeats if n_examples <= 3000 else max(3, repeats // 2),
            min_sample_seconds=min_sample_seconds,
            min_number=min_number,
        )
        for name in IMPLEMENTATIONS:
            value = timed.get(name)
            if name == JAX_LOOP and value is not None:
                value = [v / 100 for v in value]
            seconds[name][(n_hidden, n_examples)] = value
    return seconds, notes


def ratio_with_spread(
    seconds, name: str, case: tuple[int, int], against: str = REFERENCE
) -> tuple[float, float, float] | None:
    """Return the paired ratio to ``against`` (median over rounds) and its quartiles."""
    top, bottom = seconds.get(name, {}).get(case), seconds.get(against, {}).get(case)
    if top is None or bottom is None:
        return None
    return _harness.paired_ratio({"a": top, "b": bottom}, "a", "b")


def ratio(seconds, name: str, case: tuple[int, int], against: str = REFERENCE) -> float | None:
    """Return the paired ratio of ``name`` to ``against`` on ``case``, or None when missing."""
    paired = ratio_with_spread(seconds, name, case, against)
    return None if paired is None else paired[0]


def median_seconds(seconds, name: str, case: tuple[int, int]) -> float | None:
    values = seconds.get(name, {}).get(case)
    return None if values is None else statistics.median(values)


def table_cell(seconds, name: str, case: tuple[int, int]):
    """Return a table cell (median time, paired ratio and its spread) and the paired ratio."""
    value = median_seconds(seconds, name, case)
    paired = ratio_with_spread(seconds, name, case)
    if value is None or paired is None:
        return "skipped", None
    mid, low, high = paired
    spread = "" if name == REFERENCE else f", {low:.2f}-{high:.2f}"
    return f"{_harness.format_seconds(value)} ({mid:.2f}x{spread})", paired


def large_table(seconds, large_cases) -> str:
    """Return the table of the rows measured at the large sizes (time and paired ratio)."""
    header = ["implementation"] + [f"H={h}, N={n:,}" for h, n in large_cases]
    rows = [
        [name, *(table_cell(seconds, name, case)[0] for case in large_cases)] for name in LARGE_ROWS
    ]
    return _harness.markdown_table(header, rows)


def every_size_check(seconds, cases) -> _harness.Check:
    """The objective's step against numpy's at every measured size with N >= 300: the largest."""
    found = [
        (value, case)
        for case in cases
        if case[1] >= 300 and (value := ratio(seconds, OBJECTIVE_STEP, case)) is not None
    ]
    worst = max(found, default=None)
    sizes = sorted({n for _, (_, n) in found})
    span = f"N = {sizes[0]:,} to {sizes[-1]:,}" if sizes else "no size measured"
    return _harness.Check(
        f"objective step vs numpy with np.tanh, largest ratio over every size, {span}",
        None if worst is None else worst[0],
        1.0,
        note="" if worst is None else f"largest at H={worst[1][0]}, N={worst[1][1]:,}",
    )


def report(seconds, notes, cases, large_cases=()) -> _harness.Report:
    """Build the markdown report with the per-step tables and the acceptance checks."""
    header = ["implementation"] + [
        f"H={h}, N={n}" + (" (fixed cost)" if (h, n) == OVERHEAD_CASE else "") for h, n in cases
    ]
    rows = []
    ratios: dict[str, dict[str, tuple[float, float, float]]] = {}
    for name in IMPLEMENTATIONS:
        cells = []
        for case in cases:
            text, paired = table_cell(seconds, name, case)
            cells.append(text)
            if paired is not None:
                ratios.setdefault(f"H={case[0]}, N={case[1]}", {})[name] = paired
        rows.append([name, *cells])
    result = _harness.Report("Per-step time: one full-batch loss + gradient + update step")
    result.sections.append(_harness.markdown_table(header, rows))
    result.ratios = ratios
    small, large = (30, 300), (100, 30000)
    compat = "tinynn notebook-compatible loop (per iteration)"
    if seconds[compat].get(small) is None:
        compat = "tinynn minimize, full history (per iteration)"
    speedup = ratio(seconds, "notebook's own loop (per iteration)", small, against=compat)
    adam_ratio = ratio(
        seconds,
        "tinynn minimize with adam (per iteration)",
        small,
        against="hand-written numpy Adam (per iteration)",
    )
    result.checks = [
        _harness.Check(
            "objective.value_and_grad vs numpy, H=30, N=300",
            ratio(seconds, "tinynn make_objective, its own value_and_grad method", small),
            1.1,
        ),
        _harness.Check(
            "objective.value_and_grad vs numpy, H=30, N=10",
            ratio(seconds, "tinynn make_objective, its own value_and_grad method", OVERHEAD_CASE),
            1.5,
        ),
        _harness.Check(
            "minimize with adam vs hand-written numpy Adam, per iteration, H=30, N=300",
            adam_ratio,
            1.2,
        ),
        _harness.Check(
            "make_objective + value_and_grad vs numpy, H=30, N=300",
            ratio(seconds, "tinynn make_objective + value_and_grad", small),
            1.5,
        ),
        _harness.Check(
            "make_objective + value_and_grad vs numpy, H=100, N=30000",
            ratio(seconds, "tinynn make_objective + value_and_grad", large),
            1.15,
        ),
        _harness.Check(
            "user composition under autograd.value_and_grad vs numpy, H=30, N=300",
            ratio(seconds, "user composition gaussian_nll(y, predict(params, x), sigma)", small),
            1.5,
        ),
        _harness.Check(
            "notebook's loop time / tinynn's notebook-compatible loop time, 2-30-1, per iteration",
            speedup,
            5.0,
            at_least=True,
            note=f"measured with: {compat}",
        ),
        every_size_check(seconds, [*cases, *large_cases]),
    ]
    for name in IMPLEMENTATIONS:
        if notes[name]:
            result.notes.append(f"{name}: " + "; ".join(notes[name]))
    if large not in cases:
        result.notes.append("H=100 (N=3000 and N=30000) is measured by the full run only.")
    if not large_cases:
        result.notes.append("N = 100,000 and 1,000,000 are measured by the full run only.")
        return result
    # the notes are the first table's: they go under it, and the larger sizes' table after them
    result.sections.append("\n".join(f"- {note}" for note in result.notes))
    result.notes = []
    result.sections.append(
        "Larger sizes, only the objective's rows and the reference (the same step):\n\n"
        + large_table(seconds, large_cases)
    )
    return result


def run(
    *,
    quick: bool = False,
    repeats: int | None = None,
    cases=None,
    large_cases=None,
    min_sample_seconds: float | None = None,
) -> _harness.Report:
    """Run the per-step benchmark and return its report.

    ``quick`` keeps only H=30 with N=300 and N=10, skips the large sizes and lowers the
    repeats; the other arguments override the defaults (the smoke test passes tiny cases).
    """
    if cases is None:
        cases = (FULL_CASES[0], OVERHEAD_CASE) if quick else FULL_CASES
    if large_cases is None:
        large_cases = () if quick else LARGE_CASES
    if repeats is None:
        repeats = 5 if quick else 15
    if min_sample_seconds is None:
        min_sample_seconds = 0.002 if quick else 0.005
    seconds, notes = measure(cases, repeats=repeats, min_sample_seconds=min_sample_seconds)
    if large_cases:
        big, big_notes = measure(
            large_cases, repeats=repeats, min_sample_seconds=min_sample_seconds, only=LARGE_ROWS
        )
        for name in LARGE_ROWS:
            seconds[name].update(big[name])
            # a gradient mismatch or a skip at the large sizes is said under the tables too
            notes[name] += [note for note in big_notes[name] if note not in notes[name]]
    return report(seconds, notes, cases, large_cases)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="5 repeats, H=30 only (N=300 and N=10), no large N"
    )
    args = parser.parse_args(argv)
    with _harness.limit_threads() as threads:
        print(f"<!-- threads: {threads} -->\n")
        print(run(quick=args.quick).markdown())


if __name__ == "__main__":
    main()
