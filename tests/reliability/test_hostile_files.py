"""Hostile files, one of each kind, given to every door that reads a file: ``cr.load``,
``Module.load_state_dict``, ``Optimizer.load_state_dict`` and ``chainrule train --load``.
Each gets a clear builtin error (a one-line message and exit status 2 on the command line),
nothing from the file is ever executed, and memory stays bounded (zip bombs are refused
before decompression). Saving never leaves a half-written file.

tests/test_serialization.py covers the loader's formats in depth; this file covers the
doors and the kinds it does not (wrong shape, zip bomb, lying headers, deep nesting).
"""

from __future__ import annotations

import io
import json
import os
import pickle  # only to build hostile files: the library never unpickles
import resource
import zipfile
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim, serialization
from chainrule.cli.main import main

MARKER = "pwned"


class _Exploit:
    """Unpickling this would create the marker directory: code execution."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _header(tree: dict) -> bytes:
    document = {"format": "chainrule", "version": 1, "tree": tree}
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(document).encode(), dtype=np.uint8))
    return buffer.getvalue()


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _iris_model() -> nn.MLP:
    cr.manual_seed(0)
    return nn.MLP([4, 3])  # what `chainrule train --dataset iris` builds


# ---------------------------------------------------------------- the files
def _truncated(path: Path) -> None:
    cr.save(_iris_model().state_dict(), path)
    path.write_bytes(path.read_bytes()[:300])


def _corrupted(path: Path) -> None:
    cr.save(_iris_model().state_dict(), path)
    data = bytearray(path.read_bytes())
    for i in range(64, len(data), 97):  # flip bytes all over: headers, CRCs, arrays
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))


def _wrong_format(path: Path) -> None:
    path.write_text("0.weight,0.bias\n1,2\n")  # a CSV named .npz


def _foreign_npz(path: Path) -> None:
    np.savez(path, **{"0.weight": np.zeros((3, 4)), "0.bias": np.zeros(3)})  # no header


def _pickle_file(path: Path) -> None:
    path.write_bytes(pickle.dumps({"0.weight": _Exploit(str(path.parent / MARKER))}))


def _pickle_in_npz(path: Path) -> None:
    np.savez(path, allow_pickle=True,
             __chainrule__=np.frombuffer(json.dumps({"format": "chainrule", "version": 1,
                                                     "tree": {"t": "array", "ref": "a0"}}
                                                    ).encode(), dtype=np.uint8),
             a0=np.array([_Exploit(str(path.parent / MARKER))], dtype=object))


def _zip_bomb(path: Path) -> None:
    # 64 MB of zeros deflated into ~64 KB, behind a valid header that references it
    size = 64 << 20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__chainrule__.npy", _header(
            {"t": "dict", "items": [["0.weight", {"t": "tensor", "ref": "a0"}]]}))
        with archive.open("a0.npy", "w") as entry:
            entry.write(_npy_header((size // 8,)))
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                entry.write(chunk)


def _lying_shape(path: Path) -> None:
    # the .npy header claims 10¹² float64 (8 TB); the entry holds 16 bytes
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__chainrule__.npy", _header({"t": "tensor", "ref": "a0"}))
        archive.writestr("a0.npy", _npy_header((10**12,)) + bytes(16))


def _deep_nesting(path: Path) -> None:
    # 200,000 nested JSON lists: a recursion bomb for any recursive parser
    text = json.dumps({"format": "chainrule", "version": 1, "tree": None})
    deep = text.replace("null", "[" * 200_000 + "]" * 200_000)
    np.savez(path, __chainrule__=np.frombuffer(deep.encode(), dtype=np.uint8))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _wrong_shape(path: Path) -> None:
    # a valid chainrule file, from a model the command line would not build
    cr.save(nn.MLP([4, 8, 3]).state_dict(), path)


UNREADABLE = {  # cr.load refuses these with ValueError
    "truncated": _truncated,
    "corrupted": _corrupted,
    "wrong_format": _wrong_format,
    "foreign_npz": _foreign_npz,
    "pickle": _pickle_file,
    "pickle_in_npz": _pickle_in_npz,
    "zip_bomb": _zip_bomb,
    "lying_shape": _lying_shape,
    "deep_nesting": _deep_nesting,
    "empty": _empty,
}
ALL = {**UNREADABLE, "wrong_shape": _wrong_shape}


@pytest.fixture
def hostile(tmp_path):
    def make(kind: str) -> Path:
        path = tmp_path / f"{kind}.npz"
        ALL[kind](path)
        return path
    return make


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------- cr.load
@pytest.mark.parametrize("kind", UNREADABLE)
def test_load_refuses_the_file_with_a_clear_value_error(hostile, kind):
    path = hostile(kind)
    peak_before = _peak_rss_mb()
    with pytest.raises(ValueError, match=r"^load: '.*' is not a chainrule \.npz file"):
        cr.load(path)
    assert not (path.parent / MARKER).exists()
    assert _peak_rss_mb() - peak_before < 32  # the bomb's 64 MB were never decompressed


def test_zip_bomb_is_refused_before_decompression(hostile):
    with pytest.raises(ValueError, match=r"would expand to 671\d{5} bytes from a \d{5}-byte "
                                         r"file \(a zip bomb\?\)"):
        cr.load(hostile("zip_bomb"))


def test_archives_beyond_max_load_bytes_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    cr.save({"w": np.zeros(1000)}, path)  # 8 KB of honest, uncompressed data
    assert cr.load(path)["w"].shape == (1000,)
    monkeypatch.setattr(serialization, "MAX_LOAD_BYTES", 4096)
    with pytest.raises(ValueError, match=r"MAX_LOAD_BYTES = 4096"):
        cr.load(path)


def test_a_directory_is_an_os_error_not_a_crash(tmp_path):
    with pytest.raises(IsADirectoryError):
        cr.load(tmp_path)


# ---------------------------------------------------------------- Module.load_state_dict
def test_module_refuses_a_state_that_does_not_fit(hostile):
    model = _iris_model()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with "
                                           r"shape \(8, 4\) from checkpoint"):
        model.load_state_dict(cr.load(hostile("wrong_shape")))
    for k, v in model.state_dict().items():  # a failed load changes nothing
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_module_refuses_an_optimizer_state(tmp_path):
    model = _iris_model()
    cr.save(optim.SGD(model.parameters(), lr=0.1).state_dict(), tmp_path / "opt.npz")
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "state", '
                                           r'"param_groups"'):
        model.load_state_dict(cr.load(tmp_path / "opt.npz"))


# ---------------------------------------------------------------- Optimizer.load_state_dict
def _trained_adam() -> tuple[nn.MLP, optim.Adam]:
    model = _iris_model()
    opt = optim.Adam(model.parameters())
    F.cross_entropy(model(cr.ones(2, 4)), cr.tensor([0, 2])).backward()
    opt.step()
    return model, opt


@pytest.mark.parametrize("damage, message", [
    (lambda s: s["state"][0].__setitem__("exp_avg", np.zeros((5, 5))),
     r"state 'exp_avg' of parameter 0 has shape \(5, 5\), but the parameter has shape \(3, 4\)"),
    (lambda s: s["state"][0].__setitem__("step", "three"),
     r"state 'step' of parameter 0 must be a whole number >= 0, got 'three'"),
    (lambda s: s["state"][0].__setitem__("step", -1),
     r"state 'step' of parameter 0 must be a whole number >= 0, got -1"),
    (lambda s: s.__setitem__("state", [1, 2]),
     r"'state' must map parameter indices \(ints\) to dicts"),
    (lambda s: s["state"].__setitem__(0, 5.0),
     r"'state' must map parameter indices \(ints\) to dicts"),
    (lambda s: s.__setitem__("param_groups", 7), r"'param_groups' must be a list of dicts"),
    (lambda s: s["param_groups"][0].__setitem__("params", "ab"),
     r"'params' of parameter group 0 must be a list of parameter indices"),
    (lambda s: s["param_groups"][0].__setitem__("params", [0]),
     r"group 0: 1 saved parameters, 2 here"),
    (lambda s: s["param_groups"][0].__setitem__("lr", -1.0), r"Invalid learning rate: -1.0"),
], ids=["exp_avg_shape", "step_text", "step_negative", "state_list", "state_entry_number",
        "groups_number", "params_text", "params_count", "negative_lr"])
def test_optimizer_refuses_a_damaged_state_from_a_file(tmp_path, damage, message):
    _, opt = _trained_adam()
    state = opt.state_dict()
    damage(state)
    cr.save(state, tmp_path / "opt.npz")
    model, fresh = _trained_adam()
    before = fresh.state_dict()
    with pytest.raises(ValueError, match=r"^Adam(\.load_state_dict)?: " + ".*" + message):
        fresh.load_state_dict(cr.load(tmp_path / "opt.npz"))
    after = fresh.state_dict()  # a failed load leaves the optimiser as it was
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])


def test_optimizer_refuses_a_model_state(hostile):
    _, opt = _trained_adam()
    with pytest.raises(ValueError, match=r"expected a dict with keys 'state' and 'param_groups'"):
        opt.load_state_dict(cr.load(hostile("wrong_shape")))


# ---------------------------------------------------------------- chainrule train --load
@pytest.mark.parametrize("kind", ALL)
def test_cli_train_load_reports_one_line_and_exits_2(hostile, kind, capsys):
    path = hostile(kind)
    status = main(["train", "--dataset", "iris", "--epochs", "0", "--no-progress",
                   "--load", str(path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("chainrule: error: "), err
    assert "Traceback" not in err
    assert str(path) in err
    assert not (path.parent / MARKER).exists()


def test_cli_train_save_into_a_missing_directory_is_one_line(tmp_path, capsys):
    target = tmp_path / "no" / "such" / "dir" / "m.npz"
    status = main(["train", "--dataset", "iris", "--epochs", "1", "--no-progress",
                   "--save", str(target)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("chainrule: error: ")
    assert not target.parent.exists()


# ---------------------------------------------------------------- saving never half-writes
def test_a_value_that_cannot_be_saved_leaves_no_file(tmp_path):
    path = tmp_path / "m.npz"
    with pytest.raises(TypeError, match=r"save: cannot store a value of type object"):
        cr.save({"w": np.zeros(3), "bad": object()}, path)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_while_writing_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    cr.save({"w": np.arange(3.0)}, path)
    old = path.read_bytes()

    def interrupted(file, entries):
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_write_archive", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cr.save({"w": np.zeros(10**5)}, path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left
