"""Mean-field Gaussian variational inference, Bayes by backprop (private to tinynn.posterior).

The variational family is a Gaussian with a diagonal covariance: two trees shaped like the
network, the means and the log standard deviations (so the stds stay positive). The objective
is the negative ELBO,

    E_q[-log p(y | x, theta)] + KL(q || prior),

the first term estimated with K reparameterized draws ``theta_k = mean + std * eps_k``, all K
networks evaluated in one batched pass through the sample axis; the KL to the zero-mean
Gaussian prior is exact. Its gradient flows through the draws (Blundell et al. 2015), and any
first-order optimizer of :mod:`tinynn.optim` minimizes it through ``minimize``.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from tinynn import losses, optim, tree
from tinynn._checks import as_generator, check_choice, check_int
from tinynn.posterior._fit import check_data, laplace_start, leaf_precisions
from tinynn.posterior._mean_field import MeanField

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _check_average(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"average must be a float in [0, 1), got {value!r}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"average must be in [0, 1), got {value!r}")
    return float(value)


class _Averager:
    """A minimize callback keeping the running mean of the iterates from ``start`` on."""

    def __init__(self, start: int) -> None:
        self.start, self.count, self.total = start, 0, None

    def __call__(self, info: Any) -> None:
        if info.iteration < self.start:
            return
        self.count += 1
        if self.total is None:
            self.total = tree.copy(info.params)
        else:
            self.total = tree.add(self.total, info.params)

    def mean(self) -> Any:
        return tree.scale(1.0 / self.count, self.total)


class NegativeELBO:
    """The K-draw negative ELBO of a mean-field Gaussian, built by :func:`negative_elbo`.

    Read it like an objective of :func:`tinynn.losses.make_objective`: calling it returns the
    value at ``q = {'mean': params, 'log_std': params}``, :meth:`value_and_grad` the value and
    its gradient (what :func:`tinynn.optim.minimize` uses), and :meth:`batch_value_and_grad`
    the same from a minibatch of rows, the expected negative log-likelihood scaled by N / B
    (``minimize(..., batch_size=B)`` uses it). Every evaluation draws K fresh networks.

    Attributes
    ----------
    n_examples : int
        N, the number of rows.
    n_samples : int
        K, the draws per estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.optim import adam, minimize
    >>> from tinynn.posterior import negative_elbo
    >>> x = np.linspace(-1, 1, 40)[:, None]; y = 2.0 * x[:, 0]
    >>> elbo = negative_elbo(x, y, sigma=0.1, prior_std=1.0, n_samples=4, rng=0)
    >>> q = {"mean": [{"w": np.zeros((1, 1)), "b": np.zeros(1)}],
    ...      "log_std": [{"w": np.full((1, 1), -3.0), "b": np.full(1, -3.0)}]}
    >>> result = minimize(elbo, q, optimizer=adam(0.05), n_iters=300, batch_size=10)
    >>> elbo.n_examples, round(float(result.params["mean"][0]["w"][0, 0]), 1)
    (40, 2.0)
    """

    def __init__(
        self,
        nll: Any,
        prior_std: Any,
        n_samples: int,
        gen: np.random.Generator,
        learn_sigma: bool = False,
    ) -> None:
        self._nll = nll  # with a learned sigma: half the sum of squares (unit noise)
        self._prior_std = prior_std
        self._precisions: list[float] = []
        self._gen = gen
        self._learn_sigma = learn_sigma
        self._n_values = nll.y.size  # N O: the terms of the likelihood
        self.n_samples = n_samples
        self.n_examples = nll.n_examples

    def __call__(self, q: dict[str, Any]) -> float:
        return self.value_and_grad(q)[0]

    def value_and_grad(self, q: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """Return an estimate of the negative ELBO at ``q`` and of its gradient."""
        return self._estimate(q, self._nll.value_and_grad)

    def batch_value_and_grad(self, q: dict[str, Any], index: Any) -> tuple[float, dict[str, Any]]:
        """Return the estimate from the rows ``index`` (their likelihood scaled by N / B).

        Parameters
        ----------
        q : dict
            ``{'mean': params, 'log_std': params}``.
        index : ndarray of int, shape (B,)
            Rows of the data, each in ``[0, N)``.

        Returns
        -------
        value : float
        grads : dict
            Shaped like ``q``.
        """
        return self._estimate(q, lambda draws: self._nll.batch_value_and_grad(draws, index))

    def _estimate(self, q: dict[str, Any], evaluate: Any) -> tuple[float, dict[str, Any]]:
        mean, log_std = q["mean"], q["log_std"]
        if not self._precisions:
            self._precisions.extend(leaf_precisions(mean, self._prior_std))
        std = tree.map(np.exp, log_std)
        means, stds = tree.leaves(mean), tree.leaves(std)
        eps = [_noise(self._gen, self.n_samples, np.shape(m)) for m in means]
        draws = _like(mean, [m + s * e for m, s, e in zip(means, stds, eps, strict=True)])
        values, grads = evaluate(draws)
        expected_nll = float(np.mean(values))
        g_leaves = tree.leaves(grads)
        grad_log_sigma = None
        if self._learn_sigma:  # E[NLL] = exp(-2 s) E[sum r**2 / 2] + N O (s + log(2 pi) / 2)
            log_sigma = float(np.asarray(q["log_sigma"], dtype=np.float64)[0])
            inv_var = math.exp(-2.0 * log_sigma)
            grad_log_sigma = np.array([-2.0 * inv_var * expected_nll + self._n_values])
            expected_nll = inv_var * expected_nll + self._n_values * (log_sigma + HALF_LOG_2PI)
            g_leaves = [inv_var * g for g in g_leaves]
        grad_mean = _like(mean, [np.mean(g, axis=0) for g in g_leaves])
        grad_log_std = _like(
            mean,
            [np.mean(g * e, axis=0) * s for g, e, s in zip(g_leaves, eps, stds, strict=True)],
        )
        kl, kl_mean, kl_log_std = _gaussian_kl(mean, std, self._precisions)
        parts = {
            "mean": tree.add(grad_mean, kl_mean),
            "log_std": tree.add(grad_log_std, kl_log_std),
            "log_sigma": grad_log_sigma,
        }
        return expected_nll + kl, {key: parts[key] for key in q}


def negative_elbo(
    x: Any,
    y: Any,
    *,
    sigma: float | str,
    prior_std: Any,
    activation: str = "tanh",
    n_samples: int = 8,
    rng: Any = None,
) -> NegativeELBO:
    """Return the K-draw negative ELBO of a mean-field Gaussian, the objective of :func:`fit_vi`.

    ``q = {'mean': params, 'log_std': params}`` holds the variational means and log stds, two
    trees shaped like the network. Each evaluation draws K fresh reparameterized networks (in
    antithetic pairs) from ``rng``, so the value and gradient are unbiased estimates of the
    expected negative log-likelihood plus the exact KL divergence to the prior; on a minibatch
    of B rows the expected negative log-likelihood is scaled by N / B.

    Parameters
    ----------
    x : ndarray of shape (N, D)
    y : ndarray of shape (N,) or (N, O)
    sigma : float or "learn"
        The noise std; ``"learn"`` makes one shared ``log sigma`` a parameter, trained with
        the variational ones by maximizing the ELBO (``q['log_sigma']``, shape (1,): a point
        estimate, type-II maximum likelihood).
    prior_std : float or sequence of float (one per leaf)
        The zero-mean Gaussian prior's std.
    activation : str, default "tanh"
    n_samples : int, default 8
        K, evaluated in one batched pass.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    NegativeELBO
        ``elbo(q)`` is the value, ``elbo.value_and_grad(q)`` the value and
        ``{'mean': grads, 'log_std': grads}``, ``elbo.batch_value_and_grad(q, rows)`` the
        estimate from a minibatch; pass it to :func:`tinynn.optim.minimize` as the loss.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import negative_elbo
    >>> x = np.linspace(-1, 1, 20)[:, None]; y = 2.0 * x[:, 0]
    >>> elbo = negative_elbo(x, y, sigma=0.1, prior_std=1.0, rng=0)
    >>> q = {"mean": [{"w": np.array([[2.0]]), "b": np.zeros(1)}],
    ...      "log_std": [{"w": np.full((1, 1), -3.0), "b": np.full(1, -3.0)}]}
    >>> value, grads = elbo.value_and_grad(q)
    >>> sorted(grads), grads["mean"][0]["w"].shape
    (['log_std', 'mean'], (1, 1))
    >>> value_B, _ = elbo.batch_value_and_grad(q, np.arange(5))  # 5 rows, scaled by 20 / 5
    """
    x_ND, y_arr = check_data(x, y)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    if isinstance(sigma, str):
        check_choice(sigma, "sigma", ("learn",))
        nll = losses.make_objective(x_ND, y_arr, activation=activation, form="notebook")
        return NegativeELBO(nll, prior_std, n_samples, as_generator(rng), learn_sigma=True)
    nll = losses.make_objective(x_ND, y_arr, sigma=sigma, activation=activation)
    return NegativeELBO(nll, prior_std, n_samples, as_generator(rng))


def _noise(gen: np.random.Generator, n_samples: int, shape: tuple[int, ...]) -> np.ndarray:
    """Return K standard normal draws in antithetic pairs (eps, -eps), one more if K is odd.

    The pairs cancel the odd part of the estimate's noise: for a quadratic log likelihood the
    mean's gradient comes out exact.
    """
    half = gen.standard_normal((n_samples // 2, *shape))
    extra = gen.standard_normal((n_samples % 2, *shape))
    return np.concatenate([half, -half, extra])


def _gaussian_kl(mean: Any, std: Any, precisions: list[float]) -> tuple[float, Any, Any]:
    """Return KL(N(mean, std**2) || N(0, 1 / precision)) summed, and its gradients.

    Per scalar: ``(a (std**2 + mean**2) - 1 - log(a std**2)) / 2`` with ``a`` the precision;
    its derivatives are ``a mean`` in the mean and ``a std**2 - 1`` in the log std.
    """
    a_iter = iter(precisions)
    total = 0.0
    grads_mean, grads_log_std = [], []
    for m, s in zip(tree.leaves(mean), tree.leaves(std), strict=True):
        a = next(a_iter)
        var = s * s
        total += 0.5 * float(np.sum(a * (var + m * m) - 1.0 - np.log(a * var)))
        grads_mean.append(a * m)
        grads_log_std.append(a * var - 1.0)
    return total, _like(mean, grads_mean), _like(mean, grads_log_std)


def _like(template: Any, leaf_list: list[Any]) -> Any:
    """Return a tree of ``template``'s structure holding ``leaf_list`` (in tree.leaves order)."""
    values = iter(leaf_list)
    return tree.map(lambda _leaf: next(values), template)


def fit_vi(
    x: Any,
    y: Any,
    hidden_sizes: Any = (50,),
    *,
    n_samples: int = 8,
    n_iters: int = 2000,
    optimizer: Any = None,
    activation: str = "tanh",
    prior_std: Any = None,
    sigma: float | str | None = None,
    init: MeanField | None = None,
    average: float = 0.0,
    batch_size: int | None = None,
    rng: Any = None,
) -> MeanField:
    """Fit a mean-field Gaussian posterior by maximizing the ELBO (Bayes by backprop).

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Training inputs.
    y : ndarray of shape (N,) or (N, O)
        Training targets.
    hidden_sizes : sequence of int, default (50,)
        Hidden layer widths; ``()`` is Bayesian linear regression.
    n_samples : int, default 8
        K, the reparameterized draws per ELBO estimate, evaluated in one batched pass.
    n_iters : int, default 2000
        Optimizer iterations.
    optimizer : Optimizer, optional
        Any first-order optimizer of :mod:`tinynn.optim`; default Adam with a step decaying
        from 0.01 to 1e-4 along a cosine, so the noise of the estimates averages out at the end.
    activation : str, default "tanh"
    prior_std : float, sequence of float (one per leaf) or None, default None
        The Gaussian prior's std; None takes the Laplace evidence's (per leaf).
    sigma : float, "learn" or None, default None
        The noise std, fixed; None takes the Laplace evidence's. ``"learn"`` starts from the
        evidence's (or ``init``'s) and trains ``log sigma`` with the variational parameters,
        maximizing the ELBO (a point estimate); the answer's ``sigma`` is where it ended.
    init : MeanField, optional
        Where to start (e.g. an earlier fit, to continue it); by default the means start at
        the Laplace MAP and every std at 1% of its leaf's prior std.
    average : float in [0, 1), default 0.0
        Fraction of the last iterations whose iterates are averaged into the answer
        (Polyak-Ruppert averaging, as scikit-learn's SGD ``average``): with a constant step the
        noise of the estimates averages out, for answers finer than the last iterate's.
    batch_size : int or None, default None
        Estimate the expected negative log-likelihood on shuffled minibatches of this many
        rows, scaled by N / B (``minimize(..., batch_size=B)``); ``n_iters`` still counts
        steps. None: every step reads all rows. The Laplace start (when ``init`` is not
        given) still reads all rows.
    rng : numpy.random.Generator, int or None
        Randomness of the Laplace fit, the draws and the shuffles.

    Returns
    -------
    MeanField
        With ``result`` (the :class:`tinynn.optim.OptimizeResult`; ``result.history.losses``
        is the ELBO curve, negated) and ``prior_std``.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import fit_vi
    >>> x = np.linspace(-1, 1, 20)[:, None]; y = 2.0 * x[:, 0]
    >>> post = fit_vi(x, y, (), n_iters=300, prior_std=1.0, sigma=0.1, rng=0)
    >>> round(float(post.mean[0]["w"][0, 0]), 1), post.result.reason
    (2.0, 'completed')
    """
    x_ND, y_arr = check_data(x, y)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_iters = check_int(n_iters, "n_iters", minimum=1)
    if init is not None and not isinstance(init, MeanField):
        raise TypeError(
            f"init must be a MeanField (e.g. an earlier fit), got {type(init).__name__}"
        )
    gen = as_generator(rng)
    learn = isinstance(sigma, str)
    if learn:
        check_choice(sigma, "sigma", ("learn",))
        sigma = init.sigma if init is not None else None
    if prior_std is None or sigma is None or init is None:
        start = laplace_start(
            x_ND, y_arr, hidden_sizes, activation, prior_std, sigma, gen, "fit_vi"
        )
        prior_std, sigma = start.prior_std, start.sigma
        mean = start.params
    if init is not None:
        mean, std = init.mean, init.std
    else:
        stds = iter(1.0 / np.sqrt(leaf_precisions(mean, prior_std)))
        std = tree.map(lambda m: np.full(np.shape(m), 0.01 * next(stds)), mean)
    elbo = negative_elbo(
        x_ND,
        y_arr,
        sigma="learn" if learn else sigma,
        prior_std=prior_std,
        activation=activation,
        n_samples=n_samples,
        rng=gen,
    )
    opt = (
        optimizer if optimizer is not None else optim.adam(optim.cosine_decay(0.01, n_iters, 1e-4))
    )
    start_q = {"mean": mean, "log_std": tree.map(np.log, std)}
    if learn:
        start_q["log_sigma"] = np.array([math.log(float(sigma))])
    averager = _Averager(int(n_iters * (1.0 - _check_average(average))))
    minibatches: dict[str, Any] = {}
    if batch_size is not None:
        minibatches = {"batch_size": batch_size, "seed": int(gen.integers(2**31 - 1))}
    result = optim.minimize(
        elbo,
        start_q,
        optimizer=opt,
        n_iters=n_iters,
        callback=averager if average else None,
        **minibatches,
    )
    q = averager.mean() if averager.count else result.params
    noise = math.exp(float(q["log_sigma"][0])) if learn else float(cast(float, sigma))
    post = MeanField(q["mean"], tree.map(np.exp, q["log_std"]), noise, activation=activation)
    post.result, post.prior_std = result, np.asarray(prior_std)
    return post
