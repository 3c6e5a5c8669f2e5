"""Second-order pieces of the Gaussian objective (private to :mod:`tinynn.losses`).

The generalized Gauss-Newton (GGN) matrix of the objective replaces the Hessian of the
likelihood by its expected value, ``J^T diag(1 / sigma**2) J``, where ``J`` is the network's
Jacobian (``tinynn.model.jacobian``); the Gaussian prior adds ``1 / prior_std**2`` on the
diagonal, and a learned ``log sigma`` adds its own curvature, ``2 sum(r**2) / sigma**2`` per output
(``2 N``, its Fisher information, where sigma fits the residuals). It is
positive semi-definite, which is what Levenberg-Marquardt, Laplace approximations and the
evidence need. Everything here is in the order of ``tinynn.tree.flatten`` of the parameters the
objective takes, the reduction (``"mean"`` divides by N) included.

Shape suffixes: N examples, O outputs, P scalars of the flat parameters, Q of a block of them.
"""

from __future__ import annotations

import math
from typing import Any, cast

import autograd
import numpy as np
from autograd.tracer import getval

from tinynn import model, tree
from tinynn.losses._fused import FusedObjective
from tinynn.losses._likelihood import weighted_squares

PARTS = ("full", "diagonal", "last_layer")
DEFAULT_MAX_BYTES = 2**30


def _gigabytes(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.3g} GB"


def check_memory(shape_n: int, n_out: int, n_params: int, part: str, max_bytes: float) -> None:
    """Raise before allocating when the Jacobian and the matrix would pass ``max_bytes``."""
    n_block = n_params if part in ("diagonal", "factors") else n_params * n_params
    needed = 8.0 * (shape_n * n_out * n_params + n_block)
    if needed > max_bytes and part == "factors":
        raise ValueError(
            f"Levenberg-Marquardt's Gauss-Newton system of P={n_params} parameters on "
            f"N={shape_n} examples with O={n_out} outputs needs {_gigabytes(needed)} for the "
            f"Jacobian, more than {_gigabytes(max_bytes)}; train on this many examples with "
            f"optimizer=tinynn.optim.lbfgs() or with minibatches (batch_size=)"
        )
    if needed > max_bytes:
        what = {"full": "matrix", "diagonal": "diagonal", "last_layer": "last-layer block"}[part]
        raise ValueError(
            f"the Gauss-Newton {what} of P={n_params} parameters on N={shape_n} examples with "
            f"O={n_out} outputs needs {_gigabytes(needed)} (the Jacobian and the result), more "
            f"than max_bytes={_gigabytes(max_bytes)}; ask for part='diagonal' or "
            f"part='last_layer', or raise max_bytes"
        )


def gauss_newton_system(
    fused: FusedObjective,
    ws: list[np.ndarray],
    bs: list[np.ndarray],
    log_sigma: Any,
    part: str,
    max_bytes: float,
) -> tuple[float, np.ndarray, Any]:
    """Return the objective's value, its flat gradient and its GGN (``part`` of it).

    The gradient covers every parameter (a learned ``log_sigma`` last); the GGN is the full
    (P, P) matrix, its diagonal (P,), the block of the output layer's ``w`` and ``b`` (Q, Q), or
    for ``part="factors"`` the pair ``(J_MP, d_P)`` with ``GGN = J^T J + diag(d)``: the weighted
    Jacobian of the M = N O outputs (zero in a learned ``log_sigma``'s columns) and the diagonal,
    so that a solver can work in the smaller of the two dimensions.
    """
    n, n_out = fused.y_NO.shape
    n_net = sum(w.size + b.size for w, b in zip(ws, bs, strict=True))
    n_params = n_net + (n_out if fused.learn else 0)
    n_last = ws[-1].size + bs[-1].size
    check_memory(n, n_out, n_last if part == "last_layer" else n_params, part, max_bytes)
    prior_precision = 2.0 * fused.prior_coef  # 1 / prior_std**2, or 0 without a prior
    layers = [{"w": w, "b": b} for w, b in zip(ws, bs, strict=True)]
    if part != "last_layer" and fused.kernel.name is not None and not fused.learn:
        value, grad, jw, _, _ = _fixed_noise_pass(fused, ws, bs, n_net)
    else:
        value, gws, gbs, g_log_sigma = _value_and_grads(fused, ws, bs, log_sigma)
        pieces = [a.ravel() for pair in zip(gws, gbs, strict=True) for a in pair]
        grad = np.concatenate(pieces if g_log_sigma is None else [*pieces, g_log_sigma])
        inv_var = inverse_variance(fused, log_sigma)
        if part == "last_layer":
            j_NOQ = _last_layer_jacobian(layers, fused)
            jw = (j_NOQ * np.sqrt(inv_var)[:, :, None]).reshape(n * n_out, n_last)
            block = jw.T @ jw + prior_precision * np.eye(n_last)
            return value, grad, block * fused.scale
        j_NOP: Any
        if fused.kernel.name is not None:  # the vectorized kernel, without the public checks
            _, j_NOP, _ = model.jacobians(
                ws, bs, fused.x_ND, fused.kernel, wrt_params=True, wrt_x=False
            )
        else:
            j_NOP = model.jacobian(layers, fused.x_ND, activation=fused.kernel.fn)
        jw = (j_NOP.reshape(n, n_out, n_net) * np.sqrt(inv_var)[:, :, None]).reshape(-1, n_net)
    diag = np.empty(n_params)
    diag[:n_net] = prior_precision
    diag[n_net:] = log_sigma_curvature(fused, ws, bs, log_sigma)
    if part == "diagonal":
        diag[:n_net] += np.einsum("mp,mp->p", jw, jw)
        return value, grad, diag * fused.scale
    if part == "factors":  # jw is a fresh array: scaled in place, padded only for a log sigma
        j_MP = jw if n_params == n_net else np.zeros((len(jw), n_params))
        np.multiply(jw, np.sqrt(fused.scale), out=j_MP[:, :n_net])
        return value, grad, (j_MP, diag * fused.scale)
    ggn = np.diag(diag)
    ggn[:n_net, :n_net] += jw.T @ jw
    return value, grad, ggn * fused.scale


def _fixed_noise_pass(
    fused: FusedObjective, ws: list[np.ndarray], bs: list[np.ndarray], n_net: int
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the objective, its flat gradient, the noise-weighted Jacobian (M, P), the
    plain Jacobian (M, P) and the residuals ``out - y`` (N, O).

    For a fixed noise and a built-in activation: one vectorized pass gives the output and
    ``J``, and the gradient is ``J^T`` times the weighted residuals (plus the prior's pull), so
    no separate forward and backward pass is run. The value is summed as the fused pass sums it.
    """
    out_NO, j_NOP, _ = model.jacobians(
        ws, bs, fused.x_ND, fused.kernel, wrt_params=True, wrt_x=False
    )
    j_MP = cast(np.ndarray, j_NOP).reshape(-1, n_net)  # wrt_params=True: never None
    r_NO = out_NO - fused.y_NO
    factor = fused.lik_scale * fused.scale
    if fused.scalar_sigma:
        inv_var = float(fused.inv_var)
        sq = float(np.vdot(r_NO, r_NO)) * inv_var
        grad_P = (r_NO.reshape(-1) * (inv_var * factor)) @ j_MP
        jw = j_MP * math.sqrt(inv_var)
    else:
        inv_var_NO = inverse_variance(fused, None)
        sq = weighted_squares(r_NO, fused.inv_var, False)
        grad_P = ((r_NO * inv_var_NO).reshape(-1) * factor) @ j_MP
        jw = j_MP * np.sqrt(inv_var_NO).reshape(-1, 1)
    total = (0.5 * sq + fused.nll_const) * fused.lik_scale
    if fused.prior_std is not None:
        leaves = [a for pair in zip(ws, bs, strict=True) for a in pair]
        total += fused.prior_term(leaves)
        grad_P += (2.0 * fused.prior_coef * fused.scale) * np.concatenate(
            [a.ravel() for a in leaves]
        )
    return total * fused.scale, grad_P, jw, j_MP, r_NO


def _zero_curvature(a: np.ndarray) -> np.ndarray:
    return np.zeros_like(a)


# f''(z) of each built-in activation, from its output a = f(z) (zero almost everywhere for the
# piecewise-linear ones): the exact Hessian's term in the residuals needs it
SECOND_DERIVATIVES: dict[str, Any] = {
    "tanh": lambda a: -2.0 * a * (1.0 - a * a),
    "sigmoid": lambda a: a * (1.0 - a) * (1.0 - 2.0 * a),
    "softplus": lambda a: -np.expm1(-a) * np.exp(-a),  # s (1 - s) with s = 1 - exp(-a)
    "elu": lambda a: np.where(a > 0.0, 0.0, a + 1.0),
    "relu": _zero_curvature,
    "leaky_relu": _zero_curvature,
    "identity": _zero_curvature,
}


def hessian_support(fused: FusedObjective, n_layers: int) -> str | None:
    """Return why :func:`hessian_system` cannot serve this objective, or None when it can."""
    if n_layers != 2:
        return f"a network with one hidden layer, got {n_layers - 1} hidden layers"
    if fused.learn:
        return 'a fixed sigma, got sigma="learn"'
    if fused.kernel.name not in SECOND_DERIVATIVES:  # a new built-in without its entry
        known = ", ".join(sorted(SECOND_DERIVATIVES))
        name = fused.kernel.name
        return f"an activation whose second derivative it knows ({known}), got {name!r}"
    return None


def input_outer_products(x_ND: np.ndarray) -> np.ndarray:
    """Return ``[x_n, 1] [x_n, 1]^T`` for every example, flattened: (N, (D + 1)**2).

    :func:`hessian_system` needs them at every call; they depend on the data alone, so its
    caller keeps them.
    """
    x1_NI = np.concatenate([x_ND, np.ones((len(x_ND), 1))], axis=1)
    return (x1_NI[:, :, None] * x1_NI[:, None, :]).reshape(len(x_ND), -1)


def hessian_system(
    fused: FusedObjective,
    ws: list[np.ndarray],
    bs: list[np.ndarray],
    max_bytes: float,
    outer_NII: np.ndarray,
) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Return the objective, its flat gradient and ``(H, G)``: its exact Hessian and its
    Gauss-Newton matrix, both (P, P).

    For one hidden layer, a built-in activation and a fixed noise (see
    :func:`hessian_support`). The Hessian is the Gauss-Newton matrix plus the residuals'
    term ``sum_no e_no d^2 f_no / d theta^2`` (``e`` the noise-weighted residuals), which
    Gauss-Newton leaves out: with one hidden layer it lives in each hidden unit's own block,
    ``sum_n (sum_o e_no W2_ho) f''(z_nh) [x_n, 1] [x_n, 1]^T`` for its input weights and bias,
    and ``sum_n e_no f'(z_nh) [x_n, 1]`` between those and its output weights. On noisy data
    the residuals stay large at the minimum and that term is what makes Newton's steps converge
    fast where Gauss-Newton's slow down to a crawl. It need not be positive definite.
    ``outer_NII`` is :func:`input_outer_products` of the objective's inputs.
    """
    n, n_out = fused.y_NO.shape
    n_in, n_hidden = ws[0].shape
    n_first = ws[0].size + bs[0].size
    n_net = n_first + ws[1].size + bs[1].size
    check_memory(n, n_out, n_net, "full", max_bytes)
    value, grad, jw, j_MP, r_NO = _fixed_noise_pass(fused, ws, bs, n_net)
    ggn = jw.T @ jw
    if fused.lik_scale != 1.0:
        ggn *= fused.lik_scale
    ggn.flat[:: n_net + 1] += 2.0 * fused.prior_coef
    ggn *= fused.scale
    hess = np.zeros_like(ggn)  # the residuals' term first
    e_NO = r_NO * inverse_variance(fused, None) * fused.lik_scale
    # the hidden activations are the output weights' columns of J (output 0's)
    a_NH = j_MP.reshape(n, n_out, n_net)[:, 0, n_first : n_first + n_hidden * n_out : n_out]
    fprime_NH = np.ones_like(a_NH)
    fused.kernel.deriv_mul(a_NH.copy(), fprime_NH)
    x1_NI = np.concatenate([fused.x_ND, np.ones((n, 1))], axis=1)  # [x, 1]: I = D + 1 rows of W~
    n_aug = n_in + 1
    second = SECOND_DERIVATIVES[str(fused.kernel.name)]  # a built-in: hessian_support checked
    weight_NH = (e_NO @ ws[1].T) * second(a_NH)
    # both sums over n as matrix products (a three-operand einsum is ten times slower)
    blocks_IIH = (outer_NII.T @ weight_NH).reshape(n_aug, n_aug, n_hidden)
    pulls_NOH = e_NO[:, :, None] * fprime_NH[:, None, :]
    cross_IHO = (x1_NI.T @ pulls_NOH.reshape(n, -1)).reshape(n_aug, n_out, n_hidden)
    cross_IHO = cross_IHO.transpose(0, 2, 1)
    # flat positions of W~ = [W1; b1] (I, H) and of W2 (H, O)
    first_IH = np.arange(n_first).reshape(n_aug, n_hidden)  # b1 follows W1: row D of W~
    second_HO = n_first + np.arange(n_hidden * n_out).reshape(n_hidden, n_out)
    hess[first_IH[:, None, :], first_IH[None, :, :]] += blocks_IIH  # distinct pairs: no add.at
    hess[first_IH[:, :, None], second_HO[None, :, :]] += cross_IHO
    hess[second_HO[None, :, :], first_IH[:, :, None]] += cross_IHO
    hess *= fused.scale
    hess += ggn
    return value, grad, (hess, ggn)


def log_sigma_curvature(
    fused: FusedObjective, ws: list[np.ndarray], bs: list[np.ndarray], log_sigma: Any
) -> np.ndarray:
    """Return ``d^2 NLL / d log_sigma^2 = 2 sum_n r_no^2 / sigma_o^2`` per output (O,).

    Empty when sigma is not learned. It is ``2 N`` (the Fisher information) where sigma is at its
    best value for the network, and stays positive everywhere, so a Gauss-Newton step in
    ``log_sigma`` far from that value is a short, safe one.
    """
    if not fused.learn:
        return np.zeros(0)
    out_NO, _ = model.forward(ws, bs, fused.x_ND, fused.kernel)
    r_NO = out_NO - fused.y_NO
    return 2.0 * np.einsum("no,no->o", r_NO, r_NO) * inverse_variance(fused, log_sigma)[0]


def _value_and_grads(
    fused: FusedObjective, ws: list[np.ndarray], bs: list[np.ndarray], log_sigma: Any
) -> tuple[float, list[Any], list[Any], Any]:
    """Return the objective and its gradients: the fused pass, or autograd for a callable."""
    if fused.kernel.name is not None:
        value, payload = fused.value(ws, bs, log_sigma, keep=True)
        return (value, *fused.grads(payload, ws, bs, log_sigma, 1.0))
    layers = [{"w": w, "b": b} for w, b in zip(ws, bs, strict=True)]
    if fused.learn:
        value, (g_layers, g_log_sigma) = autograd.value_and_grad(
            lambda both: fused.reference(both[0], both[1])
        )((layers, np.asarray(log_sigma, dtype=np.float64)))
    else:
        value, g_layers = autograd.value_and_grad(lambda net: fused.reference(net, None))(layers)
        g_log_sigma = None
    return float(value), [g["w"] for g in g_layers], [g["b"] for g in g_layers], g_log_sigma


def inverse_variance(fused: FusedObjective, log_sigma: Any) -> np.ndarray:
    """Return ``1 / sigma**2`` for every element of the residuals, shape (N, O)."""
    if fused.learn:
        inv = np.exp(-2.0 * np.asarray(getval(log_sigma), dtype=np.float64))[None, :]
    else:
        inv = np.asarray(fused.inv_var, dtype=np.float64)
        if inv.ndim == 1 and fused.y.ndim == 2:  # one per output
            inv = inv[None, :]
    return np.broadcast_to(inv, fused.y_NO.shape)


def _last_layer_jacobian(layers: list[dict[str, np.ndarray]], fused: FusedObjective) -> Any:
    """Return the Jacobian of the outputs for the output layer's ``w`` and ``b`` (N, O, Q)."""
    n, n_out = fused.y_NO.shape
    if len(layers) > 1:
        hidden = model.forward(
            [lay["w"] for lay in layers[:-1]],
            [lay["b"] for lay in layers[:-1]],
            fused.x_ND,
            fused.kernel,
        )[0]
        feats_NH = np.asarray(fused.kernel.fn(hidden))
    else:
        feats_NH = fused.x_ND
    n_hidden = feats_NH.shape[1]
    j_NOQ = np.zeros((n, n_out, (n_hidden + 1) * n_out))
    for o in range(n_out):
        j_NOQ[:, o, o : n_hidden * n_out : n_out] = feats_NH
        j_NOQ[:, o, n_hidden * n_out + o] = 1.0
    return j_NOQ


def canonical_order(params: Any, canonical: Any) -> np.ndarray:
    """Return ``perm`` with ``flatten(params)[i] == canonical_flat[perm[i]]``.

    The canonical layout is the objective's own: layer by layer ``w`` then ``b``, a learned
    ``log_sigma`` last. ``canonical`` is the parameters rebuilt in that layout (same leaves).
    """
    offset = [0]

    def number(leaf: Any) -> np.ndarray:
        start, size = offset[0], int(np.size(leaf))
        offset[0] += size
        return np.arange(start, start + size).reshape(np.shape(leaf))

    index_tree = tree.map(number, canonical)
    in_user_order = tree.map(lambda _leaf, index: index, params, index_tree)
    return np.asarray(tree.flatten(in_user_order)[0], dtype=np.int64)
