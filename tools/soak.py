r"""Memory soak: thousands of training steps of an MLP must not grow the process.

``python tools/soak.py`` (``make soak``) trains ``nn.MLP([64, 128, 10])`` on the digits
training split with Adam, batch 32, for 5,000 steps, **with the garbage collector
disabled**, and checks:

* after every step, the step's loss and logits Tensors are dead (weak references to them
  are cleared by reference counting alone: the graph has no cycles), and every 250 steps
  no graph ``Node`` is alive at all;
* resident memory (``/proc/self/statm``) after the warm-up grows by less than 5 MB over
  the remaining steps.

It prints the figures and exits 1 on failure. ``tests/reliability/test_soak.py`` runs a
short version (300 steps).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import weakref
from dataclasses import dataclass, field
from typing import Any

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.autodiff import Node

MB = 1024 * 1024


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (Linux)."""
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def live_nodes() -> int:
    """How many graph nodes exist (gc.get_objects lists them even with gc disabled)."""
    return sum(1 for obj in gc.get_objects() if type(obj) is Node)


@dataclass
class SoakResult:
    steps: int
    warmup: int
    rss_after_warmup: int = 0
    rss_end: int = 0
    max_live_nodes: int = 0
    leaked_steps: list[int] = field(default_factory=list)  # steps whose tensors survived
    final_loss: float = float("nan")

    @property
    def rss_growth(self) -> int:
        return self.rss_end - self.rss_after_warmup


def _batches(seed: int) -> Any:
    (X, y), _ = cr.data.load_dataset("digits")
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=32, shuffle=True,
                                seed=seed)
    while True:  # epochs without end; the loader reshuffles each time
        yield from loader


def _step(model: nn.Module, opt: optim.Optimizer, x: Any, y: Any) -> tuple[Any, float]:
    """One training step; returns weak references to its loss and logits, and the loss."""
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return (weakref.ref(loss), weakref.ref(logits)), loss.item()


def soak(steps: int = 5000, warmup: int = 500, node_every: int = 250, seed: int = 0
         ) -> SoakResult:
    """Train for ``steps`` steps with gc disabled; see the module docstring."""
    cr.manual_seed(seed)
    model = nn.MLP([64, 128, 10])
    opt = optim.Adam(model.parameters(), lr=1e-3)
    batches = _batches(seed)
    result = SoakResult(steps, warmup)
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for step in range(1, steps + 1):
            x, y = next(batches)
            refs, result.final_loss = _step(model, opt, x, y)
            if any(ref() is not None for ref in refs):
                result.leaked_steps.append(step)
            if step % node_every == 0 or step == steps:
                result.max_live_nodes = max(result.max_live_nodes, live_nodes())
            if step == warmup:
                result.rss_after_warmup = rss_bytes()
        result.rss_end = rss_bytes()
    finally:
        if was_enabled:
            gc.enable()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--limit-mb", type=float, default=5.0)
    args = parser.parse_args(argv)
    r = soak(args.steps, args.warmup)
    growth = r.rss_growth / MB
    print(f"soak: {r.steps} Adam steps of MLP 64-128-10 on digits (batch 32), gc disabled")
    print(f"  final training loss      {r.final_loss:.4f}")
    print(f"  RSS after {r.warmup} warm-up steps {r.rss_after_warmup / MB:8.2f} MB")
    print(f"  RSS after {r.steps} steps       {r.rss_end / MB:8.2f} MB")
    print(f"  growth                   {growth:+8.2f} MB (limit {args.limit_mb} MB)")
    print(f"  steps whose loss/logits outlived the step: {len(r.leaked_steps)}")
    print(f"  graph nodes alive between steps (max):     {r.max_live_nodes}")
    ok = growth < args.limit_mb and not r.leaked_steps and r.max_live_nodes == 0
    print("soak: ok" if ok else "soak: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
