"""Data: datasets, mini-batch loading and the bundled example datasets."""

from chainrule.data.datasets import DATASETS, load_dataset
from chainrule.data.loader import DataLoader, TensorDataset
from chainrule.data.sequences import digit_sequences
from chainrule.data.shard import Shard
from chainrule.data.split import Subset, random_split

__all__ = [
    "DATASETS", "DataLoader", "Subset", "TensorDataset", "load_dataset", "random_split",
    "digit_sequences", "Shard",
]
