"""Built-in hidden-layer activations: traceable forms plus the numpy kernels of the fast path.

Private to :mod:`tinynn.model`; a new built-in activation is one more entry of ``KERNELS``.

Each built-in activation has three faces:

- a function written with ``autograd.numpy`` (what ``tinynn.model.ACTIVATIONS`` exposes and what
  the plain traced reference path calls);
- an in-place numpy forward ``forward(z, out)`` used by the fast path;
- ``deriv_mul(a, d)``, which multiplies the backpropagated ``d`` in place by ``f'(z)`` computed
  from the OUTPUT ``a = f(z)`` alone (and may overwrite ``a``), so the fast path keeps one
  array per hidden layer and never the pre-activation ``z``.

The :class:`Activation` tuple's methods ``derivative`` (``f'(z)`` as an array),
``prescale`` and ``forward_prescaled`` (tanh's first pass folded into the weights) serve the
hand-written passes in this package and in :mod:`tinynn.posterior`'s log density.

Every activation here is chosen so that its derivative is a function of its output. ``relu`` and
``leaky_relu`` use the derivative of the right-hand side at exactly zero, in both paths.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import autograd.numpy as anp
import numpy as np

LEAKY_SLOPE = 0.01


def tanh(z: Any) -> Any:
    """Return the hyperbolic tangent of ``z``."""
    return anp.tanh(z)


def relu(z: Any) -> Any:
    """Return ``max(z, 0)`` elementwise (derivative 0 at exactly 0)."""
    return anp.where(z > 0, z, 0.0)


def leaky_relu(z: Any) -> Any:
    """Return ``z`` where positive and ``0.01 * z`` elsewhere."""
    return anp.where(z > 0, z, LEAKY_SLOPE * z)


def elu(z: Any) -> Any:
    """Return ``z`` where positive and ``exp(z) - 1`` elsewhere."""
    return anp.where(z > 0, z, anp.expm1(anp.minimum(z, 0.0)))


def sigmoid(z: Any) -> Any:
    """Return the logistic sigmoid ``1 / (1 + exp(-z))``, computed without overflow."""
    return 0.5 * (anp.tanh(0.5 * z) + 1.0)


def softplus(z: Any) -> Any:
    """Return ``log(1 + exp(z))``, computed without overflow."""
    return anp.logaddexp(0.0, z)


def identity(z: Any) -> Any:
    """Return ``z`` unchanged (a linear hidden layer)."""
    return z


# From this many elements on, tanh takes the exp form wherever it was chosen; below, it is np.tanh
# on every machine, so results there never depend on a timing. (Its five calls against np.tanh's
# one cost more on small arrays; a second timing that lowered this to 1024 elements where the
# exp form was no slower there decided differently from run to run near its threshold, and with
# it the last bits of every result on 1024 to 2047 elements.)
EXP_FORM_MIN_SIZE = 2048
# Which tanh large arrays get: "numpy" (np.tanh), "exp" (the exp form) or None, decided by timing
# both once on this machine at the first large call. Set it (or the environment variable
# TINYNN_TANH=numpy|exp before the first call) to fix the choice, e.g. for results that are
# identical to the last bit across machines.
TANH_FORM: str | None = os.environ.get("TINYNN_TANH") or None
# The exp form must win by this factor to be chosen: a clear margin keeps the choice stable from
# run to run on a noisy machine, and np.tanh is kept whenever in doubt.
_EXP_FORM_MARGIN = 0.8


def _exp_tanh(z: np.ndarray, out: np.ndarray) -> None:
    # tanh(z) = 2 / (1 + exp(-2 z)) - 1; the absolute error stays below 4e-16. Where exp
    # overflows (z < -354) the result is -1 exactly, as it should be.
    np.multiply(z, -2.0, out=out)
    _exp_tanh_of_scaled(out)


def _exp_tanh_of_scaled(y: np.ndarray) -> None:
    # The exp form's passes after its first: y = -2 z in, tanh(z) out, in place.
    with np.errstate(over="ignore"):
        np.exp(y, out=y)
    y += 1.0
    np.divide(2.0, y, out=y)
    y -= 1.0


def _best_times(size: int, repeats: int) -> dict[str, float]:
    """Return the best time of ``repeats`` calls of each form on ``size`` elements, of seven."""
    z = np.linspace(-4.0, 4.0, size)
    out = np.empty_like(z)
    best = {"numpy": np.inf, "exp": np.inf}
    for _ in range(7):  # interleaved, best of seven: robust to a busy machine
        for form, fn in (
            ("numpy", lambda: np.tanh(z, out=out)),
            ("exp", lambda: _exp_tanh(z, out)),
        ):
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            best[form] = min(best[form], time.perf_counter() - start)
    return best


def choose_tanh() -> str:
    """Time np.tanh against the exp form on 8192 elements; return "exp" only if clearly faster.

    numpy has a SIMD float64 tanh only for some CPUs (AVX-512), so which is faster depends on the
    machine: np.tanh took 19 ns against the exp form's 4 ns per element on one, the reverse on
    another; on an AVX2 AMD EPYC, 15 ns against 7 (np.exp alone 6).
    """
    best = _best_times(8192, 5)
    return "exp" if best["exp"] < _EXP_FORM_MARGIN * best["numpy"] else "numpy"


def _uses_exp_form(size: int) -> bool:
    """Return whether tanh on ``size`` elements takes the exp form (timed once, at first need)."""
    global TANH_FORM
    if size < EXP_FORM_MIN_SIZE:
        return False
    if TANH_FORM is None:
        TANH_FORM = choose_tanh()
    return TANH_FORM == "exp"


def _fwd_tanh(z: np.ndarray, out: np.ndarray) -> None:
    if _uses_exp_form(z.size):
        _exp_tanh(z, out)
    else:
        np.tanh(z, out=out)


def _fwd_relu(z: np.ndarray, out: np.ndarray) -> None:
    np.maximum(z, 0.0, out=out)


def _fwd_leaky_relu(z: np.ndarray, out: np.ndarray) -> None:
    np.maximum(z, LEAKY_SLOPE * z, out=out)


def _fwd_elu(z: np.ndarray, out: np.ndarray) -> None:
    neg = np.expm1(np.minimum(z, 0.0))
    np.copyto(out, np.where(z > 0, z, neg))


def _fwd_sigmoid(z: np.ndarray, out: np.ndarray) -> None:
    np.negative(z, out=out)
    np.minimum(out, 700.0, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.divide(1.0, out, out=out)


def _fwd_softplus(z: np.ndarray, out: np.ndarray) -> None:
    np.logaddexp(0.0, z, out=out)


def _fwd_identity(z: np.ndarray, out: np.ndarray) -> None:
    if out is not z:
        np.copyto(out, z)


def _mul_tanh(a: np.ndarray, d: np.ndarray) -> None:
    np.multiply(a, a, out=a)
    np.subtract(1.0, a, out=a)
    d *= a


def _mul_relu(a: np.ndarray, d: np.ndarray) -> None:
    d *= a > 0.0


def _mul_leaky_relu(a: np.ndarray, d: np.ndarray) -> None:
    d *= np.where(a > 0.0, 1.0, LEAKY_SLOPE)


def _mul_elu(a: np.ndarray, d: np.ndarray) -> None:
    d *= np.where(a > 0.0, 1.0, a + 1.0)


def _mul_sigmoid(a: np.ndarray, d: np.ndarray) -> None:
    d *= a
    np.subtract(1.0, a, out=a)
    d *= a


def _mul_softplus(a: np.ndarray, d: np.ndarray) -> None:
    # f'(z) = sigmoid(z) = 1 - exp(-f(z)); expm1 keeps it accurate when f(z) is tiny.
    np.negative(a, out=a)
    np.expm1(a, out=a)
    d *= a
    np.negative(d, out=d)


def _mul_identity(a: np.ndarray, d: np.ndarray) -> None:
    pass


class Activation(NamedTuple):
    """A hidden-layer activation: its name, traceable function and in-place numpy kernels.

    ``forward(z, out)`` writes ``f(z)`` into ``out`` (which may be ``z``); ``deriv_mul(a, d)``
    multiplies ``d`` in place by ``f'(z)`` computed from the output ``a = f(z)`` alone and may
    overwrite ``a``. A user's callable has ``name`` None and kernels that raise a TypeError: it
    takes the plain autograd path.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.model import resolve_activation
    >>> relu = resolve_activation("relu")
    >>> z = np.array([-1.0, 2.0])
    >>> relu.forward(z, z)  # in place
    >>> d = np.ones(2)
    >>> relu.deriv_mul(z, d)  # d *= relu'(z), read from the output
    >>> z, d
    (array([0., 2.]), array([0., 1.]))
    """

    name: str | None
    fn: Callable[[Any], Any]
    forward: Callable[[np.ndarray, np.ndarray], None]
    deriv_mul: Callable[[np.ndarray, np.ndarray], None]

    def prescale(self, size: int) -> float:
        """Return the factor by which a layer may scale its weights and bias before ``forward``.

        The exp form of tanh starts with the pass ``-2 z``; a layer that multiplies its (small)
        weights and bias by -2 instead hands it ``-2 z`` directly and saves that pass over its
        ``size`` outputs. Multiplying by -2 is exact, so the result is the same to the last
        bit. -2.0 when tanh of ``size`` elements takes the exp form, 1.0 otherwise; the layer
        then calls :meth:`forward_prescaled` on its scaled pre-activation.

        Examples
        --------
        >>> from tinynn.model import resolve_activation
        >>> resolve_activation("relu").prescale(10**6), resolve_activation("tanh").prescale(10)
        (1.0, 1.0)
        """
        if self.forward is _fwd_tanh and _uses_exp_form(size):
            return -2.0
        return 1.0

    def forward_prescaled(self, y: np.ndarray, scale: float) -> None:
        """Overwrite ``y = scale * z`` with ``f(z)``, for the ``scale`` :meth:`prescale` gave.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.model import resolve_activation
        >>> tanh = resolve_activation("tanh")
        >>> y = np.zeros(4)
        >>> tanh.forward_prescaled(y, tanh.prescale(y.size))
        >>> y
        array([0., 0., 0., 0.])
        """
        if scale == 1.0:
            self.forward(y, y)
        else:
            _exp_tanh_of_scaled(y)

    def derivative(self, a: np.ndarray, scratch: Callable[[], np.ndarray]) -> np.ndarray:
        """Return ``f'(z)`` from the output ``a = f(z)``, consuming ``a``.

        tanh's is written into ``a`` itself, ``1 - a**2`` in two passes; any other activation
        multiplies an array of ones from ``scratch()`` (shaped like ``a``) by it. The values
        are those ``deriv_mul`` multiplies by.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.model import resolve_activation
        >>> a = np.array([0.0, 0.5])  # outputs of tanh
        >>> resolve_activation("tanh").derivative(a, lambda: np.empty(2))
        array([1.  , 0.75])
        """
        if self.deriv_mul is _mul_tanh:
            np.multiply(a, a, out=a)
            np.subtract(1.0, a, out=a)
            return a
        out = scratch()
        out.fill(1.0)
        self.deriv_mul(a, out)
        return out


def _no_kernel(*_args: Any) -> None:
    raise TypeError(
        "a custom activation function has no numpy kernel; tinynn differentiates it with plain "
        "autograd instead (use a built-in name such as 'tanh' for the fast path)"
    )


def custom(fn: Callable[[Any], Any]) -> Activation:
    """Return the Activation of a user's function: no name and no numpy kernels."""
    return Activation(None, fn, _no_kernel, _no_kernel)


KERNELS: dict[str, Activation] = {
    "tanh": Activation("tanh", tanh, _fwd_tanh, _mul_tanh),
    "relu": Activation("relu", relu, _fwd_relu, _mul_relu),
    "leaky_relu": Activation("leaky_relu", leaky_relu, _fwd_leaky_relu, _mul_leaky_relu),
    "elu": Activation("elu", elu, _fwd_elu, _mul_elu),
    "sigmoid": Activation("sigmoid", sigmoid, _fwd_sigmoid, _mul_sigmoid),
    "softplus": Activation("softplus", softplus, _fwd_softplus, _mul_softplus),
    "identity": Activation("identity", identity, _fwd_identity, _mul_identity),
}

# Other names and callables that mean a built-in; they take the fast path too.
ALIASES: dict[Any, str] = {"linear": "identity", anp.tanh: "tanh", np.tanh: "tanh"}
for _name, _kernel in KERNELS.items():
    ALIASES[_kernel.fn] = _name
