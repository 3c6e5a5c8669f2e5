"""Helpers shared by the test files (import them with ``from conftest import ...``)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest


def seed_check_grads(seed):
    """Seed numpy's global state: autograd's check_grads draws its random directions there."""
    np.random.seed(seed)  # noqa: NPY002


def make(sizes, rng, scale=0.7):
    """Return random network parameters for layer sizes ``[D, H1, ..., O]``."""
    return [
        {"w": scale * rng.normal(size=(a, b)), "b": 0.3 * rng.normal(size=b)}
        for a, b in itertools.pairwise(sizes)
    ]


def quad_value_and_grad(x):
    """Return ``sum(x**2)`` and its gradient ``2 x`` (a hand-written value_and_grad)."""
    return float(np.sum(x * x)), 2.0 * x


def rosenbrock(x_D):
    """Return Rosenbrock's banana, minimum 0 at (1, 1)."""
    return (1 - x_D[0]) ** 2 + 100 * (x_D[1] - x_D[0] ** 2) ** 2


@pytest.fixture
def close_figures():
    """Close every matplotlib figure a test made (use with ``pytest.mark.usefixtures``)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
