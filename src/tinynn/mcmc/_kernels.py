"""HMC and NUTS transitions for C chains at once (private to :mod:`tinynn.mcmc`).

Positions are (C, P) arrays; every leapfrog step is one call of the batched log density for the
chains still moving, so the chains share each gradient call. A chain whose trajectory has ended
(a U-turn, a divergence, the depth limit) drops out of the calls while the others go on.

NUTS here is the multinomial variant with the generalized no-U-turn criterion (Betancourt 2017,
"A conceptual introduction to Hamiltonian Monte Carlo", appendix A), built iteratively: a
subtree of 2**d steps is taken one leapfrog at a time, and after step i every sub-subtree that
ends at i is checked for a U-turn from two checkpoints (its first momentum and the momentum sum
before it). Stan's extra checks across the two halves of every merge are made too. Within a
subtree the proposal is drawn in proportion to the weights ``exp(-H)``; across subtrees the new
one is preferred (biased progressive sampling), as in Stan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_ENERGY_ERROR = 1000.0  # a step whose energy rises by more than this diverged (Stan's value)


@dataclass
class Point:
    """Positions, log densities and gradients of a set of chains."""

    q_CP: np.ndarray
    logp_C: np.ndarray
    grad_CP: np.ndarray

    def take(self, rows: Any) -> Point:
        return Point(self.q_CP[rows], self.logp_C[rows], self.grad_CP[rows])

    def put(self, rows: Any, other: Point) -> None:
        self.q_CP[rows] = other.q_CP
        self.logp_C[rows] = other.logp_C
        self.grad_CP[rows] = other.grad_CP

    def copy(self) -> Point:
        return Point(self.q_CP.copy(), self.logp_C.copy(), self.grad_CP.copy())


class Target:
    """The batched log density with its gradient; non-finite positions get ``-inf``."""

    def __init__(self, value_and_grad: Any, n_params: int) -> None:
        self._fn = value_and_grad
        self.n_params = n_params
        self.n_calls = 0
        self.n_evals = 0  # gradient evaluations summed over chains

    def __call__(self, q_CP: np.ndarray) -> Point:
        n_chains = q_CP.shape[0]
        if math.isfinite(np.add.reduce(q_CP, axis=None)):  # the usual case, in one reduction
            self.n_calls += 1
            self.n_evals += n_chains
            values, grads = self._fn(q_CP)
            if math.isfinite(np.add.reduce(values) + np.add.reduce(grads, axis=None)):
                return Point(q_CP, values, grads)
            # a total that overflowed, or a chain gone bad: sorted out row by row below
            ok = np.ones(n_chains, dtype=bool)
            n_ok = n_chains
            good = np.isfinite(values + np.add.reduce(grads, axis=1))
        else:
            ok = np.isfinite(np.add.reduce(q_CP, axis=1))  # a NaN or infinity spoils the sum
            n_ok = int(np.count_nonzero(ok))
            if n_ok:
                self.n_calls += 1
                self.n_evals += n_ok
                values, grads = self._fn(q_CP[ok])
                good = np.isfinite(values + np.add.reduce(grads, axis=1))
        logp_C = np.full(n_chains, -np.inf)
        grad_CP = np.zeros_like(q_CP)
        if n_ok:
            logp_C[ok] = np.where(good, values, -np.inf)
            grad_CP[ok] = np.where(good[:, None], grads, 0.0)
        return Point(q_CP, logp_C, grad_CP)


def leapfrog(
    target: Target, point: Point, p_CP: np.ndarray, eps_C: np.ndarray, inv_mass_CP: np.ndarray
) -> tuple[Point, np.ndarray]:
    """Take one leapfrog step of signed size ``eps_C`` per chain."""
    return leapfrog_step(target, point, p_CP, 0.5 * eps_C[:, None], eps_C[:, None] * inv_mass_CP)


def leapfrog_step(
    target: Target, point: Point, p_CP: np.ndarray, half_C1: np.ndarray, move_CP: np.ndarray
) -> tuple[Point, np.ndarray]:
    """Take one leapfrog step with its factors ``eps / 2`` (C, 1) and ``eps * inv_mass`` formed."""
    p_CP = p_CP + half_C1 * point.grad_CP
    new = target(point.q_CP + move_CP * p_CP)
    p_CP += half_C1 * new.grad_CP  # p_CP is this step's own array
    return new, p_CP


def kinetic(p_CP: np.ndarray, inv_mass_CP: np.ndarray) -> np.ndarray:
    return 0.5 * np.add.reduce(inv_mass_CP * p_CP * p_CP, axis=1)


def draw_momentum(rng: np.random.Generator, inv_mass_CP: np.ndarray) -> np.ndarray:
    """Draw ``p ~ N(0, M)`` with ``M = diag(1 / inv_mass)``."""
    return rng.standard_normal(inv_mass_CP.shape) / np.sqrt(inv_mass_CP)


def log_weight(h0_C: np.ndarray, point: Point, p_CP: np.ndarray, inv_mass: np.ndarray) -> Any:
    """Return ``H0 - H`` at a new point, ``-inf`` where it is not a number."""
    lw = h0_C - (-point.logp_C + kinetic(p_CP, inv_mass))
    return np.where(np.isnan(lw), -np.inf, lw)


def accept_probability(lw_C: np.ndarray) -> np.ndarray:
    return np.exp(np.minimum(lw_C, 0.0))


def find_step_size(
    target: Target,
    point: Point,
    step_C: np.ndarray,
    inv_mass_CP: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Double or halve each chain's step until one leapfrog's acceptance crosses 0.8 (Stan's)."""
    step_C = step_C.copy()
    direction_C = np.zeros(len(step_C))
    moving = np.ones(len(step_C), dtype=bool)
    for _ in range(100):
        rows = np.flatnonzero(moving)
        if rows.size == 0:
            break
        start = point.take(rows)
        inv_mass = inv_mass_CP[rows]
        p_CP = draw_momentum(rng, inv_mass)
        h0 = -start.logp_C + kinetic(p_CP, inv_mass)
        new, p_new = leapfrog(target, start, p_CP, step_C[rows], inv_mass)
        good = log_weight(h0, new, p_new, inv_mass) > np.log(0.8)
        first = direction_C[rows] == 0
        direction_C[rows[first]] = np.where(good[first], 1.0, -1.0)
        d = direction_C[rows]
        done = np.where(d > 0, ~good, good)
        step_C[rows] = np.where(done, step_C[rows], step_C[rows] * 2.0**d)
        moving[rows[done]] = False
        moving &= (step_C < 1e7) & (step_C > 1e-12)
    return np.clip(step_C, 1e-12, 1e7)


def hmc_step(
    target: Target,
    point: Point,
    step_C: np.ndarray,
    inv_mass_CP: np.ndarray,
    n_steps: int,
    rng: np.random.Generator,
) -> tuple[Point, dict[str, np.ndarray]]:
    """One Metropolis-adjusted HMC transition of ``n_steps`` leapfrog steps for every chain."""
    n_chains = len(step_C)
    p_CP = draw_momentum(rng, inv_mass_CP)
    h0_C = -point.logp_C + kinetic(p_CP, inv_mass_CP)
    current, p_now = point, p_CP
    lw_C = np.zeros(n_chains)
    # The usual case: every chain moves, whole arrays, nothing gathered. The factors of the
    # leapfrog are the same at every step, so they are formed once.
    half_C1 = 0.5 * step_C[:, None]
    move_CP = step_C[:, None] * inv_mass_CP
    step = 0
    while step < n_steps:
        current, p_now = leapfrog_step(target, current, p_now, half_C1, move_CP)
        step += 1
        lw_C = h0_C - (-current.logp_C + kinetic(p_now, inv_mass_CP))
        if not np.minimum.reduce(lw_C) > -MAX_ENERGY_ERROR:  # a divergence (NaN included)
            break
    lw_C = np.where(np.isnan(lw_C), -np.inf, lw_C)
    alive = lw_C > -MAX_ENERGY_ERROR
    n_leapfrog = np.full(n_chains, step)
    for _ in range(step, n_steps):
        if not alive.any():
            break
        rows = np.flatnonzero(alive)  # some chains diverged: move the others only
        inv = inv_mass_CP[rows]
        new, p_new = leapfrog(target, current.take(rows), p_now[rows], step_C[rows], inv)
        current = current.copy()
        current.put(rows, new)
        p_now = p_now.copy()
        p_now[rows] = p_new
        n_leapfrog[rows] += 1
        lw_C[rows] = log_weight(h0_C[rows], new, p_new, inv)
        alive[rows] = lw_C[rows] > -MAX_ENERGY_ERROR
    diverging = ~alive
    accept_C = np.where(diverging, 0.0, accept_probability(lw_C))
    take = rng.random(n_chains) < accept_C
    out = point.copy()
    out.put(take, current.take(take))
    stats = {
        "accept_prob": accept_C,
        "diverging": diverging,
        "n_leapfrog": n_leapfrog,
        "energy": np.where(take, h0_C - lw_C, h0_C),
    }
    return out, stats
