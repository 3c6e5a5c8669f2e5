"""A network posterior held as Markov chain draws: NUTS and HMC on the parameters (private).

:func:`fit_nuts` and :func:`fit_hmc` sample ``p(params | x, y)`` with a Gaussian prior and fixed
Gaussian noise by :mod:`tinynn.mcmc`, C chains at once; every leapfrog step is one batched
network gradient for all chains (the sample axis). The prior std and sigma default to the
Laplace evidence's, and the chains start from C draws of that Laplace posterior, spread out as
R-hat needs. The draws form a :class:`Samples` posterior: an equal-weight mixture of networks,
like an ensemble, that keeps its chains for diagnostics.
"""

from __future__ import annotations

from typing import Any

import autograd.numpy as anp
import numpy as np

from tinynn import mcmc, model, tree
from tinynn._checks import as_generator, check_int, check_positive
from tinynn.posterior._ensemble import Ensemble
from tinynn.posterior._fit import check_data, laplace_start
from tinynn.posterior._log_density import NetworkLogDensity

CHUNK = 256  # draws evaluated per batched forward pass in predict, to bound its memory


class Samples(Ensemble):
    """Draws of network parameters from C Markov chains: an equal-weight mixture of networks.

    Parameters
    ----------
    params_K : list of dict, stacked
        K = C * S draws, chain by chain (every leaf has a leading axis K).
    sigma : float
        The noise std the chains were run with.
    n_chains : int
        C; K must be a multiple of it.
    activation : str, default "tanh"

    Attributes
    ----------
    run : MCMCResult or None
        The sampler's result (statistics, ``format()``, ``resume()``); None after loading.
    prior_std : ndarray or None
        The prior std of each leaf the chains were run with (None after loading).
    laplace : Laplace or None
        The Laplace posterior whose draws started the chains (None after loading).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import fit_nuts
    >>> x = np.linspace(-1, 1, 20)[:, None]; y = 2.0 * x[:, 0]
    >>> post = fit_nuts(x, y, (), n_chains=2, n_warmup=100, n_draws=100, sigma=0.1,
    ...                 prior_std=1.0, rng=0)
    >>> post.chains()[0]["w"].shape, post.run.interrupted
    ((2, 100, 1, 1), False)
    """

    kind = "samples"
    run: Any = None
    prior_std: Any = None
    laplace: Any = None
    interrupted: bool = False  # set by fit_sgld when Ctrl-C ended the run
    _density: Any = None  # the chains' log density, to turn resumed rows into networks

    def __init__(
        self, params_K: Any, sigma: Any, n_chains: int, *, activation: str = "tanh"
    ) -> None:
        super().__init__(params_K, check_positive(sigma, "sigma"), activation=activation)
        self.n_chains = check_int(n_chains, "n_chains", minimum=1)
        if self.n_members % self.n_chains:
            raise ValueError(
                f"params_K holds {self.n_members} draws, not a multiple of n_chains={self.n_chains}"
            )

    def chains(self) -> Any:
        """Return the draws as a tree of (C, S, ...) leaves, for :mod:`tinynn.diagnostics`."""
        n_draws = self.n_members // self.n_chains
        return tree.map(
            lambda leaf: np.reshape(leaf, (self.n_chains, n_draws, *np.shape(leaf)[1:])),
            self.params,
        )

    def resume(self, n_draws: int | None = None) -> Samples:
        """Continue the chains: finish an interrupted run, or add ``n_draws`` draws per chain.

        Returns a new :class:`Samples` with all the draws; bit for bit those one longer run
        would have given (see :meth:`tinynn.mcmc.MCMCResult.resume`).
        """
        if self.run is None:
            raise ValueError(
                "this Samples has no sampler state to resume (it was loaded from a file or "
                "built by hand); run fit_nuts or fit_hmc again"
            )
        return _from_run(self.run.resume(n_draws), self._density, self.laplace, self.activation)

    def _components(self, params_K: Any, x: Any, sigma_K: np.ndarray) -> tuple[Any, Any]:
        n_draws = model.stack_size(params_K) or 1
        parts = []
        for start in range(0, n_draws, CHUNK):
            chunk = tree.map(lambda leaf, s=start: leaf[s : s + CHUNK], params_K)
            parts.append(model.predict(chunk, x, activation=self.activation))
        f_K = parts[0] if len(parts) == 1 else anp.concatenate(parts, axis=0)  # x may be traced
        return f_K, sigma_K.reshape((-1,) + (1,) * (anp.ndim(f_K) - 1)) * np.ones(anp.shape(f_K))

    def _state(self) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        info = {"posterior": self.kind, "activation": self.activation, "n_chains": self.n_chains}
        return self.params, info, {"sigma": self.sigma}

    @classmethod
    def _from_state(cls, params: Any, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        sigma = np.asarray(arrays["sigma"], dtype=float)
        return cls(
            params, float(sigma[0]), int(info["n_chains"]), activation=str(info["activation"])
        )

    def __repr__(self) -> str:
        n_draws = self.n_members // self.n_chains
        return (
            f"Samples(n_chains={self.n_chains}, n_draws={n_draws}, "
            f"sigma={float(self.sigma[0]):.4g})"
        )


def fit_nuts(
    x: Any,
    y: Any,
    hidden_sizes: Any = (50,),
    *,
    n_chains: int = 4,
    n_warmup: int = 500,
    n_draws: int = 500,
    activation: str = "tanh",
    prior_std: Any = None,
    sigma: float | None = None,
    target_accept: float = 0.8,
    max_depth: int = 10,
    rng: Any = None,
) -> Samples:
    """Sample the network's posterior with NUTS, C chains at once, and return the draws.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Training inputs (standardize them first for a network).
    y : ndarray of shape (N,) or (N, O)
        Training targets.
    hidden_sizes : sequence of int, default (50,)
        Hidden layer widths; ``()`` is Bayesian linear regression.
    n_chains : int, default 4
        C, the chains run together (one batched gradient per leapfrog step).
    n_warmup, n_draws : int, default 500
        Warm-up iterations and kept draws per chain (see :func:`tinynn.mcmc.nuts`).
    activation : str, default "tanh"
        A built-in activation name (the chains use its hand-written gradient).
    prior_std : float, sequence of float (one per leaf) or None, default None
        The Gaussian prior's std; None takes the Laplace evidence's (per leaf).
    sigma : float or None, default None
        The noise std, fixed while sampling; None takes the Laplace evidence's.
    target_accept : float, default 0.8
        Raise it (0.9, 0.95) when the run reports divergences.
    max_depth : int, default 10
    rng : numpy.random.Generator, int or None
        Randomness of the Laplace fit, the starts and the chains.

    Returns
    -------
    Samples
        The C * S draws, with ``run`` (the :class:`tinynn.mcmc.MCMCResult`: per-chain
        statistics, ``format()``, ``resume()``) and ``laplace`` (the posterior the chains
        started from). Ctrl-C returns the draws so far (``run.interrupted`` is True).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import fit_nuts
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(30, 1)); y = 2.0 * x[:, 0] + 0.1 * rng.normal(size=30)
    >>> post = fit_nuts(x, y, (), n_chains=2, n_warmup=200, n_draws=200, rng=0)
    >>> round(float(post.predict(np.array([[0.5]])).mean[0]), 1)
    1.0
    """
    return _fit_chains(
        "nuts",
        x,
        y,
        hidden_sizes,
        n_chains,
        n_warmup,
        n_draws,
        activation,
        prior_std,
        sigma,
        rng,
        target_accept=target_accept,
        max_depth=max_depth,
    )


def fit_hmc(
    x: Any,
    y: Any,
    hidden_sizes: Any = (50,),
    *,
    n_steps: int = 20,
    n_chains: int = 4,
    n_warmup: int = 500,
    n_draws: int = 500,
    activation: str = "tanh",
    prior_std: Any = None,
    sigma: float | None = None,
    target_accept: float = 0.8,
    rng: Any = None,
) -> Samples:
    """Sample the network's posterior by HMC with ``n_steps`` leapfrog steps per draw.

    The arguments and the result are those of :func:`fit_nuts`, with ``n_steps`` (default 20)
    in place of ``max_depth`` (see :func:`tinynn.mcmc.hmc`).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import fit_hmc
    >>> x = np.linspace(-1, 1, 20)[:, None]; y = 2.0 * x[:, 0]
    >>> post = fit_hmc(x, y, (), n_steps=5, n_chains=2, n_warmup=50, n_draws=50, sigma=0.1,
    ...                prior_std=1.0, rng=0)
    >>> int(post.run.stats["n_leapfrog"].max())
    5
    """
    return _fit_chains(
        "hmc",
        x,
        y,
        hidden_sizes,
        n_chains,
        n_warmup,
        n_draws,
        activation,
        prior_std,
        sigma,
        rng,
        target_accept=target_accept,
        n_steps=n_steps,
    )


def _fit_chains(
    method: str,
    x: Any,
    y: Any,
    hidden_sizes: Any,
    n_chains: Any,
    n_warmup: Any,
    n_draws: Any,
    activation: str,
    prior_std: Any,
    sigma: Any,
    rng: Any,
    **options: Any,
) -> Samples:
    x_ND, y_arr = check_data(x, y)
    n_chains = check_int(n_chains, "n_chains", minimum=1)
    gen = as_generator(rng)
    start = laplace_start(
        x_ND, y_arr, hidden_sizes, activation, prior_std, sigma, gen, f"fit_{method}", 3
    )  # (3: fit_nuts or fit_hmc calls this function)
    prior_std, sigma = start.prior_std, start.sigma
    density = NetworkLogDensity(
        x_ND, y_arr, start.params, sigma=sigma, prior_std=prior_std, activation=activation
    )
    init = start.sample(n_chains, gen)
    sampler = mcmc.nuts if method == "nuts" else mcmc.hmc
    run = sampler(
        None,
        density.flatten(init),
        value_and_grad=density,
        n_warmup=n_warmup,
        n_draws=n_draws,
        rng=gen,
        **options,
    )
    return _from_run(run, density, start, activation)


def _from_run(run: Any, density: NetworkLogDensity, start: Any, activation: str) -> Samples:
    """Return the draws of ``run`` on ``density`` as a Samples; ``start`` is the Laplace fit."""
    if run.n_draws == 0:
        raise KeyboardInterrupt  # interrupted during warm-up: no draw to hand back yet
    n_chains, _, n_params = run.flat_draws.shape
    params_K = density.unflatten(run.flat_draws.reshape(-1, n_params))
    post = Samples(params_K, start.sigma, n_chains, activation=activation)
    post.run, post.prior_std, post.laplace = run, np.asarray(start.prior_std), start
    post._density = density
    return post
