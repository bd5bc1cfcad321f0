"""The fast paths give the plain path's results: bitwise where claimed, else fp32-close."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from digitcmp.training.fast import FusedAdam, fast_layout
from bench.flops import forward_flops
from digitcmp.training.models import ARCHITECTURES
from digitcmp.training.precision import resolve_precision
from digitcmp.training.registry import EXTRAS, Facts, build, facts
from digitcmp.training.train import TrainSpec, loss_fn, train
from tests.protocol_data import small

ROOT = Path(__file__).resolve().parents[1]


def weights(model):
    return {k: v.detach() for k, v in model.state_dict().items()}


def assert_close_weights(a, b, atol):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=atol, msg=k)


def test_fused_adam_is_torch_fused_adam_bit_for_bit():
    torch.manual_seed(0)
    a = build("conv1_nosharing_aux", 20)
    b = build("conv1_nosharing_aux", 20)
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = torch.optim.Adam(a.parameters(), lr=1e-2, fused=True), FusedAdam(b.parameters(), lr=1e-2)
    x, t, c = torch.randn(30, 2, 14, 14), torch.randint(0, 2, (30,)), torch.randint(0, 10, (30, 2))
    for _ in range(4):
        for model, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            loss_fn(model(x), t, c, 0.5).backward()
            opt.step()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("arch", ["conv1_sharing_aux", "conv2_nosharing_noaux", "mlp_nosharing_aux"])
def test_fast_layout_keeps_parameters_and_is_fp32_close(arch):
    torch.manual_seed(0)
    plain = build(arch, 30)
    fast = build(arch, 30)
    fast.load_state_dict(plain.state_dict())
    fast_layout(fast)
    assert weights(plain).keys() == weights(fast).keys()
    x, t, c = torch.randn(50, 2, 14, 14), torch.randint(0, 2, (50,)), torch.randint(0, 10, (50, 2))
    out_p, out_f = plain(x), fast(x)
    for p, f in zip(out_p, out_f):
        if p is not None:
            torch.testing.assert_close(f, p, rtol=1e-5, atol=1e-5)
    loss_fn(out_p, t, c, 0.5).backward()
    loss_fn(out_f, t, c, 0.5).backward()
    for (name, p), f in zip(plain.named_parameters(), fast.parameters()):
        torch.testing.assert_close(f.grad, p.grad, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("arch", ["conv1_sharing_aux", "shallow_nosharing_aux"])
def test_fast_training_is_fp32_close_to_plain_and_deterministic(pairs1000, arch):
    tr, te = small(pairs1000, 300)
    spec = TrainSpec(arch, 30, 1e-3, 0.5, 2, 100, seed=3)
    r_plain, plain = train(spec, tr, {"test": te}, fast=False)
    r_fast, fast = train(spec, tr, {"test": te})
    _, again = train(spec, tr, {"test": te})
    assert_close_weights(fast, plain, atol=1e-5)
    assert abs(r_fast.acc["test"] - r_plain.acc["test"]) <= 0.01
    assert all(torch.equal(v, weights(again)[k]) for k, v in weights(fast).items())


def test_plain_path_is_deterministic(pairs1000):
    tr, te = small(pairs1000, 200)
    spec = TrainSpec("conv2_sharing_noaux", 20, 1e-3, 0.0, 1, 100, seed=1)
    _, a = train(spec, tr, {}, fast=False)
    _, b = train(spec, tr, {}, fast=False)
    assert all(torch.equal(v, weights(b)[k]) for k, v in weights(a).items())


@pytest.mark.parametrize("setting, arch, device, native, expected", [
    ("fp32", "conv2_sharing_aux", "cpu", True, "fp32"),
    ("bf16", "mlp_sharing_aux", "cpu", False, "bf16"),  # asked for explicitly: given
    ("auto", "conv2_sharing_aux", "cpu", True, "bf16"),
    ("auto", "conv1_nosharing_noaux", "cpu", True, "bf16"),
    ("auto", "probcmp_conv", "cpu", True, "bf16"),
    ("auto", "mlp_sharing_aux", "cpu", True, "fp32"),  # slower in bf16
    ("auto", "deepmlp_sharing_aux", "cpu", True, "fp32"),
    ("auto", "conv2_sharing_aux", "cpu", False, "fp32"),  # emulated bf16: much slower
    ("auto", "conv2_sharing_aux", "cuda", True, "fp32"),
])
def test_resolve_precision(setting, arch, device, native, expected):
    assert resolve_precision(setting, arch, device, native) == expected


@pytest.mark.parametrize("arch", ARCHITECTURES + EXTRAS)
def test_facts_match_the_built_model(arch):
    model = build(arch, 32)
    assert facts(arch).convolutional == any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    out = model(torch.zeros(2, 2, 14, 14))
    assert facts(arch).aux == (out.digit1 is not None)
    if arch in ARCHITECTURES:
        family, sharing, aux = arch.split("_")
        assert facts(arch) == Facts(family, sharing == "sharing", aux == "aux", family in ("conv1", "conv2"))


@pytest.mark.parametrize("arch", ["conv2_sharing_aux", "probcmp_conv"])
def test_bf16_training_is_mixed_precision_deterministic_and_as_accurate(pairs1000, arch):
    tr, te = small(pairs1000, 400)
    fp32 = TrainSpec(arch, 32, 1e-3, 0.5, 3, 100, seed=2)
    bf16 = TrainSpec(arch, 32, 1e-3, 0.5, 3, 100, seed=2, precision="bf16")
    r32, m32 = train(fp32, tr, {"test": te})
    r16, m16 = train(bf16, tr, {"test": te})
    _, again = train(bf16, tr, {"test": te})
    assert all(v.dtype == torch.float32 for v in weights(m16).values() if v.is_floating_point())  # fp32 masters
    assert all(torch.equal(v, weights(again)[k]) for k, v in weights(m16).items())
    assert any(not torch.equal(v, weights(m32)[k]) for k, v in weights(m16).items())  # bf16 did run
    assert abs(r16.acc["test"] - r32.acc["test"]) <= 0.05


def test_forward_flops_by_hand():
    # shallow: 196→100 per digit, 200→2 head; conv2 (Table 3) at hidden 100, with aux.
    assert forward_flops("shallow_sharing_noaux", 100) == 2 * (2 * 196 * 100) + 2 * 200 * 2
    conv2 = 2 * (25 * 16 * 100 + 16 * 9 * 32 * 64 + 32 * 9 * 64 * 36 + 64 * 4 * 128 * 4)
    assert forward_flops("conv2_nosharing_aux", 100) == 2 * (conv2 + 2 * 512 * 10) + 2 * (1024 * 100 + 100 * 2)
    assert all(forward_flops(a, 50) > 0 for a in ARCHITECTURES)


def test_bench_smoke_runs():
    out = subprocess.run([sys.executable, "-m", "bench.bench", "--smoke"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    assert out.strip().splitlines()[-1].startswith("speedup: ")


def test_layers_bench_times_every_conv_and_a_step():
    out = subprocess.run([sys.executable, "-m", "bench.layers", "--smoke"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    lines = out.splitlines()
    convs = [line for line in lines if " on " in line and line.lstrip().startswith("conv")]
    per_family = [sum(isinstance(m, torch.nn.Conv2d) for m in build(f"{family}_sharing_noaux", 100).modules())
                  for family in ("conv1", "conv2")]
    assert len(convs) == sum(per_family)  # every convolution of both ConvNets, each once
    # a branch's first conv needs no gradient of its input (the data); the others do
    assert [line.count("-----") for line in convs] == [int(i == 0) for n in per_family for i in range(n)]
    step = next(line for line in lines if line.lstrip().startswith("conv1_sharing_aux")).split("|")
    full, fixed = float(step[0].split()[1]), float(step[1].split()[0])
    assert 0 < fixed < full  # batch 1 does less work than batch 100
