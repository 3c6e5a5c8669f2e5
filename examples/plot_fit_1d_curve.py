"""
Fit a one-dimensional curve
===========================

The smallest complete use of tinynn's core: make noisy samples of a curve, build a network with one
hidden layer of tanh units, write the Gaussian negative log-likelihood as a function of the
parameters, and minimize it with L-BFGS.

Shape suffixes: ``N`` examples, ``D`` input features (here 1), ``H`` hidden units.
"""

import numpy as np

from tinynn.losses import make_objective, rmse
from tinynn.model import predict
from tinynn.optim import lbfgs, minimize
from tinynn.params import make_params
from tinynn.plot import plot_fit_1d

# %%
# Data: 80 noisy samples of :math:`y = \sin(x) + x / 3` with noise standard deviation 0.2.
rng = np.random.default_rng(0)
sigma = 0.2
x_N = np.sort(rng.uniform(-4.0, 4.0, size=80))
y_N = np.sin(x_N) + x_N / 3.0 + sigma * rng.standard_normal(80)

# %%
# A 1-20-1 network. ``x_N`` of shape ``(N,)`` is read as ``N`` examples of one feature.
params = make_params(1, [20], 1, rng=0)
loss = make_objective(x_N, y_N, sigma=sigma)
result = minimize(loss, params, optimizer=lbfgs(), n_iters=500)
print(result.reason, "after", result.n_iters, "iterations")

# %%
# A good fit leaves residuals about as large as the noise: the training RMSE should be close to
# ``sigma``.
yhat_N = predict(result.params, x_N)
print(f"training RMSE {rmse(y_N, yhat_N):.3f}, noise sigma {sigma}")

# %%
# :func:`tinynn.plot.plot_fit_1d` draws the data and the network's curve on a grid.
fig = plot_fit_1d(x_N, y_N, lambda x_G1: predict(result.params, x_G1))
fig.axes[0].set_title("1-20-1 tanh network fitted by L-BFGS")
