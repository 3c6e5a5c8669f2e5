"""Levenberg-Marquardt through minimize: oracles, every kind of loss, and the shared contract."""

from types import SimpleNamespace

import autograd.numpy as anp
import numpy as np
import pytest

from tinynn import Regressor, tree
from tinynn.data import Standardizer, make_quadratic_data
from tinynn.losses import make_objective
from tinynn.model import predict
from tinynn.optim import (
    DivergenceWarning,
    LevenbergMarquardt,
    lbfgs,
    levenberg_marquardt,
    minimize,
)
from tinynn.params import make_params

# These tests fit with a few iterations on purpose; the Regressor warns that such fits
# stopped before converging (tested in test_regressor_uncertainty.py).
pytestmark = pytest.mark.filterwarnings("ignore::tinynn.optim.ConvergenceWarning")


def rosenbrock_residuals(p):
    return anp.array([10.0 * (p[1] - p[0] ** 2), 1.0 - p[0]])


def test_a_network_without_hidden_layers_lands_on_least_squares_in_one_step():
    x, y = make_quadratic_data()
    loss = make_objective(x, y, sigma=0.1)
    result = minimize(loss, make_params(2, [], rng=0), optimizer=levenberg_marquardt(), n_iters=2)
    a_NK = np.column_stack([x, np.ones(len(x))])
    coef = np.linalg.lstsq(a_NK, y, rcond=None)[0]
    np.testing.assert_allclose(tree.flatten(result.params)[0], coef, rtol=1e-10)
    assert len(result.history) == 2


def test_rosenbrock_written_as_residuals_is_solved():
    result = minimize(
        rosenbrock_residuals, np.array([-1.2, 1.0]), optimizer=levenberg_marquardt(),
        n_iters=100, gtol=1e-10,
    )  # fmt: skip
    np.testing.assert_allclose(result.params, [1.0, 1.0], atol=1e-10)
    assert result.reason == "converged" and result.history.losses[-1] < 1e-20
    assert np.all(np.diff(result.history.losses) < 0)  # every accepted step lowers the loss
    assert result.n_evals > len(result.history)  # refused steps count as evaluations


def test_residuals_on_a_tree():
    def residuals(params):
        return anp.concatenate([params["a"] - 3.0, 2.0 * (params["b"] + 1.0)])

    start = {"a": np.zeros(2), "b": np.zeros(1)}
    result = minimize(residuals, start, optimizer="levenberg_marquardt", n_iters=5)
    np.testing.assert_allclose(result.params["a"], [3.0, 3.0])
    np.testing.assert_allclose(result.params["b"], [-1.0])


@pytest.mark.parametrize(
    ("sigma", "prior_std"), [(0.1, None), (0.1, 3.0), ("learn", None), ("learn", 3.0)]
)
def test_objectives_train_to_the_noise_floor(sigma, prior_std):
    x, y = make_quadratic_data()
    xs, ys = Standardizer.fit(x), Standardizer.fit(y)
    noise = sigma if sigma == "learn" else sigma / float(ys.scale_)  # in standardized units
    loss = make_objective(xs.transform(x), ys.transform(y), sigma=noise, prior_std=prior_std)
    start = loss.init(make_params(2, [30], rng=0))
    result = minimize(loss, start, optimizer=levenberg_marquardt(), n_iters=40)
    net, noise = loss.unpack(result.params)
    yhat = ys.inverse_transform(predict(net, xs.transform(x)))
    assert np.sqrt(np.mean((yhat - y) ** 2)) < 0.11
    if sigma == "learn":  # the learned noise is the residual's, in standardized units
        assert noise * float(ys.scale_) == pytest.approx(0.1, rel=0.15)
    assert np.all(np.diff(result.history.losses) < 0)


def test_lm_needs_far_fewer_iterations_than_lbfgs():
    x, y = make_quadratic_data()
    xs, ys = Standardizer.fit(x), Standardizer.fit(y)
    loss = make_objective(xs.transform(x), ys.transform(y), sigma=0.1)
    start = make_params(2, [30], rng=0)
    target = 0.3 / float(ys.scale_)  # a training RMSE of 0.3 in units of y

    def iterations_to_target(optimizer):
        hit = []

        def watch(info):
            rmse = np.sqrt(np.mean((predict(info.params, xs.transform(x)) - ys.transform(y)) ** 2))
            if rmse <= target:
                hit.append(info.iteration)
                return True
            return False

        minimize(loss, start, optimizer=optimizer, n_iters=500, callback=watch)
        return hit[0]

    assert 3 * iterations_to_target(levenberg_marquardt()) < iterations_to_target(lbfgs())


def test_flat_protocol_and_the_tree_fallback_agree():
    # A custom activation has no flat path: LM then uses the objective's ggn and value_and_grad.
    x, y = make_quadratic_data(60)
    loss_fast = make_objective(x, y, sigma=1.0, activation="tanh")
    loss_tree = make_objective(x, y, sigma=1.0, activation=lambda z: anp.tanh(z))
    start = make_params(2, [4], rng=0)
    runs = [
        minimize(loss, start, optimizer=levenberg_marquardt(), n_iters=8)
        for loss in (loss_fast, loss_tree)
    ]
    np.testing.assert_allclose(runs[0].history.losses, runs[1].history.losses, rtol=1e-9)


class _DenseOnly:
    """An objective whose flat protocol lacks ``gauss_newton_factors``: LM solves (P, P) systems."""

    def __init__(self, loss):
        self.loss = loss
        self.value_and_grad = loss.value_and_grad

    def __call__(self, params):
        return self.loss(params)

    def flat(self, params):
        inner = self.loss.flat(params)
        names = ("size", "unflatten", "value", "value_and_grad", "gauss_newton")
        return SimpleNamespace(**{name: getattr(inner, name) for name in names})


@pytest.mark.parametrize(
    "settings",
    [{"sigma": 0.3, "prior_std": 1.0}, {"sigma": 0.3}, {"sigma": "learn", "prior_std": 2.0}],
    ids=["prior", "no-prior", "learned-sigma"],
)
def test_the_outputs_sized_solve_takes_the_same_steps_as_the_dense_one(settings):
    # 12 examples, 41 parameters: each step solves a 12 x 12 system (Woodbury) instead of the
    # 41 x 41 one; without a prior the undamped first step falls back to the dense solve.
    x, y = make_quadratic_data(12)
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean()) / y.std()
    loss = make_objective(x, y, **settings)
    start = loss.init(make_params(2, [10], rng=1)) if settings["sigma"] == "learn" else None
    start = make_params(2, [10], rng=1) if start is None else start
    factored, dense = (
        minimize(f, start, optimizer=levenberg_marquardt(), n_iters=9)
        for f in (loss, _DenseOnly(loss))
    )
    assert len(factored.history.losses) == len(dense.history.losses) == 9
    np.testing.assert_allclose(factored.history.losses, dense.history.losses, rtol=1e-9)
    np.testing.assert_allclose(
        tree.flatten(factored.params)[0], tree.flatten(dense.params)[0], rtol=1e-7, atol=1e-9
    )


@pytest.mark.parametrize("n_values", [1, 4, 40], ids=["one-precision", "per-leaf", "per-entry"])
def test_the_outputs_sized_solve_equals_the_dense_one_for_any_damping(n_values):
    from tinynn.optim._lm import _MAX_GROUPS, _Curvature

    rng = np.random.default_rng(0)
    j_MP = rng.normal(size=(7, 40))
    d_P = np.repeat(rng.uniform(0.1, 3.0, size=n_values), 40 // n_values)
    r_P = rng.normal(size=40)
    curvature = _Curvature.of_factors(j_MP, d_P)
    # the first two solves of an iteration take one product of J; from the third on (a run of
    # refused steps) one Gram matrix per precision, formed once for every further mu
    for n_solve, mu in enumerate((0.0, 1e-3, 10.0, 0.5), start=1):
        dense = j_MP.T @ j_MP + np.diag(d_P + mu)
        np.testing.assert_allclose(
            curvature.solve(mu, r_P), np.linalg.solve(dense, r_P), rtol=1e-10
        )
        assert (curvature._grams is None) == (n_solve <= 2)
    grams = curvature.group_grams()
    assert len(grams) == (n_values if n_values <= _MAX_GROUPS else 0)
    assert curvature.group_grams() is grams
    if grams:
        np.testing.assert_allclose(sum(g for g, _ in grams), j_MP @ j_MP.T, rtol=1e-12)


@pytest.mark.parametrize(("sigma", "n_groupings"), [(0.5, 1), ("learn", None)])
def test_the_column_groups_are_found_once_while_the_precisions_stay(
    monkeypatch, sigma, n_groupings
):
    # With a fixed sigma the prior's precisions are the same at every iteration, so the columns
    # are grouped once per run; a learned sigma's curvature moves, so they are regrouped.
    from tinynn.optim import _lm

    calls = []
    group = _lm.column_groups
    monkeypatch.setattr(_lm, "column_groups", lambda d_P: calls.append(1) or group(d_P))
    x, y = make_quadratic_data(12)
    loss = make_objective(x, y, sigma=sigma, prior_std=0.7)
    net = make_params(2, [6], rng=0)
    params = loss.init(net) if sigma == "learn" else net
    result = minimize(loss, params, optimizer=levenberg_marquardt(), n_iters=15, tol=None)
    assert result.n_iters == 15
    if n_groupings is None:
        assert len(calls) > 1
    else:
        assert len(calls) == n_groupings
    groups = group(np.array([2.0, 1.0, 2.0, 3.0, 1.0]))
    assert [(cols.tolist(), value) for cols, value in groups] == [
        ([1, 4], 1.0),
        ([0, 2], 2.0),
        ([3], 3.0),
    ]


@pytest.mark.parametrize("sigma", [0.5, "learn"])
def test_the_factors_make_the_gauss_newton_matrix(sigma):
    x, y = make_quadratic_data(9)
    loss = make_objective(x, y, sigma=sigma, prior_std=0.7)
    net = make_params(2, [3], rng=0)
    params = loss.init(net) if sigma == "learn" else net
    flat = loss.flat(params)
    theta = tree.flatten(params)[0]
    value, grad, matrix = flat.gauss_newton(theta)
    value_f, grad_f, (j_MP, d_P) = flat.gauss_newton_factors(theta)
    assert j_MP.shape == (9, theta.size) and d_P.shape == (theta.size,)
    assert value_f == value
    np.testing.assert_array_equal(grad_f, grad)
    np.testing.assert_allclose(j_MP.T @ j_MP + np.diag(d_P), matrix, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("sigma", "n_out", "reduction"),
    [(0.5, 1, "sum"), ("per-output", 3, "mean"), ("per-row", 1, "sum"), (0.3, 2, "mean")],
)
def test_the_gauss_newton_pass_gives_the_objective_and_gradient_of_the_fused_pass(
    sigma, n_out, reduction
):
    # With a fixed noise the system takes the value and the gradient from the Jacobian's own
    # pass (J^T r); they must be those of the objective's forward and backward pass.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(11, 2))
    y = rng.normal(size=(11, n_out)) if n_out > 1 else rng.normal(size=11)
    if sigma == "per-output":
        sigma = np.array([0.4, 1.0, 2.5])
    elif sigma == "per-row":
        sigma = rng.uniform(0.2, 1.5, size=11)
    loss = make_objective(x, y, sigma=sigma, prior_std=0.8, reduction=reduction)
    net = make_params(2, [5], n_out, rng=1, bias_init="normal")
    flat = loss.flat(net)
    theta = tree.flatten(net)[0]
    value, grad = flat.value_and_grad(theta)
    for part in ("gauss_newton", "gauss_newton_factors"):
        got_value, got_grad, _ = getattr(flat, part)(theta)
        assert got_value == pytest.approx(float(value), rel=1e-14)
        np.testing.assert_allclose(got_grad, grad, rtol=1e-12, atol=1e-14)


def test_a_jacobian_too_large_is_refused_before_it_is_made():
    # 3 million examples, 46 parameters: the Jacobian alone would take 1.1 GB (the bound is 2**30)
    x = np.linspace(-1, 1, 3_000_000)[:, None]
    loss = make_objective(x, np.zeros(len(x)), sigma=1.0)
    refusal = r"Levenberg-Marquardt's .* P=46 .* N=3000000 .*optim\.lbfgs\(\)"
    with pytest.raises(ValueError, match=refusal):
        minimize(loss, make_params(1, [15], rng=0), optimizer=levenberg_marquardt(), n_iters=2)


def test_divergence_returns_the_last_finite_parameters():
    def residuals(p):
        return anp.array([anp.exp(p[0] * 1e3) - 1e300, p[0]])

    with pytest.warns(DivergenceWarning, match="Levenberg-Marquardt.*returning"):
        result = minimize(residuals, np.array([0.8]), optimizer=levenberg_marquardt(), n_iters=5)
    assert result.reason == "diverged"
    np.testing.assert_array_equal(result.params, [0.8])


def test_keyboard_interrupt_returns_the_work_so_far():
    calls = {"n": 0}

    def residuals(p):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return anp.array([10.0 * (p[1] - p[0] ** 2), 1.0 - p[0]])

    result = minimize(residuals, np.array([-1.2, 1.0]), optimizer=levenberg_marquardt(), n_iters=50)
    assert result.reason == "interrupted"
    assert len(result.history) >= 1 and np.all(np.isfinite(result.params))


def test_the_result_is_the_same_whether_or_not_each_iteration_is_looked_at():
    # Without records, metrics or a callback the loop keeps flat vectors and makes trees at the
    # end; with a callback it makes them at every iteration. Both hand back the same trees.
    x, y = make_quadratic_data(40)
    loss = make_objective(x, y, sigma=0.1, prior_std=1.0)
    start = make_params(2, [6], rng=3)
    seen = []
    plain = minimize(loss, start, optimizer=levenberg_marquardt(), n_iters=30)
    looked = minimize(
        loss, start, optimizer=levenberg_marquardt(), n_iters=30,
        callback=lambda info: seen.append(info.params) and False,
    )  # fmt: skip
    assert plain.n_iters == looked.n_iters == len(seen) and plain.n_iters > 5
    for got, want in ((plain.params, looked.params), (plain.best_params, looked.best_params)):
        assert isinstance(got, list) and sorted(got[0]) == ["b", "w"]
        for a, b in zip(tree.leaves(got), tree.leaves(want), strict=True):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(tree.leaves(plain.params), tree.leaves(seen[-1]), strict=True):
        np.testing.assert_array_equal(a, b)


def test_max_evals_stops_the_run():
    result = minimize(
        rosenbrock_residuals, np.array([-1.2, 1.0]),
        optimizer=levenberg_marquardt(max_evals=5), n_iters=100,
    )  # fmt: skip
    assert result.n_evals <= 6 and "max_evals=5" in result.message


def test_errors_are_clear():
    with pytest.raises(ValueError, match="state cannot be used with levenberg_marquardt"):
        minimize(rosenbrock_residuals, np.zeros(2), optimizer=levenberg_marquardt(), n_iters=3,
                 state=object())  # fmt: skip
    with pytest.raises(ValueError, match="levenberg_marquardt\\(\\) needs the loss itself"):
        minimize(None, np.zeros(2), optimizer=levenberg_marquardt(), n_iters=3,
                 value_and_grad=lambda p: (0.0, p))  # fmt: skip
    with pytest.raises(ValueError, match="loss_fn must return a vector of residuals"):
        minimize(lambda p: anp.sum(p**2), np.ones(2), optimizer=levenberg_marquardt(), n_iters=3)
    with pytest.raises(ValueError, match="damping must be a positive finite number"):
        levenberg_marquardt(damping=0.0)
    with pytest.raises(ValueError, match="max_evals must be an int >= 1"):
        levenberg_marquardt(max_evals=0)
    assert isinstance(levenberg_marquardt(), LevenbergMarquardt)


def test_regressor_records_why_it_chose_its_optimizer():
    x, y = make_quadratic_data()
    small = Regressor(random_state=0, uncertainty=None).fit(x, y)
    assert small.optimizer_ == "levenberg_marquardt"
    assert "dense Gauss-Newton solve cheap" in small.optimizer_reason_
    assert small.stop_reason_ == "converged" and "tol=0.0001" in small.stop_message_
    big = Regressor(hidden_sizes=(200, 200), max_iter=3, random_state=0, uncertainty=None).fit(
        x[:50], y[:50]
    )
    assert big.optimizer_ == "lbfgs"
    assert "too large for dense Gauss-Newton" in big.optimizer_reason_
    named = Regressor(optimizer="adam", max_iter=5, random_state=0, uncertainty=None).fit(x, y)
    assert named.optimizer_reason_ == "asked for by name"


def test_the_positive_definite_solve_takes_cholesky_and_falls_back_to_lu(monkeypatch):
    pytest.importorskip("scipy.linalg")
    from tinynn.optim import _lm

    rng = np.random.default_rng(1)
    a = rng.normal(size=(150, 200))
    k = a @ a.T / 200 + np.eye(150)
    b = rng.normal(size=150)
    expected = np.linalg.solve(k, b)
    factor, solve = _lm._scipy_cholesky()
    factored = []
    monkeypatch.setattr(
        _lm,
        "_scipy_cholesky",
        lambda: (lambda m, **kw: factored.append(1) or factor(m, **kw), solve),
    )
    np.testing.assert_allclose(_lm._positive_definite_solve(k, b), expected, rtol=1e-10)
    np.testing.assert_allclose(
        _lm._positive_definite_solve(k[:9, :9], b[:9]),
        np.linalg.solve(k[:9, :9], b[:9]),
        rtol=1e-10,
    )
    assert factored == [1]  # Cholesky for the large system only
    indefinite = k - 3.0 * np.eye(150)  # symmetric, not positive definite: Cholesky fails
    np.testing.assert_allclose(
        _lm._positive_definite_solve(indefinite, b), np.linalg.solve(indefinite, b), rtol=1e-8
    )
    monkeypatch.setattr(_lm, "_scipy_cholesky", lambda: None)  # as without scipy
    np.testing.assert_allclose(_lm._positive_definite_solve(k, b), expected, rtol=1e-10)


def noisy_sine(n=200, seed=0):
    gen = np.random.default_rng(seed)
    x = gen.uniform(-2, 2, size=(n, 1))
    return x, np.sin(2 * x[:, 0]) + 0.5 * gen.normal(size=n)


def test_the_exact_hessian_reaches_a_minimum_in_fewer_iterations_on_noisy_data():
    x, y = noisy_sine()
    loss = make_objective(x, y, sigma=0.5, prior_std=3.0)
    for seed in range(3):
        start = make_params(1, [8], 1, rng=seed)
        runs = {}
        for hessian in (False, True):
            result = minimize(
                loss, start, optimizer=levenberg_marquardt(hessian=hessian), n_iters=500,
                gtol=1e-8, tol=None,
            )  # fmt: skip
            runs[hessian] = result
        newton = runs[True]
        flat = loss.flat(newton.params)
        theta_P = tree.flatten(newton.params)[0]
        _, grad_P, (hess_PP, _) = flat.newton_system(theta_P)
        assert np.linalg.norm(grad_P) < 1e-6
        eigenvalues = np.linalg.eigvalsh(hess_PP)
        assert eigenvalues.min() > -1e-8 * eigenvalues.max()  # a minimum, not a saddle
        # Gauss-Newton leaves out the residuals' curvature, which is large on noisy data
        assert len(newton.history.losses) < 0.75 * len(runs[False].history.losses)


def test_where_the_damped_hessian_is_indefinite_the_step_is_gauss_newtons():
    from tinynn.optim import _lm

    x, y = noisy_sine(60, seed=1)
    loss = make_objective(x, y, sigma=0.5, prior_std=3.0)
    start = make_params(1, [6], 1, rng=0)
    flat = loss.flat(start)
    theta_P = tree.flatten(start)[0]
    _, grad_P, (hess_PP, ggn_PP) = flat.newton_system(theta_P)
    lowest = np.linalg.eigvalsh(hess_PP).min()
    assert lowest < 0  # the start is not in a convex region
    eye = np.eye(len(hess_PP))
    for mu, matrix in ((0.5 * -lowest, ggn_PP), (2.0 * -lowest, hess_PP)):
        curvature = _lm._Curvature(matrix=hess_PP, fallback=ggn_PP)
        step = curvature.solve(mu, -grad_P)
        np.testing.assert_allclose(step, np.linalg.solve(matrix + mu * eye, -grad_P), rtol=1e-9)
        assert curvature.quadratic(step) == pytest.approx(step @ matrix @ step, rel=1e-12)
    result = minimize(loss, start, optimizer=levenberg_marquardt(hessian=True), n_iters=200)
    losses = np.asarray(result.history.losses)
    assert np.all(np.diff(losses) < 0) and result.reason == "converged"


def test_on_data_with_little_noise_the_exact_hessian_costs_about_what_gauss_newton_does():
    x, y = make_quadratic_data(80, rng=0)
    xs, ys = Standardizer.fit(x), Standardizer.fit(y)
    loss = make_objective(xs.transform(x), ys.transform(y), sigma=0.05, prior_std=3.0)
    counts = {}
    for hessian in (False, True):
        start = make_params(2, [10], 1, rng=0)
        lm = levenberg_marquardt(hessian=hessian)
        result = minimize(loss, start, optimizer=lm, n_iters=500, tol=1e-6)
        assert result.reason == "converged"
        counts[hessian] = len(result.history.losses)
    assert counts[True] <= 1.5 * counts[False]


def test_the_exact_hessian_is_refused_where_it_does_not_exist():
    with pytest.raises(TypeError, match=r"hessian must be True or False, got 'yes' \(type str\)"):
        levenberg_marquardt(hessian="yes")
    with pytest.raises(ValueError, match=r"hessian=True\) needs an objective of tinynn.losses"):
        minimize(rosenbrock_residuals, np.zeros(2), optimizer=levenberg_marquardt(hessian=True),
                 n_iters=3)  # fmt: skip
    x, y = noisy_sine(30)
    deep = make_objective(x, y, sigma=1.0)
    with pytest.raises(ValueError, match="needs a network with one hidden layer, got 2 hidden"):
        minimize(deep, make_params(1, [3, 3], 1, rng=0),
                 optimizer=levenberg_marquardt(hessian=True), n_iters=3)  # fmt: skip
    custom = make_objective(x, y, sigma=1.0, activation=lambda z: anp.sin(z))  # no flat form
    with pytest.raises(ValueError, match=r"with one hidden layer, a built-in activation"):
        minimize(custom, make_params(1, [3], 1, rng=0),
                 optimizer=levenberg_marquardt(hessian=True), n_iters=3)  # fmt: skip
    assert levenberg_marquardt(hessian=True).hessian is True
