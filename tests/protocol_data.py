"""The tests' shared data helpers: tiny hand-built pools for the protocol tests, small slices of pair sets."""

import numpy as np
import torch

from digitcmp import params as P
from digitcmp.data import draw_all, save_prepared
from digitcmp.training.pairs import Pools

TEST_ID = 10_000  # test pool image i carries id TEST_ID + i; train pool image i carries i


def small(pairs, n):
    """The first n pairs of each set of a PairSets: (train input, target, classes), (test ...)."""
    return tuple(t[:n] for t in pairs[:3]), tuple(t[:n] for t in pairs[3:])


def id_pools(n_train: int = 60, n_test: int = 60) -> Pools:
    """Pools whose every pixel of image i holds its id, so a pair says where it came from."""
    train = np.arange(n_train, dtype=np.float32)[:, None, None] * np.ones((1, 14, 14), np.float32)
    test = (TEST_ID + np.arange(n_test, dtype=np.float32))[:, None, None] * np.ones((1, 14, 14), np.float32)
    return Pools(train, np.arange(n_train) % 10, test, (np.arange(n_test) * 7) % 10)


def learnable_pools(n: int = 200, seed: int = 0) -> Pools:
    """Noisy digits a small net half-learns in a few epochs: class c lights row c."""
    gen = np.random.default_rng(seed)

    def pool():
        labels = gen.permutation(np.arange(n) % 10).astype(np.int64)
        images = gen.uniform(0, 255, (n, 14, 14)).astype(np.float32)
        images[np.arange(n), 2 + labels, 3:11] += 120
        return images, labels

    return Pools(*pool(), *pool())


def prepared_dir(directory, pools: Pools, n: int, repeats: int, seed: int = 0):
    """The prepare stage's output for `pools`, as the stages read it."""
    arrays = {"train_images": pools.train_images, "train_labels": pools.train_labels,
              "test_images": pools.test_images, "test_labels": pools.test_labels,
              "draws": draw_all(pools, n, seed, repeats)}
    save_prepared(directory, arrays, {"source": "mnist5k", "n_pairs": n, "seed": seed, "repeats": repeats})
    return directory


def tiny_params(**train) -> dict:
    """Validated params: a 2×2(×2) grid, 3 epochs, one worker (in this process)."""
    return P.validate({
        "lr": [1e-3, 1e-2], "hidden": [4, 8], "lambda": [0.5, 1.0],
        "data": {"source": "mnist5k", "n_pairs": 40, "seed": 0},
        "train": {"epochs": 3, "batch_size": 10, "val_fraction": 0.3, "repeats": 3, "workers": 1,
                  "precision": "fp32", **train},
    })


def hand_pairs(images: np.ndarray, labels: np.ndarray, idx: np.ndarray):
    """Pair i = images idx[2i] and idx[2i+1], written out without digitcmp.data."""
    x = torch.tensor(np.array([[images[idx[2 * i]], images[idx[2 * i + 1]]] for i in range(len(idx) // 2)]))
    classes = torch.tensor([[int(labels[idx[2 * i]]), int(labels[idx[2 * i + 1]])] for i in range(len(idx) // 2)])
    target = torch.tensor([int(a <= b) for a, b in classes.tolist()])
    return x, target, classes
