r"""The textbook's regularisation penalties :math:`\frac{\lambda}{2m}\sum_j|\theta_j|` and
:math:`\frac{\lambda}{2m}\sum_j\theta_j^2`, added to a cost to penalise large weights."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule import ops as _ops
from chainrule.autodiff import Traced, composite
from chainrule.nn.functional._checks import _check_number
from chainrule.tensor import Tensor, as_tensor


def _penalty(op: str, params: Any, lam: float, m: int, term: Any) -> Tensor:
    _check_number(op, "lam", lam)
    if lam < 0:
        raise ValueError(f"{op}: lam (λ) must be non-negative, got {lam}")
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m <= 0:
        raise ValueError(f"{op}: m, the number of training examples, must be a positive int, "
                         f"got {m!r}")
    tensors = [params] if isinstance(params, Traced) else list(_iterable(op, params))
    if not tensors:
        raise ValueError(f"{op}: params is empty (a used-up model.parameters() generator? "
                         "pass list(model.parameters()))")
    total = None
    for t in tensors:
        part = _ops.sum(term(as_tensor(t, op)), axis=None)
        total = part if total is None else _ops.add(total, part)
    return _ops.mul(total, float(lam) / (2.0 * int(m)))


def _iterable(op: str, params: Any) -> Iterable[Any]:
    try:
        return iter(params)
    except TypeError:
        raise TypeError(
            f"{op}: params must be an iterable of tensors, got {type(params).__name__}"
        ) from None


@composite("l1_penalty")
def l1_penalty(params: Any, lam: float, m: int) -> Tensor:
    r"""The textbook's L1 term :math:`\frac{\lambda}{2m}\sum_j |\theta_j|`.

    Added to the cost, :math:`J(\theta) = \frac1{2m}\sum_i (h_\theta(x^{(i)}) - y^{(i)})^2
    + \frac{\lambda}{2m}\sum_j|\theta_j|`, it *penalises* complexity: every non-zero
    weight costs :math:`\frac{\lambda}{2m}|\theta_j|`, so training trades fit against
    small (and, for L1, sparse) weights, which curbs over-fitting. (The source article
    says regularisation works by increasing complexity; that is backwards.) The article
    writes :math:`\lambda/(2m)` for L1 where many texts write :math:`\lambda/m`; we
    implement the article's formula exactly.

    Derivative: :math:`\frac{\lambda}{2m}\,\mathrm{sign}(\theta_j)` (0 at θ = 0, the
    ``abs'(0) = 0`` convention).

    Args:
        params: an iterable of tensors (e.g. ``model.parameters()``) or one tensor.
        lam: the regularisation strength λ ≥ 0.
        m: the number of training examples.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.l1_penalty([cr.tensor([1.0, -2.0]), cr.tensor([3.0])], lam=0.5, m=2).item()
    0.75
    """
    return _penalty("l1_penalty", params, lam, m, _ops.abs)


@composite("l2_penalty")
def l2_penalty(params: Any, lam: float, m: int) -> Tensor:
    r"""The textbook's L2 term :math:`\frac{\lambda}{2m}\sum_j \theta_j^2`.

    The full cost is :math:`J(\theta) = \frac1{2m}\sum_i (h_\theta(x^{(i)}) - y^{(i)})^2
    + \frac{\lambda}{2m}\sum_j\theta_j^2`; its first term is ``F.mse_loss(pred, y) / 2``.
    Large weights are penalised, which prevents over-fitting by limiting complexity.

    Derivative: :math:`\frac{\lambda}{m}\theta_j`, so a gradient step shrinks every
    weight by the factor :math:`1-\alpha\lambda/m` ("weight decay"). An optimiser's
    ``weight_decay=wd`` (PyTorch's coupled decay in SGD/Adam) adds :math:`wd\cdot\theta`
    to the gradient, the gradient of :math:`\frac{wd}{2}\lVert\theta\rVert^2` with no
    :math:`1/m`: it matches this penalty when :math:`wd = \lambda/m`.

    Args:
        params, lam, m: as for :func:`l1_penalty` (the tensors, λ ≥ 0, the number of
            training examples).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> theta = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> y = cr.tensor([1.0, 2.0]); pred = theta * 1.0
    >>> J = F.mse_loss(pred, y) / 2 + F.l2_penalty([theta], lam=1.0, m=2)
    >>> J.item()  # 1/(2m)·Σ(h−y)² = 16/4 = 4, plus λ/(2m)·Σθ² = 5/4
    5.25
    """
    return _penalty("l2_penalty", params, lam, m, lambda t: _ops.mul(t, t))
