"""The benchmark's slice of the study and the work each engine worker does.

A module of its own (not bench.py's `__main__`) so that joblib's workers import it
and keep its per-process cache of the data, instead of receiving pickled copies.
"""

import functools
import os
import time
from collections import defaultdict

import torch

from digitcmp.data import generate_pair_sets
from digitcmp.many import stackable, train_many
from digitcmp.models import ARCHITECTURES
from digitcmp.train import PairSet, TrainSpec, train

FAMILY_ORDER = ("conv2", "conv1", "mlp", "shallow")  # longest first


def family(arch: str) -> str:
    return arch.split("_")[0]


@functools.cache
def slice_data(n_pairs: int) -> tuple[PairSet, PairSet]:
    """(train, test) sets of the slice: one mnist5k draw, made once per process."""
    pairs = generate_pair_sets(n_pairs, source="mnist5k", seed=0)
    return pairs[:3], pairs[3:]


def slice_specs(per_arch: int, epochs: int) -> list[TrainSpec]:
    """Every architecture, `per_arch` seeds, at the study's best hyperparameters."""
    return [TrainSpec(arch, 100, 1e-3, 0.5, epochs, 100, seed)
            for arch in ARCHITECTURES for seed in range(per_arch)]


def engine_tasks(specs: list[TrainSpec], stack: bool) -> list[tuple[list[TrainSpec], bool]]:
    """Tasks, longest first: one training each, or one architecture's stackable specs together."""
    tasks, groups = [], defaultdict(list)
    for spec in specs:
        if stack and stackable(spec):
            groups[spec.arch].append(spec)
        else:
            tasks.append(([spec], False))
    tasks += [(group, True) for group in groups.values()]
    return sorted(tasks, key=lambda t: FAMILY_ORDER.index(family(t[0][0].arch)))


def engine_task(specs: list[TrainSpec], n_pairs: int, stacked: bool) -> float:
    """A worker's share, fast path on one thread; returns its seconds."""
    torch.set_num_threads(1)
    tr, te = slice_data(n_pairs)
    t = time.perf_counter()
    if stacked:
        train_many(specs, tr, {"test": te}, score_train=False)
    else:
        for spec in specs:
            train(spec, tr, {"test": te}, score_train=False)
    return time.perf_counter() - t


def warm(fast: bool = True, threads: int = 1, n_pairs: int = 0) -> int:
    """First-call costs (imports, oneDNN kernels, the data): a tiny training; returns the pid."""
    torch.set_num_threads(threads)
    if n_pairs:
        slice_data(n_pairs)
    g = torch.Generator().manual_seed(0)
    tr = (torch.rand(100, 2, 14, 14, generator=g), torch.randint(0, 2, (100,), generator=g),
          torch.randint(0, 10, (100, 2), generator=g))
    for arch in ("mlp_sharing_aux", "conv1_sharing_aux"):
        train(TrainSpec(arch, 10, 1e-3, 0.5, 1, 100, 0), tr, {}, fast=fast)
    time.sleep(0.2)  # so that every worker of a pool gets one
    return os.getpid()
