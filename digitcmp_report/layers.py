"""A study model's layers as the study's Table 3 lists them (part, layer, shape, parameters)."""

from torch import nn

from digitcmp.training.models import PairNet


def _layer_rows(part: str, module: nn.Module) -> list[tuple[str, str, str, int]]:
    rows = []
    for layer in module.modules():  # a bare layer yields itself
        if isinstance(layer, nn.Conv2d):
            k = layer.kernel_size
            shape = f"{layer.in_channels} × {layer.out_channels} × {k[0]} × {k[1]}"
        elif isinstance(layer, nn.MaxPool2d):
            shape = f"{layer.kernel_size} × {layer.kernel_size}, stride {layer.stride}"
        elif isinstance(layer, nn.Linear):
            shape = f"{layer.in_features} × {layer.out_features}"
        else:
            continue
        rows.append((part, type(layer).__name__, shape, sum(p.numel() for p in layer.parameters())))
    return rows


def describe_layers(model: PairNet) -> list[tuple[str, str, str, int]]:
    """(part, layer, shape, parameters) per Conv2d/MaxPool2d/Linear in forward order: the
    study's Table 3 analogue, shapes as it writes them (in × out × k × k)."""
    def parts(name: str, modules: nn.ModuleList) -> list[tuple[str, nn.Module]]:
        if len(modules) == 1:
            return [(f"{name} (both digits)", modules[0])]
        return [(f"{name} (digit {i + 1})", m) for i, m in enumerate(modules)]

    named = parts("branch", model.branches)
    if model.aux_heads is not None:
        named += parts("aux head", model.aux_heads)
    rows = [row for part, module in named for row in _layer_rows(part, module)]
    rows.append(("main head", "Concatenation", "features of both digits", 0))
    return rows + _layer_rows("main head", model.head)

