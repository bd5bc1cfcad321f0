"""Two rules of the protocol with a test each: the study stage retrains the grid's winner, and
every set is standardised by the training set's statistics (never its own, never pooled)."""

import json

import torch

from digitcmp.search import retrain
from digitcmp.training.train import TrainSpec, evaluate, train
from tests.dvcproject import TINY, clone, env, run, write_params, study_argv

ARCH = "shallow_sharing_noaux"


def test_the_study_stage_retrains_the_grid_point_with_the_best_validation_accuracy(base, tmp_path):
    repo = clone(base, tmp_path / "repo")
    params = {**TINY, "lr": [1e-5, 1e-3, 1e-1], "hidden": [8, 16]}
    write_params(repo, params)
    run(repo, *study_argv(ARCH), env=env(repo))
    grid = json.loads((repo / "metrics/search" / f"{ARCH}.json").read_text())["grid"]
    runs = json.loads((repo / "metrics/runs" / f"{ARCH}.json").read_text())
    # By hand: the highest validation accuracy; ties to the smaller hidden, then lr.
    winner = sorted(grid, key=lambda r: (-r["val_acc"], r["hidden"], r["lr"]))[0]
    assert winner is not grid[0] and winner is not grid[-1]  # a bug picking an end would show
    assert (runs["lr"], runs["hidden"], runs["lambda"]) == (winner["lr"], winner["hidden"], None)
    # And its retrainings are that point's: the same accuracies as retraining it here.
    here = retrain(ARCH, winner, {**params, "train": {**params["train"], "workers": 1}}, repo / "data/prepared")
    assert here["test_acc"] == runs["test_acc"]


def test_every_scored_set_is_standardised_by_the_training_sets_mean_and_std(pairs1000):
    n = 200
    train_set = (pairs1000.train_input[:n], pairs1000.train_target[:n], pairs1000.train_classes[:n])
    raw = pairs1000.test_input[:n]
    # A scored set on another scale: standardising it by its own statistics would undo the
    # scale and score it like the raw set; by the training set's it stays on another scale.
    shifted = (raw * 1.2 + 20, pairs1000.test_target[:n], pairs1000.test_classes[:n])
    spec = TrainSpec("mlp_sharing_aux", 32, 1e-3, 0.5, 8, 50, seed=3)
    result, model = train(spec, train_set, {"test": shifted, "raw": (raw, *shifted[1:])})
    x = train_set[0]
    mean, std = x.mean(), x.std()  # one scalar each, over every training pixel
    by_hand = (shifted[0] - mean) / std
    assert result.acc["test"] == evaluate(model, (by_hand, *shifted[1:]))[0]
    own = ((shifted[0] - shifted[0].mean()) / shifted[0].std())
    assert evaluate(model, (own, *shifted[1:]))[0] != result.acc["test"]
    assert torch.isfinite(by_hand).all()
