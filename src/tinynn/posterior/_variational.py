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

from typing import Any

import numpy as np

from tinynn import losses, optim, tree
from tinynn._checks import as_generator, check_int
from tinynn.posterior._fit import check_data, laplace_start, leaf_precisions
from tinynn.posterior._mean_field import MeanField


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


def negative_elbo(
    x: Any,
    y: Any,
    *,
    sigma: float,
    prior_std: Any,
    activation: str = "tanh",
    n_samples: int = 8,
    rng: Any = None,
) -> Any:
    """Return ``value_and_grad(q)`` of the K-draw negative ELBO, the objective of :func:`fit_vi`.

    ``q = {'mean': params, 'log_std': params}`` holds the variational means and log stds, two
    trees shaped like the network. Each call draws K fresh reparameterized networks (in
    antithetic pairs) from ``rng``, so the value and gradient are unbiased estimates of the
    expected negative log-likelihood plus the exact KL divergence to the prior.

    Parameters
    ----------
    x : ndarray of shape (N, D)
    y : ndarray of shape (N,) or (N, O)
    sigma : float
        The noise std.
    prior_std : float or sequence of float (one per leaf)
        The zero-mean Gaussian prior's std.
    activation : str, default "tanh"
    n_samples : int, default 8
        K, evaluated in one batched pass.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    callable
        ``value_and_grad(q) -> (float, {'mean': grads, 'log_std': grads})``, for
        :func:`tinynn.optim.minimize` (``value_and_grad=``).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import negative_elbo
    >>> x = np.linspace(-1, 1, 20)[:, None]; y = 2.0 * x[:, 0]
    >>> elbo = negative_elbo(x, y, sigma=0.1, prior_std=1.0, rng=0)
    >>> q = {"mean": [{"w": np.array([[2.0]]), "b": np.zeros(1)}],
    ...      "log_std": [{"w": np.full((1, 1), -3.0), "b": np.full(1, -3.0)}]}
    >>> value, grads = elbo(q)
    >>> sorted(grads), grads["mean"][0]["w"].shape
    (['log_std', 'mean'], (1, 1))
    """
    x_ND, y_arr = check_data(x, y)
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    gen = as_generator(rng)
    nll = losses.make_objective(x_ND, y_arr, sigma=sigma, activation=activation)
    precisions: list[float] = []

    def value_and_grad(q: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        mean, log_std = q["mean"], q["log_std"]
        if not precisions:
            precisions.extend(leaf_precisions(mean, prior_std))
        std = tree.map(np.exp, log_std)
        means, stds = tree.leaves(mean), tree.leaves(std)
        eps = [_noise(gen, n_samples, np.shape(m)) for m in means]
        draws = _like(mean, [m + s * e for m, s, e in zip(means, stds, eps, strict=True)])
        values, grads = nll.value_and_grad(draws)
        expected_nll = float(np.mean(values))
        g_leaves = tree.leaves(grads)
        grad_mean = _like(mean, [np.mean(g, axis=0) for g in g_leaves])
        grad_log_std = _like(
            mean,
            [np.mean(g * e, axis=0) * s for g, e, s in zip(g_leaves, eps, stds, strict=True)],
        )
        kl, kl_mean, kl_log_std = _gaussian_kl(mean, std, precisions)
        return expected_nll + kl, {
            "mean": tree.add(grad_mean, kl_mean),
            "log_std": tree.add(grad_log_std, kl_log_std),
        }

    return value_and_grad


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
    sigma: float | None = None,
    init: MeanField | None = None,
    average: float = 0.0,
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
    sigma : float or None, default None
        The noise std, fixed; None takes the Laplace evidence's.
    init : MeanField, optional
        Where to start (e.g. an earlier fit, to continue it); by default the means start at
        the Laplace MAP and every std at 1% of its leaf's prior std.
    average : float in [0, 1), default 0.0
        Fraction of the last iterations whose iterates are averaged into the answer
        (Polyak-Ruppert averaging, as scikit-learn's SGD ``average``): with a constant step the
        noise of the estimates averages out, for answers finer than the last iterate's.
    rng : numpy.random.Generator, int or None
        Randomness of the Laplace fit and of the draws.

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
    if prior_std is None or sigma is None or init is None:
        start = laplace_start(x_ND, y_arr, hidden_sizes, activation, prior_std, sigma, gen)
        prior_std, sigma = start.prior_std, start.sigma
        mean = start.params
    if init is not None:
        mean, std = init.mean, init.std
    else:
        stds = iter(1.0 / np.sqrt(leaf_precisions(mean, prior_std)))
        std = tree.map(lambda m: np.full(np.shape(m), 0.01 * next(stds)), mean)
    value_and_grad = negative_elbo(
        x_ND,
        y_arr,
        sigma=sigma,
        prior_std=prior_std,
        activation=activation,
        n_samples=n_samples,
        rng=gen,
    )
    opt = (
        optimizer if optimizer is not None else optim.adam(optim.cosine_decay(0.01, n_iters, 1e-4))
    )
    start_q = {"mean": mean, "log_std": tree.map(np.log, std)}
    averager = _Averager(int(n_iters * (1.0 - _check_average(average))))
    result = optim.minimize(
        None,
        start_q,
        value_and_grad=value_and_grad,
        optimizer=opt,
        n_iters=n_iters,
        callback=averager if average else None,
    )
    q = averager.mean() if averager.count else result.params
    post = MeanField(q["mean"], tree.map(np.exp, q["log_std"]), sigma, activation=activation)
    post.result, post.prior_std = result, np.asarray(prior_std)
    return post
