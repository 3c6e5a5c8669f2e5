"""Posteriors over network parameters and the predictive distributions they give.

One interface, :class:`Posterior`, for every approximation: ``sample(K, rng)`` returns stacked
parameters (a leading axis K on every leaf), ``predict(x)`` a :class:`Predictive` with the mean
and the epistemic and noise parts of the spread, and ``predictive_samples``, ``interval`` and
``log_predictive_density`` (the test log-likelihood) follow from those. Posteriors save and load
through :mod:`tinynn.io`.

- :class:`Laplace` / :func:`fit_laplace`: a Gaussian at the MAP fit with the Gauss-Newton (or
  diagonal, last-layer, Hessian) precision, the linearized predictive, and the evidence that
  tunes the prior std and the noise.
- :class:`Ensemble` / :func:`fit_ensemble`: K networks trained together through the sample axis,
  optionally with randomized (anchored) priors; the predictive is the Gaussian mixture.
- :class:`Mixture` / :func:`fit_laplace_mixture`: an equal-weight mixture of posteriors over
  networks of one depth, such as Laplace fits from several seeds (a mixture of Laplace
  approximations); the predictive is the mixture of their Gaussians. :func:`fit_width_mixture`
  grows the width while the evidence rises and mixes the fits on both sides of its peak (the
  Regressor's default recipe).
- :class:`Samples` / :func:`fit_nuts`, :func:`fit_hmc`: draws of C Markov chains run together
  by :mod:`tinynn.mcmc` (one batched gradient per leapfrog step); the predictive is the
  mixture of the draws, and the chains keep their statistics for diagnostics.
  :func:`fit_sgld`: SGLD and SGHMC on minibatches, the draws as a :class:`Samples` too.
- :class:`MeanField` / :func:`fit_vi`: a diagonal Gaussian fitted by maximizing the ELBO
  (Bayes by backprop), K reparameterized draws per estimate in one batched pass.
- :func:`compare_loo`: choose among Laplace fits (or mixtures of them) by their leave-one-out
  log-likelihood, in closed form from the training data (``loo_log_density``).
- :class:`PointEstimate`: one fitted network and its noise, for comparing a MAP or
  maximum-likelihood fit with the others in the same code.

Shape suffixes: N examples, D input features, O outputs, P parameters, K samples or members.

>>> import numpy as np
>>> from tinynn.posterior import fit_laplace
>>> rng = np.random.default_rng(0)
>>> x = rng.uniform(-1, 1, size=(40, 1))
>>> y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=40)
>>> post = fit_laplace(x, y, hidden_sizes=(10,), rng=0)
>>> pred = post.predict(np.array([[0.0], [4.0]]))
>>> bool(pred.epistemic_std[1] > 3 * pred.epistemic_std[0])
True
"""

from tinynn.posterior._base import Posterior, Predictive, from_state
from tinynn.posterior._ensemble import Ensemble, fit_ensemble
from tinynn.posterior._fit import fit_laplace
from tinynn.posterior._laplace import STRUCTURES, Laplace
from tinynn.posterior._log_density import NetworkLogDensity
from tinynn.posterior._loo import LooComparison, compare_loo
from tinynn.posterior._mean_field import MeanField
from tinynn.posterior._mixture import WIDTHS, Mixture, fit_laplace_mixture, fit_width_mixture
from tinynn.posterior._point import PointEstimate
from tinynn.posterior._samples import Samples, fit_hmc, fit_nuts
from tinynn.posterior._sgld import fit_sgld
from tinynn.posterior._variational import NegativeELBO, fit_vi, negative_elbo

__all__ = [
    "STRUCTURES",
    "WIDTHS",
    "Ensemble",
    "Laplace",
    "LooComparison",
    "MeanField",
    "Mixture",
    "NegativeELBO",
    "NetworkLogDensity",
    "PointEstimate",
    "Posterior",
    "Predictive",
    "Samples",
    "compare_loo",
    "fit_ensemble",
    "fit_hmc",
    "fit_laplace",
    "fit_laplace_mixture",
    "fit_nuts",
    "fit_sgld",
    "fit_vi",
    "fit_width_mixture",
    "from_state",
    "negative_elbo",
]
