"""Sampling and VI costs: tinynn's HMC chains against BlackJAX, its ELBO against plain autograd.

The problem is the sampling issue's: the posterior of a 1-20-1 tanh network (61 parameters) on
the 60 points of ``make_gap_data``, unit Gaussian prior, noise std 0.1, float64 everywhere. The
figure is the cost of one gradient for one chain:

- tinynn: ``mcmc.hmc`` with 32 chains, 50 leapfrog steps per draw, a fixed step size, no
  warm-up; the run's time divided by its gradient evaluations summed over chains;
- BlackJAX: ``blackjax.hmc`` on one chain, the draws in ``jax.lax.scan`` compiled once (the
  compile time is reported apart); the run's time divided by its leapfrog steps;
- BlackJAX with the same 32 chains under ``jax.vmap``, for context.

Both runs are timed in every round, one right after the other (a fifth of a second each at
most, the order alternating), and the ratio reported is the median over 21 rounds of the
per-round ratio (target <= 3, the issue's). JAX and BlackJAX are optional
benchmark dependencies; without them only tinynn's figure is printed. Beside them, the chains'
hidden-layer tanh alone (tinynn's kernel, per chain per gradient), as a ratio to BlackJAX's one
chain: the floor the activation by itself puts under tinynn's figure on this machine.

The second case is one value-and-gradient of the negative ELBO of a mean-field Gaussian with
K = 8 draws on the same network and data: ``fit_vi``'s objective against the same ELBO written
with ``autograd.numpy``, vectorized over K and differentiated by autograd (target <= 1.5).

    python benchmarks/bench_mcmc.py [--quick]
"""

from __future__ import annotations

import statistics
import time

import _harness  # one BLAS thread: imported before numpy loads
import numpy as np

from tinynn import mcmc, params, tree
from tinynn.data import make_gap_data
from tinynn.posterior import NetworkLogDensity, negative_elbo

N_CHAINS, N_STEPS, STEP_SIZE, SIGMA, PRIOR_STD = 32, 50, 0.003, 0.1, 1.0
# The chains' hidden-layer tanh alone (tinynn's kernel on 32 x 60 x 20 elements, per chain),
# timed in the same rounds: the floor the activation puts under tinynn's figure here.
FLOOR = "tanh alone, the chains' hidden units"


def tinynn_runner(x: np.ndarray, y: np.ndarray):
    template = params.make_params(1, [20], 1, rng=0)
    value_and_grad = NetworkLogDensity(x, y, template, sigma=SIGMA, prior_std=PRIOR_STD)
    init = value_and_grad.flatten(
        tree.stack([params.make_params(1, [20], 1, rng=k) for k in range(N_CHAINS)])
    )

    def run(n_draws: int) -> float:
        start = time.perf_counter()
        result = mcmc.hmc(
            None,
            init,
            value_and_grad=value_and_grad,
            n_steps=N_STEPS,
            n_warmup=0,
            n_draws=n_draws,
            step_size=STEP_SIZE,
            rng=0,
        )
        return (time.perf_counter() - start) / result.n_grad_evals

    return run


def blackjax_runners(x: np.ndarray, y: np.ndarray):
    """Return (one-chain runner, 32-chain runner, compile seconds), or None without BlackJAX."""
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import blackjax
        import jax.numpy as jnp
    except ImportError:
        return None
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def logdensity(theta):
        w1, b1 = theta[:20].reshape(1, 20), theta[20:40]
        w2, b2 = theta[40:60].reshape(20, 1), theta[60]
        f = (jnp.tanh(xj @ w1 + b1) @ w2)[:, 0] + b2
        return -0.5 * jnp.sum((yj - f) ** 2) / SIGMA**2 - 0.5 * jnp.sum(theta**2) / PRIOR_STD**2

    kernel = blackjax.hmc(logdensity, STEP_SIZE, jnp.ones(61), N_STEPS)

    def chain(key, position, n_draws):
        state = kernel.init(position)

        def one(state, k):
            state, _ = kernel.step(k, state)
            return state, state.position[0]

        return jax.lax.scan(one, state, jax.random.split(key, n_draws))[1]

    one_chain = jax.jit(chain, static_argnums=2)
    many = jax.jit(jax.vmap(chain, in_axes=(0, 0, None)), static_argnums=2)
    rng = np.random.default_rng(0)
    start_one = jnp.asarray(rng.normal(size=61))
    start_many = jnp.asarray(rng.normal(size=(N_CHAINS, 61)))
    keys = jax.random.split(jax.random.PRNGKey(0), N_CHAINS)
    compile_seconds = {}

    def runner(fn, args, per_call):
        def run(n_draws: int) -> float:
            start = time.perf_counter()
            fn(*args, n_draws).block_until_ready()
            return (time.perf_counter() - start) / (n_draws * per_call)

        return run

    run_one = runner(one_chain, (jax.random.PRNGKey(0), start_one), N_STEPS)
    run_many = runner(many, (keys, start_many), N_STEPS * N_CHAINS)
    for name, run in (("one", run_one), ("many", run_many)):
        start = time.perf_counter()
        for n_draws in (5, 200):  # every length used below compiles once, here
            run(n_draws)
        compile_seconds[name] = time.perf_counter() - start
    return run_one, run_many, compile_seconds


def elbo_case(x: np.ndarray, y: np.ndarray, rounds: int) -> tuple[_harness.Check, list[str]]:
    """Return the ELBO check (K = 8) and a row of its timings."""
    import autograd
    import autograd.numpy as anp

    template = params.make_params(1, [20], 1, rng=0)
    q = {"mean": template, "log_std": tree.full_like(template, -3.0)}
    ours = negative_elbo(x, y, sigma=SIGMA, prior_std=PRIOR_STD, n_samples=8, rng=0)
    gen = np.random.default_rng(0)

    def reference_elbo(q_: dict, eps: list) -> object:
        mean, log_std = q_["mean"], q_["log_std"]
        flat_m = [mean[0]["w"], mean[0]["b"], mean[1]["w"], mean[1]["b"]]
        flat_s = [log_std[0]["w"], log_std[0]["b"], log_std[1]["w"], log_std[1]["b"]]
        w1, b1, w2, b2 = (m + anp.exp(s) * e for m, s, e in zip(flat_m, flat_s, eps, strict=True))
        hidden = anp.tanh(anp.einsum("nd,kdh->knh", x, w1) + b1[:, None, :])
        f = anp.einsum("knh,kho->kno", hidden, w2)[..., 0] + b2
        nll = 0.5 * anp.sum((y - f) ** 2) / SIGMA**2 / 8
        kl = sum(
            anp.sum(0.5 * (anp.exp(2 * s) + m**2) / PRIOR_STD**2 - s)
            for m, s in zip(flat_m, flat_s, strict=True)
        )
        return nll + kl

    reference = autograd.value_and_grad(reference_elbo)
    shapes = [(8, *np.shape(leaf)) for leaf in tree.leaves(template)]

    def run_ours(n: int) -> None:
        for _ in range(n):
            ours.value_and_grad(q)

    def run_reference(n: int) -> None:
        for _ in range(n):
            reference(q, [gen.standard_normal(shape) for shape in shapes])

    samples = _harness.interleaved_samples(
        {"tinynn fit_vi objective": run_ours, "autograd, vectorized over K": run_reference},
        repeats=rounds,
    )
    ratio = _harness.paired_ratio(samples, "tinynn fit_vi objective", "autograd, vectorized over K")
    assert ratio is not None
    check = _harness.Check(
        "ELBO value and gradient, K = 8 / autograd vectorized",
        ratio[0],
        1.5,
        note=f"quartiles {ratio[1]:.2f}-{ratio[2]:.2f}",
    )
    row = ", ".join(
        f"{name} {_harness.format_seconds(statistics.median(values))}"
        for name, values in samples.items()
    )
    return check, ["ELBO, K = 8 (per evaluation)", row]


def run(quick: bool = False) -> tuple[list[_harness.Check], str]:
    x, y = make_gap_data(60)
    rounds = 5 if quick else 21
    ours = tinynn_runner(x, y)
    reference = blackjax_runners(x, y)
    samples: dict[str, list[float]] = {"tinynn, 32 chains": []}
    if reference is not None:
        samples["BlackJAX, 1 chain (lax.scan)"] = []
        samples["BlackJAX, 32 chains (vmap)"] = []
    ours(5)  # the first large tanh call times np.tanh against the exp form: not a round
    tanh_32 = _harness.tanh_runner((N_CHAINS, len(x), 20))

    def tanh_alone() -> float:
        start = time.perf_counter()
        tanh_32(100)
        return (time.perf_counter() - start) / (100 * N_CHAINS)

    samples[FLOOR] = []
    for k in range(rounds):
        # A pair is two runs of a fraction of a second each, one right after the other, in an
        # order that alternates from round to round: the shared machine's speed drifts within
        # seconds, and short adjacent runs see the same speed.
        pair = [("tinynn, 32 chains", lambda: ours(5))]
        if reference is not None:
            pair.append(("BlackJAX, 1 chain (lax.scan)", lambda: reference[0](200)))
        for name, fn in pair if k % 2 == 0 else pair[::-1]:
            samples[name].append(fn())
        if reference is not None:
            samples["BlackJAX, 32 chains (vmap)"].append(reference[1](5))
        samples[FLOOR].append(tanh_alone())
    rows = [
        [name, _harness.format_seconds(statistics.median(values))]
        for name, values in samples.items()
    ]
    checks = []
    if reference is not None:
        ratio = _harness.paired_ratio(samples, "tinynn, 32 chains", "BlackJAX, 1 chain (lax.scan)")
        floor = _harness.paired_ratio(samples, FLOOR, "BlackJAX, 1 chain (lax.scan)")
        assert ratio is not None and floor is not None
        checks.append(
            _harness.Check(
                "HMC per chain per gradient / BlackJAX one chain",
                ratio[0],
                3.0,
                note=f"quartiles {ratio[1]:.2f}-{ratio[2]:.2f}; tanh alone {floor[0]:.2f}x",
            )
        )
        compile_note = ", ".join(f"{k} {v:.1f} s" for k, v in reference[2].items())
        rows.append(["BlackJAX compile (warm-up calls)", compile_note])
    elbo_check, elbo_row = elbo_case(x, y, rounds)
    checks.append(elbo_check)
    rows.append(elbo_row)
    table = _harness.markdown_table(["1-20-1, N = 60", "per chain per gradient"], rows)
    return checks, table


def main() -> None:
    _harness.checks_main(run, __doc__.splitlines()[0], "fewer rounds")


if __name__ == "__main__":
    main()
