"""A two-layer Transformer encoder (d_model 32, 4 heads) learns to reverse sequences of 8
digits: ≥ 0.99 token accuracy on 1,000 held-out sequences (tools/reverse_digits.py, the
model and recipe that ``make reverse`` runs, here with fewer steps). Chance is 0.1; after
10 steps the model is at about 0.2, so the threshold measures learning."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tools") not in sys.path:  # the script lives beside the package
    sys.path.insert(0, str(ROOT / "tools"))

import reverse_digits  # noqa: E402

#: Adam steps of 64 sequences; with seeds 0-3 the model passes 0.99 by step 50.
STEPS = 80


def test_transformer_encoder_learns_to_reverse_digit_sequences() -> None:
    model, accuracy, (X_test, Y_test) = reverse_digits.train(steps=STEPS, seed=0)
    assert accuracy >= 0.99
    # it attends where reversal needs it: in some layer, output position i puts most of its
    # weight on input position 7 − i
    maps = reverse_digits.attention_maps(model, X_test[:100])
    anti = np.arange(7, -1, -1)
    on_target = [m.numpy()[:, np.arange(8), anti].mean() for m in maps]
    assert max(on_target) > 0.5, on_target
