"""Random programs over chainrule's API, run side by side in chainrule and in PyTorch.

A :class:`Program` is a list of float64 leaves (some requiring grad, some constants) and a
list of :class:`Step`\\ s; each step applies one operation of :data:`OPS` to earlier nodes
(leaves or step results, so a node can be used several times) with fixed parameters
(axes, index arrays, masks, exponents…). The same program is interpreted by two backends,
:func:`run_chainrule` and :func:`run_torch`; the fuzz tests compare every node's value and
every leaf's gradient.

The generator (:func:`programs`, a Hypothesis strategy) evaluates each candidate step with
PyTorch as it builds the program, so it knows every node's shape and values. It uses that
to stay where the maths is smooth and both libraries must agree:

* ``log``, ``sqrt``, division and non-integer powers see ``x² + ½`` (a positive input
  built from the node, so the chain rule still flows through ``x``);
* a step whose values leave [-1e6, 1e6] is discarded (overflow is the stability sweep's
  business, not the fuzzer's);
* ``std`` where the spread is (nearly) 0 is discarded: its gradient there is rounding
  noise divided by rounding noise;
* kinks (``abs``, ``relu``, ``clip``, ``maximum``/``minimum``, ``max``/``min``) are left
  alone: exact ties happen (``maximum(a, a)``, repeated indices) and both libraries
  promise the same convention for them (``relu'(0) = 0``, ties split evenly).

``repr(program)`` prints a readable listing from which a failing case can be rebuilt as a
regression test (see ``test_regressions.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import strategies as st

import chainrule as cr
import chainrule.nn.functional as F

BOUND = 1e6  # values beyond this are discarded during generation
MAX_NDIM = 4
MAX_DIM = 4


def examples(default: int) -> int:
    """The number of Hypothesis examples: ``default`` in ``make test``, more under
    ``make fuzz`` (``FUZZ_EXAMPLES=5000``), scaled so each test keeps its share."""
    total = os.environ.get("FUZZ_EXAMPLES")
    if not total:
        return default
    return max(default, int(int(total) * default / 300))


# ---------------------------------------------------------------- programs
@dataclass
class Step:
    op: str
    args: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Program:
    leaves: list[np.ndarray]
    requires_grad: list[bool]
    steps: list[Step]  # leaves enter as Step("leaf", (), {"leaf": i}): node j is steps[j]
    weight: np.ndarray  # the loss is sum(out * weight); out is the last node

    def leaf_nodes(self) -> list[int]:
        """The node number of each leaf (leaves are created between steps)."""
        return [j for j, step in enumerate(self.steps) if step.op == "leaf"]

    def __repr__(self) -> str:
        lines = ["Program("]
        for j, step in enumerate(self.steps):
            if step.op == "leaf":
                i = step.params["leaf"]
                lines.append(f"  v{j} = leaf{self.leaves[i].shape} "
                             f"requires_grad={self.requires_grad[i]}")
                continue
            args = ", ".join(f"v{a}" for a in step.args)
            params = ", ".join(f"{k}={_short(v)}" for k, v in step.params.items())
            lines.append(f"  v{j} = {step.op}({args}{', ' if params else ''}{params})")
        lines.append(f"  loss = sum(v{len(self.steps) - 1} * weight{self.weight.shape}))")
        return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array({value.tolist()})" if value.size <= 12 else f"array{value.shape}"
    return repr(value)


# ---------------------------------------------------------------- the two backends
def _cr_index(x: Any, p: dict[str, Any]) -> Any:
    return x[p["index"]]


def _torch_index(x: torch.Tensor, p: dict[str, Any]) -> torch.Tensor:
    index = p["index"]
    if isinstance(index, tuple):
        index = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index)
    elif isinstance(index, np.ndarray):
        index = torch.from_numpy(index)
    return x[index]


def _pos_cr(x: Any) -> Any:
    return x * x + 0.5


def _dims(p: dict[str, Any], ndim: int) -> Any:
    axis = p["axis"]
    return tuple(range(ndim)) if axis is None else axis


def _t_reduce(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def run(x: torch.Tensor, p: dict[str, Any]) -> torch.Tensor:
        if x.ndim == 0:  # every reduction of a 0-d tensor is the tensor (or its spread: 0)
            return fn(x.reshape(1), dim=0, keepdim=False)
        return fn(x, dim=_dims(p, x.ndim), keepdim=p["keepdims"])
    return run


def _t_var(x: torch.Tensor, dim: Any, keepdim: bool) -> torch.Tensor:
    return torch.var(x, dim=dim, correction=0, keepdim=keepdim)


def _t_std(x: torch.Tensor, dim: Any, keepdim: bool) -> torch.Tensor:
    return torch.std(x, dim=dim, correction=0, keepdim=keepdim)


# name -> (chainrule, torch); each takes (*args, params)
OPS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    # elementwise unary
    "neg": (lambda x, p: -x, lambda x, p: -x),
    "abs": (lambda x, p: x.abs(), lambda x, p: x.abs()),
    "exp": (lambda x, p: x.exp(), lambda x, p: x.exp()),
    "log_pos": (lambda x, p: _pos_cr(x).log(), lambda x, p: _pos_cr(x).log()),
    "sqrt_pos": (lambda x, p: cr.sqrt(_pos_cr(x)), lambda x, p: _pos_cr(x).sqrt()),
    "sin": (lambda x, p: cr.sin(x), lambda x, p: x.sin()),
    "cos": (lambda x, p: x.cos(), lambda x, p: x.cos()),
    "tanh": (lambda x, p: x.tanh(), lambda x, p: x.tanh()),
    "sigmoid": (lambda x, p: x.sigmoid(), lambda x, p: x.sigmoid()),
    "relu": (lambda x, p: x.relu(), lambda x, p: x.relu()),
    "leaky_relu": (lambda x, p: F.leaky_relu(x, 0.1), lambda x, p: TF.leaky_relu(x, 0.1)),
    "softplus": (lambda x, p: F.softplus(x), lambda x, p: TF.softplus(x)),
    "gelu": (lambda x, p: F.gelu(x), lambda x, p: TF.gelu(x)),
    "gelu_tanh": (lambda x, p: F.gelu(x, approximate="tanh"),
                  lambda x, p: TF.gelu(x, approximate="tanh")),
    "square": (lambda x, p: x * x, lambda x, p: x * x),
    "pow_int": (lambda x, p: x ** p["exponent"], lambda x, p: x ** p["exponent"]),
    "pow_pos": (lambda x, p: _pos_cr(x) ** p["exponent"],
                lambda x, p: _pos_cr(x) ** p["exponent"]),
    "rpow": (lambda x, p: p["base"] ** x, lambda x, p: p["base"] ** x),
    "scalar_add": (lambda x, p: p["c"] + x, lambda x, p: p["c"] + x),
    "scalar_rsub": (lambda x, p: p["c"] - x, lambda x, p: p["c"] - x),
    "scalar_mul": (lambda x, p: x * p["c"], lambda x, p: x * p["c"]),
    "scalar_rdiv": (lambda x, p: p["c"] / _pos_cr(x), lambda x, p: p["c"] / _pos_cr(x)),
    "clip": (lambda x, p: x.clip(p["lo"], p["hi"]),
             lambda x, p: torch.clamp(x, p["lo"], p["hi"])),
    # elementwise binary (broadcasting)
    "add": (lambda x, y, p: x + y, lambda x, y, p: x + y),
    "sub": (lambda x, y, p: cr.sub(x, y), lambda x, y, p: x - y),
    "mul": (lambda x, y, p: x * y, lambda x, y, p: x * y),
    "div_pos": (lambda x, y, p: x / _pos_cr(y), lambda x, y, p: x / _pos_cr(y)),
    "pow_pos_tensor": (lambda x, y, p: cr.pow(_pos_cr(x), y.tanh()),
                       lambda x, y, p: _pos_cr(x) ** y.tanh()),
    "maximum": (lambda x, y, p: cr.maximum(x, y), lambda x, y, p: torch.maximum(x, y)),
    "minimum": (lambda x, y, p: x.minimum(y), lambda x, y, p: torch.minimum(x, y)),
    "where": (lambda x, y, p: cr.where(p["cond"], x, y),
              lambda x, y, p: torch.where(torch.from_numpy(p["cond"]), x, y)),
    "where_cmp": (lambda x, y, p: cr.where(x > y, x, y * 2.0),
                  lambda x, y, p: torch.where(x > y, x, y * 2.0)),
    "matmul": (lambda x, y, p: x @ y, lambda x, y, p: x @ y),
    # reductions
    "sum": (lambda x, p: x.sum(axis=p["axis"], keepdims=p["keepdims"]),
            _t_reduce(torch.sum)),
    "mean": (lambda x, p: x.mean(axis=p["axis"], keepdims=p["keepdims"]),
             _t_reduce(torch.mean)),
    "var": (lambda x, p: x.var(axis=p["axis"], keepdims=p["keepdims"]), _t_reduce(_t_var)),
    "std": (lambda x, p: x.std(axis=p["axis"], keepdims=p["keepdims"]), _t_reduce(_t_std)),
    "max": (lambda x, p: x.max(axis=p["axis"], keepdims=p["keepdims"]),
            _t_reduce(torch.amax)),
    "min": (lambda x, p: cr.min(x, axis=p["axis"], keepdims=p["keepdims"]),
            _t_reduce(torch.amin)),
    "logsumexp": (lambda x, p: x.logsumexp(axis=p["axis"], keepdims=p["keepdims"]),
                  _t_reduce(torch.logsumexp)),
    "softmax": (lambda x, p: x.softmax(axis=p["axis"]),
                lambda x, p: torch.softmax(x, dim=p["axis"])),
    "log_softmax": (lambda x, p: F.log_softmax(x, axis=p["axis"]),
                    lambda x, p: torch.log_softmax(x, dim=p["axis"])),
    # shapes
    "reshape": (lambda x, p: x.reshape(*p["shape"]), lambda x, p: x.reshape(p["shape"])),
    "transpose": (lambda x, p: x.transpose(*p["axes"]), lambda x, p: x.permute(p["axes"])),
    "T": (lambda x, p: x.T, lambda x, p: x.permute(tuple(reversed(range(x.ndim))))),
    "swapaxes": (lambda x, p: x.swapaxes(p["a"], p["b"]),
                 lambda x, p: x.swapaxes(p["a"], p["b"])),
    "squeeze": (lambda x, p: x.squeeze(p["axis"]),
                lambda x, p: x.squeeze() if p["axis"] is None else x.squeeze(p["axis"])),
    "unsqueeze": (lambda x, p: x.unsqueeze(p["axis"]), lambda x, p: x.unsqueeze(p["axis"])),
    "expand": (lambda x, p: x.expand(*p["shape"]), lambda x, p: x.expand(p["shape"])),
    "index": (_cr_index, _torch_index),
    # joins (variadic: the args are the tensors)
    "concatenate": (lambda *a: cr.concatenate(list(a[:-1]), axis=a[-1]["axis"]),
                    lambda *a: torch.cat(list(a[:-1]), dim=a[-1]["axis"])),
    "stack": (lambda *a: cr.stack(list(a[:-1]), axis=a[-1]["axis"]),
              lambda *a: torch.stack(list(a[:-1]), dim=a[-1]["axis"])),
}


def run_chainrule(program: Program, leaves: list[Any] | None = None) -> list[Any]:
    """Every node of ``program`` as chainrule Tensors (leaves first)."""
    if leaves is None:
        leaves = [cr.tensor(a, requires_grad=rg)
                  for a, rg in zip(program.leaves, program.requires_grad)]
    return _run(program, leaves, 0)


def run_torch(program: Program, leaves: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """Every node of ``program`` as float64 torch tensors (leaves first)."""
    if leaves is None:
        leaves = [torch.tensor(a, requires_grad=rg)
                  for a, rg in zip(program.leaves, program.requires_grad)]
    return _run(program, leaves, 1)


def _run(program: Program, leaves: list[Any], backend: int) -> list[Any]:
    nodes: list[Any] = []
    for step in program.steps:
        if step.op == "leaf":
            nodes.append(leaves[step.params["leaf"]])
        else:
            fn = OPS[step.op][backend]
            nodes.append(fn(*[nodes[a] for a in step.args], step.params))
    return nodes


# ---------------------------------------------------------------- the generator
UNARY = ["neg", "abs", "exp", "log_pos", "sqrt_pos", "sin", "cos", "tanh", "sigmoid", "relu",
         "leaky_relu", "softplus", "gelu", "gelu_tanh", "square", "pow_int", "pow_pos", "rpow",
         "scalar_add", "scalar_rsub", "scalar_mul", "scalar_rdiv", "clip"]
BINARY = ["add", "sub", "mul", "div_pos", "pow_pos_tensor", "maximum", "minimum", "where",
          "where_cmp"]
REDUCE = ["sum", "mean", "var", "std", "max", "min", "logsumexp"]
SHAPE = ["reshape", "transpose", "T", "swapaxes", "squeeze", "unsqueeze", "expand"]
OTHER = ["matmul", "softmax", "log_softmax", "index", "concatenate", "stack"]
FAMILIES = [UNARY, BINARY, REDUCE, SHAPE, OTHER]


class _Builder:
    """Grows a program step by step, tracking each node's value (torch, no grad)."""

    def __init__(self, seed: int) -> None:
        # One seed drives every choice: uniform coverage of the ops (Hypothesis's own
        # draws favour the first entry of every list); ``repr(program)`` shows the result.
        self.random = np.random.default_rng(seed)
        self.leaves: list[np.ndarray] = []
        self.requires_grad: list[bool] = []
        self.steps: list[Step] = []
        self.values: list[torch.Tensor] = []

    # ---- helpers
    def integer(self, lo: int, hi: int) -> int:
        return int(self.random.integers(lo, hi + 1))

    def choice(self, options: list[Any]) -> Any:
        return options[self.integer(0, len(options) - 1)]

    def coin(self) -> bool:
        return bool(self.random.random() < 0.5)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.integer(0, 2**32 - 1))

    def shape(self, min_ndim: int = 0) -> tuple[int, ...]:
        ndim = self.integer(min_ndim, 3)
        return tuple(self.integer(1, MAX_DIM) for _ in range(ndim))

    def leaf(self, shape: tuple[int, ...]) -> int:
        scale = self.choice([1.0, 0.5, 3.0])
        array = self.rng().standard_normal(shape) * scale
        self.leaves.append(np.asarray(array, dtype=np.float64))
        self.requires_grad.append(self.coin() or not self.requires_grad)
        self.values.append(torch.tensor(self.leaves[-1]))
        self.steps.append(Step("leaf", (), {"leaf": len(self.leaves) - 1}))
        return len(self.values) - 1

    def pick(self) -> int:
        # Prefer recent nodes (depth), but any earlier node may be reused.
        n = len(self.values)
        return n - 1 if self.coin() else self.integer(0, n - 1)

    def partner(self, shape: tuple[int, ...]) -> int:
        """A node whose shape broadcasts with ``shape``: an existing one or a new leaf."""
        fits = [i for i, v in enumerate(self.values)
                if _broadcasts(tuple(v.shape), shape)]
        if fits and self.coin():
            return self.choice(fits)
        # a new leaf: drop some leading axes and turn some axes into 1
        keep = self.integer(0, len(shape))
        new = tuple(d if self.coin() else 1 for d in shape[len(shape) - keep:])
        if len(new) < len(shape) and self.coin():
            new = (1,) + new  # a leading 1 broadcasts too
        return self.leaf(new)

    def axis_param(self, ndim: int) -> Any:
        """None, one axis or a tuple of distinct axes, each possibly negative."""
        if ndim == 0:
            return None
        kind = self.choice(["none", "int", "tuple"])
        if kind == "none":
            return None
        count = self.integer(1, ndim)
        axes = [int(a) for a in self.random.choice(ndim, size=count, replace=False)]
        axes = [a - ndim if self.coin() else a for a in axes]
        return axes[0] if kind == "int" else tuple(axes)

    # ---- one step
    def try_step(self) -> bool:
        family = self.choice(FAMILIES)
        op = self.choice(family)
        x = self.pick()
        made = getattr(self, f"_make_{op}", None)
        made = made(x) if made else self._generic(op, x)
        if made is None:
            return False
        args, params = made
        try:
            with torch.no_grad():
                value = OPS[op][1](*[self.values[a] for a in args], params)
        except (RuntimeError, IndexError, ValueError):
            return False  # a combination PyTorch refuses: not a program we compare
        if not torch.isfinite(value).all() or (value.numel() and value.abs().max() > BOUND):
            return False
        if value.numel() == 0:
            return False
        if op == "std" and value.min() < 1e-6:
            # std is not differentiable where the spread is 0, and near 0 its gradient
            # (x − mean)/(n·std) is 0/0 made of rounding errors: no two libraries agree.
            return False
        self.steps.append(Step(op, tuple(args), params))
        self.values.append(value)
        return True

    def _generic(self, op: str, x: int) -> tuple[tuple[int, ...], dict[str, Any]] | None:
        shape = tuple(self.values[x].shape)
        if op in BINARY:
            y = self.partner(shape)
            if op == "where":
                full = np.broadcast_shapes(shape, tuple(self.values[y].shape))
                cond = np.asarray(self.rng().random(full) < 0.5)
                return (x, y), {"cond": cond}
            if self.coin():
                x, y = y, x  # the leaf on either side
            return (x, y), {}
        if op in REDUCE:
            return (x,), {"axis": self.axis_param(len(shape)), "keepdims": self.coin()}
        return (x,), {}

    def _make_pow_int(self, x: int) -> Any:
        exponents = [2, 3, 0, 1, 2.0]
        if self._away_from_zero(x):  # negative powers only away from the pole at 0
            exponents += [-1, -2]
        return (x,), {"exponent": self.choice(exponents)}

    def _away_from_zero(self, x: int) -> bool:
        v = self.values[x]
        return bool(v.numel() == 0 or v.abs().min() > 1e-2)

    def _make_pow_pos(self, x: int) -> Any:
        return (x,), {"exponent": self.choice([0.5, -0.5, 1.5, -1.0, 2.5, 1.0 / 3])}

    def _make_rpow(self, x: int) -> Any:
        return (x,), {"base": self.choice([2.0, 0.5, 10.0, np.e])}

    def _make_scalar(self, x: int) -> Any:
        return (x,), {"c": self.choice([2.0, -1.5, 0.25, 3, 0.0])}

    _make_scalar_add = _make_scalar_rsub = _make_scalar_mul = _make_scalar

    def _make_scalar_rdiv(self, x: int) -> Any:
        return (x,), {"c": self.choice([1.0, -2.0, 0.5])}

    def _make_clip(self, x: int) -> Any:
        lo = self.choice([None, -1.0, -0.5, 0.0])
        hi = self.choice([None, 1.0, 0.5, 2.0]) if lo is not None else self.choice([1.0, 0.5])
        return (x,), {"lo": lo, "hi": hi}

    def _make_softmax(self, x: int) -> Any:
        ndim = self.values[x].ndim
        if ndim == 0:
            return None
        return (x,), {"axis": self.integer(-ndim, ndim - 1)}

    _make_log_softmax = _make_softmax

    def _make_matmul(self, x: int) -> Any:
        shape = tuple(self.values[x].shape)
        if not shape:
            return None
        k = shape[-1]
        kind = self.choice(["leaf_right", "leaf_left", "self", "vector"])
        if kind == "self" and len(shape) >= 2:
            # x @ xᵀ: the same node on both sides (reuse through a transpose)
            y = len(self.values)
            self.steps.append(Step("swapaxes", (x,), {"a": -1, "b": -2}))
            self.values.append(self.values[x].swapaxes(-1, -2))
            return (x, y), {}
        if kind == "vector":
            return (x, self.leaf((k,))), {}
        if kind == "leaf_left" and len(shape) >= 2:
            return (self.leaf((self.integer(1, MAX_DIM), shape[-2])), x), {}
        return (x, self.leaf((k, self.integer(1, MAX_DIM)))), {}

    def _make_reshape(self, x: int) -> Any:
        size = self.values[x].numel()
        dims = _factor(size, self.rng())
        if dims and self.coin():
            dims[self.integer(0, len(dims) - 1)] = -1
        return (x,), {"shape": tuple(dims)}

    def _make_transpose(self, x: int) -> Any:
        ndim = self.values[x].ndim
        axes = tuple(int(a) for a in self.rng().permutation(ndim))
        return (x,), {"axes": axes}

    def _make_swapaxes(self, x: int) -> Any:
        ndim = self.values[x].ndim
        if ndim == 0:
            return None
        return (x,), {"a": self.integer(-ndim, ndim - 1), "b": self.integer(-ndim, ndim - 1)}

    def _make_squeeze(self, x: int) -> Any:
        shape = tuple(self.values[x].shape)
        ones = [i for i, d in enumerate(shape) if d == 1]
        if not ones or self.coin():
            return (x,), {"axis": None}
        axis = self.choice(ones)
        return (x,), {"axis": axis - len(shape) if self.coin() else axis}

    def _make_unsqueeze(self, x: int) -> Any:
        ndim = self.values[x].ndim
        if ndim >= MAX_NDIM:
            return None
        return (x,), {"axis": self.integer(-ndim - 1, ndim)}

    def _make_expand(self, x: int) -> Any:
        shape = tuple(self.values[x].shape)
        if len(shape) >= MAX_NDIM:
            return None
        new = [self.integer(1, 3) if d == 1 else d for d in shape]
        if self.coin():
            new = [self.integer(1, 3)] + new
        return (x,), {"shape": tuple(new)}

    def _make_index(self, x: int) -> Any:
        shape = tuple(self.values[x].shape)
        if not shape:
            return None
        rng = self.rng()
        kind = self.choice(["int", "slice", "array", "array_axis1", "mask", "mask_axis0",
                            "mixed"])
        n = shape[0]
        if kind == "int":
            index: Any = self.integer(-n, n - 1)
        elif kind == "slice":
            start = self.integer(-n, n - 1)
            index = (slice(None),) * self.integer(0, len(shape) - 1) + (
                slice(start, None, self.integer(1, 2)),)
        elif kind == "array":  # repeats and negative entries
            index = rng.integers(-n, n, size=self.integer(1, 5))
        elif kind == "array_axis1" and len(shape) >= 2:
            index = (slice(None), rng.integers(0, shape[1], size=self.integer(1, 5)))
        elif kind == "mask":
            mask = rng.random(shape) < 0.6
            mask.flat[rng.integers(mask.size)] = True  # never empty
            index = mask
        elif kind == "mixed" and len(shape) >= 2:
            index = (rng.integers(0, n, size=3), self.integer(0, shape[1] - 1))
        else:
            mask = rng.random(n) < 0.6
            mask[rng.integers(n)] = True
            index = mask
        return (x,), {"index": index}

    def _join(self, x: int) -> Any:
        shape = tuple(self.values[x].shape)
        same = [i for i, v in enumerate(self.values) if tuple(v.shape) == shape]
        count = self.integer(1, 3)
        return [x] + [self.choice(same) for _ in range(count)]  # x itself may repeat

    def _make_concatenate(self, x: int) -> Any:
        shape = tuple(self.values[x].shape)
        if not shape:
            return None
        args = self._join(x)
        axis = self.integer(-len(shape), len(shape) - 1)
        if self.coin():  # a new leaf of another length along the axis
            other = list(shape)
            other[axis] = self.integer(1, 3)
            args.append(self.leaf(tuple(other)))
        return tuple(args), {"axis": axis}

    def _make_stack(self, x: int) -> Any:
        ndim = self.values[x].ndim
        if ndim >= MAX_NDIM:
            return None
        return tuple(self._join(x)), {"axis": self.integer(-ndim - 1, ndim)}


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return len(a) <= MAX_NDIM and len(b) <= MAX_NDIM


def _factor(size: int, rng: np.random.Generator) -> list[int]:
    """A random factorisation of ``size`` into at most MAX_NDIM dims (1s allowed)."""
    dims: list[int] = []
    rest = size
    for _ in range(int(rng.integers(0, MAX_NDIM))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = int(rng.choice(divisors))
        dims.append(d)
        rest //= d
    dims.append(rest)
    return [int(d) for d in rng.permutation(dims)]


@st.composite
def programs(draw: Any, min_steps: int = 1, max_steps: int = 8, scalar_leaf: bool = False
             ) -> Program:
    """A random program: 1–3 starting leaves, then ``min_steps``–``max_steps`` steps."""
    b = _Builder(draw(st.integers(0, 2**63 - 1)))
    if scalar_leaf:
        b.leaf(())
        b.requires_grad[0] = True
    for _ in range(b.integer(1, 2)):
        b.leaf(b.shape())
    b.requires_grad[0] = True
    wanted = b.integer(min_steps, max_steps)
    attempts = done = 0
    while done < wanted and attempts < 4 * max_steps:
        attempts += 1
        done += b.try_step()
    if b.steps[-1].op == "leaf":  # always end with an operation
        b.steps.append(Step("tanh", (0,), {}))
        b.values.append(b.values[0].tanh())
    weight = b.rng().uniform(0.5, 1.5, tuple(b.values[-1].shape))
    return Program(b.leaves, b.requires_grad, b.steps, weight)
