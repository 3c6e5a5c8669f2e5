"""An objective read on one flat parameter vector (private to :mod:`tinynn.losses`).

:class:`FlatObjective` is the protocol that L-BFGS (and any method working on ``theta_P``) uses
without knowing :class:`~tinynn.losses.Objective`: ``value_and_grad(theta_P)``, ``unflatten``
and ``size``. Built by ``Objective.flat(params)``.

Shape suffixes: O outputs, P scalars in a flat parameter vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynn._typing import Tree
from tinynn.losses._batches import check_rows
from tinynn.losses._fused import FusedObjective
from tinynn.losses._second_order import (
    DEFAULT_MAX_BYTES,
    gauss_newton_system,
    hessian_support,
    hessian_system,
    input_outer_products,
)


class FlatObjective:
    """An objective read on one flat float64 vector laid out like ``tree.flatten(params)``.

    Built by :meth:`Objective.flat`. :meth:`value_and_grad` reads every ``w`` and ``b`` (and a
    learned ``log_sigma``) as views of ``theta_P`` and writes the gradient into one new vector of
    the same layout, so no tree is built per evaluation; :meth:`unflatten` builds the parameter
    tree (views of a vector) only when one is needed.

    Attributes
    ----------
    size : int
        P, the length of the flat vector.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.losses import make_objective
    >>> loss = make_objective(np.zeros((3, 1)), np.ones(3), sigma=1.0, form="notebook")
    >>> flat = loss.flat([{'w': np.zeros((1, 1)), 'b': np.zeros(1)}])
    >>> flat.value_and_grad(np.array([0.0, 1.0]))  # w = 0, b = 1 fits exactly
    (0.0, array([0., 0.]))
    >>> flat.unflatten(np.array([2.0, 3.0]))
    [{'w': array([[2.]]), 'b': array([3.])}]
    """

    def __init__(
        self,
        fused: FusedObjective,
        shapes: Sequence[tuple[int, int]],
        as_tuple: bool,
        learn_sigma: bool,
    ) -> None:
        self._fused = fused
        self._as_tuple = as_tuple
        self._outer: np.ndarray | None = None  # the exact Hessian's products of the inputs
        self._w_slices: list[tuple[int, int, tuple[int, int]]] = []
        self._b_slices: list[tuple[int, int]] = []
        start = 0
        for n_in, n_out in shapes:
            self._w_slices.append((start, start + n_in * n_out, (n_in, n_out)))
            start += n_in * n_out
            self._b_slices.append((start, start + n_out))
            start += n_out
        self._sigma_slice = None
        if learn_sigma:
            self._sigma_slice = (start, start + fused.y_NO.shape[1])
            start += fused.y_NO.shape[1]
        self.size = start

    def _views(self, vec_P: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], Any]:
        ws = [vec_P[s:e].reshape(shape) for s, e, shape in self._w_slices]
        bs = [vec_P[s:e] for s, e in self._b_slices]
        log_sigma = None
        if self._sigma_slice is not None:
            log_sigma = vec_P[self._sigma_slice[0] : self._sigma_slice[1]]
        return ws, bs, log_sigma

    def value_and_grad(self, theta_P: np.ndarray) -> tuple[float, np.ndarray]:
        """Return the objective at ``theta_P`` (P,) and its gradient as a new (P,) vector.

        Raises
        ------
        ValueError
            If ``theta_P`` does not have shape (P,).
        """
        return self._value_and_grad(theta_P, self._fused)

    def batch_value_and_grad(self, theta_P: np.ndarray, index: Any) -> tuple[float, np.ndarray]:
        """Return the estimate of :meth:`value_and_grad` from the rows ``index``.

        As :meth:`Objective.batch_value_and_grad`: the likelihood of the B rows is scaled by
        N / B, the prior is not.

        Raises
        ------
        TypeError, ValueError
            If ``index`` is not a non-empty 1-D array of rows in ``[0, N)``, or ``theta_P``
            does not have shape (P,).
        """
        fused = self._fused
        rows = check_rows(index, fused.y_NO.shape[0])
        return self._value_and_grad(theta_P, fused.rows(rows, fused.y_NO.shape[0] / len(rows)))

    def _value_and_grad(self, theta_P: Any, fused: FusedObjective) -> tuple[float, np.ndarray]:
        theta_P = np.asarray(theta_P, dtype=np.float64)
        if theta_P.shape != (self.size,):
            raise ValueError(
                f"theta_P must have shape ({self.size},) to match the parameters, got "
                f"shape {theta_P.shape}"
            )
        grad_P = np.empty(self.size)
        ws, bs, log_sigma = self._views(theta_P)
        value, payload = fused.value(ws, bs, log_sigma, keep=True)
        gws, gbs, g_log_sigma = self._views(grad_P)
        _, _, g_sigma = fused.grads(payload, ws, bs, log_sigma, 1.0, into=(gws, gbs))
        if g_log_sigma is not None:
            g_log_sigma[...] = g_sigma
        return value, grad_P

    def value(self, theta_P: np.ndarray) -> float:
        """Return the objective at ``theta_P`` (P,)."""
        ws, bs, log_sigma = self._views(np.asarray(theta_P, dtype=np.float64))
        return self._fused.value(ws, bs, log_sigma, keep=False)[0]

    def gauss_newton(self, theta_P: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Return the objective, its gradient (P,) and its Gauss-Newton matrix (P, P).

        The matrix is :meth:`Objective.ggn`'s, in this vector's layout; Levenberg-Marquardt
        solves with it.

        Raises
        ------
        ValueError
            If the Jacobian and the matrix would need more than 2**30 bytes.
        """
        return self._gauss_newton(theta_P, "full")

    def gauss_newton_factors(
        self, theta_P: np.ndarray
    ) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Return the objective, its gradient (P,) and the Gauss-Newton matrix as factors.

        The factors are ``(J_MP, d_P)`` with matrix ``J^T J + diag(d)``: J is the Jacobian of
        the M = N O outputs weighted by the noise, d the prior's precision (and a learned
        ``log_sigma``'s curvature). With fewer outputs than parameters a solver works on the
        (M, M) matrix ``J J^T`` instead of the (P, P) one.

        Raises
        ------
        ValueError
            If the Jacobian and the matrix would need more than 2**30 bytes.
        """
        return self._gauss_newton(theta_P, "factors")

    def newton_system(
        self, theta_P: np.ndarray
    ) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Return the objective, its gradient (P,) and ``(H, G)``, both (P, P).

        ``H`` is the exact Hessian: the Gauss-Newton matrix ``G`` plus the term in the
        residuals that it leaves out, so it need not be positive definite. For a network with
        one hidden layer, a built-in activation and a fixed sigma;
        ``levenberg_marquardt(hessian=True)`` solves with them.

        Raises
        ------
        ValueError
            If the objective is not of that kind, or the Jacobian and the matrix would need
            more than 2**30 bytes.
        """
        why_not = hessian_support(self._fused, len(self._w_slices))
        if why_not is not None:
            raise ValueError(
                f"the exact Hessian (levenberg_marquardt(hessian=True)) needs {why_not}"
            )
        ws, bs, _ = self._views(np.asarray(theta_P, dtype=np.float64))
        if self._outer is None:
            self._outer = input_outer_products(self._fused.x_ND)
        return hessian_system(self._fused, ws, bs, DEFAULT_MAX_BYTES, self._outer)

    def _gauss_newton(self, theta_P: np.ndarray, part: str) -> tuple[float, np.ndarray, Any]:
        ws, bs, log_sigma = self._views(np.asarray(theta_P, dtype=np.float64))
        return gauss_newton_system(self._fused, ws, bs, log_sigma, part, DEFAULT_MAX_BYTES)

    def unflatten(self, vec_P: np.ndarray) -> Tree:
        """Return the parameter tree whose leaves are views of the (P,) vector ``vec_P``."""
        ws, bs, log_sigma = self._views(vec_P)
        layers = [{"w": w, "b": b} for w, b in zip(ws, bs, strict=True)]
        net = tuple(layers) if self._as_tuple else layers
        return net if log_sigma is None else {"net": net, "log_sigma": log_sigma}
