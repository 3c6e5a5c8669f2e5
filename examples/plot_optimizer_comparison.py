"""
Compare optimizers on one problem
=================================

Gradient descent, momentum, Adam, L-BFGS and Levenberg-Marquardt train the same 2-30-1 network
from the same start on
the course notebook's quadratic toy data. The inputs and targets are standardized and the loss is
the notebook's form of the Gaussian negative log-likelihood with ``sigma=1`` and the mean over
examples, half the mean squared error, so one step size means the same thing for every optimizer.

L-BFGS evaluates the loss more than once in some iterations (its line search), and
Levenberg-Marquardt evaluates a refused step now and then, so their curves are drawn against
iterations as recorded in their histories. Even counted that way L-BFGS needs far fewer
iterations than any first-order method on a network this small, and Levenberg-Marquardt, which
solves with the exact Gauss-Newton matrix, ten times fewer again. Its iterations cost more (one
Jacobian and one linear solve each), so the times in the legend are for all 1000 iterations, not
for reaching the floor: the performance page times every method to the same training error.
"""

import matplotlib.pyplot as plt
import numpy as np

from tinynn.data import Standardizer, make_quadratic_data
from tinynn.losses import make_objective
from tinynn.optim import (
    adam,
    gradient_descent,
    lbfgs,
    levenberg_marquardt,
    minimize,
    momentum,
)
from tinynn.params import make_params

x_ND, y_N = make_quadratic_data()
x_ND = Standardizer.fit(x_ND).transform(x_ND)
y_scaler = Standardizer.fit(y_N)
y_N = y_scaler.transform(y_N)

loss = make_objective(x_ND, y_N, sigma=1.0, form="notebook", reduction="mean")
init_params = make_params(2, [30], 1, rng=0)

optimizers = {
    "gradient descent": gradient_descent(step_size=0.1),
    "momentum": momentum(step_size=0.1, mass=0.9),
    "Adam": adam(step_size=1e-2),
    "L-BFGS": lbfgs(),
    "Levenberg-Marquardt": levenberg_marquardt(),
}
results = {
    name: minimize(loss, init_params, optimizer=opt, n_iters=1000)
    for name, opt in optimizers.items()
}

# %%
# Loss against iterations, on a log scale. Each line shows the best loss found so far; the legend
# gives the reason each run stopped and its wall-clock time.
fig, ax = plt.subplots(figsize=(7, 4))
ax.set_title("Best loss so far against iterations, one line per optimizer")
for name, result in results.items():
    history = result.history
    best = np.minimum.accumulate(history.losses)
    ax.plot(
        history.iters,
        best,
        label=f"{name} ({result.reason}, {history.elapsed[-1]:.1f} s)",
    )
ax.set_yscale("log")
ax.set_xlabel("iteration")
ax.set_ylabel("half mean squared error (best so far)")
ax.legend()
fig.tight_layout()

for name, result in results.items():
    rmse_std = np.sqrt(2.0 * result.best_loss)
    print(
        f"{name:>16}: RMSE {rmse_std:.4f} (standardized units) "
        f"after {result.n_iters} iterations"
    )
