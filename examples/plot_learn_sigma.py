"""
Learn the noise level sigma
===========================

The Gaussian likelihood has a second parameter besides the network's weights: the noise standard
deviation :math:`\\sigma`. Because tinynn's loss accepts a traced ``sigma``, it can be learned
with the weights. We learn :math:`\\log\\sigma`, so that :math:`\\sigma = e^{\\log\\sigma}` stays
positive, and put it next to the network in one parameter tree: :func:`tinynn.optim.minimize`
trains any tree.

The course notebook's toy data has noise standard deviation 0.1, so that is what a good fit should
find. For comparison the same is tried with the notebook's form of the loss, which drops the
:math:`\\log\\sigma` term: its :math:`\\sigma` only grows.
"""

import autograd.numpy as anp
import matplotlib.pyplot as plt
from tinynn.data import make_quadratic_data
from tinynn.losses import gaussian_nll

from tinynn.model import predict
from tinynn.optim import adam, minimize
from tinynn.params import make_params

x_ND, y_N = make_quadratic_data()  # true noise sigma 0.1


def make_loss(form):
    def loss(tree):
        sigma = anp.exp(tree["log_sigma"])
        return gaussian_nll(y_N, predict(tree["net"], x_ND), sigma, form=form, reduction="mean")

    return loss


init = {"net": make_params(2, [30], 1, rng=0), "log_sigma": 0.0}  # start at sigma = 1


def sigma_of(tree):
    return float(anp.exp(tree["log_sigma"]))


results = {
    form: minimize(
        make_loss(form),
        init,
        optimizer=adam(step_size=0.02),
        n_iters=3000,
        metrics={"sigma": sigma_of},
        metrics_every=10,
    )
    for form in ["full", "notebook"]
}
for form, result in results.items():
    print(f'form="{form}": learned sigma {sigma_of(result.params):.4f}')

# %%
# The learned sigma against iterations. With the full likelihood it settles near the true noise
# level 0.1 (a little below it, as a maximum-likelihood estimate on the training data does); with
# the notebook's form, which has no :math:`\log\sigma` penalty, it keeps growing.
fig, ax = plt.subplots(figsize=(6, 4))
for form, result in results.items():
    history = result.history
    ax.plot(history.metric_iters, history.metrics["sigma"], label=f'form="{form}"')
ax.axhline(0.1, color="k", linestyle="--", label="true noise sigma")
ax.set_yscale("log")
ax.set_xlabel("iteration")
ax.set_ylabel("learned sigma")
ax.legend()
fig.tight_layout()
