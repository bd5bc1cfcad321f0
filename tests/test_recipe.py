"""How an extra trains beyond the study: its own batch size, the one-cycle schedule, label
smoothing, the train pairs its retrainings fit, test-time augmentation, and the
digits-only public recipe (lenet_digits) built on them."""

import os
import shutil
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from digitcmp import params as P
from digitcmp.training import registry
from digitcmp.data import load_prepared, prepare_arrays, save_prepared
from digitcmp.engine import run_task
from digitcmp.training.task import Task
from digitcmp.errors import UserError
from digitcmp.training.extras.lenet_digits import argmax_leq
from digitcmp.training.models import Output
from digitcmp.search import _spec
from digitcmp.training.schedule import learning_rate
from digitcmp.training.train import TrainSpec, loss_fn, train
from tests.dvcproject import ROOT


def test_lenet_digits_is_the_published_network():
    """Conv(1→32, 3) · pool · ReLU · Conv(32→64, 3) · pool · ReLU · Linear(256→200) · ReLU ·
    Linear(200→10): 320 + 18,496 + 51,400 + 2,010 = 72,226 weights, worked by hand."""
    model = registry.build("lenet_digits", 200)
    assert sum(p.numel() for p in model.parameters()) == 72_226
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == \
        [(1, 32, (3, 3), (0, 0)), (32, 64, (3, 3), (0, 0))]
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) for m in model.modules())
    assert registry.options("lenet_digits") == {} and registry.facts("lenet_digits_800").aux


def test_lenet_compares_its_predicted_digits():
    d1 = torch.full((3, 10), -5.0)
    d2 = d1.clone()
    for row, (a, b) in enumerate([(3, 7), (7, 3), (4, 4)]):
        d1[row, a], d2[row, b] = 5.0, 5.0
    assert argmax_leq(d1, d2).argmax(1).tolist() == [1, 0, 1]
    model = registry.build("lenet_digits", 16).eval()
    out = model(torch.randn(5, 2, 14, 14))
    assert torch.equal(out.main.argmax(1), (out.digit1.argmax(1) <= out.digit2.argmax(1)).long())


def test_without_a_main_loss_the_loss_is_the_digit_terms_alone():
    gen = torch.Generator().manual_seed(0)
    d1, d2 = torch.randn(4, 10, generator=gen), torch.randn(4, 10, generator=gen)
    classes = torch.tensor([[1, 2], [3, 3], [9, 0], [5, 6]])
    out = Output(torch.randn(4, 2, generator=gen), d1, d2)
    target = torch.tensor([1, 1, 0, 1])
    by_hand = 0.5 * (F.cross_entropy(d1, classes[:, 0]) + F.cross_entropy(d2, classes[:, 1]))
    assert torch.allclose(loss_fn(out, target, classes, 0.5, main=False), by_hand)
    with_main = F.cross_entropy(out.main, target) + by_hand
    assert torch.allclose(loss_fn(out, target, classes, 0.5), with_main)


def test_label_smoothing_is_the_smoothed_target_cross_entropy():
    """ε = 0.1 over 10 classes: target 0.91 on the label and 0.01 elsewhere (worked by hand)."""
    logits = torch.tensor([[2.0, 0.0, -1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    q = torch.full((1, 10), 0.01)
    q[0, 3] = 0.91
    by_hand = -(q * logits.log_softmax(1)).sum()
    out = Output(torch.zeros(1, 2), logits, logits)
    loss = loss_fn(out, torch.tensor([1]), torch.tensor([[3, 3]]), 0.5, smoothing=0.1, main=False)
    assert torch.allclose(loss, by_hand)


def test_one_cycle_rises_to_the_peak_and_falls_to_its_end():
    """100 steps at lr 1e-3: 25 rising from 1e-3/25 = 4e-5, the peak at step 25, 1e-3/25e4 =
    4e-9 at the last step, halfway down (step 25 + 74/2 = 62) the mean of peak and end."""
    spec = TrainSpec("probcmp_conv", 8, 1e-3, 1.0, 4, 25, 0, schedule="onecycle")
    lr = [learning_rate(spec, s, 100) for s in range(100)]
    assert lr[0] == pytest.approx(4e-5) and lr[25] == pytest.approx(1e-3) and lr[99] == pytest.approx(4e-9)
    assert lr[62] == pytest.approx((1e-3 + 4e-9) / 2)
    assert all(a < b for a, b in zip(lr[:25], lr[1:26])) and all(a > b for a, b in zip(lr[25:], lr[26:]))
    assert learning_rate(TrainSpec("probcmp_conv", 8, 1e-3, 1.0, 4, 25, 0), 50, 100) == 1e-3


def by_hand(images: torch.Tensor, rows: int, columns: int) -> torch.Tensor:
    """Each image moved pixel by pixel, its darkest pixel's value where nothing moves in."""
    out = images.amin(dim=(2, 3), keepdim=True).expand_as(images).clone()
    for i in range(14):
        for j in range(14):
            if 0 <= i - rows < 14 and 0 <= j - columns < 14:
                out[:, :, i, j] = images[:, :, i - rows, j - columns]
    return out


def test_tta_reads_the_mean_of_the_moved_images_and_leaves_training_alone():
    torch.manual_seed(0)
    plain = registry.build("probcmp_conv", 8, width=4)
    torch.manual_seed(0)
    tta = registry.build("probcmp_conv", 8, width=4, tta=4)
    x = torch.randn(3, 2, 14, 14)
    plain.eval(), tta.eval()
    images = x.reshape(6, 1, 14, 14)
    moves = [images] + [by_hand(images, *s) for s in ((0, 1), (0, -1), (1, 0), (-1, 0))]
    probs = torch.stack([plain(m.reshape(3, 2, 14, 14)).digit1.softmax(1) for m in moves]).mean(0)
    assert torch.allclose(tta(x).digit1.exp(), probs, atol=1e-6)
    plain.train(), tta.train()
    assert torch.equal(plain(x).digit1, tta(x).digit1)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    directory = tmp_path_factory.mktemp("prepared")
    save_prepared(directory, prepare_arrays("mnist5k", 0, 60, 2), {"source": "mnist5k", "seed": 0, "n_pairs": 60,
                                                                     "repeats": 2})
    return str(directory), load_prepared(directory).fingerprint


def test_fit_pairs_fits_the_first_pairs_of_a_retraining_and_no_others(prepared):
    directory, fingerprint = prepared
    spec = TrainSpec("lenet_digits", 8, 1e-3, 0.5, 2, 8, seed=1)
    part = run_task(Task(spec, draw=1, fit_pairs=40), directory, fingerprint, "cpu")
    assert Task(spec, draw=1, fit_pairs=40).set_sizes(load_prepared(directory)) == {"train": 40, "test": 60}
    fit, test = load_prepared(directory).retrain_sets(1)
    alone, _ = train(spec, tuple(t[:40] for t in fit), {"test": test})
    assert part["acc"] == alone.acc and part["digit_acc"] == alone.digit_acc


def test_an_extras_batch_size_and_recipe_reach_its_trainings():
    params = P.load(ROOT / "params.yaml")
    point = {"lr": 1e-3, "hidden": 8, "lambda": 0.5, "batch_size": 32, "schedule": "onecycle",
             "label_smoothing": 0.1}
    spec = _spec("probcmp_conv", point, params, seed=0)
    assert (spec.batch_size, spec.schedule, spec.label_smoothing) == (32, "onecycle", 0.1)
    assert _spec("probcmp_conv", {"lr": 1e-3, "hidden": 8, "lambda": 0.5}, params, 0).batch_size == \
        params["train"]["batch_size"]


def test_a_digits_only_model_with_lambda_0_is_refused_in_one_line(pairs1000):
    with pytest.raises(UserError) as err:
        train(TrainSpec("lenet_digits", 8, 1e-3, 0.0, 1, 100, 0), tuple(t[:50] for t in pairs1000[:3]))
    assert "\n" not in str(err.value) and str(err.value).startswith("lambda: 0")


def test_the_lenet_entries_differ_in_the_pairs_they_fit_alone():
    grids = P.load(ROOT / "params.yaml")["extras"]
    published, everything = grids["lenet_digits_800"], grids["lenet_digits"]
    assert published == {**everything, "fit_pairs": [800]}
    # λ 0.5 on the sum of the two digit terms: their mean, the published loss
    assert everything == {"lr": [1e-3], "hidden": [200], "lambda": [0.5], "batch_size": [32]}


def test_the_tuned_network_is_probcmp_augments_winner_with_the_three_levers():
    grids = P.load(ROOT / "params.yaml")["extras"]
    winner = {"lambda": [2.0], "rotate": [10.0], "scale": [0.05]}  # probcmp_augment's, pinned
    augmented = {k: v for k, v in grids["probcmp_augment"].items() if k not in winner}
    assert grids["probcmp_tta"] == {**augmented, **winner, "width": [32], "schedule": ["onecycle"], "lr": [3e-3],
                                    "tta": [4]}
    shapes = lambda name: [p.shape for p in registry.build(name, 8, width=4).parameters()]  # noqa: E731
    assert shapes("probcmp_tta") == shapes("probcmp_augment")


def test_the_trials_section_shows_what_each_trial_changed_and_its_validation_means():
    from digitcmp_report.trials import trials_markdown

    runs = {"probcmp_augment": {"lr": 1e-3, "hidden": 128, "width": 16, "mean": 0.98}}
    trial = lambda point, mean, n=8: {"arch": "probcmp_augment", "point": point, "draws": [{}] * n,  # noqa: E731
                                      "mean": mean}
    trials = {"base": trial({"lr": 1e-3, "hidden": 128, "width": 16}, {"val_acc": 0.98, "val_digit_acc": 0.97}),
              "wide": trial({"lr": 1e-3, "hidden": 128, "width": 32},
                            {"val_acc": 0.99, "val_digit_acc": 0.98, "val_acc_tta4": 0.995}),
              "first look": trial({"lr": 1e-3, "hidden": 128, "width": 8}, {"val_acc": 0.5}, n=4)}
    text = trials_markdown(trials, runs)
    rows = [line for line in text.splitlines() if line.startswith("| base") or line.startswith("| wide")]
    assert rows == ["| base | none | 0.9800 | 0.9700 | — | — | — |",
                    "| wide | width 32 | 0.9900 | 0.9800 | 0.9950 | — | — |"]
    assert "first look" not in text and trials_markdown(None, runs) == ""


@pytest.mark.parametrize("args,message", [
    (["t", "--base", "conv2_sharing_aux"], "error: --base: 'conv2_sharing_aux' is not allowed; allowed: "),
    (["t", "--draws", "0,1"], "error: --draws: '0,1' is not allowed; allowed: retraining draws 1 to 30"),
])
def test_trials_refuse_a_base_or_draws_beyond_the_protocol_in_one_line(tmp_path, args, message):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    proc = subprocess.run([sys.executable, "-m", "scripts.trials", *args], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith(message)


def test_train_time_keeps_the_entries_measured_like_these(tmp_path):
    from bench.train_time import _kept

    host = {"cpu": "X", "threads": 1, "torch": "2", "repeat": 3}
    path = tmp_path / "t.json"
    path.write_text('{"cpu": "X", "threads": 1, "torch": "2", "repeat": 3, "seconds": {"a": 1.5}}')
    assert _kept(str(path), host) == {"a": 1.5}
    assert _kept(str(path), {**host, "repeat": 1}) == {}
    assert _kept(str(tmp_path / "missing.json"), host) == {}


def test_the_public_recipe_is_tested_against_its_published_mean_by_welch_alone():
    from digitcmp_report.tables import published_note, questions

    qs = questions({"lenet_digits_800": {"test_acc": [0.97, 0.98, 0.99]}})
    (row,) = qs.to_dict("records")
    assert row["test"] == "lenet_pools" and row["diff"] == pytest.approx(0.98 - 0.9826)
    assert row["p_paired"] != row["p_paired"]  # NaN: the published runs saw other draws
    assert "0.9826 ± 0.0034 over 10 runs" in published_note(qs)
