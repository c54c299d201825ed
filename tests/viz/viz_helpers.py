"""Checks shared by the viz tests: a saved figure is a real, non-blank image."""

from __future__ import annotations

from pathlib import Path


def assert_image(path: Path, min_bytes: int = 10_000) -> None:
    """The file is a PNG (or SVG) with actual content, not a blank canvas."""
    data = path.read_bytes()
    assert len(data) > min_bytes
    if path.suffix == ".png":
        from matplotlib.image import imread

        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = imread(path)
        assert pixels.std() > 0.05  # more than a blank background
    else:
        assert b"<svg" in data


def assert_labelled(ax) -> None:
    """Axes named, a title, and a legend."""
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert ax.get_legend() is not None
