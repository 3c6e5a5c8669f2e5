"""L-BFGS on a make_objective loss takes the flat path: same numbers and behaviour as the tree path.

The generic (tree) path is forced by wrapping the objective in a lambda, which hides its
``value_and_grad`` from minimize, so autograd differentiates it.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from tinynn import losses, model, optim, tree
from tinynn.data import make_quadratic_data
from tinynn.losses import FlatObjective as FlatEntry
from tinynn.losses import Objective
from tinynn.optim import DivergenceWarning, lbfgs, minimize
from tinynn.params import make_params

pytest.importorskip("scipy")

X_ND, Y_N = make_quadratic_data(60, rng=0)
X_ND = (X_ND - X_ND.mean(axis=0)) / X_ND.std(axis=0)
Y_N = (Y_N - Y_N.mean()) / Y_N.std()


def objective(**kwargs):
    return losses.make_objective(X_ND, Y_N, **kwargs)


def generic(loss):
    return lambda params: loss(params)


def count_flat_calls(monkeypatch):
    calls = {"n": 0}
    original = FlatEntry.value_and_grad

    def counted(self, theta_P):
        calls["n"] += 1
        return original(self, theta_P)

    monkeypatch.setattr(FlatEntry, "value_and_grad", counted)
    return calls


def assert_same_runs(flat, tree_run, rtol=1e-12):
    assert flat.reason == tree_run.reason and flat.n_iters == tree_run.n_iters
    assert flat.n_evals == tree_run.n_evals
    np.testing.assert_allclose(flat.history.losses, tree_run.history.losses, rtol=rtol, atol=0)
    np.testing.assert_allclose(
        flat.history.grad_norms, tree_run.history.grad_norms, rtol=rtol, atol=1e-14
    )
    for a, b in [(flat.params, tree_run.params), (flat.best_params, tree_run.best_params)]:
        assert type(a) is type(b) and [list(layer) for layer in a] == [list(la) for la in b]
        for leaf_a, leaf_b in zip(tree.leaves(a), tree.leaves(b), strict=True):
            assert leaf_a.shape == leaf_b.shape
            np.testing.assert_allclose(leaf_a, leaf_b, rtol=rtol, atol=1e-13)
    assert flat.best_loss == pytest.approx(tree_run.best_loss, rel=rtol)


@pytest.mark.parametrize(
    ("kwargs", "hidden", "as_tuple"),
    [
        ({"sigma": 1.0}, [30], False),
        ({"sigma": 0.5, "prior_std": 2.0, "reduction": "mean"}, [8, 5], True),
        ({"form": "notebook", "activation": "relu"}, [6], False),
    ],
)
def test_flat_path_gives_the_tree_paths_result(monkeypatch, kwargs, hidden, as_tuple):
    loss = objective(**kwargs)
    init = make_params(2, hidden, 1, rng=3)
    init = tuple(init) if as_tuple else init
    options = {"optimizer": lbfgs(), "n_iters": 40, "record_params_every": 1}
    calls = count_flat_calls(monkeypatch)
    tree_run = minimize(generic(loss), init, record_grads_every=1, **options)
    assert calls["n"] == 0
    flat = minimize(loss, init, record_grads_every=1, **options)
    assert calls["n"] == flat.n_evals > flat.n_iters > 10  # every evaluation went flat
    assert_same_runs(flat, tree_run)
    for i in tree_run.history.params:
        for record in ("params", "grads"):
            got, want = getattr(flat.history, record)[i], getattr(tree_run.history, record)[i]
            assert type(got) is type(want)
            for a, b in zip(tree.leaves(got), tree.leaves(want), strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_flat_gradient_equals_autograds():
    loss = objective(sigma=0.3, prior_std=1.5)
    params = make_params(2, [7, 4], 1, rng=1)
    theta_P, _ = tree.flatten(params)
    entry = loss.flat(params)
    value, grad_P = entry.value_and_grad(theta_P)
    want_value, want_grads = autograd.value_and_grad(generic(loss))(params)
    assert value == pytest.approx(float(want_value), rel=1e-13)
    np.testing.assert_allclose(grad_P, tree.flatten(want_grads)[0], rtol=1e-12, atol=1e-12)

    def composed(p):  # plain traced autograd, independent of the fused objective
        nll = losses.gaussian_nll(
            Y_N, model.predict(p, X_ND, activation=lambda z: anp.tanh(z)), 0.3
        )
        return nll - losses.log_prior(p, prior_std=1.5)

    plain = autograd.grad(composed)(params)
    np.testing.assert_allclose(grad_P, tree.flatten(plain)[0], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(theta_P, tree.flatten(params)[0])  # theta was only read


def test_flat_entry_trees_share_the_layout_of_flatten():
    params = tuple(make_params(2, [3], 1, rng=0))
    theta_P, unflatten = tree.flatten(params)
    entry = objective().flat(params)
    got, want = entry.unflatten(theta_P), unflatten(theta_P)
    assert type(got) is tuple and [list(layer) for layer in got] == [["w", "b"]] * 2
    for a, b in zip(tree.leaves(got), tree.leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)


def test_flat_entry_rejects_a_vector_of_the_wrong_size():
    entry = objective().flat(make_params(2, [3], 1, rng=0))
    with pytest.raises(ValueError, match=r"theta_P must have shape \(13,\).*got shape \(12,\)"):
        entry.value_and_grad(np.zeros(12))


def test_layouts_the_flat_path_cannot_read_fall_back_to_the_tree_path():
    params = make_params(2, [3], 1, rng=0)
    swapped = [{"b": layer["b"], "w": layer["w"]} for layer in params]
    assert objective().flat(swapped) is None
    assert objective(activation=lambda z: anp.tanh(z)).flat(params) is None
    assert objective().flat({"layer": params[0]}) is None
    flat = minimize(objective(), swapped, optimizer=lbfgs(), n_iters=20)
    tree_run = minimize(generic(objective()), swapped, optimizer=lbfgs(), n_iters=20)
    assert list(flat.params[0]) == ["b", "w"]
    assert_same_runs(flat, tree_run)


def test_params_that_do_not_fit_the_data_raise_the_same_error():
    wrong = make_params(3, [4], 1, rng=0)
    with pytest.raises(ValueError, match="expects 3 input features but x has 2"):
        minimize(objective(), wrong, optimizer=lbfgs(), n_iters=5)


def test_an_explicit_value_and_grad_of_an_objective_also_goes_flat(monkeypatch):
    loss = objective()
    calls = count_flat_calls(monkeypatch)
    result = minimize(
        None, make_params(2, [4], 1, rng=0), optimizer=lbfgs(), n_iters=5,
        value_and_grad=loss.value_and_grad,
    )  # fmt: skip
    assert calls["n"] == result.n_evals > 0
    assert isinstance(loss, Objective)


def test_overflow_is_divergence_with_the_same_message():
    init = make_params(2, [3], 1, rng=0)
    init[1]["b"] = np.array([1e200])
    runs = []
    for loss in (objective(), generic(objective())):
        with pytest.warns(DivergenceWarning, match="evaluation 1 of L-BFGS.*loss is inf"):
            runs.append(minimize(loss, init, optimizer=lbfgs(), n_iters=10))
    assert [r.reason for r in runs] == ["diverged"] * 2
    assert runs[0].message == runs[1].message and runs[0].n_evals == runs[1].n_evals == 1
    with pytest.raises(optim.DivergenceError, match="initial parameters"):
        minimize(objective(), init, optimizer=lbfgs(), n_iters=10, on_nonfinite="raise")


def test_callback_early_stopping_and_max_evals_match_the_tree_path():
    init = make_params(2, [10], 1, rng=2)
    seen = {}

    def stop_at_7(info):
        seen.setdefault(id(info.params), info.params)
        return info.iteration == 7

    val_x, val_y = make_quadratic_data(40, rng=5)
    val_x = (val_x - X_ND.mean(axis=0)) / 1.0
    val_loss = losses.make_objective(val_x, val_y / 10.0)
    cases = [
        {"callback": stop_at_7},
        {"validation_fn": val_loss, "patience": 2},
        {"optimizer": lbfgs(max_evals=9)},
        {"tol": 1e-3, "gtol": 1e-2},
    ]
    for extra in cases:
        options = {"optimizer": lbfgs(), "n_iters": 300, **extra}
        flat = minimize(objective(), init, **options)
        tree_run = minimize(generic(objective()), init, **options)
        assert flat.message == tree_run.message
        assert_same_runs(flat, tree_run)
    assert len(seen) > 1


@pytest.mark.parametrize("fail_at", [1, 9])
def test_keyboard_interrupt_on_the_flat_path(monkeypatch, fail_at):
    original = FlatEntry.value_and_grad
    calls = {"n": 0}

    def interrupted(self, theta_P):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise KeyboardInterrupt
        return original(self, theta_P)

    monkeypatch.setattr(FlatEntry, "value_and_grad", interrupted)
    init = make_params(2, [5], 1, rng=0)
    result = minimize(objective(), init, optimizer=lbfgs(), n_iters=100, record_params_every=1)
    assert result.reason == "interrupted" and "KeyboardInterrupt" in result.message
    if fail_at == 1:
        assert len(result.history) == 0 and result.params is not init
        for a, b in zip(tree.leaves(result.params), tree.leaves(init), strict=True):
            np.testing.assert_array_equal(a, b)
    else:
        last = int(result.history.iters[-1])
        assert 0 < last < fail_at
        for a, b in zip(
            tree.leaves(result.params), tree.leaves(result.history.params[last]), strict=True
        ):
            np.testing.assert_array_equal(a, b)


def test_a_gradient_dict_in_another_key_order_is_matched_by_key():
    def vg(x):
        value = float(np.sum((x["a"] - 1.0) ** 2) + (x["b"] + 2.0) ** 2)
        return value, {"b": 2.0 * (x["b"] + 2.0), "a": 2.0 * (x["a"] - 1.0)}

    init = {"a": np.zeros(2), "b": np.array(0.0)}
    result = minimize(None, init, optimizer=lbfgs(), n_iters=20, value_and_grad=vg)
    np.testing.assert_allclose(result.params["a"], [1.0, 1.0], atol=1e-6)
    assert float(result.params["b"]) == pytest.approx(-2.0, abs=1e-6)


def test_objective_value_and_grad_keeps_each_dicts_key_order():
    params = [{"b": layer["b"], "w": layer["w"]} for layer in make_params(2, [3], 1, rng=0)]
    _, grads = objective().value_and_grad(params)
    assert [list(layer) for layer in grads] == [["b", "w"]] * 2
    assert grads[0]["w"].shape == (2, 3) and grads[0]["b"].shape == (3,)
