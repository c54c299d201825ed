"""cr.data.random_split and Subset: PyTorch's split sizes (counts or fractions), disjoint
and complete subsets, seeded through chainrule's generators, and fast batches."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.data import DataLoader, Subset, TensorDataset, random_split

SIZES = [
    (10, [0.8, 0.2]), (10, [7, 3]), (11, [0.5, 0.5]), (7, [0.3, 0.3, 0.4]),
    (100, [0.1] * 10), (13, [0.25, 0.25, 0.25, 0.25]), (5, [1, 0]), (5, [0, 1]),
    (6, [0.0, 1.0]), (9, [0.7, 0.2, 0.1]), (1000, [0.333, 0.333, 0.334]),
    (3, [1, 1, 1]), (0, [0, 0]), (4, np.array([0.5, 0.5])),
]


def _dataset(n: int) -> TensorDataset:
    return TensorDataset(cr.arange(n) * 10, cr.arange(n).astype("float32"))


@pytest.mark.parametrize("n,lengths", SIZES, ids=[f"{n}-{list(v)}" for n, v in SIZES])
def test_split_sizes_match_torch(n, lengths) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # empty splits warn in both
        ours = random_split(_dataset(n), lengths, seed=0)
        theirs = torch.utils.data.random_split(range(n), list(lengths))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s.indices) == list(range(n))
    assert all(isinstance(s, Subset) and isinstance(s.indices, list) for s in ours)


def test_an_empty_split_warns_like_torch() -> None:
    with pytest.warns(UserWarning, match="length of split at index 1 is 0"):
        random_split(_dataset(3), [0.9, 0.1], seed=0)
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        torch.utils.data.random_split(range(3), [0.9, 0.1])


def test_seed_makes_the_split_reproducible() -> None:
    ds = _dataset(50)
    first = [s.indices for s in random_split(ds, [30, 20], seed=7)]
    assert [s.indices for s in random_split(ds, [30, 20], seed=7)] == first
    assert [s.indices for s in random_split(ds, [30, 20], seed=8)] != first
    assert first[0] != list(range(30))  # shuffled, not a prefix


def test_without_a_seed_the_library_generator_decides() -> None:
    ds = _dataset(50)
    cr.manual_seed(3)
    first = [s.indices for s in random_split(ds, [0.6, 0.4])]
    second = [s.indices for s in random_split(ds, [0.6, 0.4])]
    cr.manual_seed(3)
    assert [s.indices for s in random_split(ds, [0.6, 0.4])] == first
    assert second != first  # the generator moved on


def test_subset_items_are_the_datasets_items() -> None:
    ds = _dataset(20)
    train, test = random_split(ds, [15, 5], seed=1)
    for k in (0, 4, -1):
        x, y = test[k]
        assert x.item() == 10 * test.indices[k] and y.item() == test.indices[k]
    x, _ = train[[0, 2]]
    assert x.tolist() == [10 * train.indices[0], 10 * train.indices[2]]
    inner = random_split(train, [10, 5], seed=2)[0]  # a Subset of a Subset
    assert inner[0][0].item() == 10 * train.indices[inner.indices[0]]
    assert "Subset(TensorDataset((20,), (20,)), 5 samples)" == repr(test)


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_loader_over_a_subset_batches_its_samples(shuffle) -> None:
    ds = _dataset(23)
    train, _ = random_split(ds, [17, 6], seed=4)
    nested = random_split(train, [10, 7], seed=5)[0]
    for subset in (train, nested):
        batches = list(DataLoader(subset, batch_size=4, shuffle=shuffle, seed=0))
        xs = np.concatenate([b[0].numpy() for b in batches])
        expected = [subset[i][0].item() for i in range(len(subset))]
        assert sorted(xs.tolist()) == sorted(expected)
        if not shuffle:
            assert xs.tolist() == expected
        assert [len(b[0]) for b in batches][:-1] == [4] * (len(batches) - 1)


def test_a_subset_of_a_plain_dataset_is_collated_per_sample() -> None:
    class Squares:
        def __len__(self) -> int:
            return 8

        def __getitem__(self, i):
            return (np.float32(i), np.float32(i * i))

    part = random_split(Squares(), [5, 3], seed=0)[0]
    (x, y), = [b for b in DataLoader(part, batch_size=5)]
    assert (y.numpy() == x.numpy() ** 2).all() and sorted(x.tolist()) == sorted(part.indices)
    with pytest.raises(TypeError, match="Subset.gather: Squares cannot gather"):
        part.gather([0])


@pytest.mark.parametrize("lengths,error,pattern", [
    ([6, 3], ValueError, r"^random_split: the lengths add up to 9, but the dataset has 10 "
                         r"samples \(give counts that add up to 10, or fractions that add up "
                         r"to 1\)$"),
    ([0.5, 0.4], ValueError, r"^random_split: the fractions add up to 0.9, not 1 \(give "
                             r"fractions that add up to 1, or counts that add up to 10\)$"),
    ([12, -2], ValueError, r"lengths\[1\] must be a count >= 0 .* got -2"),
    ([2.5, 7.5], ValueError, r"lengths\[0\] must be a count >= 0 .* got 2.5"),
    ([1.5, -0.5], ValueError, "fraction at index 0 is not between 0 and 1, got 1.5"),
    (["5", "5"], TypeError, r"lengths\[0\] must be a number, got '5'"),
    (10, TypeError, "lengths must be a list of counts or fractions, got int"),
])
def test_bad_lengths(lengths, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        random_split(_dataset(10), lengths, seed=0)


def test_bad_seed_and_dataset() -> None:
    with pytest.raises(TypeError, match="seed must be an int or None, got 1.5"):
        random_split(_dataset(4), [2, 2], seed=1.5)
    with pytest.raises(ValueError, match="seed must be non-negative, got -1"):
        random_split(_dataset(4), [2, 2], seed=-1)
    with pytest.raises(TypeError, match="dataset must support len\\(\\) and indexing"):
        random_split(3, [1, 2])
