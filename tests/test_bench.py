"""The benchmark harness (bench/) at its smallest sizes: it runs, and its cross-check both
passes on honest answers and catches a wrong one. No timing is asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench` lives beside the package, not inside it
    sys.path.insert(0, str(ROOT))

from bench import common as C  # noqa: E402
from bench import markdown, report, run, worker  # noqa: E402
from bench.checks import Record, cross_check, exact_answers  # noqa: E402

FRAMEWORKS = [fw for fw in ("chainrule", "numpy") if importlib.util.find_spec(fw)]


@pytest.fixture(scope="module")
def tiny_records() -> list[Record]:
    records = []
    for fw in FRAMEWORKS:
        out = worker.run_workloads(fw, list(C.WORKLOADS), "tiny")
        records += [Record(0, fw, w, r) for w, r in out["results"].items()]
    return records


def test_every_workload_runs_for_chainrule_and_numpy(tiny_records):
    for rec in tiny_records:
        if rec.framework == "numpy" and rec.workload in ("W7", "W8", "W9"):  # no conv or GRU layer
            assert rec.result == {"status": worker.NOT_APPLICABLE}
            continue
        assert rec.result.get("status", "ok") == "ok", (rec.framework, rec.workload, rec.result)
        assert "answers" in rec.result
    assert {(r.framework, r.workload) for r in tiny_records} == {
        (fw, w) for fw in FRAMEWORKS for w in C.WORKLOADS}


def test_conv_workloads_agree_with_pytorch(tiny_records):
    pytest.importorskip("torch")
    out = worker.run_workloads("torch", ["W7", "W8"], "tiny")
    torch_records = [Record(0, "torch", w, r) for w, r in out["results"].items()]
    assert all("answers" in r.result for r in torch_records), out["results"]
    assert cross_check(tiny_records + torch_records, "tiny") == []
    ours = {r.workload: r.result for r in tiny_records if r.framework == "chainrule"}
    assert ours["W8"]["answers"]["gradb_sum"] == 2 * 32 * 8 * 8  # ∂Σy/∂b_o = N·H·W
    assert ours["W8"]["images_per_s"] > 0 and ours["W8"]["peak_rss_mb"] > 0
    losses = ours["W7"]["answers"]
    assert 2.0 < losses["first_loss"] < 2.7  # ≈ log 10 at PyTorch's initialisation
    bad = dict(ours["W7"], answers=dict(losses, early_loss=losses["early_loss"] * 1.01))
    problems = cross_check(torch_records + [Record(1, "chainrule", "W7", bad)], "tiny")
    assert len(problems) == 1 and "early_loss" in problems[0]


def test_the_gru_workload_agrees_with_pytorch(tiny_records):
    pytest.importorskip("torch")
    out = worker.run_workloads("torch", ["W9"], "tiny")
    theirs = Record(0, "torch", "W9", out["results"]["W9"])
    assert "answers" in theirs.result, theirs.result
    ours = next(r for r in tiny_records if r.framework == "chainrule" and r.workload == "W9")
    assert cross_check([ours, theirs], "tiny") == []
    answers = ours.result["answers"]
    assert 2.0 < answers["first_loss"] < 2.7  # ≈ log 10 at PyTorch's initialisation
    bad = dict(ours.result, answers=dict(answers, final_loss=answers["final_loss"] * 1.01))
    problems = cross_check([theirs, Record(1, "chainrule", "W9", bad)], "tiny")
    assert len(problems) == 1 and "final_loss" in problems[0]


def test_cross_check_passes_on_the_frameworks_answers(tiny_records):
    assert cross_check(tiny_records, "tiny") == []


def test_w1_reaches_the_textbook_theta(tiny_records):
    for rec in tiny_records:
        if rec.workload == "W1":
            np.testing.assert_allclose(rec.result["answers"]["theta"],
                                       [0.136307286732365, 1.95363890028915], rtol=1e-12)


def test_cross_check_reports_a_wrong_answer(tiny_records):
    rec = next(r for r in tiny_records if r.workload == "W3" and r.framework == FRAMEWORKS[0])
    answers = dict(rec.result["answers"], grad_sum=rec.result["answers"]["grad_sum"] * 1.01)
    bad = Record(1, rec.framework, "W3", dict(rec.result, answers=answers))
    problems = cross_check(tiny_records + [bad], "tiny")
    assert len(problems) == 1 and "grad_sum" in problems[0] and "rep 1" in problems[0]


def test_exact_w4_and_w6_answers_follow_from_the_closed_forms():
    p = C.problem("tiny")
    A, B = C.w4_data(p)
    exact = exact_answers("W4", p)
    G = np.ones((p["w4_n"], p["w4_n"]))
    np.testing.assert_allclose(exact["gradA_sum"], (G @ B.astype(np.float64).T).sum())
    np.testing.assert_allclose(exact["y"], (A.astype(np.float64) @ B).sum())
    y = C.W6_X
    for _ in range(50):
        y = y * C.W6_A + C.W6_B
    np.testing.assert_allclose(exact_answers("W6", p, 50)["y"], y, rtol=1e-13)


def test_a_recursion_error_is_reported_not_raised():
    def w6(p, n):
        def run():
            raise RecursionError("maximum recursion depth exceeded")
        return run

    result = worker.bench_w6(SimpleNamespace(w6=w6), C.problem("tiny"))
    assert result["status"] == "RecursionError" and "answers" not in result


def test_plan_runs_every_framework_once_per_repetition_in_rotated_order():
    fws = ["a", "b", "c"]
    jobs = run.plan(fws, ["W1", "W2", "W3", "W8"], reps=3)
    for rep in range(3):
        w2 = [fw for r, fw, group in jobs if r == rep and group == ["W2"]]
        w8 = [fw for r, fw, group in jobs if r == rep and group == ["W8"]]  # RSS: alone
        rest = [fw for r, fw, group in jobs if r == rep and group == ["W1", "W3"]]
        assert sorted(w2) == fws and w2 == rest == w8
        assert w2[0] == fws[rep]
    assert len(jobs) == 3 * 3 * 3


def test_worker_process_streams_its_results():
    env = run._worker_env(keep_blas_env=True, digits=None)
    meta, results, _ = run.run_worker("numpy", ["W1", "W6"], "tiny", 60, env)
    assert "numpy" in meta["versions"]
    assert results["W6"]["status"] == "ok"
    np.testing.assert_allclose(results["W1"]["answers"]["theta"], C.W1_THETA, rtol=1e-12)


def test_markdown_report_holds_table_targets_and_method(tiny_records):
    table = report.medians(tiny_records)
    info = {"cpu": "test", "cores": 2, "python": "3", "platform": "linux", "wall_s": 1.0,
            "load_before": (0.0, 0.0, 0.0), "load_after": (0.0, 0.0, 0.0),
            "blas_env": {}, "commit": "abc"}
    meta = {"chainrule": {"versions": {"chainrule": "0"}, "blas": []}}
    page = markdown.render({"profile": "tiny", "reps": 1, "frameworks": FRAMEWORKS,
                            "machine": info, "metas": meta}, table,
                           report.failures(tiny_records),
                           report.targets(table, tiny_records), [], tiny_records, None)
    assert page.startswith("<!-- GENERATED")
    for needle in ("| chainrule |", "## chainrule's targets", "## Method", "All "):
        assert needle in page


def test_a_rerun_keeps_the_hand_written_part_of_the_page():
    previous = "generated 1\n\n" + markdown.HAND_WRITTEN + "\n\n## What bought what\nrows\n"
    page = markdown.with_hand_written("generated 2\n", previous)
    assert page.startswith("generated 2\n")
    assert page.endswith(markdown.HAND_WRITTEN + "\n\n## What bought what\nrows\n")
    assert "generated 1" not in page
    assert markdown.with_hand_written("generated 2\n", "no marker") == "generated 2\n"


def test_chart_redraws_from_the_page_naming_workloads_on_a_readable_log_axis(tmp_path):
    pytest.importorskip("matplotlib")
    from bench import chart

    page = (Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md").read_text("utf-8")
    table, present, title = chart.table_from_markdown(page)
    assert present[:2] == ["chainrule", "torch"] and len(set(present)) == len(present)
    assert table[("torch", "W1 ms")]["median"] > 0 and "profile" in title
    fig = chart.figure(table, present, title)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0].startswith("W1\n") and "linear regression" in ticks[0]  # not a bare W1
    fig.canvas.draw()
    values = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "1×" in values and ("2×" in values or "0.5×" in values)  # between the powers
    import matplotlib.pyplot as plt

    plt.close(fig)
    (tmp_path / "page.md").write_text(page, encoding="utf-8")
    assert chart.main([str(tmp_path / "page.md")]) == 0  # python -m bench.chart PAGE
    assert (tmp_path / "page.png").read_bytes()[:4] == b"\x89PNG"
