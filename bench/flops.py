"""Analytic FLOP counts of the architectures, from their layer shapes.

Counted: the multiply-adds of convolutions and linear layers, 2 FLOPs each (biases,
activations, pooling, normalisation and the loss are a few per cent at most and left
out). The layer shapes are read off one forward pass of a single pair, so the count
follows the model code (sharing or not, padding, extras). A training step costs
about 3× its forward pass (forward, then gradients for inputs and weights).
"""

import torch
from torch import nn

from digitcmp.training.registry import build


def layer_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[nn.Module, torch.Size, torch.Size]]:
    """(layer, input shape, output shape) of each convolution and linear layer of `model`,
    in the order one forward pass of `x` calls them."""
    found = []
    hooks = [m.register_forward_hook(lambda m, i, o: found.append((m, i[0].shape, o.shape)))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return found


def forward_flops(arch: str, hidden: int, **options) -> int:
    """FLOPs of one forward pass of `arch` on one pair of digits."""
    flops = 0
    for layer, _, out in layer_shapes(build(arch, hidden, **options).eval(), torch.zeros(1, 2, 14, 14)):
        if isinstance(layer, nn.Conv2d):
            kh, kw = layer.kernel_size
            flops += 2 * (layer.in_channels // layer.groups) * kh * kw * out.numel()
        else:
            flops += 2 * layer.in_features * out.numel()
    return flops


def training_flops(arch: str, hidden: int, epochs: int, n_train: int, n_eval: int = 0, **options) -> int:
    """FLOPs of a training: 3× forward per trained pair and epoch, plus evaluation forwards."""
    return forward_flops(arch, hidden, **options) * (3 * epochs * n_train + n_eval)
