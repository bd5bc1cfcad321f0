import pytest
import torch

from digitcmp.errors import UserError
from digitcmp.training.models import ARCHITECTURES, parse
from digitcmp.training.registry import build

GRID_HIDDEN = (50, 100, 200, 300)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_sixteen_names():
    assert len(ARCHITECTURES) == 16 == len(set(ARCHITECTURES))
    assert {a.split("_")[0] for a in ARCHITECTURES} == {"shallow", "mlp", "conv1", "conv2"}


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_builds_runs_forward_and_backward(arch):
    aux = parse(arch)[2]
    x = torch.randn(3, 2, 14, 14)
    for hidden in GRID_HIDDEN:
        model = build(arch, hidden)
        out = model(x)
        assert out.main.shape == (3, 2)
        if aux:
            assert out.digit1.shape == (3, 10) and out.digit2.shape == (3, 10)
        else:
            assert out.digit1 is None and out.digit2 is None and model.aux_heads is None
        loss = out.main.sum() + (out.digit1.sum() + out.digit2.sum() if aux else 0)
        loss.backward()
        assert all(p.grad is not None for p in model.parameters())


def test_conv2_matches_table3():
    model = build("conv2_sharing_aux", 100)
    convs = [m for m in model.branches[0] if isinstance(m, torch.nn.Conv2d)]
    assert [tuple(c.weight.shape) for c in convs] == [(16, 1, 5, 5), (32, 16, 3, 3), (64, 32, 3, 3), (128, 64, 2, 2)]
    pools = [m for m in model.branches[0] if isinstance(m, torch.nn.MaxPool2d)]
    assert len(pools) == 1 and pools[0].kernel_size == 2 and pools[0].stride == 2
    assert tuple(model.aux_heads[0].weight.shape) == (10, 512)
    linears = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert [tuple(l.weight.shape) for l in linears] == [(100, 1024), (2, 100)]


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if "_sharing_" in a])
def test_sharing_has_fewer_params_and_one_branch_serves_both(arch):
    twin = arch.replace("_sharing_", "_nosharing_")
    shared, separate = build(arch, 100), build(twin, 100)
    assert len(shared.branches) == 1 and len(separate.branches) == 2
    assert n_params(shared) < n_params(separate)
    # gradient reaches the one branch from each digit on its own
    first = next(shared.branches[0].parameters())
    for digit in (0, 1):
        shared.zero_grad()
        x = torch.zeros(4, 2, 14, 14)
        x[:, digit] = torch.randn(4, 14, 14)
        x.requires_grad_(True)
        out = shared(x)
        out.main.sum().backward()
        assert x.grad[:, digit].abs().sum() > 0
        assert first.grad is not None and first.grad.abs().sum() > 0


def test_unknown_architecture_lists_the_sixteen():
    with pytest.raises(UserError) as err:
        build("conv3_sharing_aux", 100)
    message = str(err.value)
    assert "\n" not in message and all(a in message for a in ARCHITECTURES)
