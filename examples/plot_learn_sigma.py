"""
Learn the noise level sigma
===========================

The Gaussian likelihood has a second parameter besides the network's weights: the noise standard
deviation :math:`\\sigma`. Because tinynn's loss accepts a traced ``sigma``, it can be learned
with the weights. We learn :math:`\\log\\sigma`, so that :math:`\\sigma = e^{\\log\\sigma}` stays
positive, and put it next to the network in one parameter tree: :func:`tinynn.optim.minimize`
trains any tree.

The course notebook's quadratic toy data has noise standard deviation 0.1, so that is what a good
fit should find.
"""

import autograd.numpy as anp
import matplotlib.pyplot as plt
import numpy as np

from tinynn.data import Standardizer, make_quadratic_data
from tinynn.losses import gaussian_nll
from tinynn.model import predict
from tinynn.optim import lbfgs, minimize
from tinynn.params import make_params

x_ND, y_N = make_quadratic_data()  # true noise sigma 0.1
x_ND = Standardizer.fit(x_ND).transform(x_ND)  # y keeps its units, and so does sigma


def loss(tree):
    sigma = anp.exp(tree["log_sigma"])
    return gaussian_nll(y_N, predict(tree["net"], x_ND), sigma, reduction="mean")


def learned_sigma(tree):
    return float(np.exp(tree["log_sigma"]))


init = {"net": make_params(2, [30], 1, rng=0), "log_sigma": 0.0}  # start at sigma = 1
result = minimize(
    loss,
    init,
    optimizer=lbfgs(),
    n_iters=1500,
    metrics={"sigma": learned_sigma},
    metrics_every=5,
)
sigma_hat = learned_sigma(result.params)
residual_N = y_N - predict(result.params["net"], x_ND)
print(
    f"learned sigma {sigma_hat:.4f}, "
    f"RMSE of the residuals {np.sqrt(np.mean(residual_N**2)):.4f}"
)

# %%
# The learned sigma during training. It first grows to cover the large early errors, then falls
# as the network fits the curve, and settles near the true noise level (a little below it: the
# maximum-likelihood sigma is the RMSE of the training residuals, which the network has partly fit).
fig, ax = plt.subplots(figsize=(6, 4))
ax.set_title("The learned sigma settles near the true noise level")
ax.plot(
    result.history.metric_iters, result.history.metrics["sigma"], label="learned sigma"
)
ax.axhline(0.1, color="k", linestyle="--", label="true noise sigma")
ax.set_yscale("log")
ax.set_xlabel("iteration")
ax.set_ylabel("sigma")
ax.legend()
fig.tight_layout()

# %%
# Why the full form of the loss is needed. With the network fixed at the fit, each form is a
# function of sigma alone. The full negative log-likelihood has its minimum where sigma equals the
# RMSE of the residuals. The notebook's form, :math:`\frac{1}{2\sigma^2}\sum_n (y_n - \hat y_n)^2`,
# drops the :math:`\log\sigma` term and only falls as sigma grows: learning sigma with it sends
# sigma to infinity.
yhat_N = predict(result.params["net"], x_ND)
sigma_grid = np.geomspace(0.02, 2.0, 200)
full = [gaussian_nll(y_N, yhat_N, s, reduction="mean") for s in sigma_grid]
notebook = [
    gaussian_nll(y_N, yhat_N, s, form="notebook", reduction="mean") for s in sigma_grid
]
# The full form goes below zero near its minimum: a linear axis. The notebook's
# form is positive and spans orders of magnitude: a log axis.
fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.4))
fig.suptitle("The loss as a function of sigma: full form and notebook form")
left.plot(sigma_grid, full, color="C0", label='form="full"')
right.plot(sigma_grid, notebook, color="C1", label='form="notebook"')
for ax in (left, right):
    ax.axvline(sigma_hat, color="k", linestyle=":", label="learned sigma")
    ax.set_xscale("log")
    ax.set_xlabel("sigma")
    ax.legend(fontsize="small")
left.set_ylim(min(full) - 0.5, 4.0)
left.set_ylabel("mean loss per example")
right.set_yscale("log")
right.set_ylabel("mean loss per example (log axis)")
fig.tight_layout()
