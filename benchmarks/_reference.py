"""Hand-written references and "before" baselines for the benchmarks.

Everything here is independent of tinynn, so the benchmarks can run while tinynn is incomplete:

- the notebook's quadratic toy data (same legacy RandomState stream);
- hand-written numpy backprop for a 2-H-1 tanh network and the Gaussian NLL, allocating
  (`numpy_value_and_grad`, the 1.0x reference), with preallocated buffers (`PreallocatedBackprop`)
  and on a flat parameter vector for scipy (`flat_value_and_grad`);
- the notebook-style code written from the notebook's description: its predict with the output
  squeeze, its loss, and its gradient-descent loop that calls the gradient twice per iteration and
  deep-copies the parameters into the history every iteration;
- a plain list-of-dict predict for autograd (the "before" baseline of the fast path).

Shape suffixes: N examples, D input features, H hidden units.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import autograd.numpy as ag_np
import numpy as np

Params = list[dict[str, Any]]

LOG_2PI = math.log(2.0 * math.pi)


def make_quadratic_data(n_examples: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return the notebook's quadratic toy data: x_ND uniform on [-5, 5]^2, y_N with noise 0.1."""
    prng = np.random.RandomState(seed)
    x_ND = prng.uniform(low=-5, high=5, size=(n_examples, 2))
    y_N = (
        np.dot(np.square(x_ND), np.array([-2.0, 2.0]))
        + np.dot(x_ND, np.array([4.2, -4.2]))
        + 0.1 * prng.randn(n_examples)
    )
    return x_ND, y_N


def glorot_params(n_inputs: int, n_hidden: int, seed: int) -> Params:
    """Return 2-H-1 parameters with Glorot-normal weights and zero biases, as float64."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in ((n_inputs, n_hidden), (n_hidden, 1)):
        std = math.sqrt(2.0 / (n_in + n_out))
        params.append({"w": std * rng.standard_normal((n_in, n_out)), "b": np.zeros(n_out)})
    return params


def copy_params(params: Params) -> Params:
    """Return a deep copy of a list-of-dict parameter set."""
    return [{key: np.array(value, dtype=float) for key, value in layer.items()} for layer in params]


def sgd_inplace(params: Params, grads: Params, step_size: float) -> None:
    """Apply one gradient-descent update to ``params`` in place (the same cost for every case)."""
    for layer, grad in zip(params, grads, strict=True):
        for key in layer:
            layer[key] -= step_size * grad[key]


def nll_constant(n_values: int, sigma: float) -> float:
    """Return the parameter-free part of the full Gaussian NLL of ``n_values`` observations."""
    return n_values * (0.5 * LOG_2PI + math.log(sigma))


# ---------------------------------------------------------------------------------------------
# Hand-written numpy backprop (the reference)


def numpy_value_and_grad(
    params: Params, x_ND: np.ndarray, y_N: np.ndarray, sigma: float
) -> tuple[float, Params]:
    """Return the full Gaussian NLL of a 2-H-1 tanh network and its gradient, by hand.

    The loss is ``sum(0.5*log(2*pi) + log(sigma) + 0.5*((y - yhat)/sigma)**2)``.
    """
    w_DH, b_H = params[0]["w"], params[0]["b"]
    w_H1, b_1 = params[1]["w"], params[1]["b"]
    h_NH = np.tanh(x_ND @ w_DH + b_H)
    resid_N = h_NH @ w_H1[:, 0] + b_1[0] - y_N
    inv_var = 1.0 / (sigma * sigma)
    loss = 0.5 * inv_var * float(resid_N @ resid_N) + nll_constant(y_N.size, sigma)
    dyhat_N = inv_var * resid_N
    da_NH = np.outer(dyhat_N, w_H1[:, 0])
    da_NH *= 1.0 - h_NH * h_NH
    grads = [
        {"w": x_ND.T @ da_NH, "b": da_NH.sum(axis=0)},
        {"w": (h_NH.T @ dyhat_N)[:, None], "b": np.array([dyhat_N.sum()])},
    ]
    return loss, grads


class PreallocatedBackprop:
    """Hand-written backprop that reuses its work buffers and gradient arrays across calls.

    With ``exp_tanh=True`` the hidden tanh is computed as ``2 / (1 + exp(-2 a)) - 1`` in place,
    which is faster than ``np.tanh`` where numpy does not vectorize float64 tanh (tinynn's fast
    path does the same on large arrays).
    """

    def __init__(
        self, x_ND: np.ndarray, y_N: np.ndarray, sigma: float, n_hidden: int, exp_tanh=False
    ) -> None:
        n_examples, n_inputs = x_ND.shape
        self.x_ND, self.y_N, self.sigma, self.exp_tanh = x_ND, y_N, sigma, exp_tanh
        self.h_NH = np.empty((n_examples, n_hidden))
        self.tmp_NH = np.empty((n_examples, n_hidden))
        self.resid_N = np.empty(n_examples)
        self.grads: Params = [
            {"w": np.empty((n_inputs, n_hidden)), "b": np.empty(n_hidden)},
            {"w": np.empty((n_hidden, 1)), "b": np.empty(1)},
        ]
        self.constant = nll_constant(n_examples, sigma)

    def __call__(self, params: Params) -> tuple[float, Params]:
        """Return the loss and the gradient (the arrays are overwritten by the next call)."""
        h_NH, tmp_NH, resid_N, grads = self.h_NH, self.tmp_NH, self.resid_N, self.grads
        w_H = params[1]["w"][:, 0]
        np.dot(self.x_ND, params[0]["w"], out=h_NH)
        h_NH += params[0]["b"]
        if self.exp_tanh:
            h_NH *= -2.0
            np.minimum(h_NH, 700.0, out=h_NH)  # exp would overflow beyond this
            np.exp(h_NH, out=h_NH)
            h_NH += 1.0
            np.divide(2.0, h_NH, out=h_NH)
            h_NH -= 1.0
        else:
            np.tanh(h_NH, out=h_NH)
        np.dot(h_NH, w_H, out=resid_N)
        resid_N += params[1]["b"][0]
        resid_N -= self.y_N
        inv_var = 1.0 / (self.sigma * self.sigma)
        loss = 0.5 * inv_var * float(resid_N @ resid_N) + self.constant
        resid_N *= inv_var  # now d loss / d yhat
        np.dot(h_NH.T, resid_N, out=grads[1]["w"][:, 0])
        grads[1]["b"][0] = resid_N.sum()
        np.multiply(h_NH, h_NH, out=tmp_NH)
        np.subtract(1.0, tmp_NH, out=tmp_NH)
        tmp_NH *= resid_N[:, None]
        tmp_NH *= w_H
        np.dot(self.x_ND.T, tmp_NH, out=grads[0]["w"])
        np.sum(tmp_NH, axis=0, out=grads[0]["b"])
        return loss, grads


def flat_value_and_grad(
    theta_P: np.ndarray, x_ND: np.ndarray, y_N: np.ndarray, sigma: float, n_hidden: int
) -> tuple[float, np.ndarray]:
    """Return the loss and gradient on a flat vector laid out layer by layer, 'w' before 'b'."""
    loss, grads = numpy_value_and_grad(
        unflatten(theta_P, x_ND.shape[1], n_hidden), x_ND, y_N, sigma
    )
    return loss, np.concatenate([grad[key].ravel() for grad in grads for key in ("w", "b")])


def flatten(params: Params) -> np.ndarray:
    """Return the parameters as one vector, layer by layer, 'w' before 'b'."""
    return np.concatenate([layer[key].ravel() for layer in params for key in ("w", "b")])


def unflatten(theta_P: np.ndarray, n_inputs: int, n_hidden: int) -> Params:
    """Invert `flatten` for a 2-H-1 network (the returned arrays are views of ``theta_P``)."""
    sizes = [n_inputs * n_hidden, n_hidden, n_hidden, 1]
    w_DH, b_H, w_H1, b_1 = np.split(theta_P, np.cumsum(sizes)[:-1])
    return [{"w": w_DH.reshape(n_inputs, n_hidden), "b": b_H}, {"w": w_H1.reshape(-1, 1), "b": b_1}]


def numpy_predict(params: Params, x_ND: np.ndarray) -> np.ndarray:
    """Return the 2-H-1 tanh network's prediction yhat_N with plain numpy."""
    h_NH = np.tanh(x_ND @ params[0]["w"] + params[0]["b"])
    return h_NH @ params[1]["w"][:, 0] + params[1]["b"][0]


# ---------------------------------------------------------------------------------------------
# Autograd baselines: plain list-of-dict code and the notebook's own code


def plain_predict(params: Params, x_ND: Any) -> Any:
    """Predict with a plain list-of-dict network written for autograd (tanh hidden layers)."""
    h = x_ND
    for layer in params[:-1]:
        h = ag_np.tanh(ag_np.dot(h, layer["w"]) + layer["b"])
    return (ag_np.dot(h, params[-1]["w"]) + params[-1]["b"])[:, 0]


def plain_nll(params: Params, x_ND: np.ndarray, y_N: np.ndarray, sigma: float) -> Any:
    """Return the full Gaussian NLL of `plain_predict`, written the plain autograd way."""
    resid_N = (y_N - plain_predict(params, x_ND)) / sigma
    return 0.5 * ag_np.sum(resid_N**2) + nll_constant(y_N.size, sigma)


def notebook_predict(x: Any = None, nn_param_list: Any = None, activation_func: Any = ag_np.tanh):
    """Predict as the notebook does: promote x to 2-D, run the layers, squeeze the output."""
    out_arr = None
    for layer_id, layer_dict in enumerate(nn_param_list):
        if layer_id == 0:
            if x.ndim > 1:
                in_arr = x
            elif x.size == nn_param_list[0]["w"].shape[0]:
                in_arr = x[ag_np.newaxis, :]
            else:
                in_arr = x[:, ag_np.newaxis]
        else:
            in_arr = activation_func(out_arr)
        out_arr = ag_np.dot(in_arr, layer_dict["w"]) + layer_dict["b"]
    return ag_np.squeeze(out_arr)


def make_notebook_loss(x_ND: np.ndarray, y_N: np.ndarray, sigma: float):
    """Return the notebook's loss closure: 0.5 / sigma^2 * sum((y - yhat)^2)."""

    def loss(nn_params: Any) -> Any:
        yhat_N = notebook_predict(x_ND, nn_params)
        return 0.5 / ag_np.square(sigma) * ag_np.sum(np.square(y_N - yhat_N))

    return loss


def notebook_gradient_descent(f, g, init_x_list_of_dict=None, n_iters=100, step_size=0.001):
    """Run the notebook's list-of-dict gradient descent, faithfully including its costs.

    Like the notebook: copies the initial parameters, computes the gradient for the update and
    again for the history (twice per iteration), evaluates ``f`` separately, deep-copies the
    parameters into the history every iteration and prints progress on iterations 1-3 and every
    50th.
    """
    x_list_of_dict = copy.deepcopy(init_x_list_of_dict)
    history: dict[str, list[Any]] = {"iter": [], "f": [], "x": [], "g": []}
    start_time = time.time()
    for iter_id in range(n_iters):
        if iter_id > 0:
            grad_list_of_dict = g(x_list_of_dict)
            for layer_id, x_layer_dict in enumerate(x_list_of_dict):
                for key in x_layer_dict:
                    grad = grad_list_of_dict[layer_id][key]
                    x_layer_dict[key] = x_layer_dict[key] - step_size * grad
        fval = f(x_list_of_dict)
        history["iter"].append(iter_id)
        history["f"].append(fval)
        history["x"].append(copy.deepcopy(x_list_of_dict))
        history["g"].append(g(x_list_of_dict))
        if iter_id < 3 or (iter_id + 1) % 50 == 0:
            elapsed = time.time() - start_time
            print(
                f"completed iter {iter_id + 1:5d}/{n_iters} after {elapsed:7.1f} sec "
                f"| loss {fval:.6e}"
            )
    return x_list_of_dict, history


class NumpyAdam:
    """Hand-written Adam on list-of-dict parameters, updated in place (the reference loop)."""

    def __init__(self, params: Params, step_size: float) -> None:
        self.step_size = step_size
        self.first = [{k: np.zeros_like(v) for k, v in layer.items()} for layer in params]
        self.second = [{k: np.zeros_like(v) for k, v in layer.items()} for layer in params]
        self.t = 0

    def update(self, params: Params, grads: Params) -> None:
        """Apply one Adam step to ``params`` in place (beta 0.9 and 0.999, eps 1e-8)."""
        b1, b2, eps = 0.9, 0.999, 1e-8
        self.t += 1
        correction = self.step_size * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for layer, grad, m, v in zip(params, grads, self.first, self.second, strict=True):
            for key in layer:
                m[key] *= b1
                m[key] += (1 - b1) * grad[key]
                v[key] *= b2
                v[key] += (1 - b2) * grad[key] ** 2
                layer[key] -= correction * m[key] / (np.sqrt(v[key]) + eps)
