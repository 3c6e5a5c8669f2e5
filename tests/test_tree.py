"""Tests for tinynn.tree: structure handling, vector algebra, flatten order and autograd tracing."""

from __future__ import annotations

import re
from collections import namedtuple
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.misc import flatten as autograd_flatten
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinynn import tree

# ---------------------------------------------------------------- strategies and helpers

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
array_leaf = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), elements=finite
)
leaf = st.one_of(array_leaf, finite)
trees = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text("abcwxyz", min_size=1, max_size=3), children, max_size=3),
    ),
    max_leaves=8,
)


def make_params() -> list[dict[str, np.ndarray]]:
    return [
        {"w": np.arange(6.0).reshape(2, 3), "b": np.array([0.5, -1.0, 2.0])},
        {"w": np.array([[1.0], [-2.0], [3.0]]), "b": np.array([0.25])},
    ]


def same_structure(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and list(a) == list(b)
            and all(same_structure(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same_structure, a, b))
    return not isinstance(b, (dict, list, tuple))


def replace_nth_leaf(t: Any, n: int, new: Any) -> Any:
    """Return a copy of ``t`` whose n-th leaf (flatten order) is replaced by ``new``."""
    counter = iter(range(10**6))
    return tree.map(lambda x: new if next(counter) == n else x, t)


# ---------------------------------------------------------------- flatten


@settings(deadline=None)
@given(trees)
def test_flatten_unflatten_round_trip(t: Any) -> None:
    theta_P, unflatten = tree.flatten(t)
    assert theta_P.dtype == np.float64
    assert theta_P.shape == (tree.size(t),)
    back = tree.map(lambda x: x, unflatten(theta_P))
    assert same_structure(t, back)
    for (_, original), (_, restored) in zip(
        tree.leaves_with_paths(t), tree.leaves_with_paths(back), strict=True
    ):
        assert np.shape(restored) == np.shape(original)
        assert np.asarray(restored).dtype == np.float64
        np.testing.assert_array_equal(restored, original)


@settings(deadline=None)
@given(trees)
def test_flatten_concatenates_leaves_in_order(t: Any) -> None:
    theta_P, _ = tree.flatten(t)
    expected = [np.ravel(x) for x in tree.leaves(t)]
    np.testing.assert_array_equal(theta_P, np.concatenate([np.zeros(0), *expected]))


def test_flatten_order_is_layer_by_layer_w_before_b_unlike_autograd() -> None:
    params = make_params()
    theta_P, _ = tree.flatten(params)
    np.testing.assert_array_equal(theta_P, [0, 1, 2, 3, 4, 5, 0.5, -1.0, 2.0, 1.0, -2.0, 3.0, 0.25])
    sorted_theta, _ = autograd_flatten(params)
    assert sorted_theta[0] == 0.5  # autograd puts 'b' first: the reason tinynn has its own
    assert [p for p, _ in tree.leaves_with_paths(params)] == [
        "params[0]['w']",
        "params[0]['b']",
        "params[1]['w']",
        "params[1]['b']",
    ]


def test_flatten_casts_integer_leaves_and_handles_empty_tree() -> None:
    theta_P, unflatten = tree.flatten({"a": np.array([1, 2]), "b": True, "c": 3})
    np.testing.assert_array_equal(theta_P, [1.0, 2.0, 1.0, 3.0])
    assert unflatten(theta_P)["c"].shape == ()
    empty, unflatten_empty = tree.flatten([])
    assert empty.shape == (0,)
    assert unflatten_empty(empty) == []


def test_unflatten_casts_to_float64() -> None:
    _, unflatten = tree.flatten([np.zeros(2)])
    out = unflatten(np.array([1, 2]))
    assert out[0].dtype == np.float64


def test_unflatten_leaves_do_not_alias_the_vector() -> None:
    theta_P, unflatten = tree.flatten(make_params())
    rebuilt = unflatten(theta_P)
    theta_P[:] = -1.0
    rebuilt[0]["b"][:] = 7.0
    assert rebuilt[0]["w"][0, 0] == 0.0
    np.testing.assert_array_equal(rebuilt[1]["b"], [0.25])


def test_flatten_rejects_non_numeric_leaf() -> None:
    with pytest.raises(TypeError, match=r"flatten needs numeric leaves, but tree\[1\]\['x'\]"):
        tree.flatten([np.zeros(1), {"x": "hello"}])


def test_unflatten_rejects_wrong_length() -> None:
    _, unflatten = tree.flatten(make_params())
    with pytest.raises(ValueError, match=r"theta_P must have shape \(13,\).*got shape \(12,\)"):
        unflatten(np.zeros(12))


# ---------------------------------------------------------------- map and structure errors


def test_map_matches_dicts_by_key_and_keeps_first_order() -> None:
    out = tree.map(lambda a, b: a - b, {"w": 5.0, "b": 1.0}, {"b": 1.0, "w": 2.0})
    assert list(out) == ["w", "b"]
    assert out == {"w": 3.0, "b": 0.0}


def test_map_keeps_named_tuples_and_tuples() -> None:
    Pair = namedtuple("Pair", ["m", "v"])
    out = tree.map(lambda x: 2 * x, (Pair(1.0, 2.0), [3.0]))
    assert isinstance(out, tuple)
    assert isinstance(out[0], Pair)
    assert out == (Pair(2.0, 4.0), [6.0])


@pytest.mark.parametrize(
    ("other", "pattern"),
    [
        (
            [{"w": 1.0, "b": 2.0}, [1.0, 2.0]],
            r"differ at params\[1\]: the first tree has a dict with keys \['b', 'w'\], "
            r"tree 2 has a list of length 2",
        ),
        (
            [{"w": 1.0, "b": 2.0}],
            r"differ at params: the first tree has a list of length 2, "
            r"tree 2 has a list of length 1",
        ),
        (
            [{"w": 1.0, "b": 2.0}, {"w": 1.0, "c": 2.0}],
            r"differ at params\[1\]: tree 2 is missing keys \['b'\] and has extra keys \['c'\]",
        ),
        (
            [{"w": 1.0, "b": 2.0}, {"w": [1.0], "b": 2.0}],
            r"differ at params\[1\]\['w'\]: the first tree has 1.0 \(type float\), "
            r"tree 2 has a list",
        ),
        (
            [{"w": 1.0, "b": 2.0}, {"w": 1.0, "b": 2.0, "c": 3.0}],
            r"tree 2 is missing keys \[\] and has extra keys \['c'\]",
        ),
    ],
)
def test_map_structure_errors_name_the_path(other: Any, pattern: str) -> None:
    first = [{"w": 1.0, "b": 2.0}, {"w": 1.0, "b": 2.0}]
    with pytest.raises(ValueError, match=pattern):
        tree.map(lambda a, b: a + b, first, other, root="params")


def test_errors_raised_by_fn_propagate_unchanged() -> None:
    def fail(x: Any, y: Any) -> Any:
        raise KeyError("from fn")

    with pytest.raises(KeyError, match="from fn"):
        tree.map(fail, {"w": 1.0}, {"w": 2.0})


def test_structure_error_under_trace_names_the_path() -> None:
    def loss(p: Any) -> Any:
        return tree.vdot(p, [{"w": np.zeros((2, 3)), "c": np.zeros(3)}, p[1]])

    with pytest.raises(ValueError, match=r"differ at tree\[0\]: tree 2 is missing keys \['b'\]"):
        autograd.grad(loss)(make_params())


def test_map_error_when_first_tree_has_leaf_where_other_has_container() -> None:
    with pytest.raises(ValueError, match=r"differ at tree\[0\]: the first tree has 1.0"):
        tree.map(lambda a, b: a, [1.0], [{"w": 1.0}])


@settings(deadline=None)
@given(trees.filter(lambda t: len(tree.leaves(t)) > 0), st.data())
def test_map_error_names_the_path_of_any_changed_leaf(t: Any, data: st.DataObject) -> None:
    paths = [p for p, _ in tree.leaves_with_paths(t, root="params")]
    n = data.draw(st.integers(0, len(paths) - 1))
    broken = replace_nth_leaf(t, n, {"extra": 1.0})
    with pytest.raises(ValueError, match="differ at " + re.escape(paths[n])):
        tree.map(lambda a, b: a, t, broken, root="params")


# ---------------------------------------------------------------- algebra vs numpy


@settings(max_examples=50, deadline=None)
@given(trees, st.integers(0, 2**32 - 1), finite)
def test_tree_ops_match_numpy_on_flat_vectors(t: Any, seed: int, alpha: float) -> None:
    a = tree.astype_float(t)
    b = tree.normal_like(a, rng=seed)
    va, vb = tree.flatten(a)[0], tree.flatten(b)[0]
    np.testing.assert_allclose(tree.flatten(tree.add(a, b))[0], va + vb)
    np.testing.assert_allclose(tree.flatten(tree.sub(a, b))[0], va - vb)
    np.testing.assert_allclose(tree.flatten(tree.scale(alpha, a))[0], alpha * va)
    np.testing.assert_allclose(tree.flatten(tree.axpy(alpha, a, b))[0], alpha * va + vb)
    np.testing.assert_allclose(tree.vdot(a, b), np.dot(va, vb), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(tree.global_norm(a), np.linalg.norm(va), rtol=1e-12)
    assert tree.size(a) == va.size
    np.testing.assert_array_equal(tree.flatten(tree.zeros_like(a))[0], np.zeros(va.size))
    np.testing.assert_array_equal(tree.flatten(tree.ones_like(a))[0], np.ones(va.size))
    np.testing.assert_array_equal(tree.flatten(tree.full_like(a, 2.5))[0], np.full(va.size, 2.5))


def test_like_functions_give_float64_arrays_of_leaf_shapes() -> None:
    params = [{"w": np.zeros((2, 3), dtype=int), "b": 1}]
    for made in (tree.zeros_like(params), tree.ones_like(params), tree.full_like(params, 7)):
        assert made[0]["w"].shape == (2, 3)
        assert made[0]["w"].dtype == np.float64
        assert made[0]["b"].shape == ()
    assert tree.full_like(params, 7)[0]["b"] == 7.0


def test_vdot_of_empty_tree_is_zero() -> None:
    assert tree.vdot([], []) == 0.0
    assert tree.global_norm({}) == 0.0


@pytest.mark.parametrize(
    "op",
    [tree.add, tree.sub, tree.vdot, lambda a, b: tree.axpy(2.0, a, b)],
)
def test_binary_ops_refuse_to_broadcast(op: Any) -> None:
    a = [{"w": np.zeros((3, 1)), "b": np.zeros(1)}]
    b = [{"w": np.zeros(3), "b": np.zeros(1)}]
    with pytest.raises(ValueError, match=r"leaf shapes differ at tree\[0\]\['w'\]: got shapes"):
        op(a, b)


# ---------------------------------------------------------------- randomness, copy, casting


def test_normal_like_is_seeded_and_scaled() -> None:
    template = [{"w": np.zeros((200, 100)), "b": np.zeros(100)}]
    first = tree.normal_like(template, rng=3, std=0.5)
    again = tree.normal_like(template, rng=np.random.default_rng(3), std=0.5)
    np.testing.assert_array_equal(tree.flatten(first)[0], tree.flatten(again)[0])
    theta_P = tree.flatten(first)[0]
    assert abs(theta_P.std() - 0.5) < 0.01
    assert abs(theta_P.mean()) < 0.01
    other = tree.normal_like(template, rng=4, std=0.5)
    assert not np.array_equal(tree.flatten(other)[0], theta_P)


def test_normal_like_rejects_bad_std_and_rng() -> None:
    with pytest.raises(ValueError, match=r"std must be a positive finite number, got -1.0"):
        tree.normal_like([np.zeros(2)], std=-1.0)
    with pytest.raises(TypeError, match=r"std must be a positive number, got 'big'"):
        tree.normal_like([np.zeros(2)], std="big")
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator, an int seed"):
        tree.normal_like([np.zeros(2)], rng="seed")


def test_copy_is_deep_and_float64() -> None:
    params = [{"w": np.array([[1, 2]]), "b": np.zeros(1)}]
    copied = tree.copy(params)
    params[0]["b"][0] = 9.0
    assert copied[0]["b"][0] == 0.0
    assert copied[0]["w"].dtype == np.float64
    assert copied[0]["b"] is not params[0]["b"]


def test_astype_float_casts_only_integer_and_bool_leaves() -> None:
    w = np.ones(2, dtype=np.float32)
    out = tree.astype_float({"i": np.array([1, 2]), "t": True, "n": 3, "w": w, "f": 0.5})
    assert out["i"].dtype == np.float64
    assert out["t"].dtype == np.float64
    assert out["n"].dtype == np.float64
    assert out["w"] is w
    assert out["f"] == 0.5


# ---------------------------------------------------------------- under autograd tracing


def test_grad_of_vdot_on_list_of_dicts_is_two_p() -> None:
    params = make_params()
    grads = autograd.grad(lambda p: tree.vdot(p, p))(params)
    np.testing.assert_allclose(tree.flatten(grads)[0], 2 * tree.flatten(params)[0])


def test_grad_through_flatten_then_unflatten() -> None:
    params = make_params()

    def loss(p: Any) -> Any:
        theta_P, unflatten = tree.flatten(p)
        rebuilt = unflatten(theta_P**3)
        return anp.sum(rebuilt[0]["w"]) + anp.sum(rebuilt[1]["b"])

    grads = autograd.grad(loss)(params)
    np.testing.assert_allclose(grads[0]["w"], 3 * params[0]["w"] ** 2)
    np.testing.assert_allclose(grads[0]["b"], np.zeros(3))
    np.testing.assert_allclose(grads[1]["b"], 3 * params[1]["b"] ** 2)


def test_grad_of_global_norm_is_unit_direction() -> None:
    params = make_params()
    grads = autograd.grad(tree.global_norm)(params)
    theta_P = tree.flatten(params)[0]
    np.testing.assert_allclose(tree.flatten(grads)[0], theta_P / np.linalg.norm(theta_P))


def test_ops_on_array_box_leaves_and_traced_scalars() -> None:
    def loss(x: Any) -> Any:
        a = [x * 1.0, {"z": x * 2.0}]
        b = tree.axpy(x[0], a, tree.scale(3.0, a))
        return tree.vdot(b, tree.ones_like(b)) + tree.size(a)

    x = np.array([1.0, 2.0])
    # loss = (x0 + 3) * 3 * sum(x) + 4
    expected = np.array([3 * x.sum() + 3 * (x[0] + 3), 3 * (x[0] + 3)])
    np.testing.assert_allclose(autograd.grad(loss)(x), expected)


def test_map_zip_and_copy_under_trace() -> None:
    params = make_params()

    def loss(p: Any) -> Any:
        frozen = tree.copy(p)  # concrete values: no gradient flows through the copy
        assert isinstance(frozen[0]["w"], np.ndarray)
        step = tree.sub(p, tree.scale(0.5, frozen))
        return tree.vdot(step, frozen) + tree.global_norm(tree.add(p, tree.zeros_like(p))) * 0.0

    grads = autograd.grad(loss)(params)
    np.testing.assert_allclose(tree.flatten(grads)[0], tree.flatten(params)[0])
