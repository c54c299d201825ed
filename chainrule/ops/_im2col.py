r"""The NumPy kernels of the three convolution primitives (:mod:`chainrule.ops.convolution`):
im2col, one GEMM, col2im. No autodiff here: arrays in, arrays out.

For x (N, C, *S), w (O, C/G, *K), G groups and T = ΠK kernel taps, ``columns`` lays every
window of the zero-padded input x̃ out as a column, ``cols[n, g, (c, k), p] =
x̃[n, c, s·p + d·k]``; then

* conv:        out[n, g]  = W_g (O/G, C/G·T) @ cols[n, g] (+ the bias),
* weight grad: ∂w_gᵀ      = Σ_n cols[n, g] @ g[n, g]ᵀ (a (C/G·T, O/G) product, the shape
  that keeps the GEMM's output small),
* input grad:  cols[n, g] = W_gᵀ @ g[n, g], then col2im adds each column back onto the
  window it came from: a loop over the T kernel taps, one slice-add each, never over pixels.

Two layouts of the columns:

* **flat** (every stride 1, the common case): each image's padded input is one flat row
  per channel, and tap k's columns are the slice ``row[off_k : off_k + L]`` with
  ``off_k = Σ_i d_i k_i·(stride of axis i in the padded input)``. The output positions are
  laid out on an extended grid — the first spatial axis as the output's, the others as the
  padded input's — so that one slice holds every position: long contiguous runs for the
  copies and the slice-adds. The positions past the output's edge (on axes after the first)
  are computed and cropped (conv), or multiplied by zeros (the gradients).
* **strided** (any stride): the columns filled tap by tap, each tap's one strided slice of
  the input copied (the positions whose window reaches into the padding stay zero).

Batches go through in chunks of images whose columns take about ``_CHUNK_BYTES``, so that
the columns stay in cache between the copy that makes them and the GEMM that reads them.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

Ints = tuple[int, ...]
Pairs = tuple[tuple[int, int], ...]

_EVERY = (slice(None), slice(None))

# Columns per chunk: small enough to stay in cache between im2col and the GEMM (or the GEMM
# and col2im), large enough for an efficient GEMM.
_CHUNK_BYTES = 1 << 21


def conv_output_size(size: Ints, kernel: Ints, stride: Ints, padding: Pairs,
                     dilation: Ints) -> Ints:
    """The output's spatial shape: ⌊(S + before + after − d(K − 1) − 1)/s⌋ + 1 per axis."""
    return tuple((n + lo + hi - d * (k - 1) - 1) // s + 1
                 for n, k, s, (lo, hi), d in zip(size, kernel, stride, padding, dilation))


def _chunks(n: int, bytes_per_image: int) -> list[slice]:
    step = max(1, _CHUNK_BYTES // max(bytes_per_image, 1))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


class Geometry(NamedTuple):
    """Where each kernel tap reads, for one input size and set of parameters."""

    size: Ints          # the output's spatial shape
    flat: bool          # every stride is 1: the flat layout
    padded: Ints        # the padded input's spatial shape
    grid: Ints          # the flat layout's extended grid of output positions
    length: int         # its size, Π grid (the GEMM's columns per image)
    row: int            # a flat padded row: Π padded, and room for the last tap's slice
    offsets: Ints       # each tap's start in a flat padded row
    inner: tuple[slice, ...]  # the input inside the padded input
    # the strided layout's im2col and col2im: per tap, (its columns' index, the input slice
    # they are copied from / added to)
    windows: tuple[tuple[tuple[Any, ...], tuple[slice, ...]], ...]


@lru_cache(maxsize=256)
def geometry(input_size: Ints, kernel: Ints, stride: Ints, padding: Pairs,
             dilation: Ints) -> Geometry:
    """The :class:`Geometry` of a convolution (cached: a network asks for the same few)."""
    size = conv_output_size(input_size, kernel, stride, padding, dilation)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(input_size, padding))
    steps = [math.prod(padded[i + 1:]) for i in range(len(padded))]  # flat row strides
    grid = size[:1] + padded[1:]
    offsets = tuple(sum(d * k * st for k, d, st in zip(tap, dilation, steps))
                    for tap in np.ndindex(*kernel))
    reach = sum(d * (k - 1) * st for k, d, st in zip(kernel[1:], dilation[1:], steps[1:]))
    inner = tuple(slice(lo, lo + n) for n, (lo, _) in zip(input_size, padding))
    flat = all(s == 1 for s in stride)
    windows = () if flat else _scatter_windows(kernel, size, input_size, stride, padding,
                                               dilation)
    return Geometry(size, flat, padded, grid, math.prod(grid), math.prod(padded) + reach,
                    offsets, inner, windows)


def _scatter_windows(kernel: Ints, size: Ints, input_size: Ints, stride: Ints,
                     padding: Pairs, dilation: Ints
                     ) -> tuple[tuple[tuple[Any, ...], tuple[slice, ...]], ...]:
    """For each kernel offset k, where col2im adds its columns: the output positions p
    whose input position s·p + d·k − before falls inside the input (padding receives no
    gradient), as (source index into the columns, target slice of the input)."""
    found = []
    for offset in np.ndindex(*kernel):
        source: list[slice] = []
        target: list[slice] = []
        for k, p, n, s, (lo, _), d in zip(offset, size, input_size, stride, padding,
                                          dilation):
            first = max(0, -((d * k - lo) // s))  # ⌈(lo − d·k)/s⌉, at least 0
            last = min(p, (n - 1 + lo - d * k) // s + 1)
            start = s * first + d * k - lo
            source.append(slice(first, max(first, last)))
            target.append(slice(start, start + s * (last - first - 1) + 1, s))
            if last <= first:
                break
        else:
            found.append((offset + tuple(source), tuple(target)))
    return tuple(found)


# ---------------------------------------------------------------- scratch memory


class _Scratch(threading.local):
    """Per-thread buffers for the kernels' temporaries (padded inputs, columns, products),
    reused from call to call: fresh memory costs a page fault per 4 KiB the first time it
    is touched — on the MNIST-1D CNN's small layers more than the copies themselves."""

    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}


_SCRATCH = _Scratch()
# A temporary larger than this gets memory of its own (freed after the call), so a one-off
# huge convolution does not keep its memory for the rest of the process.
_SCRATCH_LIMIT = 1 << 25


def scratch(name: str, shape: Ints, dtype: Any) -> np.ndarray:
    """A C-contiguous array of ``shape`` and ``dtype`` in this thread's buffer ``name``;
    its contents are whatever was left there. Never return it (or a view of it) to a
    caller."""
    dtype = np.dtype(dtype)
    size = math.prod(shape) * dtype.itemsize
    if size > _SCRATCH_LIMIT:
        return np.empty(shape, dtype)
    buffers = _SCRATCH.buffers
    buffer = buffers.get(name)
    if buffer is None or buffer.size < size:
        buffer = buffers[name] = np.empty(size, np.uint8)
    return buffer[:size].view(dtype).reshape(shape)


def _zeros(name: str, shape: Ints, dtype: Any) -> np.ndarray:
    out = scratch(name, shape, dtype)
    out.fill(0)
    return out


# ---------------------------------------------------------------- im2col


def _flat_rows(x: np.ndarray, geo: Geometry) -> np.ndarray:
    """Each image's zero-padded channels as flat rows (n, C, row)."""
    rows = _zeros("padded", x.shape[:2] + (geo.row,), x.dtype)
    padded = rows[..., :math.prod(geo.padded)].reshape(x.shape[:2] + geo.padded)
    padded[_EVERY + geo.inner] = x
    return rows


def columns(x: np.ndarray, kernel: Ints, dilation: Ints, groups: int, geo: Geometry,
            batch_last: bool = False) -> np.ndarray:
    """im2col of x: (n, G, C/G·T, P) with P the positions of the layout (``geo.length`` in
    the flat one, the output's in the strided one), in the scratch buffer ``"columns"``;
    ``batch_last``: (G, C/G·T, n·P) instead, every image's columns side by side."""
    n, channels = x.shape[:2]
    rows = channels // groups * math.prod(kernel)
    nd = len(kernel)
    # (n, C, *K, *P) → (C, *K, n, *P): the images side by side
    order = (1, *range(2, 2 + nd), 0, *range(2 + nd, 2 + 2 * nd)) if batch_last else None
    if geo.flat:
        flat = _flat_rows(x, geo)
        item = flat.strides[2]
        steps = [math.prod(geo.padded[i + 1:]) * item for i in range(nd)]
        windows = as_strided(flat, flat.shape[:2] + kernel + (geo.length,),
                             flat.strides[:2] + tuple(d * st for d, st in zip(dilation, steps))
                             + (item,), writeable=False)
        if order is not None:
            windows = windows.transpose(order)
        cols = scratch("columns", windows.shape, x.dtype)
        np.copyto(cols, windows)  # the one copy
    else:
        # tap by tap, each a strided slice of x itself (no padded copy); the positions
        # whose window reaches into the padding keep the zeros
        shape = (n, channels) + kernel + geo.size
        cols = scratch("columns", shape if order is None else tuple(shape[a] for a in order),
                       x.dtype)
        cols.fill(0)
        taps = cols if order is None else cols.transpose(np.argsort(order))
        for source, window in geo.windows:
            taps[_EVERY + source] = x[_EVERY + window]
    return cols.reshape(groups, rows, -1) if batch_last else cols.reshape(n, groups, rows, -1)


def _on_grid(g: np.ndarray, groups: int, geo: Geometry) -> np.ndarray:
    """The output gradient (n, O, *size) on the layout's positions, (n, G, O/G, P): itself
    when the grid is the output's, else zeros past the output's edge."""
    n, out = g.shape[:2]
    if not geo.flat or geo.grid == geo.size:
        return np.ascontiguousarray(g).reshape(n, groups, out // groups, -1)
    ext = _zeros("grid", (n, out) + geo.grid, g.dtype)
    ext[_EVERY + tuple(slice(0, p) for p in geo.size)] = g
    return ext.reshape(n, groups, out // groups, geo.length)


def _kernels(w_shape: Ints, groups: int) -> tuple[int, int, int]:
    """The kernel as a batch of matrices: (groups, out_channels/groups, C/G·T)."""
    return groups, w_shape[0] // groups, w_shape[1] * math.prod(w_shape[2:])


# ---------------------------------------------------------------- the three products


def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, stride: Ints,
         padding: Pairs, dilation: Ints, groups: int) -> np.ndarray:
    """im2col and one GEMM per chunk of images: out[n, g] = W_g @ cols[n, g], plus the bias
    ``b`` (one per output channel, added to each chunk while it is in cache)."""
    if b is not None and np.result_type(x, w, b) != np.result_type(x, w):
        return conv(x, w, stride=stride, padding=padding, dilation=dilation,
                    groups=groups) + b.reshape((-1,) + (1,) * (x.ndim - 2))
    kernel = w.shape[2:]
    geo = geometry(x.shape[2:], kernel, stride, padding, dilation)
    shape = _kernels(w.shape, groups)
    kernels = w.reshape(shape)
    n, channels = x.shape[0], w.shape[0]
    out = np.empty((n, channels, *geo.size), dtype=np.result_type(x, w))
    rows = out.reshape(n, groups, shape[1], -1)
    crop = _EVERY + tuple(slice(0, p) for p in geo.size)
    bias = None if b is None else b.reshape((channels,) + (1,) * len(kernel))
    per_image = shape[2] * groups * geo.length * x.itemsize
    for chunk in _chunks(n, per_image):
        cols = columns(x[chunk], kernel, dilation, groups, geo)
        if not geo.flat or geo.grid == geo.size:  # the GEMM writes the output itself
            np.matmul(kernels, cols, out=rows[chunk])
            if bias is not None:
                out[chunk] += bias
            continue
        # the flat layout's positions past the output's edge cropped off
        product = np.matmul(kernels, cols, out=scratch(
            "product", cols.shape[:2] + (shape[1], geo.length), out.dtype))
        result = product.reshape((-1, channels) + geo.grid)[crop]
        if bias is None:
            out[chunk] = result
        else:
            np.add(result, bias, out=out[chunk])  # the bias added in the same pass
    return out


def weight_grad(x: np.ndarray, g: np.ndarray, weight_shape: Ints, stride: Ints,
                padding: Pairs, dilation: Ints, groups: int) -> np.ndarray:
    """im2col and a GEMM per chunk of images, summed over the batch:
    ∂w_gᵀ = Σ_n cols[n, g] (C/G·T, P) @ g[n, g]ᵀ (P, O/G)."""
    kernel = weight_shape[2:]
    geo = geometry(x.shape[2:], kernel, stride, padding, dilation)
    shape = _kernels(weight_shape, groups)
    total = np.zeros((groups, shape[2], shape[1]), dtype=np.result_type(x, g))
    for chunk in _chunks(x.shape[0], shape[2] * groups * geo.length * x.itemsize):
        if geo.flat:  # per image (C/G·T, P) @ (P, O/G), then summed: P is long here
            cols = columns(x[chunk], kernel, dilation, groups, geo)
            grads = _on_grid(g[chunk], groups, geo)
            product = np.matmul(cols, grads.swapaxes(-1, -2), out=scratch(
                "product", cols.shape[:2] + (shape[2], shape[1]), total.dtype))
            total += np.add.reduce(product, axis=0)
            continue
        # strided, often few positions per image: the images side by side, one GEMM of
        # inner size n·P, rather than n small products and their sum
        cols = columns(x[chunk], kernel, dilation, groups, geo, True)
        part = g[chunk]
        grads = scratch("grid", (part.shape[1], part.shape[0]) + part.shape[2:], part.dtype)
        np.copyto(grads, part.swapaxes(0, 1))
        total += np.matmul(cols, grads.reshape(groups, shape[1], -1).swapaxes(-1, -2))
    return np.ascontiguousarray(total.swapaxes(-1, -2)).reshape(weight_shape)


def input_grad(g: np.ndarray, w: np.ndarray, input_shape: Ints, stride: Ints,
               padding: Pairs, dilation: Ints, groups: int) -> np.ndarray:
    """A GEMM then col2im per chunk of images: cols[n, g] = W_gᵀ @ g[n, g], each column
    added back at the window it came from — a loop over the kernel's taps, one slice-add
    each."""
    n, channels = input_shape[:2]
    kernel = w.shape[2:]
    taps = math.prod(kernel)
    geo = geometry(input_shape[2:], kernel, stride, padding, dilation)
    kernels_t = w.reshape(_kernels(w.shape, groups)).swapaxes(-1, -2)
    dtype = np.result_type(g, w)
    gx = np.empty(input_shape, dtype=dtype) if geo.flat else np.zeros(input_shape, dtype)
    for chunk in _chunks(n, channels * taps * geo.length * gx.itemsize):
        grads = _on_grid(g[chunk], groups, geo)
        cols = np.matmul(kernels_t, grads, out=scratch(
            "columns", grads.shape[:2] + (kernels_t.shape[1], grads.shape[3]), dtype))
        if geo.flat:
            cols = cols.reshape(-1, channels, taps, geo.length)
            rows = _zeros("padded", cols.shape[:2] + (geo.row,), dtype)
            for t, start in enumerate(geo.offsets):
                rows[..., start:start + geo.length] += cols[:, :, t]
            padded = rows[..., :math.prod(geo.padded)].reshape(rows.shape[:2] + geo.padded)
            gx[chunk] = padded[_EVERY + geo.inner]
        else:
            cols = cols.reshape((-1, channels) + kernel + geo.size)
            target = gx[chunk]
            for source, window in geo.windows:
                target[_EVERY + window] += cols[_EVERY + source]
    return gx
