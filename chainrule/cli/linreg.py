r"""``chainrule linreg``: the textbook's linear regression by gradient descent.

The model is :math:`h_\theta(x) = \theta_0 + \theta_1 x` on x = [1, 2, 3, 4],
y = [2, 4, 6, 8], starting from :math:`\theta_0 = \theta_1 = 0`. The cost is the textbook's

.. math:: J(\theta) = \frac{1}{2m}\sum_{i=1}^{m} (h_\theta(x^{(i)}) - y^{(i)})^2,
   \qquad m = 4,

which is ``F.mse_loss(h, y) / 2``. Its gradient is computed by automatic differentiation
and checked, at the first step, against the analytic one

.. math:: \frac{\partial J}{\partial \theta_0} = \frac{1}{m}\sum_i (h - y), \qquad
   \frac{\partial J}{\partial \theta_1} = \frac{1}{m}\sum_i (h - y)\,x;

each epoch then takes one plain gradient-descent step (``optim.SGD`` at momentum 0)
:math:`\theta \leftarrow \theta - \alpha \nabla_\theta J`. Everything runs in float64.

The article's version of this example used ``m`` without defining it, printed
:math:`\tfrac12\sum(h-y)^2` instead of its own cost, and printed all 1000 epochs; here ``m``
is the number of examples, the printed cost is :math:`J`, and a row is printed every
``--every`` epochs.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np

from chainrule.cli._args import Subparsers, positive_float, positive_int
from chainrule.creation import from_numpy, tensor
from chainrule.optim import SGD
from chainrule.tensor import Tensor

# The textbook's data: y = 2x exactly, so J has its minimum 0 at θ₀ = 0, θ₁ = 2.
X = np.array([1.0, 2.0, 3.0, 4.0])
Y = np.array([2.0, 4.0, 6.0, 8.0])


@dataclass
class LinregResult:
    r"""What a run of gradient descent on the textbook's example produced.

    Attributes:
        theta0, theta1: the final parameters.
        rows: ``(epoch, J, θ₀, θ₁)`` after ``epoch`` updates, for the printed epochs.
        grad_autodiff, grad_analytic: ``(∂J/∂θ₀, ∂J/∂θ₁)`` at the initial θ = 0.
        diverged: J grew instead of shrinking (α too large); the run stopped early if J
            stopped being a finite number.
    """

    theta0: float
    theta1: float
    rows: list[tuple[int, float, float, float]] = field(default_factory=list)
    grad_autodiff: tuple[float, float] = (0.0, 0.0)
    grad_analytic: tuple[float, float] = (0.0, 0.0)
    diverged: bool = False


def cost(theta0: Tensor, theta1: Tensor, x: Tensor, y: Tensor) -> Tensor:
    r"""The textbook's cost :math:`J(\theta) = \frac{1}{2m}\sum_i (h_\theta(x_i) - y_i)^2`,
    with :math:`h_\theta(x) = \theta_0 + \theta_1 x` (equal to ``F.mse_loss(h, y) / 2``)."""
    m = x.shape[0]  # the number of training examples
    h = theta0 + theta1 * x
    return ((h - y) ** 2).sum() / (2 * m)


def analytic_gradient(theta0: float, theta1: float) -> tuple[float, float]:
    r"""The hand-derived gradient :math:`\frac1m\sum_i (h - y)\cdot[1, x_i]`, in NumPy."""
    m = X.shape[0]
    residual = theta0 + theta1 * X - Y
    return float(residual.sum() / m), float((residual * X).sum() / m)


def gradient_descent(lr: float = 0.01, epochs: int = 1000, every: int = 100) -> LinregResult:
    r"""Fit :math:`h_\theta(x) = \theta_0 + \theta_1 x` by ``epochs`` steps of
    :math:`\theta \leftarrow \theta - \alpha \nabla_\theta J`, the gradient by autodiff.

    Args:
        lr: the learning rate :math:`\alpha`.
        epochs: the number of full-batch gradient steps.
        every: record ``(epoch, J, θ₀, θ₁)`` every this many epochs (and at the last one).

    Returns:
        A :class:`LinregResult`.

    >>> result = gradient_descent(lr=0.01, epochs=1000)
    >>> round(result.theta0, 4), round(result.theta1, 4)
    (0.1363, 1.9536)
    """
    x, y = from_numpy(X), from_numpy(Y)
    theta0 = tensor(0.0, dtype=np.float64, requires_grad=True)
    theta1 = tensor(0.0, dtype=np.float64, requires_grad=True)
    # Plain gradient descent: at momentum 0, SGD's step is exactly θ ← θ − α ∂J/∂θ.
    optimizer = SGD([theta0, theta1], lr=lr, momentum=0)
    result = LinregResult(0.0, 0.0, grad_analytic=analytic_gradient(0.0, 0.0))
    # Too large an α makes θ grow geometrically; stop at overflow instead of warning.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            loss = cost(theta0, theta1, x, y)  # J at θ after `epoch` updates
            if not np.isfinite(loss.item()):
                result.rows.append((epoch, loss.item(), theta0.item(), theta1.item()))
                result.diverged = True
                break
            if epoch % every == 0:
                result.rows.append((epoch, loss.item(), theta0.item(), theta1.item()))
            optimizer.zero_grad()
            loss.backward()  # fills θ₀.grad = ∂J/∂θ₀ and θ₁.grad = ∂J/∂θ₁
            if epoch == 0:
                g0, g1 = theta0.grad, theta1.grad
                assert g0 is not None and g1 is not None  # backward has just filled them
                result.grad_autodiff = (g0.item(), g1.item())
            optimizer.step()
        else:
            final = cost(theta0, theta1, x, y).item()
            result.rows.append((epochs, final, theta0.item(), theta1.item()))
            result.diverged = not final < result.rows[0][1]
    result.theta0, result.theta1 = theta0.item(), theta1.item()
    return result


def stable_learning_rate() -> float:
    r"""The largest α for which gradient descent on :math:`J` converges: :math:`2/\lambda_{max}`.

    J is quadratic with Hessian :math:`H = \frac1m\sum_i [1, x_i]^T [1, x_i]`; each step
    multiplies the error along an eigenvector by :math:`1 - \alpha\lambda`, which shrinks
    only while :math:`\alpha < 2/\lambda`.
    """
    features = np.stack([np.ones_like(X), X], axis=1)
    hessian = features.T @ features / X.shape[0]
    return float(2.0 / np.linalg.eigvalsh(hessian).max())


def register(subparsers: Subparsers) -> None:
    """Add the ``linreg`` subcommand."""
    parser = subparsers.add_parser(
        "linreg",
        help="the textbook's linear regression by gradient descent",
        description="Fit h(x) = θ₀ + θ₁·x to x = [1, 2, 3, 4], y = [2, 4, 6, 8] by gradient "
        "descent on J(θ) = 1/(2m)·Σ(h − y)², with the gradient computed by automatic "
        "differentiation and checked against the analytic one.",
    )
    parser.add_argument("--lr", type=positive_float, default=0.01,
                        help="learning rate α (default: 0.01)")
    parser.add_argument("--epochs", type=positive_int, default=1000,
                        help="number of gradient-descent steps (default: 1000)")
    parser.add_argument("--every", type=positive_int, default=100,
                        help="print a row every this many epochs (default: 100)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run gradient descent and print the gradient check, the progress and the result."""
    result = gradient_descent(args.lr, args.epochs, args.every)
    m = X.shape[0]
    print("Linear regression by gradient descent: h(x) = θ₀ + θ₁·x")
    print(f"data: x = {_listing(X)}, y = {_listing(Y)}, m = {m} examples")
    print(f"cost: J(θ) = 1/(2m)·Σ(h − y)²; α = {args.lr:g}, {args.epochs} epochs, "
          "start θ₀ = θ₁ = 0")
    print()
    print("gradient at the first step: autodiff vs analytic 1/m·Σ(h − y)·[1, x]")
    print(f"{'':8}{'autodiff':>14}{'analytic':>14}{'difference':>13}")
    for name, auto, exact in zip(("∂J/∂θ₀", "∂J/∂θ₁"), result.grad_autodiff,
                                 result.grad_analytic):
        print(f"{name:8}{auto:14.6f}{exact:14.6f}{auto - exact:13.1e}")
    print()
    print(f"{'epoch':>6}{'J(θ)':>14}{'θ₀':>12}{'θ₁':>12}")
    for epoch, loss, theta0, theta1 in result.rows:
        print(f"{epoch:6d}{_number(loss, 14, 8)}{_number(theta0, 12, 6)}{_number(theta1, 12, 6)}")
    print()
    print(f"final: θ₀ = {_number(result.theta0, 0, 6)}, θ₁ = {_number(result.theta1, 0, 6)}")
    if result.diverged:
        print(f"θ diverges: α = {args.lr:g} is too large for this cost; gradient descent "
              f"converges here only for α < {stable_learning_rate():.4f} = 2/λ_max(Hessian of J).")
    else:
        print("θ converges toward θ₀ = 0, θ₁ = 2, the line y = 2x that fits the data exactly "
              "(more epochs get closer).")
    return 0


def _listing(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _number(value: float, width: int, decimals: int) -> str:
    """Fixed decimals for ordinary values; scientific notation once α made θ blow up."""
    if abs(value) < 1e6:
        return f"{value:{width}.{decimals}f}"
    return f"{value:{width}.3e}"
