"""cr.save / cr.load: exact round trips of state dicts in .npz, atomic writes, and hostile
files (damaged, foreign, pickle, object arrays) refused with ValueError without running
code."""

from __future__ import annotations

import io
import json
import os
import pathlib
import pickle  # only to build hostile files: the library itself never pickles
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import serialization


def _model_state() -> dict[str, cr.Tensor]:
    rng = np.random.default_rng(0)
    return {
        "0.weight": cr.from_numpy(rng.standard_normal((4, 3)).astype(np.float32)),
        "0.bias": cr.from_numpy(rng.standard_normal(4).astype(np.float32)),
        "2.weight": cr.tensor(rng.standard_normal((1, 4)), requires_grad=True),
    }


def _optimizer_state() -> dict:
    return {
        "state": {
            0: {"step": 3, "exp_avg": np.arange(6, dtype=np.float32).reshape(2, 3),
                "exp_avg_sq": np.full((2, 3), 1e-8, dtype=np.float64),
                "momentum_buffer": None},
            1: {"step": cr.tensor(np.int64(7)), "scale": np.float32(0.5)},
        },
        "param_groups": [
            {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
             "amsgrad": False, "nesterov": True, "maximize": False, "foreach": None,
             "initial_lr": float("inf"), "name": "all", "params": [0, 1]},
        ],
    }


def test_model_state_dict_round_trips_as_tensors(tmp_path):
    state = _model_state()
    path = tmp_path / "model.npz"
    cr.save(state, path)
    loaded = cr.load(path)
    assert list(loaded) == list(state)
    for name, tensor in state.items():
        assert isinstance(loaded[name], cr.Tensor)
        assert loaded[name].dtype == tensor.dtype and loaded[name].shape == tensor.shape
        np.testing.assert_array_equal(loaded[name].numpy(), tensor.numpy())
        assert not loaded[name].requires_grad and loaded[name].grad is None


def test_optimizer_state_round_trips_exactly(tmp_path):
    state = _optimizer_state()
    path = tmp_path / "opt.npz"
    cr.save(state, path)
    loaded = cr.load(path)
    assert list(loaded["state"]) == [0, 1]  # int keys stay ints
    s0 = loaded["state"][0]
    assert type(s0["step"]) is int and s0["step"] == 3
    assert s0["momentum_buffer"] is None
    assert s0["exp_avg"].dtype == np.float32 and s0["exp_avg_sq"].dtype == np.float64
    np.testing.assert_array_equal(s0["exp_avg"], state["state"][0]["exp_avg"])
    np.testing.assert_array_equal(s0["exp_avg_sq"], state["state"][0]["exp_avg_sq"])
    s1 = loaded["state"][1]
    assert isinstance(s1["step"], cr.Tensor) and s1["step"].dtype == np.int64
    assert s1["step"].item() == 7
    assert type(s1["scale"]) is np.float32 and s1["scale"] == np.float32(0.5)
    group = loaded["param_groups"][0]
    assert group == state["param_groups"][0]
    assert type(group["betas"]) is tuple and type(group["weight_decay"]) is int
    assert type(group["amsgrad"]) is bool and group["foreach"] is None


def test_floats_round_trip_bit_for_bit_including_non_finite(tmp_path):
    values = [0.1, 1 / 3, 1e-300, -2.5e300, float("inf"), float("-inf")]
    cr.save({"v": values, "nan": float("nan")}, tmp_path / "f")
    loaded = cr.load(tmp_path / "f")
    assert loaded["v"] == values and np.isnan(loaded["nan"])


def test_nested_lists_tuples_and_scalars_round_trip(tmp_path):
    obj = [1, (2, [3.5, "x"]), {"k": (True, None)}, np.int16(-4), np.array(True)]
    cr.save(obj, tmp_path / "nested")
    loaded = cr.load(tmp_path / "nested")
    assert loaded[:3] == obj[:3] and type(loaded[1]) is tuple
    assert type(loaded[3]) is np.int16 and loaded[3] == -4
    assert isinstance(loaded[4], np.ndarray) and loaded[4].dtype == np.bool_


def test_path_is_used_exactly_as_given(tmp_path):
    for path in (tmp_path / "weights", str(tmp_path / "weights.bin"), tmp_path / "w.npz"):
        cr.save({"a": 1}, path)
        assert os.path.exists(path)
        assert cr.load(path) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz", "weights", "weights.bin"]


def test_file_is_a_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "m.npz"
    cr.save(_model_state(), path)
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(archive["__chainrule__"].tobytes())
        assert header["format"] == "chainrule" and header["version"] == 1
        assert sum(archive[name].size for name in archive.files if name != "__chainrule__") == 20


def test_overwrite_replaces_the_old_contents(tmp_path):
    path = tmp_path / "m.npz"
    cr.save({"v": 1}, path)
    cr.save({"v": 2}, path)
    assert cr.load(path) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_failure_while_writing_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    cr.save({"v": 1}, path)
    before = path.read_bytes()

    def crash(file, entries):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(serialization, "_write_archive", crash)
    with pytest.raises(OSError, match="disk full"):
        cr.save({"v": 2}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    monkeypatch.undo()
    assert cr.load(path) == {"v": 1}


def test_failure_at_rename_leaves_no_temp_and_no_new_file(tmp_path, monkeypatch):
    def fail_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(serialization.os, "replace", fail_replace)
    with pytest.raises(OSError, match="rename failed"):
        cr.save({"v": 1}, tmp_path / "new.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_into_a_missing_folder_names_the_users_path_not_a_temporary_file(tmp_path,
                                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        cr.save({"v": 1}, "missing_dir/x.npz")
    assert str(info.value) == (
        "save: cannot write 'missing_dir/x.npz': the folder 'missing_dir' does not exist")
    assert ".tmp" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_save_below_a_file_or_onto_a_folder_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a file")
    for path in ("afile/x.npz", "afile/deeper/x.npz"):
        with pytest.raises(NotADirectoryError, match=rf"save: cannot write '{path}': "
                           "'afile' is a file, not a folder"):
            cr.save({"v": 1}, path)
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match="save: cannot write 'folder': it is a folder; "
                       "give a file name like model.npz"):
        cr.save({"v": 1}, "folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "folder"]


def test_save_where_writing_is_not_allowed_names_the_folder(tmp_path, monkeypatch):
    def refuse(**kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".m.npz.x1.tmp"))

    monkeypatch.setattr(serialization.tempfile, "mkstemp", refuse)
    path = str(tmp_path / "m.npz")
    with pytest.raises(PermissionError) as info:
        cr.save({"v": 1}, path)
    assert str(info.value) == (
        f"save: cannot write {path!r}: permission denied in the folder {str(tmp_path)!r}")


def test_unsupported_values_raise_type_error_naming_where(tmp_path):
    with pytest.raises(TypeError, match=r"save: cannot store a value of type set at obj\['a'\]"):
        cr.save({"a": {1, 2}}, tmp_path / "x")
    with pytest.raises(TypeError, match="only numeric and boolean arrays"):
        cr.save({"a": np.array(["text"])}, tmp_path / "x")
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        cr.save({(1, 2): 3}, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_saving_a_module_suggests_its_state_dict(tmp_path):
    class Model:
        def state_dict(self) -> dict:
            return {}

    with pytest.raises(TypeError, match=r"pass model.state_dict\(\)"):
        cr.save(Model(), tmp_path / "x")


def test_bad_path_types_raise_type_error():
    with pytest.raises(TypeError, match="save: path must be a str or os.PathLike"):
        cr.save({}, 3)
    with pytest.raises(TypeError, match="load: path must be a str or os.PathLike"):
        cr.load(io.BytesIO())


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        cr.load(tmp_path / "nope.npz")


# ---------------------------------------------------------------- hostile files
def _assert_refused(path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="load: .* is not a chainrule .npz file"):
        cr.load(path)


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    cr.save(_model_state(), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 10, 0):
        path.write_bytes(data[:cut])
        _assert_refused(path)


def test_corrupted_array_bytes_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    cr.save({"w": np.zeros(100)}, path)
    data = bytearray(path.read_bytes())
    start = data.index(b"\x93NUMPY", 200)  # the array entry's .npy header
    data[start:start + 60] = b"\xff" * 60
    path.write_bytes(bytes(data))
    _assert_refused(path)


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _assert_refused(path)


def test_foreign_npz_is_refused(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.ones(3))
    with pytest.raises(ValueError, match="without a chainrule header"):
        cr.load(path)


def test_single_npy_array_is_refused(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.ones(3))
    _assert_refused(path)


def test_object_array_npz_is_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, allow_pickle=True, x=np.array([{"a": 1}, None], dtype=object))
    _assert_refused(path)


def test_object_array_behind_a_valid_header_is_refused(tmp_path):
    path = tmp_path / "sneaky.npz"
    header = {"format": "chainrule", "version": 1, "tree": {"t": "array", "ref": "a0"}}
    np.savez(path, allow_pickle=True,
             __chainrule__=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
             a0=np.array([object()], dtype=object))
    _assert_refused(path)


@pytest.mark.parametrize(
    "document",
    [
        b"not json",
        json.dumps({"format": "other", "version": 1, "tree": None}).encode(),
        json.dumps({"format": "chainrule", "version": 99, "tree": None}).encode(),
        json.dumps({"format": "chainrule", "version": 1}).encode(),
        json.dumps({"format": "chainrule", "version": 1, "tree": {"t": "eval"}}).encode(),
        json.dumps({"format": "chainrule", "version": 1,
                    "tree": {"t": "array", "ref": "missing"}}).encode(),
        json.dumps({"format": "chainrule", "version": 1,
                    "tree": {"t": "dict", "items": [[[1], 2]]}}).encode(),
        json.dumps([1, 2]).encode(),
    ],
)
def test_malformed_header_is_refused(tmp_path, document):
    path = tmp_path / "bad.npz"
    np.savez(path, __chainrule__=np.frombuffer(document, dtype=np.uint8))
    _assert_refused(path)


class _Exploit:
    """Unpickling this would call os.mkdir(marker): the classic code-execution payload."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_pickle_file_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": _Exploit(str(marker))}))
    with pytest.raises(ValueError, match="looks like a pickle, which chainrule never loads"):
        cr.load(path)
    assert not marker.exists()


def test_pickle_inside_a_zip_entry_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    payload = pickle.dumps(_Exploit(str(marker)))
    header = {"format": "chainrule", "version": 1, "tree": {"t": "array", "ref": "a0"}}
    with zipfile.ZipFile(path, "w") as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
        archive.writestr("__chainrule__.npy", buffer.getvalue())
        archive.writestr("a0.npy", payload)
    _assert_refused(path)
    assert not marker.exists()
