"""TensorDataset and DataLoader: batching, per-epoch reshuffling with seeds, drop_last,
argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, TensorDataset


def _dataset(n: int = 10) -> TensorDataset:
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(cr.from_numpy(X), cr.from_numpy(y))


def _epoch_order(loader: DataLoader) -> list[int]:
    return [int(i) for _, y in loader for i in y.tolist()]


def test_tensor_dataset_item_is_a_tuple_of_matching_rows():
    ds = _dataset(5)
    x, y = ds[3]
    assert isinstance(x, cr.Tensor) and isinstance(y, cr.Tensor)
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    assert len(ds) == 5


def test_tensor_dataset_indexes_by_slice_and_index_array():
    ds = _dataset(5)
    assert ds[1:3][1].tolist() == [1, 2]
    assert ds[np.array([4, 0])][1].tolist() == [4, 0]


def test_tensor_dataset_accepts_arrays_and_lists():
    ds = TensorDataset(np.zeros((3, 2)), [1, 2, 3])
    assert all(isinstance(t, cr.Tensor) for t in ds.tensors)
    assert ds[2][1].item() == 3


def test_tensor_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"TensorDataset: size mismatch.*\[3, 4\]"):
        TensorDataset(cr.zeros(3, 2), cr.zeros(4))


def test_tensor_dataset_rejects_no_tensors_and_0d_tensors():
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(cr.tensor(1.0))


def test_batches_in_order_with_a_smaller_last_batch():
    loader = DataLoader(_dataset(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x0, y0 = batches[0]
    assert x0.shape == (4, 2) and x0.dtype == np.float32 and y0.dtype == np.int64
    np.testing.assert_array_equal(x0.numpy(), np.arange(8, dtype=np.float32).reshape(4, 2))


def test_batches_carry_no_graph_even_from_tensors_that_require_grad():
    X = cr.tensor(np.ones((6, 2)), requires_grad=True)
    x, = next(iter(DataLoader(TensorDataset(X), batch_size=3)))
    assert not x.requires_grad and x.is_leaf


def test_drop_last_drops_the_short_batch():
    loader = DataLoader(_dataset(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[1].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_drop_last_keeps_a_full_last_batch():
    loader = DataLoader(_dataset(8), batch_size=4, drop_last=True)
    assert len(loader) == 2 and len(list(loader)) == 2


def test_default_batch_size_is_one():
    loader = DataLoader(_dataset(3))
    assert len(loader) == 3
    assert [b[1].shape for b in loader] == [(1,), (1,), (1,)]


def test_shuffle_visits_every_sample_once_per_epoch():
    loader = DataLoader(_dataset(10), batch_size=3, shuffle=True, seed=0)
    order = _epoch_order(loader)
    assert sorted(order) == list(range(10))
    assert order != list(range(10))


def test_shuffle_rows_stay_paired_with_their_targets():
    loader = DataLoader(_dataset(10), batch_size=4, shuffle=True, seed=1)
    for x, y in loader:
        np.testing.assert_array_equal(x.numpy()[:, 0], 2 * y.numpy().astype(np.float32))


def test_shuffle_reshuffles_every_epoch():
    loader = DataLoader(_dataset(20), batch_size=5, shuffle=True, seed=3)
    first, second = _epoch_order(loader), _epoch_order(loader)
    assert sorted(first) == sorted(second) == list(range(20))
    assert first != second


def test_same_seed_gives_the_same_sequence_of_epochs():
    a = DataLoader(_dataset(20), batch_size=5, shuffle=True, seed=7)
    b = DataLoader(_dataset(20), batch_size=5, shuffle=True, seed=7)
    assert [_epoch_order(a) for _ in range(3)] == [_epoch_order(b) for _ in range(3)]


def test_different_seeds_give_different_orders():
    a = DataLoader(_dataset(20), batch_size=5, shuffle=True, seed=7)
    b = DataLoader(_dataset(20), batch_size=5, shuffle=True, seed=8)
    assert _epoch_order(a) != _epoch_order(b)


def test_without_seed_manual_seed_makes_shuffling_reproducible():
    loader = DataLoader(_dataset(20), batch_size=5, shuffle=True)
    cr.manual_seed(11)
    first = [_epoch_order(loader) for _ in range(2)]
    cr.manual_seed(11)
    again = [_epoch_order(loader) for _ in range(2)]
    assert first == again and first[0] != first[1]


def test_seeded_loader_does_not_consume_the_default_generator():
    cr.manual_seed(5)
    expected = cr.rand(3).tolist()
    cr.manual_seed(5)
    list(DataLoader(_dataset(10), batch_size=2, shuffle=True, seed=0))
    assert cr.rand(3).tolist() == expected


def test_shuffle_with_drop_last_gives_full_batches_of_distinct_samples():
    loader = DataLoader(_dataset(10), batch_size=3, shuffle=True, seed=2, drop_last=True)
    order = _epoch_order(loader)
    assert len(order) == 9 and len(set(order)) == 9


def test_generic_dataset_samples_are_stacked():
    class Squares:
        def __len__(self) -> int:
            return 5

        def __getitem__(self, i: int) -> tuple[np.ndarray, float]:
            return np.array([i, i], dtype=np.float32), float(i * i)

    batches = list(DataLoader(Squares(), batch_size=2))
    x, y = batches[0]
    assert x.shape == (2, 2) and y.tolist() == [0.0, 1.0]
    assert batches[-1][1].tolist() == [16.0]


def test_empty_dataset_gives_no_batches():
    loader = DataLoader(TensorDataset(np.zeros((0, 2))), batch_size=4, shuffle=True, seed=0)
    assert len(loader) == 0 and list(loader) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an int"),
        ({"batch_size": True}, TypeError, "batch_size must be an int"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be a bool"),
        ({"drop_last": 1}, TypeError, "drop_last must be a bool"),
        ({"seed": -1}, ValueError, "seed must be non-negative"),
        ({"seed": 1.5}, TypeError, "seed must be an int or None"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=f"DataLoader: {message}"):
        DataLoader(_dataset(4), **kwargs)


def test_dataset_without_len_is_rejected():
    with pytest.raises(TypeError, match="DataLoader: dataset must support len"):
        DataLoader(iter(range(3)))
