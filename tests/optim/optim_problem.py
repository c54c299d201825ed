"""The shared test problem: a smooth, non-convex objective of two parameters of different
shapes, written once for chainrule and once for PyTorch, and a stepping loop for each."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import chainrule as cr

_RNG = np.random.default_rng(1234)
A0 = _RNG.normal(size=(3, 2))
B0 = _RNG.normal(size=(2,))
Y = np.array([0.5, -1.0, 2.0])


def objective_cr(A: cr.Tensor, b: cr.Tensor) -> cr.Tensor:
    r"""J(A, b) = ‖A b − y‖² + ½ Σ sin(3A) + 0.1 Σ b⁴."""
    r = A @ b - Y
    return (r * r).sum() + 0.5 * cr.sin(3 * A).sum() + 0.1 * (b**4).sum()


def objective_torch(A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r = A @ b - torch.from_numpy(Y)
    return (r * r).sum() + 0.5 * torch.sin(3 * A).sum() + 0.1 * (b**4).sum()


def cr_params(dtype: Any = np.float64) -> list[cr.Tensor]:
    return [cr.tensor(A0.astype(dtype), requires_grad=True),
            cr.tensor(B0.astype(dtype), requires_grad=True)]


def torch_params(dtype: Any = torch.float64) -> list[torch.Tensor]:
    return [torch.tensor(A0, dtype=dtype, requires_grad=True),
            torch.tensor(B0, dtype=dtype, requires_grad=True)]


def run_cr(opt: cr.optim.Optimizer, params: list[cr.Tensor], steps: int,
           sign: float = 1.0, scheduler: Any = None) -> list[np.ndarray]:
    """``steps`` optimiser steps on sign·J; the parameters after each, flattened."""
    path = []
    for _ in range(steps):
        opt.zero_grad()
        (sign * objective_cr(*params)).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        path.append(np.concatenate([p.data.ravel() for p in params]))
    return path


def run_torch(opt: torch.optim.Optimizer, params: list[torch.Tensor], steps: int,
              sign: float = 1.0, scheduler: Any = None) -> list[np.ndarray]:
    path = []
    for _ in range(steps):
        opt.zero_grad()
        (sign * objective_torch(*params)).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        path.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
    return path
