"""Levenberg-Marquardt: damped Gauss-Newton steps on the flattened parameters.

Each iteration solves ``(G + mu I) h = -g`` with the gradient ``g`` and the Gauss-Newton matrix
``G`` of a least-squares objective, tries ``theta + h``, and compares the actual decrease of the
loss with the decrease the quadratic model predicted (the gain ratio ``rho``). A good step is
taken and the damping ``mu`` lowered (divided by 3 when the model predicted the decrease well,
``rho > 3/4``, else by 1.5); a bad one is refused and ``mu`` doubled, which moves the step toward
a short gradient-descent step. The damping falls after every accepted step, as in the "delayed
gratification" schedule of Transtrum and Sethna: on the long, flat valleys of a network's loss a
schedule that keeps ``mu`` unchanged for middling ``rho`` (Nielsen's, Marquardt's) can stay stuck
at a large damping and creep for hundreds of iterations. Near a minimum it is Gauss-Newton, which
converges in a few iterations on the small problems tinynn is made for.

Where the curvature comes from, by what the loss offers:

- with ``hessian=True``, ``loss.flat(params)``'s ``newton_system(theta_P) -> (value, grad_P,
  (H_PP, G_PP))`` (an objective of ``make_objective`` with one hidden layer and a fixed sigma):
  the exact Hessian, and the Gauss-Newton matrix for the steps where the damped Hessian is not
  positive definite;
- ``loss.flat(params)`` with a ``gauss_newton(theta_P) -> (value, grad_P, G_PP)`` method (the
  objectives of ``tinynn.losses.make_objective``): exact, from one Jacobian per iteration; or
  with a ``gauss_newton_factors`` method, preferred when present: with fewer outputs than
  parameters the matrix then stays as its factors ``J^T J + diag(d)`` and each solve is one of
  the outputs' size (see :class:`_Curvature`);
- ``loss.ggn(params)`` and ``loss.value_and_grad(params)`` on trees;
- otherwise ``loss_fn(params)`` returns a residual vector ``r`` and the loss is
  ``0.5 * sum(r**2)``; ``J`` comes from ``autograd.jacobian``.
"""

from __future__ import annotations

import functools
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
# Solves of one iteration's factored system by a fresh (M, P) by (P, M) product before the
# per-group Gram matrices are formed (see _Curvature)
_DIRECT_SOLVES = 2
# At most this many distinct prior precisions: the Woodbury solve keeps one Gram matrix each.
_MAX_GROUPS = 8
# From this size on, the damped systems are solved by Cholesky (scipy's) instead of LU.
_CHOLESKY_MIN_SIZE = 128


@dataclass(frozen=True)
class LevenbergMarquardt:
    """Settings of the Levenberg-Marquardt method; pass it as ``minimize(optimizer=...)``.

    Examples
    --------
    >>> from tinynn import optim
    >>> optim.levenberg_marquardt(damping=1e-2)
    LevenbergMarquardt(damping=0.01, max_evals=None, hessian=False)
    """

    damping: float = 1e-3
    max_evals: int | None = None
    hessian: bool = False


def levenberg_marquardt(
    damping: float = 1e-3, *, max_evals: int | None = None, hessian: bool = False
) -> LevenbergMarquardt:
    """Return the Levenberg-Marquardt method, to pass as ``minimize(optimizer=...)``.

    Damped Gauss-Newton for least-squares objectives (the Gaussian likelihood is one): each
    iteration solves one dense linear system of the size of the parameters (of the outputs,
    for an objective of ``make_objective`` with fewer outputs than parameters), so it suits tiny
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
    hessian : bool, default False
        Solve with the exact Hessian instead of the Gauss-Newton matrix (damped Newton), for an
        objective of ``make_objective`` with one hidden layer, a built-in activation and a
        fixed sigma. Gauss-Newton leaves out the Hessian's term in the residuals, which stays
        large at the minimum on noisy data: there its steps slow down to a crawl and the fit
        can stop on the objective's tolerance far from a stationary point, where Newton's
        converge. The Hessian need not be positive definite: where ``H + mu I`` is not (away
        from a minimum), the step is Gauss-Newton's with the same damping, so on data with
        little noise the fit goes much as without it. Every solve is then of the parameters'
        size.

    Returns
    -------
    LevenbergMarquardt
        A settings object accepted by :func:`minimize` as ``optimizer``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``damping`` is not positive or ``max_evals`` is below 1; from ``minimize``, if
        ``hessian`` is True and the loss is not an objective of that kind.

    References
    ----------
    .. [1] K. Levenberg, "A method for the solution of certain non-linear problems in least
       squares", Quarterly of Applied Mathematics 2, 1944.
    .. [2] D. W. Marquardt, "An algorithm for least-squares estimation of nonlinear
       parameters", SIAM Journal on Applied Mathematics 11, 1963.
    .. [3] M. K. Transtrum and J. P. Sethna, "Improvements to the Levenberg-Marquardt
       algorithm for nonlinear least-squares minimization", arXiv:1201.5885, 2012.

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
    if not isinstance(hessian, (bool, np.bool_)):
        raise TypeError(f"hessian must be True or False, got {describe(hessian)}")
    return LevenbergMarquardt(damping, max_evals, bool(hessian))


class _Curvature:
    """The Gauss-Newton matrix ``G`` of one iteration, solved with ``(G + mu I) h = r``.

    Kept either as the dense (P, P) matrix, or as factors ``G = J^T J + diag(d)`` when the
    Jacobian has fewer rows M than columns P: then the solve works on the (M, M) matrix
    ``I + J E^-1 J^T`` with ``E = diag(d) + mu I`` (the Woodbury identity), as long as E is
    positive, which a prior's precision in ``d`` or any damping makes it.

    A prior usually has one precision per leaf, so ``d`` takes a few values. Then
    ``J E^-1 J^T = sum_g J_g J_g^T / (d_g + mu)`` over the groups g of columns sharing a value,
    and the Gram matrices ``J_g J_g^T`` can be formed once per iteration: a step refused for a
    larger ``mu`` then costs one (M, M) solve instead of a new (M, P) by (P, M) product too.
    Forming them costs more than that one product (about 1.7x at M = 455, P = 751, and at
    M = 50), and most iterations solve once or twice, so the first ``_DIRECT_SOLVES`` solves of
    an iteration take the product and only a third one (a run of refused steps) forms them.
    """

    def __init__(
        self,
        matrix: Any = None,
        factors: Any = None,
        groups: list[tuple[np.ndarray, float]] | None = None,
        *,
        fallback: Any = None,
    ) -> None:
        self.matrix = matrix
        self.factors = factors
        # With an exact Hessian as ``matrix``: the Gauss-Newton matrix, solved with instead
        # where the damped Hessian is not positive definite; ``used`` is the one last solved
        self.fallback = fallback
        self.used = matrix
        self._groups = groups  # column_groups(d), when the caller already has them
        self._grams: list[tuple[np.ndarray, float]] | None = None
        self._n_solves = 0
        if factors is not None:
            j_MP, d_P = factors
            self.diagonal = np.einsum("mp,mp->p", j_MP, j_MP) + d_P
        else:
            self.diagonal = np.diag(matrix)

    @classmethod
    def of_factors(
        cls,
        j_MP: np.ndarray,
        d_P: np.ndarray,
        groups: list[tuple[np.ndarray, float]] | None = None,
    ) -> _Curvature:
        """Keep ``J^T J + diag(d)`` as factors when J has fewer rows than columns, else dense."""
        if len(j_MP) < len(d_P):
            return cls(factors=(j_MP, d_P), groups=groups)
        return cls(matrix=_dense(j_MP, d_P))

    def dense(self) -> np.ndarray:
        if self.matrix is None:
            self.matrix = _dense(*self.factors)
        return self.matrix

    def group_grams(self) -> list[tuple[np.ndarray, float]]:
        """Return ``(J_g J_g^T, d_g)`` per value of ``d`` (empty when it has too many values)."""
        if self._grams is None:
            j_MP, d_P = self.factors
            groups = self._groups if self._groups is not None else column_groups(d_P)
            self._grams = []
            for columns, value in groups:
                j_Mg = j_MP[:, columns]  # a contiguous copy: its product is symmetric
                self._grams.append((j_Mg @ j_Mg.T, value))
        return self._grams

    def solve(self, mu: float, r_P: np.ndarray) -> np.ndarray:
        """Return ``h`` with ``(G + mu I) h = r`` (raises LinAlgError when singular)."""
        if self.factors is not None:
            j_MP, d_P = self.factors
            e_P = d_P + mu
            if float(np.minimum.reduce(e_P)) > 0.0:
                self._n_solves += 1
                grams = self.group_grams() if self._n_solves > _DIRECT_SOLVES else None
                if grams:
                    k_MM = np.multiply(grams[0][0], 1.0 / (grams[0][1] + mu))
                    for gram_MM, value in grams[1:]:
                        k_MM += gram_MM * (1.0 / (value + mu))
                else:  # one symmetric product (BLAS syrk): half the work of (J / e) @ J^T
                    a_MP = j_MP * (1.0 / np.sqrt(e_P))
                    k_MM = a_MP @ a_MP.T
                k_MM.flat[:: len(k_MM) + 1] += 1.0  # its diagonal
                u_P = r_P / e_P
                return u_P - (_positive_definite_solve(k_MM, j_MP @ u_P) @ j_MP) / e_P
        lhs = self.dense().copy()
        lhs.flat[:: len(lhs) + 1] += mu
        if self.fallback is not None:
            try:
                self.used = self.matrix
                return _cholesky_solve(lhs, r_P)
            except np.linalg.LinAlgError:  # not a minimum's neighbourhood: Gauss-Newton's step
                self.used = self.fallback
                lhs = self.fallback.copy()
                lhs.flat[:: len(lhs) + 1] += mu
        return _positive_definite_solve(lhs, r_P)  # LU when a singular G is left undamped

    def quadratic(self, h_P: np.ndarray) -> float:
        """Return ``h^T G h``."""
        if self.factors is not None:
            j_MP, d_P = self.factors
            jh_M = j_MP @ h_P
            return float(jh_M @ jh_M) + float(np.add.reduce(d_P * h_P * h_P))
        return float(h_P @ self.used @ h_P)


def column_groups(d_P: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Return ``(columns, value)`` per distinct value of ``d``; empty beyond ``_MAX_GROUPS``."""
    values, group_P = np.unique(d_P, return_inverse=True)
    if len(values) > _MAX_GROUPS:
        return []
    return [(np.flatnonzero(group_P == g), value) for g, value in enumerate(values.tolist())]


def _positive_definite_solve(k_MM: np.ndarray, b_M: np.ndarray) -> np.ndarray:
    """Return ``inv(K) b`` for a symmetric K, positive definite unless undamped and singular.

    A Cholesky factorization costs half an LU one; numpy has no triangular solve, so it is
    scipy's, used when scipy is installed and K is large enough for the saving to matter (2.5
    against 5.6 ms at M = 455). Else, or when K is not numerically positive definite, LU.
    """
    if len(k_MM) >= _CHOLESKY_MIN_SIZE:
        cholesky = _scipy_cholesky()
        if cholesky is not None:
            factor, solve = cholesky
            try:
                return solve(factor(k_MM, check_finite=False), b_M, check_finite=False)
            except np.linalg.LinAlgError:  # scipy raises numpy's
                pass
    return np.linalg.solve(k_MM, b_M)


def _cholesky_solve(k_MM: np.ndarray, b_M: np.ndarray) -> np.ndarray:
    """Return ``inv(K) b``; raise LinAlgError unless K is numerically positive definite."""
    cholesky = _scipy_cholesky() if len(k_MM) >= _CHOLESKY_MIN_SIZE else None
    if cholesky is not None:
        factor, solve = cholesky
        return solve(factor(k_MM, check_finite=False), b_M, check_finite=False)
    np.linalg.cholesky(k_MM)  # numpy has no triangular solve: the check, then LU
    return np.linalg.solve(k_MM, b_M)


@functools.cache
def _scipy_cholesky() -> tuple[Any, Any] | None:
    try:
        from scipy.linalg import cho_factor, cho_solve
    except ImportError:
        return None
    return cho_factor, cho_solve


def _dense(j_MP: np.ndarray, d_P: np.ndarray) -> np.ndarray:
    """Return ``J^T J + diag(d)``."""
    matrix = j_MP.T @ j_MP
    matrix.flat[:: len(d_P) + 1] += d_P
    return matrix


class _FlatProblem:
    """The flat protocol of an objective: exact Gauss-Newton from one Jacobian.

    With fewer outputs than parameters and a ``gauss_newton_factors`` method it keeps the
    matrix as factors (see :class:`_Curvature`).
    """

    def __init__(self, flat: Any) -> None:
        self.flat = flat
        self.factored = callable(getattr(flat, "gauss_newton_factors", None))
        # d of the last iteration and its column groups: d is the prior's precision (plus a
        # learned log sigma's curvature), the same at every iteration of most runs
        self._groups: tuple[np.ndarray, list[tuple[np.ndarray, float]]] | None = None

    def gauss_newton(self, theta_P: np.ndarray) -> tuple[float, np.ndarray, _Curvature]:
        if self.factored:
            value, grad_P, (j_MP, d_P) = self.flat.gauss_newton_factors(theta_P)
            if self._groups is None or not np.array_equal(self._groups[0], d_P):
                self._groups = (d_P.copy(), column_groups(d_P))
            return value, grad_P, _Curvature.of_factors(j_MP, d_P, self._groups[1])
        value, grad_P, ggn_PP = self.flat.gauss_newton(theta_P)
        return value, grad_P, _Curvature(matrix=ggn_PP)

    def value(self, theta_P: np.ndarray) -> float:
        return float(self.flat.value(theta_P))

    def unflatten(self, theta_P: np.ndarray) -> Any:
        return self.flat.unflatten(np.array(theta_P, copy=True))


class _HessianProblem(_FlatProblem):
    """The flat protocol's ``hessian`` method: damped Newton on the exact Hessian."""

    def gauss_newton(self, theta_P: np.ndarray) -> tuple[float, np.ndarray, _Curvature]:
        value, grad_P, (hess_PP, ggn_PP) = self.flat.newton_system(theta_P)
        return value, grad_P, _Curvature(matrix=hess_PP, fallback=ggn_PP)


class _TreeProblem:
    """An objective with ``ggn`` and ``value_and_grad`` methods on trees."""

    def __init__(self, loss: Any, unflatten: Any) -> None:
        self.loss = loss
        self.unflatten = unflatten

    def gauss_newton(self, theta_P: np.ndarray) -> tuple[float, np.ndarray, _Curvature]:
        params = self.unflatten(theta_P)
        value, grads = self.loss.value_and_grad(params)
        matrix = np.asarray(self.loss.ggn(params))
        return float(value), tree.flatten(grads)[0], _Curvature(matrix=matrix)

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

    def gauss_newton(self, theta_P: np.ndarray) -> tuple[float, np.ndarray, _Curvature]:
        r_M = self._residuals(theta_P)
        j_MP = np.asarray(autograd.jacobian(self.fn)(theta_P), dtype=np.float64)
        j_MP = j_MP.reshape(r_M.size, theta_P.size)
        return 0.5 * float(r_M @ r_M), j_MP.T @ r_M, _Curvature(matrix=j_MP.T @ j_MP)

    def value(self, theta_P: np.ndarray) -> float:
        r_M = self._residuals(theta_P)
        return 0.5 * float(r_M @ r_M)


def _problem(loss_fn: Any, flat: Any, unflatten: Any, hessian: bool) -> Any:
    if hessian:
        if flat is None or not callable(getattr(flat, "newton_system", None)):
            raise ValueError(
                f"levenberg_marquardt(hessian=True) needs an objective of "
                f"tinynn.losses.make_objective (with one hidden layer, a built-in activation "
                f"and a fixed sigma), got loss_fn={describe(loss_fn)}"
            )
        return _HessianProblem(flat)
    if flat is not None and any(
        callable(getattr(flat, name, None)) for name in ("gauss_newton", "gauss_newton_factors")
    ):
        return _FlatProblem(flat)
    if callable(getattr(loss_fn, "ggn", None)) and callable(
        getattr(loss_fn, "value_and_grad", None)
    ):
        return _TreeProblem(loss_fn, unflatten)
    return _ResidualProblem(loss_fn, unflatten)


def _more_damping(mu: float, start: float) -> float:
    """Return the damping after a refused step: ``start`` after an undamped step, else doubled."""
    return start if mu == 0.0 else 2.0 * mu


class _NonFinite(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def run_levenberg_marquardt(
    loss_fn: Any, params: Any, method: LevenbergMarquardt, settings: Settings, flat: Any
) -> OptimizeResult:
    """Run Levenberg-Marquardt from ``params``; the shared monitor builds the result."""
    theta_P, unflatten = tree.flatten(params)
    problem = _problem(loss_fn, flat, unflatten, method.hessian)
    monitor = Monitor(settings, settings.n_iters, None)
    # The monitor keeps flat vectors, turned into trees once at the end, unless something
    # (records, metrics, a validation function, a callback) looks at the trees of each iteration
    as_trees = monitor.wants_trees()
    params_of = problem.unflatten if as_trees else _flat
    grads_of = unflatten if as_trees else _flat
    max_evals = method.max_evals or 10 * settings.n_iters
    reason, message, n_evals, iteration = "completed", "", 0, 0

    def evaluate(theta: np.ndarray) -> tuple[float, np.ndarray, _Curvature, float]:
        nonlocal n_evals
        value, grad_P, curvature = problem.gauss_newton(theta)
        n_evals += 1
        grad_norm = math.sqrt(float(grad_P @ grad_P))
        if not (math.isfinite(value) and math.isfinite(grad_norm)):
            raise _NonFinite(
                f"the loss is {value}"
                if not math.isfinite(value)
                else f"the gradient norm is {grad_norm}"
            )
        return value, grad_P, curvature, grad_norm

    try:
        value, grad_P, curvature, grad_norm = evaluate(theta_P)
        stop = monitor.observe(0, params_of(theta_P), value, grads_of(grad_P), grad_norm, None)
        # ufunc reductions, here and in the solves: np.max and np.sum add a wrapper's microseconds
        scale = max(float(np.maximum.reduce(curvature.diagonal)), 1e-300)
        # The first step is tried undamped (pure Gauss-Newton, exact for a linear model);
        # the damping starts at method.damping * scale as soon as a step is refused.
        mu = 0.0
        while stop is None and iteration < settings.n_iters - 1:
            if n_evals >= max_evals:
                message = (
                    f"stopped at iteration {iteration} after max_evals={max_evals} evaluations"
                )
                break
            try:
                h_P = curvature.solve(mu, -grad_P)
            except np.linalg.LinAlgError:
                mu = _more_damping(mu, method.damping * scale)
                continue
            predicted = -float(grad_P @ h_P) - 0.5 * curvature.quadratic(h_P)
            trial = theta_P + h_P
            trial_value = problem.value(trial)
            n_evals += 1
            rho = (value - trial_value) / predicted if predicted > 0 else -math.inf
            if not math.isfinite(trial_value) or not rho > 0:
                mu = _more_damping(mu, method.damping * scale)
                if mu > _MAX_DAMPING_RATIO * scale:
                    reason = "converged"
                    message = (
                        f"converged at iteration {iteration}: no damped Gauss-Newton step "
                        f"lowers the loss any more"
                    )
                    break
                continue
            theta_P = trial
            value, grad_P, curvature, grad_norm = evaluate(theta_P)
            scale = max(scale, float(np.maximum.reduce(curvature.diagonal)))
            mu /= 3.0 if rho > 0.75 else 1.5
            iteration += 1
            stop = monitor.observe(
                iteration, params_of(theta_P), value, grads_of(grad_P), grad_norm, None
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
    if not as_trees:
        monitor.points_as_trees(problem.unflatten, unflatten)
    return monitor.finish(reason, message, params, None, n_evals)


def _flat(vector_P: np.ndarray) -> np.ndarray:
    return vector_P
