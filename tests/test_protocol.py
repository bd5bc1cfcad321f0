"""The study's protocol, one test per rule: loss, optimisation, architectures.

Each test asserts its rule directly on tiny data built here (tests/protocol_data.py), so
the whole protocol runs in seconds. The pairs are in test_protocol_pairs.py; the grid
search, the retrainings and the reported numbers in test_protocol_search.py; the
statistics in test_protocol_stats.py.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from digitcmp import params as P
from digitcmp.training.models import ARCHITECTURES, Output, PairNet
from digitcmp.training.registry import build, facts
from digitcmp.training.train import TrainSpec, init_model, loss_fn, train
from tests.dvcproject import ROOT, TINY
from tests.protocol_data import hand_pairs, learnable_pools

# --- Loss (equation 1) --------------------------------------------------------


def _ce_by_hand(logits: list[list[float]], labels: list[int]) -> float:
    return sum(math.log(sum(math.exp(v) for v in row)) - row[y] for row, y in zip(logits, labels)) / len(labels)


def test_loss_is_main_plus_lambda_times_both_aux_terms():
    main = [[0.2, -1.0], [1.5, 0.3], [-0.4, 0.9]]
    d1 = [[0.1 * i - 0.3 * (i % 3) for i in range(10)], [0.05 * i for i in range(10)], [(-1) ** i * 0.2 for i in range(10)]]
    d2 = [[0.3 * (i % 4) for i in range(10)], [1.0 - 0.1 * i for i in range(10)], [0.2 * (i % 2) for i in range(10)]]
    target, classes = [0, 1, 1], [[3, 7], [9, 0], [4, 4]]
    out = Output(torch.tensor(main), torch.tensor(d1), torch.tensor(d2))
    hand = {name: _ce_by_hand(z, y) for name, z, y in
            (("main", main, target), ("aux1", d1, [c[0] for c in classes]), ("aux2", d2, [c[1] for c in classes]))}
    for lam in (0.0, 0.25, 1.0):
        got = loss_fn(out, torch.tensor(target), torch.tensor(classes), lam).item()
        assert got == pytest.approx(hand["main"] + lam * (hand["aux1"] + hand["aux2"]), rel=1e-6)
    no_aux = loss_fn(Output(torch.tensor(main), None, None), torch.tensor(target), torch.tensor(classes), 0.5)
    assert no_aux.item() == pytest.approx(hand["main"], rel=1e-6)


def _tiny_set(n: int = 30, seed: int = 0):
    x, target, classes = hand_pairs(*_pool(seed), np.arange(2 * n))
    return x, target, classes


def _pool(seed: int):
    pools = learnable_pools(100, seed)
    return pools.train_images, pools.train_labels


def test_lambda_changes_nothing_for_noaux_models():
    data = _tiny_set()
    for arch in ("shallow_sharing_noaux", "conv1_nosharing_noaux"):
        runs = [train(TrainSpec(arch, 6, 1e-2, lam, 2, 10, seed=4), data) for lam in (0.25, 1.0)]
        (ra, ma), (rb, mb) = runs
        assert ra.acc == rb.acc
        assert all(torch.equal(a, b) for a, b in zip(ma.state_dict().values(), mb.state_dict().values()))
    # ... while it does change an _aux model (the comparison is not vacuous)
    (_, ma), (_, mb) = (train(TrainSpec("shallow_sharing_aux", 6, 1e-2, lam, 2, 10, seed=4), data) for lam in (0.25, 1.0))
    assert not all(torch.equal(a, b) for a, b in zip(ma.state_dict().values(), mb.state_dict().values()))


# --- Optimisation -------------------------------------------------------------


def test_training_is_adam_with_the_points_lr_on_the_loss_of_equation_1():
    """Three full-batch epochs of train() are three torch.optim.Adam steps, at the spec's lr,
    on main + λ(aux₁ + aux₂) of the standardised training input."""
    x, target, classes = data = _tiny_set(20)
    spec = TrainSpec("shallow_nosharing_aux", 8, 3e-3, 0.75, 3, 20, seed=5)
    _, trained = train(spec, data)
    model = init_model(spec)
    adam = torch.optim.Adam(model.parameters(), lr=3e-3)
    xn = (x - x.mean()) / x.std()
    for _ in range(3):
        out = model(xn)
        loss = (F.cross_entropy(out.main, target)
                + 0.75 * (F.cross_entropy(out.digit1, classes[:, 0]) + F.cross_entropy(out.digit2, classes[:, 1])))
        adam.zero_grad()
        loss.backward()
        adam.step()
    for (name, a), b in zip(trained.named_parameters(), model.parameters()):
        assert torch.allclose(a, b, rtol=0, atol=1e-6), name


def _observe_training(spec: TrainSpec, data):
    """train(spec, data), recording the batch sizes the model was trained on and the
    weights before each training forward pass (to count the optimizer steps)."""
    seen = []

    def hook(module, args):
        if isinstance(module, PairNet) and module.training and torch.is_grad_enabled():
            seen.append((len(args[0]), torch.cat([p.detach().flatten().clone() for p in module.parameters()])))

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        result, model = train(spec, data)
    finally:
        handle.remove()
    final = torch.cat([p.detach().flatten() for p in model.parameters()])
    weights = [w for _, w in seen] + [final]
    steps = sum(not torch.equal(a, b) for a, b in zip(weights, weights[1:]))
    return result, [size for size, _ in seen], steps


def test_exactly_epochs_times_batches_adam_steps():
    data = _tiny_set(25)  # 25 pairs in batches of 10: 10, 10, 5 per epoch
    for arch in ("mlp_nosharing_aux", "conv1_sharing_noaux"):
        result, sizes, steps = _observe_training(TrainSpec(arch, 6, 1e-3, 0.5, 4, 10, seed=6), data)
        assert sizes == [10, 10, 5] * 4  # train.batch_size, every pair once per epoch
        assert steps == 4 * 3 and result.epochs_run == 4


def test_batches_cover_every_training_pair_once_per_epoch():
    x, target, classes = _tiny_set(25)
    x = x.clone()
    x[:, 0, 0, 0] = torch.arange(25, dtype=torch.float32) * 1000  # an id per pair, kept by standardising
    seen = []

    def hook(module, args):
        if isinstance(module, PairNet) and module.training and torch.is_grad_enabled():
            seen.append(args[0][:, 0, 0, 0].clone())

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        train(TrainSpec("shallow_sharing_noaux", 4, 1e-3, 0.0, 2, 10, seed=1), (x, target, classes))
    finally:
        handle.remove()
    for epoch in (seen[:3], seen[3:]):
        order = torch.cat(epoch).argsort()
        assert len(torch.cat(epoch)) == 25 and len(set(torch.cat(epoch)[order].tolist())) == 25


# --- Architectures -------------------------------------------------------------


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if "_sharing_" in a])
def test_sharing_one_branch_serves_both_digits(arch):
    model = build(arch, 8)
    assert len(model.branches) == 1
    x = torch.randn(3, 2, 14, 14)
    feats = []
    handle = model.branches[0].register_forward_hook(lambda m, i, o: feats.append(o))
    model(x)
    handle.remove()
    with torch.no_grad():
        alone = [model.branches[0](x[:, d:d + 1]) for d in (0, 1)]
    f = torch.cat(feats).view(3, 2, -1)
    assert torch.allclose(f[:, 0], alone[0], atol=1e-5) and torch.allclose(f[:, 1], alone[1], atol=1e-5)
    if model.aux:  # one digit head for both digits: swapping the digits swaps their logits
        a, b = model(x), model(x.flip(1))
        assert len(model.aux_heads) == 1 and torch.allclose(a.digit1, b.digit2, atol=1e-5)


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if "_nosharing_" in a])
def test_nosharing_two_branches_with_their_own_weights_both_trained(arch):
    model = build(arch, 8)
    assert len(model.branches) == 2
    first, second = (list(b.parameters()) for b in model.branches)
    assert not {p.data_ptr() for p in first} & {p.data_ptr() for p in second}
    assert not all(torch.equal(a, b) for a, b in zip(first, second))  # initialised apart
    spec = TrainSpec(arch, 8, 1e-2, 0.5, 1, 10, seed=2)
    before = init_model(spec)
    _, after = train(spec, _tiny_set(20))
    for b0, b1 in zip(before.branches, after.branches):
        assert all(not torch.equal(p0, p1) for p0, p1 in zip(b0.parameters(), b1.parameters()))
    x = torch.randn(2, 2, 14, 14)
    y = x.clone()
    y[:, 1] = torch.randn(2, 14, 14)
    if model.aux:  # digit 1 goes through branch 1 only
        assert torch.equal(model(x).digit1, model(y).digit1) and not torch.equal(model(x).digit2, model(y).digit2)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_aux_heads_exist_only_in_aux_models(arch):
    model = build(arch, 8)
    out = model(torch.randn(2, 2, 14, 14))
    heads = [m for name, m in model.named_modules() if name.startswith("aux_heads.")]
    if arch.endswith("_noaux"):
        assert model.aux_heads is None and not heads and out.digit1 is None and out.digit2 is None
    else:
        assert len(heads) == (1 if "_sharing_" in arch else 2)
        assert out.digit1.shape == out.digit2.shape == (2, 10)
        assert all(h.out_features == 10 for h in heads)


def _kinds(module) -> list[str]:
    return [type(m).__name__ for m in module.modules() if not isinstance(m, torch.nn.Sequential)]


def test_each_family_is_as_described_relu_throughout():
    """Shallow: one hidden layer; MLP: two; conv1: two convs, each followed by 2×2 max-pooling,
    and a two-layer head; conv2: Table 3 (below). Shallow and MLP heads: one output layer."""
    branches = {"shallow": ["Flatten", "Linear", "ReLU"],
                "mlp": ["Flatten", "Linear", "ReLU", "Linear", "ReLU"],
                "conv1": ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten"],
                "conv2": ["Conv2d", "ReLU", "Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "Flatten"]}
    heads = {"shallow": ["Linear"], "mlp": ["Linear"], "conv1": ["Linear", "ReLU", "Linear"],
             "conv2": ["Linear", "ReLU", "Linear"]}
    for family in branches:
        model = build(f"{family}_sharing_aux", 12)
        assert _kinds(model.branches[0]) == branches[family], family
        assert _kinds(model.head) == heads[family], family
        features = model.branches[0](torch.zeros(1, 1, 14, 14)).shape[1]
        assert model.head(torch.zeros(1, 2 * features)).shape == (1, 2)
        assert facts(f"{family}_sharing_aux").convolutional == family.startswith("conv")
    linears = [m for m in build("mlp_nosharing_noaux", 12).branches[0] if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(196, 12), (12, 12)]
    pools = [m for m in build("conv1_sharing_noaux", 12).branches[0] if isinstance(m, torch.nn.MaxPool2d)]
    assert all((p.kernel_size, p.stride) == (2, 2) for p in pools)
    assert [m.out_features for m in build("conv1_sharing_noaux", 12).head if isinstance(m, torch.nn.Linear)] == [12, 2]


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if a.startswith("conv2_")])
def test_conv2_matches_table3(arch):
    model = build(arch, 100)
    layers = list(model.branches[0])
    kinds = [type(m).__name__ for m in layers if not isinstance(m, torch.nn.Flatten)]
    assert kinds == ["Conv2d", "ReLU", "Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU"]
    convs = [m for m in layers if isinstance(m, torch.nn.Conv2d)]
    assert [tuple(c.weight.shape) for c in convs] == [(16, 1, 5, 5), (32, 16, 3, 3), (64, 32, 3, 3), (128, 64, 2, 2)]
    pool = next(m for m in layers if isinstance(m, torch.nn.MaxPool2d))
    assert (pool.kernel_size, pool.stride) == (2, 2)
    assert model.branches[0](torch.zeros(1, 1, 14, 14)).shape == (1, 512)
    linears = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(1024, 100), (100, 2)]
    if model.aux:
        assert all((h.in_features, h.out_features) == (512, 10) for h in model.aux_heads)


# --- Defaults -----------------------------------------------------------------


def test_precision_defaults_to_fp32_the_studys():
    for name in ("params.yaml", "params_quick.yaml"):
        assert yaml.safe_load((ROOT / name).read_text())["train"]["precision"] == "fp32"
    unset = {**TINY, "train": {k: v for k, v in TINY["train"].items() if k != "precision"}}
    assert P.validate(unset)["train"]["precision"] == "fp32" == TINY["train"]["precision"]
