"""Levenberg-Marquardt: damped Gauss-Newton steps on the flattened parameters.

Each iteration solves ``(G + mu I) h = -g`` with the gradient ``g`` and the Gauss-Newton matrix
``G`` of a least-squares objective, tries ``theta + h``, and compares the actual decrease of the
loss with the decrease the quadratic model predicted (the gain ratio ``rho``). A good step is
taken and the damping ``mu`` relaxed; a bad one is refused and ``mu`` raised (Nielsen's update),
which moves the step toward a short gradient-descent step. Near a minimum it is Gauss-Newton,
which converges in a few iterations on the small problems tinynn is made for.

Where the curvature comes from, by what the loss offers:

- ``loss.flat(params)`` with a ``gauss_newton(theta_P) -> (value, grad_P, G_PP)`` method (the
  objectives of ``tinynn.losses.make_objective``): exact, from one Jacobian per iteration;
- ``loss.ggn(params)`` and ``loss.value_and_grad(params)`` on trees;
- otherwise ``loss_fn(params)`` returns a residual vector ``r`` and the loss is
  ``0.5 * sum(r**2)``; ``J`` comes from ``autograd.jacobian``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import autograd
import numpy as np

from tinynn import tree
from tinynn._checks import check_int, check_positive, describe
from tinynn.optim._monitor import Monitor, Settings, returning
from tinynn.optim._result import OptimizeResult

__all__ = ["LevenbergMarquardt", "levenberg_marquardt"]

# Damping beyond this multiple of the largest curvature means no step shortens the loss any more.
_MAX_DAMPING_RATIO = 1e16


@dataclass(frozen=True)
class LevenbergMarquardt:
    """Settings of the Levenberg-Marquardt method; pass it as ``minimize(optimizer=...)``.

    Examples
    --------
    >>> from tinynn import optim
    >>> optim.levenberg_marquardt(damping=1e-2)
    LevenbergMarquardt(damping=0.01, max_evals=None)
    """

    damping: float = 1e-3
    max_evals: int | None = None


def levenberg_marquardt(
    damping: float = 1e-3, *, max_evals: int | None = None
) -> LevenbergMarquardt:
    """Return the Levenberg-Marquardt method, to pass as ``minimize(optimizer=...)``.

    Damped Gauss-Newton for least-squares objectives (the Gaussian likelihood is one): each
    iteration solves one dense linear system of the size of the parameters, so it suits tiny
    networks (up to a few thousand parameters), where it typically needs ten times fewer
    iterations than L-BFGS. The loss is either an objective of
    :func:`tinynn.losses.make_objective` (fixed or learned sigma, with or without a prior), or a
    function returning a residual vector ``r`` whose loss is ``0.5 * sum(r**2)``. The history
    records one entry per accepted step; refused steps count as evaluations. It cannot resume
    from a state: ``result.state`` is None.

    Parameters
    ----------
    damping : float, default 1e-3
        Starting damping relative to the largest diagonal entry of the Gauss-Newton matrix.
    max_evals : int or None, default None
        Largest number of loss evaluations (accepted and refused steps); None allows
        ``10 * n_iters``.

    Returns
    -------
    LevenbergMarquardt
        A settings object accepted by :func:`minimize` as ``optimizer``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``damping`` is not positive or ``max_evals`` is below 1.

    References
    ----------
    .. [1] K. Levenberg, "A method for the solution of certain non-linear problems in least
       squares", Quarterly of Applied Mathematics 2, 1944.
    .. [2] D. W. Marquardt, "An algorithm for least-squares estimation of nonlinear
       parameters", SIAM Journal on Applied Mathematics 11, 1963.
    .. [3] H. B. Nielsen, "Damping parameter in Marquardt's method", report IMM-REP-1999-05,
       Technical University of Denmark, 1999.

    Examples
    --------
    >>> import autograd.numpy as anp
    >>> import numpy as np
    >>> from tinynn.optim import levenberg_marquardt, minimize
    >>> def residuals(p):  # Rosenbrock's function as a sum of two squares
    ...     return anp.array([10.0 * (p[1] - p[0] ** 2), 1.0 - p[0]])
    >>> lm = levenberg_marquardt()
    >>> result = minimize(residuals, np.array([-1.2, 1.0]), optimizer=lm, n_iters=100,
    ...                   gtol=1e-12)
    >>> result.params.round(8), result.reason
    (array([1., 1.]), 'converged')
    """
    damping = check_positive(damping, "damping")
    if max_evals is not None:
        max_evals = check_int(max_evals, "max_evals", minimum=1)
    return LevenbergMarquardt(damping, max_evals)


class _FlatProblem:
    """The flat protocol of an objective: exact Gauss-Newton from one Jacobian."""

    def __init__(self, flat: Any) -> None:
        self.flat = flat

    def gauss_newton(self, theta_P: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        return self.flat.gauss_newton(theta_P)

    def value(self, theta_P: np.ndarray) -> float:
        return float(self.flat.value(theta_P))

    def unflatten(self, theta_P: np.ndarray) -> Any:
        return self.flat.unflatten(np.array(theta_P, copy=True))


class _TreeProblem:
    """An objective with ``ggn`` and ``value_and_grad`` methods on trees."""

    def __init__(self, loss: Any, unflatten: Any) -> None:
        self.loss = loss
        self.unflatten = unflatten

    def gauss_newton(self, theta_P: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        params = self.unflatten(theta_P)
        value, grads = self.loss.value_and_grad(params)
        return float(value), tree.flatten(grads)[0], np.asarray(self.loss.ggn(params))

    def value(self, theta_P: np.ndarray) -> float:
        return float(self.loss(self.unflatten(theta_P)))


class _ResidualProblem:
    """A user's residual function: the loss is ``0.5 * sum(r**2)``, ``J`` from autograd."""

    def __init__(self, residuals: Any, unflatten: Any) -> None:
        self.unflatten = unflatten
        self.fn = lambda theta_P: residuals(unflatten(theta_P))

    def _residuals(self, theta_P: np.ndarray) -> np.ndarray:
        r = self.fn(theta_P)
        if np.ndim(r) != 1:
            raise ValueError(
                f"with levenberg_marquardt, loss_fn must return a vector of residuals r (the "
                f"loss is 0.5 * sum(r**2)) or be a tinynn.losses.make_objective loss, got "
                f"{describe(r)}"
            )
        return np.asarray(r, dtype=np.float64)

    def gauss_newton(self, theta_P: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        r_M = self._residuals(theta_P)
        j_MP = np.asarray(autograd.jacobian(self.fn)(theta_P), dtype=np.float64)
        j_MP = j_MP.reshape(r_M.size, theta_P.size)
        return 0.5 * float(r_M @ r_M), j_MP.T @ r_M, j_MP.T @ j_MP

    def value(self, theta_P: np.ndarray) -> float:
        r_M = self._residuals(theta_P)
        return 0.5 * float(r_M @ r_M)


def _problem(loss_fn: Any, flat: Any, unflatten: Any) -> Any:
    if flat is not None and callable(getattr(flat, "gauss_newton", None)):
        return _FlatProblem(flat)
    if callable(getattr(loss_fn, "ggn", None)) and callable(
        getattr(loss_fn, "value_and_grad", None)
    ):
        return _TreeProblem(loss_fn, unflatten)
    return _ResidualProblem(loss_fn, unflatten)


def _more_damping(mu: float, nu: float, start: float) -> tuple[float, float]:
    """Return the damping and its growth factor after a refused step (Nielsen's rule)."""
    if mu == 0.0:
        return start, 2.0
    return mu * nu, 2.0 * nu


class _NonFinite(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def run_levenberg_marquardt(
    loss_fn: Any, params: Any, method: LevenbergMarquardt, settings: Settings, flat: Any
) -> OptimizeResult:
    """Run Levenberg-Marquardt from ``params``; the shared monitor builds the result."""
    theta_P, unflatten = tree.flatten(params)
    problem = _problem(loss_fn, flat, unflatten)
    monitor = Monitor(settings, settings.n_iters, None)
    max_evals = method.max_evals or 10 * settings.n_iters
    reason, message, n_evals, iteration = "completed", "", 0, 0

    def evaluate(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, float]:
        nonlocal n_evals
        value, grad_P, ggn_PP = problem.gauss_newton(theta)
        n_evals += 1
        grad_norm = math.sqrt(float(grad_P @ grad_P))
        if not (math.isfinite(value) and math.isfinite(grad_norm)):
            raise _NonFinite(
                f"the loss is {value}"
                if not math.isfinite(value)
                else f"the gradient norm is {grad_norm}"
            )
        return value, grad_P, ggn_PP, grad_norm

    try:
        value, grad_P, ggn_PP, grad_norm = evaluate(theta_P)
        stop = monitor.observe(
            0, problem.unflatten(theta_P), value, unflatten(grad_P), grad_norm, None
        )
        scale = max(float(np.max(np.diag(ggn_PP))), 1e-300)
        # The first step is tried undamped (pure Gauss-Newton, exact for a linear model);
        # the damping starts at method.damping * scale as soon as a step is refused.
        mu, nu = 0.0, 2.0
        eye = np.eye(theta_P.size)
        while stop is None and iteration < settings.n_iters - 1:
            if n_evals >= max_evals:
                message = (
                    f"stopped at iteration {iteration} after max_evals={max_evals} evaluations"
                )
                break
            try:
                h_P = np.linalg.solve(ggn_PP + mu * eye, -grad_P)
            except np.linalg.LinAlgError:
                mu, nu = _more_damping(mu, nu, method.damping * scale)
                continue
            predicted = -float(grad_P @ h_P) - 0.5 * float(h_P @ ggn_PP @ h_P)
            trial = theta_P + h_P
            trial_value = problem.value(trial)
            n_evals += 1
            rho = (value - trial_value) / predicted if predicted > 0 else -math.inf
            if not math.isfinite(trial_value) or not rho > 0:
                mu, nu = _more_damping(mu, nu, method.damping * scale)
                if mu > _MAX_DAMPING_RATIO * scale:
                    reason = "converged"
                    message = (
                        f"converged at iteration {iteration}: no damped Gauss-Newton step "
                        f"lowers the loss any more"
                    )
                    break
                continue
            theta_P = trial
            value, grad_P, ggn_PP, grad_norm = evaluate(theta_P)
            scale = max(scale, float(np.max(np.diag(ggn_PP))))
            mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            nu = 2.0
            iteration += 1
            stop = monitor.observe(
                iteration, problem.unflatten(theta_P), value, unflatten(grad_P), grad_norm, None
            )
        if stop is not None:
            reason = stop
    except _NonFinite as bad:
        reason = "diverged"
        message = (
            f"training diverged during iteration {iteration + 1} (Levenberg-Marquardt): "
            f"{bad.what}; returning {returning(monitor.current)}, the last finite ones. "
            f"Standardize the data (tinynn.data.Standardizer) or check the loss for overflow"
        )
    except KeyboardInterrupt:
        reason = "interrupted"
        message = f"interrupted by KeyboardInterrupt; returning {returning(monitor.current)}"
    return monitor.finish(reason, message, params, None, n_evals)
