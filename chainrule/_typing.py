"""Type aliases shared by the public signatures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias, Union

import numpy as np

ArrayLike: TypeAlias = Union[np.ndarray, float, int, bool, Sequence[Any]]  # noqa: UP007
Shape: TypeAlias = tuple[int, ...]
Axis: TypeAlias = Union[int, Sequence[int], None]  # noqa: UP007
DTypeLike: TypeAlias = Union[np.dtype, str, type, None]  # noqa: UP007
