"""The objective built by ``tinynn.losses.make_objective`` (private to :mod:`tinynn.losses`).

:class:`Objective` is what users call and differentiate; :class:`FlatObjective` is the same
objective read on one flat parameter vector, the protocol that L-BFGS (and any method working on
``theta_P``) uses without knowing this class. The treatment of the noise lives here, in one place:

- ``"fixed"``: sigma is given; the objective takes the network's parameters;
- ``"profile"``: sigma is learned without a prior. For any network the maximum-likelihood sigma is
  the RMS of its residuals, so sigma is profiled out: the objective is the likelihood at unit
  noise, whose minimizer in the network is the maximum-likelihood network, and
  :meth:`Objective.unpack` returns the RMS residual as sigma;
- ``"joint"``: sigma is learned with a prior; the objective takes ``{'net': params,
  'log_sigma': s_O}`` and trains ``log sigma`` with the network.

Shape suffixes: N examples, D input features, O outputs, P scalars in a flat parameter vector.
"""

from __future__ import annotations

from typing import Any

import autograd
import numpy as np
from autograd.tracer import box_types, isbox

from tinynn import model, tree
from tinynn._checks import (
    as_float_array,
    check_choice,
    check_positive,
    check_std,
    describe,
    shape_of,
)
from tinynn._primitive import any_box, unbox
from tinynn._typing import Params, Tree
from tinynn.losses._batches import check_rows, chunked_value, residual_squares
from tinynn.losses._flat import FlatObjective
from tinynn.losses._fused import FusedObjective, fast_objective
from tinynn.losses._likelihood import FORMS, REDUCTIONS, check_sigma
from tinynn.losses._second_order import (
    DEFAULT_MAX_BYTES,
    PARTS,
    canonical_order,
    gauss_newton_system,
    inverse_variance,
    log_sigma_curvature,
)


class Objective:
    """The training objective ``loss(params)`` built by :func:`make_objective`.

    Calling it returns the negative log-likelihood of the stored data (plus the negative log
    prior when ``prior_std`` is set) at ``params``; autograd differentiates it as one node.
    With ``sigma="learn"`` and a prior, ``params`` is ``{'net': params, 'log_sigma': s_O}``
    (build it with :meth:`init`); :meth:`unpack` returns the network and sigma of any
    parameters the objective takes.

    Attributes
    ----------
    x : ndarray of shape (N, D)
        The inputs, as checked at build time.
    y : ndarray of shape (N,) or (N, O)
        The targets.
    noise : {"fixed", "profile", "joint"}
        How sigma is treated (see :func:`make_objective`).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.losses import make_objective
    >>> from tinynn.params import make_params
    >>> x = np.linspace(-1, 1, 20)[:, None]
    >>> y = 2.0 * x[:, 0]
    >>> loss = make_objective(x, y, sigma="learn", prior_std=10.0)
    >>> loss.noise
    'joint'
    >>> params = loss.init(make_params(1, [], rng=0))
    >>> sorted(params), params["log_sigma"]
    (['log_sigma', 'net'], array([0.]))
    """

    def __init__(self, fused: FusedObjective, act: model.Activation, noise: str) -> None:
        self._fused = fused
        self._act = act
        self.noise = noise
        self._joint = noise == "joint"
        self._traced_only = act.name is None  # a custom activation has no fused numpy pass
        self.x = fused.x_ND
        self.y = fused.y
        self._n_out = fused.y_NO.shape[1]
        # (w shape, b shape) of every layer, once parameters have passed the full check
        self._layout: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        self._shapes: list[tuple[int, int]] = []

    # -- evaluation ------------------------------------------------------------------------------

    def __call__(self, params: Tree) -> Any:
        net, log_sigma = self._split(params)
        self._check(net)
        return self._evaluate(net, log_sigma, self._fused)

    def _evaluate(self, net: Any, log_sigma: Any, fused: FusedObjective) -> Any:
        if self._act.name is None:
            return fused.reference(net, log_sigma)
        if fused is self._fused and not isbox(net) and not isbox(log_sigma):
            return chunked_value(fused, net, log_sigma)
        return fast_objective(net, log_sigma, fused)

    @property
    def n_examples(self) -> int:
        """N, the number of examples; minibatch row indices run from 0 to N - 1."""
        return int(self.x.shape[0])

    def value_and_grad(self, params: Tree) -> tuple[float, Tree]:
        """Return the loss and its gradient at plain ``params`` without autograd's tracing.

        Gives the same numbers as ``autograd.value_and_grad(loss)(params)`` about 30 us sooner
        per call; meant for optimizer loops.

        Parameters
        ----------
        params : list of dict, or dict
            Network parameters matching the data's D inputs and O outputs (with a learned
            sigma and a prior, ``{'net': params, 'log_sigma': s_O}``).

        Returns
        -------
        value : float
            The objective at ``params``.
        grads : list of dict, or dict
            Its gradient, new arrays shaped like ``params``.

        Raises
        ------
        ValueError
            If ``params`` does not fit the data (both sizes named).

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.losses import make_objective
        >>> loss = make_objective(np.array([[1.0]]), np.array([3.0]), form="notebook")
        >>> params = [{'w': np.array([[1.0]]), 'b': np.array([0.0])}]
        >>> value, grads = loss.value_and_grad(params)
        >>> float(value), grads[0]['w'].tolist(), grads[0]['b'].tolist()
        (2.0, [[-2.0]], [-2.0])
        """
        return self._value_and_grad(params, self._fused)

    def batch_value_and_grad(self, params: Tree, index: Any) -> tuple[float, Tree]:
        """Return an unbiased estimate of the loss and its gradient from the rows ``index``.

        The likelihood of the B rows is scaled by N / B (the prior is not), so over a random
        minibatch the value and the gradient estimate the full objective's; over the
        minibatches of one epoch (a permutation of the rows cut in pieces) their gradients,
        each weighted by its B / N, add up to the full gradient exactly. This is the minibatch
        protocol of :func:`tinynn.optim.minimize` (``batch_size=``), with :attr:`n_examples`.

        Parameters
        ----------
        params : list of dict, or dict
            As for :meth:`value_and_grad`.
        index : ndarray of int, shape (B,)
            Rows of the data, each in ``[0, N)``; repeats count as often as they appear.

        Returns
        -------
        value : float
        grads : list of dict, or dict

        Raises
        ------
        TypeError
            If ``index`` is not an array of integers.
        ValueError
            If ``index`` is empty, not 1-D, or holds a row outside ``[0, N)``.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.losses import make_objective
        >>> loss = make_objective(np.zeros((4, 1)), np.array([1.0, 1.0, 3.0, 3.0]),
        ...                       form="notebook")
        >>> params = [{'w': np.zeros((1, 1)), 'b': np.zeros(1)}]
        >>> loss.batch_value_and_grad(params, np.array([2, 3]))[0]  # (4 / 2) * (9 + 9) / 2
        18.0
        >>> float(loss(params))  # (1 + 1 + 9 + 9) / 2
        10.0
        """
        rows = check_rows(index, self.n_examples)
        fused = self._fused
        return self._value_and_grad(params, fused.rows(rows, fused.y_NO.shape[0] / len(rows)))

    def _value_and_grad(self, params: Tree, fused: FusedObjective) -> tuple[float, Tree]:
        joint = self._joint
        net, log_sigma = self._split(params) if joint else (params, None)
        self._check(net)
        if self._traced_only or type(net) in box_types or type(log_sigma) in box_types:
            return self._traced_value_and_grad(params, fused)
        ws = [layer["w"] for layer in net]
        bs = [layer["b"] for layer in net]
        if any_box(ws + bs):
            return self._traced_value_and_grad(params, fused)
        value, payload = fused.value(ws, bs, log_sigma, keep=True)
        gws, gbs, g_log_sigma = fused.grads(payload, ws, bs, log_sigma, 1.0)
        grads = [{"w": gw, "b": gb} for gw, gb in zip(gws, gbs, strict=True)]
        for layer in net:
            if next(iter(layer)) != "w":  # keep each dict's key order
                pairs = zip(grads, net, strict=True)
                grads = [{key: grad[key] for key in layer} for grad, layer in pairs]
                break
        net_grads = tuple(grads) if type(net) is tuple else grads
        if not joint:
            return value, net_grads
        parts = {"net": net_grads, "log_sigma": g_log_sigma}
        return value, {key: parts[key] for key in params}

    def _traced_value_and_grad(self, params: Tree, fused: FusedObjective) -> tuple[Any, Tree]:
        def loss(p: Tree) -> Any:
            return self._evaluate(*self._split(p), fused)

        return autograd.value_and_grad(loss)(params)

    def flat(self, params: Tree) -> FlatObjective | None:
        """Return this objective read on flat vectors laid out like ``tree.flatten(params)``.

        The protocol for methods that work on one parameter vector (L-BFGS,
        :func:`tinynn.optim.minimize` uses it): the returned object evaluates the loss and its
        gradient on ``theta_P`` with no tree built per call. ``params`` is checked against the
        data here, once, with the errors of a call.

        Parameters
        ----------
        params : list of dict, or dict
            Parameters the objective takes; only their structure and shapes are used.

        Returns
        -------
        FlatObjective or None
            None when ``params`` is not laid out as the objective reads it (dicts with keys in
            another order than ``'w', 'b'`` or ``'net', 'log_sigma'``) or the activation is a
            custom callable; then use :meth:`value_and_grad`.

        Raises
        ------
        ValueError
            If ``params`` does not fit the data.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn import tree
        >>> from tinynn.losses import make_objective
        >>> from tinynn.params import make_params
        >>> loss = make_objective(np.zeros((5, 2)), np.ones(5))
        >>> params = make_params(2, [3], rng=0)
        >>> flat = loss.flat(params)
        >>> theta_P, _ = tree.flatten(params)
        >>> value, grad_P = flat.value_and_grad(theta_P)
        >>> flat.size, grad_P.shape, bool(np.isclose(value, loss(params)))
        (13, (13,), True)
        """
        net, _ = self._split(params)
        if self._act.name is None or type(net) not in (list, tuple):
            return None
        if model.stack_size(net) is not None:
            return None
        if not all(type(layer) is dict and list(layer) == ["w", "b"] for layer in net):
            return None
        if self.noise == "joint" and list(params) != ["net", "log_sigma"]:
            return None
        shapes = self._check(net)
        return FlatObjective(self._fused, shapes, isinstance(net, tuple), self.noise == "joint")

    # -- the noise -----------------------------------------------------------------------------

    def init(self, net: Params, *, sigma: float = 1.0) -> Tree:
        """Return the parameters this objective trains, starting from the network ``net``.

        With a jointly learned sigma (``noise == "joint"``) that is ``{'net': net, 'log_sigma':
        log(sigma) * ones(O)}``; otherwise ``net`` itself.

        Parameters
        ----------
        net : list of dict
            The network's parameters.
        sigma : float, default 1.0
            Starting noise standard deviation (used only when sigma is learned jointly).

        Returns
        -------
        list of dict, or dict

        Raises
        ------
        ValueError
            If ``net`` does not fit the data or ``sigma`` is not positive.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.losses import make_objective
        >>> from tinynn.params import make_params
        >>> x, y = np.zeros((4, 1)), np.zeros((4, 2))
        >>> loss = make_objective(x, y, sigma="learn", prior_std=1.0)
        >>> loss.init(make_params(1, [], 2, rng=0), sigma=0.5)["log_sigma"].round(4)
        array([-0.6931, -0.6931])
        """
        self._check_single(net, "init")
        start = check_positive(sigma, "sigma")
        if self.noise != "joint":
            return net
        return {"net": net, "log_sigma": np.full(self._n_out, np.log(start))}

    def unpack(self, params: Tree) -> tuple[Params, Any]:
        """Return the network and the noise standard deviation of parameters of this objective.

        Parameters
        ----------
        params : list of dict, or dict
            Parameters the objective takes, e.g. ``result.params`` after training.

        Returns
        -------
        net : list of dict
            The network's parameters.
        sigma : float or ndarray
            The fixed sigma as given; with ``noise == "profile"`` the maximum-likelihood sigma
            of ``net`` (the RMS residual per output); with ``"joint"`` ``exp(log_sigma)``. A
            float for one output, shape (O,) for several.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.losses import make_objective
        >>> x, y = np.array([[0.0], [1.0]]), np.array([1.0, 3.0])
        >>> loss = make_objective(x, y, sigma="learn")
        >>> net, sigma = loss.unpack([{'w': np.array([[2.0]]), 'b': np.array([0.0])}])
        >>> sigma  # residuals -1 and -1
        1.0
        """
        net, log_sigma = self._split(params)
        self._check_single(net, "unpack")
        if self.noise == "fixed":
            return net, self._fused.sigma
        if self.noise == "joint":
            sigma_O = np.exp(np.asarray(unbox(log_sigma), dtype=np.float64))
        else:
            squares_O = residual_squares(self._fused, unbox(net), self._act.fn)
            sigma_O = np.sqrt(squares_O / self.x.shape[0])
        return net, (float(sigma_O[0]) if self.y.ndim == 1 else sigma_O)

    def solve_output_layer(self, params: Tree) -> Tree:
        """Return ``params`` with the output layer set to its exact optimum given the others.

        Given the hidden layers, the output layer of the Gaussian objective is a linear
        least-squares problem: minimize ``||y - A c||^2 + ridge * ||c||^2`` over the output
        weights and bias ``c``, with ``A = [features, 1]`` and ``ridge = sigma**2 /
        prior_std**2`` per output (no ridge without a prior). Alternating it with first-order
        steps on the hidden layers (variable projection) speeds training up many times.

        Parameters
        ----------
        params : list of dict, or dict
            Parameters the objective takes.

        Returns
        -------
        list of dict, or dict
            New parameters of the same structure; only the output layer changed.

        Raises
        ------
        ValueError
            If sigma was given per example (a weighted fit is not supported).

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.losses import make_objective
        >>> x = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])
        >>> loss = make_objective(x, y)
        >>> fitted = loss.solve_output_layer([{'w': np.zeros((1, 1)), 'b': np.zeros(1)}])
        >>> fitted[0]['w'].round(6).tolist(), fitted[0]['b'].round(6).tolist()
        ([[2.0]], [1.0])
        """
        net, log_sigma = self._split(params)
        self._check_single(net, "solve_output_layer")
        fused = self._fused
        noise2: Any
        if self.noise == "joint":
            noise2 = np.exp(2.0 * np.asarray(log_sigma, dtype=np.float64))
        elif self.noise == "fixed":
            sigma: Any = fused.sigma
            if np.ndim(sigma) == 2 or np.size(sigma) not in (1, self._n_out):
                raise ValueError(
                    "solve_output_layer needs sigma as one value or one per output, got one per "
                    f"example (shape {np.shape(sigma)})"
                )
            noise2 = np.square(sigma)
        else:
            noise2 = 1.0
        strength = 0.0 if fused.prior_std is None else 1.0 / fused.prior_std**2
        ridge_O = np.broadcast_to(strength * np.asarray(noise2, dtype=float), (self._n_out,))
        new_net = _solve_last_layer(list(net), self.x, fused.y_NO, self._act.fn, ridge_O)
        if self.noise != "joint":
            return tuple(new_net) if isinstance(net, tuple) else new_net
        return {key: new_net if key == "net" else params[key] for key in params}

    # -- second order ----------------------------------------------------------------------------

    def ggn(self, params: Tree, *, part: str = "full", max_bytes: float = DEFAULT_MAX_BYTES) -> Any:
        """Return the generalized Gauss-Newton matrix of the objective at ``params``.

        ``J^T diag(1 / sigma**2) J`` with the network's Jacobian ``J``
        (:func:`tinynn.model.jacobian`), plus ``1 / prior_std**2`` on the diagonal with a prior,
        plus the curvature ``2 sum(r**2) / sigma**2`` of each learned ``log_sigma`` (``2 N``, its
        Fisher information, where sigma fits the residuals); divided by N with
        ``reduction="mean"``. It is the Hessian of the objective with the network linearized,
        always positive semi-definite: the curvature that Levenberg-Marquardt and Laplace
        approximations use. Rows and columns follow ``tinynn.tree.flatten(params)``.

        Parameters
        ----------
        params : list of dict, or dict
            Parameters the objective takes.
        part : {"full", "diagonal", "last_layer"}, default "full"
            The dense (P, P) matrix, its diagonal (P,), or the dense block of the output layer's
            ``w`` and ``b`` (Q, Q with Q = (H + 1) O, ``w`` row-major then ``b``).
        max_bytes : float, default 2**30
            Refuse, before allocating, to build a Jacobian and result larger than this.

        Returns
        -------
        ndarray of shape (P, P), (P,) or (Q, Q)

        Raises
        ------
        ValueError
            If ``part`` is unknown, or the arrays would need more than ``max_bytes`` (the
            message gives the size).

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.losses import make_objective
        >>> x = np.array([[0.0], [1.0], [2.0]]); y = np.zeros(3)
        >>> loss = make_objective(x, y, sigma=0.5)  # linear model: GGN = X^T X / sigma**2
        >>> loss.ggn([{'w': np.zeros((1, 1)), 'b': np.zeros(1)}])
        array([[20., 12.],
               [12., 12.]])
        """
        check_choice(part, "part", PARTS)
        max_bytes = check_positive(max_bytes, "max_bytes")
        net, log_sigma = self._split(params)
        self._check_single(net, "ggn")
        ws, bs = _plain_layers(net)
        _, _, matrix = gauss_newton_system(self._fused, ws, bs, log_sigma, part, max_bytes)
        if part == "last_layer":
            return matrix
        perm = self._user_order(params)
        return matrix[np.ix_(perm, perm)] if part == "full" else matrix[perm]

    def ggn_vector(self, params: Tree, v_P: Any) -> np.ndarray:
        """Return the product of the Gauss-Newton matrix with ``v_P``, without forming it.

        One forward-mode and one reverse pass through the network: ``J^T (J v) / sigma**2``
        plus the prior and ``log_sigma`` terms, as in :meth:`ggn`.

        Parameters
        ----------
        params : list of dict, or dict
            Parameters the objective takes.
        v_P : ndarray of shape (P,)
            A vector in the order of ``tinynn.tree.flatten(params)``.

        Returns
        -------
        ndarray of shape (P,)

        Raises
        ------
        ValueError
            If ``v_P`` does not have shape (P,).

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.losses import make_objective
        >>> from tinynn.params import make_params
        >>> loss = make_objective(np.linspace(-1, 1, 8)[:, None], np.ones(8), prior_std=2.0)
        >>> params = make_params(1, [3], rng=0)
        >>> v_P = np.arange(10.0)
        >>> bool(np.allclose(loss.ggn_vector(params, v_P), loss.ggn(params) @ v_P))
        True
        """
        net, log_sigma = self._split(params)
        self._check_single(net, "ggn_vector")
        perm = self._user_order(params)
        v = as_float_array(v_P, "v_P", ndims=(1,))
        if v.shape != perm.shape:
            raise ValueError(f"v_P must have shape {perm.shape} to match params, got {v.shape}")
        v_can = np.empty_like(v)
        v_can[perm] = v
        ws, bs = _plain_layers(net)
        plain = [{"w": w, "b": b} for w, b in zip(ws, bs, strict=True)]
        net_flat, unflatten_net = tree.flatten(plain)
        n_net = net_flat.size
        fn = self._act.fn

        def outputs(theta: Any) -> Any:
            return model.predict(unflatten_net(theta), self.x, activation=fn)

        jv = autograd.make_jvp(outputs)(net_flat)(v_can[:n_net])[1]
        inv_var = inverse_variance(self._fused, log_sigma)
        vjp, _ = autograd.make_vjp(outputs)(net_flat)
        out = np.empty_like(v_can)
        u = (np.reshape(jv, inv_var.shape) * inv_var).reshape(np.shape(jv))
        out[:n_net] = vjp(u) + 2.0 * self._fused.prior_coef * v_can[:n_net]
        out[n_net:] = log_sigma_curvature(self._fused, ws, bs, log_sigma) * v_can[n_net:]
        return (out * self._fused.scale)[perm]

    def hessian_vector(self, params: Tree, v_P: Any) -> np.ndarray:
        """Return the product of the objective's Hessian with ``v_P`` (autograd, no matrix).

        Parameters
        ----------
        params : list of dict, or dict
            Parameters the objective takes.
        v_P : ndarray of shape (P,)
            A vector in the order of ``tinynn.tree.flatten(params)``.

        Returns
        -------
        ndarray of shape (P,)

        Raises
        ------
        ValueError
            If ``v_P`` does not have shape (P,).

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.losses import make_objective
        >>> loss = make_objective(np.array([[1.0], [2.0]]), np.zeros(2), form="notebook")
        >>> params = [{'w': np.zeros((1, 1)), 'b': np.zeros(1)}]
        >>> loss.hessian_vector(params, np.array([1.0, 0.0]))
        array([5., 3.])
        """
        net, _ = self._split(params)
        self._check_single(net, "hessian_vector")
        theta_P, unflatten = tree.flatten(params)
        v = as_float_array(v_P, "v_P", ndims=(1,))
        if v.shape != theta_P.shape:
            raise ValueError(f"v_P must have shape {theta_P.shape} to match params, got {v.shape}")
        hvp = autograd.hessian_tensor_product(lambda theta: self(unflatten(theta)))
        return np.asarray(hvp(theta_P, v), dtype=np.float64)

    def _user_order(self, params: Tree) -> np.ndarray:
        """Return the permutation from the objective's own layout to ``flatten(params)``'s."""
        net, log_sigma = self._split(params)
        canonical: Any = [{"w": layer["w"], "b": layer["b"]} for layer in net]
        if self.noise == "joint":
            canonical = {"net": canonical, "log_sigma": log_sigma}
        return canonical_order(params, canonical)

    # -- checks ----------------------------------------------------------------------------------

    def _split(self, params: Tree) -> tuple[Params, Any]:
        """Return ``(net, log_sigma)``; log_sigma is None unless sigma is learned jointly."""
        if self.noise != "joint":
            return params, None
        value = unbox(params)
        if not isinstance(value, dict) or sorted(value) != ["log_sigma", "net"]:
            raise TypeError(
                f"params must be a dict {{'net': params, 'log_sigma': s_O}} when sigma is learned "
                f"with a prior, got {describe(value)}; build it with objective.init(params)"
            )
        log_sigma = params["log_sigma"]
        shape = np.shape(unbox(log_sigma))
        if shape != (self._n_out,):
            raise ValueError(
                f"params['log_sigma'] must have shape ({self._n_out},), one per output, got "
                f"shape {shape}"
            )
        if model.stack_size(params["net"]) is not None:
            raise ValueError(
                "stacked parameters (a leading axis K) work with a fixed sigma or sigma='learn' "
                "without a prior, not with log_sigma trained beside the network"
            )
        return params["net"], log_sigma

    def _check(self, net: Params) -> list[tuple[int, int]]:
        """Check ``net`` fits the data; return its layer shapes.

        The full check runs when a structure is first seen; later calls with the same layout
        (every optimizer step) only compare each leaf's shape with the remembered one.
        """
        layout = self._layout
        plain = net._value if type(net) in box_types else net
        if type(plain) in (list, tuple) and len(plain) == len(layout) and layout:
            try:  # plain subscripts and attributes: this runs at every optimizer step
                for layer, (w_shape, b_shape) in zip(plain, layout, strict=True):
                    if (
                        type(layer) is not dict
                        or len(layer) != 2
                        or layer["w"].shape != w_shape
                        or layer["b"].shape != b_shape
                    ):
                        break
                else:
                    return self._shapes
            except (KeyError, AttributeError):
                pass  # the full check below names what is wrong
        shapes = self._check_fully(net)
        layers = [unbox(layer) for layer in unbox(net)]
        self._layout = [(shape_of(lay["w"]), shape_of(lay["b"])) for lay in layers]
        self._shapes = shapes
        return shapes

    def _check_single(self, net: Params, what: str) -> list[tuple[int, int]]:
        """Check ``net`` like :meth:`_check` and refuse stacked parameters for ``what``."""
        shapes = self._check(net)
        if model.stack_size(net) is not None:
            raise ValueError(
                f"{what} takes one parameter set, got stacked parameters (leaves with a leading "
                f"axis K); take member k with tinynn.tree.index(params_K, k)"
            )
        return shapes

    def _check_fully(self, net: Params) -> list[tuple[int, int]]:
        shapes = model.layer_shapes(net)
        n_features = self.x.shape[1]
        if shapes[0][0] != n_features:
            raise ValueError(
                f"params[0]['w'] expects {shapes[0][0]} input features but x has {n_features} "
                f"(shape {self.x.shape}); rebuild params for {n_features} inputs"
            )
        if shapes[-1][1] != self._n_out:
            raise ValueError(
                f"params[-1]['w'] gives {shapes[-1][1]} outputs but y has {self._n_out} "
                f"(shape {self.y.shape}); rebuild params for {self._n_out} outputs"
            )
        return shapes

    def __repr__(self) -> str:
        f = self._fused
        sigma = "'learn'" if self.noise != "fixed" else repr(f.sigma)
        return (
            f"Objective(N={self.x.shape[0]}, D={self.x.shape[1]}, O={self._n_out}, "
            f"sigma={sigma}, prior_std={f.prior_std!r}, "
            f"activation={self._act.name or self._act.fn!r}, "
            f"form={'full' if f.full else 'notebook'!r})"
        )


def _plain_layers(net: Params) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return every layer's ``w`` and ``b`` as float64 arrays (boxes unwrapped)."""
    ws = [np.asarray(unbox(layer["w"]), dtype=np.float64) for layer in net]
    bs = [np.asarray(unbox(layer["b"]), dtype=np.float64) for layer in net]
    return ws, bs


def _solve_last_layer(
    net: list[Any], x_ND: np.ndarray, y_NO: np.ndarray, activation: Any, ridge_O: np.ndarray
) -> list[Any]:
    """Return ``net`` with its last layer at the ridge least-squares optimum (see above)."""
    if len(net) > 1:
        z = np.asarray(unbox(model.predict(net[:-1], x_ND, activation=activation)))
        feats = np.asarray(activation(z.reshape(len(x_ND), -1)))
    else:
        feats = x_ND
    a_NK = np.hstack([feats, np.ones((len(x_ND), 1))])
    if not np.any(ridge_O > 0):
        coef = np.linalg.lstsq(a_NK, y_NO, rcond=None)[0]
    else:
        gram = a_NK.T @ a_NK
        rhs = a_NK.T @ y_NO
        eye = np.eye(gram.shape[0])
        coef = np.column_stack(
            [np.linalg.solve(gram + r * eye, rhs[:, o]) for o, r in enumerate(ridge_O)]
        )
    out = list(net)
    out[-1] = {"w": np.array(coef[:-1]), "b": np.array(coef[-1])}
    return out


MAX_Y = 1e150  # |y| above this: the squared residuals overflow float64


def build(
    x: Any,
    y: Any,
    sigma: Any,
    prior_std: float | None,
    activation: Any,
    form: str,
    reduction: str,
) -> Objective:
    """Check the data once and return the objective (the body of ``losses.make_objective``)."""
    full = check_choice(form, "form", FORMS) == "full"
    mean = check_choice(reduction, "reduction", REDUCTIONS) == "mean"
    x_arr = as_float_array(x, "x", ndims=(1, 2))
    y_arr = as_float_array(y, "y", ndims=(1, 2))
    n = y_arr.shape[0]
    if n == 0 or x_arr.shape[0] == 0:
        raise ValueError(
            f"x and y must hold at least one example, got x {x_arr.shape} and y {y_arr.shape}"
        )
    if x_arr.ndim == 2 and x_arr.shape[1] == 0:
        raise ValueError(f"x must have at least one feature column, got shape {x_arr.shape}")
    peak = float(np.max(np.abs(y_arr)))
    if peak > MAX_Y:
        raise ValueError(
            f"y holds values up to {peak:.3g}: the objective squares residuals in y's units, "
            f"which overflows beyond {MAX_Y:.0e}; standardize y first (tinynn.data.Standardizer, "
            "as Regressor does)"
        )
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        raise ValueError(
            f"y must have shape ({n},) for one output (predictions of a one-output network have "
            f"shape (N,)), got {y_arr.shape}; pass y.ravel()"
        )
    x_ND = x_arr.reshape(-1, 1) if x_arr.ndim == 1 else x_arr
    if x_ND.shape[0] != n:
        raise ValueError(
            f"x and y must have the same number of examples, got x {x_arr.shape} and "
            f"y {y_arr.shape}"
        )
    if isbox(sigma):
        raise TypeError(
            "sigma must be a fixed number in make_objective (or 'learn'), got a traced value; "
            "pass sigma='learn', or write the loss as gaussian_nll(y, predict(params, x), sigma)"
        )
    if prior_std is not None:
        prior_std = check_std(prior_std, "prior_std")
    if isinstance(sigma, str):
        check_choice(sigma, "sigma", ("learn",))
        noise = "joint" if prior_std is not None else "profile"
        sigma = None if noise == "joint" else 1.0  # profile: the likelihood at unit noise
    else:
        noise, sigma = "fixed", check_sigma(sigma, y_arr.shape)
    act = model.resolve_activation(activation)
    fused = FusedObjective(x_ND, y_arr, sigma, prior_std, act, full, mean)
    return Objective(fused, act, noise)
