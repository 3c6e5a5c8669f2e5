"""What :func:`tinynn.optim.minimize` hands back: the result, the resumable state, the faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tinynn.optim._history import History

__all__ = [
    "REASONS",
    "CallbackInfo",
    "DivergenceError",
    "DivergenceWarning",
    "OptimizeResult",
    "TrainState",
]

REASONS = ("completed", "converged", "diverged", "interrupted", "callback", "early_stopping")
_SUCCESS = ("completed", "converged", "callback", "early_stopping")


class TrainState(NamedTuple):
    """Everything needed to continue a first-order run exactly where it stopped.

    Pass ``state=result.state`` together with ``result.params`` to :func:`minimize` and the
    training continues bit for bit as one longer call would have.

    Attributes
    ----------
    opt_state : NamedTuple
        The optimizer's own state (its update count, moments, ...).
    params : tree
        The parameters the run ended at (the last evaluated ones).
    grads : tree or None
        The gradient at ``params``, not yet applied; the next call starts by applying it,
        so nothing is evaluated twice. None when nothing is pending.
    loss : float or None
        The loss at ``params``.
    iteration : int
        The number of the next iteration (iterations are numbered across resumed calls).

    Examples
    --------
    Three iterations, then two more resumed from the state, end where five in one call do:

    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> from tinynn import optim
    >>> loss = lambda x: anp.sum(x**2)
    >>> opt = optim.gradient_descent(0.1)
    >>> first = optim.minimize(loss, np.array([1.0, -2.0]), optimizer=opt, n_iters=3)
    >>> first.state.iteration, first.state.opt_state
    (3, GradientDescentState(n_updates=2))
    >>> more = optim.minimize(
    ...     loss, first.params, optimizer=opt, n_iters=2, state=first.state)
    >>> more.history.iters
    array([3, 4])
    >>> once = optim.minimize(loss, np.array([1.0, -2.0]), optimizer=opt, n_iters=5)
    >>> bool(np.array_equal(more.params, once.params))
    True
    """

    opt_state: Any
    params: Any
    grads: Any
    loss: float | None
    iteration: int


class CallbackInfo(NamedTuple):
    """What a ``callback`` passed to :func:`minimize` receives after each iteration.

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> from tinynn import optim
    >>> seen = []
    >>> result = optim.minimize(lambda x: anp.sum(x**2), np.array([3.0, 4.0]),
    ...                         optimizer=optim.gradient_descent(0.1), n_iters=3,
    ...                         callback=seen.append)
    >>> info = seen[0]
    >>> len(seen), info.iteration, info.loss, round(info.grad_norm, 6)
    (3, 0, 25.0, 10.0)
    >>> info.params, info.grads
    (array([3., 4.]), array([6., 8.]))
    """

    iteration: int
    params: Any
    loss: float
    grads: Any
    grad_norm: float
    elapsed: float


class DivergenceWarning(RuntimeWarning):
    """Training stopped because the loss or the gradient became NaN or infinite."""


class ConvergenceWarning(UserWarning):
    """A fit stopped at its iteration limit before it converged; its result may still move."""


class DivergenceError(FloatingPointError):
    """Raised instead of :class:`DivergenceWarning` when ``on_nonfinite="raise"``.

    The result up to the last finite iteration is attached as ``error.result``.
    """

    def __init__(self, message: str, result: OptimizeResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(repr=False)
class OptimizeResult:
    """The outcome of :func:`~tinynn.optim.minimize`.

    Attributes
    ----------
    params : tree
        Final parameters: those of the last iteration that finished with a finite loss, or,
        when a ``validation_fn`` was given, those with the lowest validation loss.
    best_params : tree
        Parameters with the lowest training loss seen.
    best_loss : float
        That loss (``inf`` when no finite loss was seen).
    history : History
        Loss, gradient norm and time of every iteration, plus the requested records.
    n_iters : int
        Number of iterations completed by this call.
    state : TrainState or None
        Pass it back as ``state=`` to continue; None for L-BFGS, which cannot resume.
    reason : str
        Why training stopped: ``"completed"``, ``"converged"``, ``"diverged"``,
        ``"interrupted"``, ``"callback"`` or ``"early_stopping"``.
    message : str
        One sentence saying the same for humans.
    n_evals : int
        Number of loss-and-gradient evaluations (equal to ``n_iters`` for first-order
        optimizers, plus one when an evaluation came out non-finite; more for L-BFGS, whose
        line search tries several points per iteration).

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> from tinynn import optim
    >>> result = optim.minimize(lambda x: anp.sum(x**2), np.array([1.0, -2.0]),
    ...                         optimizer=optim.gradient_descent(0.1), n_iters=3)
    >>> result
    OptimizeResult(reason='completed', n_iters=3, best_loss=2.048000e+00, message=...)
    >>> result.success, result.params.round(4), result.history.losses.round(4)
    (True, array([ 0.64, -1.28]), array([5.   , 3.2  , 2.048]))
    """

    params: Any
    best_params: Any
    best_loss: float
    history: History
    n_iters: int
    state: TrainState | None
    reason: str
    message: str
    n_evals: int = field(default=0)

    @property
    def success(self) -> bool:
        """True unless training diverged or was interrupted."""
        return self.reason in _SUCCESS

    def __repr__(self) -> str:
        return (
            f"OptimizeResult(reason={self.reason!r}, n_iters={self.n_iters}, "
            f"best_loss={self.best_loss:.6e}, message={self.message!r})"
        )
