"""The tutorials run: every ```python block of docs/tutorial.md and docs/tutorial.zh-CN.md is
executed in order, in one namespace per file (as a reader would run them), with Matplotlib's
Agg backend, the pictures written to a temporary folder and warnings as errors; each block's
printed output must match its ``# Output:`` comment. The runner is docs/make_docs.py, the
same code ``make docs`` uses to draw docs/img."""

from __future__ import annotations

import importlib.util
import io
import shutil
import sys
import tokenize
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _load_make_docs():
    spec = importlib.util.spec_from_file_location("chainrule_make_docs", DOCS / "make_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


make_docs = _load_make_docs()
TUTORIALS = [DOCS / "tutorial.md", DOCS / "tutorial.zh-CN.md"]


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=lambda p: p.name)
def test_every_code_block_runs_and_prints_what_it_says(tutorial: Path, tmp_path: Path) -> None:
    img = tmp_path / "img"
    make_docs.run_tutorial(tutorial, img)
    written = {p.name for p in img.iterdir()}
    for link in make_docs.linked_images(tutorial):
        name = Path(link).name
        if name == "graph.png" and shutil.which("dot") is None:
            # Without Graphviz's dot, save_graph writes the DOT source instead.
            assert "graph.dot" in written
            continue
        assert name in written, f"{tutorial.name} shows {link}, but its code did not draw it"


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=lambda p: p.name)
def test_linked_pictures_are_committed_and_small(tutorial: Path) -> None:
    links = make_docs.linked_images(tutorial)
    assert len(links) >= 10
    for link in links:
        picture = DOCS / link
        assert picture.is_file(), f"{tutorial.name} links to {link}; run make docs"
        assert picture.stat().st_size < make_docs.MAX_BYTES, f"{link} is too large"


def _code_tokens(code: str) -> list[tuple[int, str]]:
    """The code's tokens without comments and blank lines: what it does, not what it says."""
    skip = {tokenize.COMMENT, tokenize.NL}
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return [(t.type, t.string) for t in tokens if t.type not in skip]


def test_the_chinese_tutorial_runs_the_same_code_as_the_english_one() -> None:
    english, chinese = (make_docs.code_blocks(path) for path in TUTORIALS)
    assert len(english) == len(chinese)
    for en, zh in zip(english, chinese):
        assert _code_tokens(en.code) == _code_tokens(zh.code), (
            f"tutorial.md line {en.line} and tutorial.zh-CN.md line {zh.line} differ in code"
        )
        assert en.expected == zh.expected


def test_both_tutorials_show_the_same_pictures_and_sections() -> None:
    english, chinese = (path.read_text(encoding="utf-8") for path in TUTORIALS)
    assert make_docs.linked_images(TUTORIALS[0]) == make_docs.linked_images(TUTORIALS[1])
    numbers = ["## 1–2.", "## 3.1 ", "## 3.2 ", "## 3.3 ", "## 3.4 ", "## 4. ", "## 5. ", "## 6. ",
               "## 7. "]
    for number in numbers:
        assert number in english and number in chinese, f"missing section {number!r}"


def test_a_wrong_output_comment_fails_the_run(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n```python\nprint(1 + 1)\n# Output:\n# 3\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="printed\n2\n"):
        make_docs.run_tutorial(page, tmp_path / "img")


def test_a_block_that_warns_fails_the_run(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nimport numpy as np\nnp.float32(1e30) * np.float32(1e30)\n```\n",
                    encoding="utf-8")
    with pytest.raises(RuntimeWarning):
        make_docs.run_tutorial(page, tmp_path / "img")
