"""tanh on large arrays: np.tanh or the exp form, chosen by timing both once on this machine."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tinynn import model, tree
from tinynn.model import _activations, predict
from tinynn.params import make_params

Z = np.linspace(-30.0, 30.0, 5000)


@pytest.mark.parametrize("form", ["numpy", "exp"])
def test_both_forms_agree_with_np_tanh(monkeypatch, form):
    monkeypatch.setattr(_activations, "TANH_FORM", form)
    out = np.empty_like(Z)
    _activations.KERNELS["tanh"].forward(Z, out)
    if form == "numpy":
        np.testing.assert_array_equal(out, np.tanh(Z))
    else:
        np.testing.assert_allclose(out, np.tanh(Z), rtol=0, atol=4e-16)


def test_the_exp_form_saturates_without_a_warning(monkeypatch):
    # exp(-2 z) overflows below z = -354: the result must still be -1 exactly, and quiet
    monkeypatch.setattr(_activations, "TANH_FORM", "exp")
    z = np.concatenate([np.linspace(-1e4, -300.0, 2500), np.linspace(300.0, 1e4, 2500)])
    out = np.empty_like(z)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # numpy ignores underflow
        _activations.KERNELS["tanh"].forward(z, out)
    np.testing.assert_array_equal(out, np.sign(z))


def test_the_first_large_call_decides_once(monkeypatch):
    monkeypatch.setattr(_activations, "TANH_FORM", None)
    calls = []
    monkeypatch.setattr(_activations, "choose_tanh", lambda: calls.append(1) or "numpy")
    params = make_params(2, [30], rng=0)
    predict(params, np.zeros((10, 2)))  # 300 elements: np.tanh, nothing decided
    assert calls == [] and _activations.TANH_FORM is None
    x = np.random.default_rng(0).normal(size=(100, 2))  # 3000 elements
    predict(params, x)
    predict(params, x)
    assert calls == [1] and _activations.TANH_FORM == "numpy"


def test_choose_tanh_names_a_form():
    assert _activations.choose_tanh() in ("numpy", "exp")


@pytest.mark.parametrize("form", ["numpy", "exp"])
def test_the_environment_fixes_the_form_and_its_smallest_size(form):
    code = "from tinynn.model import _activations as a; print(a.TANH_FORM, a.EXP_FORM_MIN_SIZE)"
    env = {**os.environ, "TINYNN_TANH": form}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split() == [form, "2048"]  # nothing left to time


def _count_full_exp_passes(monkeypatch) -> list:
    """Fix the exp form and return the list of shapes its full (unfolded) form is called on."""
    calls: list = []
    monkeypatch.setattr(_activations, "TANH_FORM", "exp")
    exp_tanh = _activations._exp_tanh
    monkeypatch.setattr(
        _activations, "_exp_tanh", lambda z, out: calls.append(z.shape) or exp_tanh(z, out)
    )
    return calls


def _layers(params) -> tuple[list, list]:
    return [layer["w"] for layer in params], [layer["b"] for layer in params]


@pytest.mark.parametrize("n_members", [None, 8])
def test_layers_fold_the_exp_forms_first_pass_into_their_weights(monkeypatch, n_members):
    # With the exp form, a layer whose weights are small beside its output multiplies them by
    # -2 and skips the form's first pass; multiplying by -2 is exact, so nothing changes.
    x = np.random.default_rng(1).normal(size=(300, 2))
    nets = [make_params(2, [20, 20], rng=seed) for seed in range(n_members or 1)]
    ws, bs = _layers(tree.stack(nets) if n_members else nets[0])
    kernel = model.resolve_activation("tanh")
    full_passes = _count_full_exp_passes(monkeypatch)
    folded, _ = model.forward(ws, bs, x, kernel)
    assert full_passes == []  # both hidden layers took the folded route
    monkeypatch.setattr(_activations, "TANH_FORM", "numpy")
    plain, _ = model.forward(ws, bs, x, kernel)
    np.testing.assert_allclose(folded, plain, rtol=0, atol=1e-13)
    assert kernel.prescale(10**6) == 1.0  # np.tanh now: nothing to fold
    assert model.resolve_activation("relu").prescale(10**6) == 1.0


def test_a_layer_with_large_weights_keeps_the_full_exp_form(monkeypatch):
    # 120 examples: the second layer's 400 weights are too many beside its 2400 outputs
    ws, bs = _layers(make_params(2, [20, 20], rng=0))
    kernel = model.resolve_activation("tanh")
    full_passes = _count_full_exp_passes(monkeypatch)
    model.forward(ws, bs, np.ones((120, 2)), kernel)
    assert full_passes == [(120, 20)]
    assert kernel.prescale(2048) == -2.0
    assert kernel.prescale(2047) == 1.0  # below the exp form's size: np.tanh


def test_below_2048_elements_tanh_is_np_tanh_to_the_last_bit_on_every_machine(monkeypatch):
    # Results on small arrays never depend on a timing: whatever form large arrays take, tanh on
    # fewer than 2048 elements equals np.tanh bit for bit, and nothing is timed for it.
    calls = []
    monkeypatch.setattr(_activations, "choose_tanh", lambda: calls.append(1) or "exp")
    monkeypatch.setattr(_activations, "TANH_FORM", None)
    kernel = model.resolve_activation("tanh")
    z = np.random.default_rng(2).normal(size=(75, 27))  # 2025 elements
    out = np.empty_like(z)
    kernel.forward(z, out)
    assert calls == [] and np.array_equal(out, np.tanh(z))
    monkeypatch.setattr(_activations, "TANH_FORM", "exp")
    kernel.forward(z, out)
    assert np.array_equal(out, np.tanh(z))
    big = np.random.default_rng(3).normal(size=(64, 32))  # 2048 elements: the exp form
    kernel.forward(big, out := np.empty_like(big))
    assert not np.array_equal(out, np.tanh(big))
    np.testing.assert_allclose(out, np.tanh(big), rtol=0, atol=4e-16)
