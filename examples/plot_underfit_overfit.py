"""
Underfitting and overfitting as hidden units grow
=================================================

Networks with one hidden layer of 1 to 100 tanh units are fitted to the same 25 noisy training
points and scored on 500 fresh test points from the same curve. With too few units the network
cannot follow the curve (underfitting: both errors are high). With many units and nothing to hold
it back, L-BFGS drives the training error below the noise level and the network starts to follow
the noise (overfitting: the training error keeps falling while the test error rises).

The dashed line is the noise standard deviation, the best test RMSE any model can expect.
"""

import matplotlib.pyplot as plt
import numpy as np

from tinynn.losses import make_objective, rmse
from tinynn.model import predict
from tinynn.optim import lbfgs, minimize
from tinynn.params import make_params

rng = np.random.default_rng(1)
sigma = 0.3


def true_curve(x_N):
    return np.sin(1.5 * x_N) + 0.3 * x_N


x_train_N = rng.uniform(-3.0, 3.0, size=25)
y_train_N = true_curve(x_train_N) + sigma * rng.standard_normal(25)
x_test_N = rng.uniform(-3.0, 3.0, size=500)
y_test_N = true_curve(x_test_N) + sigma * rng.standard_normal(500)

# %%
# Fit each size from the same seed, with the same number of L-BFGS iterations.
hidden_sizes = [1, 2, 3, 5, 10, 30, 100]
loss = make_objective(x_train_N, y_train_N, sigma=sigma)
fits = {}
for n_hidden in hidden_sizes:
    result = minimize(
        loss, make_params(1, [n_hidden], 1, rng=0), optimizer=lbfgs(), n_iters=1000
    )
    fits[n_hidden] = result.params

train_rmse = [rmse(y_train_N, predict(fits[h], x_train_N)) for h in hidden_sizes]
test_rmse = [rmse(y_test_N, predict(fits[h], x_test_N)) for h in hidden_sizes]
for h, tr, te in zip(hidden_sizes, train_rmse, test_rmse, strict=True):
    print(f"H = {h:3d}: train RMSE {tr:.3f}, test RMSE {te:.3f}")

# %%
# Training and test error against the number of hidden units.
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(hidden_sizes, train_rmse, "o-", label="training")
ax.plot(hidden_sizes, test_rmse, "s-", label="test")
ax.axhline(sigma, color="k", linestyle="--", label="noise sigma")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("hidden units H")
ax.set_ylabel("RMSE")
ax.legend()
fig.tight_layout()

# %%
# Three of the fits next to the true curve: too simple, about right, and too flexible.
grid_G = np.linspace(-3.0, 3.0, 300)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), sharey=True)
for ax, h in zip(axes, [1, 2, 100], strict=True):
    ax.plot(grid_G, true_curve(grid_G), "k--", label="true curve")
    ax.plot(x_train_N, y_train_N, "k.", label="training data")
    ax.plot(grid_G, predict(fits[h], grid_G), "b-", label="network")
    ax.set_title(f"H = {h}")
    ax.set_xlabel("x")
axes[0].set_ylabel("y")
axes[0].legend(fontsize="small")
fig.tight_layout()
