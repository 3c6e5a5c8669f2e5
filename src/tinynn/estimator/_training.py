"""Training pieces of :class:`tinynn.estimator.Regressor` (private to :mod:`tinynn.estimator`).

The optimizer chosen by name, the exact output-layer solve after every first-order step
(variable projection, through ``Objective.solve_output_layer``), the validation score for early
stopping, and single-threaded BLAS while fitting (tiny matrices only lose from threads).

Shape suffixes: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tinynn import optim
from tinynn._checks import check_choice, check_positive
from tinynn.estimator._inputs import OPTIMIZERS
from tinynn.losses import Objective
from tinynn.model import predict as net_predict

# Levenberg-Marquardt's iteration costs about N * O * P**2 multiply-adds (the Gauss-Newton
# matrix); up to this many it is a few milliseconds to a tenth of a second, and its ten-times
# fewer iterations win over L-BFGS. Beyond it, L-BFGS's cheaper iterations do.
LM_MAX_WORK = 5e8
LM_MAX_BYTES = 2**28


def make_optimizer(
    est: Any, max_iter: int, n_examples: int, n_outputs: int, n_params: int, minibatch: bool
) -> tuple[str, Any, str]:
    """Return the optimizer's name, object, and why it was chosen, for ``est.optimizer``.

    ``"auto"`` takes Adam for minibatches; else Levenberg-Marquardt when a dense Gauss-Newton
    solve is cheap for this problem, else L-BFGS when scipy is installed, else Adam.
    ``max_iter`` is the number of steps the step size decays over.
    """
    choice = est.optimizer
    if not isinstance(choice, str):
        return type(choice).__name__, choice, "given as an optimizer object"
    check_choice(choice, "optimizer", OPTIMIZERS)
    reason = "asked for by name"
    if choice == "auto" and minibatch:
        choice, reason = "adam", "auto: minibatches (batch_size) need a first-order optimizer"
    if choice == "auto":
        work = float(n_examples) * n_outputs * n_params**2
        size = 8.0 * (n_examples * n_outputs * n_params + n_params**2)
        if work <= LM_MAX_WORK and size <= LM_MAX_BYTES:
            choice = "levenberg_marquardt"
            reason = (
                f"auto: P={n_params} parameters and N={n_examples} examples make a dense "
                f"Gauss-Newton solve cheap (N*O*P^2 = {work:.3g} <= {LM_MAX_WORK:.0e})"
            )
        else:
            try:
                import scipy.optimize  # noqa: F401
            except ImportError:
                choice, why = "adam", "scipy is not installed for L-BFGS"
            else:
                choice, why = "lbfgs", "L-BFGS's cheaper iterations win"
            reason = (
                f"auto: {why}; P={n_params} and N={n_examples} are too large for dense "
                f"Gauss-Newton (N*O*P^2 = {work:.3g} > {LM_MAX_WORK:.0e} or its arrays "
                f"{size / 1e6:.0f} MB > {LM_MAX_BYTES / 1e6:.0f} MB)"
            )
    if choice == "lbfgs":
        return choice, optim.lbfgs(), reason
    if choice == "levenberg_marquardt":
        return choice, optim.levenberg_marquardt(), reason
    step = check_positive(est.step_size, "step_size")
    schedule = optim.cosine_decay(step, max(1, max_iter - 1), 0.01 * step)
    first_order: Any = optim.OPTIMIZERS[choice]  # each takes the step size first
    return choice, first_order(schedule), reason


_BLAS_CONTROLLER: list[Any] = []  # [(len(sys.modules) when scanned, blas controller)]


def _blas_controller() -> Any:
    """Return threadpoolctl's controller of the loaded BLAS libraries, or None without it.

    Finding the libraries walks every loaded shared object (milliseconds once scikit-learn or
    scipy are loaded), so the scan is reused until ``sys.modules`` changes size, the cheap sign
    that an import may have loaded another BLAS.
    """
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:
        return None
    n_modules = len(sys.modules)
    cached = _BLAS_CONTROLLER[0] if _BLAS_CONTROLLER else None
    if cached is None or cached[0] != n_modules:
        cached = (n_modules, ThreadpoolController().select(user_api="blas"))
        _BLAS_CONTROLLER[:] = [cached]
    return cached[1]


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread when threadpoolctl is installed (tiny problems run faster).

    Nothing is changed when every loaded BLAS already uses one thread.
    """
    controller = _blas_controller()
    if controller is None or all(lib.num_threads == 1 for lib in controller.lib_controllers):
        yield
        return
    with controller.limit(limits=1):
        yield


CONVERGENCE_PATIENCE = 10  # iterations without enough improvement before stopping
# L-BFGS and first-order methods often crawl for tens of iterations before improving again,
# which would trip the rule above; they stop when the loss changes by less than this fraction.
RELATIVE_TOL = 1e-9


class ConvergenceWatch:
    """Stop training when the loss per example stops improving by ``tol`` (scikit-learn's rule).

    Called after every iteration with minimize's ``CallbackInfo``. The loss is read once every
    ``steps`` iterations, as the mean over them (``steps`` = the minibatches of an epoch; 1
    without minibatches); ``inner`` (another callback, e.g. the command's progress display) is
    called then, with the epoch's number and mean loss in minibatch training. Readings whose
    loss per example is not at least ``tol`` below the best so far are counted, and training
    stops after ``CONVERGENCE_PATIENCE`` of them in a row.
    """

    def __init__(
        self, tol: float | None, n_examples: int, inner: Any = None, steps: int = 1
    ) -> None:
        self.tol = tol
        self.n_examples = n_examples
        self.inner = inner
        self.steps = steps
        self.best = np.inf
        self.stalled = 0
        self.fired_at: int | None = None
        self._sum = 0.0

    def __call__(self, info: Any) -> bool:
        if self.steps > 1:
            self._sum += info.loss
            if (info.iteration + 1) % self.steps:
                return False
            mean, self._sum = self._sum / self.steps, 0.0
            info = info._replace(iteration=info.iteration // self.steps, loss=mean)
        if self.inner is not None and self.inner(info):
            return True
        if self.tol is None:
            return False
        loss = info.loss / self.n_examples
        if loss < self.best - self.tol:
            self.stalled = 0
        else:
            self.stalled += 1
        self.best = min(self.best, loss)
        if self.stalled >= CONVERGENCE_PATIENCE:
            self.fired_at = int(info.iteration)
            return True
        return False

    def message(self) -> str:
        unit = "epoch" if self.steps > 1 else "iteration"
        return (
            f"converged at {unit} {self.fired_at}: the training loss per example improved by "
            f"less than tol={self.tol:g} for {CONVERGENCE_PATIENCE} {unit}s"
        )


def reword_ensemble_warnings(caught: list[warnings.WarningMessage], max_iter: int) -> None:
    """Warn again what ``fit_ensemble`` warned, its unconverged fit in the Regressor's terms.

    Its own words name ``n_iters``; a Regressor's user sets ``max_iter``. The warnings point
    at the caller of :meth:`Regressor.fit`.
    """
    pilot = [w for w in caught if _fit_counts(w.message) is not None]
    reword_laplace_warnings(pilot, max_iter, "the Laplace fit for the prior std and noise", 5)
    for caught_warning in caught:
        if caught_warning in pilot:
            continue
        message = str(caught_warning.message)
        if message.startswith("fit_ensemble: the joint fit stopped"):
            why = message[message.index("(") : message.index(")") + 1]
            message = (
                f"Regressor: the ensemble's joint fit stopped at max_iter={max_iter} before "
                f"converging {why}; raise max_iter"
            )
        warnings.warn(message, caught_warning.category, stacklevel=4)


def reword_laplace_warnings(
    caught: list[warnings.WarningMessage],
    max_iter: int,
    what: str | None = None,
    stacklevel: int = 4,
) -> None:
    """Warn again what the Laplace fits warned: once per kind, in the Regressor's terms.

    A default fit runs ten or more Laplace fits (members, widths); their warnings count them
    (``n_cut``, ``moved``) in the words of the posterior functions, naming ``n_iters`` and
    ``max_rounds``, which a Regressor's user does not set. Each kind is said once, with how
    many fits it concerns (or as ``what``); other warnings are repeated once each. They point
    at the caller of :meth:`Regressor.fit` (``stacklevel`` frames up from here).
    """
    cut, rounds = 0, 0
    unsettled: list[float] = []
    others: dict[tuple[str, type[Warning]], None] = {}  # in order, each once
    for caught_warning in caught:
        counts = _fit_counts(caught_warning.message)
        if counts is None:
            others.setdefault((str(caught_warning.message), caught_warning.category), None)
        else:
            cut += counts[0]
            unsettled += counts[1]
            rounds = counts[2] or rounds

    def fits(count: int) -> str:
        return what or ("1 Laplace fit" if count == 1 else f"{count} Laplace fits")

    if cut:
        warnings.warn(
            f"Regressor: {fits(cut)} stopped at max_iter={max_iter} before converging (the "
            f"objective still changed by more than a fraction 1e-06 per iteration); raise "
            "max_iter",
            optim.ConvergenceWarning,
            stacklevel=stacklevel,
        )
    if unsettled:
        their = "its" if len(unsettled) == 1 or what else "their"
        warnings.warn(
            f"Regressor: in {fits(len(unsettled))} sigma or the evidence still moved by up to "
            f"{max(unsettled):.2g} (relative) when {their} {rounds} rounds of tuning ran out, "
            "so the noise and the predictive may still shift a little"
            + ("; raising max_iter lets each round's fit finish" if cut else ""),
            optim.ConvergenceWarning,
            stacklevel=stacklevel,
        )
    for message, category in others:
        warnings.warn(message, category, stacklevel=stacklevel)


def _fit_counts(found: Warning | str) -> tuple[int, list[float], int] | None:
    """Return a Laplace fit warning's counts (fits cut short, moves, rounds), else None.

    The posterior functions' ``LaplaceFitWarning`` carries them as attributes.
    """
    n_cut, moved = getattr(found, "n_cut", None), getattr(found, "moved", None)
    if not isinstance(n_cut, int) or not isinstance(moved, list):
        return None
    return n_cut, moved, int(getattr(found, "max_rounds", 0))


def epoch_means(losses: np.ndarray, steps: int) -> np.ndarray:
    """Return the mean loss of every epoch of ``steps`` iterations (the last may be partial)."""
    return np.array([losses[i : i + steps].mean() for i in range(0, len(losses), steps)])


def with_output_solve(inner: Any, objective: Objective) -> optim.Optimizer:
    """Wrap a first-order optimizer so every update ends with the exact output-layer solve.

    After each step on all parameters, the linear output layer is set to its optimum given the
    hidden layers (``objective.solve_output_layer``): variable projection.
    """

    def update(grads: Any, state: Any, params: Any) -> tuple[Any, Any]:
        new_params, state = inner.update(grads, state, params)
        return objective.solve_output_layer(new_params), state

    return optim.Optimizer(inner.init, update)


def validation_rmse_fn(
    xs: np.ndarray, ys: np.ndarray, activation: Any, y_scale: Any
) -> Callable[[Any], float]:
    """Return ``fn(tree) -> RMSE on the held-out split in units of y``."""

    def validation_rmse(tree: Any) -> float:
        net = tree["net"] if isinstance(tree, dict) else tree
        yhat = np.asarray(net_predict(net, xs, activation=activation)).reshape(ys.shape)
        return float(np.sqrt(np.mean(((yhat - ys) * y_scale) ** 2)))

    return validation_rmse
