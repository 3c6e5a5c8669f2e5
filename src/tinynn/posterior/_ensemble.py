"""Deep ensembles trained together through the sample axis (private to :mod:`tinynn.posterior`).

K networks are one stacked parameter tree (a leading axis K on every leaf). The objective of the
stack is the sum of the members' objectives, so its gradient is the members' gradients side by
side and one optimizer step moves all K. With ``anchored=True`` each member's prior is centred
on its own draw from the prior (randomized, or anchored, priors; Pearce et al. 2020), which makes
the ensemble an approximate posterior sample rather than K copies of one MAP fit.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np

from tinynn import losses, model, optim, params, tree
from tinynn._checks import as_generator, check_choice, check_int, check_positive
from tinynn.posterior._base import Posterior, Predictive
from tinynn.posterior._fit import (
    RELATIVE_TOL,
    check_data,
    first_order_optimizer,
    fit_laplace,
    repeat_fit_warnings,
    with_prior,
)
from tinynn.posterior._laplace import check_prior_std


class Ensemble(Posterior):
    """An equal-weight mixture of K networks, each with Gaussian noise.

    Parameters
    ----------
    params_K : list of dict, stacked
        K networks: every leaf has a leading axis K (see :func:`tinynn.tree.stack`).
    sigma : float, ndarray of shape (K,), or None
        Noise std, shared or one per member; None for heteroscedastic members.
    activation : str, default "tanh"
    heteroscedastic : bool, default False
        Each member has two outputs, the mean and the log of the noise std at each input
        (see :func:`tinynn.losses.heteroscedastic_nll`), so the noise varies with x.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn import tree
    >>> from tinynn.posterior import Ensemble
    >>> members = [[{"w": np.array([[a]]), "b": np.zeros(1)}] for a in (1.0, 3.0)]
    >>> ens = Ensemble(tree.stack(members), sigma=0.5)
    >>> pred = ens.predict(np.array([[1.0]]))
    >>> pred.mean, pred.epistemic_std
    (array([2.]), array([1.]))
    """

    kind = "ensemble"
    result: Any = None  # the OptimizeResult of the joint fit, set by fit_ensemble
    optimizer: str = ""  # its method, set by fit_ensemble

    def __init__(
        self,
        params_K: Any,
        sigma: Any,
        *,
        activation: str = "tanh",
        heteroscedastic: bool = False,
    ) -> None:
        n_members = model.stack_size(params_K)
        if n_members is None:
            raise ValueError(
                "params_K must be stacked parameters (a leading axis K on every leaf), got one "
                "network; build them with tinynn.tree.stack"
            )
        self.heteroscedastic = bool(heteroscedastic)
        if self.heteroscedastic:
            n_out = np.shape(params_K[-1]["b"])[-1]
            if n_out != 2 or sigma is not None:
                raise ValueError(
                    "heteroscedastic members need two outputs (mean, log std) and sigma=None, "
                    f"got {n_out} outputs and sigma={sigma!r}"
                )
            sigma = 1.0  # unused: the noise comes from the second output
        sigma_K = np.asarray(sigma, dtype=float)
        if sigma_K.ndim == 0:
            sigma_K = np.full(n_members, float(sigma_K))
        if sigma_K.shape != (n_members,) or not np.all(np.isfinite(sigma_K) & (sigma_K > 0)):
            raise ValueError(
                f"sigma must be a positive number or {n_members} positive numbers (one per "
                f"member), got {np.asarray(sigma).tolist()!r}"
            )
        self.params = params_K
        self.sigma = sigma_K
        self.activation = activation
        self.n_members = n_members

    def sample(self, n_samples: int, rng: Any = None) -> Any:
        """Return ``n_samples`` members drawn uniformly with replacement, stacked."""
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        return self._draw(n_samples, as_generator(rng))[0]

    def _draw(self, n_samples: int, gen: np.random.Generator) -> tuple[Any, np.ndarray]:
        picks = gen.integers(0, self.n_members, size=n_samples)
        return tree.map(lambda leaf: np.asarray(leaf)[picks], self.params), self.sigma[picks]

    def _components(self, params_K: Any, x: Any, sigma_K: np.ndarray) -> tuple[Any, Any]:
        if not self.heteroscedastic:
            return super()._components(params_K, x, sigma_K)
        f_K = model.predict(params_K, x, activation=self.activation)
        return f_K[..., 0], anp.exp(f_K[..., 1])

    def predict(self, x: Any) -> Predictive:
        """Return the mixture predictive at ``x``: mean of the members, their spread, the noise.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn import tree
        >>> from tinynn.posterior import Ensemble
        >>> members = [[{"w": np.array([[a]]), "b": np.zeros(1)}] for a in (1.0, 3.0)]
        >>> Ensemble(tree.stack(members), sigma=0.5).predict(np.array([[1.0]])).std
        array([1.11803399])
        """
        f_K, noise_K = self._components(self.params, x, self.sigma)
        mean = anp.mean(f_K, axis=0)  # autograd.numpy: differentiable when x is traced
        noise = anp.sqrt(anp.mean(noise_K**2, axis=0))
        return Predictive(mean, anp.std(f_K, axis=0), noise, means_K=f_K, noise_stds_K=noise_K)

    def _state(self) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        info = {
            "posterior": self.kind,
            "activation": self.activation,
            "heteroscedastic": self.heteroscedastic,
        }
        return self.params, info, {"sigma": self.sigma}

    @classmethod
    def _from_state(cls, params: Any, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        if info.get("heteroscedastic", False) is True:
            return cls(params, None, activation=str(info["activation"]), heteroscedastic=True)
        return cls(
            params, np.asarray(arrays["sigma"], dtype=float), activation=str(info["activation"])
        )

    def __repr__(self) -> str:
        if self.heteroscedastic:
            return f"Ensemble(n_members={self.n_members}, heteroscedastic=True)"
        return f"Ensemble(n_members={self.n_members}, sigma={np.round(self.sigma, 4).tolist()})"


def fit_ensemble(
    x: Any,
    y: Any,
    hidden_sizes: Any = (50,),
    *,
    n_members: int = 5,
    activation: str = "tanh",
    prior_std: Any = None,
    sigma: float | None = None,
    anchored: bool = True,
    likelihood: str = "gaussian",
    optimizer: str = "auto",
    n_iters: int = 300,
    rng: Any = None,
) -> Ensemble:
    """Train K networks together, one optimizer step moving all of them, and return the ensemble.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Training inputs.
    y : ndarray of shape (N,)
        Training targets.
    hidden_sizes : sequence of int, default (50,)
    n_members : int, default 5
        K.
    activation : str, default "tanh"
    prior_std : float, sequence of float (one per leaf) or None, default None
        The Gaussian prior's std (see :class:`Laplace`).
    sigma : float or None, default None
        The noise std of every member. Left as None, the prior std and sigma are set by the
        Laplace evidence of one network (:func:`fit_laplace`, per-leaf priors, same
        generator), so the noise cannot shrink to zero as the members interpolate.
    anchored : bool, default True
        Centre each member's prior on its own draw from the prior and start it there
        (randomized priors); False gives every member the zero-mean prior and a
        ``make_params`` start.
    likelihood : {"gaussian", "heteroscedastic"}, default "gaussian"
        ``"gaussian"``: noise ``sigma`` everywhere. ``"heteroscedastic"``: each member also
        predicts the log of its noise std at each input (a second output, trained by
        :func:`tinynn.losses.heteroscedastic_nll`, as in deep ensembles); one output is
        required, ``sigma`` (by default the evidence's) only centres the log std's prior, and
        ``prior_std`` defaults to 1 instead of the evidence's. The prior keeps the log std
        bounded, so it cannot run to minus infinity as a member interpolates.
    optimizer : {"auto", "lbfgs", "adam"}, default "auto"
        L-BFGS on the summed objective (``"auto"`` when scipy is installed), or Adam with a
        cosine-decayed step (whose steps are per member; ``"auto"`` without scipy).
    n_iters : int, default 300
        Iterations of the joint fit at most (and, per round, of the evidence fit). The joint fit
        stops sooner ("converged") once its objective changes by less than a fraction 1e-6 in
        an iteration, as :func:`fit_laplace`'s MAP fits do; when it reaches ``n_iters`` first,
        a :class:`tinynn.optim.ConvergenceWarning` says so (the members may still move with
        more iterations). On a few hundred rows L-BFGS often needs thousands.
    rng : numpy.random.Generator, int or None
        Randomness of the starts and anchors (and of the evidence fit).

    Returns
    -------
    Ensemble
        With attribute ``result`` (the :class:`tinynn.optim.OptimizeResult` of the joint fit).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import fit_ensemble
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(30, 1)); y = np.sin(3 * x[:, 0])
    >>> ens = fit_ensemble(x, y, (10,), n_members=3, prior_std=1.0, sigma=0.1,
    ...                    n_iters=1000, rng=0)
    >>> ens.params[0]["w"].shape, ens.n_members, ens.result.reason
    ((3, 1, 10), 3, 'converged')
    """
    x_ND, y_arr = check_data(x, y)
    n_members = check_int(n_members, "n_members", minimum=1)
    n_iters = check_int(n_iters, "n_iters", minimum=1)
    check_choice(optimizer, "optimizer", ("auto", "lbfgs", "adam"))
    hetero = check_choice(likelihood, "likelihood", ("gaussian", "heteroscedastic")) != "gaussian"
    if hetero and y_arr.ndim != 1:
        raise ValueError(
            f"likelihood='heteroscedastic' needs one output, y of shape (N,), got {y_arr.shape}"
        )
    gen = as_generator(rng)
    if hetero and prior_std is None:
        # the evidence of a constant-noise fit may switch off what only the noise needs (the
        # hidden biases of an odd target, say), so a heteroscedastic ensemble keeps a unit prior
        prior_std = 1.0
    if prior_std is None or sigma is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tuned = fit_laplace(
                x_ND,
                y_arr,
                hidden_sizes,
                activation=activation,
                prior_std=prior_std,
                sigma=sigma,
                n_iters=n_iters,
                rng=gen,
            )
        repeat_fit_warnings(caught, "fit_ensemble", 2, "its Laplace fit for prior_std and sigma")
        if tuned.result is not None and tuned.result.reason == "interrupted":
            raise KeyboardInterrupt  # no member is trained yet: nothing to hand back
        prior_std, sigma = tuned.prior_std, tuned.sigma
    sigma = check_positive(sigma, "sigma")
    n_out = 2 if hetero else 1 if y_arr.ndim == 1 else y_arr.shape[1]
    layers = [x_ND.shape[1], *list(hidden_sizes), n_out]
    prior_std = check_prior_std(prior_std, 2 * (len(layers) - 1))
    stds = np.broadcast_to(np.asarray(prior_std, dtype=float), (2 * (len(layers) - 1),))
    if anchored:
        anchor = [
            {
                "w": gen.normal(0.0, stds[2 * i], (n_members, fan_in, fan_out)),
                "b": gen.normal(0.0, stds[2 * i + 1], (n_members, fan_out)),
            }
            for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layers))
        ]
        start = tree.copy(anchor)
    else:
        hidden = list(hidden_sizes)
        start = tree.stack(
            [params.make_params(layers[0], hidden, n_out, rng=gen) for _ in range(n_members)]
        )
        anchor = tree.zeros_like(start)
    if hetero:
        if anchored:  # each member's log std starts at the evidence's noise level
            start[-1]["b"][:, 1] += np.log(sigma)
            anchor[-1]["b"][:, 1] += np.log(sigma)

        def nll(params_K: Any) -> Any:
            out = model.predict(params_K, x_ND, activation=activation)
            return losses.heteroscedastic_nll(y_arr, out)

        data_term = autograd.value_and_grad(lambda p: anp.sum(nll(p)))
    else:
        data_term = losses.make_objective(x_ND, y_arr, sigma=sigma, activation=activation)
        data_term = data_term.value_and_grad
    value_and_grad = with_prior(data_term, [float(v) for v in 1.0 / stds**2], anchor)
    if optimizer == "auto":
        opt = first_order_optimizer(n_iters)
    else:
        opt = optim.lbfgs() if optimizer == "lbfgs" else optim.adam(0.01)
    result = optim.minimize(
        None, start, value_and_grad=value_and_grad, optimizer=opt, n_iters=n_iters, tol=RELATIVE_TOL
    )
    if result.reason == "completed":
        warnings.warn(
            f"fit_ensemble: the joint fit stopped at n_iters={n_iters} before converging (its "
            f"objective still changed by more than a fraction {RELATIVE_TOL:g} per iteration); "
            "raise n_iters",
            optim.ConvergenceWarning,
            stacklevel=2,
        )
    ens = Ensemble(
        result.params, None if hetero else sigma, activation=activation, heteroscedastic=hetero
    )
    ens.result = result
    ens.optimizer = "lbfgs" if isinstance(opt, optim.LBFGS) else "adam"
    return ens
