"""Save and load parameter trees and fitted regressors as one self-describing ``.npz`` file.

A tinynn model file is an ordinary numpy ``.npz`` archive holding

* one array per parameter leaf (``leaf_0000``, ``leaf_0001``, ... in flatten order: layer by
  layer, ``'w'`` before ``'b'``), plus ``loss_curve`` for a fitted :class:`~tinynn.Regressor`;
* ``tinynn_metadata``: UTF-8 JSON stored as a uint8 array, with the format name and version, the
  tinynn version that wrote it, the tree's structure, the layer sizes, the activation, the
  standardization statistics and a SHA-256 checksum over the metadata and every array.

Loading always uses ``np.load(..., allow_pickle=False)``: a file is never unpickled, because
unpickling can run arbitrary code. A truncated, foreign, newer-format or modified file raises a
``ValueError`` that says which of these it is. Saving writes a temporary file in the target folder
and renames it over the target (``os.replace``), so a crash never leaves half a model behind.

Shape suffixes: N examples, D input features, H hidden units, O outputs.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import signal
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from tinynn._checks import describe

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Terminated",
    "atomic_write",
    "load",
    "load_params",
    "read_metadata",
    "save",
]

#: The ``format`` field every tinynn model file carries in its JSON metadata.
FORMAT_NAME = "tinynn-model"
#: The newest file format version this tinynn writes and reads; newer files are refused.
FORMAT_VERSION = 1
_META_KEY = "tinynn_metadata"
_ZIP_MAGIC = b"PK\x03\x04"

PathLike = str | os.PathLike


# ---------------------------------------------------------------------------------------------
# tree structure <-> JSON


def _encode_tree(node: Any, leaves: list[np.ndarray], path: str, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(
            f"{path} is nested deeper than {MAX_DEPTH} levels; tinynn.io saves "
            f"trees of at most {MAX_DEPTH} levels"
        )
    if isinstance(node, (list, tuple)):
        kind = "list" if isinstance(node, list) else "tuple"
        items = [_encode_tree(v, leaves, f"{path}[{i}]", depth + 1) for i, v in enumerate(node)]
        return {"type": kind, "items": items}
    if isinstance(node, dict):
        for key in node:
            if not isinstance(key, str):
                raise TypeError(
                    f"{path} has the key {key!r} (type {type(key).__name__}); tinynn.io can only "
                    f"save dicts with str keys"
                )
        items = [_encode_tree(v, leaves, f"{path}[{k!r}]", depth + 1) for k, v in node.items()]
        return {"type": "dict", "keys": list(node), "items": items}
    arr = np.asarray(node)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{path} must be an array of real numbers to be saved, got {describe(node)}"
        )
    leaves.append(np.array(arr, order="C"))  # ascontiguousarray would make a 0-d leaf 1-d
    return {"type": "leaf", "index": len(leaves) - 1}


MAX_DEPTH = 64  # nesting of a saved tree; a network is 2 deep, a crafted file may be 100000


def _decode_tree(spec: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> Any:
    """Rebuild a tree from its metadata, checking every node before using it."""
    if depth > MAX_DEPTH:
        raise ValueError(f"the tree is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValueError(f"a tree node must be a dict with a 'type', got {describe(spec)}")
    kind = spec["type"]
    if kind == "leaf":
        index = spec.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ValueError(f"a leaf index must be an int >= 0, got {index!r}")
        name = _leaf_name(index)
        if name not in arrays:
            raise ValueError(f"leaf {index} has no array in the file")
        return arrays[name].copy()
    children = spec.get("items")
    if not isinstance(children, list):
        raise ValueError(f"a {kind} node must list its items, got {describe(children)}")
    items = [_decode_tree(child, arrays, depth + 1) for child in children]
    if kind == "list":
        return items
    if kind == "tuple":
        return tuple(items)
    if kind == "dict":
        keys = spec.get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"a dict node's keys must be strings, got {describe(keys)}")
        if len(keys) != len(items) or len(set(keys)) != len(keys):
            raise ValueError("a dict node must have one distinct key per item")
        return dict(zip(keys, items, strict=True))
    raise ValueError(f"unknown node type {kind!r}")


def _leaf_name(index: int) -> str:
    return f"leaf_{index:04d}"


def _network_layer_sizes(tree: Any) -> list[int] | None:
    """Return the layer sizes when ``tree`` is a list-of-dict network, else None."""
    if not isinstance(tree, list) or not tree:
        return None
    sizes: list[int] = []
    for layer in tree:
        if not isinstance(layer, dict) or set(layer) != {"w", "b"}:
            return None
        if not isinstance(layer["w"], np.ndarray):  # nested lists are a tree, not a matrix
            return None
        w = layer["w"]
        if w.ndim != 2 or (sizes and sizes[-1] != w.shape[0]):
            return None
        if not sizes:
            sizes.append(int(w.shape[0]))
        sizes.append(int(w.shape[1]))
    return sizes


# ---------------------------------------------------------------------------------------------
# checksum and atomic write


def _checksum(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    body = {k: v for k, v in meta.items() if k != "checksum"}
    digest.update(json.dumps(body, sort_keys=True, allow_nan=False).encode("utf-8"))
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        digest.update(f"|{name}|{arr.dtype.str}|{arr.shape}|".encode())
        digest.update(arr.tobytes())
    return "sha256:" + digest.hexdigest()


def _file_mode(path: Path) -> int:
    """Permission bits for a new file at ``path``: the replaced file's, else 0o666 minus umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


class Terminated(BaseException):
    """Raised by SIGTERM while :func:`atomic_write` writes, so that its cleanup runs.

    A ``BaseException`` like ``KeyboardInterrupt``: ``except Exception`` does not swallow it.
    """


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` for the duration, where nobody else handles it.

    Only in the main thread (the only one that receives signals) and only while SIGTERM has
    its default action: a program that installed its own handler keeps it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return

    def raise_terminated(signum: int, frame: Any) -> None:
        raise Terminated(f"terminated by signal {signum}")

    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success rename it to ``path``, else delete it.

    Readers of ``path`` see the old file or the complete new one, never half a file: the data
    goes to a hidden temporary file in the same folder, is flushed to disk, gets the old file's
    permissions (or the umask's) and replaces ``path`` in one ``os.replace``. Any exception in
    the ``with`` block, Ctrl-C and SIGTERM (where the program has no handler of its own)
    delete the temporary file. Errors name ``path``, not the temporary file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    mode : {"wb", "w"}, default "wb"
        Binary, or text (UTF-8, newlines as written).

    Yields
    ------
    file object
        Write to it inside the ``with`` block.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist.
    OSError
        If the file cannot be written or replaced (``filename`` is ``path``).

    Examples
    --------
    >>> import os, tempfile
    >>> from tinynn.io import atomic_write
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_write(path, "w") as handle:
    ...     _ = handle.write("all or nothing")
    >>> from pathlib import Path
    >>> Path(path).read_text()
    'all or nothing'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, f"folder {str(target.parent)!r} does not exist", str(target)
        )
    with _sigterm_raises():
        try:
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
            )
        except OSError as err:
            raise type(err)(err.errno, err.strerror, str(target)) from None
        try:
            handle: IO[Any]
            if mode == "w":
                handle = os.fdopen(fd, "w", newline="", encoding="utf-8")
            else:
                handle = os.fdopen(fd, "wb")
            with handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, _file_mode(target))
            os.replace(tmp_name, target)
        except OSError as err:
            Path(tmp_name).unlink(missing_ok=True)
            if err.filename is not None and str(err.filename) == tmp_name:
                raise type(err)(err.errno, err.strerror, str(target)) from None
            raise
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


def _atomic_write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` (what ``np.savez`` writes), atomically.

    Written member by member with ``np.lib.format.write_array``: ``np.savez`` before numpy 2
    has no ``allow_pickle`` argument and would store the keyword as one more array.
    """
    with atomic_write(path) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name, arr in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)


def _version() -> str:
    from tinynn import __version__

    return str(__version__)


# ---------------------------------------------------------------------------------------------
# public API


def save(
    path: PathLike,
    obj: Any,
    *,
    activation: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Save a parameter tree or a fitted :class:`~tinynn.Regressor` to one ``.npz`` file.

    Parameters
    ----------
    path : str or path-like
        Destination file, written exactly at this name (no ``.npz`` is appended). Its folder must
        exist. An existing file is replaced atomically.
    obj : parameter tree or Regressor
        Nested lists, tuples and str-keyed dicts of real arrays (such as the output of
        ``make_params``), or a fitted ``Regressor``.
    activation : str, optional
        For a parameter tree: the activation name to record with it (ignored for a Regressor,
        which records its own).
    metadata : dict, optional
        Extra JSON-serializable information stored under ``"extra"`` in the metadata.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        If a leaf is not numeric, a dict key is not a str or ``metadata`` is not JSON-serializable.
    ValueError
        If a Regressor is not fitted or uses a custom activation function.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> params = [{"w": np.ones((2, 3)), "b": np.zeros(3)},
    ...           {"w": np.ones((3, 1)), "b": np.ones(1)}]
    >>> folder = tempfile.mkdtemp()
    >>> path = save(os.path.join(folder, "net.npz"), params, activation="tanh")
    >>> read_metadata(path)["layer_sizes"]
    [2, 3, 1]
    >>> [leaf.shape for layer in load(path) for leaf in layer.values()]
    [(2, 3), (3,), (3, 1), (1,)]
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "tinynn_version": _version(),
    }
    state = getattr(obj, "_tinynn_fitted_state", None)
    if callable(state):
        tree, info, extra_arrays = state()
        meta["kind"] = info.pop("kind", "regressor")
        meta.update(info)
        arrays.update(extra_arrays)
    else:
        tree = obj
        meta["kind"] = "params"
        meta["activation"] = activation
    leaves: list[np.ndarray] = []
    meta["tree"] = _encode_tree(tree, leaves, "params")
    meta["layer_sizes"] = _network_layer_sizes(tree)
    meta["n_leaves"] = len(leaves)
    for i, leaf in enumerate(leaves):
        arrays[_leaf_name(i)] = leaf
    try:
        meta["extra"] = json.loads(
            json.dumps(metadata if metadata is not None else {}, allow_nan=False)
        )
    except TypeError as err:
        raise TypeError(
            f"metadata must be JSON-serializable, got {describe(metadata)} ({err})"
        ) from None
    except ValueError:
        raise ValueError(
            f"metadata must hold finite numbers only (JSON has no NaN or infinity), got "
            f"{describe(metadata)}"
        ) from None
    try:
        meta["checksum"] = _checksum(meta, arrays)
    except ValueError:
        raise ValueError(
            f"cannot save {describe(obj)}: its fitted state holds NaN or infinity (a fit that "
            "diverged?), which a model file does not store"
        ) from None
    payload = json.dumps(meta, sort_keys=True, allow_nan=False).encode("utf-8")
    arrays[_META_KEY] = np.frombuffer(payload, dtype=np.uint8)
    _atomic_write_npz(path, arrays)
    return path


def _check_declared_sizes(path: Path) -> None:
    """Refuse an archive whose arrays declare more data than they hold, before allocating.

    Each ``.npy`` member states its dtype and shape in a header; a crafted header can declare
    terabytes in a file of a few bytes, and numpy would try to allocate them. The data a member
    really holds is its uncompressed size in the zip directory, so a larger declaration is a lie.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(member)
                    declared = math.prod(shape) * dtype.itemsize
                    if not dtype.hasobject and declared > info.file_size:
                        raise ValueError(
                            f"{path}: array {info.filename!r} declares shape {shape} "
                            f"({declared} bytes) but holds {info.file_size} bytes; the file is "
                            f"corrupted or crafted"
                        )
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError) as err:
        if isinstance(err, ValueError) and "declares shape" in str(err):
            raise
        raise ValueError(
            f"{path} cannot be read as a .npz archive: it is truncated or corrupted ({err})"
        ) from None


def _read(path: PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a model file; return its metadata and its arrays."""
    path = Path(path)
    with path.open("rb") as handle:  # a missing file raises FileNotFoundError here
        head = handle.read(4)
    if not head:
        raise ValueError(f"{path} is empty (0 bytes): the file was truncated")
    if head != _ZIP_MAGIC:
        raise ValueError(f"{path} is not a tinynn model file: it is not a .npz (zip) archive")
    _check_declared_sizes(path)
    arrays: dict[str, np.ndarray] = {}
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as npz:
            for name in npz.files:
                try:
                    arrays[name] = npz[name]
                except ValueError as err:
                    if "pickle" not in str(err).lower():
                        raise
                    raise ValueError(
                        f"{path} holds a pickled object array {name!r}; tinynn never unpickles "
                        f"files (allow_pickle=False) because unpickling can run arbitrary code. "
                        f"Re-save the model with tinynn.io.save"
                    ) from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as err:
        raise ValueError(
            f"{path} cannot be read as a .npz archive: it is truncated or corrupted ({err})"
        ) from None
    except ValueError as err:
        if "pickle" in str(err):
            raise
        raise ValueError(
            f"{path} cannot be read as a .npz archive: it is truncated or corrupted ({err})"
        ) from None
    if _META_KEY not in arrays:
        raise ValueError(
            f"{path} is a .npz archive but not a tinynn model file: it has no {_META_KEY!r} "
            f"entry (it holds {sorted(arrays)}); load plain archives with np.load"
        )
    raw = arrays.pop(_META_KEY)
    try:
        meta = json.loads(raw.astype(np.uint8).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"{path} has unreadable tinynn metadata: the file is corrupted") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(
            f"{path} is not a tinynn model file: its format is {found!r}, expected {FORMAT_NAME!r}"
        )
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{path} has an invalid format_version {version!r}: it is corrupted")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} uses model format version {version}, written by tinynn "
            f"{meta.get('tinynn_version', '?')}; this tinynn ({_version()}) reads versions up to "
            f"{FORMAT_VERSION}. Upgrade tinynn: pip install -U tinynn-regression"
        )
    if meta.get("checksum") != _checksum(meta, arrays):
        raise ValueError(
            f"{path} failed its checksum: the arrays or metadata were modified after saving "
            f"(tampered with or corrupted); refusing to load it"
        )
    return meta, arrays


def read_metadata(path: PathLike) -> dict[str, Any]:
    """Return the verified JSON metadata of a tinynn model file.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    dict
        Keys include ``format``, ``format_version``, ``tinynn_version``, ``kind`` (``"params"`` or
        ``"regressor"``), ``layer_sizes``, ``activation`` and ``extra``; a regressor file adds
        ``standardization``, ``sigma``, ``n_features_in``, ``estimator_params`` and ``fit``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is truncated, foreign, of a newer format version, holds pickled data, fails
        its checksum, or its metadata contradicts its arrays (layer sizes, tree structure).

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> path = save(os.path.join(tempfile.mkdtemp(), "w.npz"), {"w": np.zeros(3)})
    >>> meta = read_metadata(path)
    >>> meta["format"], meta["kind"], meta["layer_sizes"]
    ('tinynn-model', 'params', None)
    """
    meta, arrays = _read(path)
    _tree_from(meta, arrays, path)  # what it says about the tree must match the arrays
    return meta


def load_params(path: PathLike) -> Any:
    """Load the parameter tree from a tinynn model file (for a Regressor file, its ``params_``).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    tree
        The saved nested lists, tuples and dicts of arrays.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        As for :func:`read_metadata`.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "t.npz")
    >>> path = save(path, ([1.0, 2.0], {"a": np.eye(2)}))
    >>> tree = load_params(path)
    >>> type(tree).__name__, tree[1]["a"].shape
    ('tuple', (2, 2))
    """
    meta, arrays = _read(path)
    return _tree_from(meta, arrays, path)


def _tree_from(meta: dict[str, Any], arrays: dict[str, np.ndarray], path: PathLike) -> Any:
    """Decode the tree and check what the metadata says about it against its arrays."""
    try:
        tree = _decode_tree(meta["tree"], arrays)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path} has an inconsistent parameter structure ({err})") from None
    declared, actual = meta.get("layer_sizes"), _network_layer_sizes(tree)
    if declared != actual:
        raise ValueError(
            f"{path} declares layer sizes {declared} but its arrays have {actual}: the metadata "
            "contradicts the data, so the file was not written by tinynn.io.save"
        )
    return tree


def load(path: PathLike) -> Any:
    """Load a parameter tree or a fitted :class:`~tinynn.Regressor` saved by :func:`save`.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    tree or Regressor
        What was saved: the parameter tree, or a fitted Regressor whose predictions are
        identical to the one saved (its ``history_`` is not saved and is None; ``loss_curve_`` is).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is truncated, foreign, of a newer format version, holds pickled data or fails
        its checksum.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "p.npz")
    >>> path = save(path, [{"w": np.eye(2), "b": np.ones(2)}])
    >>> load(path)[0]["b"]
    array([1., 1.])
    """
    meta, arrays = _read(path)
    tree = _tree_from(meta, arrays, path)
    if meta.get("kind") == "regressor":
        from tinynn.estimator import Regressor

        try:
            return Regressor._tinynn_from_state(tree, meta, arrays)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path} has inconsistent regressor metadata ({err})") from None
    if meta.get("kind") == "posterior":
        from tinynn.posterior import from_state

        try:
            return from_state(tree, meta, arrays)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path} has inconsistent posterior metadata ({err})") from None
    return tree
