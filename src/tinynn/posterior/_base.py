"""The Posterior interface and the Predictive it returns (private to :mod:`tinynn.posterior`).

Every approximation (Laplace, an ensemble, and later samplers and variational families) answers
the same questions through :class:`Posterior`; a subclass provides ``sample``, ``predict``,
``_draw`` (parameters with their noise) and the state it saves, and inherits predictive
samples, intervals and the test log-likelihood. A mixture posterior (an ensemble) gets the
mixture forms of the last two through the :class:`Predictive` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import autograd.numpy as anp
import numpy as np

from tinynn import metrics, model
from tinynn._checks import as_float_array, as_generator, check_int

KINDS: dict[str, type[Posterior]] = {}  # filled by each subclass, read by from_state


@dataclass(frozen=True)
class Predictive:
    """A predictive distribution at N inputs: mean and the two parts of its spread.

    Attributes
    ----------
    mean : ndarray of shape (N,) or (N, O)
        Predictive mean.
    epistemic_std : ndarray, same shape
        Spread from not knowing the parameters (the posterior's part; it grows away from data).
    noise_std : ndarray, same shape
        Spread of the observation noise (the likelihood's part).
    means_K : ndarray of shape (K, N) or (K, N, O), or None
        For a mixture predictive (an ensemble): each component's mean; None for a Gaussian.
    noise_stds_K : ndarray, same shape as ``means_K``, or None
        Each component's noise std.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import Predictive
    >>> pred = Predictive(np.zeros(2), np.full(2, 3.0), np.full(2, 4.0))
    >>> pred.std
    array([5., 5.])
    >>> lower, upper = pred.interval(0.95)
    >>> np.round(upper, 2)
    array([9.8, 9.8])
    """

    mean: np.ndarray
    epistemic_std: np.ndarray
    noise_std: np.ndarray
    means_K: np.ndarray | None = None
    noise_stds_K: np.ndarray | None = None

    @property
    def std(self) -> np.ndarray:
        """Total predictive std: ``sqrt(epistemic_std**2 + noise_std**2)``."""
        return anp.sqrt(self.epistemic_std**2 + self.noise_std**2)  # traced x: differentiable

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Return the central interval holding ``level`` of the predictive probability.

        Gaussian: ``mean +- z std``. Mixture: the exact quantiles of the mixture, found by
        bisection on its distribution function.
        """
        level = _check_level(level)
        if self.means_K is None or self.noise_stds_K is None:
            half = metrics.normal_quantile(0.5 + 0.5 * level) * self.std
            return self.mean - half, self.mean + half
        low = _mixture_quantile(self.means_K, self.noise_stds_K, 0.5 - 0.5 * level)
        high = _mixture_quantile(self.means_K, self.noise_stds_K, 0.5 + 0.5 * level)
        return low, high

    def log_density(self, y: Any) -> float:
        """Return the mean over targets of the log predictive density of ``y``."""
        y_arr = as_float_array(y, "y")
        if y_arr.shape != self.mean.shape:
            raise ValueError(
                f"y must have the predictive's shape {self.mean.shape}, got {y_arr.shape}"
            )
        if self.means_K is None or self.noise_stds_K is None:
            return metrics.gaussian_log_likelihood(y_arr, self.mean, self.std)
        return metrics.mixture_log_likelihood(y_arr, self.means_K, self.noise_stds_K)


def _check_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)):
        raise TypeError(f"level must be a float in (0, 1), got {level!r}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    return float(level)


def _mixture_quantile(means_K: np.ndarray, stds_K: np.ndarray, q: float) -> np.ndarray:
    """Return the q-quantile of equal-weight Gaussian mixtures, elementwise over axis 1.."""
    low = np.min(means_K - 10.0 * stds_K, axis=0)
    high = np.max(means_K + 10.0 * stds_K, axis=0)
    for _ in range(60):  # halves the bracket to 1e-18 of its width
        mid = 0.5 * (low + high)
        below = np.mean(metrics.normal_cdf((mid[None] - means_K) / stds_K), axis=0) < q
        low = np.where(below, mid, low)
        high = np.where(below, high, mid)
    return 0.5 * (low + high)


class Posterior:
    """A distribution over network parameters and the predictive it implies.

    Subclasses: :class:`~tinynn.posterior.Laplace`, :class:`~tinynn.posterior.Ensemble`. All
    take and return the house's parameter trees; ``sample`` returns stacked parameters (a
    leading axis K on every leaf) that :func:`tinynn.model.predict` evaluates in one pass.

    Attributes
    ----------
    activation : str
        The hidden-layer activation of the network.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import Posterior, fit_laplace
    >>> x = np.linspace(-1, 1, 30)[:, None]; y = 2.0 * x[:, 0]
    >>> post = fit_laplace(x, y, hidden_sizes=())
    >>> isinstance(post, Posterior), post.sample(4, rng=0)[0]["w"].shape
    (True, (4, 1, 1))
    >>> post.predictive_samples(x[:3], 5, rng=0).shape
    (5, 3)
    """

    kind = ""
    activation: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            KINDS[cls.kind] = cls

    # -- what each approximation provides ----------------------------------------------------------

    def sample(self, n_samples: int, rng: Any = None) -> Any:
        """Return ``n_samples`` parameter sets drawn from the posterior, stacked on axis 0."""
        raise NotImplementedError

    def predict(self, x: Any) -> Predictive:
        """Return the predictive distribution at inputs ``x``."""
        raise NotImplementedError

    def _draw(self, n_samples: int, gen: np.random.Generator) -> tuple[Any, np.ndarray]:
        """Return ``n_samples`` stacked parameter sets and the noise std of each, (K,)."""
        raise NotImplementedError

    def _state(self) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        raise NotImplementedError

    @classmethod
    def _from_state(cls, params: Any, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        raise NotImplementedError

    def _tinynn_fitted_state(self) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        """The saving hook :func:`tinynn.io.save` calls (the Regressor has the same one)."""
        params, info, arrays = self._state()
        return params, {**info, "kind": "posterior"}, arrays

    # -- shared answers ----------------------------------------------------------------------------

    def predictive_samples(self, x: Any, n_samples: int, rng: Any = None) -> np.ndarray:
        """Return draws of new targets at ``x``: parameters from the posterior, then noise.

        Parameters
        ----------
        x : ndarray of shape (N, D)
            Inputs.
        n_samples : int
            K, the number of draws.
        rng : numpy.random.Generator, int or None
            Randomness (an int seed for a reproducible result).

        Returns
        -------
        ndarray of shape (K, N) or (K, N, O)
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        gen = as_generator(rng)
        params_K, sigma_K = self._draw(n_samples, gen)
        mean_K, noise_K = self._components(params_K, x, sigma_K)
        return mean_K + noise_K * gen.standard_normal(mean_K.shape)

    def _components(self, params_K: Any, x: Any, sigma_K: np.ndarray) -> tuple[Any, Any]:
        """Return each draw's mean and noise std at ``x``, both (K, N) or (K, N, O)."""
        f_K = model.predict(params_K, x, activation=self.activation)  # traced when x is
        return f_K, sigma_K.reshape((-1,) + (1,) * (anp.ndim(f_K) - 1)) * np.ones(anp.shape(f_K))

    def interval(self, x: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Return the central predictive interval at ``x`` holding ``level`` of the probability.

        Returns
        -------
        lower, upper : ndarray of shape (N,) or (N, O)
        """
        return self.predict(x).interval(level)

    def log_predictive_density(self, x: Any, y: Any) -> float:
        """Return the test log-likelihood: the mean over targets of ``log p(y | x, data)``.

        Gaussian for a Gaussian predictive; for an ensemble, the log of the average of the
        members' densities (logsumexp).
        """
        return self.predict(x).log_density(y)


def from_state(params: Any, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> Posterior:
    """Rebuild a saved posterior (the hook :func:`tinynn.io.load` calls).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from tinynn import io
    >>> from tinynn.posterior import fit_laplace
    >>> x = np.linspace(-1, 1, 30)[:, None]; y = 2.0 * x[:, 0]
    >>> path = io.save(os.path.join(tempfile.mkdtemp(), "post.npz"), fit_laplace(x, y, ()))
    >>> type(io.load(path)).__name__  # io.load called from_state
    'Laplace'
    """
    kind = info.get("posterior")
    if kind not in KINDS:
        raise ValueError(f"unknown posterior kind {kind!r}; known: {sorted(KINDS)}")
    return KINDS[kind]._from_state(params, info, arrays)
