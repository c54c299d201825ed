r"""Saving and loading state dicts as NumPy ``.npz`` archives — never pickle.

A file holds every array as its own ``.npz`` entry (``a0``, ``a1``, …) and one more entry,
``__chainrule__``: a UTF-8 JSON document (stored as a ``uint8`` array) with a format
marker, a version and the nested structure, in which arrays appear as references. So a
model's ``{name: Tensor}`` and an optimizer's nested
``{"state": {0: {...}}, "param_groups": [{...}]}`` both round-trip: ``int`` dict keys stay
``int``, tuples stay tuples, Python numbers keep their type and arrays their dtype.

Loading reads with ``np.load(..., allow_pickle=False)`` and only ever builds dicts, lists,
tuples, numbers, strings, ``None``, arrays and Tensors: a hostile file can make ``load``
fail, never run code.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from chainrule.autodiff import Traced
from chainrule.tensor import wrap

_HEADER = "__chainrule__"
_FORMAT = "chainrule"
_VERSION = 1
_ARRAY_KINDS = "biufc"  # bool, int, uint, float, complex: never object or string arrays

# Loading never reads more than the archive's entries declare (zipfile stops there), so
# these two limits bound the memory a file can make load() allocate. save() writes
# uncompressed entries, so a chainrule file's entries add up to about its own size; a
# deflated archive that would expand far beyond its size on disk is a zip bomb.
MAX_LOAD_BYTES = 4 << 30  # 4 GiB of arrays in all; raise it for larger state dicts
_MAX_EXPANSION = 64  # declared bytes per byte on disk (beyond a 1 MiB allowance)

_SUPPORTED = (
    "dict (str or int keys), list, tuple, str, int, float, bool, None, Tensor, "
    "numpy.ndarray (numeric) and NumPy scalars"
)


# ---------------------------------------------------------------- encoding (save)
class _Encoder:
    """Turns a nested value into JSON-ready data, collecting arrays on the side."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _store(self, tag: str, array: np.ndarray, where: str) -> dict[str, Any]:
        if array.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(
                f"save: cannot store an array of dtype {array.dtype} at {where}; only "
                "numeric and boolean arrays are supported"
            )
        ref = f"a{len(self.arrays)}"
        self.arrays[ref] = np.asarray(array, order="C")  # ascontiguousarray makes 0-d 1-d
        return {"t": tag, "ref": ref}

    def encode(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):  # before float: np.float64 subclasses float
            return self._store("scalar", np.asarray(value), where)
        if isinstance(value, int):
            return int(value)  # IntEnum and friends become plain ints
        if isinstance(value, float):
            # JSON has no nan/inf; spell them out so the document stays standard.
            return float(value) if math.isfinite(value) else {"t": "float", "v": repr(value)}
        if isinstance(value, Traced):
            return self._store("tensor", np.asarray(value.data), where)
        if isinstance(value, np.ndarray):
            return self._store("array", value, where)
        if isinstance(value, dict):
            return {"t": "dict", "items": [self._item(k, v, where) for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            tag = "tuple" if isinstance(value, tuple) else "list"
            items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return {"t": tag, "items": items}
        hint = " (pass model.state_dict())" if hasattr(value, "state_dict") else ""
        raise TypeError(
            f"save: cannot store a value of type {type(value).__name__} at {where}{hint}; "
            f"supported: {_SUPPORTED}"
        )

    def _item(self, key: Any, value: Any, where: str) -> list[Any]:
        if isinstance(key, bool) or not isinstance(key, (str, int, np.integer)):
            raise TypeError(
                f"save: dict keys must be str or int, got {type(key).__name__} {key!r} at "
                f"{where}"
            )
        key = key if isinstance(key, str) else int(key)
        return [key, self.encode(value, f"{where}[{key!r}]")]


def _write_archive(file: Any, entries: dict[str, np.ndarray]) -> None:
    """Write the ``.npz`` entries to an open binary file (uncompressed, no pickle)."""
    np.savez(file, allow_pickle=False, **entries)


def _new_file_mode(path: str) -> int:
    # mkstemp creates 0600 files; give the result the mode a plain open() would have.
    if os.path.exists(path):
        return os.stat(path).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    # Make the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _as_path(path: Any, op: str) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{op}: path must be a str or os.PathLike, got {type(path).__name__}")
    return os.fspath(path)


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    r"""Write a state dict (or any nesting of dicts, lists, tuples, numbers and arrays)
    to ``path`` as a NumPy ``.npz`` archive.

    The file is written exactly at ``path`` (no extension is added) and atomically: the
    data goes to a temporary file in the same directory, is flushed to disk, then renamed
    over ``path``. A crash mid-save leaves the previous file intact and no partial file.

    Args:
        obj: e.g. ``model.state_dict()`` or ``optimizer.state_dict()``.
        path: a ``str`` or :class:`pathlib.Path`.

    Raises:
        TypeError: a value or key of a type that cannot be stored without pickle (the
            message names where it is), or a bad ``path``.
        OSError: ``path`` cannot be written (its folder is missing, is a file, or is not
            writable; ``path`` is a folder; the disk is full); the message names ``path``,
            never the temporary file.

    >>> import chainrule as cr, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "weights.npz")
    >>> cr.save({"w": cr.tensor([1.0, 2.0]), "step": 3}, path)
    >>> cr.load(path)
    {'w': tensor([1., 2.]), 'step': 3}
    """
    path = _as_path(path, "save")
    encoder = _Encoder()
    tree = encoder.encode(obj, "obj")
    document = {"format": _FORMAT, "version": _VERSION, "tree": tree}
    header = np.frombuffer(json.dumps(document).encode("utf-8"), dtype=np.uint8)
    entries = {_HEADER: header, **encoder.arrays}
    directory = os.path.dirname(os.path.abspath(path))
    mode = _new_file_mode(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                   dir=directory)
    except OSError as exc:
        raise _cannot_write(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as file:
            _write_archive(file, entries)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot_write(exc, path) from None
        raise
    _fsync_directory(directory)


def _cannot_write(exc: OSError, path: str) -> OSError:
    """``exc`` restated about the user's ``path``: the operating system's message names the
    hidden temporary file that ``save`` writes first, which the user never asked for."""
    folder = os.path.dirname(path) or "."
    if isinstance(exc, IsADirectoryError) and os.path.isdir(path):
        why = "it is a folder; give a file name like model.npz"
    elif isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        # the nearest part of the path that exists says what is wrong with it
        existing = next((p for p in _parents(folder) if os.path.exists(p)), None)
        if existing is not None and not os.path.isdir(existing):
            why = f"{existing!r} is a file, not a folder"
        else:
            why = f"the folder {folder!r} does not exist"
    elif isinstance(exc, PermissionError):
        why = f"permission denied in the folder {folder!r}"
    else:
        why = exc.strerror or str(exc)
    kind = type(exc) if type(exc).__module__ == "builtins" else OSError
    # one argument: with errno set, str() would print the strerror instead of this message
    return kind(f"save: cannot write {path!r}: {why}")


def _parents(folder: str) -> list[str]:
    """``folder`` and the folders above it, as written (``a/b`` → ``a/b``, ``a``)."""
    found = []
    while folder and folder not in found:
        found.append(folder)
        folder = os.path.dirname(folder)
    return found


# ---------------------------------------------------------------- decoding (load)
class _FormatError(ValueError):
    """The file parsed, but it is not what :func:`save` writes."""


class _Decoder:
    """Rebuilds the nested value, reading each referenced array from the archive."""

    def __init__(self, archive: Any) -> None:
        self.archive = archive

    def _array(self, node: dict[str, Any]) -> np.ndarray:
        ref = node.get("ref")
        if not isinstance(ref, str) or ref == _HEADER or ref not in self.archive.files:
            raise _FormatError(f"the structure refers to a missing array {ref!r}")
        array = self.archive[ref]  # allow_pickle=False: object arrays raise here
        if not isinstance(array, np.ndarray) or array.dtype.kind not in _ARRAY_KINDS:
            raise _FormatError(f"entry {ref!r} is not a numeric array")
        return array

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise _FormatError(f"unexpected JSON value of type {type(node).__name__}")
        tag = node.get("t")
        if tag in ("list", "tuple"):
            items = [self.decode(v) for v in self._items(node)]
            return tuple(items) if tag == "tuple" else items
        if tag == "dict":
            return dict(self._pair(pair) for pair in self._items(node))
        if tag == "tensor":
            return wrap(self._array(node))
        if tag == "array":
            return self._array(node)
        if tag == "scalar":
            array = self._array(node)
            if array.ndim != 0:
                raise _FormatError(f"scalar entry {node['ref']!r} has shape {array.shape}")
            return array[()]
        if tag == "float" and node.get("v") in ("nan", "inf", "-inf"):
            return float(node["v"])
        raise _FormatError(f"unknown node {str(node)[:60]}")

    @staticmethod
    def _items(node: dict[str, Any]) -> list[Any]:
        items = node.get("items")
        if not isinstance(items, list):
            raise _FormatError(f"{node.get('t')} node without a list of items")
        return items

    def _pair(self, pair: Any) -> tuple[Any, Any]:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise _FormatError("a dict item is not a [key, value] pair")
        key = pair[0]
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise _FormatError(f"a dict key of type {type(key).__name__}")
        return key, self.decode(pair[1])


def _read_header(archive: Any) -> Any:
    if _HEADER not in archive.files:
        raise _FormatError("a .npz archive without a chainrule header (a foreign .npz file?)")
    raw = archive[_HEADER]
    if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8 or raw.ndim != 1:
        raise _FormatError("the chainrule header is not a uint8 vector")
    document = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise _FormatError("the header does not name the chainrule format")
    version = document.get("version")
    if version != _VERSION:
        raise _FormatError(
            f"format version {version!r}; this chainrule reads version {_VERSION}"
        )
    if "tree" not in document:
        raise _FormatError("the header has no 'tree'")
    return document["tree"]


def _check_magic(file: Any) -> None:
    # Look before handing the file to NumPy: only a zip archive goes on to np.load.
    start = file.read(6)
    file.seek(0)
    if start.startswith(b"PK\x03\x04"):
        return
    if not start:
        raise _FormatError("the file is empty")
    if start.startswith(b"\x93NUMPY"):
        raise _FormatError("it holds a single .npy array, not a .npz archive")
    if start[:1] == b"\x80":
        raise _FormatError("it looks like a pickle, which chainrule never loads (unpickling "
                           "can run arbitrary code)")
    raise _FormatError(f"it does not start like a .npz (zip) archive (first bytes {start!r})")


def _check_sizes(file: Any) -> None:
    """Refuse, before anything is decompressed, an archive whose entries would expand to
    more than :data:`MAX_LOAD_BYTES` or to far more than the file itself."""
    on_disk = os.fstat(file.fileno()).st_size
    with zipfile.ZipFile(file) as archive:
        declared = sum(info.file_size for info in archive.infolist())
    file.seek(0)
    if declared > MAX_LOAD_BYTES:
        raise _FormatError(
            f"its entries would expand to {declared} bytes, more than "
            f"chainrule.serialization.MAX_LOAD_BYTES = {MAX_LOAD_BYTES}"
        )
    if declared > _MAX_EXPANSION * on_disk + (1 << 20):
        raise _FormatError(
            f"its entries would expand to {declared} bytes from a {on_disk}-byte file "
            "(a zip bomb?); chainrule writes uncompressed archives"
        )


def _load_archive(file: Any) -> Any:
    _check_magic(file)
    _check_sizes(file)
    # allow_pickle=False: an object array inside the archive is refused, not unpickled.
    archive = np.load(file, allow_pickle=False)
    if not hasattr(archive, "files"):
        raise _FormatError("not a .npz archive")
    try:
        return _Decoder(archive).decode(_read_header(archive))
    finally:
        archive.close()


def load(path: str | os.PathLike[str]) -> Any:
    r"""Read what :func:`save` wrote: state dicts come back with Tensors (no grad).

    Arrays keep their dtype and shape, Python ints stay ints (also as dict keys, as in an
    optimizer's ``"state"``), tuples stay tuples, so the result can be passed straight to
    ``model.load_state_dict`` or ``optimizer.load_state_dict``.

    Args:
        path: a ``str`` or :class:`pathlib.Path`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a chainrule ``.npz`` (damaged or truncated, a foreign
            ``.npz``, a pickle, object arrays, a malformed header). No code from the file
            is ever run: pickle is refused.
    """
    path = _as_path(path, "load")
    with open(path, "rb") as file:  # missing file / permissions: the OS error, as is
        try:
            return _load_archive(file)
        except _FormatError as exc:
            raise ValueError(f"load: {path!r} is not a chainrule .npz file: {exc}") from None
        except Exception as exc:  # a damaged file can fail in zipfile, zlib, json, numpy…
            raise ValueError(
                f"load: {path!r} is not a chainrule .npz file (damaged or another format: "
                f"{type(exc).__name__}: {exc})"
            ) from exc
