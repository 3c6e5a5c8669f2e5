"""
Predictive bands far from the data
==================================

A network fitted to two clusters of points is as sure of itself between and beyond them as on
them, unless something tells it otherwise. Here the same 1-20-1 network is fitted three ways to
60 points with a gap: as a point estimate, with the Laplace approximation (prior and noise set
by the evidence), and as an ensemble of five networks with anchored priors. The blue band holds
95% of each predictive distribution; the orange band is the noise alone.
"""

import matplotlib.pyplot as plt

from tinynn.data import make_gap_data
from tinynn.plot import plot_posteriors
from tinynn.posterior import PointEstimate, fit_ensemble, fit_laplace

x, y = make_gap_data(60, rng=0)
laplace = fit_laplace(x, y, hidden_sizes=(20,), rng=0)
point = PointEstimate(laplace.params, sigma=laplace.sigma)
ensemble = fit_ensemble(
    x, y, hidden_sizes=(20,), prior_std=laplace.prior_std, sigma=laplace.sigma, rng=0
)
print(f"noise std set by the evidence: {laplace.sigma:.3f} (the data's is 0.1)")

fig, axes = plt.subplots(1, 3, figsize=(9.0, 3.6), sharey=True)
fig.suptitle("95% predictive bands of a point estimate, Laplace and an ensemble")
plot_posteriors(
    {
        "point estimate": point,
        "Laplace (linearized)": laplace,
        "ensemble of 5": ensemble,
    },
    x,
    y,
    axes=axes,
)
plt.show()

# %%
# On the clusters the three bands are the noise band; between them and beyond them only Laplace
# and the ensemble say that they do not know. The tutorial "Bayesian neural networks with
# tinynn" scores the three on held-out data and in the gap.
