r"""The MNIST-1D paper's models (Greydanus & Kobak; ``notebooks/models.py`` of
github.com/greydanus/mnist1d), with the paper's parameter names so a state dict reads like
the PyTorch original's.

* logistic regression: ``Linear(40, 10)`` (``nn.MLP([40, 10])`` here, as for every dataset);
* :class:`PaperMLP`: 40 → 100 → 100 → 10 with ReLU and a skip connection around the
  second layer, :math:`h_1 = \mathrm{relu}(W_1x + b_1)`,
  :math:`h_2 = h_1 + \mathrm{relu}(W_2h_1 + b_2)`, logits :math:`W_3h_2 + b_3`.
"""

from __future__ import annotations

from typing import Any

from chainrule.nn import GELU, LeakyReLU, Linear, Module, ReLU, Sigmoid, Softplus, Tanh
from chainrule.tensor import Tensor

#: ``--activation`` name → the module applied after each hidden layer.
ACTIVATION_MODULES: dict[str, type[Module]] = {
    "relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "leaky_relu": LeakyReLU, "gelu": GELU,
    "softplus": Softplus,
}


class PaperMLP(Module):
    r"""The paper's MLP: :math:`h_1 = a(W_1x + b_1)`, :math:`h_2 = h_1 + a(W_2h_1 + b_2)`,
    logits :math:`W_3h_2 + b_3` (``a`` is ReLU in the paper).

    Args:
        n_in: input features (40). n_out: classes (10). hidden: the width of both hidden
            layers (100; equal, for the skip connection).
        activation: an ``--activation`` name.

    Shape:
        - Input: ``(N, n_in)``. Output: ``(N, n_out)``.
    """

    def __init__(self, n_in: int = 40, n_out: int = 10, hidden: int = 100,
                 activation: str = "relu") -> None:
        super().__init__()
        self.linear1 = Linear(n_in, hidden)
        self.linear2 = Linear(hidden, hidden)
        self.linear3 = Linear(hidden, n_out)
        self.act = ACTIVATION_MODULES[activation]()

    def forward(self, x: Any) -> Tensor:
        h = self.act(self.linear1(x))
        h = h + self.act(self.linear2(h))
        return self.linear3(h)

