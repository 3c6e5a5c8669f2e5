"""The NUTS transition for C chains at once (private to :mod:`tinynn.mcmc`).

See :mod:`tinynn.mcmc._kernels` for the pieces it shares with HMC. Per chain, one transition:

1. draw a momentum; the trajectory is the single starting point;
2. at depth d pick a direction at random and take 2**d leapfrog steps from that end; the
   steps form a subtree, whose proposal is drawn in proportion to the weights ``exp(H0 - H)``;
3. the subtree is thrown away if any of its sub-subtrees made a U-turn or a step diverged, and
   the transition ends; otherwise the subtree's proposal replaces the current one with
   probability ``min(1, W_subtree / W_trajectory)`` and the subtree joins the trajectory;
4. stop when the whole trajectory makes a U-turn or the depth limit is reached.

A U-turn of a segment with momentum sum ``rho`` and end momenta ``p_a``, ``p_b`` is
``rho . M^-1 p_a <= 0`` or ``rho . M^-1 p_b <= 0`` (symmetric in the two ends, so a subtree
built backwards in time is checked the same way).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.mcmc._kernels import (
    MAX_ENERGY_ERROR,
    Point,
    Target,
    accept_probability,
    draw_momentum,
    kinetic,
    leapfrog,
    log_weight,
)


def _turned(rho: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, inv_mass: np.ndarray) -> Any:
    rho_sharp = rho * inv_mass
    a = np.add.reduce(rho_sharp * p_a, axis=-1)
    b = np.add.reduce(rho_sharp * p_b, axis=-1)
    return ~((a > 0) & (b > 0))


class _Subtree:
    """The running state of the subtrees being built, one row per chain that is still moving."""

    def __init__(self, start: Point, p: np.ndarray, depth: int) -> None:
        n, n_params = p.shape
        self.end = start.copy()  # the last point reached, and its momentum
        self.p = p.copy()
        self.first_p = np.zeros((n, n_params))  # momentum of the subtree's first step
        self.proposal = start.copy()
        self.log_w = np.full(n, -np.inf)
        self.rho = np.zeros((n, n_params))
        # checkpoints per sub-subtree size 2**k, k = 1..depth: first momentum and the momentum
        # sum before it; and the last momentum of the left half of the open sub-subtree
        self.p_start = np.zeros((depth + 1, n, n_params))
        self.rho_before = np.zeros((depth + 1, n, n_params))
        self.p_left_end = np.zeros((depth + 1, n, n_params))
        self.n_leapfrog = np.zeros(n, dtype=int)
        self.sum_accept = np.zeros(n)  # of the Metropolis acceptance of every new point
        self.diverged = np.zeros(n, dtype=bool)


def nuts_step(
    target: Target,
    point: Point,
    step_C: np.ndarray,
    inv_mass_CP: np.ndarray,
    max_depth: int,
    rng: np.random.Generator,
) -> tuple[Point, dict[str, np.ndarray]]:
    """One NUTS transition for every chain; return the new points and the per-chain statistics."""
    n_chains, _ = point.q_CP.shape
    p0 = draw_momentum(rng, inv_mass_CP)
    h0 = -point.logp_C + kinetic(p0, inv_mass_CP)
    left, right = point.copy(), point.copy()
    p_left, p_right = p0.copy(), p0.copy()
    proposal = point.copy()
    log_w = np.zeros(n_chains)  # log of the trajectory's summed weights; the start weighs 1
    rho = p0.copy()
    moving = np.ones(n_chains, dtype=bool)
    depth = np.zeros(n_chains, dtype=int)
    n_leapfrog = np.zeros(n_chains, dtype=int)
    sum_accept = np.zeros(n_chains)
    diverging = np.zeros(n_chains, dtype=bool)
    h_proposal = h0.copy()
    for d in range(max_depth):
        forward = rng.random((n_chains,)) < 0.5  # drawn for every chain: streams do not shift
        merge_draw = rng.random((n_chains,))
        rows = np.flatnonzero(moving)
        if rows.size == 0:
            break
        fwd = forward[rows]
        start = right.take(rows)
        back = left.take(rows)
        start.put(~fwd, back.take(~fwd))
        p_start = np.where(fwd[:, None], p_right[rows], p_left[rows])
        eps = np.where(fwd, step_C[rows], -step_C[rows])
        sub, valid, h_sub = _build_subtree(
            target, start, p_start, eps, inv_mass_CP[rows], h0[rows], d, rng
        )
        n_leapfrog[rows] += sub.n_leapfrog
        sum_accept[rows] += sub.sum_accept
        diverging[rows] |= sub.diverged
        depth[rows] = d + 1
        # merge the valid subtrees into their trajectories
        odds = np.exp(np.minimum(sub.log_w - log_w[rows], 0.0))
        take = valid & (merge_draw[rows] < odds)
        chosen = rows[take]
        proposal.put(chosen, sub.proposal.take(take))
        h_proposal[chosen] = h_sub[take]
        old_rho = rho[rows]
        near_p = np.where(fwd[:, None], p_right[rows], p_left[rows])
        far_p = np.where(fwd[:, None], p_left[rows], p_right[rows])
        new_rho = old_rho + sub.rho
        ends_fwd = rows[valid & fwd]
        ends_back = rows[valid & ~fwd]
        right.put(ends_fwd, sub.end.take(valid & fwd))
        p_right[ends_fwd] = sub.p[valid & fwd]
        left.put(ends_back, sub.end.take(valid & ~fwd))
        p_left[ends_back] = sub.p[valid & ~fwd]
        log_w[rows] = np.where(valid, np.logaddexp(log_w[rows], sub.log_w), log_w[rows])
        rho[rows] = np.where(valid[:, None], new_rho, old_rho)
        inv = inv_mass_CP[rows]
        turned = _turned(new_rho, p_left[rows], p_right[rows], inv)
        # Stan's extra checks: the old trajectory with the subtree's first point, and the old
        # trajectory's near end with the whole subtree
        turned |= _turned(old_rho + sub.first_p, far_p, sub.first_p, inv)
        turned |= _turned(near_p + sub.rho, near_p, sub.p, inv)
        moving[rows] = valid & ~turned
    stats = {
        "accept_prob": sum_accept / np.maximum(n_leapfrog, 1),
        "diverging": diverging,
        "n_leapfrog": n_leapfrog,
        "tree_depth": depth,
        "energy": h_proposal,
    }
    return proposal, stats


def _build_subtree(
    target: Target,
    start: Point,
    p: np.ndarray,
    eps: np.ndarray,
    inv_mass: np.ndarray,
    h0: np.ndarray,
    depth: int,
    rng: np.random.Generator,
) -> tuple[_Subtree, np.ndarray, np.ndarray]:
    """Take 2**depth leapfrog steps per chain; return the subtree, whether it is valid, and H."""
    n = len(eps)
    sub = _Subtree(start, p, depth)
    h_prop = np.zeros(n)
    live = np.ones(n, dtype=bool)
    for i in range(2**depth):
        n_live = int(np.count_nonzero(live))
        if n_live == 0:
            break
        rows: Any = slice(None) if n_live == n else np.flatnonzero(live)  # a view when all live
        inv = inv_mass[rows]
        new, p_new = leapfrog(target, sub.end.take(rows), sub.p[rows], eps[rows], inv)
        if n_live == n:  # every chain moved: the new arrays replace the old, nothing copied
            sub.end, sub.p = new, p_new
        else:
            sub.end.put(rows, new)
            sub.p[rows] = p_new
        lw = log_weight(h0[rows], new, p_new, inv)
        sub.n_leapfrog[rows] += 1
        sub.sum_accept[rows] += accept_probability(lw)
        diverged = lw <= -MAX_ENERGY_ERROR
        sub.diverged[rows] |= diverged
        # multinomial sampling within the subtree: the new point wins in proportion to its weight
        total = np.logaddexp(sub.log_w[rows], lw)
        win = rng.random(n_live) < np.exp(lw - total)
        if win.any():
            winners = win if n_live == n else rows[win]
            sub.proposal.put(winners, new.take(win))
            h_prop[winners] = (h0[rows] - lw)[win]
        sub.log_w[rows] = total
        if i == 0:
            sub.first_p[rows] = p_new
        turned = _check_sub_subtrees(sub, rows, p_new, inv, i, depth)
        live[rows] = ~(diverged | turned)
    return sub, live, h_prop


def _check_sub_subtrees(
    sub: _Subtree, rows: Any, p_new: np.ndarray, inv: np.ndarray, i: int, depth: int
) -> np.ndarray:
    """Add step i to the momentum sums; return which chains' sub-subtrees ending at i turned."""
    for k in range(1, depth + 1):
        if i % 2**k == 0:  # a sub-subtree of 2**k steps starts here
            sub.p_start[k, rows] = p_new
            sub.rho_before[k, rows] = sub.rho[rows]
    rho_prev = sub.rho[rows]
    sub.rho[rows] = rho_prev + p_new
    rho_now = sub.rho[rows]
    turned = np.zeros(len(p_new), dtype=bool)
    for k in range(1, depth + 1):
        size = 2**k
        if (i + 1) % size != 0:
            if (i + 1) % (size // 2) == 0:  # the left half of an open sub-subtree just ended
                sub.p_left_end[k, rows] = p_new
            continue
        first = sub.p_start[k, rows]
        turned |= _turned(rho_now - sub.rho_before[k, rows], first, p_new, inv)
        if k > 1:  # Stan's extra checks across the two halves
            half_start = sub.p_start[k - 1, rows]  # first momentum of the right half
            left_end = sub.p_left_end[k, rows]
            rho_mid = sub.rho_before[k - 1, rows]  # sum up to the end of the left half
            rho_a = rho_mid - sub.rho_before[k, rows] + half_start
            turned |= _turned(rho_a, first, half_start, inv)
            rho_b = rho_now - rho_mid + left_end
            turned |= _turned(rho_b, left_end, p_new, inv)
    return turned
