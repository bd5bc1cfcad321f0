"""The study's sixteen architectures: {shallow,mlp,conv1,conv2}_{sharing,nosharing}_{aux,noaux}.

Every model is the same three parts (the study's Figure 1):
- a branch: one 1×14×14 digit → a feature vector;
- an optional auxiliary head: features → 10 digit logits (`_aux` models);
- a main head: the two digits' features, concatenated → 2 logits (first ≤ second?).
`_sharing` models use one branch and one aux head for both digits; `_nosharing`
models have two branches (and aux heads) of the same shape with their own weights.
`hidden` is the width the grid search tunes. ReLU throughout.

This module also holds what every architecture module shares: `Output`, what a model
returns, and `Entry`, how a module registers its architectures with
`digitcmp.training.registry` (a module-level `REGISTER` mapping name → Entry).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import torch
from torch import nn

from digitcmp.training.checks import Rule


class Output(NamedTuple):
    """What every model returns."""

    main: torch.Tensor  # N×2 logits: class 1 means first digit ≤ second
    digit1: torch.Tensor | None  # N×10 logits of the first digit (models with digit heads only)
    digit2: torch.Tensor | None


@dataclass(frozen=True)
class Entry:
    """One architecture as its module registers it: `build(hidden, **options)` → a model
    whose attributes `sharing` and `aux` say whether one branch serves both digits and
    whether it has digit heads (the registry derives its facts from the built model)."""

    build: Callable[..., nn.Module]
    family: str
    options: Mapping[str, Rule] = field(default_factory=dict)  # option → its check and default


FAMILIES = ("shallow", "mlp", "conv1", "conv2")
# Table 2's order: per family nosharing_noaux, sharing_noaux, nosharing_aux, sharing_aux.
VARIANTS = ("nosharing_noaux", "sharing_noaux", "nosharing_aux", "sharing_aux")
ARCHITECTURES = tuple(f"{family}_{variant}" for family in FAMILIES for variant in VARIANTS)


def _shallow(hidden: int) -> tuple[nn.Module, int]:
    return nn.Sequential(nn.Flatten(), nn.Linear(196, hidden), nn.ReLU()), hidden


def _mlp(hidden: int) -> tuple[nn.Module, int]:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(196, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
    ), hidden


def _conv1(hidden: int) -> tuple[nn.Module, int]:
    # 14 → conv3 12 → pool 6 → conv3 4 → pool 2: 64×2×2 = 256 features.
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
    ), 256


CONV2_FEATURES = 512


def conv2_branch(act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Table 3: 14 → conv5 10 → conv3 8 → conv3 6 → pool 3 → conv2 2: 128×2×2 = 512 features
    (`act` after each conv: ReLU in the study)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), act(),
        nn.Conv2d(16, 32, 3), act(),
        nn.Conv2d(32, 64, 3), act(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(64, 128, 2), act(),
        nn.Flatten(),
    )


def _conv2(hidden: int) -> tuple[nn.Module, int]:
    return conv2_branch(), CONV2_FEATURES


BRANCHES = {"shallow": _shallow, "mlp": _mlp, "conv1": _conv1, "conv2": _conv2}


def _main_head(family: str, features: int, hidden: int) -> nn.Module:
    """Shallow and MLP: one output layer; ConvNets: two fully connected layers."""
    if family in ("shallow", "mlp"):
        return nn.Linear(2 * features, 2)
    return nn.Sequential(nn.Linear(2 * features, hidden), nn.ReLU(), nn.Linear(hidden, 2))


class PairNet(nn.Module):
    """Branch(es) → optional digit head(s) → main head on the concatenated features."""

    def __init__(self, family: str, hidden: int, sharing: bool, aux: bool):
        super().__init__()
        self.sharing, self.aux = sharing, aux
        copies = 1 if sharing else 2
        branches = [BRANCHES[family](hidden) for _ in range(copies)]
        features = branches[0][1]
        self.branches = nn.ModuleList(branch for branch, _ in branches)
        self.aux_heads = nn.ModuleList(nn.Linear(features, 10) for _ in range(copies)) if aux else None
        self.head = _main_head(family, features, hidden)

    def forward(self, x: torch.Tensor) -> Output:
        n = x.shape[0]
        if self.sharing:  # both digits through the one branch in a single batch
            f = self.branches[0](x.reshape(2 * n, 1, 14, 14)).view(n, 2, -1)
            f1, f2 = f[:, 0], f[:, 1]
        else:
            f1 = self.branches[0](x[:, 0:1])
            f2 = self.branches[1](x[:, 1:2])
        main = self.head(torch.cat([f1, f2], dim=1))
        if self.aux_heads is None:
            return Output(main, None, None)
        return Output(main, self.aux_heads[0](f1), self.aux_heads[-1](f2))


def parse(name: str) -> tuple[str, bool, bool]:
    """'conv2_sharing_aux' → ('conv2', sharing=True, aux=True), for one of the sixteen."""
    family, sharing, aux = name.split("_")
    return family, sharing == "sharing", aux == "aux"


def _pairnet(name: str, hidden: int) -> PairNet:
    family, sharing, aux = parse(name)
    return PairNet(family, hidden, sharing, aux)


REGISTER = {name: Entry(partial(_pairnet, name), family=parse(name)[0]) for name in ARCHITECTURES}
