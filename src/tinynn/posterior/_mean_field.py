"""The mean-field Gaussian posterior that :func:`fit_vi` fits (private to :mod:`tinynn.posterior`).

One independent Gaussian per parameter, held as two trees shaped like the network: the means and
the standard deviations. Its predictive is the mixture of networks drawn from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import tree
from tinynn._checks import as_generator, check_int
from tinynn.posterior._base import Posterior, Predictive
from tinynn.posterior._ensemble import Ensemble

PREDICT_SAMPLES = 200  # networks drawn for the predictive when none are asked for


class MeanField(Posterior):
    """A Gaussian over the parameters with one independent mean and std per parameter.

    Parameters
    ----------
    mean : list of dict
        The means, shaped like the network.
    std : list of dict
        The standard deviations, same shapes, positive.
    sigma : float
        The noise std.
    activation : str, default "tanh"

    Attributes
    ----------
    result : OptimizeResult or None
        The fit's result, set by :func:`fit_vi`; ``result.history.losses`` is the negative
        ELBO per iteration (each a K-draw estimate).
    prior_std : ndarray or None
        The prior std of each leaf of the fit (set by :func:`fit_vi`).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import MeanField
    >>> mean = [{"w": np.array([[2.0]]), "b": np.zeros(1)}]
    >>> std = [{"w": np.array([[0.5]]), "b": np.array([1e-9])}]
    >>> post = MeanField(mean, std, sigma=0.1)
    >>> draws = post.sample(4000, rng=0)[0]["w"]
    >>> round(float(draws.std()), 1)
    0.5
    """

    kind = "mean_field"
    result: Any = None
    prior_std: Any = None

    def __init__(self, mean: Any, std: Any, sigma: float, *, activation: str = "tanh") -> None:
        _check_same_shapes(mean, std)
        if not all(np.all(np.asarray(s) > 0) for s in tree.leaves(std)):
            raise ValueError("std must be positive in every entry")
        self.mean = tree.astype_float(mean)
        self.std = tree.astype_float(std)
        self.sigma = float(sigma)
        self.activation = activation

    def sample(self, n_samples: int, rng: Any = None) -> Any:
        """Return ``n_samples`` parameter sets ``mean + std * eps``, stacked on axis 0."""
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        return self._draw(n_samples, as_generator(rng))[0]

    def _draw(self, n_samples: int, gen: np.random.Generator) -> tuple[Any, np.ndarray]:
        def one(m: Any, s: Any) -> Any:
            return m + s * gen.standard_normal((n_samples, *np.shape(m)))

        return tree.map(one, self.mean, self.std), np.full(n_samples, self.sigma)

    def predict(self, x: Any, *, n_samples: int = PREDICT_SAMPLES, rng: Any = 0) -> Predictive:
        """Return the predictive at ``x``: the mixture of ``n_samples`` drawn networks.

        ``rng`` is fixed by default, so the same call gives the same answer.
        """
        params_K, sigma_K = self._draw(
            check_int(n_samples, "n_samples", minimum=1), as_generator(rng)
        )
        return Ensemble(params_K, sigma_K, activation=self.activation).predict(x)

    def _state(self) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        stds = tree.leaves(self.std)
        info = {"posterior": self.kind, "activation": self.activation, "sigma": self.sigma}
        return self.mean, info, {f"std_{i}": np.asarray(s) for i, s in enumerate(stds)}

    @classmethod
    def _from_state(cls, params: Any, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        stds = iter(arrays[f"std_{i}"] for i in range(len(tree.leaves(params))))
        std = tree.map(lambda _m: next(stds), params)
        return cls(params, std, float(info["sigma"]), activation=str(info["activation"]))

    def __repr__(self) -> str:
        return f"MeanField(n_params={tree.size(self.mean)}, sigma={self.sigma:.4g})"


def _check_same_shapes(mean: Any, std: Any) -> None:
    pairs = list(zip(tree.leaves_with_paths(mean), tree.leaves(std), strict=False))
    if len(tree.leaves(mean)) != len(tree.leaves(std)):
        raise ValueError(
            f"mean and std must have the same structure, got {len(tree.leaves(mean))} and "
            f"{len(tree.leaves(std))} leaves"
        )
    for (path, m), s in pairs:
        if np.shape(m) != np.shape(s):
            raise ValueError(
                f"mean and std must have the same shapes, got {np.shape(m)} and {np.shape(s)} "
                f"at {path}"
            )
