"""Type aliases shared by the public signatures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np

ArrayLike = Union[np.ndarray, float, int, bool, Sequence[Any]]  # noqa: UP007
Shape = tuple[int, ...]
Axis = Union[int, Sequence[int], None]  # noqa: UP007
DTypeLike = Union[np.dtype, str, type, None]  # noqa: UP007
