"""What a sampler hands back: draws, per-draw statistics, diagnostics (private to tinynn.mcmc)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from tinynn import diagnostics
from tinynn._checks import check_int
from tinynn.mcmc._kernels import Target
from tinynn.mcmc._layout import Layout
from tinynn.mcmc._run import STAT_NAMES, Plan, SamplerState, run


class MCMCResult:
    """The draws of C chains and how the sampler got them.

    Attributes
    ----------
    draws : ndarray of shape (C, S, P), or a tree of (C, S, ...) leaves
        S draws per chain after warm-up, in the form ``init`` was given.
    stats : dict of str to ndarray of shape (C, S)
        Per draw and chain: ``accept_prob`` (the mean Metropolis acceptance over the
        trajectory), ``step_size``, ``diverging``, ``n_leapfrog``, ``energy`` (the Hamiltonian
        of the draw), ``log_density``, and for NUTS ``tree_depth``.
    step_size : ndarray of shape (C,)
        Each chain's step size after warm-up.
    inv_mass : ndarray of shape (C, P)
        Each chain's diagonal inverse mass matrix after warm-up (flattened as ``init``).
    n_grad_evals : int
        Gradient evaluations, summed over chains, warm-up included.
    interrupted : bool
        True when Ctrl-C stopped the run; ``resume()`` continues it.
    method : str
        ``"nuts"`` or ``"hmc"``.
    n_warmup, n_draws : int
        The warm-up length asked for and the number of draws per chain held.

    Examples
    --------
    >>> import numpy as np
    >>> from tinynn import mcmc
    >>> run = mcmc.nuts(lambda q: -0.5 * (q**2).sum(1), np.zeros((2, 1)), n_warmup=100,
    ...                 n_draws=100, rng=0)
    >>> run.stats["tree_depth"].shape, int(run.chain_stats()["n_divergent"].sum())
    ((2, 100), 0)
    >>> run.resume(50).n_draws  # 50 more draws per chain, as one longer run would give
    150
    >>> print(run.format().splitlines()[0])
    completed 200 iterations (100 warm-up, 100 draws)
    """

    def __init__(
        self,
        target: Target,
        layout: Layout,
        plan: Plan,
        state: SamplerState,
        rng: np.random.Generator,
        interrupted: bool,
    ) -> None:
        self._target, self._layout, self._plan = target, layout, plan
        self._state, self._rng = state, rng
        self.interrupted = interrupted
        self.method = plan.method
        self.n_warmup = plan.n_warmup
        self.n_draws = len(state.draws)
        self.step_size = state.step_C.copy()
        self.inv_mass = state.inv_mass_CP.copy()
        self.n_grad_evals = int(state.n_evals)
        n_chains, n_params = state.point.q_CP.shape
        flat = np.stack(state.draws, axis=1) if state.draws else np.zeros((n_chains, 0, n_params))
        self.flat_draws = flat
        self.draws = layout.batch(flat, lead=flat.shape[:2])
        self.stats = {
            name: (
                np.stack([s[name] for s in state.stats], axis=1)
                if state.stats
                else np.zeros((n_chains, 0))
            )
            for name in (*STAT_NAMES[plan.method], "log_density")
        }

    @property
    def message(self) -> str:
        done = self._state.iteration
        total = self._plan.n_warmup + self._plan.n_draws
        if self.interrupted:
            return (
                f"interrupted by KeyboardInterrupt after {done} of {total} iterations "
                f"({self.n_draws} draws per chain kept); call resume() to continue"
            )
        return f"completed {total} iterations ({self.n_warmup} warm-up, {self.n_draws} draws)"

    def chain_stats(self) -> dict[str, np.ndarray]:
        """Return per-chain sampler statistics, each an array of shape (C,).

        ``accept_prob`` (mean over draws), ``step_size``, ``n_divergent``, ``n_leapfrog``
        (mean per draw), and for NUTS ``tree_depth`` (mean) and ``max_depth_hits`` (draws whose
        trajectory was cut by the depth limit, a sign the step size is too small).
        """
        s = self.stats
        out = {
            "accept_prob": _mean(s["accept_prob"]),
            "step_size": self.step_size,
            "n_divergent": s["diverging"].sum(axis=1).astype(int),
            "n_leapfrog": _mean(s["n_leapfrog"]),
        }
        if self.method == "nuts":
            out["tree_depth"] = _mean(s["tree_depth"])
            out["max_depth_hits"] = (s["tree_depth"] >= self._plan.max_depth).sum(axis=1)
        return out

    def summary(self, names: list[str] | None = None) -> dict[str, Any]:
        """Return :func:`tinynn.diagnostics.summary` of the draws (R-hat, bulk and tail ESS)."""
        return diagnostics.summary(self.draws, names=names)

    def format(self, max_rows: int = 20) -> str:
        """Return the per-chain statistics and the first ``max_rows`` rows of the summary.

        ``max_rows=0`` leaves the summary out.
        """
        chains = self.chain_stats()
        widths = [max(len(name), 7) for name in chains]
        head = " ".join(f"{name:>{w}}" for name, w in zip(chains, widths, strict=True))
        lines = [self.message, f"chain {head}"]
        for c in range(len(self.step_size)):
            cells = (f"{float(v[c]):>{w}.4g}" for v, w in zip(chains.values(), widths, strict=True))
            lines.append(f"{c:>5} " + " ".join(cells))
        if self.n_draws >= 4 and max_rows > 0:
            table = self.summary()
            shown = {key: value[:max_rows] for key, value in table.items()}
            lines += ["", diagnostics.format_summary(shown)]
            if len(table["name"]) > max_rows:
                lines.append(f"... {len(table['name']) - max_rows} more rows")
        return "\n".join(lines)

    def resume(self, n_draws: int | None = None) -> MCMCResult:
        """Continue the run: finish an interrupted one, or add ``n_draws`` more draws per chain.

        The continuation is the same, bit for bit, as if the first call had asked for it.
        """
        plan = self._plan
        if n_draws is not None:
            extra = check_int(n_draws, "n_draws", minimum=1)
            plan = replace(plan, n_draws=plan.n_draws + extra)
        self._rng.bit_generator.state = self._state.rng_state  # the generator may have moved on
        state = self._state.detached()  # this result's draws stay as they are
        state, interrupted = run(self._target, state, plan, self._rng)
        return MCMCResult(self._target, self._layout, plan, state, self._rng, interrupted)

    def __repr__(self) -> str:
        n_chains, _, n_params = self.flat_draws.shape
        return (
            f"MCMCResult(method={self.method!r}, n_chains={n_chains}, n_draws={self.n_draws}, "
            f"n_params={n_params}, interrupted={self.interrupted})"
        )


def _mean(stat_CS: np.ndarray) -> np.ndarray:
    """Return the mean over draws per chain, NaN when there are no draws yet."""
    if stat_CS.shape[1] == 0:
        return np.full(stat_CS.shape[0], np.nan)
    return stat_CS.mean(axis=1)
