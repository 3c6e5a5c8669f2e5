"""Files crafted to pass the checksum must still be validated: sizes, depth and consistency.

The checksum guards against corruption, not against a file made to hurt: loading checks every
array's declared size against the bytes it holds before allocating, the depth of the tree, and a
Regressor's arrays against its metadata.
"""

from __future__ import annotations

import io as stdio
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinynn import Regressor, io
from tinynn.data import make_quadratic_data

# These tests fit with a few iterations on purpose; the Regressor warns that such fits
# stopped before converging (tested in test_regressor_uncertainty.py).
pytestmark = pytest.mark.filterwarnings("ignore::tinynn.optim.ConvergenceWarning")


def write_npz(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def npy_bytes(shape: tuple[int, ...], payload: bytes) -> bytes:
    buffer = stdio.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue() + payload


def test_a_header_declaring_more_than_the_file_holds_is_refused_before_allocating(tmp_path) -> None:
    path = tmp_path / "huge.npz"
    meta = json.dumps({"format": "tinynn"}).encode()
    write_npz(path, {
        "leaf_0000.npy": npy_bytes((10**12,), b"\0" * 8),  # 8 TB declared, 8 bytes held
        "__tinynn__.npy": npy_bytes((len(meta),), meta),
    })  # fmt: skip
    with pytest.raises(ValueError, match=r"declares shape \(1000000000000,\) .* holds"):
        io.load(path)
    with pytest.raises(ValueError, match="corrupted or crafted"):
        io.read_metadata(path)


def test_trees_deeper_than_the_limit_are_refused_both_ways(tmp_path, monkeypatch) -> None:
    deep: object = np.zeros(1)
    for _ in range(io.MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(ValueError, match=f"nested deeper than {io.MAX_DEPTH} levels"):
        io.save(tmp_path / "deep.npz", deep)
    shallow: object = np.zeros(1)
    for _ in range(10):
        shallow = [shallow]
    path = io.save(tmp_path / "ten.npz", shallow)
    monkeypatch.setattr(io, "MAX_DEPTH", 5)  # a file deeper than the reader allows
    with pytest.raises(ValueError, match=r"inconsistent parameter structure .* deeper than 5"):
        io.load(path)


def test_a_regressor_whose_arrays_contradict_its_metadata_is_refused(tmp_path) -> None:
    x, y = make_quadratic_data(40, rng=0)
    model = Regressor((3,), max_iter=5, uncertainty=None, random_state=0).fit(x, y)
    good = io.save(tmp_path / "good.npz", model)
    assert io.load(good).n_features_in_ == 2
    state = model._tinynn_fitted_state  # the same hook io.save uses, with one number changed

    def lying_state():
        params, info, arrays = state()
        info = {**info, "n_features_in": 3}
        return params, info, arrays

    model._tinynn_fitted_state = lying_state
    bad = io.save(tmp_path / "bad.npz", model)
    with pytest.raises(ValueError, match=r"inconsistent regressor metadata .* n_features_in=3"):
        io.load(bad)


def test_a_tree_whose_declared_layer_sizes_lie_is_refused_by_load_and_info(
    tmp_path, monkeypatch, capsys
) -> None:
    from tinynn.cli import main

    net = [{"w": np.ones((2, 3)), "b": np.zeros(3)}, {"w": np.ones((3, 1)), "b": np.zeros(1)}]
    with monkeypatch.context() as patch:  # save with metadata that contradicts the arrays
        patch.setattr(io, "_network_layer_sizes", lambda tree: [5, 7, 1])
        path = io.save(tmp_path / "lying.npz", net)
    for read in (io.load, io.load_params, io.read_metadata):
        with pytest.raises(ValueError, match=r"declares layer sizes \[5, 7, 1\] but its arrays "
                           r"have \[2, 3, 1\]"):  # fmt: skip
            read(path)
    assert main(["info", str(path)]) == 2
    assert "declares layer sizes [5, 7, 1]" in capsys.readouterr().err
