import copy
import itertools
from pathlib import Path

import pytest
import torch
import yaml

from digitcmp.training import augment
from digitcmp import params as P
from digitcmp.training import registry
from digitcmp.errors import UserError
from digitcmp.training.extras import ACTIVATIONS
from digitcmp.training.extras.probcmp_conv import log_p_leq
from digitcmp.training.fast import fast_layout
from digitcmp.training.checks import Rule
from digitcmp.training.models import ARCHITECTURES, Entry
from digitcmp.training.registry import EXTRAS, build
from digitcmp.training.train import TrainSpec, train
from digitcmp.search import RECIPE

pytestmark = pytest.mark.fast  # the fast lane: `make test-fast`

# every extra with each value of each of its options (one option varied at a time)
CASES = [(name, {}) for name in EXTRAS] + [
    (name, {key: value})
    for name in EXTRAS
    for key, values in {"activation": list(ACTIVATIONS), "dropout": [0.0, 0.5],
                        "batchnorm": [False], "depth": [1, 2], "width": [4, 8]}.items() if key in registry.options(name)
    for value in values
]


@pytest.mark.parametrize("option", ["scale", "rotate", "lambda", "hidden"])
def test_an_option_named_like_an_augmentation_option_or_a_grid_axis_is_refused_in_one_line(option):
    entry = Entry(lambda hidden, **_: None, family="x", options={option: Rule(lambda v: True, "any", default=1.0)})
    with pytest.raises(UserError) as err:
        registry.check_entry("clash", entry, "digitcmp/training/extras/clash.py")
    assert str(err.value).startswith(f"digitcmp/training/extras/clash.py: clash's option {option!r} is taken; allowed: ")
    assert "\n" not in str(err.value)


def test_extras_are_apart_from_the_sixteen():
    assert EXTRAS and not set(EXTRAS) & set(ARCHITECTURES)
    # the committed five all have digit heads; an added extra may have none (test_new_architecture.py)
    assert {"conv2x_sharing_aux", "deepmlp_sharing_aux", "probcmp_conv", "probcmp_nobn", "probcmp_augment"} <= {
        name for name in EXTRAS if registry.uses_lambda(name)}


@pytest.mark.parametrize("name,options", CASES, ids=lambda c: str(c))
def test_builds_runs_forward_and_backward(name, options):
    model = build(name, 16, **options)
    x = torch.randn(4, 2, 14, 14)
    for mode in (model.train, model.eval):
        mode()
        out = model(x)
        assert out.main.shape == (4, 2)
        heads = (out.digit1, out.digit2) if registry.uses_lambda(name) else ()  # the registry's fact
        assert all(h.shape == (4, 10) for h in heads)
    model.train()
    out = model(x)
    heads = (out.digit1, out.digit2) if registry.uses_lambda(name) else ()
    (out.main.sum() + sum(h.sum() for h in heads)).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_probability_comparator_matches_brute_force():
    torch.manual_seed(0)
    d1, d2 = torch.randn(5, 10) * 3, torch.randn(5, 10) * 3
    p1, p2 = d1.softmax(1), d2.softmax(1)
    brute = torch.tensor([sum(p1[n, i] * p2[n, j] for i, j in itertools.product(range(10), repeat=2) if i <= j)
                          for n in range(5)])
    logits = log_p_leq(d1, d2)
    assert torch.allclose(logits[:, 1].exp(), brute, atol=1e-6)
    assert torch.allclose(logits.exp().sum(1), torch.ones(5), atol=1e-6)  # already log-probabilities
    # confident digits: a clear 2 vs a clear 7 gives P(2 ≤ 7) ≈ 1 with finite logits both ways
    sure = torch.full((1, 10), -50.0)
    a, b = sure.clone(), sure.clone()
    a[0, 2], b[0, 7] = 50.0, 50.0
    assert log_p_leq(a, b).argmax(1).item() == 1 and log_p_leq(b, a).argmax(1).item() == 0
    assert torch.isfinite(log_p_leq(a, b)).all()


def test_probcmp_main_output_is_its_digit_heads_comparison():
    model = build("probcmp_conv", 16).eval()
    out = model(torch.randn(6, 2, 14, 14))
    assert torch.allclose(out.main, log_p_leq(out.digit1, out.digit2))


@pytest.mark.parametrize("options,named", [
    ({"activation": "gelu"}, "'gelu'"),
    ({"dropout": 1.0}, "1.0"),
    ({"dropout": -0.1}, "-0.1"),
    ({"dropout": "half"}, "'half'"),
    ({"widht": 3}, "'widht'"),
    ({"width": 0}, "0"),
    ({"width": 2.5}, "2.5"),
])
def test_invalid_options_are_one_line_user_errors(options, named):
    with pytest.raises(UserError) as err:
        build("probcmp_conv" if "width" in options else "conv2x_sharing_aux", 16, **options)
    message = str(err.value)
    assert "\n" not in message and named in message and "allowed" in message
    if "activation" in options:
        assert all(a in message for a in ACTIVATIONS)


def test_probcmp_width_sets_the_channels_and_the_fast_layout_keeps_the_numbers():
    torch.manual_seed(0)
    plain = build("probcmp_conv", 16, width=4).eval()
    convs = [m for m in plain.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 4, 8, 8]
    fast = fast_layout(copy.deepcopy(plain))  # batch norm and padding, in channels-last
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last)
               for c in fast.modules() if isinstance(c, torch.nn.Conv2d))
    x = torch.randn(6, 2, 14, 14)
    assert all(torch.allclose(u, v, atol=1e-5) for u, v in zip(plain(x), fast(x)))


def test_study_architectures_take_no_options():
    with pytest.raises(UserError, match="unknown option 'dropout'; allowed: none"):
        build("conv2_sharing_aux", 16, dropout=0.5)


@pytest.mark.parametrize("arch,options", [
    ("deepmlp_sharing_aux", (("activation", "tanh"), ("dropout", 0.5))),
    ("probcmp_conv", (("dropout", 0.5), ("width", 4))),  # batch norm, channels-last
])
def test_dropout_training_is_deterministic(pairs1000, arch, options):
    tr = tuple(t[:200] for t in pairs1000[:3])
    spec = TrainSpec(arch, 32, 1e-3, 0.5, 2, 100, seed=3, options=options)
    _, a = train(spec, tr)
    torch.rand(7)  # global RNG state must not matter
    _, b = train(spec, tr)
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


ROOT = Path(__file__).resolve().parents[1]


def test_params_extras_grids_build():
    """Every grid point of params.yaml's extras: names an extra and valid options (the
    augmentation's options are the training's, not the architecture's). A registered extra
    may have no entry there: it is then not run."""
    grids = P.load(ROOT / "params.yaml")["extras"]
    assert set(grids) <= set(EXTRAS)
    for name, grid in grids.items():
        axes = {k: v for k, v in grid.items() if k not in ("lr", "hidden", "lambda", *augment.OPTIONS, *RECIPE)}
        for hidden in grid["hidden"]:
            for values in itertools.product(*axes.values()):
                build(name, hidden, **dict(zip(axes, values)))


def test_dense_profile_has_the_three_axes_and_keeps_the_study_grid():
    """Denser, never narrower: every value of the study's grid stays, so no value is dropped on any result."""
    dense = yaml.safe_load((ROOT / "params_dense.yaml").read_text())
    study = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert set(dense) == {"lr", "hidden", "lambda"}
    assert all(isinstance(v, list) and len(v) >= 5 for v in dense.values())
    assert all(set(study[axis]) <= set(dense[axis]) for axis in dense)


def test_deepmlp_grid_is_conv2s_and_its_heads_are_conv2s():
    """The depth-or-convolution comparison differs in the branch alone: same grid as the
    study's conv2_sharing_aux (params.yaml's top-level axes), same main and aux heads."""
    params = P.load(ROOT / "params.yaml")
    grid = params["extras"]["deepmlp_sharing_aux"]
    assert all(grid[axis] == params[axis] for axis in ("lr", "hidden", "lambda"))
    mlp, conv = registry.build("deepmlp_sharing_aux", 100), registry.build("conv2_sharing_aux", 100)
    shapes = lambda m: [tuple(p.shape) for p in m.parameters()]  # noqa: E731
    assert shapes(mlp.head) == shapes(conv.head)  # Linear(1024, 100) · ReLU · Linear(100, 2)
    assert shapes(mlp.digit_head) == shapes(conv.aux_heads)  # Linear(512, 10)
    assert not any(isinstance(m, torch.nn.Conv2d) for m in mlp.modules())
    assert sum(isinstance(m, torch.nn.Linear) for m in mlp.branch.modules()) == 4


def test_probcmp_augment_is_probcmp_conv_trained_on_augmented_pairs():
    params = P.load(ROOT / "params.yaml")["extras"]
    augmented, plain = params["probcmp_augment"], params["probcmp_conv"]
    assert {k: v for k, v in augmented.items() if k not in augment.OPTIONS} == plain
    assert any(v != [augment.OPTIONS[k].default] for k, v in augmented.items() if k in augment.OPTIONS)
    a, b = registry.build("probcmp_augment", 8, width=4), registry.build("probcmp_conv", 8, width=4)
    assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]


def test_probcmp_nobn_is_probcmp_conv_without_batch_norm_on_the_same_grid():
    params = P.load(ROOT / "params.yaml")["extras"]
    assert params["probcmp_nobn"] == params["probcmp_conv"]
    plain, normed = registry.build("probcmp_nobn", 8, width=4), registry.build("probcmp_conv", 8, width=4)
    norms = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)
    assert not any(isinstance(m, norms) for m in plain.modules())
    assert sum(isinstance(m, norms) for m in normed.modules()) == 5
    layers = lambda model: [m.weight.shape for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]  # noqa: E731
    assert layers(plain) == layers(normed)
    assert all(m.bias is not None for m in plain.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert "batchnorm" not in registry.options("probcmp_nobn")
