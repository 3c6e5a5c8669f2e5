"""A scikit-learn-style regressor on top of tinynn's functional core.

:class:`Regressor` follows scikit-learn's estimator conventions (constructor arguments stored as
given, ``fit`` returns ``self``, fitted attributes end in ``_``, ``get_params``/``set_params``,
``score`` is R^2) without importing scikit-learn, so it works inside ``Pipeline``,
``cross_val_score`` and ``GridSearchCV``. It only calls the core: ``make_params``,
``make_objective`` (which also holds the treatment of the noise and the output-layer solve),
``minimize`` and ``predict``.

Shape suffixes: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval, isbox

from tinynn import optim, tree
from tinynn._checks import as_generator, constant_targets, describe_constant
from tinynn.estimator import _inputs, _training
from tinynn.estimator._state import fitted_state, restore
from tinynn.losses import make_objective
from tinynn.model import predict as _net_predict
from tinynn.params import make_params
from tinynn.posterior import (
    Laplace,
    LooComparison,
    Mixture,
    compare_loo,
    fit_ensemble,
    fit_laplace,
    fit_laplace_mixture,
    fit_width_mixture,
)

__all__ = ["NotFittedError", "Regressor"]


class NotFittedError(ValueError, AttributeError):
    """Raised when a Regressor is used before ``fit``; a ValueError and an AttributeError.

    When scikit-learn is loaded, the error raised is also an instance of
    ``sklearn.exceptions.NotFittedError``, so scikit-learn code that catches it keeps working.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.estimator import NotFittedError, Regressor
    >>> try:
    ...     Regressor().predict(np.zeros((1, 2)))
    ... except NotFittedError as err:
    ...     print(err)
    This Regressor instance is not fitted yet; call fit(X, y) before using it
    """


_SKLEARN_NOT_FITTED: dict[type, type] = {}


def _not_fitted_error(message: str) -> NotFittedError:
    sk_exceptions = sys.modules.get("sklearn.exceptions")  # never imported here
    sk_error = getattr(sk_exceptions, "NotFittedError", None)
    if not isinstance(sk_error, type):
        return NotFittedError(message)
    cls = _SKLEARN_NOT_FITTED.get(sk_error)
    if cls is None:
        cls = type("NotFittedError", (NotFittedError, sk_error), {"__module__": __name__})
        _SKLEARN_NOT_FITTED[sk_error] = cls
    return cls(message)


class Regressor:
    """Fit a small neural network for regression with an honest predictive std, sklearn-style.

    The network has ``tanh`` hidden layers and a linear output and is fitted by maximizing a
    Gaussian likelihood times a Gaussian prior on the weights. x and y are standardized and
    weights start Glorot-normal from ``random_state``. By default (``uncertainty="laplace"``)
    the prior std of each layer's weights and biases and the noise std are set by the Laplace
    evidence, the network is fitted to convergence (Levenberg-Marquardt for networks of a few
    hundred parameters), and ``predict(X, return_std=True)`` returns the std of the linearized
    Laplace predictive, which is the noise on the data and grows away from it. With
    ``uncertainty=None`` it fits one network as tinynn 0.1 did, with the optimizer settings
    below, and ``return_std`` gives the noise std alone.

    Parameters
    ----------
    hidden_sizes : "auto", sequence of int, or sequence of such sequences, default "auto"
        Units per hidden layer; ``()`` gives linear regression. ``"auto"``, with ``uncertainty``
        "laplace" or "laplace_mixture", chooses one hidden layer's width by the evidence: 5, 7,
        10, 14, 20 and 28 units are fitted in turn while the mean log evidence of the fits
        rises; "laplace" keeps the fit at the evidence's peak, "laplace_mixture" mixes the
        members of the peak's width with those of the next, whose evidence fell
        (:func:`tinynn.posterior.fit_width_mixture`). With ``uncertainty`` "ensemble" or None,
        ``"auto"`` is one hidden layer of 30 units. Several architectures, from the simplest,
        such as ``[(10,), (20,), (30,)]``, are candidates chosen by leave-one-out instead (with
        ``uncertainty`` "laplace" or "laplace_mixture"): the first is fitted, then each next
        one, kept only while its leave-one-out log-likelihood on the training data beats the
        current fit's by more than a standard error (:func:`tinynn.posterior.compare_loo`);
        the search stops at the first that does not. ``hidden_sizes_`` says which was kept.
    activation : str or callable, default "tanh"
        Hidden-layer activation, a name from ``tinynn.model.ACTIVATIONS`` or an autograd-able
        function (such a model cannot be saved with ``tinynn.io``).
    optimizer : str or optimizer, default "auto"
        With ``uncertainty=None``: ``"auto"`` picks ``"levenberg_marquardt"`` when a dense
        Gauss-Newton solve is cheap (about N * O * P**2 <= 5e8 for N examples, O outputs and
        P parameters: every network of a few hundred parameters on a few thousand rows), else
        ``"lbfgs"`` when scipy is installed, else ``"adam"``; ``optimizer_reason_`` says which
        and why. ``"adam"``, ``"rmsprop"``, ``"lbfgs"`` and ``"levenberg_marquardt"`` name
        one directly; any optimizer object from ``tinynn.optim`` is used as given. Plain
        gradient steps (``"gradient_descent"``, ``"momentum"``, ``"nesterov"``) are refused by
        name, because they need a step size tuned to each data set; pass e.g.
        ``tinynn.optim.momentum(1e-4)`` to use one with a step of your choosing.
    step_size : float, default 0.03
        Initial step of Adam and RMSProp named by a string; it decays along a cosine to 1% of
        itself over ``max_iter`` iterations. Ignored by L-BFGS and Levenberg-Marquardt.
    max_iter : int, default 500
        Maximum number of iterations (optimizer steps; epochs with ``batch_size``).
    tol : float or None, default 1e-4
        Stop ("converged") when the training loss per example, in standardized units, has not
        improved by at least ``tol`` for 10 iterations in a row, as scikit-learn's
        MLPRegressor does (None: run all ``max_iter`` iterations). That rule is for
        Levenberg-Marquardt, whose every step counts; L-BFGS and the first-order optimizers,
        which often crawl for many iterations before improving again, stop instead when the
        loss changes by less than a fraction 1e-9 between iterations (unless ``tol`` is None).
    sigma : "learn" or float, default "learn"
        Noise standard deviation in units of y. ``"learn"`` estimates it by maximum likelihood:
        without a prior that is exactly a least-squares fit of the network followed by
        ``sigma = RMS of the training residuals``; with a prior, ``log sigma`` is trained jointly.
    prior_std : float or None, default None
        Std of a zero-mean Gaussian prior on every weight and bias, in standardized units.
    alpha : float or None, default None
        The same penalty written as an L2 strength, ``alpha = 1 / prior_std**2``; set at most one.
    standardize : bool, default True
        Standardize x and y to zero mean and unit variance before fitting; predictions are
        always returned in the original units of y.
    weight_init : str, default "glorot_normal"
        Initializer name passed to ``tinynn.params.make_params``.
    solve_output_layer : bool, default True
        With a first-order optimizer, set the linear output layer to its exact least-squares
        (ridge, with a prior) optimum after every step, given the hidden layers (variable
        projection). It makes Adam reach the noise floor about ten times sooner. Ignored by
        Levenberg-Marquardt, L-BFGS and optimizer objects.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data and stop when the validation RMSE has not
        improved for ``n_iter_no_change`` iterations, keeping the best parameters.
    validation_fraction : float, default 0.1
        Share of the examples held out when ``early_stopping`` is on.
    n_iter_no_change : int, default 50
        Patience of early stopping, in iterations (epochs with ``batch_size``). L-BFGS needs a
        long patience: its validation RMSE often stalls for tens of iterations before improving
        again.
    random_state : int, numpy Generator or None, default None
        Seed for the initialization and the validation split.
    verbose : int, default 0
        Print progress lines (every ``verbose * 50`` iterations) to standard output when > 0.
    uncertainty : {"laplace", "laplace_mixture", "ensemble", None}, default "laplace_mixture"
        The default recipe, with ``hidden_sizes="auto"``, is the evidence's choice of width
        and a mixture of Laplace fits (ten members: five of the width at the evidence's peak,
        five of the next); on the UCI data sets of the docs it meets MC dropout's published
        test log-likelihood and PBP's RMSE on all four, where one wide Laplace fit misses on
        Boston. It costs about ten to fifteen Laplace fits of small networks.
        ``"laplace"`` fits the network with :func:`tinynn.posterior.fit_laplace`: a prior std
        per layer's weights and biases and the noise set by the Laplace evidence (unless
        ``prior_std``/``alpha`` or a numeric ``sigma`` fix them), up to ``max_iter``
        iterations per evidence round (Levenberg-Marquardt for networks of a few hundred
        parameters, else L-BFGS), and the linearized Laplace predictive.
        ``"laplace_mixture"``: ``n_members`` such fits from different starts, each with its own
        evidence-tuned prior and noise, mixed with equal weights
        (:func:`tinynn.posterior.fit_laplace_mixture`); it costs ``n_members`` fits (the UCI
        page of the docs compares five members of ten units with one fit of fifty).
        ``"ensemble"``: ``n_members`` networks with anchored priors trained together
        (:func:`tinynn.posterior.fit_ensemble`) at the evidence's prior and noise, for at most
        ``max_iter`` iterations (a ConvergenceWarning when they stop there unconverged). Each way
        ``predict(X, return_std=True)`` returns the total predictive std, which grows away from
        the data, and ``posterior_`` holds the posterior; ``optimizer``, ``step_size``, ``tol``
        and ``solve_output_layer`` are not used, and ``early_stopping`` is refused. None fits
        one network with the settings above.
    n_members : int, default 5
        Number of members for ``uncertainty="laplace_mixture"`` and ``"ensemble"``.
    batch_size : int or None, default None
        With ``uncertainty=None``: train on shuffled minibatches of this many rows (the
        likelihood scaled by N / B, :func:`tinynn.optim.minimize` with ``batch_size``) instead
        of all rows at every step, so memory beyond the data stays the size of a minibatch and
        large data sets train. ``max_iter`` then counts epochs (passes over the data), as in
        scikit-learn's MLPRegressor; ``"auto"`` picks Adam (L-BFGS and Levenberg-Marquardt need
        the full loss and are refused), ``solve_output_layer`` is not used, ``tol`` applies to
        the mean minibatch loss of each epoch, early stopping checks once an epoch, and
        ``loss_curve_`` holds one mean per epoch. None: every step uses all rows.

    Attributes
    ----------
    params_ : list of dict
        Fitted network parameters (in standardized units; stacked, a leading axis per
        member, with ``uncertainty="laplace_mixture"`` or ``"ensemble"``).
    sigma_ : float or ndarray of shape (O,)
        Noise standard deviation in units of y (with ``uncertainty="laplace_mixture"`` the
        root mean square of the members', the noise part of the predictive; with
        ``"ensemble"`` their mean).
    history_ : tinynn.optim.History
        Per-iteration record of the run (None on a model loaded from disk).
    loss_curve_ : ndarray of shape (T,)
        Training objective per iteration (per epoch with ``batch_size``: the mean of its
        minibatch estimates), in standardized units: the negative log likelihood
        plus the negative log prior; when sigma is learned, without the terms that do not depend
        on what is trained (``make_objective(..., form="notebook")``), which without a prior
        leaves half the sum of squared residuals (the least-squares fit that gives the
        maximum-likelihood network).
    n_iter_ : int
        Iterations run (epochs with ``batch_size``; with ``uncertainty="laplace"``: of all the
        evidence rounds' MAP fits up to the chosen one, whose losses ``loss_curve_`` strings
        together; with ``"laplace_mixture"``, those of its first member, of the peak's width with
        ``hidden_sizes="auto"``).
    stop_reason_ : str
        Why training stopped: ``"converged"`` (see ``tol``), ``"completed"`` (``max_iter``
        reached), ``"early_stopping"``, ``"diverged"``, ``"interrupted"``.
    stop_message_ : str
        The same in a sentence, with the iteration.
    optimizer_ : str
        Name of the optimizer used (``"levenberg_marquardt"``, ``"lbfgs"``, ``"adam"``, ...).
    optimizer_reason_ : str
        Why that optimizer was used (with ``optimizer="auto"``, the sizes that decided).
    validation_scores_ : ndarray or None
        Validation RMSE (y units) per check, when ``early_stopping`` is on.
    hidden_sizes_ : tuple of int
        The hidden layers of the fitted network: ``hidden_sizes``, or the candidate kept (with
        ``"auto"``: the evidence's peak; ``posterior_.search`` then lists each width tried with
        its members' mean log evidence, and a mixture also holds the next width's members).
    loo_ : list of tinynn.posterior.LooComparison
        With candidate ``hidden_sizes``: one comparison per step of the search (the current
        fit as candidate 0, the next architecture as 1); empty otherwise.
    n_features_in_ : int
        Number of input features seen in ``fit``.
    x_mean_, x_scale_ : ndarray of shape (D,)
        Standardization of x (zeros and ones when ``standardize=False``).
    y_mean_, y_scale_ : ndarray of shape (O,)
        Standardization of y.
    posterior_ : tinynn.posterior.Posterior or None
        With ``uncertainty`` set: the posterior over the network's parameters, in standardized
        units (its ``prior_std`` and ``sigma`` are what the evidence chose).

    Notes
    -----
    scikit-learn compatibility: the test suite runs every check of scikit-learn's
    ``check_estimator`` (through ``parametrize_with_checks``) and all pass, with no exemptions.
    scikit-learn itself skips its pandas and array-API checks when pandas or array-API support
    is not installed. Three details make this work without importing scikit-learn: the
    ``__sklearn_tags__`` method imports it only when scikit-learn calls it (regressor, multi-output
    targets supported); a ``NotFittedError`` raised while scikit-learn is loaded is also
    ``sklearn.exceptions.NotFittedError``; and the class does not inherit from ``BaseEstimator``
    (scikit-learn warns about that once, harmlessly, when collecting its checks).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.estimator import Regressor
    >>> rng = np.random.default_rng(0)
    >>> x_ND = rng.uniform(-2, 2, size=(100, 1))
    >>> y_N = np.sin(x_ND[:, 0]) + 0.05 * rng.normal(size=100)
    >>> model = Regressor(hidden_sizes=(10,), random_state=0).fit(x_ND, y_N)
    >>> bool(model.score(x_ND, y_N) > 0.95)
    True
    >>> mean_N, std_N = model.predict(x_ND[:3], return_std=True)
    >>> mean_N.shape, std_N.shape
    ((3,), (3,))
    """

    hidden_sizes_: tuple[int, ...]
    loo_: list[LooComparison]

    def __init__(
        self,
        hidden_sizes: Any = "auto",
        *,
        activation: Any = "tanh",
        optimizer: Any = "auto",
        step_size: float = 0.03,
        max_iter: int = 500,
        tol: float | None = 1e-4,
        sigma: Any = "learn",
        prior_std: float | None = None,
        alpha: float | None = None,
        standardize: bool = True,
        weight_init: str = "glorot_normal",
        solve_output_layer: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 50,
        random_state: Any = None,
        verbose: int = 0,
        uncertainty: str | None = "laplace_mixture",
        n_members: int = 5,
        batch_size: int | None = None,
    ) -> None:
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.step_size = step_size
        self.max_iter = max_iter
        self.tol = tol
        self.sigma = sigma
        self.prior_std = prior_std
        self.alpha = alpha
        self.standardize = standardize
        self.weight_init = weight_init
        self.solve_output_layer = solve_output_layer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose
        self.uncertainty = uncertainty
        self.n_members = n_members
        self.batch_size = batch_size

    # -- scikit-learn protocol -----------------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor arguments as a dict (``deep`` is accepted for sklearn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Regressor:
        """Set constructor arguments by name and return ``self``.

        Raises
        ------
        ValueError
            If a name is not a constructor argument.
        """
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator Regressor; valid parameters are "
                    f"{valid}"
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()
        }
        parts = []
        for key, value in self.get_params().items():
            default = defaults.get(key)
            if value is default or (type(value) is type(default) and _equal(value, default)):
                continue
            parts.append(f"{key}={value!r}")
        return f"Regressor({', '.join(parts)})"

    # What scikit-learn before 1.6 reads (is_regressor, the default score of model selection,
    # its estimator checks); newer versions ask __sklearn_tags__.
    _estimator_type = "regressor"

    def _more_tags(self) -> dict[str, Any]:
        return {"multioutput": True, "requires_y": True, "non_deterministic": False}

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "params_")

    def __sklearn_tags__(self) -> Any:
        # Called only by scikit-learn itself, so importing it here adds no dependency.
        from sklearn.utils import (  # type: ignore[import-untyped]
            RegressorTags,
            Tags,
            TargetTags,
        )

        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=True, multi_output=True, single_output=True),
            regressor_tags=RegressorTags(),
            non_deterministic=self.random_state is None,
        )

    # -- fitting -------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> Regressor:
        """Fit the network to ``X`` and ``y`` and return ``self``.

        Parameters
        ----------
        X : array_like of shape (N, D)
            Training inputs.
        y : array_like of shape (N,) or (N, O)
            Training targets.

        Returns
        -------
        Regressor
            ``self``, fitted.

        Raises
        ------
        ValueError
            If X or y has the wrong shape or holds NaN or infinity, if y holds one value
            repeated while the evidence is to set the noise (``sigma="learn"`` with an
            ``uncertainty``), or if a setting is invalid.
        TypeError
            If X or y is not numeric or a setting has the wrong type.
        ImportError
            If ``optimizer="lbfgs"`` and scipy is not installed.
        """
        settings = _inputs.validate_settings(self)
        x_ND = _inputs.check_X(X)
        y_arr = _inputs.check_y(y, x_ND.shape[0])
        y_NO = y_arr.reshape(len(y_arr), -1)
        n_out = y_NO.shape[1]
        gen = as_generator(self.random_state, "random_state")

        self.x_mean_, self.x_scale_ = _inputs.standardize_stats(x_ND, bool(self.standardize))
        self.y_mean_, self.y_scale_ = _inputs.standardize_stats(y_NO, bool(self.standardize))
        if settings["uncertainty"] is None:  # x_ND is a fresh copy (check_X), needed no more
            xs = x_ND  # standardized in place: no third copy of a large data set
            xs -= self.x_mean_
            xs /= self.x_scale_
        else:
            xs = (x_ND - self.x_mean_) / self.x_scale_
        ys_NO = (y_NO - self.y_mean_) / self.y_scale_
        ys = ys_NO[:, 0] if n_out == 1 else ys_NO
        y_scale = self.y_scale_[0] if n_out == 1 else self.y_scale_

        val_fn = None
        if self.early_stopping:
            order = gen.permutation(len(xs))
            n_val = max(1, round(float(self.validation_fraction) * len(xs)))
            if n_val >= len(xs):
                raise ValueError(
                    f"early_stopping needs at least 2 samples, got {len(xs)}; turn it off"
                )
            val, train = order[:n_val], order[n_val:]
            val_fn = _training.validation_rmse_fn(xs[val], ys[val], self.activation, y_scale)
            xs, ys = xs[train], ys[train]

        strength = settings["strength"]
        self.posterior_: Any = None
        if settings["uncertainty"] is not None:
            return self._fit_posterior(settings, xs, ys, x_ND, y_arr, gen)
        sigma = "learn" if settings["sigma"] is None else settings["sigma"] / y_scale
        objective = make_objective(
            xs,
            ys,
            sigma=sigma,
            prior_std=1.0 / np.sqrt(strength) if strength > 0 else None,
            activation=self.activation,
            # a fixed sigma gives proper densities; a learned one is trained up to constants
            # (without a prior that is half the sum of squared residuals, see loss_curve_)
            form="full" if settings["sigma"] is not None else "notebook",
        )
        net = make_params(
            xs.shape[1], settings["hidden"], n_out, weight_init=self.weight_init, rng=gen
        )
        self.hidden_sizes_, self.loo_ = tuple(settings["hidden"]), []
        init = objective.init(net)
        batch = settings["batch_size"]
        steps = 1 if batch is None else -(-len(xs) // min(batch, len(xs)))  # per epoch
        n_iters = settings["max_iter"] * steps
        self.optimizer_, opt, self.optimizer_reason_ = _training.make_optimizer(
            self, n_iters, len(xs), n_out, tree.size(init), batch is not None
        )
        second_order = isinstance(opt, (optim.LBFGS, optim.LevenbergMarquardt))
        if self.solve_output_layer and not second_order and batch is None:
            opt = _training.with_output_solve(opt, objective)
            init = objective.solve_output_layer(init)
        newton = isinstance(opt, optim.LevenbergMarquardt)
        watch = _training.ConvergenceWatch(
            settings["tol"] if newton or batch is not None else None,
            len(xs),
            getattr(self, "_tinynn_callback", None),  # set by the tinynn command
            steps,
        )
        relative_tol = None if newton or settings["tol"] is None else _training.RELATIVE_TOL
        minibatches: dict[str, Any] = {}
        if batch is not None:
            relative_tol = None
            minibatches = {"batch_size": batch, "seed": int(gen.integers(2**31 - 1))}
        with _training.single_threaded_blas():
            result = optim.minimize(
                objective,
                init,
                optimizer=opt,
                n_iters=n_iters,
                tol=relative_tol,
                validation_fn=val_fn,
                patience=settings["patience"] if val_fn is not None else None,
                metrics_every=steps,
                progress=settings["verbose"] > 0,
                progress_every=50 * max(1, settings["verbose"]),
                stream=sys.stdout,
                callback=watch,
                **minibatches,
            )
        self.params_, sigma_std = objective.unpack(result.params)
        sigma_y = np.broadcast_to(np.asarray(sigma_std, dtype=float), (n_out,)) * self.y_scale_
        self.sigma_ = float(sigma_y[0]) if y_arr.ndim == 1 else np.array(sigma_y)
        self.history_: Any = result.history
        self.loss_curve_ = _training.epoch_means(result.history.losses, steps)
        self.n_iter_ = len(self.loss_curve_)
        self.stop_reason_ = str(result.reason)
        self.stop_message_ = str(result.message)
        if result.reason == "callback" and watch.fired_at is not None:
            self.stop_reason_, self.stop_message_ = "converged", watch.message()
        if self.stop_reason_ == "completed" and settings["tol"] is not None:
            warnings.warn(
                f"Regressor: training stopped at max_iter={settings['max_iter']} before it "
                "converged (the loss still changed by more than tol); raise max_iter, or set "
                "tol=None to train for exactly max_iter iterations",
                optim.ConvergenceWarning,
                stacklevel=2,
            )
        self.validation_scores_ = (
            None
            if val_fn is None
            else np.asarray(result.history.metrics["val_loss"], dtype=float).copy()
        )
        self.n_features_in_ = x_ND.shape[1]
        self._y_ndim = y_arr.ndim
        return self

    def _fit_posterior(
        self,
        settings: dict[str, Any],
        xs: np.ndarray,
        ys: np.ndarray,
        x_ND: np.ndarray,
        y_arr: np.ndarray,
        gen: np.random.Generator,
    ) -> Regressor:
        """The ``uncertainty`` branch of :meth:`fit`: a posterior instead of one network."""
        y_scale = self.y_scale_ if y_arr.ndim == 2 else self.y_scale_[0]
        one_value = len(ys) > 1 and constant_targets(ys)
        if settings["sigma"] is None and one_value:  # (one row: the posterior's own error)
            held = describe_constant(ys * y_scale + self.y_mean_)  # in y's own units
            raise ValueError(
                f"y is constant ({held}): uncertainty={settings['uncertainty']!r} with "
                "sigma='learn' sets the noise by the evidence, which rises without bound as the "
                "noise shrinks to 0 when the network fits every target exactly; pass the noise "
                "std as sigma (a number, in y's units) or use uncertainty=None"
            )
        if settings["sigma"] is not None and np.ndim(y_scale) > 0 and np.ptp(y_scale) > 0:
            raise ValueError(
                "a numeric sigma with uncertainty and several outputs needs standardize=False "
                "or outputs of one scale; use sigma='learn' (set by the evidence)"
            )
        prior = 1.0 / np.sqrt(settings["strength"]) if settings["strength"] > 0 else None
        sigma = None if settings["sigma"] is None else settings["sigma"] / float(np.max(y_scale))
        common = {
            "activation": self.activation,
            "prior_std": prior,
            "sigma": sigma,
            "n_iters": settings["max_iter"],
            "rng": gen,
        }
        with _training.single_threaded_blas():
            self._search_cut: str | None = None
            if settings["uncertainty"] == "ensemble":
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    post: Any = fit_ensemble(
                        xs, ys, settings["hidden"], n_members=settings["n_members"], **common
                    )
                _training.reword_ensemble_warnings(caught, settings["max_iter"])
                noise = float(np.mean(post.sigma))
                self.hidden_sizes_, self.loo_ = tuple(settings["hidden"]), []
            else:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    if settings["auto"]:
                        post = self._fit_by_evidence(settings, xs, ys, common)
                    else:
                        post = self._fit_candidates(settings, xs, ys, common)
                _training.reword_laplace_warnings(caught, settings["max_iter"])
                if settings["uncertainty"] == "laplace":
                    noise = post.sigma
                else:  # the predictive's noise part
                    noise = float(np.sqrt(np.mean(post.sigma**2)))
        self.posterior_ = post
        self.params_ = post.params
        sigma_y = noise * self.y_scale_
        self.sigma_ = float(sigma_y[0]) if y_arr.ndim == 1 else np.array(sigma_y)
        result = post.result
        self.optimizer_ = post.optimizer
        self.optimizer_reason_ = {
            "laplace": "uncertainty='laplace': Levenberg-Marquardt when N * O * P**2 <= 5e8, "
            "else L-BFGS (Adam without scipy), between rounds of evidence tuning",
            "laplace_mixture": "uncertainty='laplace_mixture': each member as with 'laplace'",
            "ensemble": "uncertainty='ensemble': the members train together",
        }[settings["uncertainty"]]
        first = post
        if isinstance(post, Mixture):  # the member whose fit is the mixture's result
            first = next((m for m in post.members if m.result is post.result), post.members[0])
        if isinstance(first, Laplace):  # every round's MAP fit up to the chosen one
            used = first.rounds[: first.best_round + 1]
            curve = [loss for entry in used for loss in entry["losses"]]
        else:
            curve = list(result.history.losses)
        self.history_ = None if result is None else result.history
        self.loss_curve_ = np.asarray(curve, dtype=float)
        self.n_iter_ = len(curve)
        if result is None:  # no hidden layer: the MAP is solved exactly
            self.stop_reason_, self.stop_message_ = "converged", "solved exactly (linear model)"
        else:
            self.stop_reason_ = str(result.reason)
            self.stop_message_ = str(result.message)
        if self._search_cut is not None:  # Ctrl-C while a wider candidate was fitted
            self.stop_reason_, self.stop_message_ = "interrupted", self._search_cut
        self.validation_scores_ = None
        self.n_features_in_ = x_ND.shape[1]
        self._y_ndim = y_arr.ndim
        return self

    def _fit_by_evidence(
        self, settings: dict[str, Any], xs: np.ndarray, ys: np.ndarray, common: dict[str, Any]
    ) -> Any:
        """``hidden_sizes="auto"``: grow the width while the evidence rises; set
        ``hidden_sizes_`` to its peak. A mixture mixes the members of the peak's width and of
        the next (:func:`tinynn.posterior.fit_width_mixture`); one Laplace fit is the peak's."""
        self.loo_ = []
        candidates = [tuple(hidden) for hidden in settings["candidates"]]
        if settings["uncertainty"] == "laplace_mixture":
            post = fit_width_mixture(xs, ys, candidates, n_members=settings["n_members"], **common)
            self.hidden_sizes_ = tuple(post.hidden_sizes or candidates[0])
            if post.result is not None and post.result.reason == "interrupted":
                self._search_cut = post.result.message
            return post
        best, best_evidence, chosen = None, -np.inf, candidates[0]
        for hidden in candidates:
            try:
                fit = fit_laplace(xs, ys, hidden, **common)
            except KeyboardInterrupt:  # before the wider fit had a round
                if best is None:
                    raise
                fit = None
            if fit is None or getattr(fit.result, "reason", None) == "interrupted":
                if best is None:  # the first candidate's partial fit: all there is
                    best, chosen = fit, hidden
                else:
                    self._search_cut = (
                        f"interrupted by KeyboardInterrupt while fitting hidden_sizes={hidden}; "
                        f"keeping the fit of {chosen}"
                    )
                break
            evidence = fit.log_evidence()
            if evidence <= best_evidence:
                break
            best, best_evidence, chosen = fit, evidence, hidden
        self.hidden_sizes_ = tuple(chosen)
        return best

    def _fit_candidates(
        self, settings: dict[str, Any], xs: np.ndarray, ys: np.ndarray, common: dict[str, Any]
    ) -> Any:
        """Fit the first architecture of ``hidden_sizes``, then each next one while its
        leave-one-out log-likelihood beats the current fit's by more than a standard error;
        return the fit kept, and set ``hidden_sizes_`` and ``loo_``."""

        def fit_one(hidden: list[int]) -> Any:
            if settings["uncertainty"] == "laplace":
                return fit_laplace(xs, ys, hidden, **common)
            return fit_laplace_mixture(xs, ys, hidden, n_members=settings["n_members"], **common)

        first, *others = settings["candidates"]
        current, chosen = fit_one(first), first
        comparisons = []
        for hidden in others:
            try:
                wider = fit_one(hidden)
            except KeyboardInterrupt:  # before the wider fit had a round
                wider = None
            if wider is None or getattr(wider.result, "reason", None) == "interrupted":
                self._search_cut = (
                    f"interrupted by KeyboardInterrupt while fitting hidden_sizes={hidden}; "
                    f"keeping the fit of {chosen}"
                )
                break  # a fit cut short is not compared
            comparisons.append(compare_loo([current, wider], xs, ys))
            if comparisons[-1].chosen == 0:
                break
            current, chosen = wider, hidden
        self.hidden_sizes_, self.loo_ = tuple(chosen), comparisons
        return current

    # -- prediction ----------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise _not_fitted_error(
                "This Regressor instance is not fitted yet; call fit(X, y) before using it"
            )

    def predict(self, X: Any, return_std: bool = False) -> Any:
        """Predict y for ``X``, in the original units of y.

        Parameters
        ----------
        X : array_like of shape (N, D)
            Inputs with the ``n_features_in_`` features seen in ``fit``.
        return_std : bool, default False
            Also return a standard deviation for each prediction: the total predictive std
            (posterior and noise) with ``uncertainty`` set, else the noise std ``sigma_``.

        Returns
        -------
        yhat : ndarray of shape (N,), or (N, O) when fitted on 2-D y
            Predicted means.
        std : ndarray of the same shape
            Predictive (or noise) standard deviation, only when ``return_std=True``.

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        ValueError
            If X is not 2-D, holds NaN or has the wrong number of features.
        """
        self._check_fitted()
        # X traced by autograd (the gradient of an acquisition function, say): checked on its
        # value, computed on the trace, so that the mean and the std are differentiable in X
        traced = isbox(X)
        x_ND = _inputs.check_X(getval(X) if traced else X)
        if x_ND.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {x_ND.shape[1]} features, but Regressor is expecting "
                f"{self.n_features_in_} features as input; pass the columns used in fit"
            )
        n = x_ND.shape[0]
        xs = ((X if traced else x_ND) - self.x_mean_) / self.x_scale_
        if getattr(self, "posterior_", None) is not None:
            pred = self.posterior_.predict(xs)
            mean_NO = anp.reshape(pred.mean, (n, -1)) * self.y_scale_ + self.y_mean_
            std_NO = anp.reshape(pred.std, (n, -1)) * self.y_scale_
            if self._y_ndim == 1:
                mean_NO, std_NO = mean_NO[:, 0], std_NO[:, 0]
            return (mean_NO, std_NO) if return_std else mean_NO
        out = _net_predict(self.params_, xs, activation=self.activation)
        out_NO = anp.reshape(out, (n, -1)) * self.y_scale_ + self.y_mean_
        yhat = out_NO[:, 0] if self._y_ndim == 1 else out_NO
        if not return_std:
            return yhat
        std = np.broadcast_to(np.asarray(self.sigma_, dtype=float), np.shape(yhat)).copy()
        return yhat, std

    def score(self, X: Any, y: Any) -> float:
        """Return the coefficient of determination R^2 of the predictions for ``X``.

        Parameters
        ----------
        X : array_like of shape (N, D)
            Inputs.
        y : array_like of shape (N,) or (N, O)
            True targets; with several outputs the scores are averaged.

        Returns
        -------
        float
            1 is a perfect fit; 0 is no better than predicting the mean of y.

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        ValueError
            If X or y is malformed.
        """
        yhat = self.predict(X)
        y_arr = _inputs.check_y(y, len(yhat))
        return _inputs.r2_score(y_arr, yhat)

    # -- persistence hooks used by tinynn.io -----------------------------------------------------

    def _tinynn_fitted_state(self) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        return fitted_state(self)

    @classmethod
    def _tinynn_from_state(
        cls, params: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> Regressor:
        return restore(cls(**meta["estimator_params"]), params, meta, arrays)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False
