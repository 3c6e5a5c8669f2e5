"""Minibatch training: ``Objective.batch_value_and_grad`` and ``minimize(..., batch_size=B)``.

The oracles: the minibatch estimates of one epoch, each weighted by its B / N, add up to the
full-batch loss and gradient exactly (for every noise model and prior); a minibatch's estimate is
N / B times the same objective built on its rows alone, plus the prior once; finite differences
check the minibatch gradient; minibatch Adam with a decaying step reaches the least-squares
solution of a linear model; the full-data loss summed over chunks of rows equals the loss in one
pass. Resumed runs continue bit for bit, and every bad argument gets its own message.
"""

from __future__ import annotations

import math
import re
import tracemalloc
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from tinynn import losses, optim, tree
from tinynn.losses import make_objective
from tinynn.model import predict
from tinynn.params import make_params

RNG = np.random.default_rng(7)
X = RNG.uniform(-2.0, 2.0, size=(60, 2))
Y = np.sin(X[:, 0]) + 0.1 * RNG.normal(size=60)
Y3 = RNG.normal(size=(60, 3))
NET = make_params(2, [5], rng=0)
NET3 = make_params(2, [5], 3, rng=0)

CASES = {
    "fixed sigma": (Y, NET, {"sigma": 0.3}),
    "prior": (Y, NET, {"sigma": 0.3, "prior_std": 1.5}),
    "learned sigma with prior": (Y, NET, {"sigma": "learn", "prior_std": 1.0}),
    "profiled sigma": (Y, NET, {"sigma": "learn"}),
    "sigma per example": (Y, NET, {"sigma": 0.2 + RNG.uniform(size=60), "prior_std": 2.0}),
    "sigma per element": (Y3, NET3, {"sigma": 0.2 + RNG.uniform(size=(60, 3))}),
    "sigma per output": (Y3, NET3, {"sigma": np.array([0.2, 0.5, 1.0]), "prior_std": 1.0}),
    "mean reduction": (Y, NET, {"sigma": 0.3, "prior_std": 1.0, "reduction": "mean"}),
    "notebook form": (Y, NET, {"sigma": 0.3, "form": "notebook"}),
    "custom activation": (Y, NET, {"activation": lambda z: z / (1 + z**2), "prior_std": 1.0}),
}


def _start(objective, net):
    return objective.init(net) if objective.noise == "joint" else net


def _max_diff(a, b):
    return max(
        float(np.max(np.abs(u - v))) for u, v in zip(tree.leaves(a), tree.leaves(b), strict=True)
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_epoch_of_minibatches_adds_up_to_the_full_loss_and_gradient(case):
    y, net, options = CASES[case]
    objective = make_objective(X, y, **options)
    params = _start(objective, net)
    value, grads = objective.value_and_grad(params)
    order = np.random.default_rng(1).permutation(60)
    total, summed = 0.0, tree.zeros_like(params)
    for start in range(0, 60, 16):  # 16, 16, 16, 12: unequal pieces, weighted by B / N
        rows = order[start : start + 16]
        v, g = objective.batch_value_and_grad(params, rows)
        total += v * len(rows) / 60
        summed = tree.axpy(len(rows) / 60, g, summed)
    assert total == pytest.approx(float(value), rel=1e-12, abs=1e-12)
    assert _max_diff(summed, grads) < 1e-10 * (1.0 + float(tree.global_norm(grads)))


@pytest.mark.parametrize("case", ["prior", "sigma per example", "sigma per output"])
def test_a_minibatch_is_n_over_b_times_its_own_objective_plus_the_prior_once(case):
    y, net, options = CASES[case]
    rows = np.array([3, 17, 17, 42, 0])  # a repeated row counts twice
    full = make_objective(X, y, **options)
    params = _start(full, net)
    sub_options = dict(options)
    if case == "sigma per example":
        sub_options["sigma"] = options["sigma"][rows]
    prior_std = sub_options.pop("prior_std")
    alone = make_objective(X[rows], y[rows], **sub_options)  # the likelihood only
    net_part = params["net"] if isinstance(params, dict) else params
    n_params = tree.size(net_part)
    log_prior = -0.5 * float(tree.vdot(net_part, net_part)) / prior_std**2 - n_params * (
        0.5 * math.log(2 * math.pi) + math.log(prior_std)
    )
    value, _ = full.batch_value_and_grad(params, rows)
    assert value == pytest.approx(60 / 5 * float(alone(params)) - log_prior, rel=1e-12)


def test_minibatch_gradient_matches_finite_differences():
    objective = make_objective(X, Y, sigma="learn", prior_std=1.0)
    params = objective.init(NET, sigma=0.7)
    rows = np.arange(10, 30)
    theta, unflatten = tree.flatten(params)
    _, grads = objective.batch_value_and_grad(params, rows)
    grad_P, _ = tree.flatten(grads)
    h = 1e-6
    fd = np.array(
        [
            (
                objective.batch_value_and_grad(unflatten(theta + h * e), rows)[0]
                - objective.batch_value_and_grad(unflatten(theta - h * e), rows)[0]
            )
            / (2 * h)
            for e in np.eye(theta.size)
        ]
    )
    np.testing.assert_allclose(grad_P, fd, rtol=1e-6, atol=1e-6)


def test_full_loss_summed_over_chunks_equals_one_pass(monkeypatch):
    from tinynn.losses import _batches

    for options in ({"sigma": 0.3, "prior_std": 1.0}, {"sigma": "learn", "prior_std": 1.0}):
        objective = make_objective(X, Y, **options)
        params = _start(objective, NET)
        whole = float(objective(params))
        monkeypatch.setattr(_batches, "CHUNK_ELEMENTS", 40)  # chunks of 8 rows of 5 units
        chunked = float(objective(params))
        monkeypatch.undo()
        assert chunked == pytest.approx(whole, rel=1e-13)
        assert whole == pytest.approx(float(objective.value_and_grad(params)[0]), rel=1e-13)
    # a loss traced through leaves of a plain list is never chunked (it would lose the trace)
    objective = make_objective(X, Y, sigma=0.3, prior_std=1.0)
    monkeypatch.setattr(_batches, "CHUNK_ELEMENTS", 40)

    def through_w(w):
        return objective([{"w": w, "b": NET[0]["b"]}, NET[1]])

    grad_w = autograd.grad(through_w)(NET[0]["w"])
    monkeypatch.undo()
    np.testing.assert_allclose(grad_w, objective.value_and_grad(NET)[1][0]["w"], rtol=1e-12)
    profiled = make_objective(X, Y3, sigma="learn")
    sigma_O = profiled.unpack(NET3)[1]
    monkeypatch.setattr(_batches, "CHUNK_ELEMENTS", 40)
    np.testing.assert_allclose(profiled.unpack(NET3)[1], sigma_O, rtol=1e-13)
    resid = predict(NET3, X) - Y3
    np.testing.assert_allclose(sigma_O, np.sqrt(np.mean(resid**2, axis=0)), rtol=1e-13)


@pytest.mark.parametrize(
    ("index", "error", "message"),
    [
        (np.array([0.0, 1.0]), TypeError, "index must be an array of integer row numbers"),
        (np.array([], dtype=int), ValueError, "got shape (0,)"),
        (np.array([[0, 1]]), ValueError, "got shape (1, 2)"),
        (np.array([0, 60]), ValueError, "rows in [0, 60) of the 60 examples, got 60"),
        (np.array([-1, 3]), ValueError, "got -1"),
    ],
)
def test_bad_minibatch_index_is_named(index, error, message):
    objective = make_objective(X, Y)
    with pytest.raises(error) as info:
        objective.batch_value_and_grad(NET, index)
    assert message in str(info.value)


def test_n_examples():
    assert make_objective(X, Y).n_examples == 60


# -- minimize with batch_size ------------------------------------------------------------------


def _run(n_iters, **options):
    objective = options.pop("objective", make_objective(X, Y, sigma=0.3, prior_std=1.0))
    return optim.minimize(
        objective, NET, optimizer=optim.adam(0.01), n_iters=n_iters, batch_size=16, **options
    )


def test_minibatch_runs_are_seeded_and_resume_bit_for_bit():
    once = _run(23, seed=5)
    again = _run(23, seed=5)
    other = _run(23, seed=6)
    np.testing.assert_array_equal(once.history.losses, again.history.losses)
    assert not np.array_equal(once.history.losses, other.history.losses)
    # 60 rows in minibatches of 16: 4 steps an epoch; stop mid-epoch and resume
    first = _run(6, seed=5)
    objective = make_objective(X, Y, sigma=0.3, prior_std=1.0)
    rest = optim.minimize(
        objective,
        first.params,
        optimizer=optim.adam(0.01),
        n_iters=17,
        batch_size=16,
        seed=5,
        state=first.state,
    )
    joined = optim.History.concat([first.history, rest.history])
    np.testing.assert_array_equal(joined.losses, once.history.losses)
    assert _max_diff(rest.params, once.params) == 0.0


def test_each_epoch_visits_every_row_once():
    seen = []

    def loss(params, x_B, y_B):
        seen.append(np.asarray(y_B).copy())
        return anp.sum(params["a"] ** 2) + 0.0 * anp.sum(y_B)

    optim.minimize(
        loss,
        {"a": np.ones(1)},
        optimizer=optim.gradient_descent(0.1),
        n_iters=8,
        batch_size=16,
        data=(X, np.arange(60.0)),
    )
    epochs = [np.concatenate(seen[0:4]), np.concatenate(seen[4:8])]
    assert [len(part) for part in seen[:4]] == [16, 16, 16, 12]
    for rows in epochs:
        np.testing.assert_array_equal(np.sort(rows), np.arange(60.0))
    assert not np.array_equal(epochs[0], epochs[1])  # a new shuffle each epoch


def test_full_loss_is_recorded_every_k_epochs_beside_other_metrics():
    objective = make_objective(X, Y, sigma=0.3, prior_std=1.0)
    result = _run(
        17,
        objective=objective,
        full_loss_every=2,
        metrics={"b0": lambda p: float(p[0]["b"][0])},
        metrics_every=5,
        record_params_every=8,
    )
    history = result.history
    assert history.metric_iters.tolist() == [0, 5, 8, 10, 15, 16]
    full = history.metrics["full_loss"]
    assert np.isnan(full[[1, 3, 4]]).all() and np.isnan(history.metrics["b0"][[2, 5]]).all()
    assert full[0] == pytest.approx(float(objective(NET)), rel=1e-12)
    assert full[2] == pytest.approx(float(objective(history.params[8])), rel=1e-12)
    assert full[-1] < full[0]
    assert len(history) == 17


def test_minibatch_adam_reaches_least_squares_on_a_linear_model():
    gen = np.random.default_rng(3)
    x = gen.normal(size=(2000, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * gen.normal(size=2000)
    objective = make_objective(x, y, sigma=0.1, reduction="mean")
    start = make_params(3, [], rng=0)
    n_iters = 40 * 20  # 40 epochs of 20 minibatches of 100
    result = optim.minimize(
        objective,
        start,
        optimizer=optim.adam(optim.cosine_decay(0.05, n_iters, 1e-5)),
        n_iters=n_iters,
        batch_size=100,
        seed=0,
    )
    design = np.column_stack([x, np.ones(2000)])
    exact = np.linalg.lstsq(design, y, rcond=None)[0]
    found = np.concatenate([result.params[0]["w"][:, 0], result.params[0]["b"]])
    np.testing.assert_allclose(found, exact, atol=2e-3)


def test_function_with_data_trains_on_minibatches():
    def loss(params, x_B, y_B):
        scale = len(X) / len(x_B)
        return scale * anp.sum((predict(params, x_B) - y_B) ** 2) / (2 * 0.3**2)

    result = optim.minimize(
        loss,
        NET,
        optimizer=optim.adam(0.01),
        n_iters=200,
        batch_size=20,
        data=(X, Y),
        full_loss_every=10,
    )
    full = result.history.metrics["full_loss"]
    objective = make_objective(X, Y, sigma=0.3, form="notebook")
    assert full[0] == pytest.approx(float(objective(NET)), rel=1e-12)
    assert full[-1] < 0.5 * full[0]


def test_divergence_returns_the_last_finite_parameters():
    objective = make_objective(X, Y * 1e3, sigma=1e-3)
    with pytest.warns(optim.DivergenceWarning, match="training diverged at iteration") as caught:
        result = optim.minimize(
            objective, NET, optimizer=optim.gradient_descent(10.0), n_iters=50, batch_size=16
        )
    assert caught[0].filename == __file__  # the warning points at the call
    assert result.reason == "diverged"
    assert all(np.isfinite(leaf).all() for leaf in tree.leaves(result.params))
    assert len(result.history) == result.n_iters and np.isfinite(result.history.losses).all()


def test_interrupt_returns_the_work_done():
    def stop(info):
        if info.iteration == 9:
            raise KeyboardInterrupt

    result = _run(50, callback=stop)
    assert result.reason == "interrupted"
    assert "interrupted by KeyboardInterrupt during iteration 9" in result.message


def test_patience_stops_minibatch_training_on_the_validation_loss():
    objective = make_objective(X, Y, sigma=0.3)
    values = iter([5.0, 4.0, 4.5, 4.6, 4.7, 1.0])
    result = optim.minimize(
        objective,
        NET,
        optimizer=optim.adam(0.01),
        n_iters=100,
        batch_size=16,
        validation_fn=lambda p: next(values),
        patience=3,
        metrics_every=4,
    )
    assert result.reason == "early_stopping"
    assert result.history.metric_iters.tolist() == [0, 4, 8, 12, 16]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"optimizer": optim.lbfgs()}, ValueError, "batch_size needs a first-order optimizer"),
        ({"tol": 1e-6}, ValueError, "tol cannot be used with batch_size"),
        ({"gtol": 1e-6}, ValueError, "gtol cannot be used with batch_size"),
        ({"batch_size": 0}, ValueError, "batch_size must be an int >= 1, got 0"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an int"),
        ({"seed": -1}, ValueError, "seed must be an int >= 0, got -1"),
        ({"data": (X, Y)}, ValueError, "data must not be given with an objective"),
        ({"full_loss_every": -2}, ValueError, "full_loss_every must be an int >= 0"),
        (
            {"metrics": {"full_loss": len}, "full_loss_every": 1},
            ValueError,
            "metrics must not use the name 'full_loss'",
        ),
        ({"batch_size": None, "full_loss_every": 3}, ValueError, "full_loss_every=3 needs"),
        ({"batch_size": None, "data": (X, Y)}, ValueError, "data is only used with batch_size"),
    ],
)
def test_bad_minibatch_options_are_named(options, error, message):
    kwargs = {"optimizer": optim.adam(0.01), "n_iters": 3, "batch_size": 16}
    kwargs.update(options)
    with pytest.raises(error) as info:
        optim.minimize(make_objective(X, Y), NET, **kwargs)
    assert message in str(info.value)


def test_minibatch_losses_need_a_way_to_read_rows():
    with pytest.raises(TypeError, match="batch_size needs a loss that reads minibatches"):
        optim.minimize(
            lambda p: anp.sum(p**2), np.ones(2), optimizer="adam", n_iters=2, batch_size=4
        )
    with pytest.raises(ValueError, match="value_and_grad cannot be used with batch_size"):
        optim.minimize(
            None,
            np.ones(2),
            value_and_grad=lambda p: (0.0, p),
            optimizer="adam",
            n_iters=2,
            batch_size=4,
        )
    function = lambda p, x_B, y_B: anp.sum(p**2)  # noqa: E731
    for data, message in [
        ([X, Y], "data must be a tuple (x, y) of arrays, got a list"),
        ((X, Y[:5]), "same, non-zero number of rows, got x of shape (60, 2) and y of shape (5,)"),
        ((X, np.array(["a"] * 60)), "data[1] (y)"),
    ]:
        with pytest.raises((TypeError, ValueError)) as info:
            optim.minimize(
                function, np.ones(2), optimizer="adam", n_iters=2, batch_size=4, data=data
            )
        assert message in str(info.value)
    with pytest.raises(TypeError, match="loss_fn must return a real scalar"):
        optim.minimize(
            lambda p, x_B, y_B: p * 1.0,
            np.ones(2),
            optimizer="adam",
            n_iters=2,
            batch_size=4,
            data=(X, Y),
        )


def test_a_million_rows_train_without_n_by_h_work_arrays():
    gen = np.random.default_rng(0)
    n = 1_000_000
    x = gen.uniform(-2.0, 2.0, size=(n, 2))
    y = np.sin(x[:, 0]) + 0.1 * gen.normal(size=n)
    data_bytes = x.nbytes + y.nbytes
    start = make_params(2, [30], rng=0)
    tracemalloc.start()
    try:
        objective = losses.make_objective(x, y, sigma=0.1, prior_std=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = optim.minimize(
                objective,
                start,
                optimizer=optim.adam(1e-3),
                n_iters=30,
                batch_size=256,
                full_loss_every=1,
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.reason == "completed"
    assert np.isfinite(result.history.metrics["full_loss"][0])
    # the data plus everything training allocated stays below 3x the data; one N x H array
    # (240 MB) alone would be ten times the data
    assert data_bytes + peak < 3 * data_bytes, peak / 2**20


# -- the Regressor and the command -------------------------------------------------------------


def _wave(n=3000, seed=0):
    gen = np.random.default_rng(seed)
    x = gen.uniform(-2.0, 2.0, size=(n, 2))
    return x, np.sin(x[:, 0]) * np.cos(x[:, 1]) + 0.1 * gen.normal(size=n)


def test_regressor_trains_on_minibatches_with_max_iter_in_epochs():
    from tinynn.estimator import Regressor

    x, y = _wave()
    model = Regressor(uncertainty=None, batch_size=100, max_iter=12, tol=None, random_state=0)
    model.fit(x, y)
    assert model.optimizer_ == "adam" and "minibatches" in model.optimizer_reason_
    assert model.n_iter_ == 12 and model.loss_curve_.shape == (12,)
    assert len(model.history_) == 12 * 30  # 30 minibatches of 100 rows an epoch
    np.testing.assert_allclose(
        model.loss_curve_, model.history_.losses.reshape(12, 30).mean(axis=1), rtol=1e-12
    )
    assert model.loss_curve_[-1] < 0.2 * model.loss_curve_[0]
    assert model.score(x, y) > 0.9
    assert model.sigma_ == pytest.approx(0.1, rel=0.3)
    again = Regressor(uncertainty=None, batch_size=100, max_iter=12, tol=None, random_state=0)
    np.testing.assert_array_equal(again.fit(x, y).predict(x[:5]), model.predict(x[:5]))


def test_regressor_minibatch_convergence_and_early_stopping_count_epochs():
    from tinynn.estimator import Regressor

    x, y = _wave(1000)
    model = Regressor(uncertainty=None, batch_size=50, max_iter=400, tol=1e-3, random_state=1)
    model.fit(x, y)
    assert model.stop_reason_ == "converged"
    assert re.match(r"converged at epoch \d+: .* for 10 epochs$", model.stop_message_)
    assert model.n_iter_ < 400
    stopped = Regressor(
        uncertainty=None,
        batch_size=50,
        max_iter=400,
        tol=None,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=1,
    ).fit(x, y)
    assert stopped.stop_reason_ == "early_stopping"
    # one validation score an epoch (900 training rows: 18 minibatches)
    assert len(stopped.validation_scores_) == stopped.n_iter_


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"uncertainty": "laplace"}, "set uncertainty=None, or batch_size=None"),
        ({"optimizer": "lbfgs"}, "needs a first-order optimizer"),
        ({"optimizer": optim.levenberg_marquardt()}, "got optimizer='LevenbergMarquardt'"),
        ({"batch_size": 0}, "batch_size must be an int >= 1, got 0"),
    ],
)
def test_regressor_refuses_minibatches_it_cannot_do(options, message):
    from tinynn.estimator import Regressor

    settings = {"uncertainty": None, "batch_size": 10, **options}
    with pytest.raises(ValueError) as info:
        Regressor(**settings).fit(X, Y)
    assert message in str(info.value)


def test_regressor_with_batch_size_saves_and_loads(tmp_path):
    from tinynn import io
    from tinynn.estimator import Regressor

    model = Regressor(uncertainty=None, batch_size=16, max_iter=3, tol=None, random_state=0)
    model.fit(X, Y)
    assert model.get_params()["batch_size"] == 16
    io.save(tmp_path / "m.npz", model)
    loaded = io.load(tmp_path / "m.npz")
    assert loaded.batch_size == 16
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_command_fits_on_minibatches(tmp_path, capsys):
    from tinynn.cli import main

    x, y = _wave(400)
    table = tmp_path / "wave.csv"
    rows = ["a,b,y"] + [f"{p},{q},{t}" for (p, q), t in zip(x, y, strict=True)]
    table.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.npz"
    argv = ["fit", str(table), "--target", "y", "--out", str(model), "--quiet"]
    argv += ["--batch-size", "32", "--uncertainty", "none", "--max-iter", "20"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "on 320 rows with adam on minibatches of 32 rows in" in out
    assert re.search(r"\(20 epochs, (completed|converged)\)|\(\d+ epochs, converged\)", out)
    assert main([*argv[:-4], "--batch-size", "32"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "tinynn: error: --batch-size trains one network on minibatches, but --uncertainty "
        "laplace_mixture fits a posterior on all rows; add --uncertainty none"
    )
    assert main([*argv[:-6], "--batch-size", "0"]) == 2
    assert "--batch-size" in capsys.readouterr().err


# -- one flat vector or trees: the same numbers -------------------------------------------------


class _TreesOnly:
    """The objective without its flat vectors: minimize must walk the trees."""

    def __init__(self, objective):
        self._objective = objective
        self.n_examples = objective.n_examples

    def __call__(self, params):
        return self._objective(params)

    def value_and_grad(self, params):
        return self._objective.value_and_grad(params)

    def batch_value_and_grad(self, params, rows):
        return self._objective.batch_value_and_grad(params, rows)


@pytest.mark.parametrize("batch_size", [None, 16])
@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: optim.adam(optim.cosine_decay(0.02, 40)),
        lambda: optim.momentum(1e-3),
        lambda: optim.nesterov(1e-3),
        lambda: optim.rmsprop(1e-2),
        lambda: optim.gradient_descent(1e-3),
    ],
    ids=["adam with a schedule", "momentum", "nesterov", "rmsprop", "gradient_descent"],
)
def test_flat_vector_steps_equal_tree_steps_bit_for_bit(make_optimizer, batch_size):
    objective = make_objective(X, Y, sigma="learn", prior_std=1.0)
    start = objective.init(NET)
    options = {"n_iters": 40, "record_params_every": 13}
    if batch_size:
        options.update(batch_size=batch_size, seed=3)
    flat = optim.minimize(objective, start, optimizer=make_optimizer(), **options)
    trees = optim.minimize(_TreesOnly(objective), start, optimizer=make_optimizer(), **options)
    np.testing.assert_array_equal(flat.history.losses, trees.history.losses)
    np.testing.assert_array_equal(flat.history.grad_norms, trees.history.grad_norms)
    assert _max_diff(flat.params, trees.params) == 0.0
    assert _max_diff(flat.history.params[39], trees.history.params[39]) == 0.0
    # the state holds trees either way, and resumes in the other representation
    assert type(flat.state.opt_state) is type(trees.state.opt_state)
    for a, b in zip(flat.state.opt_state, trees.state.opt_state, strict=True):
        if isinstance(a, int):
            assert a == b
        else:
            assert _max_diff(a, b) == 0.0
    more = {"n_iters": 10, **({"batch_size": batch_size, "seed": 3} if batch_size else {})}
    on_trees = optim.minimize(
        _TreesOnly(objective), flat.params, optimizer=make_optimizer(), state=flat.state, **more
    )
    on_flat = optim.minimize(
        objective, trees.params, optimizer=make_optimizer(), state=trees.state, **more
    )
    np.testing.assert_array_equal(on_trees.history.losses, on_flat.history.losses)
    assert _max_diff(on_trees.params, on_flat.params) == 0.0


def test_flat_steps_keep_a_custom_optimizer_on_trees():
    objective = make_objective(X, Y, sigma=0.3)
    seen = []
    inner = optim.adam(0.01)

    def update(grads, state, params):
        seen.append(type(params))
        return inner.update(grads, state, params)

    optim.minimize(objective, NET, optimizer=optim.Optimizer(inner.init, update), n_iters=3)
    assert seen == [list, list]  # an optimizer of its own gets the trees it was written for


def test_column_statistics_one_column_at_a_time_agree(monkeypatch):
    import tinynn._checks as checks

    gen = np.random.default_rng(5)
    a = gen.normal(size=(500, 3)) * np.array([1e-200, 1.0, 1e200]) + np.array([0.0, 3.0, 1e201])
    a[:, 0] = 7.0  # a constant column keeps scale 1
    whole = checks.column_mean_scale(a)
    monkeypatch.setattr(checks, "_COLUMNWISE_SIZE", 10)
    by_column = checks.column_mean_scale(a)
    for got, want in zip(by_column, whole, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    assert whole[1][0] == 1.0


def test_the_regressor_trains_a_million_rows_below_three_times_the_data():
    from tinynn.estimator import Regressor

    gen = np.random.default_rng(0)
    x = gen.uniform(-2.0, 2.0, size=(1_000_000, 2))
    y = np.sin(x[:, 0]) + 0.1 * gen.normal(size=1_000_000)
    kept = x.copy()
    data_bytes = x.nbytes + y.nbytes
    tracemalloc.start()
    try:
        model = Regressor(uncertainty=None, batch_size=256, max_iter=1, tol=None, random_state=0)
        model.fit(x, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data_bytes + peak < 3 * data_bytes, peak / 2**20
    np.testing.assert_array_equal(x, kept)  # standardized in its own copy, not in the caller's
    assert model.sigma_ == pytest.approx(0.1, rel=0.2)
