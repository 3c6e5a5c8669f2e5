"""Equal-weight mixtures of posteriors, and mixtures of Laplace fits (private to
:mod:`tinynn.posterior`).

A Laplace approximation describes one mode of the posterior; fits from other seeds land in other
modes. Mixing M of them with equal weights (a mixture of Laplace approximations, Eschenhagen et
al. 2021; a deep ensemble whose members carry their own Gaussian) gives a predictive that has both
the spread between modes and the spread within each. Each member here keeps its own evidence-tuned
prior and noise.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import numpy as np

from tinynn import model, tree
from tinynn._checks import as_generator, check_int
from tinynn.posterior._base import Posterior, Predictive, from_state
from tinynn.posterior._fit import fit_laplace, repeat_fit_warnings

MEMBER_PREFIX = "member{}_"  # names of member k's arrays inside a saved mixture


class Mixture(Posterior):
    """An equal-weight mixture of M posteriors over networks of one depth.

    Its predictive at x is the mixture of the members' Gaussian predictives: the mean is their
    average, the variance their average variance plus the variance of their means, and the test
    log-likelihood the log of their average density. ``params`` holds the members' networks
    stacked (a leading axis M on every leaf), as an :class:`Ensemble`'s do.

    Members may differ in their hidden layers' widths (a mixture over architectures, as the
    Regressor's default recipe builds). Stacked, a narrower member's network is padded to the
    widest with hidden units whose weights and bias are zero: their outputs are multiplied by
    zero weights, so the padded network computes the same function. ``params`` and
    :meth:`sample` give such padded networks; each member keeps its own.

    Parameters
    ----------
    members : sequence of Posterior
        At least one; each over one network (its ``params``) with a Gaussian predictive
        (:class:`Laplace`, :class:`PointEstimate`), all with the same activation, number of
        layers, inputs and outputs.

    Attributes
    ----------
    members : list of Posterior
    n_members : int
    params : list of dict, stacked
    sigma : ndarray of shape (M,)
        Each member's noise std.
    result : tinynn.optim.OptimizeResult or None
        Set by :func:`fit_laplace_mixture`: its first member's fit, or the interrupted one.
    optimizer : str
        Set by :func:`fit_laplace_mixture`: the method of the members' MAP fits.

    Raises
    ------
    ValueError
        If ``members`` is empty, holds something other than a posterior over one network, or
        mixes activations, depths, inputs or outputs.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import Mixture, PointEstimate
    >>> one = PointEstimate([{"w": np.ones((1, 1)), "b": np.zeros(1)}], sigma=1.0)
    >>> three = PointEstimate([{"w": np.full((1, 1), 3.0), "b": np.zeros(1)}], sigma=1.0)
    >>> pred = Mixture([one, three]).predict(np.array([[1.0]]))
    >>> pred.mean, pred.epistemic_std, pred.noise_std
    (array([2.]), array([1.]), array([1.]))
    """

    kind = "mixture"
    result: Any = None
    optimizer: str = ""
    search: list[dict[str, Any]] | None = None  # set by fit_width_mixture
    hidden_sizes: tuple[int, ...] | None = None  # set by fit_width_mixture

    def __init__(self, members: Sequence[Posterior]) -> None:
        members = list(members) if isinstance(members, (list, tuple)) else members
        if not isinstance(members, list) or not members:
            raise ValueError(
                f"members must be a non-empty list of posteriors, got {_describe(members)}"
            )
        for k, member in enumerate(members):
            network = getattr(member, "params", None)
            if not isinstance(member, Posterior) or network is None or model.stack_size(network):
                raise ValueError(
                    f"members[{k}] must be a posterior over one network with a Gaussian "
                    f"predictive (Laplace, PointEstimate), got {type(member).__name__}"
                )
        first = members[0]
        member_shapes = [model.layer_shapes(member.params) for member in members]
        shapes = member_shapes[0]
        for k, (member, other) in enumerate(zip(members, member_shapes, strict=True)):
            if member.activation != first.activation:
                raise ValueError(
                    f"every member must use one activation: members[0] uses "
                    f"{first.activation!r}, members[{k}] uses {member.activation!r}"
                )
            if len(other) != len(shapes) or (other[0][0], other[-1][1]) != (
                shapes[0][0],
                shapes[-1][1],
            ):
                raise ValueError(
                    f"every member must have the same number of layers, inputs and outputs "
                    f"(hidden widths may differ): members[0] has layers {shapes}, members[{k}] "
                    f"has {other}"
                )
        self.members = members
        self.n_members = len(members)
        self.activation = first.activation
        # the widest of each layer's outputs: the narrower members' networks are padded to it
        self._widths = [
            max(pair[1] for pair in column) for column in zip(*member_shapes, strict=True)
        ]
        self.params = tree.stack([self._padded(member.params) for member in members])
        self.sigma = np.array([float(np.mean(member.sigma)) for member in members])

    # -- the Posterior interface -------------------------------------------------------------------

    def sample(self, n_samples: int, rng: Any = None) -> Any:
        """Return ``n_samples`` parameter sets, each from a member picked uniformly, stacked.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.posterior import Mixture, PointEstimate
        >>> one = PointEstimate([{"w": np.ones((1, 1)), "b": np.zeros(1)}], sigma=1.0)
        >>> Mixture([one, one]).sample(5, rng=0)[0]["w"].shape
        (5, 1, 1)
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        return self._draw(n_samples, as_generator(rng))[0]

    def _draw(self, n_samples: int, gen: np.random.Generator) -> tuple[Any, np.ndarray]:
        picks = gen.integers(0, self.n_members, size=n_samples)
        parts = [
            self.members[k]._draw(count, gen)
            for k, count in enumerate(np.bincount(picks, minlength=self.n_members).tolist())
            if count
        ]
        # the draws come grouped by member; slot i of the grouped order belongs at order[i]
        back = np.argsort(np.argsort(picks, kind="stable"))
        params_K = tree.map(
            lambda *leaves: np.concatenate(leaves)[back],
            *(self._padded(p) for p, _ in parts),
            same_shapes=False,
        )
        return params_K, np.concatenate([sigma for _, sigma in parts])[back]

    def _padded(self, params: Any) -> Any:
        """Return ``params`` (one network, or stacked) padded to the widest member's widths.

        Layer l's ``w`` gains zero rows for the previous layer's missing units and zero columns
        for its own, its ``b`` zeros for its own: the added units compute nothing that reaches
        the output. A network already of the widest widths is returned as it is.
        """
        shapes = model.layer_shapes(params)
        if [n_out for _, n_out in shapes] == self._widths:
            return params
        ins = [shapes[0][0], *self._widths[:-1]]
        padded: list[dict[str, np.ndarray]] = []
        for layer, (n_in, n_out), big_in, big_out in zip(
            params, shapes, ins, self._widths, strict=True
        ):
            w, b = np.asarray(layer["w"]), np.asarray(layer["b"])
            lead = w.shape[:-2]  # () for one network, (K,) for stacked ones
            big_w = np.zeros((*lead, big_in, big_out))
            big_w[..., :n_in, :n_out] = w
            big_b = np.zeros((*lead, big_out))
            big_b[..., :n_out] = b
            padded.append({"w": big_w, "b": big_b})
        return padded

    def predict(self, x: Any) -> Predictive:
        """Return the mixture of the members' predictives at ``x``.

        ``epistemic_std`` is what the total std holds beyond the noise: the members' own
        epistemic spread and the spread of their means; ``noise_std`` is the root mean square
        of the members' noise stds; ``means_K`` and ``noise_stds_K`` are the members' means and
        total stds, which :meth:`Predictive.interval` and :meth:`Predictive.log_density` use.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.posterior import Mixture, PointEstimate
        >>> one = PointEstimate([{"w": np.ones((1, 1)), "b": np.zeros(1)}], sigma=1.0)
        >>> Mixture([one, one]).predict(np.array([[2.0]])).std
        array([1.])
        """
        preds = [member.predict(x) for member in self.members]
        # autograd.numpy throughout: the predictive is differentiable when x is traced
        means_K = anp.stack([pred.mean for pred in preds])
        stds_K = anp.stack([pred.std for pred in preds])
        mean = anp.mean(means_K, axis=0)
        noise = anp.sqrt(anp.mean(anp.stack([pred.noise_std for pred in preds]) ** 2, axis=0))
        total = anp.mean(stds_K**2, axis=0) + anp.var(means_K, axis=0)
        epistemic = anp.sqrt(anp.maximum(total - noise**2, 0.0))
        return Predictive(mean, epistemic, noise, means_K=means_K, noise_stds_K=stds_K)

    def loo_log_density(self, x: Any, y: Any, *, pointwise: bool = False) -> Any:
        """Return the leave-one-out log-likelihood of the training data, without refitting.

        Per target, the log of the members' average leave-one-out density, each member's in
        closed form (:meth:`Laplace.loo_log_density`, its own prior and noise held fixed):
        the mixture's estimate of its test log-likelihood from the training data alone.

        Parameters
        ----------
        x : ndarray of shape (N, D)
            The training inputs the members were fitted to.
        y : ndarray of shape (N,) or (N, O)
            The training targets.
        pointwise : bool, default False
            Return one value per target instead of their mean.

        Returns
        -------
        float, or ndarray shaped like ``y`` with ``pointwise=True``

        Raises
        ------
        TypeError
            If a member has no closed-form leave-one-out density (only Laplace members do).
        ValueError
            As :meth:`Laplace.loo_log_density` raises.

        Examples
        --------
        >>> import numpy as np
        >>> from tinynn.posterior import fit_laplace_mixture
        >>> rng = np.random.default_rng(0)
        >>> x = rng.uniform(-1, 1, size=(40, 1))
        >>> y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=40)
        >>> post = fit_laplace_mixture(x, y, (5,), n_members=3, rng=0)
        >>> post.loo_log_density(x, y, pointwise=True).shape
        (40,)
        """
        terms_K = []
        for k, member in enumerate(self.members):
            method = getattr(member, "loo_log_density", None)
            if method is None:
                raise TypeError(
                    "loo_log_density needs members with a closed-form leave-one-out density "
                    f"(Laplace), got member {k} of type {type(member).__name__}"
                )
            terms_K.append(method(x, y, pointwise=True))
        stacked = np.stack(terms_K)
        top = stacked.max(axis=0)
        terms = top + np.log(np.mean(np.exp(stacked - top), axis=0))
        return terms if pointwise else float(np.mean(terms))

    # -- saving ------------------------------------------------------------------------------------

    def _state(self) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        infos, arrays = [], {}
        for k, member in enumerate(self.members):
            _, info, member_arrays = member._state()
            # its own layer shapes: a narrower member's network is padded in the stacked params
            info = {**info, "layers": [list(pair) for pair in model.layer_shapes(member.params)]}
            infos.append(info)
            prefix = MEMBER_PREFIX.format(k)
            arrays.update({prefix + name: value for name, value in member_arrays.items()})
        info = {"posterior": self.kind, "activation": self.activation, "members": infos}
        return self.params, info, arrays

    @classmethod
    def _from_state(cls, params: Any, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        infos = info.get("members")
        n_members = model.stack_size(params)
        if not isinstance(infos, list) or n_members != len(infos):
            raise ValueError(
                f"a saved mixture needs one entry per stacked network, got {n_members} networks "
                f"and members={_describe(infos)}"
            )
        members = []
        for k, (params_k, info_k) in enumerate(zip(tree.unstack(params), infos, strict=True)):
            prefix = MEMBER_PREFIX.format(k)
            arrays_k = {
                name[len(prefix) :]: value
                for name, value in arrays.items()
                if name.startswith(prefix)
            }
            layers = info_k.get("layers") if isinstance(info_k, dict) else None
            if layers is not None:  # undo the padding: the member's own widths
                params_k = _trimmed(params_k, layers, k)
                info_k = {key: value for key, value in info_k.items() if key != "layers"}
            members.append(from_state(params_k, info_k, arrays_k))
        return cls(members)

    def __repr__(self) -> str:
        kinds = sorted({type(member).__name__ for member in self.members})
        return f"Mixture(n_members={self.n_members}, of={'/'.join(kinds)})"


def _trimmed(params: Any, layers: Any, k: int) -> Any:
    """Return one member's network cut from its padded copy to its saved ``layers`` shapes."""
    shapes = model.layer_shapes(params)
    ok = (
        isinstance(layers, list)
        and len(layers) == len(shapes)
        and all(
            isinstance(pair, list)
            and len(pair) == 2
            and all(
                isinstance(n, int) and 0 < n <= limit for n, limit in zip(pair, big, strict=True)
            )
            for pair, big in zip(layers, shapes, strict=False)
        )
    )
    if not ok:
        raise ValueError(
            f"member {k} of a saved mixture has layers={layers!r}, which do not fit its stored "
            f"network of layers {shapes}"
        )
    return [
        {"w": layer["w"][:n_in, :n_out].copy(), "b": layer["b"][:n_out].copy()}
        for layer, (n_in, n_out) in zip(params, layers, strict=True)
    ]


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return type(value).__name__


def fit_laplace_mixture(
    x: Any,
    y: Any,
    hidden_sizes: Any = (10,),
    *,
    n_members: int = 5,
    activation: str = "tanh",
    prior_std: Any = None,
    sigma: float | None = None,
    prior_groups: str = "leaf",
    structure: str = "auto",
    n_iters: int = 300,
    max_rounds: int = 20,
    tol: float = 1e-2,
    rng: Any = None,
) -> Mixture:
    """Fit ``n_members`` Laplace posteriors from different starts and mix them with equal weights.

    Each member is :func:`fit_laplace` from its own random start (drawn in turn from ``rng``),
    with its own prior std and noise set by its own evidence; the predictive is the mixture of
    their linearized predictives (see :class:`Mixture`). It costs ``n_members`` fits. On Boston
    housing (the UCI page of the docs) five members of ten units have a lower test RMSE and a
    higher test log-likelihood than one Laplace fit of fifty units, in less time; on data a wide
    network fits well (Energy) the one wide fit stays better.

    Parameters
    ----------
    x, y, hidden_sizes, activation, prior_std, sigma, prior_groups, structure, n_iters, \
max_rounds, tol
        As for :func:`fit_laplace`, for every member.
    n_members : int, default 5
        M, the number of members.
    rng : numpy.random.Generator, int or None
        Randomness of the members' starts.

    Returns
    -------
    Mixture
        Of :class:`Laplace` members, with ``result`` and ``optimizer`` of the first member's
        fit. A Ctrl-C during member k > 0 returns the members fitted so far (member k among
        them if it had finished a round), with ``result.reason == "interrupted"``; during the
        first member's first round it raises KeyboardInterrupt.

    Raises
    ------
    ValueError
        If ``n_members`` is not a positive int, or as :func:`fit_laplace` raises.

    Warns
    -----
    ConvergenceWarning
        Once per kind for all members, with how many fits it concerns: MAP fits stopped at
        ``n_iters`` unconverged, rounds of evidence tuning run out (``max_rounds``).

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import fit_laplace_mixture
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(40, 1))
    >>> y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=40)
    >>> post = fit_laplace_mixture(x, y, (5,), n_members=3, rng=0)
    >>> post.n_members, post.predict(np.zeros((2, 1))).means_K.shape
    (3, (3, 2))
    """
    n_members = check_int(n_members, "n_members", minimum=1)
    gen = as_generator(rng)
    members: list[Any] = []
    first_result = None
    interrupted = None
    with warnings.catch_warnings(record=True) as caught:  # said once, for all members
        warnings.simplefilter("always")
        for k in range(n_members):
            try:
                member = fit_laplace(
                    x,
                    y,
                    hidden_sizes,
                    activation=activation,
                    prior_std=prior_std,
                    sigma=sigma,
                    prior_groups=prior_groups,
                    structure=structure,
                    n_iters=n_iters,
                    max_rounds=max_rounds,
                    tol=tol,
                    rng=gen,
                )
            except KeyboardInterrupt:  # before member k had a round: keep the members so far
                if not members:
                    raise
                if first_result is not None:  # (None: linear members, solved exactly)
                    interrupted = dataclasses.replace(
                        first_result,
                        reason="interrupted",
                        message=f"interrupted by KeyboardInterrupt while fitting member {k}; "
                        f"returning the {len(members)} members fitted before it",
                    )
                break
            members.append(member)
            if k == 0:
                first_result = member.result
            if member.result is not None and member.result.reason == "interrupted":
                interrupted = dataclasses.replace(
                    member.result,
                    message=f"{member.result.message}; member {k} is the last of "
                    f"{len(members)} members",
                )
                break
    repeat_fit_warnings(caught, "fit_laplace_mixture", stacklevel=2)
    mixture = Mixture(members)
    mixture.result = interrupted if interrupted is not None else first_result
    mixture.optimizer = members[0].optimizer
    return mixture


# fit_width_mixture's default candidates, which the Regressor's hidden_sizes="auto" grows through
WIDTHS = ((5,), (7,), (10,), (14,), (20,), (28,))


def fit_width_mixture(
    x: Any,
    y: Any,
    candidates: Any = WIDTHS,
    *,
    n_members: int = 5,
    activation: str = "tanh",
    prior_std: Any = None,
    sigma: float | None = None,
    prior_groups: str = "leaf",
    structure: str = "auto",
    n_iters: int = 300,
    max_rounds: int = 20,
    tol: float = 1e-2,
    rng: Any = None,
) -> Mixture:
    """Grow the network while the evidence rises; mix the fits on both sides of its peak.

    MacKay's way to choose an architecture is the evidence: :func:`fit_laplace_mixture` fits
    ``n_members`` evidence-tuned Laplace posteriors of the first candidate, then of each next
    one while the members' mean log evidence rises. The search stops at the first candidate
    whose evidence is lower than its predecessor's; the evidence peaks between the two. The
    result mixes, with equal weights, the members of both: the last candidate whose evidence
    rose and the first whose evidence fell (the last two when it rose to the end). Mixing
    neighbouring architectures hedges the evidence's choice. On the UCI data of the docs the
    evidence alone picks networks too narrow for Concrete and about right for Boston; the mixed
    neighbours meet MC dropout's published log-likelihood on all four data sets, where either
    width alone falls short on one.

    Parameters
    ----------
    x, y, activation, prior_std, sigma, prior_groups, structure, n_iters, max_rounds, tol
        As for :func:`fit_laplace`, for every member: by default each member's prior std and
        noise are its own evidence's.
    candidates : sequence of hidden_sizes, default ((5,), (7,), (10,), (14,), (20,), (28,))
        Architectures from the simplest, each a sequence of ints (one per hidden layer, all of
        one depth).
    n_members : int, default 5
        Members per candidate; the mixture has twice as many (once as many with one candidate).
    rng : numpy.random.Generator, int or None
        Randomness of every member's start, drawn in turn.

    Returns
    -------
    Mixture
        Of the two candidates' :class:`Laplace` members, the narrower first. Its ``search``
        attribute lists, per candidate fitted, ``{"hidden_sizes": tuple, "log_evidence":
        float}`` (the members' mean); ``hidden_sizes`` is the peak's candidate (the last whose
        evidence rose); ``result`` and ``optimizer`` are its first member's. A Ctrl-C returns
        the candidates fitted in full so far (the last two, or the first alone), with
        ``result.reason == "interrupted"``; during the first candidate's first member it raises
        KeyboardInterrupt.

    Raises
    ------
    ValueError
        If ``candidates`` is empty, not a sequence of sequences of positive ints of one depth,
        or as :func:`fit_laplace_mixture` raises.

    Warns
    -----
    ConvergenceWarning
        Once per kind for all candidates' members, as :func:`fit_laplace_mixture` does.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn.posterior import fit_width_mixture
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(40, 1))
    >>> y = np.sin(3 * x[:, 0]) + 0.1 * rng.normal(size=40)
    >>> post = fit_width_mixture(x, y, [(2,), (4,), (8,)], n_members=2, rng=0)
    >>> [entry["hidden_sizes"] for entry in post.search][:2], post.n_members
    ([(2,), (4,)], 4)
    """
    candidates = _check_candidates(candidates)
    gen = as_generator(rng)
    common = {
        "n_members": check_int(n_members, "n_members", minimum=1),
        "activation": activation,
        "prior_std": prior_std,
        "sigma": sigma,
        "prior_groups": prior_groups,
        "structure": structure,
        "n_iters": n_iters,
        "max_rounds": max_rounds,
        "tol": tol,
        "rng": gen,
    }
    fits: list[Mixture] = []
    search: list[dict[str, Any]] = []
    interrupted = None
    fell = False  # whether the last candidate's evidence fell below its predecessor's
    alone = None
    with warnings.catch_warnings(record=True) as caught:  # said once, for all candidates
        warnings.simplefilter("always")
        for hidden in candidates:
            try:
                fit = fit_laplace_mixture(x, y, hidden, **common)
            except KeyboardInterrupt:  # before its first member had a round
                if not fits:
                    raise
                interrupted = f"while fitting hidden_sizes={hidden}"
                break
            if fit.result is not None and fit.result.reason == "interrupted":
                if not fits:
                    fit.search = [{"hidden_sizes": hidden, "log_evidence": _mean_evidence(fit)}]
                    fit.hidden_sizes = hidden
                    alone = fit  # the first candidate's members so far: all there is
                    break
                interrupted = f"while fitting hidden_sizes={hidden}"
                break
            fits.append(fit)
            search.append({"hidden_sizes": hidden, "log_evidence": _mean_evidence(fit)})
            fell = len(search) > 1 and search[-1]["log_evidence"] <= search[-2]["log_evidence"]
            if fell:
                break
    repeat_fit_warnings(caught, "fit_width_mixture", stacklevel=2)
    if alone is not None:
        return alone
    peak = len(fits) - 2 if fell else len(fits) - 1
    mixed = fits[-2:] if len(fits) > 1 else fits
    mixture = Mixture([member for fit in mixed for member in fit.members])
    mixture.search = search
    mixture.hidden_sizes = search[peak]["hidden_sizes"]
    mixture.result = fits[peak].result
    mixture.optimizer = fits[peak].optimizer
    if interrupted is not None and mixture.result is not None:
        mixture.result = dataclasses.replace(
            mixture.result,
            reason="interrupted",
            message=f"interrupted by KeyboardInterrupt {interrupted}; returning the "
            f"candidates fitted before it",
        )
    return mixture


def _mean_evidence(fit: Mixture) -> float:
    return float(np.mean([member.log_evidence() for member in fit.members]))


def _check_candidates(candidates: Any) -> list[tuple[int, ...]]:
    """Return ``candidates`` as tuples of positive ints of one depth, or raise naming it."""
    expected = "a non-empty sequence of hidden_sizes (sequences of positive ints) of one depth"
    if not isinstance(candidates, (list, tuple)) or not candidates:
        raise ValueError(f"candidates must be {expected}, got {candidates!r}")
    out = []
    for k, hidden in enumerate(candidates):
        if not isinstance(hidden, (list, tuple)) or not hidden:
            raise ValueError(
                f"candidates[{k}] must be a non-empty sequence of ints, got {hidden!r}"
            )
        out.append(tuple(check_int(h, f"candidates[{k}][i]", minimum=1) for h in hidden))
    if len({len(hidden) for hidden in out}) > 1:
        raise ValueError(f"candidates must be {expected}, got depths {[len(h) for h in out]}")
    return out
