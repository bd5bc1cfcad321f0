"""`lenet_digits`, `lenet_digits_800`: the best public recipe for this task, a digits-only LeNet.

One shared branch, Conv(1→32, 3×3) · max-pool 2 · ReLU · Conv(32→64, 3×3) · max-pool 2 ·
ReLU (the study's conv1 branch, which pools after the ReLU: the same function; 64×2×2 = 256
features) · Linear(256→`hidden`) · ReLU,
and a digit head Linear(`hidden`→10); no batch norm, no padding. The comparison is
argmax(digit 1) ≤ argmax(digit 2): nothing to learn, so the model has no main loss
(`main_loss=False`) and trains on λ·(CE(digit 1) + CE(digit 2)) alone: λ = 0.5 is the
published mean of the two. Its main output is that comparison as 0/1 logits, so
accuracy is read as for every other model.

The two names are one network, as two stages with grids of their own: params.yaml's
entries differ in the train pairs the retrainings fit (`fit_pairs`: the published
800 of 1,000, or all of them).
"""

import torch
from torch import nn

from digitcmp.training.extras import SharedNet
from digitcmp.training.models import BRANCHES, Entry


def argmax_leq(digit1: torch.Tensor, digit2: torch.Tensor) -> torch.Tensor:
    """N×2 logits, 1 at (argmax digit1 ≤ argmax digit2) and 0 at the other class."""
    leq = (digit1.argmax(1) <= digit2.argmax(1)).float()
    return torch.stack([1 - leq, leq], dim=1)


def build(hidden: int) -> SharedNet:
    convs, features = BRANCHES["conv1"](hidden)
    branch = nn.Sequential(*convs, nn.Linear(features, hidden), nn.ReLU())
    return SharedNet(branch, hidden, argmax_leq, exact=True, main_loss=False)


REGISTER = {name: Entry(build, family="lenet") for name in ("lenet_digits", "lenet_digits_800")}
