r"""What :func:`~chainrule.train.fit` does differently with ``distributed=True``.

One object, :class:`_Synchronizer`, keeps the ranks in step:

* at the start, every rank takes rank 0's parameters and buffers (so ranks that
  initialised differently start equal);
* every step, one ``Allreduce`` of the gradient arena (:mod:`chainrule.distributed.gradients`)
  averages the gradients by sample count and sums the batch's count and loss, so each rank
  applies the union batch's gradient and all ranks see the same loss (a ``nan`` on one rank
  stops every rank at the same step, with the same error);
* a rank whose loader has run out still joins each step with no samples until every
  rank's has (shards may differ in length by one sample, loaders by one batch);
* at the end of an epoch, the losses and the predictions the metrics need are reduced over
  the ranks, and rank 0's buffers (e.g. BatchNorm's running statistics, which each rank
  updates from its own batches) are copied to the others, as PyTorch's DDP does.

Only rank 0 shows a progress bar; every rank gets the same logs, so callbacks (early
stopping…) decide the same on every rank.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import distributed
from chainrule.distributed.collectives import (
    all_gather_objects,
    all_gather_rows,
    broadcast_arrays,
)
from chainrule.distributed.gradients import GradientArena


def _parameters(optimizer: Any) -> list[Any]:
    """The optimizer's parameters in its order (the same on every rank)."""
    try:
        return [p for group in optimizer.param_groups for p in group["params"]]
    except (AttributeError, KeyError, TypeError):
        raise TypeError(
            "fit(distributed=True): the optimizer must have PyTorch's param_groups (a list "
            f"of dicts with 'params'), got {type(optimizer).__name__}"
        ) from None


def _buffers(model: Any) -> list[np.ndarray]:
    buffers = getattr(model, "buffers", None)
    if not callable(buffers):
        return []
    return [b.data for b in buffers() if b is not None]


class _Synchronizer:
    """Keeps the ranks of one ``fit(distributed=True)`` in step (see the module)."""

    def __init__(self, model: Any, optimizer: Any) -> None:
        distributed.init()
        self.model = model
        self.is_main = distributed.is_main()
        params = _parameters(optimizer)
        # the model's frozen parameters too: every rank must hold the same model
        model_params = getattr(model, "parameters", None)
        extra = list(model_params()) if callable(model_params) else []
        known = {id(p) for p in params}
        everything = params + [p for p in extra if id(p) not in known]
        broadcast_arrays([p.data for p in everything] + _buffers(model), root=0)
        self.arena = GradientArena(params)

    def zero_grad(self) -> None:
        """Zero the gradients in the arena (instead of ``optimizer.zero_grad()``)."""
        self.arena.zero()

    def average(self, count: int, loss: float) -> tuple[int, float]:
        """Average the gradients; return the union batch's size and mean loss."""
        total, loss_sum = self.arena.average(float(count), loss * count)
        return int(round(total)), (loss_sum / total if total else 0.0)

    def end_epoch(self) -> None:
        """Copy rank 0's buffers to every rank."""
        broadcast_arrays(_buffers(self.model), root=0)

    def merge(self, record: Any) -> Any:
        """``record`` (an epoch's ``total``, ``count``, ``preds``, ``targets``) summed and
        gathered over the ranks, in place."""
        sums = distributed.all_reduce(np.array([record.total, record.count], dtype=np.float64))
        record.total, record.count = float(sums[0]), int(round(sums[1]))
        if record.keep:
            record.preds = _gather_rows(record.preds)
            record.targets = _gather_rows(record.targets)
        return record


def _gather_rows(parts: list[np.ndarray]) -> list[np.ndarray]:
    """Every rank's rows, in rank order, as one part (none when no rank has any); a rank
    without batches sends an empty array of the others' trailing shape and dtype."""
    local = np.concatenate(parts) if parts else None
    kinds = all_gather_objects(None if local is None else (local.shape[1:], local.dtype.str))
    known = [kind for kind in kinds if kind is not None]
    if not known:
        return []
    if local is None:
        shape, dtype = known[0]
        local = np.empty((0, *shape), dtype=np.dtype(dtype))
    return [all_gather_rows(local)]
