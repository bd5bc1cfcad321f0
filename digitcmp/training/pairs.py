"""The pair sets a training fits and is scored on, from the prepared pools and draws.

Images 2i and 2i+1 of a draw make pair i; the target is 1 where the class of the first
digit is ≤ the class of the second. Draw 0 is the grid search's, split into fit and
validation pairs; draw k ≥ 1 is retraining k's, all N train pairs and N test pairs.
How the pools and draws are made and checked is `digitcmp.data`'s (outside this package:
the data's fingerprint, in the cache key, stands for it).
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from digitcmp.errors import UserError


@dataclass(frozen=True)
class Pools:
    """Pooled 14×14 images (float32, 0–255) and their labels (int64), per split."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


class PairSets(NamedTuple):
    """The six tensors of the study's Table 1."""

    train_input: torch.Tensor  # N×2×14×14 float32
    train_target: torch.Tensor  # N int64
    train_classes: torch.Tensor  # N×2 int64
    test_input: torch.Tensor
    test_target: torch.Tensor
    test_classes: torch.Tensor



def split_sizes(n: int, val_fraction: float) -> tuple[int, int]:
    """(fit, validation) pairs of the grid search's split of N train pairs."""
    n_val = max(1, round(n * val_fraction))
    return n - n_val, n_val



def make_pairs(images: np.ndarray, labels: np.ndarray, idx: np.ndarray):
    """(input N×2×14×14, target N, classes N×2) from 2N pool indices, consecutive in pairs."""
    n = len(idx) // 2
    x = torch.from_numpy(np.ascontiguousarray(images[idx])).view(n, 2, 14, 14)
    classes = torch.from_numpy(np.ascontiguousarray(labels[idx])).view(n, 2)
    target = (classes[:, 0] <= classes[:, 1]).long()
    return x, target, classes



@dataclass(frozen=True)
class Prepared:
    """What the training stages read: pools, draws and the params they came from."""

    pools: Pools
    draws: np.ndarray  # (repeats + 1) × 2 × 2n pool indices
    params: dict
    fingerprint: str  # hash of the manifest: identifies these exact bytes

    @property
    def n_pairs(self) -> int:
        return self.draws.shape[2] // 2

    def search_sets(self, val_fraction: float):
        """Draw 0's N train pairs split in two: the first part to fit, the last
        round(N·val_fraction) to validate (the draw is a random permutation already)."""
        x, target, classes = make_pairs(self.pools.train_images, self.pools.train_labels, self.draws[0, 0])
        n_fit, n_val = split_sizes(self.n_pairs, val_fraction)
        if n_fit < 1:
            raise UserError(f"train.val_fraction: {val_fraction} leaves no training pairs of {self.n_pairs}; "
                            f"allowed: a fraction that keeps at least one")
        return (x[:n_fit], target[:n_fit], classes[:n_fit]), (x[n_fit:], target[n_fit:], classes[n_fit:])

    def retrain_sets(self, k: int):
        """Retraining k (1..repeats): all N train pairs and the N test pairs of draw k."""
        train_idx, test_idx = self.draws[k]
        return (make_pairs(self.pools.train_images, self.pools.train_labels, train_idx),
                make_pairs(self.pools.test_images, self.pools.test_labels, test_idx))

