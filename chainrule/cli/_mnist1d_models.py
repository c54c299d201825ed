r"""The MNIST-1D paper's models (Greydanus & Kobak; ``notebooks/models.py`` of
github.com/greydanus/mnist1d), with the paper's parameter names so a state dict reads like
the PyTorch original's.

* logistic regression: ``Linear(40, 10)`` (``nn.MLP([40, 10])`` here, as for every dataset);
* :class:`PaperMLP`: 40 → 100 → 100 → 10 with ReLU and a skip connection around the
  second layer, :math:`h_1 = \mathrm{relu}(W_1x + b_1)`,
  :math:`h_2 = h_1 + \mathrm{relu}(W_2h_1 + b_2)`, logits :math:`W_3h_2 + b_3`;
* :class:`PaperCNN`: three 1-D convolutions with stride 2 (40 → 19 → 10 → 5 positions,
  25 channels) and ReLU, flattened to 125 features, then ``Linear(125, 10)``;
* :class:`PaperGRU`: a bidirectional GRU with 6 hidden units reading the sequence one value
  per step, every step's output (40 steps × 2 directions × 6 = 480 features) flattened,
  then ``Linear(480, 10)``.
"""

from __future__ import annotations

from typing import Any

from chainrule.nn import (
    GELU,
    GRU,
    Conv1d,
    LeakyReLU,
    Linear,
    Module,
    ReLU,
    Sigmoid,
    Softplus,
    Tanh,
)
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


class PaperCNN(Module):
    r"""The paper's CNN: ``Conv1d(1, 25, 5, stride=2, padding=1)``, then twice
    ``Conv1d(25, 25, 3, stride=2, padding=1)``, each followed by the activation (ReLU in the
    paper); the ``(N, 25, 5)`` feature maps flattened to 125 features; ``Linear(125, 10)``.

    A length-:math:`L` input leaves each convolution with
    :math:`\lfloor (L + 2p - k)/s \rfloor + 1` positions: 40 → 19 → 10 → 5.

    Args:
        length: the sequences' length (40). n_out: classes (10). channels: the
            convolutions' output channels (25).
        activation: an ``--activation`` name.

    Shape:
        - Input: ``(N, length)`` (one channel) or ``(N, 1, length)``. Output: ``(N, n_out)``.
    """

    def __init__(self, length: int = 40, n_out: int = 10, channels: int = 25,
                 activation: str = "relu") -> None:
        super().__init__()
        self.conv1 = Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = Conv1d(channels, channels, 3, stride=2, padding=1)
        positions = length
        for kernel in (5, 3, 3):
            positions = (positions + 2 - kernel) // 2 + 1
        self.linear = Linear(channels * positions, n_out)
        self.act = ACTIVATION_MODULES[activation]()

    def forward(self, x: Any) -> Tensor:
        x = x.reshape(x.shape[0], 1, x.shape[-1])
        h = self.act(self.conv1(x))
        h = self.act(self.conv2(h))
        h = self.act(self.conv3(h))
        return self.linear(h.reshape(h.shape[0], -1))


class PaperGRU(Module):
    r"""The paper's GRU (its ``GRUBase``): ``GRU(1, 6, batch_first=True,
    bidirectional=True)`` over the sequence, one value per time step, from a zero state;
    the output at every step, both directions (``(N, 40, 12)``), flattened to 480 features;
    ``Linear(480, 10)``.

    A linear head over all steps, not only the last: position matters in MNIST-1D, and the
    head reads it from where in the sequence each feature appears.

    Args:
        length: the sequences' length (40). n_out: classes (10). hidden: the GRU's hidden
            size per direction (6).

    Shape:
        - Input: ``(N, length)`` or ``(N, length, 1)``. Output: ``(N, n_out)``.
    """

    def __init__(self, length: int = 40, n_out: int = 10, hidden: int = 6) -> None:
        super().__init__()
        self.gru = GRU(1, hidden, batch_first=True, bidirectional=True)
        self.linear = Linear(length * 2 * hidden, n_out)

    def forward(self, x: Any) -> Tensor:
        output, _ = self.gru(x.reshape(x.shape[0], -1, 1))
        return self.linear(output.reshape(output.shape[0], -1))
