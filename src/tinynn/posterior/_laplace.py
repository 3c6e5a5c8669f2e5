"""The Laplace approximation at a MAP fit (private to :mod:`tinynn.posterior`).

With a Gaussian prior of std ``prior_std`` (precision ``alpha = 1 / prior_std**2``) and Gaussian
noise ``sigma``, the posterior around the MAP parameters ``theta`` is approximated by a Gaussian
with precision ``C / sigma**2 + alpha I``. ``C`` is the curvature of half the sum of squared
errors: ``J^T J`` (the generalized Gauss-Newton matrix, always positive semi-definite), its
diagonal, the block of the output layer, or the exact Hessian. Because ``C`` does not depend on
the two hyperparameters, the log marginal likelihood (evidence)

    -SSE / (2 sigma**2) - M log sigma - M/2 log 2 pi - alpha |theta|**2 / 2 + P/2 log alpha
    - 1/2 sum_i log(lambda_i / sigma**2 + alpha)

(M targets, P parameters, lambda_i the eigenvalues of ``C``) is a closed form in them, and
MacKay's fixed point maximizes it. For a network without hidden layer it is the exact evidence of
Bayesian linear regression.
"""

from __future__ import annotations

import math
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval, isbox

from tinynn import model, tree
from tinynn._checks import as_float_array, as_generator, check_choice, check_int, check_positive
from tinynn.posterior._base import Posterior, Predictive
from tinynn.posterior._loo import gaussian_loo_terms

STRUCTURES = ("full", "diagonal", "last_layer", "hessian")
_LOG_2PI = math.log(2.0 * math.pi)


def curvature(
    params: Any, x: Any, y: Any, activation: Any, structure: str
) -> tuple[Any, float, np.ndarray | None]:
    """Return ``C`` (see the module docstring) for ``structure``, the sum of squared errors, and
    the Jacobian ``J`` with ``C = J^T J`` when it has fewer rows than columns (else None): with
    it the evidence's per-group covariance traces cost an inverse of the rows' size
    (:func:`_group_covariance_traces`).
    """
    yhat = np.asarray(model.predict(params, x, activation=activation))
    y_arr = as_float_array(y, "y")
    if y_arr.shape != yhat.shape:
        raise ValueError(
            f"y must have the network's output shape {yhat.shape} for these x, got {y_arr.shape}"
        )
    sse = float(np.sum((yhat - y_arr) ** 2))
    if structure == "hessian":
        theta, unflatten = tree.flatten(params)

        def half_sse(theta_P: Any) -> Any:
            r = model.predict(unflatten(theta_P), x, activation=activation) - y_arr
            return 0.5 * anp.sum(r * r)

        return np.asarray(autograd.hessian(half_sse)(theta)), sse, None
    jac = covered_jacobian(params, x, activation, structure)
    if structure == "diagonal":
        return np.einsum("mp,mp->p", jac, jac), sse, None
    return jac.T @ jac, sse, (jac if jac.shape[0] < jac.shape[1] else None)


def covered_jacobian(params: Any, x: Any, activation: Any, structure: str) -> np.ndarray:
    """Return the Jacobian of the outputs in the parameters the posterior covers, (N O, Q).

    For ``"last_layer"`` it is built from the last hidden layer's features alone, ``[h(x), 1]``
    times the identity of the outputs, so a wide network never needs its full (N O, P) Jacobian.
    """
    if structure != "last_layer":
        jac = np.asarray(model.jacobian(params, x, activation=activation))
        return jac.reshape(-1, jac.shape[-1])
    n_out = int(np.shape(params[-1]["b"])[-1])
    x_arr = np.asarray(x, dtype=float)
    x_ND = x_arr.reshape(1, -1) if x_arr.ndim == 1 and len(params[0]["w"]) > 1 else x_arr
    x_ND = x_ND.reshape(len(x_ND), -1)
    if len(params) > 1:
        hidden = np.asarray(model.predict(params[:-1], x_ND, activation=activation))
        feats = np.asarray(model.get_activation(activation)(hidden.reshape(len(x_ND), -1)))
    else:
        feats = x_ND
    ones = np.ones((len(x_ND), 1))
    eye = np.eye(n_out)
    w_part = np.einsum("nh,op->nohp", feats, eye).reshape(len(x_ND), n_out, -1)
    b_part = np.broadcast_to(eye, (len(x_ND), n_out, n_out)) * ones[:, :, None]
    return np.concatenate([w_part, b_part], axis=2).reshape(len(x_ND) * n_out, -1)


def check_size(n_params: int, structure: str, max_bytes: float) -> None:
    """Refuse, before allocating, a dense precision larger than ``max_bytes``."""
    if structure == "diagonal":
        return
    need = 8.0 * n_params**2
    if need > max_bytes:
        raise ValueError(
            f"a {structure} Laplace posterior of {n_params} parameters needs a "
            f"{n_params} x {n_params} matrix ({need / 2**30:.1f} GiB, over max_bytes="
            f"{max_bytes:.3g}); use structure='last_layer' or 'diagonal', or a smaller network"
        )


def last_layer_size(params: Any) -> int:
    """Return the number of scalars in the output layer's ``w`` and ``b``."""
    return int(np.size(params[-1]["w"]) + np.size(params[-1]["b"]))


def leaf_groups(params: Any, n_params: int) -> np.ndarray:
    """Return the leaf number of each of the last ``n_params`` scalars of ``params``."""
    sizes = [int(np.size(leaf)) for leaf in tree.leaves(params)]
    return np.repeat(np.arange(len(sizes)), sizes)[-n_params:]


def evidence_fixed_point(
    post: Laplace, *, tune_prior: bool, tune_noise: bool, max_steps: int = 10_000
) -> tuple[Any, float]:
    """Return ``(prior_std, sigma)`` maximizing the evidence of ``post`` at its MAP.

    MacKay's updates: for each prior group g, ``alpha_g = gamma_g / |theta_g|**2`` with
    ``gamma_g = P_g - alpha_g trace_g(Sigma)`` its effective number of parameters, and
    ``sigma**2 = SSE / (M - sum gamma_g)``. They are the evidence's stationarity conditions;
    iterating them climbs to its maximum. One shared prior uses the eigenvalues of ``C``, so a
    step costs O(P); per-layer priors need each group's covariance trace at each step (one
    (M, M) inverse with fewer rows M than parameters, else the (P, P) covariance), so they take
    ``max_steps // 1000`` steps at most. A leaf the data pin down (a one-output
    network's output bias) can make its update swing between two values at every step without
    settling; the evidence is flat along it (on the toy data and on Boston, the two values'
    evidence differs by 1e-4 nats or less): where the loop stops moves that prior std, not the
    evidence.
    """
    theta = post._mean
    shared = np.ndim(post.prior_std) == 0
    alpha = 1.0 / np.atleast_1d(np.asarray(post.prior_std, dtype=float)) ** 2
    group = np.zeros(theta.size, dtype=int) if shared else post._group
    sizes = np.bincount(group, minlength=alpha.size)
    squares = np.bincount(group, weights=theta * theta, minlength=alpha.size)
    var = post.sigma**2
    eig = post._eig if shared else None
    grams = None
    if eig is None and post.structure != "diagonal" and post._jac is not None:
        grams = _group_grams(post._jac, group, alpha.size)  # J is fixed: formed once
    for _ in range(max_steps if shared else max(1, max_steps // 1000)):
        if eig is not None:
            gamma = np.array([float(np.sum(eig / (eig + alpha[0] * var)))])
        elif grams is not None:
            gamma = sizes - alpha * _group_covariance_traces(grams, alpha, var, sizes)
        else:
            diag_cov = _covariance_diagonal(post._matrix, post.structure, var, alpha[group])
            gamma = sizes - alpha * np.bincount(group, weights=diag_cov, minlength=alpha.size)
        new_alpha = alpha
        if tune_prior:
            new_alpha = np.where(
                squares > 0, np.maximum(gamma, 1e-12) / np.maximum(squares, 1e-300), alpha
            )
        total = float(np.sum(gamma))
        new_var = (
            post._sse / (post._n_targets - total) if tune_noise and post._n_targets > total else var
        )
        done = (
            np.all(np.abs(new_alpha - alpha) <= 1e-14 * alpha) and abs(new_var - var) <= 1e-14 * var
        )
        alpha, var = new_alpha, max(new_var, 1e-300)
        if done:
            break
    prior = 1.0 / np.sqrt(alpha)
    return (float(prior[0]) if shared else prior), math.sqrt(var)


def _group_grams(jac_MP: np.ndarray, group_P: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Return ``J_g J_g^T`` for the columns of each prior group g."""
    grams = []
    for g in range(n_groups):
        j_Mg = jac_MP[:, group_P == g]  # a contiguous copy: its product is symmetric
        grams.append(j_Mg @ j_Mg.T)
    return grams


def _group_covariance_traces(
    grams: list[np.ndarray], alpha_G: np.ndarray, var: float, sizes_G: np.ndarray
) -> np.ndarray:
    """Return the trace of each prior group's block of ``inv(J^T J / var + diag(alpha))``.

    By the Woodbury identity the block's trace is
    ``P_g / alpha_g - trace(inv(K) J_g J_g^T) / alpha_g**2`` with ``K = var I + sum_g J_g J_g^T
    / alpha_g``: one (M, M) inverse and an elementwise product per group, no product with J.
    """
    k_MM = grams[0] * (1.0 / alpha_G[0])
    for gram_MM, alpha in zip(grams[1:], alpha_G[1:].tolist(), strict=True):
        k_MM += gram_MM * (1.0 / alpha)
    k_MM.flat[:: len(k_MM) + 1] += var
    inverse_MM = np.linalg.inv(k_MM)
    quads = np.array([float(np.vdot(inverse_MM, gram_MM)) for gram_MM in grams])  # symmetric
    # A group the evidence prunes (its weights near 0) sees alpha_g grow without bound; past
    # 1e154 its square overflows to inf and the second term becomes 0, which it is to rounding
    # anyway: relative to the first it is quads_g / (P_g alpha_g), below 1e-150.
    with np.errstate(over="ignore"):
        return sizes_G / alpha_G - quads / (alpha_G * alpha_G)


def _covariance_diagonal(
    matrix: np.ndarray, structure: str, var: float, alpha_P: np.ndarray
) -> np.ndarray:
    """Return the diagonal of ``inv(matrix / var + diag(alpha))`` from the (P, P) matrix.

    With fewer rows than parameters the evidence takes the per-group traces from the rows'
    side instead (:func:`_group_covariance_traces`).
    """
    if structure == "diagonal":
        return 1.0 / (matrix / var + alpha_P)
    try:
        return np.diag(np.linalg.inv(matrix / var + np.diag(alpha_P))).copy()
    except np.linalg.LinAlgError:  # numerically singular: the pseudo-inverse of the PSD matrix
        return np.diag(np.linalg.pinv(matrix / var + np.diag(alpha_P), hermitian=True)).copy()


def check_prior_std(prior_std: Any, n_leaves: int) -> Any:
    """Return a positive float, or an array with one positive std per leaf."""
    if np.ndim(prior_std) == 0:
        return check_positive(prior_std, "prior_std")
    stds = np.asarray(prior_std, dtype=float)
    if stds.shape != (n_leaves,) or not np.all(np.isfinite(stds) & (stds > 0)):
        raise ValueError(
            f"prior_std must be a positive number or {n_leaves} positive numbers (one per "
            f"leaf: each layer's w, then its b), got {np.asarray(prior_std).tolist()!r}"
        )
    return stds


class Laplace(Posterior):
    """The Laplace approximation of the posterior at MAP parameters.

    Build it at parameters fitted with the same prior and noise (for example by
    :func:`fit_laplace`, which also tunes them). Its predictive is by default the linearized
    (GLM) one: the network's Jacobian carries the posterior covariance to the outputs, a
    Gaussian that needs no sampling.

    Parameters
    ----------
    params : list of dict
        The MAP parameters (one network, not stacked).
    x : ndarray of shape (N, D)
        Training inputs.
    y : ndarray of shape (N,) or (N, O)
        Training targets.
    sigma : float
        Noise standard deviation.
    prior_std : float or sequence of float
        Standard deviation of the zero-mean Gaussian prior: one for every parameter, or one per
        leaf (each layer's ``w``, then its ``b``), which the evidence can then tune apart.
    structure : {"full", "diagonal", "last_layer", "hessian"}, default "full"
        The posterior precision: the dense generalized Gauss-Newton matrix; its diagonal (for
        larger networks); the dense block of the output layer only (the other layers stay at
        their MAP values); or the exact Hessian (tiny networks; it must be positive definite).
    activation : str, default "tanh"
        Hidden-layer activation.
    max_bytes : float, default 2**30
        Refuse, before allocating, a dense precision matrix larger than this.

    Attributes
    ----------
    params : list of dict
        The MAP parameters.
    sigma : float
    prior_std : float, or ndarray with one std per leaf
    structure : str
    n_params : int
        Number of parameters the Gaussian covers (all, or the output layer's).
    precision : ndarray of shape (n_params, n_params), or (n_params,) for "diagonal"

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import Laplace
    >>> x = np.linspace(-1, 1, 20)[:, None]; y = 2.0 * x[:, 0]
    >>> params = [{"w": np.array([[2.0]]), "b": np.array([0.0])}]
    >>> post = Laplace(params, x, y, sigma=0.1, prior_std=1.0)
    >>> pred = post.predict(np.array([[0.0], [3.0]]))
    >>> bool(pred.epistemic_std[1] > pred.epistemic_std[0])
    True
    """

    kind = "laplace"
    rounds: list[dict[str, Any]]  # set by fit_laplace
    result: Any = None  # the OptimizeResult of the MAP fit, set by fit_laplace
    optimizer: str = ""  # the MAP fit's method, set by fit_laplace
    best_round: int = 0  # which of the rounds it is, set by fit_laplace
    _eig: np.ndarray | None
    _jac: np.ndarray | None = None
    _root_cache: np.ndarray | None

    def __init__(
        self,
        params: Any,
        x: Any,
        y: Any,
        *,
        sigma: float,
        prior_std: Any,
        structure: str = "full",
        activation: str = "tanh",
        max_bytes: float = 2**30,
    ) -> None:
        structure = check_choice(structure, "structure", STRUCTURES)
        n_covered = last_layer_size(params) if structure == "last_layer" else tree.size(params)
        check_size(n_covered, structure, check_positive(max_bytes, "max_bytes"))
        if model.stack_size(params) is not None:
            raise ValueError("params must be one network for Laplace, got stacked parameters")
        matrix, sse, jac = curvature(params, x, y, activation, structure)
        n_targets = int(np.size(y))
        self._setup(params, matrix, sse, n_targets, sigma, prior_std, structure, activation)
        self._jac = jac

    def _setup(
        self,
        params: Any,
        matrix: np.ndarray,
        sse: float,
        n_targets: int,
        sigma: float,
        prior_std: Any,
        structure: str,
        activation: str,
    ) -> None:
        self.params = params
        self.activation = activation
        self.structure = structure
        self.sigma = check_positive(sigma, "sigma")
        self._matrix = matrix
        self._sse = sse
        self._n_targets = n_targets
        self._theta = np.asarray(tree.flatten(params)[0], dtype=float)
        self.n_params = matrix.shape[0]
        self._mean = self._theta[-self.n_params :]
        self._group = leaf_groups(params, self.n_params)
        self._n_leaves = len(tree.leaves(params))
        self.prior_std = check_prior_std(prior_std, self._n_leaves)
        var = self.sigma**2
        if np.ndim(self.prior_std) == 0:
            alpha_P = np.full(self.n_params, 1.0 / self.prior_std**2)
            self._eig = matrix if structure == "diagonal" else np.linalg.eigvalsh(matrix)
        else:
            alpha_P = 1.0 / np.asarray(self.prior_std)[self._group] ** 2
            self._eig = None
        self._alpha = alpha_P
        if structure == "diagonal":
            self.precision = matrix / var + alpha_P
            self._root_cache = 1.0 / np.sqrt(self.precision)  # each parameter's posterior std
        else:
            self.precision = matrix / var + np.diag(alpha_P)
            try:
                chol = np.linalg.cholesky(self.precision)
            except np.linalg.LinAlgError:
                smallest = float(np.linalg.eigvalsh(self.precision)[0])
                raise ValueError(
                    f"the {structure} posterior precision is not positive definite at these "
                    f"parameters (smallest eigenvalue {smallest:.3g}); fit to a minimum first, "
                    'or use structure="full" (Gauss-Newton, always positive definite)'
                ) from None
            self._chol = chol
            self._root_cache = None  # built on first use: the evidence alone never needs it

    @property
    def _root(self) -> np.ndarray:
        """A square root of the covariance: posterior stds ("diagonal"), or ``R`` with
        covariance ``R R^T``."""
        if self._root_cache is None:
            # covariance = inv(chol)^T inv(chol); rows of inv(chol) map J^T to a whitened basis
            self._root_cache = np.linalg.solve(self._chol, np.eye(self.n_params)).T
        return self._root_cache

    @classmethod
    def _with(cls, base: Laplace, sigma: float, prior_std: Any) -> Laplace:
        new = cls.__new__(cls)
        new._setup(
            base.params,
            base._matrix,
            base._sse,
            base._n_targets,
            sigma,
            prior_std,
            base.structure,
            base.activation,
        )
        new._jac = base._jac
        return new

    # -- the evidence ------------------------------------------------------------------------------

    def log_evidence(self, prior_std: float | None = None, sigma: float | None = None) -> float:
        """Return the Laplace log marginal likelihood at the MAP, for any prior std and sigma.

        The MAP parameters and their curvature stay fixed; only the two hyperparameters move
        (the closed form in the module docstring). For a network without hidden layer, fitted
        at these hyperparameters, it is the exact log evidence of Bayesian linear regression.
        It is differentiable in both under autograd (a traced value is checked as a plain one),
        for tuning them by gradient as laplace-torch does; :meth:`tuned` uses MacKay's fixed
        point instead.

        Parameters
        ----------
        prior_std : float or sequence of float (one per leaf), optional
        sigma : float, optional
            Default: the posterior's own.

        Returns
        -------
        float

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.posterior import Laplace
        >>> x = np.linspace(-1, 1, 20)[:, None]; y = 2.0 * x[:, 0]
        >>> post = Laplace([{"w": np.array([[2.0]]), "b": np.zeros(1)}], x, y, sigma=0.1,
        ...                prior_std=1.0)
        >>> bool(post.log_evidence(sigma=0.1) > post.log_evidence(sigma=1.0))
        True
        >>> import autograd
        >>> slope = autograd.grad(lambda s: post.log_evidence(sigma=s))(0.1)
        >>> bool(slope < 0)  # the residuals are zero: a smaller noise explains them better
        True
        """
        # prior_std or sigma traced by autograd (gradient-based tuning, as laplace-torch does):
        # checked on their values, computed with autograd.numpy on the trace
        traced = isbox(prior_std) or isbox(sigma)
        if traced:
            return self._traced_log_evidence(prior_std, sigma)
        ps = self.prior_std if prior_std is None else check_prior_std(prior_std, self._n_leaves)
        sd = self.sigma if sigma is None else check_positive(sigma, "sigma")
        var = sd**2
        alpha_P = (
            np.full(self.n_params, 1.0 / ps**2)
            if np.ndim(ps) == 0
            else 1.0 / np.asarray(ps)[self._group] ** 2
        )
        if np.ndim(ps) == 0 and self._eig is not None:
            logdet = float(np.sum(np.log(self._eig / var + alpha_P[0])))
        elif self.structure == "diagonal":
            logdet = float(np.sum(np.log(self._matrix / var + alpha_P)))
        elif prior_std is None and sigma is None:  # its own precision: the Cholesky factor has it
            logdet = 2.0 * float(np.sum(np.log(np.diag(self._chol))))
        else:
            sign, logdet = np.linalg.slogdet(self._matrix / var + np.diag(alpha_P))
            if sign <= 0:
                raise ValueError("the precision is not positive definite at these hyperparameters")
        m = self._n_targets
        return float(
            -0.5 * self._sse / var
            - m * math.log(sd)
            - 0.5 * m * _LOG_2PI
            - 0.5 * float(np.sum(alpha_P * self._mean**2))
            + 0.5 * float(np.sum(np.log(alpha_P)))
            - 0.5 * logdet
        )

    def _traced_log_evidence(self, prior_std: Any, sigma: Any) -> Any:
        """:meth:`log_evidence` with autograd.numpy, for a traced prior std or sigma."""
        if prior_std is None:
            ps = self.prior_std
        else:
            check_prior_std(getval(prior_std), self._n_leaves)  # the errors of a plain call
            ps = prior_std
        if sigma is None:
            sd = self.sigma
        else:
            check_positive(getval(sigma), "sigma")
            sd = sigma
        var = sd**2
        if np.ndim(getval(ps)) == 0:
            alpha_P = np.ones(self.n_params) / ps**2
        else:
            alpha_P = 1.0 / anp.reshape(ps, (-1,))[self._group] ** 2
        if self.structure == "diagonal":
            logdet = anp.sum(anp.log(self._matrix / var + alpha_P))
        else:
            sign, logdet = anp.linalg.slogdet(self._matrix / var + anp.diag(alpha_P))
            if getval(sign) <= 0:
                raise ValueError("the precision is not positive definite at these hyperparameters")
        m = self._n_targets
        return (
            -0.5 * self._sse / var
            - m * anp.log(sd)
            - 0.5 * m * _LOG_2PI
            - 0.5 * anp.sum(alpha_P * self._mean**2)
            + 0.5 * anp.sum(anp.log(alpha_P))
            - 0.5 * logdet
        )

    def tuned(self, *, prior: bool = True, noise: bool = True) -> Laplace:
        """Return this posterior with the prior std and/or sigma that maximize the evidence.

        The MAP stays where it is (as in laplace-torch's prior-precision optimization); to
        refit the network at the new values too, use :func:`fit_laplace`.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.posterior import Laplace
        >>> x = np.linspace(-1, 1, 50)[:, None]
        >>> y = 2.0 * x[:, 0] + 0.1 * np.random.default_rng(0).normal(size=50)
        >>> post = Laplace([{"w": np.array([[2.0]]), "b": np.zeros(1)}], x, y, sigma=1.0,
        ...                prior_std=1.0).tuned(prior=False)
        >>> round(post.sigma, 2)
        0.1
        """
        ps, sd = evidence_fixed_point(self, tune_prior=prior, tune_noise=noise)
        return Laplace._with(self, sd, ps)

    @property
    def effective_parameters(self) -> float:
        """MacKay's gamma: how many parameter directions the data determine."""
        variances = self._root**2 if self.structure == "diagonal" else np.sum(self._root**2, 1)
        return float(self.n_params - np.sum(self._alpha * variances))

    @property
    def covariance(self) -> np.ndarray:
        """The posterior covariance, (n_params, n_params), or its diagonal (n_params,)."""
        if self.structure == "diagonal":
            return self._root**2
        return self._root @ self._root.T

    # -- the Posterior interface -------------------------------------------------------------------

    def sample(self, n_samples: int, rng: Any = None) -> Any:
        """Return ``n_samples`` parameter sets from the Gaussian, stacked on axis 0.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.posterior import Laplace
        >>> x = np.linspace(-1, 1, 20)[:, None]; y = x[:, 0]
        >>> post = Laplace([{"w": np.ones((1, 1)), "b": np.zeros(1)}], x, y, sigma=0.1,
        ...                prior_std=1.0)
        >>> post.sample(8, rng=0)[0]["w"].shape
        (8, 1, 1)
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        z = as_generator(rng).standard_normal((n_samples, self.n_params))
        delta = z * self._root if self.structure == "diagonal" else z @ self._root.T
        theta = np.repeat(self._theta[None], n_samples, axis=0)
        theta[:, -self.n_params :] += delta
        unflatten = tree.flatten(self.params)[1]
        return tree.stack([unflatten(t) for t in theta])

    def _draw(self, n_samples: int, gen: np.random.Generator) -> tuple[Any, np.ndarray]:
        return self.sample(n_samples, gen), np.full(n_samples, self.sigma)

    def predict(
        self, x: Any, *, method: str = "glm", n_samples: int = 100, rng: Any = None
    ) -> Predictive:
        """Return the predictive distribution at ``x``.

        Parameters
        ----------
        x : ndarray of shape (N, D)
            Inputs.
        method : {"glm", "samples"}, default "glm"
            ``"glm"``: the network linearized at the MAP, mean ``f(x; theta)`` and epistemic
            variance ``J Sigma J^T`` (exact for a linear model). ``"samples"``: the network
            evaluated at ``n_samples`` parameter draws, mean and spread of those outputs.
        n_samples : int, default 100
            Draws for ``method="samples"``.
        rng : numpy.random.Generator, int or None
            Randomness for ``method="samples"``.

        Returns
        -------
        Predictive

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.posterior import Laplace
        >>> x = np.linspace(-1, 1, 20)[:, None]; y = x[:, 0]
        >>> post = Laplace([{"w": np.ones((1, 1)), "b": np.zeros(1)}], x, y, sigma=0.1,
        ...                prior_std=1.0)
        >>> pred = post.predict(np.zeros((1, 1)))
        >>> pred.mean, bool(pred.std[0] > pred.noise_std[0])
        (array([0.]), True)
        """
        method = check_choice(method, "method", ("glm", "samples"))
        if method == "samples":  # autograd.numpy: differentiable when x is traced
            f_K = model.predict(self.sample(n_samples, rng), x, activation=self.activation)
            mean = anp.mean(f_K, axis=0)
            epistemic = anp.std(f_K, axis=0)
        elif isbox(x):
            mean, epistemic = self._traced_glm(x)
        else:
            mean = np.asarray(model.predict(self.params, x, activation=self.activation))
            jac = covered_jacobian(self.params, x, self.activation, self.structure)
            jac = jac[:, -self.n_params :]
            if self.structure == "diagonal":
                var = np.einsum("mp,mp,p->m", jac, jac, self._root**2)
            else:
                white = jac @ self._root
                var = np.einsum("mp,mp->m", white, white)
            epistemic = np.sqrt(var).reshape(mean.shape)
        return Predictive(mean, epistemic, np.full(np.shape(mean), self.sigma))

    def _traced_glm(self, x: Any) -> tuple[Any, Any]:
        """Return the GLM predictive's mean and epistemic std at inputs traced by autograd.

        :func:`tinynn.model.jacobian` follows the trace of x (by ``autograd.jacobian``, one
        backward pass per output), so the mean and the spread are differentiable in x: an
        acquisition function's gradient, say.
        """
        mean = model.predict(self.params, x, activation=self.activation)
        jac = model.jacobian(self.params, x, activation=self.activation)
        jac = anp.reshape(jac, (-1, self._theta.size))[:, -self.n_params :]
        if self.structure == "diagonal":
            var = anp.sum(jac**2 * self._root**2, axis=1)
        else:
            var = anp.sum(anp.dot(jac, self._root) ** 2, axis=1)
        return mean, anp.reshape(anp.sqrt(var), anp.shape(mean))

    def loo_log_density(self, x: Any, y: Any, *, pointwise: bool = False) -> Any:
        """Return the leave-one-out log-likelihood of the training data, without refitting.

        For each training target, ``log p(y_n | x_n, data without n)`` under the linearized
        predictive, the prior std and the noise held at this posterior's values: removing a
        target from a linear-Gaussian model is a rank-one downdate, so the density is exact for
        the linearized model (the PRESS residual ``(y - m) / (1 - h)`` with the leverage
        ``h = epistemic variance / sigma**2``). It estimates the test log-likelihood from the
        training data alone: each target is predicted from all the others, as a test point is
        from the training data. The evidence instead predicts the targets one at a time from
        the prior onward, so its early targets, predicted from little data, weigh in it too.
        :func:`compare_loo` chooses among fits by it.

        Parameters
        ----------
        x : ndarray of shape (N, D)
            The training inputs the posterior was built on.
        y : ndarray of shape (N,) or (N, O)
            The training targets.
        pointwise : bool, default False
            Return one value per target instead of their mean.

        Returns
        -------
        float, or ndarray shaped like ``y`` with ``pointwise=True``

        Raises
        ------
        ValueError
            If the precision is not a Gauss-Newton one (``structure`` "diagonal" or "hessian":
            their leverages need not stay below one), if ``y`` is not shaped like the
            predictive, or if a target's leverage is not below one (then ``x, y`` are not the
            training data).

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.posterior import fit_laplace
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(30, 2))
        >>> y = x @ np.array([1.0, -2.0]) + 0.3 * rng.normal(size=30)
        >>> post = fit_laplace(x, y, ())
        >>> loo = post.loo_log_density(x, y)
        >>> bool(loo < post.log_predictive_density(x, y))  # the in-sample figure flatters
        True
        """
        if self.structure not in ("full", "last_layer"):
            raise ValueError(
                'loo_log_density needs a Gauss-Newton precision (structure "full" or '
                f'"last_layer"), got structure={self.structure!r}'
            )
        pred = self.predict(x)
        terms = gaussian_loo_terms(y, pred.mean, pred.epistemic_std, self.sigma)
        return terms if pointwise else float(np.mean(terms))

    # -- saving ------------------------------------------------------------------------------------

    def _state(self) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        info = {
            "posterior": self.kind,
            "activation": self.activation,
            "structure": self.structure,
            "sigma": self.sigma,
            "prior_std": np.asarray(self.prior_std).tolist(),
            "sse": self._sse,
            "n_targets": self._n_targets,
        }
        return self.params, info, {"curvature": self._matrix}

    @classmethod
    def _from_state(cls, params: Any, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        structure = check_choice(info["structure"], "structure", STRUCTURES)
        matrix = np.asarray(arrays["curvature"], dtype=float)
        n_params = tree.size(params) if structure != "last_layer" else last_layer_size(params)
        want = (n_params,) if structure == "diagonal" else (n_params, n_params)
        if matrix.shape != want:
            raise ValueError(f"the stored curvature has shape {matrix.shape}, expected {want}")
        new = cls.__new__(cls)
        new._setup(
            params,
            matrix,
            float(info["sse"]),
            int(info["n_targets"]),
            float(info["sigma"]),
            info["prior_std"],
            structure,
            str(info["activation"]),
        )
        return new

    def __repr__(self) -> str:
        return (
            f"Laplace(structure={self.structure!r}, n_params={self.n_params}, "
            f"sigma={self.sigma:.4g}, prior_std={np.round(self.prior_std, 4).tolist()})"
        )
