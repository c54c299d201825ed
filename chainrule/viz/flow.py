r"""Gradient flow through a network: where backpropagation loses (or amplifies) the signal.

By the chain rule the gradient reaching layer l is a product over the layers above it,
:math:`\delta_l = W_{l+1}^\top \big(\delta_{l+1} \odot f'(z_{l+1})\big)`. Each sigmoid
factor is at most ¼ (σ' = σ(1 − σ)), so through ten sigmoid layers the first layer's
gradient is orders of magnitude below the last's: the *vanishing gradient*. ReLU's factor
is 1 where the unit is active, but a unit that is never active (a *dead ReLU*) passes
nothing. :func:`gradient_flow` measures both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import chainrule.nn.functional as F
from chainrule.autodiff import Traced
from chainrule.nn import Module
from chainrule.tensor import Tensor, as_tensor
from chainrule.viz.plots import SATURATION, new_figure, save_figure

#: ``loss_fn(output, targets)``, as :func:`gradient_flow` calls it.
LossFunction = Callable[[Tensor, Tensor], Tensor]

# Activation modules by class name -> how to read "saturated" from their outputs.
_SATURATING = {"Sigmoid": "sigmoid", "Tanh": "tanh"}
_RECTIFIERS = ("ReLU",)


@dataclass
class ParamGrad:
    """Gradient statistics of one parameter: ‖g‖₂, mean, std and ‖g‖/‖θ‖."""

    name: str
    shape: tuple[int, ...]
    norm: float
    mean: float
    std: float
    relative: float
    flag: str = ""


@dataclass
class ActivationStats:
    r"""One activation layer on the batch: the fraction of dead units (ReLU: output 0 for
    every sample), of saturated outputs (sigmoid/tanh: local derivative below 5 % of its
    peak, σ' ≤ 0.0125 or tanh' ≤ 0.05), and the mean local derivative f'(z) — the factor
    this layer multiplies backpropagated gradients by (σ' ≤ ¼ always)."""

    name: str
    kind: str
    dead: float
    saturated: float
    mean_slope: float


@dataclass
class GradientFlowReport:
    r"""What :func:`gradient_flow` found. ``str(report)`` is a table; :meth:`plot` draws it.

    Attributes:
        params: one :class:`ParamGrad` per parameter, input side first.
        activations: one :class:`ActivationStats` per activation module (when data was given).
        ratio: ‖∇W_last‖ / ‖∇W_first‖ over the weight matrices (∞ if the first is 0).
        vanishing: the first weight's gradient is ``threshold``× (default 100) or more
            below the last's.
        exploding: the first weight's gradient is ``threshold``× or more above the last's,
            a gradient exceeds ``explode_norm``, or one is not finite.
        flags: the findings, in words.
    """

    params: list[ParamGrad]
    activations: list[ActivationStats] = field(default_factory=list)
    ratio: float = 1.0
    vanishing: bool = False
    exploding: bool = False
    flags: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        width = max([len("parameter")] + [len(p.name) for p in self.params])
        lines = [f"{'parameter':<{width}}  {'shape':<12} {'‖grad‖':>10} {'mean':>10} "
                 f"{'std':>10} {'‖g‖/‖θ‖':>10}  flag"]
        for p in self.params:
            shape = "×".join(str(n) for n in p.shape) or "scalar"
            lines.append(f"{p.name:<{width}}  {shape:<12} {p.norm:>10.3e} {p.mean:>10.2e} "
                         f"{p.std:>10.2e} {p.relative:>10.2e}  {p.flag}")
        if self.activations:
            lines.append("")
            header = ("activation", "kind", "dead", "saturated", "mean f'")
            lines.append(f"{header[0]:<{width}}  {header[1]:<12} {header[2]:>10} "
                         f"{header[3]:>10} {header[4]:>10}")
            for a in self.activations:
                lines.append(f"{a.name:<{width}}  {a.kind:<12} {a.dead:>10.1%} "
                             f"{a.saturated:>10.1%} {a.mean_slope:>10.3f}")
        lines.append("")
        lines.append(f"‖∇W_last‖ / ‖∇W_first‖ = {self.ratio:.3g}")
        lines.extend(self.flags or ["gradients flow: no vanishing or exploding detected"])
        return "\n".join(lines)

    def plot(self, path: str | Path | None = None, title: str | None = None) -> Any:
        """Bars of each parameter's gradient norm (log scale; flagged ones in red) and, when
        recorded, the dead/saturated fractions per activation layer."""
        panels = 2 if self.activations else 1
        fig, axes = new_figure(1, panels, size=(7 * panels, 5))
        ax = axes[0, 0]
        names = [p.name for p in self.params]
        norms = np.array([p.norm for p in self.params])
        tiny = np.finfo(np.float64).tiny
        colors = ["#d62728" if p.flag else "#1f77b4" for p in self.params]
        ax.bar(range(len(names)), np.maximum(norms, tiny), color=colors)
        ax.set_yscale("log")
        positive = norms[norms > 0]
        if positive.size:  # a decade of headroom below the smallest bar keeps it visible
            ax.set_ylim(positive.min() / 10, positive.max() * 3)
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_xlabel("parameter (input side → output side)")
        ax.set_ylabel("gradient norm ‖∂L/∂θ‖₂ (log scale)")
        ax.set_title(f"gradient norm per parameter (red: flagged); "
                     f"‖∇W_last‖/‖∇W_first‖ = {self.ratio:.3g}", fontsize=10)
        ax.grid(alpha=0.3, axis="y")
        if self.activations:
            _plot_activations(axes[0, 1], self.activations)
        fig.suptitle(title or ("; ".join(self.flags) or "gradient flow"), fontsize=11)
        save_figure(fig, path)
        return fig


def _plot_activations(ax: Any, stats: list[ActivationStats]) -> None:
    # Only the measures this net has: "dead" is a ReLU's, "saturated" a sigmoid's or tanh's.
    index = np.arange(len(stats))
    bars = []
    if any(s.kind == "relu" for s in stats):
        bars.append(([s.dead for s in stats], "#7f7f7f", "dead units (ReLU)", "dead"))
    saturating = sorted({s.kind for s in stats if s.kind != "relu"})
    if saturating:
        bars.append(([s.saturated for s in stats], "#ff7f0e",
                     f"saturated outputs ({'/'.join(saturating)})", "saturated"))
    width = 0.8 / len(bars)
    for k, (values, color, label, _) in enumerate(bars):
        ax.bar(index + (k - (len(bars) - 1) / 2) * width, values, width=width, color=color,
               label=label)
    ax.plot(index, [s.mean_slope for s in stats], "D-", color="#2ca02c",
            label="mean local derivative f'(z)")
    ax.set_xticks(index, [s.name for s in stats], rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("activation layer")
    ax.set_ylabel("fraction / f'")
    measures = ", ".join([short for *_, short in bars] + ["mean f'"])
    ax.set_title(f"per activation layer on the batch: {measures}", fontsize=10)
    ax.legend(fontsize=9)


def _grad_array(param: Traced) -> np.ndarray | None:
    grad = param.grad
    if grad is None:
        return None
    return np.asarray(grad.data if isinstance(grad, Traced) else grad, dtype=np.float64)


def _activation_stats(name: str, kind: str, out: np.ndarray) -> ActivationStats:
    out = np.asarray(out, dtype=np.float64)
    units = out.reshape(-1, out.shape[-1]) if out.ndim > 1 else out.reshape(1, -1)
    if kind == "relu":
        # relu'(z) = 1 where the output is positive, 0 elsewhere (relu'(0) = 0).
        dead = float(np.mean(np.all(units <= 0, axis=0)))
        return ActivationStats(name, kind, dead, 0.0, float(np.mean(units > 0)))
    # Read the local derivative from the output: σ' = s(1 − s), tanh' = 1 − t².
    if kind == "sigmoid":
        slope, peak = units * (1 - units), 0.25
    else:
        slope, peak = 1 - units * units, 1.0
    saturated = float(np.mean(slope <= SATURATION * peak))
    return ActivationStats(name, kind, 0.0, saturated, float(np.mean(slope)))


def _record_activations(model: Module
                        ) -> tuple[list[tuple[str, str, list[np.ndarray]]], list[Module]]:
    """Wrap each activation module's ``forward`` to keep its output (a forward hook)."""
    recorded: list[tuple[str, str, list[np.ndarray]]] = []
    patched: list[Module] = []
    for name, module in model.named_modules():
        cls = type(module).__name__
        kind = "relu" if cls in _RECTIFIERS else _SATURATING.get(cls)
        if kind is None:
            continue
        outputs: list[np.ndarray] = []
        original = module.forward

        def forward(*args: Any, _original: Any = original,
                    _outputs: list[np.ndarray] = outputs, **kwargs: Any) -> Any:
            out = _original(*args, **kwargs)
            _outputs.append(out.data if isinstance(out, Traced) else np.asarray(out))
            return out

        # An instance attribute shadows the class's forward, and deleting it restores it.
        module.__dict__["forward"] = forward
        patched.append(module)
        recorded.append((f"{name} {cls}" if name else cls, kind, outputs))
    return recorded, patched


def _default_loss(out: Tensor, y: Tensor) -> Tensor:
    target = y.data if isinstance(y, Traced) else np.asarray(y)
    if target.dtype.kind in "iu" and out.ndim == 2:
        return F.cross_entropy(out, y)
    return F.mse_loss(out, y if target.shape == out.shape else y.reshape(*out.shape))


def _backprop(model: Module, x: Any, y: Any, loss_fn: LossFunction | None
              ) -> list[ActivationStats]:
    if y is None:
        raise ValueError("gradient_flow: pass the targets y with the inputs x (for the loss)")
    x, y = as_tensor(x, "gradient_flow"), as_tensor(y, "gradient_flow")
    recorded, patched = _record_activations(model)
    try:
        model.zero_grad()
        out = model(x)
    finally:
        for module in patched:
            del module.__dict__["forward"]
    loss = (loss_fn or _default_loss)(out, y)
    loss.backward()
    stats: list[ActivationStats] = []
    for name, kind, outputs in recorded:
        for out_data in outputs:
            stats.append(_activation_stats(name, kind, out_data))
    return stats


def _param_rows(model: Module) -> list[ParamGrad]:
    rows: list[ParamGrad] = []
    for name, param in model.named_parameters():
        g = _grad_array(param)
        if g is None:
            continue
        theta_norm = float(np.linalg.norm(np.asarray(param.data, dtype=np.float64)))
        norm = float(np.linalg.norm(g))
        rows.append(ParamGrad(name, tuple(param.shape), norm, float(g.mean()), float(g.std()),
                              norm / theta_norm if theta_norm > 0 else float("inf")))
    return rows


def _judge(report: GradientFlowReport, threshold: float, explode_norm: float) -> None:
    weights = [p for p in report.params if len(p.shape) >= 2] or report.params
    first, last = weights[0], weights[-1]
    report.ratio = last.norm / first.norm if first.norm > 0 else float("inf")
    if len(weights) > 1 and report.ratio >= threshold:
        report.vanishing = True
        for p in report.params:
            if p.norm * threshold <= last.norm:
                p.flag = "vanishing"
        report.flags.append(f"vanishing gradients: the first layer's ({first.name}) gradient "
                            f"is {report.ratio:.3g}× smaller than the last's ({last.name})")
    if len(weights) > 1 and report.ratio <= 1 / threshold:
        report.exploding = True
        first.flag = "exploding"
        report.flags.append(f"exploding gradients: the first layer's ({first.name}) gradient "
                            f"is {1 / report.ratio:.3g}× larger than the last's ({last.name})")
    for p in report.params:
        if not np.isfinite(p.norm) or p.norm > explode_norm:
            report.exploding = True
            p.flag = "exploding"
            report.flags.append(f"exploding gradient: ‖∇{p.name}‖ = {p.norm:.3g}")
    for a in report.activations:
        if a.dead >= 0.5:
            report.flags.append(f"{a.dead:.0%} of the units after {a.name} are dead ReLUs")
        if a.saturated >= 0.5:
            report.flags.append(f"{a.saturated:.0%} of the outputs of {a.name} are saturated")


def gradient_flow(model: Module, x: Any = None, y: Any = None,
                  loss_fn: LossFunction | None = None, threshold: float = 100.0,
                  explode_norm: float = 1e3) -> GradientFlowReport:
    r"""Per-parameter gradient statistics of ``model``, with flags where gradients vanish or
    explode, and the fraction of dead ReLUs and saturated sigmoid/tanh units.

    With data (``x``, ``y``) it zeroes the gradients, runs the model (recording each
    activation module's output), computes ``loss_fn(model(x), y)`` and backpropagates;
    without data it reads the ``.grad`` already on the parameters.

    The vanishing test compares the weight matrices' gradient norms at the two ends:
    ``‖∇W_last‖ / ‖∇W_first‖ ≥ threshold`` flags vanishing (and marks every weight whose
    gradient is that far below the last's); ``≤ 1/threshold``, a norm above
    ``explode_norm`` or a non-finite gradient flags exploding.

    Args:
        model: an ``nn.Module``.
        x, y: a batch of inputs and targets, or ``None`` to use existing gradients.
        loss_fn: ``loss_fn(output, y)``; default cross-entropy for integer targets and a
            2-D output, else mean squared error.
        threshold: the ratio that counts as vanishing/exploding.
        explode_norm: a gradient norm above which a parameter counts as exploding.

    Returns:
        A :class:`GradientFlowReport` (``print`` it for a table; ``.plot()`` for bars).

    Raises:
        ValueError: ``x`` without ``y``, or no parameter has a gradient.
    """
    activations = _backprop(model, x, y, loss_fn) if x is not None else []
    rows = _param_rows(model)
    if not rows:
        raise ValueError("gradient_flow: no parameter has a gradient; call loss.backward() "
                         "first or pass a batch x, y")
    report = GradientFlowReport(rows, activations)
    _judge(report, threshold, explode_norm)
    return report
