"""Work with nested lists, tuples and dicts of arrays ("trees") as if they were vectors.

A tree is a list, tuple or dict whose entries are trees or leaves; anything else (an array, a
float) is a leaf. The network parameters ``[{'w': w_DH, 'b': b_H}, ..., {'w': w_HO, 'b': b_O}]``
are a tree with two leaves per layer.

Every function here also works while autograd traces it: on the boxed containers a function
receives under ``autograd.grad`` (``SequenceBox``, ``DictBox``) and on ``ArrayBox`` leaves.
Outputs are plain lists, tuples and dicts (named tuples keep their type).

Order is stable and documented: depth first, lists and tuples in order, dicts in the insertion
order of the first tree (other trees are matched by key). For a network that is layer by layer,
``'w'`` before ``'b'``, the notebook's order. ``autograd.misc.flatten`` sorts dict keys, which
puts ``'b'`` first, so tinynn never uses it.

Shape suffix: P is the number of scalars in a flattened tree (``theta_P``).
"""

from __future__ import annotations

import builtins
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.tracer import box_types, getval, isbox

from tinynn._checks import as_generator, check_positive, describe, shape_of
from tinynn._typing import Tree
from tinynn.tree._walk import apply, collect_leaves, concat_values, fast_walk, format_path, walk

__all__ = [
    "add",
    "astype_float",
    "axpy",
    "copy",
    "flatten",
    "full_like",
    "global_norm",
    "index",
    "leaves",
    "leaves_with_paths",
    "map",
    "normal_like",
    "ones_like",
    "scale",
    "size",
    "stack",
    "sub",
    "unstack",
    "vdot",
    "zeros_like",
]


def map(
    fn: Callable[..., Any], tree: Tree, *rest: Tree, root: str = "tree", same_shapes: bool = True
) -> Tree:
    """Apply ``fn`` to the leaves of one or several trees of the same structure.

    Parameters
    ----------
    fn : callable
        Called as ``fn(leaf, *other_leaves)`` for every leaf position.
    tree : tree
        Nested lists, tuples and dicts; sets the structure and the dict order of the output.
    *rest : tree
        More trees with the same structure (dicts are matched by key).
    root : str, default "tree"
        Name of the tree used in error messages, e.g. ``"params"``.
    same_shapes : bool, default True
        Require the leaves at each position to have the same shape, so that nothing
        broadcasts silently ((3,) against (3, 1) would give (3, 3)). Pass False where a
        broadcast is meant, e.g. one parameter set against stacked samples with a leading
        axis K.

    Returns
    -------
    tree
        Plain containers of the same structure as ``tree`` holding the results of ``fn``.

    Raises
    ------
    ValueError
        If the trees differ in structure, or in leaf shapes with ``same_shapes``; the message
        names the path, e.g. ``params[1]['w']``.

    Examples
    --------
    >>> from tinynn import tree
    >>> tree.map(lambda a, b: a + b, [{'w': 1.0, 'b': 2.0}], [{'b': 20.0, 'w': 10.0}])
    [{'w': 11.0, 'b': 22.0}]

    Leaves of different shapes are refused unless asked for:

    >>> import numpy as np
    >>> mean, eps_K = {'w': np.zeros(2)}, {'w': np.ones((3, 2))}
    >>> tree.map(lambda m, e: m + 0.1 * e, mean, eps_K, same_shapes=False)['w'].shape
    (3, 2)
    """
    return apply(fn, (tree, *rest), root, same_shapes=same_shapes)


def leaves_with_paths(tree: Tree, root: str = "params") -> list[tuple[str, Any]]:
    """Return ``(path, leaf)`` pairs in flatten order, e.g. ``("params[0]['w']", w_DH)``.

    Examples
    --------
    >>> from tinynn import tree
    >>> [path for path, _ in tree.leaves_with_paths([{'w': 1.0, 'b': 0.0}])]
    ["params[0]['w']", "params[0]['b']"]
    """
    out: list[tuple[str, Any]] = []
    walk(lambda path, x: out.append((format_path(root, path), x)), (tree,), (), root)
    return out


def leaves(tree: Tree) -> list[Any]:
    """Return the leaves of ``tree`` in flatten order (layer by layer, ``'w'`` before ``'b'``).

    Examples
    --------
    >>> from tinynn import tree
    >>> tree.leaves([{'w': 1.0, 'b': 2.0}, {'w': 3.0, 'b': 4.0}])
    [1.0, 2.0, 3.0, 4.0]
    """
    return collect_leaves(tree, [])


def zeros_like(tree: Tree) -> Tree:
    """Return a tree of float64 zero arrays shaped like the leaves of ``tree``.

    Examples
    --------
    >>> from tinynn import tree
    >>> tree.zeros_like([{'w': np.ones((1, 2)), 'b': np.ones(1)}])
    [{'w': array([[0., 0.]]), 'b': array([0.])}]
    """
    return map(lambda x: np.zeros(shape_of(x)), tree)


def ones_like(tree: Tree) -> Tree:
    """Return a tree of float64 arrays of ones shaped like the leaves of ``tree``.

    Integer leaves give float64 ones too.

    Examples
    --------
    >>> from tinynn import tree
    >>> tree.ones_like({'w': np.zeros((2, 1), dtype=int), 'b': 0.0})
    {'w': array([[1.],
           [1.]]), 'b': array(1.)}
    """
    return map(lambda x: np.ones(shape_of(x)), tree)


def full_like(tree: Tree, value: float) -> Tree:
    """Return a tree of float64 arrays filled with ``value``, shaped like ``tree``.

    Examples
    --------
    >>> from tinynn import tree
    >>> tree.full_like({'w': np.zeros((1, 2)), 'b': np.zeros(1)}, 0.5)
    {'w': array([[0.5, 0.5]]), 'b': array([0.5])}
    """
    return map(lambda x: np.full(shape_of(x), value, dtype=np.float64), tree)


def add(a: Tree, b: Tree) -> Tree:
    """Return the leafwise sum ``a + b`` of two trees with the same structure and shapes.

    Examples
    --------
    >>> from tinynn import tree
    >>> tree.add([{'w': np.array([1.0, 2.0])}], [{'w': np.array([10.0, 20.0])}])
    [{'w': array([11., 22.])}]
    """
    return apply(lambda x, y: x + y, (a, b), "tree", same_shapes=True)


def sub(a: Tree, b: Tree) -> Tree:
    """Return the leafwise difference ``a - b`` of two trees with the same structure and shapes.

    Examples
    --------
    >>> from tinynn import tree
    >>> new = {'w': np.array([5.0]), 'b': np.array([1.0])}
    >>> old = {'w': np.array([2.0]), 'b': np.array([1.0])}
    >>> tree.sub(new, old)
    {'w': array([3.]), 'b': array([0.])}
    """
    return apply(lambda x, y: x - y, (a, b), "tree", same_shapes=True)


def scale(alpha: Any, tree: Tree) -> Tree:
    """Return ``alpha * tree`` leafwise; ``alpha`` is a scalar (it may be traced).

    Examples
    --------
    >>> from tinynn import tree
    >>> tree.scale(0.5, [{'w': np.array([2.0, 4.0]), 'b': np.array([-1.0])}])
    [{'w': array([1., 2.]), 'b': array([-0.5])}]
    """
    return map(lambda x: alpha * x, tree)


def axpy(alpha: Any, x: Tree, y: Tree) -> Tree:
    """Return ``alpha * x + y`` leafwise, the update at the heart of every optimizer.

    Examples
    --------
    >>> from tinynn import tree
    >>> tree.axpy(-0.5, [np.array([2.0])], [np.array([1.0])])
    [array([0.])]
    """
    return apply(lambda u, v: alpha * u + v, (x, y), "tree", same_shapes=True)


def _dot(x: Any, y: Any) -> Any:
    if isbox(x) or isbox(y):
        return anp.sum(x * y)
    return np.vdot(x, y)


def vdot(a: Tree, b: Tree) -> Any:
    """Return the inner product of two trees: the sum over leaves of ``sum(a_leaf * b_leaf)``.

    Examples
    --------
    >>> from tinynn import tree
    >>> float(tree.vdot([{'w': np.ones(3)}], [{'w': np.arange(3.0)}]))
    3.0
    """
    products = leaves(apply(_dot, (a, b), "tree", same_shapes=True))
    if not products:
        return np.float64(0.0)
    total = products[0]
    for product in products[1:]:
        total = total + product
    return total


def global_norm(tree: Tree) -> Any:
    """Return the Euclidean norm of all scalars in ``tree`` (as if it were flattened).

    The gradient of the norm is undefined at an all-zero tree, as for any Euclidean norm.

    Examples
    --------
    >>> from tinynn import tree
    >>> float(tree.global_norm([{'w': np.array([3.0]), 'b': np.array([4.0])}]))
    5.0
    """
    total = 0.0  # concrete leaves (the optimizer loop, every step) take this lean loop
    for leaf in leaves(tree):
        if type(leaf) in box_types:  # autograd's own isbox test, inlined
            return anp.sqrt(vdot(tree, tree))
        total += float(np.vdot(leaf, leaf))
    if total == math.inf:  # the squares overflowed: scale by the largest entry first
        arrays = [np.abs(np.asarray(leaf, dtype=np.float64)) for leaf in leaves(tree)]
        top = max(float(a.max()) if a.size else 0.0 for a in arrays)
        if math.isfinite(top):
            scaled = sum(float(np.vdot(a / top, a / top)) for a in arrays)
            return np.float64(top * math.sqrt(scaled))
    return np.float64(math.sqrt(total))


def size(tree: Tree) -> int:
    """Return the number of scalars in ``tree`` (P, the length of its flattened vector).

    Examples
    --------
    >>> from tinynn import tree
    >>> tree.size([{'w': np.zeros((2, 3)), 'b': np.zeros(3)}])
    9
    """
    return int(builtins.sum(math.prod(shape_of(x)) for x in leaves(tree)))


def normal_like(tree: Tree, rng: Any = None, *, std: float = 1.0) -> Tree:
    """Draw a tree of float64 normal values with mean 0 and standard deviation ``std``.

    Draws are made leaf by leaf in flatten order, so a seed gives the same tree every time.

    Parameters
    ----------
    tree : tree
        Template; only the structure and the leaf shapes are used.
    rng : numpy.random.Generator, int or None, default None
        Source of randomness; an int seed is reproducible.
    std : float, default 1.0
        Standard deviation (not a variance); must be positive.

    Raises
    ------
    ValueError
        If ``std`` is not a positive finite number.
    TypeError
        If a leaf of ``tree`` is not numeric (None, a string, ...).

    Examples
    --------
    >>> from tinynn import tree
    >>> draw = tree.normal_like([{'w': np.zeros((2, 3))}], rng=0, std=0.1)
    >>> draw[0]['w'].shape
    (2, 3)
    """
    std = check_positive(std, "std")
    flatten(tree)  # every leaf numeric, or a TypeError naming the first that is not
    gen = as_generator(rng)
    return map(lambda x: std * gen.standard_normal(shape_of(x)), tree)


def copy(tree: Tree) -> Tree:
    """Return a deep copy of ``tree`` whose leaves are fresh float64 arrays (boxes unwrapped).

    Changing the original afterwards leaves the copy untouched, which is what history records need.

    Examples
    --------
    >>> from tinynn import tree
    >>> params = [{'w': np.array([1.0, 2.0]), 'b': np.array([0])}]
    >>> snapshot = tree.copy(params)
    >>> params[0]['w'][0] = 99.0
    >>> snapshot
    [{'w': array([1., 2.]), 'b': array([0.])}]
    """
    return map(_fresh_float64, tree)


_FLOAT64 = np.dtype(np.float64)


def _fresh_float64(x: Any) -> np.ndarray:
    if type(x) is np.ndarray and x.dtype is _FLOAT64:  # the usual leaf: one plain copy
        return x.copy()
    return np.array(getval(x), dtype=np.float64, copy=True)


def astype_float(tree: Tree) -> Tree:
    """Return ``tree`` with integer and bool leaves cast to float64 arrays; others untouched.

    Examples
    --------
    >>> from tinynn import tree
    >>> tree.astype_float({'w': np.array([1, 2]), 'b': 0.5})
    {'w': array([1., 2.]), 'b': 0.5}
    """

    def cast(x: Any) -> Any:
        if isbox(x):
            return x
        kind = np.asarray(x).dtype.kind
        return np.asarray(x, dtype=np.float64) if kind in "biu" else x

    return map(cast, tree)


def flatten(tree: Tree) -> tuple[Any, Callable[[Any], Any]]:
    """Concatenate the leaves of ``tree`` into one float64 vector and return its inverse.

    The order is depth first: for network parameters layer by layer, ``'w'`` (row-major)
    before ``'b'``. Both directions work while autograd traces them.

    Parameters
    ----------
    tree : tree
        Nested lists, tuples and dicts of numeric arrays or numbers.

    Returns
    -------
    theta_P : ndarray of shape (P,)
        All scalars of ``tree`` as float64.
    unflatten : callable
        ``unflatten(theta_P)`` rebuilds a tree of the same structure with float64 array leaves
        of the original shapes (a number comes back as a 0-d array).

    Raises
    ------
    TypeError
        If a leaf is not numeric (the message names its path).

    Examples
    --------
    >>> from tinynn import tree
    >>> params = [{'w': np.array([[1.0, 2.0]]), 'b': np.array([3.0])}]
    >>> theta_P, unflatten = tree.flatten(params)
    >>> theta_P
    array([1., 2., 3.])
    >>> unflatten(10 * theta_P)
    [{'w': array([[10., 20.]]), 'b': array([30.])}]
    """
    leaf_list = leaves(tree)
    shapes = [shape_of(leaf) for leaf in leaf_list]
    for i, leaf in enumerate(leaf_list):
        if not isbox(leaf) and np.asarray(leaf).dtype.kind not in "biuf":
            path = leaves_with_paths(tree, root="tree")[i][0]
            raise TypeError(
                f"flatten needs numeric leaves, but {path} is {describe(leaf)}; "
                f"convert it to a float array or move it out of the tree"
            )
    if leaf_list and builtins.any(isbox(leaf) for leaf in leaf_list):
        theta_P = anp.concatenate([anp.ravel(leaf) for leaf in leaf_list])
    else:
        theta_P = concat_values(leaf_list)
    counts = [math.prod(shape) for shape in shapes]
    n_scalars = builtins.sum(counts)
    starts = list(itertools.accumulate(counts, initial=0))
    counter = iter(range(len(shapes)))
    skeleton = fast_walk(lambda _leaf: next(counter), tree, ())

    def unflatten(theta_P: Any) -> Any:
        if shape_of(theta_P) != (n_scalars,):
            raise ValueError(
                f"theta_P must have shape ({n_scalars},) to match the flattened tree, "
                f"got shape {shape_of(theta_P)}"
            )
        if isbox(theta_P):
            return fast_walk(
                lambda i: anp.reshape(theta_P[starts[i] : starts[i + 1]], shapes[i]), skeleton, ()
            )
        theta = np.array(theta_P, dtype=np.float64)  # one private copy; leaves are views of it
        return fast_walk(
            lambda i: theta[starts[i] : starts[i + 1]].reshape(shapes[i]), skeleton, ()
        )

    return theta_P, unflatten


def stack(trees: Sequence[Tree]) -> Tree:
    """Stack K trees of one structure into one tree whose leaves have a leading axis K.

    This is the sample axis: ``K`` parameter sets (posterior samples, ensemble members, chains)
    held as one tree, ``params_K``, that :func:`tinynn.model.predict` evaluates in one batched
    pass.

    Parameters
    ----------
    trees : sequence of tree
        At least one tree; all with the same structure and leaf shapes (dicts matched by key).

    Returns
    -------
    tree
        The structure of ``trees[0]`` with float64 leaves of shape ``(K, *leaf_shape)``.

    Raises
    ------
    ValueError
        If ``trees`` is empty or the trees differ in structure or leaf shapes (the path is named).

    Examples
    --------
    >>> from tinynn import tree
    >>> a = [{'w': np.zeros((2, 3)), 'b': np.zeros(3)}]
    >>> b = [{'w': np.ones((2, 3)), 'b': np.ones(3)}]
    >>> stacked = tree.stack([a, b])
    >>> stacked[0]['w'].shape, stacked[0]['b'].shape
    ((2, 2, 3), (2, 3))
    """
    if isinstance(trees, (str, bytes)) or not isinstance(trees, Sequence) or len(trees) == 0:
        raise ValueError(
            f"stack needs a non-empty list of trees with the same structure, got {describe(trees)}"
        )
    return apply(
        lambda *xs: np.stack([np.asarray(getval(x), dtype=np.float64) for x in xs]),
        tuple(trees),
        "tree",
        same_shapes=True,
    )


def _stack_size(tree: Tree) -> int:
    sizes = {shape_of(leaf)[0] if shape_of(leaf) else -1 for leaf in leaves(tree)}
    if len(sizes) != 1 or -1 in sizes:
        found = ["none" if size < 0 else size for size in sorted(sizes)]
        raise ValueError(
            f"a stacked tree needs one leading axis K of the same length on every leaf, got "
            f"leading lengths {found}; build it with tinynn.tree.stack"
        )
    return int(sizes.pop())


def index(tree_K: Tree, k: int) -> Tree:
    """Return member ``k`` of a stacked tree: every leaf's ``leaf[k]`` (views, not copies).

    Parameters
    ----------
    tree_K : tree
        A tree whose leaves share a leading axis of length K, e.g. from :func:`stack`.
    k : int
        Which member, ``-K <= k < K``.

    Returns
    -------
    tree

    Raises
    ------
    ValueError
        If the leaves do not share a leading axis.
    IndexError
        If ``k`` is out of range.

    Examples
    --------
    >>> from tinynn import tree
    >>> stacked = tree.stack([{'w': np.zeros(2)}, {'w': np.ones(2)}])
    >>> tree.index(stacked, 1)
    {'w': array([1., 1.])}
    """
    n_members = _stack_size(tree_K)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an int, got {describe(k)}")
    if not -n_members <= int(k) < n_members:
        raise IndexError(f"k={int(k)} is out of range for a stack of K={n_members} members")
    return map(lambda leaf: leaf[int(k)], tree_K)


def unstack(tree_K: Tree) -> list[Tree]:
    """Return the K trees of a stacked tree, the inverse of :func:`stack`.

    Raises
    ------
    ValueError
        If the leaves do not share a leading axis.

    Examples
    --------
    >>> from tinynn import tree
    >>> members = tree.unstack({'w': np.arange(6.0).reshape(3, 2)})
    >>> len(members), members[2]
    (3, {'w': array([4., 5.])})
    """
    return [index(tree_K, k) for k in range(_stack_size(tree_K))]
