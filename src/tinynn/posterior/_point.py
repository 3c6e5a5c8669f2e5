"""A point estimate seen as a posterior: one network and its noise (private).

It answers every :class:`~tinynn.posterior.Posterior` question with no parameter uncertainty,
so a MAP or maximum-likelihood fit can stand beside Laplace and ensembles in the same code,
plots and scores: its predictive is the noise alone, as wide far from the data as on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import model, tree
from tinynn._checks import check_int, check_positive
from tinynn.posterior._base import Posterior, Predictive


class PointEstimate(Posterior):
    """One network with Gaussian noise: the posterior of a point estimate (no spread).

    Parameters
    ----------
    params : list of dict
        The network.
    sigma : float
        Noise std.
    activation : str, default "tanh"

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import PointEstimate
    >>> point = PointEstimate([{"w": np.array([[2.0]]), "b": np.zeros(1)}], sigma=0.5)
    >>> pred = point.predict(np.array([[1.0], [100.0]]))
    >>> pred.mean, pred.std
    (array([  2., 200.]), array([0.5, 0.5]))
    """

    kind = "point"

    def __init__(self, params: Any, sigma: float, *, activation: str = "tanh") -> None:
        if model.stack_size(params) is not None:
            raise ValueError("params must be one network for PointEstimate, got stacked ones")
        model.layer_shapes(params)  # checks the structure, naming what is wrong
        self.params = params
        self.sigma = check_positive(sigma, "sigma")
        self.activation = activation

    def sample(self, n_samples: int, rng: Any = None) -> Any:
        """Return ``n_samples`` copies of the network, stacked (``rng`` is not used)."""
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        return tree.stack([self.params] * n_samples)

    def _draw(self, n_samples: int, gen: np.random.Generator) -> tuple[Any, np.ndarray]:
        return self.sample(n_samples), np.full(n_samples, self.sigma)

    def predict(self, x: Any) -> Predictive:
        """Return the network's prediction with the noise as the only spread."""
        mean = model.predict(self.params, x, activation=self.activation)  # traced when x is
        return Predictive(mean, np.zeros(np.shape(mean)), np.full(np.shape(mean), self.sigma))

    def _state(self) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        info = {"posterior": self.kind, "activation": self.activation, "sigma": self.sigma}
        return self.params, info, {}

    @classmethod
    def _from_state(cls, params: Any, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        return cls(params, float(info["sigma"]), activation=str(info["activation"]))

    def __repr__(self) -> str:
        return f"PointEstimate(sigma={self.sigma:.4g})"
