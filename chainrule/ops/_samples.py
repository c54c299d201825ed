r"""Input domains for the op table's samples.

Each op's samples draw their inputs from a domain where the op is smooth, so that a
central difference with step h ≈ 1e-6 measures its derivative: positive numbers for
``log``, values away from 0 for ``abs``, distinct values for ``max``. Every module of the
table draws from its own generator with a fixed seed: the samples are the same in every
run, and the library's global random state is never touched.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.ops._table import Sample, sample


class Draw:
    """Random inputs from the domains below, reproducibly (seeded by ``label``)."""

    def __init__(self, label: str) -> None:
        self.rng = np.random.default_rng(zlib.crc32(label.encode()))

    def normal(self, *shape: int) -> np.ndarray:
        return self.rng.standard_normal(shape)

    def positive(self, *shape: int) -> np.ndarray:
        """Values in [0.5, 2]: inside the domain of log, sqrt and a real power."""
        return self.rng.uniform(0.5, 2.0, shape)

    def nonzero(self, *shape: int) -> np.ndarray:
        """Values with 0.2 ≤ |x| ≤ 1.5: away from the kink of abs and relu, and from 1/0."""
        return self.rng.choice([-1.0, 1.0], shape) * self.rng.uniform(0.2, 1.5, shape)

    def distinct(self, *shape: int) -> np.ndarray:
        """Distinct values at least 0.1 apart, so that max/min have no ties within ±h."""
        n = int(np.prod(shape, dtype=np.int64))
        return self.rng.permutation(np.linspace(-2.0, 2.0, max(n, 2))[:n]).reshape(shape)

    def apart_from(self, x: np.ndarray) -> np.ndarray:
        """Values that differ from ``x`` by 0.2 to 1 everywhere (no ties for maximum)."""
        return x + self.rng.choice([-1.0, 1.0], x.shape) * self.rng.uniform(0.2, 1.0, x.shape)

    def away_from_edges(self, lo: float, hi: float, *shape: int) -> np.ndarray:
        """Values in [lo − 1, hi + 1] at least 0.05 from the clip edges ``lo`` and ``hi``."""
        x = self.rng.uniform(lo - 1.0, hi + 1.0, shape)
        for edge in (lo, hi):
            x[np.abs(x - edge) < 0.05] = edge + 0.1
        return x

    def mask(self, *shape: int) -> np.ndarray:
        """A boolean mask with both values present."""
        mask = self.rng.random(shape) < 0.5
        mask.flat[0], mask.flat[-1] = True, False
        return mask


def unary_samples(fn: Callable[..., Any], domain: Callable[..., np.ndarray]) -> list[Sample]:
    """A (2, 3) tensor and a 0-d one."""
    return [sample("(2,3)", fn, [domain(2, 3)]), sample("0-d", fn, [domain()])]


def binary_samples(fn: Callable[..., Any], draw_x: Callable[..., np.ndarray],
                   draw_y: Callable[..., np.ndarray]) -> list[Sample]:
    """Equal shapes, and three kinds of broadcasting (a column and a row, a new leading
    axis, a 0-d operand)."""
    return [
        sample("(3,4)&(3,4)", fn, [draw_x(3, 4), draw_y(3, 4)]),
        sample("broadcast(3,1)&(4,)", fn, [draw_x(3, 1), draw_y(4)]),
        sample("broadcast(2,1,3)&(4,1)", fn, [draw_x(2, 1, 3), draw_y(4, 1)]),
        sample("0-d&(3,)", fn, [draw_x(), draw_y(3)]),
    ]


def reduction_samples(fn: Callable[..., Any], domain: Callable[..., np.ndarray],
                      zero_d: bool = True) -> list[Sample]:
    """Over all axes, one axis, a negative axis with keepdims, two axes, and a 0-d input."""
    samples = [
        sample("all", fn, [domain(3, 4)], axis=None, keepdims=False),
        sample("all_keepdims", fn, [domain(3, 4)], axis=None, keepdims=True),
        sample("axis=0", fn, [domain(3, 4)], axis=0, keepdims=False),
        sample("axis=-1_keepdims", fn, [domain(2, 3, 4)], axis=-1, keepdims=True),
        sample("axis=(0,2)", fn, [domain(2, 3, 4)], axis=(0, 2), keepdims=False),
    ]
    if zero_d:
        samples.append(sample("0-d", fn, [domain()], axis=None, keepdims=False))
    return samples
