r"""The documented choices at points where a derivative does not exist.

At a kink (relu and abs at 0, a tie in max) or an edge (clip's bounds, sqrt at 0) the
derivative is undefined, yet backpropagation must return a number. Each choice below is
made once, in the op table's rule, stated in its formula, and proved by a test of the
same name in ``tests/test_conventions.py``. Where PyTorch has the same rule we match it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Convention:
    r"""One choice at a non-differentiable point.

    Attributes:
        name: a short name (``"relu at 0"``).
        op: the op table row that implements it (``chainrule.ops.OP_TABLE[op]``).
        rule: the choice, as a formula.
        value: the derivative the library returns in the case ``rule`` describes.
        rationale: why this choice.
        test: the test in ``tests/test_conventions.py`` that proves it.
    """

    name: str
    op: str
    rule: str
    value: float
    rationale: str
    test: str

    def __str__(self) -> str:
        return (f"{self.name}: {self.rule}\n    why: {self.rationale}\n"
                f"    tested by: tests/test_conventions.py::{self.test}")


class Conventions(list):
    """The list of :class:`Convention` records, printed one per line."""

    def __str__(self) -> str:
        return "\n".join(str(c) for c in self)

    def __repr__(self) -> str:
        return f"Conventions([{', '.join(repr(c.name) for c in self)}])"


_TABLE = (
    Convention(
        "relu at 0", "relu", "relu'(0) = 0", 0.0,
        "the subgradient in [0, 1] closest to 'inactive'; PyTorch and JAX choose 0 too "
        "(writing relu as maximum(x, 0) would give ½)",
        "test_relu_grad_at_zero_is_zero",
    ),
    Convention(
        "abs at 0", "abs", "abs'(0) = sign(0) = 0", 0.0,
        "the centre of the subgradient [−1, 1]; a minimum at 0 stays put (PyTorch agrees)",
        "test_abs_grad_at_zero_is_zero",
    ),
    Convention(
        "max ties", "max", "∂max(x)/∂xⱼ = 1/k for each of k tied maxima", 0.5,
        "symmetric in the tied elements (value shown for k = 2); PyTorch's amax and "
        "full-reduction max agree, while max(dim) picks one index",
        "test_max_reduction_splits_ties_evenly",
    ),
    Convention(
        "min ties", "min", "∂min(x)/∂xⱼ = 1/k for each of k tied minima", 0.5,
        "as for max (value shown for k = 2); PyTorch's amin agrees",
        "test_min_reduction_splits_ties_evenly",
    ),
    Convention(
        "maximum tie", "maximum", "∂max(x, y)/∂x = ∂max(x, y)/∂y = ½ where x = y", 0.5,
        "the average of the one-sided derivatives, symmetric in x and y; PyTorch agrees",
        "test_maximum_gives_half_to_each_side_at_a_tie",
    ),
    Convention(
        "minimum tie", "minimum", "∂min(x, y)/∂x = ∂min(x, y)/∂y = ½ where x = y", 0.5,
        "as for maximum; PyTorch agrees",
        "test_minimum_gives_half_to_each_side_at_a_tie",
    ),
    Convention(
        "sqrt at 0", "sqrt", "∂√x/∂x = 1/(2√x) = +∞ at x = 0", float("inf"),
        "the one-sided limit, left as IEEE +inf rather than hidden, so a user sees it; "
        "PyTorch agrees",
        "test_sqrt_grad_at_zero_is_plus_inf",
    ),
    Convention(
        "clip edges", "clip", "∂clip(x, lo, hi)/∂x = 1 for lo ≤ x ≤ hi, edges included", 1.0,
        "a value sitting on a bound still moves with x from inside; PyTorch's clamp agrees",
        "test_clip_grad_is_one_at_the_edges",
    ),
    Convention(
        "pow with exponent 0", "pow", "∂xʸ/∂x = 0 where y = 0 (also at x = 0: 0⁰ = 1)", 0.0,
        "x⁰ = 1 is constant in x; the formula y·xʸ⁻¹ would give 0·∞ = nan at x = 0; "
        "PyTorch agrees",
        "test_pow_grad_wrt_base_is_zero_for_zero_exponent",
    ),
    Convention(
        "pow at base 0", "pow", "∂xʸ/∂y = 0 where x = 0 and y ≥ 0", 0.0,
        "xʸ·ln x is 0·(−∞) there; 0ʸ = 0 for y > 0 (and 0⁰ = 1) is constant in y; "
        "PyTorch agrees",
        "test_pow_grad_wrt_exponent_is_zero_at_zero_base",
    ),
)


def conventions() -> Conventions:
    r"""The documented derivative choices at non-differentiable points.

    Returns:
        A list of :class:`Convention` records (name, op, rule, value, rationale, test);
        ``print`` it for one line each.

    >>> import chainrule as cr
    >>> [c.value for c in cr.conventions() if c.op == "relu"]
    [0.0]
    """
    return Conventions(_TABLE)
