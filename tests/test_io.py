"""Tests for tinynn.io: round trips, refusal of pickles, and every damaged-file error."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinynn import io


def _net() -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [
        {"w": rng.normal(size=(2, 4)), "b": rng.normal(size=4)},
        {"w": rng.normal(size=(4, 1)), "b": rng.normal(size=1)},
    ]


def test_params_round_trip_is_exact(tmp_path: Path) -> None:
    params = _net()
    path = io.save(tmp_path / "net.npz", params, activation="relu", metadata={"note": "hi"})
    loaded = io.load(path)
    assert isinstance(loaded, list)
    assert [list(layer) for layer in loaded] == [["w", "b"], ["w", "b"]]
    for got, want in zip(loaded, params, strict=True):
        for key in ("w", "b"):
            np.testing.assert_array_equal(got[key], want[key])
            assert got[key].dtype == np.float64
    meta = io.read_metadata(path)
    assert meta["layer_sizes"] == [2, 4, 1]
    assert meta["activation"] == "relu"
    assert meta["extra"] == {"note": "hi"}
    assert meta["format"] == io.FORMAT_NAME
    assert meta["format_version"] == io.FORMAT_VERSION
    assert meta["checksum"].startswith("sha256:")


def test_generic_tree_keeps_containers_and_dtypes(tmp_path: Path) -> None:
    tree = {"z": (np.arange(3), [2.5]), "a": {"q": np.eye(2, dtype=np.float32)}}
    path = io.save(tmp_path / "t.npz", tree)
    loaded = io.load_params(path)
    assert list(loaded) == ["z", "a"]
    assert isinstance(loaded["z"], tuple)
    assert isinstance(loaded["z"][1], list)
    np.testing.assert_array_equal(loaded["z"][0], np.arange(3))
    assert loaded["a"]["q"].dtype == np.float32
    assert io.read_metadata(path)["layer_sizes"] is None


def test_save_rejects_unsaveable_trees(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"params\[0\]\['w'\] must be an array of real numbers"):
        io.save(tmp_path / "x.npz", [{"w": "text"}])
    with pytest.raises(TypeError, match="only save dicts with str keys"):
        io.save(tmp_path / "x.npz", {1: np.zeros(2)})
    with pytest.raises(TypeError, match="metadata must be JSON-serializable"):
        io.save(tmp_path / "x.npz", _net(), metadata={"f": object()})
    assert not (tmp_path / "x.npz").exists()


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "net.npz"
    io.save(target, _net())
    before = target.read_bytes()
    with pytest.raises(TypeError):
        io.save(target, [{"w": np.array(["a"])}])
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


def test_failure_while_writing_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "net.npz"
    io.save(target, _net())
    before = target.read_bytes()

    def broken_write(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", broken_write)
    with pytest.raises(OSError, match="disk full"):
        io.save(target, {"w": np.zeros(2)})
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


def test_errors_name_the_path_given_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "m.npz"
    target.mkdir()  # a folder where the file should go: the final rename fails
    with pytest.raises(IsADirectoryError) as info:
        io.save(target, _net())
    assert info.value.filename == str(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_atomic_write_refuses_a_missing_folder_and_other_modes(tmp_path: Path) -> None:
    with (
        pytest.raises(FileNotFoundError, match="does not exist"),
        io.atomic_write(tmp_path / "no" / "f.txt"),
    ):
        pass
    with (
        pytest.raises(ValueError, match="mode must be 'wb' or 'w', got 'a'"),
        io.atomic_write(tmp_path / "f.txt", "a"),
    ):
        pass


def test_pickle_bearing_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, payload=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=r"pickled object array 'payload'.*never unpickles"):
        io.load(path)


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "nope.npz")


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    path = io.save(tmp_path / "net.npz", _net())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        io.load(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty \(0 bytes\)"):
        io.load(path)


def test_foreign_files_are_reported(tmp_path: Path) -> None:
    text = tmp_path / "data.csv"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"not a tinynn model file: it is not a \.npz"):
        io.load(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.arange(3))
    with pytest.raises(ValueError, match=r"not a tinynn model file: it has no 'tinynn_metadata'"):
        io.load(plain)
    other = tmp_path / "other.npz"
    np.savez(other, tinynn_metadata=np.frombuffer(b'{"format": "zzz"}', dtype=np.uint8))
    with pytest.raises(ValueError, match="its format is 'zzz'"):
        io.read_metadata(other)
    garbled = tmp_path / "garbled.npz"
    np.savez(garbled, tinynn_metadata=np.frombuffer(b"\xff\xfe{", dtype=np.uint8))
    with pytest.raises(ValueError, match="unreadable tinynn metadata"):
        io.load(garbled)


def _rewrite(path: Path, edit_meta=None, edit_arrays=None, *, resign=False) -> None:  # type: ignore[no-untyped-def]
    """Rewrite a saved file with edited metadata or arrays, optionally with a fresh checksum."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(arrays.pop("tinynn_metadata").tobytes().decode())
    if edit_meta:
        edit_meta(meta)
    if edit_arrays:
        edit_arrays(arrays)
    if resign:
        meta["checksum"] = io._checksum(meta, arrays)
    arrays["tinynn_metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    os.remove(path)
    np.savez(path, **arrays)


def test_tampered_array_fails_checksum(tmp_path: Path) -> None:
    path = io.save(tmp_path / "net.npz", _net())

    def bump(arrays: dict[str, np.ndarray]) -> None:
        arrays["leaf_0000"] = arrays["leaf_0000"] + 1e-12

    _rewrite(path, edit_arrays=bump)
    with pytest.raises(ValueError, match=r"failed its checksum.*tampered"):
        io.load(path)


def test_tampered_metadata_fails_checksum(tmp_path: Path) -> None:
    path = io.save(tmp_path / "net.npz", _net(), activation="tanh")
    _rewrite(path, edit_meta=lambda meta: meta.update(activation="relu"))
    with pytest.raises(ValueError, match="failed its checksum"):
        io.load(path)


def test_newer_format_version_is_reported(tmp_path: Path) -> None:
    path = io.save(tmp_path / "net.npz", _net())
    _rewrite(path, edit_meta=lambda meta: meta.update(format_version=io.FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match=r"format version 2.*reads versions up to 1.*Upgrade"):
        io.load(path)
    _rewrite(path, edit_meta=lambda meta: meta.update(format_version="1"))
    with pytest.raises(ValueError, match="invalid format_version '1'"):
        io.load(path)


def test_inconsistent_structure_is_reported(tmp_path: Path) -> None:
    path = io.save(tmp_path / "net.npz", _net())

    def point_at_missing_leaf(meta: dict) -> None:  # type: ignore[type-arg]
        meta["tree"]["items"][0]["items"][0]["index"] = 99

    _rewrite(path, edit_meta=point_at_missing_leaf, resign=True)
    with pytest.raises(ValueError, match="inconsistent parameter structure"):
        io.load(path)


def test_file_is_a_plain_zip_readable_by_numpy(tmp_path: Path) -> None:
    path = io.save(tmp_path / "net.npz", _net())
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == [
            "leaf_0000",
            "leaf_0001",
            "leaf_0002",
            "leaf_0003",
            "tinynn_metadata",
        ]
