"""Warm-up adaptation of the step size and the diagonal mass matrix (private to :mod:`tinynn.mcmc`).

Every chain adapts its own step size and mass matrix; all state is arrays with a leading chain
axis C, so the sampler can copy it after each draw (to resume bit for bit).

- Step size: dual averaging (Nesterov 2009, as adapted by Hoffman and Gelman 2014, section
  3.2.1) drives the mean acceptance statistic to a target; the warm-up ends on the averaged
  iterate, which is steadier than the last.
- Mass matrix: the variance of each coordinate over the draws of a window, shrunk a little
  toward 1e-3 (Stan's regularization), becomes the inverse mass. The windows follow Stan's
  schedule: a first fast stretch where only the step size moves, slow windows that double in
  length, and a last fast stretch that settles the step size for the final metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Hoffman and Gelman (2014) section 3.2.1; the defaults of Stan, NumPyro and BlackJAX.
GAMMA = 0.05  # how hard the log step size is pulled toward its shrinkage point
T0 = 10.0  # damps the first iterations
KAPPA = 0.75  # decay of the weight of new iterates in the average

# Stan's windows: a fast start, slow windows from 25 draws doubling, a fast end.
INIT_BUFFER = 75
BASE_WINDOW = 25
TERM_BUFFER = 50


@dataclass
class DualAveraging:
    """Per-chain dual averaging of the log step size toward a target acceptance."""

    target: float
    mu_C: np.ndarray  # shrinkage point, log(10 * initial step size)
    log_step_C: np.ndarray  # the iterate used for the next transition
    log_step_bar_C: np.ndarray  # the weighted average, the final step size
    error_bar_C: np.ndarray  # running mean of (target - acceptance)
    count: int = 0

    @classmethod
    def start(cls, step_C: np.ndarray, target: float) -> DualAveraging:
        log_step = np.log(step_C)
        zeros = np.zeros_like(log_step)
        return cls(target, log_step + np.log(10.0), log_step.copy(), zeros, zeros.copy())

    def update(self, accept_C: np.ndarray) -> None:
        """Take one acceptance statistic per chain and move the log step size."""
        self.count += 1
        t = float(self.count)
        eta = 1.0 / (t + T0)
        self.error_bar_C = (1.0 - eta) * self.error_bar_C + eta * (self.target - accept_C)
        self.log_step_C = self.mu_C - np.sqrt(t) / GAMMA * self.error_bar_C
        weight = t**-KAPPA
        self.log_step_bar_C = weight * self.log_step_C + (1.0 - weight) * self.log_step_bar_C

    @property
    def step_C(self) -> np.ndarray:
        return np.exp(self.log_step_C)

    @property
    def final_step_C(self) -> np.ndarray:
        return np.exp(self.log_step_bar_C) if self.count else np.exp(self.log_step_C)

    def copy(self) -> DualAveraging:
        return DualAveraging(
            self.target,
            self.mu_C.copy(),
            self.log_step_C.copy(),
            self.log_step_bar_C.copy(),
            self.error_bar_C.copy(),
            self.count,
        )


@dataclass
class Welford:
    """Running mean and sum of squared deviations per chain and coordinate."""

    count: int
    mean_CP: np.ndarray
    m2_CP: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> Welford:
        return cls(0, np.zeros(shape), np.zeros(shape))

    def add(self, x_CP: np.ndarray) -> None:
        self.count += 1
        delta = x_CP - self.mean_CP
        self.mean_CP = self.mean_CP + delta / self.count
        self.m2_CP = self.m2_CP + delta * (x_CP - self.mean_CP)

    def inverse_mass(self) -> np.ndarray:
        """Return the window's variances, shrunk toward 1e-3 as Stan does (weight 5 / (n + 5))."""
        n = self.count
        variance = self.m2_CP / max(n - 1, 1)
        return (n / (n + 5.0)) * variance + 1e-3 * (5.0 / (n + 5.0))

    def copy(self) -> Welford:
        return Welford(self.count, self.mean_CP.copy(), self.m2_CP.copy())


def window_ends(n_warmup: int) -> list[int]:
    """Return the warm-up iterations after which the mass matrix is re-estimated.

    Stan's schedule: 75 iterations of step size only, windows of 25, 50, 100, ... draws (the
    last one stretched to the start of the final 50), then 50 iterations of step size only.
    Warm-ups shorter than 150 keep the proportions 15%, 75%, 10%; below 20 iterations the mass
    matrix stays as it started.

    Examples
    --------
    >>> window_ends(1000)
    [100, 150, 250, 450, 950]
    >>> window_ends(100)
    [90]
    """
    if n_warmup < 20:
        return []
    init, base, term = INIT_BUFFER, BASE_WINDOW, TERM_BUFFER
    if init + base + term > n_warmup:
        init = int(0.15 * n_warmup)
        term = int(0.1 * n_warmup)
        base = n_warmup - init - term
    ends = []
    start, size = init, base
    last = n_warmup - term
    while start < last:
        end = start + size
        if end + 2 * size > last:  # the next window would not fit: this one runs to the end
            end = last
        ends.append(end)
        start, size = end, 2 * size
    return ends


def first_slow_iteration(n_warmup: int) -> int:
    """Return the warm-up iteration at which the first mass-matrix window starts."""
    if n_warmup < 20:
        return n_warmup
    if n_warmup < INIT_BUFFER + BASE_WINDOW + TERM_BUFFER:
        return int(0.15 * n_warmup)
    return INIT_BUFFER
