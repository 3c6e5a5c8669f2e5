"""Fit a network and its Laplace posterior with evidence-tuned prior and noise (private).

:func:`fit_laplace` alternates two steps: fit the MAP network at the current prior std and
sigma, then propose the maximum of the Laplace evidence at that MAP (MacKay's fixed point) for
the next round; it keeps the round whose evidence is highest. For a linear model the MAP step
is exact and the rounds land on the exact maximizers of Bayesian linear regression's evidence.
:class:`PriorObjective` gives the MAP fits their per-leaf prior in both of ``minimize``'s
protocols.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np

from tinynn import losses, model, optim, params, tree
from tinynn._checks import (
    as_float_array,
    check_choice,
    check_int,
    check_positive,
    column_mean_scale,
    constant_targets,
    describe_constant,
)
from tinynn.posterior._laplace import STRUCTURES, Laplace, check_prior_std, evidence_fixed_point


def check_data(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x`` as (N, D) and ``y`` as (N,) or (N, O), checked against each other."""
    x_arr = as_float_array(x, "x", ndims=(1, 2))
    y_arr = as_float_array(y, "y", ndims=(1, 2))
    x_ND = x_arr.reshape(-1, 1) if x_arr.ndim == 1 else x_arr
    if x_ND.shape[0] != y_arr.shape[0]:
        raise ValueError(
            f"x and y must have the same number of examples, got x {x_arr.shape} and "
            f"y {y_arr.shape}"
        )
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        raise ValueError(f"y must have shape ({len(y_arr)},) for one output, got {y_arr.shape}")
    if len(y_arr) == 0:
        raise ValueError("x and y must hold at least one example, got 0")
    _, spread = column_mean_scale(y_arr.reshape(len(y_arr), -1))
    peak = float(np.max(np.abs(y_arr)))
    if peak > MAX_SCALE or (np.any(spread != 1.0) and float(np.min(spread)) < 1.0 / MAX_SCALE):
        raise ValueError(
            f"y spans magnitudes up to {peak:.3g} with spread {float(np.min(spread)):.3g}: the "
            f"Laplace evidence works in y's own units, whose squares must stay within float64 "
            f"(1/{MAX_SCALE:.0e} to {MAX_SCALE:.0e}); standardize y first, as Regressor does"
        )
    return x_ND, y_arr


MAX_SCALE = 1e150  # y's magnitude and spread must lie within [1 / MAX_SCALE, MAX_SCALE]


def initial_params(x_ND: np.ndarray, y: np.ndarray, hidden_sizes: Any, init: Any, rng: Any) -> Any:
    """Return ``init`` or fresh parameters for a network from D inputs to y's outputs."""
    if init is not None:
        return init
    n_out = 1 if y.ndim == 1 else y.shape[1]
    if isinstance(hidden_sizes, int) or hidden_sizes is None:
        raise TypeError(
            f"hidden_sizes must be a sequence of ints such as (50,), got {hidden_sizes!r}"
        )
    return params.make_params(x_ND.shape[1], list(hidden_sizes), n_out, rng=rng)


def leaf_precisions(net: Any, prior_std: Any) -> list[float]:
    """Return ``1 / prior_std**2`` for each leaf of ``net`` (one shared std or one per leaf)."""
    n_leaves = len(tree.leaves(net))
    stds = np.broadcast_to(np.asarray(prior_std, dtype=float), (n_leaves,))
    return [float(v) for v in 1.0 / stds**2]


def with_prior(value_and_grad: Any, precisions: list[float], centre: Any = None) -> Any:
    """Add the Gaussian prior ``sum_l precision_l |theta_l - centre_l|**2 / 2`` to an objective.

    Works for one network or for stacked members (then ``centre`` holds one centre each and
    the value is summed over members).
    """

    def total(net: Any) -> tuple[float, Any]:
        values, grads = value_and_grad(net)
        offset = net if centre is None else tree.sub(net, centre)
        leaves = tree.leaves(offset)
        prior = sum(0.5 * a * float(np.vdot(v, v)) for a, v in zip(precisions, leaves, strict=True))
        scales = iter(precisions)  # tree.map visits leaves in tree.leaves' order
        total_grads = tree.map(lambda g, v: g + next(scales) * v, grads, offset)
        return float(np.sum(values)) + prior, total_grads

    return total


def map_fit(
    x_ND: np.ndarray,
    y: np.ndarray,
    start: Any,
    sigma: float,
    prior_std: Any,
    activation: str,
    n_iters: int,
    tol: float | None = None,
) -> tuple[Any, optim.OptimizeResult | None, str]:
    """Return the MAP network from ``start``, the optimizer's result and name.

    The fit stops when the objective changes by less than a fraction ``tol`` (None:
    ``RELATIVE_TOL``) in one iteration. Exact (no result, name "exact") for a network without
    hidden layer.
    """
    precisions = leaf_precisions(start, prior_std)
    if len(start) == 1:  # linear in its parameters: f = J theta, so the MAP solves a linear system
        _, unflatten = tree.flatten(start)
        jac = np.asarray(model.jacobian(start, x_ND, activation=activation))
        jac = jac.reshape(-1, jac.shape[-1])
        sizes = [int(np.size(leaf)) for leaf in tree.leaves(start)]
        alpha_P = np.repeat(precisions, sizes)
        lhs = jac.T @ jac / sigma**2 + np.diag(alpha_P)
        return unflatten(np.linalg.solve(lhs, jac.T @ y.ravel() / sigma**2)), None, "exact"
    loss = losses.make_objective(x_ND, y, sigma=sigma, activation=activation)
    objective = PriorObjective(loss, precisions)
    n_params = tree.size(start)
    newton = y.size * n_params**2 <= NEWTON_MAX_WORK and objective.flat(start) is not None
    # The exact Hessian where its term in the residuals matters (noise at least a tenth of y's
    # spread: the fit leaves residuals that large), the solve is of the parameters' size anyway
    # (at least as many targets as parameters) and one hidden layer gives it. On data with
    # little noise the Hessian is mostly indefinite and Gauss-Newton's steps do as well.
    noisy = sigma >= HESSIAN_MIN_NOISE * float(np.std(y))
    exact = newton and noisy and len(start) == 2 and y.size >= n_params
    opt = optim.levenberg_marquardt(hessian=exact) if newton else first_order_optimizer(n_iters)
    result = optim.minimize(
        objective, start, optimizer=opt, n_iters=n_iters, tol=RELATIVE_TOL if tol is None else tol
    )
    name = "levenberg_marquardt" if newton else "lbfgs" if isinstance(opt, optim.LBFGS) else "adam"
    return result.params, result, name


AUTO_FULL_MAX = 4096  # parameters up to which structure="auto" is the full Gauss-Newton matrix
RELATIVE_TOL = 1e-6  # the MAP fit has converged when the objective changes by less than this
# While the evidence still moves sigma by more than SETTLED_FACTOR * tol, a round's MAP fit stops
# at this looser tolerance: its hyperparameters are about to change, so polishing it is wasted
ROUGH_TOL = 1e-4
SETTLED_FACTOR = 10.0
NEWTON_MAX_WORK = 5e8  # Levenberg-Marquardt when N * O * P**2 is at most this (as the Regressor)
HESSIAN_MIN_NOISE = 0.1  # the MAP fit's exact Hessian needs sigma >= this fraction of y's std


class PriorObjective:
    """A prior-free objective plus a zero-mean Gaussian prior with one precision per leaf.

    It speaks both protocols :func:`tinynn.optim.minimize` knows: ``value_and_grad`` on trees,
    and ``flat(params)`` for Levenberg-Marquardt and L-BFGS on flat vectors, whose
    Gauss-Newton matrix gains the prior's precisions on its diagonal.
    """

    def __init__(self, loss: Any, precisions: list[float]) -> None:
        self._loss = loss
        self._precisions = precisions
        self.value_and_grad = with_prior(loss.value_and_grad, precisions)

    def __call__(self, net: Any) -> float:
        return self.value_and_grad(net)[0]

    def flat(self, net: Any) -> Any:
        inner = self._loss.flat(net)
        if inner is None:
            return None
        sizes = [int(np.size(leaf)) for leaf in tree.leaves(net)]
        return _FlatWithPrior(inner, np.repeat(self._precisions, sizes))


class _FlatWithPrior:
    """The flat protocol of :class:`PriorObjective` (see :class:`tinynn.losses.FlatObjective`)."""

    def __init__(self, inner: Any, alpha_P: np.ndarray) -> None:
        self._inner = inner
        self._alpha = alpha_P
        self.size = inner.size
        self.unflatten = inner.unflatten

    def _prior(self, theta_P: np.ndarray) -> float:
        return 0.5 * float(np.add.reduce(self._alpha * theta_P * theta_P))

    def value(self, theta_P: np.ndarray) -> float:
        return float(self._inner.value(theta_P)) + self._prior(theta_P)

    def value_and_grad(self, theta_P: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad_P = self._inner.value_and_grad(theta_P)
        return value + self._prior(theta_P), grad_P + self._alpha * theta_P

    def gauss_newton_factors(
        self, theta_P: np.ndarray
    ) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        value, grad_P, (j_MP, d_P) = self._inner.gauss_newton_factors(theta_P)
        total = value + self._prior(theta_P)
        return total, grad_P + self._alpha * theta_P, (j_MP, d_P + self._alpha)

    def newton_system(
        self, theta_P: np.ndarray
    ) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        value, grad_P, matrices = self._inner.newton_system(theta_P)
        for matrix_PP in matrices:
            matrix_PP.flat[:: len(matrix_PP) + 1] += self._alpha
        return value + self._prior(theta_P), grad_P + self._alpha * theta_P, matrices


def first_order_optimizer(n_iters: int) -> Any:
    """Return L-BFGS when scipy is installed, else Adam with a cosine-decayed step."""
    try:
        import scipy.optimize  # noqa: F401
    except ImportError:
        return optim.adam(optim.cosine_decay(0.01, n_iters, 1e-4))
    return optim.lbfgs()


def fit_laplace(
    x: Any,
    y: Any,
    hidden_sizes: Any = (50,),
    *,
    activation: str = "tanh",
    prior_std: Any = None,
    sigma: float | None = None,
    prior_groups: str = "leaf",
    structure: str = "auto",
    n_iters: int = 300,
    max_rounds: int = 20,
    tol: float = 1e-2,
    init: Any = None,
    rng: Any = None,
) -> Laplace:
    """Fit a network by MAP and return its Laplace posterior, prior and noise set by evidence.

    Each round fits the MAP network at the current prior std and sigma, from the previous
    round's parameters, and computes the Laplace evidence there. The fit runs for at most
    ``n_iters`` iterations or until the objective changes by less than a fraction 1e-6 in one
    iteration (1e-4 while the evidence still moves sigma by more than ``10 * tol``: those
    rounds' hyperparameters are about to change, so polishing their fits buys nothing):
    Levenberg-Marquardt when its dense solve is cheap (N O P**2 at most 5e8, as the Regressor
    decides), with the exact Hessian for one hidden layer, at least as many targets as
    parameters and a sigma of at least a tenth of y's std (there the residuals stay large and
    Gauss-Newton's steps crawl), else L-BFGS, or Adam without scipy; without hidden layer, the
    exact solution.
    Then MacKay's fixed point, with that MAP held fixed, proposes the prior std and sigma
    (those left as None) for the next round. The rounds stop when, after a round fitted to
    1e-6, the proposal moves sigma by at most ``tol`` (relative) and the round gained at most
    ``tol`` log evidence per target, or as soon as the evidence falls: the round with the
    highest evidence is returned, fitted to 1e-6 (refined first if it was a rough round), so
    its network is the MAP of its own hyperparameters. For a linear model every proposal
    raises the evidence and the rounds converge to its exact maximizers.
    The noise is never learned by the likelihood alone, so it cannot shrink to zero as the
    network interpolates.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Training inputs (standardize them first for a network).
    y : ndarray of shape (N,) or (N, O)
        Training targets.
    hidden_sizes : sequence of int, default (50,)
        Hidden layer widths; ``()`` is Bayesian linear regression.
    activation : str, default "tanh"
    prior_std : float, sequence of float (one per leaf) or None, default None
        Fixed prior std(s); None tunes them by the evidence.
    sigma : float or None, default None
        Fixed noise std; None tunes it by the evidence, which needs targets that vary (on
        one value repeated it rises without bound as sigma shrinks: a ValueError says so).
    prior_groups : {"leaf", "shared"}, default "leaf"
        With ``prior_std=None``: tune one prior std per leaf (each layer's weights and its
        biases, MacKay's grouping), or one for all parameters. Per-leaf stds let the input
        weights, whose scale sets how wiggly the function is, shrink apart from the output
        weights; on small real data this is what keeps the evidence from picking a prior that
        interpolates.
    structure : {"auto", "full", "diagonal", "last_layer", "hessian"}, default "auto"
        The posterior precision (see :class:`Laplace`). ``"auto"`` is ``"full"`` up to
        4096 parameters (a 128 MiB matrix) and ``"last_layer"`` beyond, so that a wide
        network never asks for a dense matrix of all its parameters.
    n_iters : int, default 300
        Iterations of the MAP fit per round, at most (see above for which optimizer).
    max_rounds : int, default 20
        Rounds of fit-then-tune at most; a :class:`tinynn.optim.ConvergenceWarning` says when
        they ran out before the hyperparameters settled.
    tol : float, default 1e-2
        Relative change of sigma (and gain of log evidence per target) that ends the rounds.
    init : list of dict, optional
        Starting parameters; default ``make_params`` with ``rng``.
    rng : numpy.random.Generator, int or None
        Randomness of the starting parameters.

    Returns
    -------
    Laplace
        The best round's (the best so far when Ctrl-C interrupts a fit or the tuning between
        rounds; its ``result`` then says ``reason == "interrupted"``; a Ctrl-C before the first
        round's posterior exists raises KeyboardInterrupt), with attributes ``rounds`` (list
        of dicts: ``prior_std``, ``sigma``, ``log_evidence`` and the MAP fit's ``losses`` of
        each round), ``best_round`` (its index there), ``result`` (its
        :class:`tinynn.optim.OptimizeResult`; None without hidden layer) and ``optimizer``.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import fit_laplace
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(40, 1)); y = 3.0 * x[:, 0] + 0.2 * rng.normal(size=40)
    >>> post = fit_laplace(x, y, hidden_sizes=())
    >>> round(post.sigma, 2), round(float(post.params[0]["w"][0, 0]), 2)
    (0.2, 3.0)
    """
    x_ND, y_arr = check_data(x, y)
    check_choice(structure, "structure", ("auto", *STRUCTURES))
    if len(x_ND) < 2:
        raise ValueError(
            f"fit_laplace needs at least 2 examples to set the noise, got n_samples={len(x_ND)}"
        )
    if sigma is None and constant_targets(y_arr):
        raise ValueError(
            f"y is constant ({describe_constant(y_arr)}): the evidence rises without bound as "
            "sigma shrinks to 0, so sigma=None cannot set the noise; pass a fixed sigma"
        )
    check_choice(prior_groups, "prior_groups", ("leaf", "shared"))
    n_iters = check_int(n_iters, "n_iters", minimum=1)
    max_rounds = check_int(max_rounds, "max_rounds", minimum=1)
    tol = check_positive(tol, "tol")
    net = initial_params(x_ND, y_arr, hidden_sizes, init, rng)
    n_leaves = len(tree.leaves(net))
    if structure == "auto":
        structure = "full" if tree.size(net) <= AUTO_FULL_MAX else "last_layer"
    if prior_std is None:
        ps: Any = 1.0 if prior_groups == "shared" or n_leaves == 1 else np.ones(n_leaves)
    else:
        ps = check_prior_std(prior_std, n_leaves)
    spread = float(np.std(y_arr))
    sd = (0.5 * spread if spread > 0 else 1.0) if sigma is None else check_positive(sigma, "sigma")
    tune = prior_std is None or sigma is None
    rounds: list[dict[str, Any]] = []
    best: Laplace | None = None
    best_result = None
    best_round = 0
    change = math.inf
    interrupted = None
    rough = tune  # while the hyperparameters still move, each round's fit stops at ROUGH_TOL
    best_rough = False
    for _ in range(max_rounds):
        fit_tol = ROUGH_TOL if rough else RELATIVE_TOL
        net, result, method = map_fit(x_ND, y_arr, net, sd, ps, activation, n_iters, fit_tol)
        if result is not None and result.reason == "interrupted" and best is not None:
            interrupted = result  # Ctrl-C: hand back the best round so far
            break
        try:
            post = Laplace(
                net, x_ND, y_arr, sigma=sd, prior_std=ps, structure=structure, activation=activation
            )
            evidence = post.log_evidence()  # at the MAP of these very hyperparameters
            losses_curve = [] if result is None else list(result.history.losses)
            rounds.append(
                {"prior_std": ps, "sigma": sd, "log_evidence": evidence, "losses": losses_curve}
            )
            if best is not None and evidence < rounds[-2]["log_evidence"]:
                change = 0.0  # the evidence fell: the previous round was the best we will find
                break
            gain = (evidence - rounds[-2]["log_evidence"]) / y_arr.size if best else math.inf
            best, best_result, best_round = post, result, len(rounds) - 1
            best_rough = rough and result is not None
            if result is not None and result.reason == "interrupted":
                interrupted = result  # Ctrl-C in the first round: its partial fit is all there is
                break
            if not tune:
                break
            # the evidence's maximizers at this MAP (Laplace.tuned without building its result)
            new_ps, new_sd = evidence_fixed_point(
                post, tune_prior=prior_std is None, tune_noise=sigma is None
            )
            change = max(abs(new_sd / sd - 1.0), gain)
            if change <= tol and not rough:
                break
            ps, sd = new_ps, new_sd
            rough = change > SETTLED_FACTOR * tol  # settled: fit the next rounds in full
        except KeyboardInterrupt:  # while building the posterior or tuning: between rounds
            if best_result is None:  # nothing fitted in full to hand back
                raise
            interrupted = dataclasses.replace(
                best_result,
                reason="interrupted",
                message="interrupted by KeyboardInterrupt between rounds; returning the best "
                "round so far",
            )
            break
    else:
        warnings.warn(
            LaplaceFitWarning(
                f"fit_laplace: sigma or the evidence still moved by {change:.2g} (relative) "
                f"after max_rounds={max_rounds} rounds; raise max_rounds or tol",
                moved=[change],
                max_rounds=max_rounds,
            ),
            stacklevel=2,
        )
    if best is not None and best_rough and interrupted is None:
        best, best_result, interrupted = _polish(
            best, best_result, rounds[best_round], x_ND, y_arr, n_iters
        )
    chosen = post if best is None else best  # the first round always sets best
    chosen.rounds = rounds
    chosen.best_round = best_round
    chosen.result = best_result if interrupted is None else interrupted
    chosen.optimizer = method
    if best_result is not None and best_result.reason == "completed" and interrupted is None:
        warnings.warn(
            LaplaceFitWarning(
                f"fit_laplace: the MAP fit stopped at n_iters={n_iters} before converging (its "
                f"objective still changed by more than a fraction {RELATIVE_TOL:g} per "
                "iteration); raise n_iters",
                n_cut=1,
                n_iters=n_iters,
            ),
            stacklevel=2,
        )
    return chosen


class LaplaceFitWarning(optim.ConvergenceWarning):
    """A ConvergenceWarning of :func:`fit_laplace` that counts the fits it speaks for.

    ``n_cut`` MAP fits stopped at ``n_iters`` unconverged; in ``len(moved)`` fits the rounds
    of evidence tuning ran out (``max_rounds``) while sigma or the evidence still moved by
    ``moved`` (relative). Functions that run many fits say each kind once with the counts
    added up (:func:`repeat_fit_warnings`), and the Regressor reads them to say it in its own
    terms.
    """

    def __init__(
        self,
        message: str,
        *,
        n_cut: int = 0,
        n_iters: int = 0,
        moved: list[float] | None = None,
        max_rounds: int = 0,
    ) -> None:
        super().__init__(message)
        self.n_cut = n_cut
        self.n_iters = n_iters
        self.moved = [] if moved is None else moved
        self.max_rounds = max_rounds


def repeat_fit_warnings(
    caught: list[warnings.WarningMessage],
    owner: str,
    stacklevel: int,
    what: str | None = None,
    advice: tuple[str, str] = ("raise n_iters", "raise max_rounds or tol"),
) -> None:
    """Warn again what Laplace fits warned, each kind once in ``owner``'s name, counts added.

    ``what`` names the fits (default: how many Laplace fits) and ``advice`` ends the two
    kinds' messages (fits cut at ``n_iters``, rounds run out); other warnings are repeated
    once each. ``stacklevel`` counts from the caller of this function, as for
    ``warnings.warn``.
    """
    n_cut, n_iters, moved, max_rounds = 0, 0, [], 0
    others: dict[tuple[str, type[Warning]], None] = {}  # in order, each once
    for caught_warning in caught:
        found = caught_warning.message
        if isinstance(found, LaplaceFitWarning):
            n_cut += found.n_cut
            n_iters = found.n_iters or n_iters
            moved += found.moved
            max_rounds = found.max_rounds or max_rounds
        else:
            others.setdefault((str(found), caught_warning.category), None)

    def fits(count: int) -> str:
        return what or ("1 Laplace fit" if count == 1 else f"{count} Laplace fits")

    level = stacklevel + 1
    if n_cut:
        warnings.warn(
            LaplaceFitWarning(
                f"{owner}: {fits(n_cut)} stopped at n_iters={n_iters} before converging (the "
                f"objective still changed by more than a fraction {RELATIVE_TOL:g} per "
                f"iteration); {advice[0]}",
                n_cut=n_cut,
                n_iters=n_iters,
            ),
            stacklevel=level,
        )
    if moved:
        warnings.warn(
            LaplaceFitWarning(
                f"{owner}: in {fits(len(moved))} sigma or the evidence still moved by up to "
                f"{max(moved):.2g} (relative) after max_rounds={max_rounds} rounds; {advice[1]}",
                moved=moved,
                max_rounds=max_rounds,
            ),
            stacklevel=level,
        )
    for message, category in others:
        warnings.warn(message, category, stacklevel=level)


def _polish(
    best: Laplace,
    best_result: Any,
    entry: dict[str, Any],
    x_ND: np.ndarray,
    y: np.ndarray,
    n_iters: int,
) -> tuple[Laplace, Any, Any]:
    """Fit the chosen round's MAP to ``RELATIVE_TOL`` when its round stopped at ``ROUGH_TOL``.

    Return the polished posterior, its fit's result and None; or, after a Ctrl-C, the rough
    round as it was and the result that says so. ``entry`` (the round's record) gains the
    polish's losses and the polished evidence.
    """
    try:
        net, result, _ = map_fit(
            x_ND,
            y,
            best.params,
            best.sigma,
            best.prior_std,
            best.activation,
            n_iters,
            RELATIVE_TOL,
        )
        if result is None or result.reason != "interrupted":
            post = Laplace(
                net,
                x_ND,
                y,
                sigma=best.sigma,
                prior_std=best.prior_std,
                structure=best.structure,
                activation=best.activation,
            )
            entry["log_evidence"] = post.log_evidence()
            if result is not None:
                entry["losses"] = entry["losses"] + list(result.history.losses)
            return post, result, None
    except KeyboardInterrupt:
        pass
    interrupted = dataclasses.replace(
        best_result,
        reason="interrupted",
        message="interrupted by KeyboardInterrupt while refining the chosen round's fit; "
        "returning that round as it was",
    )
    return best, best_result, interrupted


def laplace_start(
    x_ND: np.ndarray,
    y: np.ndarray,
    hidden_sizes: Any,
    activation: str,
    prior_std: Any,
    sigma: Any,
    gen: np.random.Generator,
    owner: str,
    stacklevel: int = 2,
) -> Laplace:
    """Return :func:`fit_laplace`'s posterior, the start (and the prior and noise) of a sampler.

    Its warnings are said in the name of ``owner``, the public function, whose user sets
    neither this fit's ``n_iters`` nor its ``max_rounds``; they point ``stacklevel`` frames
    up from the caller of this function (2: the caller's caller). A Ctrl-C during the fit
    raises KeyboardInterrupt: nothing of the sampler exists to hand back.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = fit_laplace(
            x_ND, y, hidden_sizes, activation=activation, prior_std=prior_std, sigma=sigma, rng=gen
        )
    advice = (
        "it starts from where that fit stopped",
        "pass prior_std and sigma to fix them",
    )
    repeat_fit_warnings(caught, owner, stacklevel + 1, "its starting Laplace fit", advice)
    if start.result is not None and start.result.reason == "interrupted":
        raise KeyboardInterrupt
    return start
