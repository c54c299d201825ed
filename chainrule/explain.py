r"""The chain rule, written out: every path from an input to a scalar output.

For a scalar output L and an input x, the multivariate chain rule sums over the paths
through the graph:

.. math::
    \frac{\partial L}{\partial x} = \sum_{\text{paths } x \to L}\;
    \prod_{\text{edges } u \to v \text{ on the path}} \frac{\partial v}{\partial u}

``explain`` lists the paths, each factor with its op, its local derivative formula (the
``formula`` of the op table's row) and its value, then each path's product and their sum.
Each path's contribution is computed by applying the nodes' vector-Jacobian rules along
that path only; by linearity the contributions add up to the full gradient, which is also
computed by reverse mode and shown beside it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule._config import no_grad
from chainrule._quiet import quiet
from chainrule.autodiff import Node, Traced, topological_order
from chainrule.autodiff import backward as _backward
from chainrule.errors import graph_freed, shape_str

_SMALL = 6  # tensors up to this many elements are printed in full, larger ones summarised
_SHOWN_FACTORS = 12  # longer paths show their first and last few factors


@quiet  # the norm of huge values is inf, the mean of ±inf nan: shown as such, silently
def _describe(value: np.ndarray) -> str:
    """A number, a short array, or a summary (shape, norm, mean) for a large tensor."""
    value = np.asarray(value)
    if value.size == 1:
        return f"{float(value.reshape(-1)[0]):.6g}"
    if value.size <= _SMALL:
        return np.array2string(value, precision=4, separator=", ")
    norm = float(np.linalg.norm(value.astype(np.float64).reshape(-1)))
    mean = float(np.mean(value, dtype=np.float64))
    return f"shape {shape_str(value.shape)}, ‖·‖ = {norm:.4g}, mean = {mean:.4g}"


def _local_formula(node: Node, index: int) -> str:
    """The part of the op's formula about input ``index`` ("∂(x·y)/∂y = x" for mul's
    second input), or the whole formula when it does not split one part per input."""
    parts = re.split(r",\s*(?=∂)", node.prim.formula)
    differentiable = [i for i in range(len(node.inputs or ())) if node.prim.differentiable(i)]
    if len(parts) > 1 and index in differentiable:
        if len(parts) == len(differentiable):
            return parts[differentiable.index(index)]
        # an optional input left out (a layer without bias): one part per rule of the op
        rules = [i for i, rule in enumerate(node.prim.vjps or ()) if rule is not None]
        if len(parts) == len(rules) and index in rules:
            return parts[rules.index(index)]
    return node.prim.formula or f"custom derivative ({node.prim.name})"


@dataclass(frozen=True)
class Factor:
    r"""One edge of a path: the local derivative ∂out/∂input of one node.

    Attributes:
        op: the primitive's name (with its composite scope, e.g. ``exp in softmax``).
        input_index: which input of the op the path enters through.
        label: the op as shown in a path's route, ``mul[1]`` for a multi-input op.
        formula: the local derivative rule from the op table.
        value: the local derivative as a number when the op's input and output are
            scalars, else ``None`` (it is then a Jacobian; see ``gradient``).
        gradient: the path's product so far, ∂L/∂(this input) along this path.
    """

    op: str
    input_index: int
    label: str
    formula: str
    value: float | None
    gradient: np.ndarray


@dataclass(frozen=True)
class Path:
    r"""One path from an input ``wrt`` to the output, its factors listed output first.

    Attributes:
        wrt: the index of the input the path ends at (0 for a single ``wrt``).
        factors: the chain rule's factors, from the output down to the input.
        contribution: the product of the factors, this path's share of ∂L/∂wrt.
    """

    wrt: int
    factors: tuple[Factor, ...]
    contribution: np.ndarray


def _factor(node: Node, index: int, g: Any) -> tuple[Factor, Any]:
    """Apply ``node``'s rule for input ``index`` alone to the path's gradient ``g``."""
    inputs = node.inputs
    if inputs is None:
        raise graph_freed("explain")
    args = tuple(x.data if isinstance(x, Traced) else x for x in inputs)
    needs = tuple(i == index for i in range(len(inputs)))
    g_next = np.asarray(node.prim.input_grads(g, node.out, args, node.params, needs)[index])
    value = None
    if node.out is not None and np.size(node.out) == 1 and np.size(args[index]) == 1:
        unit = np.ones_like(node.out)
        local = node.prim.input_grads(unit, node.out, args, node.params, needs)[index]
        value = float(np.asarray(local).reshape(-1)[0])
    name = node.prim.name
    if node.scope:
        name = f"{name} in {node.scope[-1]}"
    label = f"{node.prim.name}[{index}]" if len(inputs) > 1 else node.prim.name
    factor = Factor(name, index, label, _local_formula(node, index), value, g_next)
    return factor, g_next


def _path_counts(order: list[Node], targets: dict[int, int]) -> dict[Node, int]:
    """How many paths lead from each node down to any target (0: no need to walk it)."""
    counts: dict[Node, int] = {}
    for node in reversed(order):  # producers first
        total = 0
        for x, need in zip(node.inputs or (), node.needs):
            if not need:
                continue
            total += id(x) in targets
            if x._node is not None:
                total += counts[x._node]
        counts[node] = total
    return counts


def _paths_per_target(order: list[Node], targets: dict[int, int]) -> list[int]:
    """How many paths lead from the output to each target: a count flows down the graph,
    each node passing the number of paths reaching it to every input it depends on."""
    reaching = {order[0]: 1}
    per_target = [0] * len(targets)
    for node in order:  # consumers first
        n = reaching.get(node, 0)
        for x, need in zip(node.inputs or (), node.needs):
            if not need:
                continue
            if id(x) in targets:
                per_target[targets[id(x)]] += n
            if x._node is not None:
                reaching[x._node] = reaching.get(x._node, 0) + n
    return per_target


def _enumerate_paths(root: Node, targets: dict[int, int], counts: dict[Node, int],
                     limit: int) -> list[tuple[int, list[tuple[Node, int]]]]:
    """The first ``limit`` paths, as (target index, edges from the output down)."""
    found: list[tuple[int, list[tuple[Node, int]]]] = []
    # Paths share their beginnings: each stack entry holds its edges as a linked list
    # (edge, rest) so that a long chain costs linear, not quadratic, memory.
    stack: list[tuple[Node, Any]] = [(root, None)]
    while stack and len(found) < limit:
        node, chain = stack.pop()
        branches = []
        for i, (x, need) in enumerate(zip(node.inputs or (), node.needs)):
            if not need:
                continue
            link = ((node, i), chain)
            if id(x) in targets:
                found.append((targets[id(x)], _unlink(link)))
            if x._node is not None and counts[x._node] > 0:
                branches.append((x._node, link))
        stack.extend(reversed(branches))
    return found[:limit]


def _unlink(link: Any) -> list[tuple[Node, int]]:
    edges = []
    while link is not None:
        edges.append(link[0])
        link = link[1]
    edges.reverse()
    return edges


class Explanation:
    r"""The result of :func:`explain`: the paths, their products and their sum.

    Attributes:
        names: a label for each input (``x`` for a single one).
        paths: the listed :class:`Path` records (at most ``max_paths``).
        num_paths: how many paths there are in all, per input.
        total: ∂L/∂wrt, the sum of every path's contribution (a list, one array per input,
            when ``wrt`` was a list or dict); equal to what ``backward()`` computes.
        backward_total: the same gradient computed by reverse mode, for comparison.
    """

    def __init__(self, output_value: float, names: list[str], single: bool, paths: list[Path],
                 num_paths: list[int], totals: list[np.ndarray], reverse: list[np.ndarray],
                 max_paths: int) -> None:
        self.output_value = output_value
        self.names = names
        self.paths = paths
        self.num_paths: int | list[int] = num_paths if not single else num_paths[0]
        self._totals = totals
        self._reverse = reverse
        self._single = single
        self.max_paths = max_paths

    @property
    def total(self) -> Any:
        return self._totals[0] if self._single else list(self._totals)

    @property
    def backward_total(self) -> Any:
        return self._reverse[0] if self._single else list(self._reverse)

    @property
    def matches(self) -> bool:
        """Whether the sum over paths equals reverse mode's gradient (to rounding)."""
        return all(np.allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=True)
                   for a, b in zip(self._totals, self._reverse))

    @staticmethod
    def _shown(path: Path) -> tuple[list[Any], int]:
        """The factors of ``path`` that are listed (its first and last ones when it is
        long) and how many are left out."""
        factors = list(path.factors)
        if len(factors) <= _SHOWN_FACTORS:
            return factors, 0
        hidden = len(factors) - _SHOWN_FACTORS
        return factors[: _SHOWN_FACTORS // 2] + factors[-_SHOWN_FACTORS // 2:], hidden

    def _widths(self) -> tuple[int, int]:
        """The widths of the op and formula columns: their longest entry in any listed
        path, so that every path's rows line up."""
        shown = [f for path in self.paths for f in self._shown(path)[0]]
        return (max((len(f.op) for f in shown), default=0),
                max((len(f.formula) for f in shown), default=0))

    def _path_lines(self, number: int, path: Path, widths: tuple[int, int]) -> list[str]:
        name = self.names[path.wrt]
        factors, hidden = self._shown(path)
        op_width, formula_width = widths
        labels = [f.label for f in factors]
        if hidden:
            labels.insert(_SHOWN_FACTORS // 2, f"… {hidden} more …")
        route = " ← ".join(["L", *labels, name])
        lines = [f"path {number}: {route}"]
        for k, f in enumerate(factors):
            if hidden and k == _SHOWN_FACTORS // 2:
                lines.append(f"    … {hidden} more factors …")
            value = _describe(np.asarray(f.value)) if f.value is not None else (
                f"a Jacobian; ∂L/∂input so far: {_describe(f.gradient)}")
            lines.append(f"    {f.op:<{op_width}}  input {f.input_index}  "
                         f"{f.formula:<{formula_width}}  = {value}")
        scalar = [f.value for f in path.factors]
        if len(path.factors) <= _SHOWN_FACTORS and all(v is not None for v in scalar):
            product = " × ".join(_describe(np.asarray(v)) for v in scalar) or "1"
            lines.append(f"    product: {product} = {_describe(path.contribution)}")
        else:
            lines.append(f"    product: {_describe(path.contribution)}")
        return lines

    def __str__(self) -> str:
        lines = [f"L = {self.output_value:.6g}"]
        counts = self.num_paths if isinstance(self.num_paths, list) else [self.num_paths]
        for i, name in enumerate(self.names):
            n = counts[i]
            lines.append(
                f"∂L/∂{name} = sum over {n} path{'s' if n != 1 else ''} of the product of "
                f"local derivatives = {_describe(self._totals[i])}"
            )
        widths = self._widths()
        for number, path in enumerate(self.paths, start=1):
            lines.extend(self._path_lines(number, path, widths))
        listed = len(self.paths)
        if sum(counts) > listed:
            lines.append(f"… {sum(counts) - listed} more paths summarised in the totals "
                         f"(showing the first {self.max_paths})")
        for i, name in enumerate(self.names):
            check = "✓ equal" if np.allclose(self._totals[i], self._reverse[i], rtol=1e-5,
                                             atol=1e-8, equal_nan=True) else "✗ DIFFERENT"
            lines.append(f"sum over paths ∂L/∂{name} = {_describe(self._totals[i])}; "
                         f"backward() gives {_describe(self._reverse[i])} ({check})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def _targets(wrt: Any) -> tuple[list[Traced], list[str], bool]:
    if isinstance(wrt, Traced):
        return [wrt], ["x"], True
    if isinstance(wrt, dict):
        tensors, names = list(wrt.values()), [str(k) for k in wrt]
    elif isinstance(wrt, Sequence):
        tensors, names = list(wrt), [f"x{i}" for i in range(len(wrt))]
    else:
        raise TypeError(f"explain: wrt must be a Tensor, a list or a dict of Tensors, "
                        f"got {type(wrt).__name__}")
    for name, t in zip(names, tensors):
        if not isinstance(t, Traced):
            raise TypeError(f"explain: wrt entry {name!r} is a {type(t).__name__}, "
                            "not a Tensor")
    if len({id(t) for t in tensors}) != len(tensors) or not tensors:
        raise ValueError("explain: wrt must list one or more distinct tensors")
    return tensors, names, False


def explain(output: Any, wrt: Any, max_paths: int = 64) -> Explanation:
    r"""Write out the chain rule for ∂output/∂wrt: every path, factor by factor.

    .. math::
        \frac{\partial L}{\partial x} = \sum_{\text{paths}} \prod_{\text{edges}}
        \frac{\partial v}{\partial u}

    The graph is only read, never freed: explain works before ``backward()``, or after
    ``backward(retain_graph=True)``.

    Args:
        output: a scalar (one-element) Tensor L with a graph.
        wrt: a Tensor, a list of Tensors (labelled ``x0, x1, …``) or a dict name → Tensor.
        max_paths: how many paths to list; further paths are counted and included in the
            totals but not printed.

    Returns:
        An :class:`Explanation`; ``print`` it, or read ``.paths`` and ``.total``.

    Raises:
        ValueError: ``output`` is not a scalar.
        TypeError: ``output`` or ``wrt`` is not a Tensor.
        RuntimeError: the graph was freed by an earlier ``backward()``.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> e = cr.explain((x * x).sigmoid(), x)   # dσ(x²)/dx = σ'(x²)·2x, two paths via mul
    >>> e.num_paths, round(float(e.total), 6)
    (2, 0.070651)
    """
    if not isinstance(output, Traced):
        raise TypeError(f"explain: output must be a Tensor, got {type(output).__name__}")
    if output.data.size != 1:
        raise ValueError(f"explain: output must be a scalar (one element), got shape "
                         f"{shape_str(output.data.shape)}; reduce it first, e.g. y.sum()")
    tensors, names, single = _targets(wrt)
    if not isinstance(max_paths, int) or max_paths < 1:
        raise ValueError(f"explain: max_paths must be a positive int, got {max_paths!r}")
    index = {id(t): i for i, t in enumerate(tensors)}
    paths: list[Path] = []
    num_paths = [0] * len(tensors)
    totals = [np.zeros(t.data.shape, dtype=np.result_type(t.data, np.float32)) for t in tensors]
    with no_grad():
        if id(output) in index:  # L = x: the empty path, product 1
            i = index[id(output)]
            num_paths[i] += 1
            totals[i] = totals[i] + np.ones_like(output.data)
            paths.append(Path(i, (), np.ones_like(output.data)))
        root = output._node
        if root is not None:
            _collect(output, root, index, max_paths, paths, num_paths, totals)
        reverse = _reverse_mode(output, tensors)
    if sum(num_paths) > len(paths):
        # Unlisted paths are not multiplied out one by one (there can be exponentially
        # many); their share is what reverse mode gives minus the listed paths.
        totals = [np.asarray(r).copy() for r in reverse]
    return Explanation(float(output.data.reshape(-1)[0]), names, single, paths[:max_paths],
                       num_paths, totals, reverse, max_paths)


def _collect(output: Traced, root: Node, index: dict[int, int], max_paths: int,
             paths: list[Path], num_paths: list[int], totals: list[np.ndarray]) -> None:
    """Count the paths per input and multiply out the first ``max_paths`` of them."""
    order = topological_order(root, "explain")
    for i, n in enumerate(_paths_per_target(order, index)):
        num_paths[i] += n
    counts = _path_counts(order, index)
    for target, edges in _enumerate_paths(root, index, counts, max_paths - len(paths)):
        g: Any = np.ones_like(output.data)
        factors = []
        for node, i in edges:
            factor, g = _factor(node, i, g)
            factors.append(factor)
        paths.append(Path(target, tuple(factors), g))
        totals[target] = totals[target] + g


def _reverse_mode(output: Traced, tensors: list[Traced]) -> list[np.ndarray]:
    """∂L/∂wrt by the engine's reverse mode (graph retained, ``.grad`` untouched)."""
    if output._node is None:
        return [np.ones_like(t.data) if t is output else np.zeros_like(t.data) for t in tensors]
    grads = _backward(output, np.ones_like(output.data), True, False, targets=tensors)
    result = []
    for t, g in zip(tensors, grads):
        if g is None:
            result.append(np.zeros_like(t.data))
        else:
            result.append(np.asarray(g.data if isinstance(g, Traced) else g))
    return result
