"""Data: datasets, mini-batch loading and the bundled example datasets."""

from chainrule.data.datasets import DATASETS, load_dataset
from chainrule.data.loader import DataLoader, TensorDataset

__all__ = ["DATASETS", "DataLoader", "TensorDataset", "load_dataset"]
