"""`probcmp_conv`: a comparator that reads the two digit distributions.

A shared ConvNet branch (batch norm, padding) gives digit logits; the main output is
not a learned head but P(a ≤ b) = Σ_{i≤j} p_a(i)·p_b(j) of the two softmaxes, returned
as the 2-class logits (log(1 − P), log P). The comparison is then exact given the
digits, so all learning goes into reading digits, and the main loss trains the branch
too. `hidden`: the branch's fully connected width; `width` (default 16): the convs'
base channel count (width, width, 2·width, 2·width); `tta` (default 0): test-time
augmentation, the digit predictions averaged over the image and its 4 or 8 one-pixel
moves (`digitcmp.training.extras.SharedNet`).
"""

import torch
from torch import nn

from digitcmp.training.extras import (ACTIVATIONS, SeededDropout, SharedNet, activation, dropout, flag,
                                      positive_int, tta)
from digitcmp.training.models import Entry


def log_p_leq(digit1: torch.Tensor, digit2: torch.Tensor) -> torch.Tensor:
    """N×2 logits (log P(a > b), log P(a ≤ b)) from two N×10 digit logits, a and b independent.

    Sums p_a(i)·p_b(j) over the i ≤ j (resp. i > j) cells of the 10×10 joint in log
    space, so neither side underflows when the network is confident.
    """
    joint = digit1.log_softmax(1)[:, :, None] + digit2.log_softmax(1)[:, None, :]  # N×10×10
    leq = torch.ones(10, 10, dtype=torch.bool, device=joint.device).triu()  # i ≤ j
    log_leq = joint.masked_fill(~leq, float("-inf")).logsumexp((1, 2))
    log_gt = joint.masked_fill(leq, float("-inf")).logsumexp((1, 2))
    return torch.stack([log_gt, log_leq], dim=1)


def _conv_bn_branch(hidden: int, act: type[nn.Module], p: float, batchnorm: bool, width: int) -> nn.Sequential:
    """Two blocks of two padded 3×3 convs + 2×2 max-pool (14 → 7 → 3), with `width`,
    `width`, 2·`width`, 2·`width` channels, then FC to `hidden`.

    Padding keeps the 14×14 border; batch norm makes 250 Adam steps (25 epochs of
    10 batches) enough to fit.
    """
    norm2d = nn.BatchNorm2d if batchnorm else (lambda c: nn.Identity())
    norm1d = nn.BatchNorm1d if batchnorm else (lambda c: nn.Identity())

    def conv(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=not batchnorm), norm2d(cout), act()]

    w = width
    return nn.Sequential(
        *conv(1, w), *conv(w, w), nn.MaxPool2d(2),
        *conv(w, 2 * w), *conv(2 * w, 2 * w), nn.MaxPool2d(2),
        nn.Flatten(), SeededDropout(p),
        nn.Linear(2 * w * 3 * 3, hidden, bias=not batchnorm), norm1d(hidden), act(), SeededDropout(p),
    )


def build(hidden: int, activation: str, dropout: float, batchnorm: bool, width: int, tta: int) -> SharedNet:
    branch = _conv_bn_branch(hidden, ACTIVATIONS[activation], float(dropout), batchnorm, width)
    return SharedNet(branch, hidden, log_p_leq, exact=True, tta=tta)


REGISTER = {"probcmp_conv": Entry(build, family="probcmp", options={
    "activation": activation(), "dropout": dropout(), "batchnorm": flag(True), "width": positive_int(16, high=256),
    "tta": tta()})}
