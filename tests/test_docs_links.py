"""The documentation names only files the repository has: every ``*.md`` that README.md and
docs/*.md mention, and every relative link target, exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
MARKDOWN_NAME = re.compile(r"(?<![\w./-])([\w./-]+\.md)\b")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _exists(name: str, doc: Path) -> bool:
    return (doc.parent / name).exists() or (REPO / name).exists()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_markdown_file_a_document_names_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = sorted({name for name in MARKDOWN_NAME.findall(text) if not _exists(name, doc)})
    assert not missing, f"{doc.relative_to(REPO)} names {missing}, which are not in the repository"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_resolves(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    targets = [t for t in LINK.findall(text) if "://" not in t and not t.startswith("mailto:")]
    missing = sorted({t for t in targets if not (doc.parent / t).exists()})
    assert not missing, f"{doc.relative_to(REPO)} links to {missing}, which do not exist"
