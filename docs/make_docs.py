r"""Regenerate the tutorial's pictures: ``make docs`` (or ``python docs/make_docs.py``).

The pictures in ``docs/img/`` are not drawn by hand: this script runs the ```python blocks of
``docs/tutorial.md`` in order, in one namespace, with Matplotlib's Agg backend and the
environment variable ``CHAINRULE_IMG`` pointing at ``docs/img``, so the tutorial's own code
writes them. Then it checks that every picture either tutorial links to exists, shrinks each
PNG to a 256-colour palette (the figures are flat colours and lines, so nothing visible is
lost and the files are about a third of the size) and fails if one is still over 200 KB.

Output checks: a block may end with a comment ``# Output:`` (``# 输出：`` in the Chinese
tutorial) followed by ``# line`` comments; the block's standard output must be exactly those
lines. ``tests/test_tutorials.py`` runs both tutorials the same way, into a temporary folder.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
TUTORIALS = (DOCS / "tutorial.md", DOCS / "tutorial.zh-CN.md")
MAX_BYTES = 200_000

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]]*\]\((img/[^)\s]+)\)")
_OUTPUT_MARKERS = ("# Output:", "# 输出：", "# 输出:")


@dataclass(frozen=True)
class Block:
    """One ```python block: where it starts in the file, its code, its expected output."""

    line: int
    code: str
    expected: tuple[str, ...] | None


def _expected_output(code: str) -> tuple[str, ...] | None:
    """The ``# line`` comments after an ``# Output:`` marker, or None when there is none."""
    lines = code.splitlines()
    for i, line in enumerate(lines):
        if line.strip() in _OUTPUT_MARKERS:
            expected = []
            for comment in lines[i + 1:]:
                if not comment.startswith("#"):
                    break
                expected.append(comment[2:].rstrip() if comment.startswith("# ") else "")
            return tuple(expected)
    return None


def code_blocks(path: Path) -> list[Block]:
    """The ```python blocks of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start(1)) + 1
        blocks.append(Block(line, match.group(1), _expected_output(match.group(1))))
    return blocks


def linked_images(path: Path) -> list[str]:
    """The pictures a Markdown file links to, as paths relative to ``docs/`` (``img/x.png``)."""
    return _IMAGE.findall(path.read_text(encoding="utf-8"))


class _Tee(io.StringIO):
    """Collects a block's output and, when asked, also echoes it."""

    def __init__(self, echo: bool) -> None:
        super().__init__()
        self.echo = echo

    def write(self, text: str) -> int:
        if self.echo:
            sys.__stdout__.write(text)
        return super().write(text)


def run_tutorial(path: Path, img_dir: Path, echo: bool = False) -> dict:
    """Run every ```python block of ``path`` in order in one namespace, with
    ``CHAINRULE_IMG=img_dir``, Agg, and warnings as errors; check each block's output.

    Returns:
        The namespace the blocks ran in.

    Raises:
        AssertionError: a block printed something other than its ``# Output:`` comment.
        Exception: whatever a block raised (its traceback names the file and the line).
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    img_dir.mkdir(parents=True, exist_ok=True)
    namespace: dict = {"__name__": "__tutorial__"}
    previous = os.environ.get("CHAINRULE_IMG")
    os.environ["CHAINRULE_IMG"] = str(img_dir)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for block in code_blocks(path):
                # Pad with blank lines so a traceback's line number is the Markdown file's.
                source = "\n" * (block.line - 1) + block.code
                out = _Tee(echo)
                with contextlib.redirect_stdout(out):
                    exec(compile(source, str(path), "exec"), namespace)
                _check_output(path, block, out.getvalue())
    finally:
        if previous is None:
            os.environ.pop("CHAINRULE_IMG", None)
        else:
            os.environ["CHAINRULE_IMG"] = previous
        import matplotlib.pyplot as plt

        plt.close("all")
    return namespace


def _check_output(path: Path, block: Block, printed: str) -> None:
    if block.expected is None:
        return
    got = tuple(line.rstrip() for line in printed.rstrip("\n").splitlines())
    if got != block.expected:
        raise AssertionError(
            f"{path.name}, block at line {block.line}: printed\n" + "\n".join(got)
            + "\nbut its # Output: comment says\n" + "\n".join(block.expected)
        )


def shrink_png(path: Path) -> None:
    """Rewrite a PNG with an adaptive 256-colour palette (lossless for flat-colour plots
    up to the antialiasing shades), keeping it only when that is smaller."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        rgb = image.convert("RGB")
    palette = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", optimize=True)
    if buffer.tell() < path.stat().st_size:
        path.write_bytes(buffer.getvalue())


def main() -> int:
    """Regenerate ``docs/img`` from ``docs/tutorial.md`` and check both tutorials' links."""
    img_dir = DOCS / "img"
    os.chdir(ROOT)
    print(f"running the code of {TUTORIALS[0].relative_to(ROOT)} ...")
    run_tutorial(TUTORIALS[0], img_dir)
    problems = []
    linked = set()
    for tutorial in TUTORIALS:
        for link in linked_images(tutorial):
            linked.add(link)
            if not (DOCS / link).is_file():
                problems.append(f"{tutorial.name} links to {link}, which the code did not write")
    for link in sorted(linked):
        image = DOCS / link
        if image.suffix == ".png" and image.is_file():
            shrink_png(image)
            size = image.stat().st_size
            print(f"  {image.relative_to(ROOT)}  {size / 1000:.0f} KB")
            if size > MAX_BYTES:
                problems.append(f"{link} is {size / 1000:.0f} KB (keep pictures under "
                                f"{MAX_BYTES / 1000:.0f} KB)")
    for stray in sorted(set(p.relative_to(DOCS).as_posix() for p in img_dir.iterdir()) - linked):
        print(f"  note: {stray} is in docs/img but no tutorial links to it")
    for problem in problems:
        print(f"make docs: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
