"""The training loop's own rules, beside the loss and the optimiser (test_protocol.py): a
non-finite loss stops the training and is reported, what is scored and recorded, where
augmentation's fill comes from, and how a grid point becomes a training spec."""

import dataclasses

import numpy as np
import pytest
import torch

from digitcmp.training import augment
from digitcmp import data as D
from digitcmp.training.registry import build
from digitcmp.training.precision import resolve_precision
from digitcmp.search import _spec
from digitcmp.training.seeds import derive_seed
from digitcmp.training.train import TrainSpec, evaluate, init_model, normalise, train
from tests.protocol_data import hand_pairs, learnable_pools, tiny_params


def _set(n: int = 20, seed: int = 0):
    pools = learnable_pools(100, seed)
    return hand_pairs(pools.train_images, pools.train_labels, np.arange(2 * n))


def _weights(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


# --- Divergence ---------------------------------------------------------------


def test_a_non_finite_loss_stops_training_before_any_step_and_is_reported():
    x, target, classes = _set()
    spec = TrainSpec("mlp_sharing_aux", 6, 1e-3, 0.5, 3, 10, seed=1)
    result, model = train(spec, (x * float("nan"), target, classes), {"test": _set(10, 1)})
    assert result.diverged is True and result.epochs_run == 0
    assert all(torch.equal(a, b) for a, b in zip(_weights(model), _weights(init_model(spec))))  # no step taken
    assert set(result.acc) == {"train", "test"}


def test_a_finite_training_runs_every_epoch_and_is_not_diverged():
    result, _ = train(TrainSpec("mlp_sharing_aux", 6, 1e-3, 0.5, 3, 10, seed=1), _set())
    assert result.diverged is False and result.epochs_run == 3


# --- What is scored and recorded ----------------------------------------------


def test_digit_accuracy_is_scored_for_aux_models_on_every_scored_set():
    test = _set(10, 1)
    result, model = train(TrainSpec("mlp_sharing_aux", 6, 1e-2, 0.5, 2, 10, seed=2), _set(), {"test": test})
    assert set(result.digit_acc) == {"train", "test"}
    scaled_test = normalise(_set(), {"test": test})[1]["test"]  # the model saw standardised inputs
    assert result.digit_acc["test"] == evaluate(model, scaled_test)[1]
    noaux, _ = train(TrainSpec("mlp_sharing_noaux", 6, 1e-2, 0.5, 2, 10, seed=2), _set(), {"test": test})
    assert noaux.digit_acc == {}


def test_epoch_history_only_when_tracked_and_it_ends_at_the_final_scores():
    test = _set(10, 1)
    plain, _ = train(TrainSpec("shallow_sharing_aux", 6, 1e-2, 0.5, 3, 10, seed=3), _set(), {"test": test})
    assert plain.history == []
    tracked, _ = train(TrainSpec("shallow_sharing_aux", 6, 1e-2, 0.5, 3, 10, seed=3), _set(), {"test": test},
                       track_epochs=True)
    assert [row["epoch"] for row in tracked.history] == [0, 1, 2, 3]
    assert tracked.history[-1]["test_acc"] == tracked.acc["test"] == plain.acc["test"]
    assert tracked.history[-1]["train_acc"] == tracked.acc["train"]
    assert all(0 <= row["test_acc"] <= 1 for row in tracked.history)


def test_the_plain_loop_is_the_same_adam_training_as_the_fast_path():
    spec = TrainSpec("shallow_sharing_aux", 6, 1e-2, 0.5, 2, 10, seed=3)
    (plain, a), (fast, b) = train(spec, _set(), fast=False), train(spec, _set())
    assert plain.epochs_run == fast.epochs_run == 2
    assert all(torch.allclose(p, q, atol=1e-5) for p, q in zip(_weights(a), _weights(b)))  # same lr, same steps
    assert not all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(init_model(spec))))


def test_bf16_changes_the_forward_pass_and_fp32_is_the_default():
    data = _set()
    spec = TrainSpec("conv1_sharing_aux", 6, 1e-2, 0.5, 1, 10, seed=3)
    assert spec.precision == "fp32"
    m32 = train(spec, data)[1]
    m16 = train(dataclasses.replace(spec, precision="bf16"), data)[1]
    assert not all(torch.equal(a, b) for a, b in zip(_weights(m32), _weights(m16)))


# --- Augmentation's fill ------------------------------------------------------


def test_standardising_maps_the_raw_background_to_the_fill_value():
    x, target, classes = _set()
    x[:, :, 0, 0] = 0.0  # a raw background pixel in every image
    (scaled, _, _), _, background = normalise((x, target, classes), {})
    assert background == pytest.approx(float((0 - x.mean()) / x.std()))
    assert torch.allclose(scaled[:, :, 0, 0], torch.tensor(background))


def test_raw_inputs_are_filled_with_zero_when_augmented():
    """All-black digits stay all black under shifts only if the fill is the raw background 0:
    then augmented training equals plain training (the warps use their own generator)."""
    x, target, classes = _set()
    black = (torch.zeros_like(x), target, classes)
    base = TrainSpec("mlp_sharing_aux", 6, 1e-2, 0.5, 2, 10, seed=3, standardise=False)
    shifted = dataclasses.replace(base, augment=(("shift", 3.0),))
    (_, a), (_, b) = train(base, black), train(shifted, black)
    assert all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(b)))


# --- A grid point becomes a spec ------------------------------------------------


def test_a_grid_point_becomes_the_spec_of_its_params():
    params = tiny_params(standardise=False, precision="bf16")
    point = {"lr": 1e-2, "hidden": 8, "lambda": None}
    spec = _spec("mlp_sharing_noaux", point, params, seed=7)
    assert (spec.arch, spec.hidden, spec.lr, spec.lam, spec.seed) == ("mlp_sharing_noaux", 8, 1e-2, 0.0, 7)
    assert (spec.epochs, spec.batch_size, spec.standardise, spec.precision) == (3, 10, False, "bf16")
    assert _spec("mlp_sharing_noaux", point, params, seed=7, epochs=9).epochs == 9
    aug = _spec("probcmp_augment", {"lr": 1e-3, "hidden": 8, "lambda": 1.0, "width": 4, "rotate": 5.0},
                tiny_params(), seed=1)
    assert aug.augment == (("rotate", 5.0),) and aug.options == (("width", 4),)
    auto = tiny_params(precision="auto")
    for arch in ("conv2_sharing_aux", "mlp_sharing_aux"):
        assert _spec(arch, point, auto, seed=1).precision == resolve_precision("auto", arch, "cpu")
    assert _spec("mlp_sharing_aux", point, auto, seed=1).precision == "fp32"


# --- Seeds: each stream derives from its unit of work ---------------------------


def test_initial_weights_and_warps_derive_from_the_trainings_seed(monkeypatch):
    spec = TrainSpec("mlp_sharing_aux", 6, 1e-3, 0.5, 1, 10, seed=11, augment=(("shift", 1.0),))
    torch.manual_seed(derive_seed(11, "init"))
    assert all(torch.equal(a, b) for a, b in zip(_weights(build("mlp_sharing_aux", 6)), _weights(init_model(spec))))
    seeds, real = [], augment.augment
    monkeypatch.setattr(augment, "augment", lambda x, c, gen, *rest: seeds.append(gen.initial_seed()) or real(x, c, gen, *rest))
    orders, randperm = [], torch.randperm
    monkeypatch.setattr(torch, "randperm", lambda n, generator: orders.append(generator.initial_seed()) or
                        randperm(n, generator=generator))
    train(spec, _set())
    assert len(seeds) == 2 and set(seeds) == {derive_seed(11, "augment")}  # one generator, 2 batches
    assert orders == [derive_seed(11, "batches")]  # the batch order: its own stream of the seed




def test_the_pools_split_and_the_draws_follow_the_seed():
    a, b = D.load_pools("mnist5k", 0), D.load_pools("mnist5k", 1)
    assert not np.array_equal(a.train_images, b.train_images)  # which half of each class goes where
    assert np.array_equal(a.train_images, D.load_pools("mnist5k", 0).train_images)
    pools = learnable_pools(100)
    first = D.draw_indices(pools, 10, 0, 1)
    assert np.array_equal(first[0], D.draw_indices(pools, 10, 0, 1)[0])
    assert not np.array_equal(first[0], D.draw_indices(pools, 10, 1, 1)[0])


def test_n_pairs_runs_from_the_smallest_that_leaves_a_pair_to_fit_to_half_a_pool():
    D.check_n_pairs(2, "mnist5k", 0.3)
    D.check_n_pairs(1250, "mnist5k", 0.3)
    D.check_n_pairs(3, "mnist5k", 0.8)
    for n, fraction, why in ((1, 0.3, " (train.val_fraction 0.3 must leave a pair to fit)"), (1251, 0.3, ""),
                             (2, 0.8, " (train.val_fraction 0.8 must leave a pair to fit)")):
        low = 3 if fraction == 0.8 else 2
        with pytest.raises(D.UserError) as err:
            D.check_n_pairs(n, "mnist5k", fraction)
        assert str(err.value) == f"data.n_pairs: {n} is out of range for source 'mnist5k'{why}; allowed: {low} to 1250"
    with pytest.raises(D.UserError, match="leaves no pair to fit for any data.n_pairs up to 1250"):
        D.check_n_pairs(10, "mnist5k", 0.9999)


def test_a_pool_too_small_for_2n_images_is_refused_not_shrunk():
    pools = learnable_pools(20)
    D.draw_indices(pools, 10, 0, 1)
    with pytest.raises(D.UserError, match="data.n_pairs: 11 needs 22 images in each pool, but the train pool has "
                                          "20 and the test pool has 20; allowed: 1 to 10"):
        D.draw_indices(pools, 11, 0, 1)
