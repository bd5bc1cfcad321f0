"""Analytic FLOP counts of the architectures, from their layer shapes.

Counted: the multiply-adds of convolutions and linear layers, 2 FLOPs each (biases,
ReLU, pooling and the loss are a few per cent at most and left out). A training step
costs about 3× its forward pass (forward, then gradients for inputs and weights).
"""

from torch import nn

from digitcmp.models import build


def _branch_flops(branch: nn.Sequential) -> tuple[int, int]:
    """(FLOPs, output features) of one branch on one 1×14×14 digit."""
    c, h, w = 1, 14, 14
    flops = 0
    for layer in branch:
        if isinstance(layer, nn.Conv2d):
            (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
            h, w = (h - kh) // sh + 1, (w - kw) // sw + 1
            flops += 2 * layer.in_channels * kh * kw * layer.out_channels * h * w
            c = layer.out_channels
        elif isinstance(layer, nn.MaxPool2d):
            h, w = h // layer.kernel_size, w // layer.kernel_size
        elif isinstance(layer, nn.Flatten):
            c, h, w = c * h * w, 1, 1
        elif isinstance(layer, nn.Linear):
            flops += 2 * layer.in_features * layer.out_features
            c = layer.out_features
    return flops, c * h * w


def _linear_flops(module: nn.Module) -> int:
    return sum(2 * m.in_features * m.out_features for m in module.modules() if isinstance(m, nn.Linear))


def forward_flops(arch: str, hidden: int) -> int:
    """FLOPs of one forward pass of `arch` on one pair of digits."""
    model = build(arch, hidden)
    branch, _ = _branch_flops(model.branches[0])
    aux = _linear_flops(model.aux_heads[0]) if model.aux_heads is not None else 0
    return 2 * (branch + aux) + _linear_flops(model.head)  # each digit: one branch (and aux head)


def training_flops(arch: str, hidden: int, epochs: int, n_train: int, n_eval: int = 0) -> int:
    """FLOPs of a training: 3× forward per trained pair and epoch, plus evaluation forwards."""
    return forward_flops(arch, hidden) * (3 * epochs * n_train + n_eval)
