"""The log posterior of a network on flat parameter rows, for many chains at once (private).

The samplers move a (B, P) array, one row per chain. :class:`NetworkLogDensity` reads each row as
views of the layers' weights and biases (no copy), runs :func:`tinynn.model.forward` and
:func:`tinynn.model.backward` on all B networks in one batched pass with reusable work arrays,
and writes the gradient straight into a (B, P) array. That is the whole cost of a leapfrog step
apart from a few vector operations, so B chains cost far less than B separate calls. The
samplers' usual network, one hidden layer and one output, takes a fused pass with the same
arithmetic and less Python around it (``_one_hidden_layer``, its forward and backward side by
side).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinynn import model, tree
from tinynn._checks import check_positive
from tinynn.posterior._fit import check_data, leaf_precisions


class NetworkLogDensity:
    """The log posterior of a network, ``log p(y | x, theta) + log p(theta)``, on flat rows.

    Gaussian noise of std ``sigma`` and a zero-mean Gaussian prior with one std per leaf (or one
    for all), up to a constant. Calling it on ``q_BP``, B parameter vectors as the rows of a
    (B, P) array, returns ``(logp_B, grad_BP)`` from one batched pass: the function the
    samplers of :mod:`tinynn.mcmc` take as ``value_and_grad``, for writing your own runs on a
    network. :meth:`flatten` and :meth:`unflatten` convert between stacked parameter trees
    (a leading axis B on every leaf) and rows, in :func:`tinynn.tree.flatten`'s order.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Inputs.
    y : ndarray of shape (N,) or (N, O)
        Targets.
    params : list of dict
        One network whose shapes the rows follow (e.g. from :func:`tinynn.params.make_params`).
    sigma : float
        The noise std.
    prior_std : float or sequence of float (one per leaf)
        The prior's std.
    activation : str, default "tanh"
        A built-in activation name (its gradient is written by hand).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn import mcmc
    >>> from tinynn.params import make_params
    >>> from tinynn.posterior import NetworkLogDensity
    >>> x = np.linspace(-1, 1, 30)[:, None]; y = np.sin(3 * x[:, 0])
    >>> net = make_params(1, [5], rng=0)
    >>> density = NetworkLogDensity(x, y, net, sigma=0.1, prior_std=1.0)
    >>> logp_B, grad_BP = density(np.zeros((3, density.n_params)))
    >>> logp_B.shape, grad_BP.shape
    ((3,), (3, 16))
    >>> run = mcmc.hmc(None, np.zeros((2, 16)), value_and_grad=density, n_steps=5,
    ...                n_warmup=20, n_draws=10, rng=0)
    >>> density.unflatten(run.flat_draws[0])[0]["w"].shape  # chain 0's 10 draws, stacked
    (10, 1, 5)
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        params: Any,
        *,
        sigma: float,
        prior_std: Any,
        activation: str = "tanh",
    ) -> None:
        x_ND, y = check_data(x, y)
        sigma = check_positive(sigma, "sigma")
        template = params
        n_out = 1 if y.ndim == 1 else y.shape[1]
        shapes = model.layer_shapes(template)
        if shapes[0][0] != x_ND.shape[1] or shapes[-1][1] != n_out:
            raise ValueError(
                f"params map {shapes[0][0]} inputs to {shapes[-1][1]} outputs, but x has "
                f"{x_ND.shape[1]} features and y {n_out} outputs"
            )
        self.x = x_ND
        self.y_NO = y.reshape(len(y), -1)
        self.inv_var = 1.0 / sigma**2
        self.kernel = model.resolve_activation(activation)
        if self.kernel.name is None:
            raise ValueError(
                f"the samplers need a built-in activation name such as 'tanh', got "
                f"{activation!r}; a custom function has no hand-written gradient"
            )
        self.template = template
        self.shapes = [np.shape(leaf) for leaf in tree.leaves(template)]
        sizes = [math.prod(shape) for shape in self.shapes]
        self.starts = [0, *np.cumsum(sizes).tolist()]
        self.precision_P = np.repeat(leaf_precisions(template, prior_std), sizes)
        self._work: dict[Any, np.ndarray] = {}
        # one hidden layer and one output: the samplers' usual network, fused (see below)
        self._fused = len(shapes) == 2 and n_out == 1
        self._x1: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_params(self) -> int:
        return self.starts[-1]

    def _views(self, q_BP: np.ndarray) -> list[np.ndarray]:
        n = len(q_BP)
        return [
            q_BP[:, a:b].reshape(n, *shape)
            for a, b, shape in zip(self.starts[:-1], self.starts[1:], self.shapes, strict=True)
        ]

    def _buffer(self, key: Any, shape: tuple[int, ...]) -> np.ndarray:
        found = self._work.get(key)
        if found is None or found.shape != shape:
            found = self._work[key] = np.empty(shape)
        return found

    def __call__(self, q_BP: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.minibatch(q_BP, self.x, self.y_NO, 1.0)

    def minibatch(
        self, q_BP: np.ndarray, x_MD: np.ndarray, y_MO: np.ndarray, scale: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the log posterior with the likelihood of M examples scaled by ``scale``.

        With a random minibatch and ``scale = N / M`` it is an unbiased estimate of the full
        log posterior, and its gradient of the full gradient.
        """
        if self._fused:
            return self._one_hidden_layer(q_BP, x_MD, y_MO, scale)
        views = self._views(q_BP)
        ws, bs = views[0::2], views[1::2]
        out, acts = model.forward(ws, bs, x_MD, self.kernel, self._buffer)
        residual = np.subtract(y_MO, out, out=out)  # (B, M, O); its sign makes the gradient
        residual *= self.inv_var * scale  # that of the log density, not of a loss
        grad_BP = np.empty_like(q_BP)
        grads = self._views(grad_BP)
        model.backward(
            ws,
            acts,
            residual,
            self.kernel,
            need_x=False,
            buffers=self._buffer,
            out=(grads[0::2], grads[1::2]),
        )
        squares = np.einsum("bno,bno->b", residual, residual)
        shrink_BP = self.precision_P * q_BP
        grad_BP -= shrink_BP
        logp_B = -0.5 * (squares / (self.inv_var * scale) + np.einsum("bp,bp->b", q_BP, shrink_BP))
        return logp_B, grad_BP

    def _one_hidden_layer(
        self, q_BP: np.ndarray, x_MD: np.ndarray, y_MO: np.ndarray, scale: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`minibatch` for one hidden layer and one output, forward and backward fused.

        The arithmetic of :func:`tinynn.model.forward` and :func:`tinynn.model.backward` on
        stacked weights (the same results, to the last bit, through the same kernels
        :func:`tinynn.model.stacked_hidden` and :func:`tinynn.model.stacked_hidden_grads`),
        without their generality: a row holds ``w_DH`` then ``b_H`` of the first layer, then
        ``w_H1`` and ``b_1``; every work array is kept and every gradient written in place
        (about 10% off a sampler's leapfrog step at 32 chains, N = 60, H = 20).
        """
        n_rows, d = len(q_BP), x_MD.shape[1]
        n_hidden = self.shapes[1][0]
        first, second = (d + 1) * n_hidden, (d + 2) * n_hidden
        x1_MD1, x1t_D1M = self._inputs_with_ones(x_MD)
        w_BDH = q_BP[:, : d * n_hidden].reshape(n_rows, d, n_hidden)
        hidden = model.stacked_hidden(
            x1_MD1, w_BDH, q_BP[:, d * n_hidden : first], self.kernel, self._buffer
        )
        out_BM1 = np.matmul(hidden, q_BP[:, first:second, None])
        residual = out_BM1[..., 0]
        residual += q_BP[:, second:]
        np.subtract(y_MO[:, 0], residual, out=residual)
        residual *= self.inv_var * scale  # its sign makes the gradient that of the log density
        # backward: the output layer's gradients, then the first layer's in one product
        grad_BP = np.empty(q_BP.shape)
        np.add.reduce(residual, axis=1, out=grad_BP[:, second])
        grad_H1 = self._buffer("grad_H1", (n_rows, n_hidden, 1))
        np.matmul(hidden.transpose(0, 2, 1), out_BM1, out=grad_H1)
        grad_BP[:, first:second] = grad_H1[..., 0]
        model.stacked_hidden_grads(
            x1t_D1M,
            hidden,
            q_BP[:, first:second],
            residual,
            self.kernel,
            self._buffer,
            out=grad_BP[:, :first].reshape(n_rows, d + 1, n_hidden),
        )
        squares = np.einsum("bm,bm->b", residual, residual)
        shrink_BP = self.precision_P * q_BP
        grad_BP -= shrink_BP
        logp_B = -0.5 * (squares / (self.inv_var * scale) + np.einsum("bp,bp->b", q_BP, shrink_BP))
        return logp_B, grad_BP

    def _inputs_with_ones(self, x_MD: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``[x, 1]`` (M, D + 1) and its transpose, kept for the full data."""
        if self._x1 is not None and x_MD is self.x:
            return self._x1
        pair = model.inputs_with_ones(x_MD)
        if x_MD is self.x:
            self._x1 = pair
        return pair

    def flatten(self, params_B: Any) -> np.ndarray:
        """Return a stacked tree (a leading axis B on every leaf) as rows (B, P)."""
        leaves = tree.leaves(params_B)
        n = np.shape(leaves[0])[0]
        return np.concatenate([np.reshape(leaf, (n, -1)) for leaf in leaves], axis=1)

    def unflatten(self, q_BP: np.ndarray) -> Any:
        """Return rows (B, P) as a stacked tree (copies, one leading axis B)."""
        pieces = iter(view.copy() for view in self._views(q_BP))
        return tree.map(lambda _leaf: next(pieces), self.template)
