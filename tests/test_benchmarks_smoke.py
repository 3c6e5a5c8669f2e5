"""Smoke tests for benchmarks/: the references are correct and the scripts produce their tables.

Nothing here asserts a timing. The benchmarks are scripts, not part of the package, so their
directory is put on sys.path for these tests.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from pathlib import Path

import autograd
import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _harness  # noqa: E402
import _reference as ref  # noqa: E402
import bench_fit  # noqa: E402
import bench_step  # noqa: E402

SIGMA = 0.3


def _assert_trees_close(got, expected, rtol=1e-10):
    assert len(got) == len(expected)
    for got_layer, expected_layer in zip(got, expected, strict=True):
        assert list(got_layer) == list(expected_layer)
        for key in expected_layer:
            want = np.asarray(expected_layer[key])
            scale = np.max(np.abs(want))
            np.testing.assert_allclose(got_layer[key], want, rtol=rtol, atol=rtol * scale)


@pytest.fixture
def problem():
    x_ND, y_N = ref.make_quadratic_data(40, seed=3)
    return x_ND, y_N, ref.glorot_params(2, 7, seed=1)


def test_quadratic_data_matches_the_notebook_formula():
    prng = np.random.RandomState(0)
    x_ND = prng.uniform(low=-5, high=5, size=(300, 2))
    y_N = np.square(x_ND) @ [-2.0, 2.0] + x_ND @ [4.2, -4.2] + 0.1 * prng.randn(300)
    got_x, got_y = ref.make_quadratic_data()
    np.testing.assert_array_equal(got_x, x_ND)
    np.testing.assert_array_equal(got_y, y_N)


def test_numpy_reference_matches_autograd(problem):
    x_ND, y_N, params = problem
    expected_loss, expected_grads = autograd.value_and_grad(ref.plain_nll)(params, x_ND, y_N, SIGMA)
    loss, grads = ref.numpy_value_and_grad(params, x_ND, y_N, SIGMA)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    _assert_trees_close(grads, expected_grads)


@pytest.mark.parametrize("exp_tanh", [False, True])
def test_preallocated_reference_matches_autograd_on_repeated_calls(problem, exp_tanh):
    x_ND, y_N, params = problem
    backprop = ref.PreallocatedBackprop(x_ND, y_N, SIGMA, n_hidden=7, exp_tanh=exp_tanh)
    for _ in range(2):  # the second call reuses the buffers
        expected_loss, expected_grads = autograd.value_and_grad(ref.plain_nll)(
            params, x_ND, y_N, SIGMA
        )
        loss, grads = backprop(params)
        assert loss == pytest.approx(expected_loss, rel=1e-12)
        _assert_trees_close(grads, expected_grads)
        params = [{k: v * 1.1 for k, v in layer.items()} for layer in params]


def test_flat_reference_matches_autograd_and_round_trips(problem):
    x_ND, y_N, params = problem
    theta_P = ref.flatten(params)
    assert theta_P.shape == (2 * 7 + 7 + 7 + 1,)
    _assert_trees_close(ref.unflatten(theta_P, 2, 7), params, rtol=0.0)
    _, expected_grads = autograd.value_and_grad(ref.plain_nll)(params, x_ND, y_N, SIGMA)
    _, grad_P = ref.flat_value_and_grad(theta_P, x_ND, y_N, SIGMA, 7)
    np.testing.assert_allclose(grad_P, ref.flatten(expected_grads), rtol=1e-10, atol=1e-10)


def test_notebook_loss_and_predict_match_the_reference(problem):
    x_ND, y_N, params = problem
    loss = ref.make_notebook_loss(x_ND, y_N, SIGMA)
    expected = ref.numpy_value_and_grad(params, x_ND, y_N, SIGMA)[0]
    assert loss(params) == pytest.approx(expected - ref.nll_constant(40, SIGMA), rel=1e-12)
    np.testing.assert_allclose(
        ref.notebook_predict(x_ND, params), ref.numpy_predict(params, x_ND), rtol=1e-12
    )
    assert ref.notebook_predict(x_ND[0], params).shape == ()  # the notebook's squeeze


def test_notebook_loop_keeps_the_notebooks_history_and_prints(problem):
    x_ND, y_N, params = problem
    loss = ref.make_notebook_loss(x_ND, y_N, SIGMA)
    calls = []

    def grad(p):
        calls.append(1)
        return autograd.grad(loss)(p)

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        final, history = ref.notebook_gradient_descent(loss, grad, params, 4, 1e-4)
    assert sorted(history) == ["f", "g", "iter", "x"]
    assert history["iter"] == [0, 1, 2, 3]
    assert len(calls) == 2 * 4 - 1  # twice per iteration, once on the first
    assert history["f"][-1] < history["f"][0]
    assert history["x"][0][0]["w"] is not params[0]["w"]  # deep copies
    assert out.getvalue().splitlines()[0].startswith("completed iter     1/4 after")
    np.testing.assert_array_equal(history["x"][-1][0]["w"], final[0]["w"])


def test_step_benchmark_prints_its_table_on_tiny_cases():
    with _harness.limit_threads():
        result = bench_step.run(
            cases=((3, 20),), large_cases=((3, 400),), repeats=1, min_sample_seconds=0.0
        )
    text = result.markdown()
    assert "| H=3, N=20 |" in text
    assert "| hand-written numpy backprop | " in text
    assert "(1.00x)" in text
    assert "notebook's own loop (per iteration)" in text
    assert len(result.checks) == 8
    # the large sizes: a table of the reference and the objective's rows alone, and the check
    # over every size from N = 300 (N = 20 is below it)
    large = text[text.index("Larger sizes") :]
    assert "| H=3, N=400 |" in large and "| hand-written numpy backprop | " in large
    assert "notebook's own loop" not in large.split("| ratio |")[0]
    every = result.checks[-1]
    assert every.name.endswith("N = 400 to 400") and every.note == "largest at H=3, N=400"
    assert every.value is not None and every.value > 0
    statuses = {check.status for check in result.checks}
    assert statuses <= {"PASS", "FAIL", "SKIP"}
    assert "gradient differs" not in text


def test_fit_benchmark_prints_its_table_with_one_seed():
    # its scipy runner stops through the callback's intermediate_result, new in scipy 1.11
    pytest.importorskip("scipy", minversion="1.11")
    methods = [bench_fit.SKLEARN, "scipy L-BFGS-B + hand-written numpy gradient"]
    with _harness.limit_threads():  # small BLAS calls crawl with two threads on a busy machine
        result = bench_fit.run(
            seeds=(0,), repeats=1, variants=(True,), methods=methods, n_examples=60
        )
    text = result.markdown()
    assert "| x and y standardized |" in text
    assert "N=60, H=30" in text
    assert "scikit-learn MLPRegressor" in text
    assert "iters" in text
    assert "skipped" not in text.split("| scipy L-BFGS-B")[1].splitlines()[0]


def test_first_hit_finds_the_smallest_budget():
    def fit(x_ND, y_N, seed, n_iters):
        return np.full_like(y_N, 0.0 if n_iters >= 37 else 5.0), None

    y_N = np.zeros(4)
    assert bench_fit.first_hit(fit, None, y_N, 0, max_iters=100) == 37
    assert bench_fit.first_hit(fit, None, y_N, 0, max_iters=20) is None


def test_check_status_and_tables():
    assert _harness.Check("a", 1.2, 1.5).status == "PASS"
    assert _harness.Check("a", 1.6, 1.5).status == "FAIL"
    assert _harness.Check("a", 6.0, 5.0, at_least=True).status == "PASS"
    assert _harness.Check("a", 4.0, 5.0, at_least=True).status == "FAIL"
    assert _harness.Check("a", None, 5.0).status == "SKIP"
    table = _harness.markdown_table(["x", "y"], [["1", "2"]])
    assert table.splitlines() == ["| x | y |", "|---|---|", "| 1 | 2 |"]
    assert _harness.format_seconds(4.7e-5) == "47 µs"
    assert _harness.format_seconds(0.99996e-3) == "1 ms"
    assert _harness.format_seconds(0.9990e-3) == "999 µs"
    assert _harness.format_seconds(1.09e-3) == "1.09 ms"
    assert _harness.format_seconds(0.41) == "410 ms"


def test_interleaved_medians_calls_every_runner_round_robin():
    order = []
    runners = {name: (lambda n, name=name: order.extend([name] * n)) for name in "abc"}
    medians = _harness.interleaved_medians(runners, repeats=3, min_sample_seconds=0.0)
    assert set(medians) == {"a", "b", "c"}
    assert all(value >= 0 for value in medians.values())
    timed = order[3:]  # after one calibration call each
    assert timed == list("abc" + "bca" + "cab")


def test_jacobian_benchmark_agrees_and_prints_its_table():
    import bench_jacobian

    result = bench_jacobian.run(cases=((3, 5),), repeats=1)
    text = result.markdown()
    assert "| H=3, N=5 (P=13) |" in text
    assert "| tinynn.model.jacobian (one vectorized pass) | " in text
    assert "the three methods agree to 1e-10 relative on every case" in text


def test_paired_ratio_is_the_median_of_per_round_ratios():
    samples = {"a": [2.0, 4.0, 9.0], "b": [1.0, 1.0, 3.0]}
    assert _harness.paired_ratio(samples, "a", "b") == (3.0, 2.0, 4.0)  # ratios 2, 4, 3
    assert _harness.paired_ratio(samples, "a", "missing") is None


def test_defaults_and_lbfgs_bookkeeping_report_their_paired_ratios():
    result = bench_fit.defaults_and_lbfgs_bookkeeping(seeds=(0,), repeats=1)
    text = result.markdown()
    assert "tinynn.Regressor() / MLPRegressor(), defaults (tinynn's: the width chosen by" in text
    assert "tinynn.Regressor((30,), uncertainty='laplace') / MLPRegressor(), one Laplace" in text
    assert "tinynn.Regressor(uncertainty=None) / MLPRegressor(), one network each, N=50" in text
    assert [check.bound for check in result.checks] == [1.0, 1.1]
    assert all(check.value is not None and check.value > 0 for check in result.checks)


def _write_toy_uci_folder(folder: Path) -> None:
    """A folder in the papers' layout: 30 rows, 2 inputs, one split of 24 and 6 rows."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    data = np.column_stack([x, np.sin(2 * x[:, 0]) + 0.3 * rng.normal(size=30)])
    np.savetxt(folder / "data.txt", data)
    for name, values in {"index_features.txt": [0, 1], "index_target.txt": [2],
                         "index_train_0.txt": range(24), "index_test_0.txt": range(24, 30),
                         "n_hidden.txt": [4], "n_splits.txt": [1]}.items():  # fmt: skip
        np.savetxt(folder / name, np.asarray(list(values)), fmt="%d")


def test_evidence_path_refits_along_the_last_proposal(tmp_path) -> None:
    import evidence_path
    import uci

    from tinynn.posterior import fit_laplace

    _write_toy_uci_folder(tmp_path / "toy")
    rows = evidence_path.one_split(tmp_path / "toy", 0, [0.0, 1.0])
    x_tr, y_tr, _, _ = uci.load_split(tmp_path / "toy", 0)
    x = (x_tr - x_tr.mean(0)) / x_tr.std(0)
    y = (y_tr - y_tr.mean()) / y_tr.std()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = fit_laplace(x, y, (4,), rng=0)
        proposal = post.tuned()
        at_0, at_1 = (
            fit_laplace(x, y, (4,), prior_std=p.prior_std, sigma=p.sigma, init=post.params)
            for p in (post, proposal)
        )
    # t = 0 refits at fit_laplace's own hyperparameters from its MAP, t = 1 at the proposal
    assert rows[0][0] == pytest.approx(at_0.log_evidence(), rel=1e-9)
    assert rows[1][0] == pytest.approx(at_1.log_evidence(), rel=1e-9)
    assert abs(rows[1][0] - rows[0][0]) > 1e-3
    assert rows[0][0] == pytest.approx(post.log_evidence(), abs=0.1)  # the same fit, refined
    ps, sd = evidence_path.path_point(np.array([1.0, 4.0]), 0.5, np.array([2.0, 1.0]), 2.0, 0.5)
    np.testing.assert_allclose(ps, [np.sqrt(2.0), 2.0])  # halfway in log space
    assert sd == pytest.approx(1.0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = evidence_path.main(["--data-dir", str(tmp_path), "--dataset", "toy",
                                   "--splits", "1", "--steps=-1,0"])  # fmt: skip
    assert code == 0
    lines = [line for line in out.getvalue().splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| t | log evidence | test RMSE |")
    assert [line.split("|")[1].strip() for line in lines[1:]] == ["-1", "0", "highest evidence"]
    assert f"{rows[0][0]:.2f}" in lines[2]  # the t = 0 row holds that evidence
    # one split: the last row repeats the row of the step with the higher evidence
    evidences = [float(line.split("|")[2].split()[0]) for line in lines[1:3]]
    chosen = lines[1 + int(np.argmax(evidences))]
    assert lines[3].split("|")[2:5] == chosen.split("|")[2:5]


def test_posterior_benchmark_and_uci_scoring_produce_their_tables(tmp_path) -> None:
    import bench_posterior
    import uci

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert bench_posterior.main(["--repeats", "2", "--iters", "3"]) == 0
    text = out.getvalue()
    assert "stacked value_and_grad per member / single call, K=16" in text
    assert "K=5 ensemble of 13-50-1" in text and "| machine |" in text
    _write_toy_uci_folder(tmp_path / "toy")
    table = tmp_path / "table.md"
    with contextlib.redirect_stdout(io.StringIO()):
        code = uci.main(["--data-dir", str(tmp_path), "--datasets", "toy", "--methods",
                         "map,regressor,mixture_loo_width", "--write", str(table)])  # fmt: skip
    assert code == 0
    text = table.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| toy |")]
    assert [row.split("|")[2].strip() for row in rows] == ["map", "regressor", "mixture_loo_width"]
    # the method that chooses a width says which, in a line under the table (one split here)
    notes = [line for line in text.splitlines() if line.startswith("- toy, ")]
    assert len(notes) == 3
    assert notes[0] in {f"- toy, regressor: width at the evidence's peak: {w} units on 1 of 1 "
                        "splits" for w in (5, 7, 10, 14, 20, 28)}  # fmt: skip
    assert notes[1] in {f"- toy, mixture_loo_width: higher evidence, 10 or 20 units: {w} units "
                        "on 1 of 1 splits" for w in (10, 20)}  # fmt: skip
    assert notes[2] in {f"- toy, mixture_loo_width: width chosen: {w} units on 1 of 1 splits"
                        for w in uci.LOO_WIDTHS}  # fmt: skip


def test_minibatch_benchmark_loop_matches_tinynn_and_prints_its_checks():
    import bench_minibatch

    from tinynn import params
    from tinynn.losses import make_objective

    x, y = bench_minibatch.make_data(3000)
    start = params.make_params(2, [bench_minibatch.H], 1, rng=0)
    objective = make_objective(x, y, sigma=bench_minibatch.SIGMA, prior_std=1.0)
    ours = bench_minibatch.tinynn_epoch(objective, start, 3000).params
    for via_exp in (False, True):
        theirs = bench_minibatch.numpy_epoch(x, y, start, via_exp)
        expected = [{"w": theirs[0], "b": theirs[1]}, {"w": theirs[2], "b": theirs[3]}]
        _assert_trees_close(ours, expected, rtol=1e-8)
    check, rows = bench_minibatch.epoch_case(rounds=1, n=3000)
    assert check.bound == 1.2 and len(rows) == 3
    memory, row = bench_minibatch.memory_case(20_000)
    assert memory.bound == 3.0 and memory.value > 1.0
    assert row[0] == "N = 20,000: one epoch and two full-data losses"


def test_sampling_benchmark_prints_tinynns_rows_without_blackjax(monkeypatch):
    import bench_mcmc

    from tinynn.data import make_gap_data

    x, y = make_gap_data(60)
    assert 0.0 < bench_mcmc.tinynn_runner(x, y)(1) < 1.0  # seconds per chain per gradient
    monkeypatch.setattr(bench_mcmc, "blackjax_runners", lambda x, y: None)  # as without JAX
    checks, table = bench_mcmc.run(quick=True)
    assert "| tinynn, 32 chains |" in table and "BlackJAX" not in table
    assert "| ELBO, K = 8 (per evaluation) |" in table
    assert [check.bound for check in checks] == [1.5]  # the ELBO's; HMC's needs BlackJAX


def test_import_benchmark_times_an_import_in_a_fresh_interpreter(tmp_path, monkeypatch):
    import bench_import

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = bench_import._environment(str(tmp_path))
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["PYTHONPYCACHEPREFIX"] == str(tmp_path)
    seconds = bench_import.time_import("import json", env)
    assert 0.0 < seconds < 10.0
    assert any(tmp_path.rglob("*.pyc"))  # the bytecode went to the private cache
    slow = bench_import.time_import("import time\ntime.sleep(0.05)", env)
    assert slow >= 0.05
    checks, table = bench_import.run(rounds=1)
    names = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert names == list(bench_import.STATEMENTS)
    assert "| 1.00x |" in table.splitlines()[2]  # the reference
    (check,) = checks
    assert check.name == "import tinynn / import numpy, autograd" and check.value > 0


def test_the_evidence_width_search_keeps_growing_only_while_the_evidence_rises(monkeypatch):
    import uci

    from tinynn.posterior import fit_laplace_mixture

    rng = np.random.default_rng(4)
    x = rng.uniform(-2, 2, size=(40, 1))
    y = np.sin(2 * x[:, 0]) + 0.1 * rng.normal(size=40)
    widths = (1, 2, 3, 4)
    monkeypatch.setattr(uci, "EVIDENCE_WIDTHS", widths)
    uci.CHOSEN.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = uci.method_mixture_evidence_width(x, y, x[:5], 0, 7)
        evidence = [
            np.mean([m.log_evidence() for m in fit_laplace_mixture(x, y, (w,), n_members=5,
                                                                   rng=7).members])
            for w in widths
        ]  # fmt: skip
    (answer,) = uci.CHOSEN["width chosen"]
    chosen = int(answer.split()[0])
    k = widths.index(chosen)
    assert all(evidence[i + 1] > evidence[i] for i in range(k))  # grew while it rose
    assert k == len(widths) - 1 or evidence[k + 1] <= evidence[k]  # stopped where it fell
    assert pred.mean.shape == (5,)
