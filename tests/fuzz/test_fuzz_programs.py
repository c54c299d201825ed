"""Random programs (fuzz_programs.py) agree with PyTorch in float64: every node's value,
every leaf's gradient, and second derivatives through ``cr.grad(cr.grad(f))``.

``make test`` runs a fixed, derandomised set of examples; ``make fuzz`` runs many more
(``FUZZ_EXAMPLES``). A failure prints the program; it becomes a named test in
``test_regressions.py``.
"""

from __future__ import annotations

import numpy as np
import torch
from fuzz_programs import Program, examples, programs, run_chainrule, run_torch
from hypothesis import HealthCheck, given, settings

import chainrule as cr

SETTINGS = {
    "derandomize": True,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                              HealthCheck.filter_too_much],
    "database": None,
}


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    scale = 1.0 + float(np.max(np.abs(expected), initial=0.0))
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=1e-7, atol=1e-9 * scale, err_msg=what)


def check_program(program: Program) -> None:
    """Values of every node, then the gradient of sum(out * weight) for every leaf."""
    nodes = run_chainrule(program)
    ref = run_torch(program)
    for i, (mine, theirs) in enumerate(zip(nodes, ref)):
        assert mine.dtype == np.float64, f"v{i}: dtype {mine.dtype}"
        assert_close(mine.numpy(), theirs.detach().numpy(), f"value of v{i}")
    out, out_ref = nodes[-1], ref[-1]
    if not out_ref.requires_grad:
        assert not out.requires_grad
        return
    (out * cr.tensor(program.weight)).sum().backward()
    (out_ref * torch.tensor(program.weight)).sum().backward()
    for i, j in enumerate(program.leaf_nodes()):
        grad, grad_ref = nodes[j].grad, ref[j].grad
        if not program.requires_grad[i] or grad_ref is None:
            assert grad is None, f"leaf v{j} got a gradient it does not have"
            continue
        assert grad is not None, f"leaf v{j} got no gradient"
        assert_close(grad.numpy(), grad_ref.numpy(), f"gradient of leaf v{j}")


def check_second_order(program: Program) -> None:
    """Hessian-vector products: cr.grad of ⟨cr.grad(f)(x), v⟩ vs torch double backward.

    ``x`` is leaf 0; the other leaves are constants closed over. When leaf 0 is 0-d this
    is literally ``cr.grad(cr.grad(f))``.
    """
    constants = [cr.tensor(a) for a in program.leaves[1:]]
    weight = cr.tensor(program.weight)

    def f(x: cr.Tensor) -> cr.Tensor:
        return (run_chainrule(program, [x, *constants])[-1] * weight).sum()

    x0 = program.leaves[0]
    v = np.random.default_rng(1).uniform(-1.0, 1.0, x0.shape)
    if x0.ndim == 0:
        second = cr.grad(cr.grad(f))(cr.tensor(x0))
    else:
        second = cr.grad(lambda x: (cr.grad(f)(x) * cr.tensor(v)).sum())(cr.tensor(x0))

    xt = torch.tensor(x0, requires_grad=True)
    t_constants = [torch.tensor(a) for a in program.leaves[1:]]
    out = (run_torch(program, [xt, *t_constants])[-1] * torch.tensor(program.weight)).sum()
    expected = np.zeros_like(x0)
    if out.requires_grad:
        (g,) = torch.autograd.grad(out, xt, create_graph=True, allow_unused=True)
        if g is not None and g.requires_grad:
            vt = torch.ones(()) if x0.ndim == 0 else torch.tensor(v)
            (h,) = torch.autograd.grad((g * vt).sum(), xt, allow_unused=True)
            if h is not None:
                expected = h.numpy(force=True)
    assert_close(np.asarray(second.numpy()), expected, "second derivative wrt v0")


@settings(max_examples=examples(200), **SETTINGS)
@given(programs())
def test_random_programs_match_torch_values_and_gradients(program):
    check_program(program)


@settings(max_examples=examples(60), **SETTINGS)
@given(programs(max_steps=5))
def test_random_programs_match_torch_second_derivatives(program):
    check_second_order(program)


@settings(max_examples=examples(40), **SETTINGS)
@given(programs(max_steps=5, scalar_leaf=True))
def test_grad_of_grad_of_scalar_programs_matches_torch(program):
    check_second_order(program)
