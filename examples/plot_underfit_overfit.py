"""
Underfitting and overfitting as hidden units grow
=================================================

Networks with one hidden layer of 1 to 100 tanh units are fitted to 25 noisy points from a
curve and scored on 500 fresh points from the same curve. One draw of 25 points tells a noisy
story (which network happens to swing wildly between the points changes from draw to draw), so
the whole experiment is repeated on 10 draws of the data, each with its own initialization, and
the figure shows the median over the draws with the band between the 25th and 75th percentile.

With one unit the network cannot follow the curve (underfitting: both errors are high). Two or
three units follow it. With more units and nothing to hold them back, L-BFGS drives the
training error below the noise level and the network follows the noise (overfitting: the
training error keeps falling while the test error jumps up).

The dashed line is the noise standard deviation, the best test RMSE any model can expect.
"""

import matplotlib.pyplot as plt
import numpy as np

from tinynn.losses import make_objective, rmse
from tinynn.model import predict
from tinynn.optim import lbfgs, minimize
from tinynn.params import make_params

sigma = 0.3
hidden_sizes = [1, 2, 3, 5, 10, 30, 100]
n_draws = 10


def true_curve(x_N):
    return np.sin(1.5 * x_N) + 0.3 * x_N


def draw(rng, n):
    x_N = rng.uniform(-3.0, 3.0, size=n)
    return x_N, true_curve(x_N) + sigma * rng.standard_normal(n)


# %%
# Fit every size on every draw, with the same number of L-BFGS iterations.
train_rmse = np.zeros((n_draws, len(hidden_sizes)))
test_rmse = np.zeros((n_draws, len(hidden_sizes)))
first_draw_fits = {}
for k in range(n_draws):
    rng = np.random.default_rng(k)
    x_train_N, y_train_N = draw(rng, 25)
    x_test_N, y_test_N = draw(rng, 500)
    loss = make_objective(x_train_N, y_train_N, sigma=sigma)
    for j, n_hidden in enumerate(hidden_sizes):
        start = make_params(1, [n_hidden], 1, rng=k)
        params = minimize(loss, start, optimizer=lbfgs(), n_iters=1000).params
        train_rmse[k, j] = rmse(y_train_N, predict(params, x_train_N))
        test_rmse[k, j] = rmse(y_test_N, predict(params, x_test_N))
        if k == 0:
            first_draw_fits[n_hidden] = params
            first_draw = (x_train_N, y_train_N)

median_train = np.median(train_rmse, axis=0)
median_test = np.median(test_rmse, axis=0)
for h, tr, te in zip(hidden_sizes, median_train, median_test, strict=True):
    print(f"H = {h:3d}: median train RMSE {tr:.3f}, median test RMSE {te:.3f}")
print("worst test RMSE of any draw:", round(float(test_rmse.max()), 1))

# %%
# Training and test error against the number of hidden units: the median over the 10 draws
# and the band between the 25th and 75th percentile. The median, not the mean: on a few draws
# a large network swings so far between the points that its test RMSE reaches the tens or
# hundreds, which would swamp a mean.
fig, ax = plt.subplots(figsize=(6, 4))
ax.set_title("Training and test RMSE against the number of hidden units")
for values, median, marker, name in [
    (train_rmse, median_train, "o-", "training"),
    (test_rmse, median_test, "s-", "test"),
]:
    (line,) = ax.plot(hidden_sizes, median, marker, label=f"{name} (median)")
    low, high = np.percentile(values, [25, 75], axis=0)
    ax.fill_between(hidden_sizes, low, high, color=line.get_color(), alpha=0.2)
ax.axhline(sigma, color="k", linestyle="--", label="noise sigma", zorder=3)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("hidden units H")
ax.set_ylabel("RMSE (median over 10 draws)")
ax.legend()
fig.tight_layout()

# %%
# Three fits to the first draw next to the true curve: too simple, about right, and too
# flexible.
x_train_N, y_train_N = first_draw
grid_G = np.linspace(-3.0, 3.0, 300)
fig, axes = plt.subplots(1, 3, figsize=(8, 3.1), sharey=True)
fig.suptitle("Too simple, about right and too flexible, on the first draw")
for ax, h in zip(axes, [1, 3, 100], strict=True):
    ax.plot(grid_G, true_curve(grid_G), "k--", label="true curve")
    ax.plot(grid_G, predict(first_draw_fits[h], grid_G), "C0-", label="network")
    ax.plot(x_train_N, y_train_N, "k.", label="training data", zorder=3)
    ax.set_title(f"H = {h}")
    ax.set_xlabel("x")
axes[0].set_ylim(-3.5, 3.5)
axes[0].set_ylabel("y")
axes[0].legend(fontsize="small")
fig.tight_layout()
