"""The sampling loop: warm-up, draws, interruption and resumption (private to :mod:`tinynn.mcmc`).

Everything the loop needs to go on is one :class:`SamplerState`, copied after every completed
iteration together with the generator's state. A KeyboardInterrupt (Ctrl-C) rolls back to that
copy, so the draws so far come back and a resumed run continues bit for bit as one longer run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinynn.mcmc._adapt import DualAveraging, Welford, first_slow_iteration, window_ends
from tinynn.mcmc._kernels import Point, Target, find_step_size, hmc_step
from tinynn.mcmc._nuts import nuts_step

STAT_NAMES = {
    "nuts": ("accept_prob", "step_size", "diverging", "n_leapfrog", "tree_depth", "energy"),
    "hmc": ("accept_prob", "step_size", "diverging", "n_leapfrog", "energy"),
}


@dataclass
class Plan:
    """What a run was asked to do."""

    method: str  # "nuts" or "hmc"
    n_warmup: int
    n_draws: int
    target_accept: float
    max_depth: int  # NUTS
    n_steps: int  # HMC
    adapt_mass: bool


@dataclass
class SamplerState:
    """The complete state between two iterations."""

    point: Point
    step_C: np.ndarray
    inv_mass_CP: np.ndarray
    averaging: DualAveraging
    window: Welford
    iteration: int
    rng_state: Any  # the generator's bit_generator.state
    draws: list[np.ndarray] = field(default_factory=list)  # one (C, P) array per draw
    stats: list[dict[str, np.ndarray]] = field(default_factory=list)
    n_evals: int = 0
    n_kept: int = 0  # how many of ``draws`` and ``stats`` belong to this state

    def snapshot(self, rng: np.random.Generator) -> SamplerState:
        """Copy the state; the lists of draws are shared (only ever appended to), with a count."""
        return self._copy(rng.bit_generator.state, self.draws, self.stats, len(self.draws))

    def detached(self) -> SamplerState:
        """Return a copy with lists of its own, trimmed to its count, for a new run to extend."""
        n = self.n_kept
        return self._copy(self.rng_state, self.draws[:n], self.stats[:n], n)

    def _copy(
        self, rng_state: Any, draws: list[Any], stats: list[Any], n_kept: int
    ) -> SamplerState:
        """Copy the arrays and adaptation state; take the given generator state and lists."""
        return SamplerState(
            self.point.copy(),
            self.step_C.copy(),
            self.inv_mass_CP.copy(),
            self.averaging.copy(),
            self.window.copy(),
            self.iteration,
            rng_state,
            draws,
            stats,
            self.n_evals,
            n_kept,
        )


def start_state(
    target: Target,
    q_CP: np.ndarray,
    step_C: np.ndarray | None,
    inv_mass_CP: np.ndarray,
    plan: Plan,
    rng: np.random.Generator,
) -> SamplerState:
    """Evaluate the starting points and find a first step size per chain."""
    point = target(q_CP.copy())
    bad = np.flatnonzero(~np.isfinite(point.logp_C))
    if bad.size:
        raise ValueError(
            f"init must be points where the log density is finite, but chain {int(bad[0])} "
            f"starts at log density {point.logp_C[bad[0]]} (or a non-finite gradient); start "
            f"nearer the data's fit, e.g. at a MAP estimate"
        )
    if step_C is None:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            step_C = find_step_size(target, point, np.ones(len(q_CP)), inv_mass_CP, rng)
    averaging = DualAveraging.start(step_C, plan.target_accept)
    window = Welford.empty(q_CP.shape)
    state = SamplerState(point, step_C, inv_mass_CP, averaging, window, 0, rng.bit_generator.state)
    state.n_evals = target.n_evals
    return state


def run(
    target: Target, state: SamplerState, plan: Plan, rng: np.random.Generator
) -> tuple[SamplerState, bool]:
    """Iterate from ``state`` to the end of ``plan``; return the last state and whether Ctrl-C."""
    ends = set(window_ends(plan.n_warmup)) if plan.adapt_mass else set()
    slow_from = first_slow_iteration(plan.n_warmup)
    last_end = max(ends, default=0)
    safe = state.snapshot(rng)
    try:
        for t in range(state.iteration, plan.n_warmup + plan.n_draws):
            evals_before = target.n_evals
            warming = t < plan.n_warmup
            step_C = state.averaging.step_C if warming else state.step_C
            # a trajectory that runs off to infinity is a divergence, reported in the statistics
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                if plan.method == "nuts":
                    point, stats = nuts_step(
                        target, state.point, step_C, state.inv_mass_CP, plan.max_depth, rng
                    )
                else:
                    point, stats = hmc_step(
                        target, state.point, step_C, state.inv_mass_CP, plan.n_steps, rng
                    )
            state.point = point
            if warming:
                _adapt(target, state, stats["accept_prob"], t, plan, ends, slow_from, last_end, rng)
            else:
                state.draws.append(point.q_CP.copy())
                stats["step_size"] = step_C
                stats["log_density"] = point.logp_C.copy()
                state.stats.append(stats)
            state.iteration = t + 1
            state.n_evals += target.n_evals - evals_before
            safe = state.snapshot(rng)
    except KeyboardInterrupt:
        rng.bit_generator.state = safe.rng_state
        del safe.draws[safe.n_kept :], safe.stats[safe.n_kept :]  # a draw the copy did not see
        return safe, True
    return safe, False  # the copy holds the generator's state after the last iteration


def _adapt(
    target: Target,
    state: SamplerState,
    accept_C: np.ndarray,
    t: int,
    plan: Plan,
    ends: set[int],
    slow_from: int,
    last_end: int,
    rng: np.random.Generator,
) -> None:
    """Update the step size after warm-up iteration t, and the mass matrix at a window's end."""
    state.averaging.update(accept_C)
    if slow_from <= t < last_end:
        state.window.add(state.point.q_CP)
    if t + 1 in ends:
        state.inv_mass_CP = state.window.inverse_mass()
        state.window = Welford.empty(state.point.q_CP.shape)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            step_C = find_step_size(
                target, state.point, state.averaging.step_C, state.inv_mass_CP, rng
            )
        state.averaging = DualAveraging.start(step_C, plan.target_accept)
    if t + 1 == plan.n_warmup:
        state.step_C = state.averaging.final_step_C
