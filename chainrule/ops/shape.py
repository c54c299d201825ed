r"""Shape primitives: they move, copy or pick elements without changing their values, so
each is linear and its vector-Jacobian product is its adjoint (reshape ↔ reshape back,
transpose ↔ inverse transpose, getitem ↔ scatter-add, concatenate ↔ slices, cast ↔ cast
back). ``broadcast_to`` and ``sum_to`` are in :mod:`chainrule.ops.broadcasting`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule._convert import as_dtype, index_parts, shape_args
from chainrule.autodiff import Primitive, Traced, batching_hook
from chainrule.errors import shape_str
from chainrule.ops._axes import normalize_one_axis, shape_of
from chainrule.ops._batching import elementwise, materialize
from chainrule.ops._samples import Draw
from chainrule.ops._table import Exposure, primitive, sample

_draw = Draw("shape")

# ---------------------------------------------------------------- reshape / transpose


def _check_reshape(x: Any, shape: tuple[int, ...]) -> None:
    # math.prod on Python ints: np.prod's wrapper costs more than the check itself
    size = math.prod(np.shape(x))
    unknown = [n for n in shape if n == -1]
    known = math.prod(n for n in shape if n != -1)
    bad = any(n < -1 for n in shape) or len(unknown) > 1
    if not bad:
        bad = size != known if not unknown else (known == 0 or size % known != 0)
    if bad:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {shape_str(np.shape(x))} "
            f"({size} elements) into shape {tuple(shape)}"
        )


def _reshape_batch(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
                   ) -> tuple[Any, Any]:
    """reshape on the batch: to (B, *shape) (a −1 still stands for the rest of one example)."""
    (x,) = values
    return reshape(x, shape=(shape_of(x)[0],) + tuple(params["shape"])), 0


def _reshape_form(x: Any, *shape: Any) -> Any:
    """The same elements in a new shape: ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``."""
    return reshape(x, shape=shape_args("reshape", shape))


def _reshape_sample(x: Any, shape: tuple[int, ...]) -> Any:
    return x.reshape(*shape)


reshape: Primitive = primitive(
    "reshape",
    lambda x, shape: np.reshape(x, shape),
    [lambda g, out, x, shape: reshape(g, shape=shape_of(x))],
    formula="∂/∂x reshape(x) = the gradient reshaped back to x's shape",
    batch=_reshape_batch,
    check=_check_reshape,
    samples=[
        sample("(2,3,4)->(6,-1)", _reshape_sample, [_draw.normal(2, 3, 4)], shape=(6, -1)),
        sample("(2,3)->(-1,)", _reshape_sample, [_draw.normal(2, 3)], shape=(-1,)),
        sample("0-d->(1,1)", _reshape_sample, [_draw.normal()], shape=(1, 1)),
        sample("(1,)->()", _reshape_sample, [_draw.normal(1)], shape=()),
    ],
    expose=Exposure(form=_reshape_form, method="reshape", function="reshape",
                    numpy=(np.reshape,)),
)


def _check_transpose(x: Any, axes: tuple[int, ...] | None) -> None:
    ndim = np.ndim(x)
    if axes is not None and sorted(axes) != list(range(ndim)):
        raise ValueError(
            f"transpose: axes {tuple(axes)} are not a permutation of the {ndim} axes "
            f"of a tensor of shape {shape_str(np.shape(x))}"
        )


def _transpose_vjp(g: Any, out: Any, x: Any, axes: tuple[int, ...] | None) -> Any:
    if axes is None:
        return transpose(g, axes=None)
    return transpose(g, axes=tuple(int(i) for i in np.argsort(axes)))


def _transpose_batch(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
                     ) -> tuple[Any, Any]:
    """transpose on the batch: the batch axis stays first, the example's axes permuted."""
    (x,) = values
    ndim = len(shape_of(x)) - 1
    axes = params["axes"]
    order = tuple(range(ndim - 1, -1, -1)) if axes is None or (not axes and ndim) else axes
    return transpose(x, axes=(0,) + tuple(a + 1 for a in order)), 0


def _transpose_form(x: Any, *axes: Any) -> Any:
    """Permute the axes like NumPy (negative axes count from the end); with no arguments,
    reverse them."""
    if not axes or (len(axes) == 1 and axes[0] is None):
        return transpose(x, axes=None)
    ndim = len(shape_of(x))
    given = shape_args("transpose", axes)
    if any(not -ndim <= a < ndim for a in given):
        raise ValueError(f"transpose: axes {given} are out of range for a tensor with ndim "
                         f"{ndim} (valid: {-ndim} to {ndim - 1})")
    return transpose(x, axes=tuple(a % ndim for a in given) if ndim else given)


def _transpose_sample(x: Any, axes: tuple[int, ...]) -> Any:
    return x.transpose(*axes)


transpose: Primitive = primitive(
    "transpose",
    lambda x, axes: np.transpose(x, axes),
    [_transpose_vjp],
    formula="∂/∂x transpose(x) = the gradient transposed back (inverse permutation)",
    batch=_transpose_batch,
    check=_check_transpose,
    samples=[
        sample("reverse_3d", _transpose_sample, [_draw.normal(2, 3, 4)], axes=()),
        sample("(1,0,2)", _transpose_sample, [_draw.normal(2, 3, 4)], axes=(1, 0, 2)),
        sample("(2,0,1)", _transpose_sample, [_draw.normal(2, 3, 4)], axes=(2, 0, 1)),
        sample("0-d", _transpose_sample, [_draw.normal()], axes=()),
    ],
    expose=Exposure(form=_transpose_form, method="transpose", function="transpose",
                    numpy=(np.transpose,)),
)

# ---------------------------------------------------------------- indexing


def _has_advanced(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


def _getitem(x: Any, index: Any) -> Any:
    # NumPy's own indexing is the check: its error, in our words (no trial indexing of a
    # scratch array of x's shape first: a training loop indexes its data set every step)
    try:
        return x[index]
    except (IndexError, TypeError, ValueError) as exc:
        raise IndexError(f"getitem: {exc} (tensor of shape {shape_str(np.shape(x))})") from None


def _scatter_add(g: Any, shape: tuple[int, ...], index: Any, dtype: Any) -> np.ndarray:
    out = np.zeros(shape, dtype=dtype)
    if _has_advanced(index):
        np.add.at(out, index, g)  # repeated integer indices accumulate
    else:
        out[index] = g  # basic indexing never selects an element twice
    return out


def _batched_index(index: Any) -> tuple[tuple[Any, ...], int]:
    """The physical index of a batch (a full slice over the batch axis first) and where the
    batch axis lands in the result: first, unless NumPy moves the advanced-index axes to
    the front (advanced indices, integers among them, separated by a slice)."""
    parts = index if isinstance(index, tuple) else (index,)
    physical = (slice(None),) + parts
    arrays = [i for i, p in enumerate(parts) if isinstance(p, (np.ndarray, list))]
    if not arrays:
        return physical, 0
    advanced = [i for i, p in enumerate(parts)
                if isinstance(p, (np.ndarray, list)) or isinstance(p, (int, np.integer))]
    if advanced[-1] - advanced[0] + 1 == len(advanced):
        return physical, 0  # adjacent: their axes stay in place, after the batch axis
    shapes = [np.shape(parts[i]) if not (isinstance(parts[i], np.ndarray)
                                          and parts[i].dtype == np.bool_)
              else (int(np.count_nonzero(parts[i])),) for i in advanced]
    return physical, len(np.broadcast_shapes(*shapes))


def _getitem_batch(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
                   ) -> tuple[Any, Any]:
    """x[index] on the batch: ``x[:, index]``; the batch axis follows NumPy's placement of
    advanced-index axes (first, or after them when they are separated)."""
    (x,) = values
    physical, bdim = _batched_index(params["index"])
    return getitem(x, index=physical), bdim


def _getitem_form(x: Any, index: Any) -> Any:
    """``x[index]``: NumPy's basic and advanced indexing (integer arrays, boolean masks)."""
    hook = batching_hook()
    if hook is not None and any(isinstance(p, Traced) for p in
                                (index if isinstance(index, tuple) else (index,))):
        out = hook.getitem(x, index)  # under vmap, an index that may be batched
        if out is not NotImplemented:
            return out
    return getitem(x, index=index_parts(index))


def _getitem_sample(x: Any, index: Any) -> Any:
    return x[index]


getitem: Primitive = primitive(
    "getitem",
    _getitem,
    [lambda g, out, x, index: scatter_add(g, shape=shape_of(x), index=index, dtype=x.dtype)],
    formula="∂/∂x x[i] = the gradient scattered into zeros of x's shape (summed where i repeats)",
    batch=_getitem_batch,
    samples=[
        sample("int", _getitem_sample, [_draw.normal(3, 4)], index=1),
        sample("negative_int", _getitem_sample, [_draw.normal(3, 4)], index=-1),
        sample("slices", _getitem_sample, [_draw.normal(3, 4)],
               index=(slice(1, None), slice(None, None, 2))),
        sample("ellipsis", _getitem_sample, [_draw.normal(2, 3, 4)], index=(Ellipsis, 0)),
        sample("newaxis", _getitem_sample, [_draw.normal(3)], index=(None, slice(None))),
        sample("0-d_empty_tuple", _getitem_sample, [_draw.normal()], index=()),
        sample("repeated_int_array", _getitem_sample, [_draw.normal(3, 2)],
               index=np.array([0, 2, 0, 0])),
        sample("list_index", _getitem_sample, [_draw.normal(4)], index=[3, 1, 3]),
        sample("int_array_pairs", _getitem_sample, [_draw.normal(3, 4)],
               index=(np.array([0, 2, 0]), np.array([1, 3, 1]))),
        sample("slice_and_array", _getitem_sample, [_draw.normal(3, 4)],
               index=(slice(None), np.array([1, 1, 0]))),
        sample("bool_mask", _getitem_sample, [_draw.normal(3, 4)], index=_draw.mask(3, 4)),
        sample("bool_rows", _getitem_sample, [_draw.normal(3, 2)],
               index=np.array([True, False, True])),
    ],
    expose=Exposure(form=_getitem_form, operators=("__getitem__",)),
)


def _scatter_add_batch(prim: Any, values: list[Any], bdims: list[Any],
                       params: dict[str, Any]) -> tuple[Any, Any]:
    """scatter_add on the batch: into zeros of (B, *shape) at ``[:, index]``, the batch
    axis of g first moved to where that index puts it (see :func:`_batched_index`)."""
    (g,) = values
    physical, bdim = _batched_index(params["index"])
    if bdim:
        ndim = len(shape_of(g))
        order = tuple(range(1, bdim + 1)) + (0,) + tuple(range(bdim + 1, ndim))
        g = transpose(g, axes=order)
    return scatter_add(g, shape=(shape_of(values[0])[0],) + tuple(params["shape"]),
                       index=physical, dtype=params["dtype"]), 0


def _scatter_sample(g: Any, shape: Any, index: Any, dtype: Any) -> Any:
    return scatter_add(g, shape=shape, index=index, dtype=dtype)


_F64 = np.dtype(np.float64)

scatter_add: Primitive = primitive(
    "scatter_add",
    _scatter_add,
    [lambda g, out, y, shape, index, dtype: getitem(g, index=index)],
    formula="∂/∂g scatter(g) = the gradient gathered at the same index",
    batch=_scatter_add_batch,
    samples=[
        sample("repeated_int_array", _scatter_sample, [_draw.normal(4, 2)],
               shape=(3, 2), index=np.array([0, 2, 0, 0]), dtype=_F64),
        sample("slices", _scatter_sample, [_draw.normal(2, 2)],
               shape=(3, 4), index=(slice(1, None), slice(None, None, 2)), dtype=_F64),
        sample("bool_mask", _scatter_sample, [_draw.normal(5)], shape=(2, 4),
               index=np.array([[True, False, True, True], [False, True, True, False]]),
               dtype=_F64),
    ],
    expose=Exposure(internal="the gradient of indexing"),
)

# ---------------------------------------------------------------- concatenate / cast


def _check_concatenate(*arrays: Any, axis: int) -> None:
    first = np.shape(arrays[0])
    for other in arrays[1:]:
        shape = np.shape(other)
        same_rank = len(shape) == len(first)
        if not same_rank or any(
            a != b for i, (a, b) in enumerate(zip(first, shape)) if i != axis
        ):
            raise ValueError(
                f"concatenate: shapes {shape_str(first)} and {shape_str(shape)} differ "
                f"outside axis {axis}"
            )


def _concatenate_vjp(g: Any, out: Any, inputs: Any, params: dict[str, Any], needs: Any
                     ) -> list[Any]:
    axis = params["axis"]
    grads = []
    start = 0
    for x, need in zip(inputs, needs):
        stop = start + shape_of(x)[axis]
        if need:
            index = (slice(None),) * axis + (slice(start, stop),)
            grads.append(getitem(g, index=index))
        else:
            grads.append(None)
        start = stop
    return grads


def _concatenate_batch(prim: Any, values: list[Any], bdims: list[Any],
                       params: dict[str, Any]) -> tuple[Any, Any]:
    """concatenate on the batch: the unbatched inputs broadcast along the batch (views),
    then joined along the shifted axis."""
    size = next(shape_of(v)[0] for v, b in zip(values, bdims) if b is not None)
    full = [materialize(v, b, size) for v, b in zip(values, bdims)]
    return concatenate(*full, axis=params["axis"] + 1), 0


def _concatenate_form(tensors: Sequence[Any], axis: int = 0) -> Any:
    """Join tensors along an existing axis."""
    items = list(tensors)
    if not items:
        raise ValueError("concatenate: expected at least one tensor")
    ndim = items[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated (use cr.stack)")
    for t in items[1:]:
        if t.ndim != ndim:
            raise ValueError(
                f"concatenate: all tensors need the same ndim, got shapes "
                f"{items[0].shape} and {t.shape}"
            )
    return concatenate(*items, axis=normalize_one_axis(axis, ndim, "concatenate"))


def _concatenate_sample(*xs: Any, axis: int) -> Any:
    return _concatenate_form(xs, axis=axis)


concatenate: Primitive = primitive(
    "concatenate",
    lambda *arrays, axis: np.concatenate(arrays, axis=axis),
    vjp_all=_concatenate_vjp,
    value_reads=(),  # only the inputs' shapes
    formula="∂/∂xₖ concatenate(x₁…xₙ) = the k-th slice of the gradient",
    batch=_concatenate_batch,
    check=_check_concatenate,
    samples=[
        sample("two_axis=0", _concatenate_sample, [_draw.normal(2, 3), _draw.normal(1, 3)],
               axis=0),
        sample("three_axis=-1", _concatenate_sample,
               [_draw.normal(2, 1), _draw.normal(2, 3), _draw.normal(2, 2)], axis=-1),
        sample("1-d", _concatenate_sample, [_draw.normal(3), _draw.normal(2)], axis=0),
    ],
    expose=Exposure(form=_concatenate_form, function="concatenate", operands="sequence",
                    numpy=(np.concatenate,)),
)


def _astype_form(x: Any, dtype: Any) -> Any:
    """A copy converted to ``dtype``; differentiable between floating dtypes."""
    return cast(x, dtype=as_dtype("astype", dtype))


cast: Primitive = primitive(
    "cast",
    lambda x, dtype: np.asarray(x).astype(dtype),
    [lambda g, out, x, dtype: cast(g, dtype=x.dtype)],
    formula="∂/∂x cast(x) = 1 (the gradient cast back to x's dtype)",
    batch=elementwise,
    samples=[
        sample("float64->float64", lambda x, dtype: cast(x, dtype=dtype), [_draw.normal(2, 3)],
               dtype=np.dtype(np.float64)),
        sample("astype", lambda x, dtype: x.astype(dtype), [_draw.normal(3)], dtype="float64"),
    ],
    expose=Exposure(form=_astype_form, method="astype"),
)


def _clone_sample(x: Any) -> Any:
    return x.clone()


clone: Primitive = primitive(
    "clone",
    lambda x: np.array(x, copy=True),
    [lambda g, out, x: g],
    formula="∂ clone(x)/∂x = 1 (a copy: the gradient passes unchanged)",
    batch=elementwise,
    samples=[sample("(2,3)", _clone_sample, [_draw.normal(2, 3)]),
             sample("0-d", _clone_sample, [_draw.normal()])],
    expose=Exposure(method="clone", doc="A copy with its own memory; differentiable (the "
                    "gradient passes to the original).", numpy=(np.copy,)),
)
