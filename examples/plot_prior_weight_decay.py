"""
A Gaussian prior is weight decay
================================

Adding the negative log of a Gaussian prior :math:`\\mathcal{N}(0, s^2)` on every weight to the
loss gives the maximum a posteriori (MAP) fit. Up to a constant, that term is the L2 penalty
:math:`\\tfrac12 \\lambda \\sum_j \\theta_j^2` with :math:`\\lambda = 1/s^2`, which is weight decay.

A 1-100-1 network is fitted to 20 noisy points with no prior and with priors of decreasing
standard deviation ``prior_std``. A broad prior changes little; a narrow one pulls the weights
towards zero and smooths the curve; too narrow a prior flattens it.
"""

import matplotlib.pyplot as plt
import numpy as np
from autograd import grad

from tinynn.losses import l2_penalty, log_prior, make_objective
from tinynn.model import predict
from tinynn.optim import lbfgs, minimize
from tinynn.params import make_params
from tinynn.tree import global_norm, sub

rng = np.random.default_rng(2)
sigma = 0.25
x_N = np.sort(rng.uniform(-3.0, 3.0, size=20))
y_N = np.sin(x_N) + sigma * rng.standard_normal(20)
init = make_params(1, [100], 1, rng=0)

# %%
# First, the claim: the gradient of :math:`-\log p(\theta)` equals the gradient of the L2 penalty
# with strength :math:`1/s^2`.
s = 0.5
g_prior = grad(lambda p: -log_prior(p, prior_std=s))(init)
g_l2 = grad(lambda p: l2_penalty(p, strength=1.0 / s**2))(init)
print(
    "largest difference of the two gradients:", float(global_norm(sub(g_prior, g_l2)))
)

# %%
# Fit with no prior and with three priors.
prior_stds = [None, 3.0, 0.3, 0.03]
fits = {}
for prior_std in prior_stds:
    loss = make_objective(x_N, y_N, sigma=sigma, prior_std=prior_std)
    result = minimize(loss, init, optimizer=lbfgs(), n_iters=2000)
    fits[prior_std] = result.params
    print(
        f"prior_std {prior_std}: weight norm {float(global_norm(result.params)):8.2f}"
    )

# %%
# The fitted curves (the one without a prior swings far outside this frame between the data
# points). The weight norm in each legend shrinks as the prior narrows.
grid_G = np.linspace(-3.0, 3.0, 300)
fig, ax = plt.subplots(figsize=(7, 4))
ax.set_title("Fits with no prior and with narrower and narrower priors")
ax.plot(x_N, y_N, "k.", label="data", zorder=3)  # over the curves
ax.plot(grid_G, np.sin(grid_G), "k--", label="true curve")
for prior_std, params in fits.items():
    name = "no prior" if prior_std is None else f"prior_std = {prior_std}"
    norm = float(global_norm(params))
    ax.plot(grid_G, predict(params, grid_G), label=f"{name} (|theta| = {norm:.1f})")
ax.set_ylim(-2.5, 2.5)
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(fontsize="small", loc="upper left")
fig.tight_layout()
