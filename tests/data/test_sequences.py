"""cr.data.digit_sequences: the reversal and sorting tasks, reproducible, with no sequence
in both splits, and errors that say what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("task, target", [("reverse", lambda x: x[:, ::-1]),
                                          ("sort", lambda x: np.sort(x, axis=1))])
def test_targets_follow_the_task(task, target) -> None:
    (X, Y), (X_test, Y_test) = cr.data.digit_sequences(task, n_train=500, n_test=100,
                                                       length=6, seed=3)
    assert X.shape == Y.shape == (500, 6) and X_test.shape == (100, 6)
    assert X.dtype == np.int64 and Y.dtype == np.int64
    for x, y in ((X, Y), (X_test, Y_test)):
        np.testing.assert_array_equal(y.numpy(), target(x.numpy()))
    assert X.numpy().min() == 0 and X.numpy().max() == 9


def test_no_sequence_is_in_both_splits_and_the_draw_is_reproducible() -> None:
    # 3 digits over 3 symbols: 27 sequences exist, all drawn, so a repeat would be certain
    # with replacement
    (X, _), (X_test, _) = cr.data.digit_sequences(n_train=20, n_test=7, length=3, digits=3)
    rows = {tuple(r) for r in X.tolist()} | {tuple(r) for r in X_test.tolist()}
    assert len(rows) == 27
    (again, _), _ = cr.data.digit_sequences(n_train=20, n_test=7, length=3, digits=3)
    np.testing.assert_array_equal(X.numpy(), again.numpy())
    (other, _), _ = cr.data.digit_sequences(n_train=20, n_test=7, length=3, digits=3, seed=1)
    assert not np.array_equal(X.numpy(), other.numpy())


@pytest.mark.parametrize("kwargs, message", [
    ({"task": "copy"}, r"^digit_sequences: unknown task 'copy' \(choose from reverse, sort\)$"),
    ({"n_train": 30, "length": 3, "digits": 3},
     r"^digit_sequences: asked for 1030 distinct sequences, but only 27 of length 3 over 3 "
     r"digits exist$"),
    ({"digits": 1}, r"^digit_sequences: digits must be an int >= 2, got 1$"),
    ({"length": 40}, r"^digit_sequences: 10\^40 sequences are too many"),
])
def test_bad_arguments_raise_value_errors(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        cr.data.digit_sequences(**kwargs)
