"""The study's protocol (§3.2), one test per rule: the grid search, the retrainings and
the numbers reported. Real trainings through the real engine (in this process, no
cache), on tiny data built here (tests/protocol_data.py)."""

import itertools

import numpy as np
import pytest
import torch

from digitcmp import params as P
from digitcmp.data import draw_all, load_prepared
from digitcmp.training.pairs import Prepared
from digitcmp.errors import UserError
from digitcmp.search import best_architecture, curve, grid_points, options, pick_best, retrain, search
from digitcmp.training.seeds import derive_seed
from digitcmp.training.train import TrainSpec, init_model, train
from tests.protocol_data import hand_pairs, id_pools, learnable_pools, prepared_dir, tiny_params

ARCH = "shallow_nosharing_aux"


@pytest.fixture(autouse=True)
def no_cache(monkeypatch):
    monkeypatch.setenv("DIGITCMP_CACHE", "off")


# Function-scoped fixtures: each test that reads a search or retrain result reruns it, so
# the mutation tester (make mutants) links the test to the code it checks.
@pytest.fixture
def data_dir(tmp_path_factory):
    params = tiny_params()
    return prepared_dir(tmp_path_factory.mktemp("prepared"), learnable_pools(), params["data"]["n_pairs"],
                        params["train"]["repeats"])


@pytest.fixture
def found(data_dir):
    return search(ARCH, tiny_params(), data_dir)


def _spec(point: dict, seed: int, params: dict) -> TrainSpec:
    t = params["train"]
    return TrainSpec(ARCH, point["hidden"], point["lr"], point["lambda"], t["epochs"], t["batch_size"], seed,
                     precision="fp32")


# --- Grid search ----------------------------------------------------------------


def test_grid_search_trains_every_point_once_on_the_fit_part_of_draw_0(found, data_dir):
    params = tiny_params()
    prepared = load_prepared(data_dir)
    n = params["data"]["n_pairs"]
    n_fit = n - round(n * params["train"]["val_fraction"])
    train_idx = prepared.draws[0, 0]
    pools = prepared.pools
    fit = hand_pairs(pools.train_images, pools.train_labels, train_idx[:2 * n_fit])
    val = hand_pairs(pools.train_images, pools.train_labels, train_idx[2 * n_fit:])
    grid = [dict(zip(("lr", "hidden", "lambda"), v))
            for v in itertools.product(params["lr"], params["hidden"], params["lambda"])]
    rows = found["grid"]
    assert sorted((r["lr"], r["hidden"], r["lambda"]) for r in rows) == sorted(tuple(p.values()) for p in grid)
    for row in rows:
        point = {k: row[k] for k in ("lr", "hidden", "lambda")}
        seed = derive_seed(params["data"]["seed"], "search", ARCH, *sorted(point.items()))
        replay, _ = train(_spec(point, seed, params), fit, {"val": val})
        assert (row["train_acc"], row["val_acc"]) == (replay.acc["train"], replay.acc["val"]), point
        assert row["epochs_run"] == params["train"]["epochs"]


@pytest.mark.parametrize("val_fraction", [0.3, 0.25, 0.5])
def test_fit_and_validation_parts_are_disjoint_and_sized_by_val_fraction(val_fraction):
    pools = id_pools(60, 60)
    prepared = Prepared(pools, draw_all(pools, 20, seed=1, repeats=2), {}, "")
    fit, val = prepared.search_sets(val_fraction)
    n_val = round(20 * val_fraction)
    assert len(val[0]) == len(val[1]) == len(val[2]) == n_val
    assert len(fit[0]) == len(fit[1]) == len(fit[2]) == 20 - n_val
    fit_ids = set(fit[0][:, :, 0, 0].flatten().tolist())
    val_ids = set(val[0][:, :, 0, 0].flatten().tolist())
    assert not fit_ids & val_ids
    assert fit_ids | val_ids == set(prepared.draws[0, 0].tolist())  # together: draw 0's train pairs


def test_validation_part_keeps_at_least_one_pair_and_fitting_at_least_one():
    pools = id_pools(60, 60)
    prepared = Prepared(pools, draw_all(pools, 20, seed=1, repeats=2), {}, "")
    fit, val = prepared.search_sets(0.01)  # round(0.2) = 0 → 1
    assert (len(fit[0]), len(val[0])) == (19, 1)
    two = Prepared(pools, draw_all(pools, 2, seed=1, repeats=2), {}, "")
    fit, val = two.search_sets(0.5)
    assert (len(fit[0]), len(val[0])) == (1, 1)
    with pytest.raises(UserError, match=r"^train.val_fraction: 0.9 leaves no training pairs of 2; allowed"):
        two.search_sets(0.9)


def test_grid_winner_is_the_highest_validation_accuracy_under_the_tie_rule():
    def row(lr, hidden, lam, val, diverged=False):
        return {"lr": lr, "hidden": hidden, "lambda": lam, "val_acc": val, "diverged": diverged}

    best = row(1e-3, 300, 1.0, 0.9)
    rows = [row(1e-5, 50, 0.25, 0.5), best, row(1e-1, 50, 0.25, 0.7), row(1e-3, 50, 0.5, 0.89)]
    for order in itertools.permutations(rows):
        assert pick_best(list(order)) is best
    # ties: the smaller hidden, then the smaller lr, then the smaller lambda
    tied = [row(1e-3, 100, 0.5, 0.8), row(1e-3, 50, 1.0, 0.8), row(1e-5, 50, 1.0, 0.8), row(1e-5, 50, 0.25, 0.8)]
    for order in itertools.permutations(tied):
        assert pick_best(list(order)) is tied[3]
    assert pick_best([row(1e-3, 50, None, 0.8), row(1e-5, 50, None, 0.8)])["lr"] == 1e-5
    assert pick_best([row(1e-3, 50, 0.5, 0.8), row(1e-3, 50, 0.0, 0.8)])["lambda"] == 0.0
    # a diverged run wins only if every run diverged
    assert pick_best([row(1e-1, 50, 0.5, 0.95, True), row(1e-3, 50, 0.5, 0.6)])["lr"] == 1e-3
    assert pick_best([row(1e-1, 50, 0.5, 0.4, True), row(1e-3, 50, 0.5, 0.6, True)])["lr"] == 1e-3


def test_search_reports_the_winner_of_its_own_grid(found):
    winner = max(found["grid"], key=lambda r: r["val_acc"])
    assert found["best"]["val_acc"] == winner["val_acc"]
    assert len({r["val_acc"] for r in found["grid"]}) > 1  # the grid really ranks its points
    assert found["best"] == {k: pick_best(found["grid"])[k] for k in ("lr", "hidden", "lambda", "val_acc")}


def test_grid_search_never_sees_a_test_pair(found, tmp_path):
    """The same search with every test image replaced by NaN gives the same numbers: a
    NaN seen in fitting, standardising or scoring would show as a diverged or changed run."""
    params = tiny_params()
    pools = learnable_pools()
    poisoned = pools.__class__(pools.train_images, pools.train_labels, np.full_like(pools.test_images, np.nan),
                               pools.test_labels)
    again = search(ARCH, params, prepared_dir(tmp_path, poisoned, params["data"]["n_pairs"],
                                              params["train"]["repeats"]))
    assert again == found and found["n_diverged"] == 0


# --- Retrainings ----------------------------------------------------------------


@pytest.fixture
def runs(data_dir):
    return retrain(ARCH, {"lr": 1e-2, "hidden": 8, "lambda": 0.5}, tiny_params(), data_dir)


def test_retraining_k_trains_on_draw_k_and_scores_on_its_test_pairs(runs, data_dir):
    params = tiny_params()
    prepared = load_prepared(data_dir)
    pools = prepared.pools
    assert len(runs["test_acc"]) == params["train"]["repeats"] == len(prepared.draws) - 1
    for k in range(1, params["train"]["repeats"] + 1):
        train_idx, test_idx = prepared.draws[k]
        fit = hand_pairs(pools.train_images, pools.train_labels, train_idx)
        test = hand_pairs(pools.test_images, pools.test_labels, test_idx)
        spec = _spec({"lr": 1e-2, "hidden": 8, "lambda": 0.5},
                     derive_seed(params["data"]["seed"], "retrain", ARCH, k), params)
        replay, _ = train(spec, fit, {"test": test})
        assert runs["test_acc"][k - 1] == replay.acc["test"], k
        assert runs["train_acc"][k - 1] == replay.acc["train"], k
        assert runs["digit_acc"][k - 1] == replay.digit_acc["test"], k
    assert runs["test_acc"] != runs["train_acc"]  # scored on other pairs than it was fitted on


def test_retrainings_draws_differ_and_initial_weights_differ(runs, data_dir):
    prepared = load_prepared(data_dir)
    draws = prepared.draws
    for a, b in itertools.combinations(range(len(draws)), 2):
        assert not np.array_equal(draws[a, 0], draws[b, 0]) and not np.array_equal(draws[a, 1], draws[b, 1])
    pools = id_pools(60, 60)
    prep = Prepared(pools, draw_all(pools, 20, seed=0, repeats=3), {}, "")
    sets = [prep.retrain_sets(k) for k in (1, 2, 3)]
    for (tr_a, te_a), (tr_b, te_b) in itertools.combinations(sets, 2):
        assert not torch.equal(tr_a[0], tr_b[0]) and not torch.equal(te_a[0], te_b[0])
    seed = tiny_params()["data"]["seed"]
    inits = []
    for k in (1, 2, 3):
        spec = _spec({"lr": 1e-2, "hidden": 8, "lambda": 0.5}, derive_seed(seed, "retrain", ARCH, k), tiny_params())
        inits.append(torch.cat([p.flatten() for p in init_model(spec).parameters()]))
    assert all(not torch.equal(a, b) for a, b in itertools.combinations(inits, 2))
    assert len(set(runs["test_acc"])) > 1


# --- Reported numbers ---------------------------------------------------------


def test_reported_mean_and_sample_std_of_the_retrainings_test_accuracies(runs):
    acc = np.array(runs["test_acc"])
    assert runs["mean"] == pytest.approx(acc.mean(), abs=1e-15)
    assert runs["std"] == pytest.approx(acc.std(ddof=1), abs=1e-15)  # sample std, not population
    assert runs["std"] != pytest.approx(acc.std(ddof=0))


def test_search_and_retrain_record_what_they_ran(found, runs):
    assert set(found) == {"arch", "precision", "grid", "n_diverged", "best"}
    assert (found["arch"], found["precision"]) == (ARCH, "fp32")
    assert set(runs) == {"arch", "lr", "hidden", "lambda", "precision", "test_acc", "train_acc", "n_diverged",
                         "mean", "std", "digit_acc", "standardise"}
    assert (runs["arch"], runs["lr"], runs["hidden"], runs["lambda"], runs["precision"], runs["n_diverged"]) == \
        (ARCH, 1e-2, 8, 0.5, "fp32", 0)


def test_grid_of_a_noaux_model_has_no_lambda_axis_and_a_one_point_grid_runs(data_dir):
    params = tiny_params()
    points = grid_points("mlp_sharing_noaux", params)
    assert points == [{"lr": lr, "hidden": h, "lambda": None} for lr in params["lr"] for h in params["hidden"]]
    one = {**params, "lr": [1e-2], "hidden": [4]}
    found = search("shallow_sharing_noaux", one, data_dir)
    assert [(r["lr"], r["hidden"], r["lambda"]) for r in found["grid"]] == [(1e-2, 4, None)]
    assert found["best"] == {"lr": 1e-2, "hidden": 4, "lambda": None, "val_acc": found["grid"][0]["val_acc"]}


def test_an_extra_architectures_grid_carries_its_options(data_dir):
    params = P.validate({**{k: v for k, v in tiny_params().items() if k != "extras"},
                         "extras": {"deepmlp_sharing_aux": {"lr": 1e-2, "hidden": 4, "lambda": 0.5, "depth": [1, 2]}}})
    assert grid_points("deepmlp_sharing_aux", params) == [
        {"lr": 1e-2, "hidden": 4, "lambda": 0.5, "depth": d} for d in (1, 2)]
    assert options("deepmlp_sharing_aux", {"lr": 1e-2, "depth": 2}) == {"depth": 2}
    assert options("mlp_sharing_aux", {"lr": 1e-2, "depth": 2}) == {}
    found = search("deepmlp_sharing_aux", params, data_dir)
    assert found["best"]["depth"] in (1, 2) and len({r["val_acc"] for r in found["grid"]}) == 2  # depths differ
    runs = retrain("deepmlp_sharing_aux", found["best"], params, data_dir)
    assert runs["depth"] == found["best"]["depth"]


def test_stages_read_data_prepared_by_default(data_dir, tmp_path, monkeypatch):
    params = {**tiny_params(), "lr": [1e-2], "hidden": [4], "lambda": [0.5]}
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "prepared").symlink_to(data_dir)
    monkeypatch.chdir(tmp_path)
    best = search(ARCH, params)["best"]
    assert retrain(ARCH, best, params)["test_acc"] == retrain(ARCH, best, params, data_dir)["test_acc"]
    assert len(curve(ARCH, best, {**params, "train": {**params["train"], "curve_epochs": 1}})) == 2


def test_curve_is_the_winner_trained_on_the_search_split_scored_every_epoch(data_dir):
    params = tiny_params(curve_epochs=4)
    best = {"lr": 1e-2, "hidden": 8, "lambda": 0.5}
    history = curve(ARCH, best, params, data_dir)
    assert [h["epoch"] for h in history] == [0, 1, 2, 3, 4]
    fit, val = load_prepared(data_dir).search_sets(params["train"]["val_fraction"])
    spec = TrainSpec(ARCH, 8, 1e-2, 0.5, 4, params["train"]["batch_size"],
                     derive_seed(params["data"]["seed"], "curve", ARCH), precision="fp32")
    replay, _ = train(spec, fit, {"val": val}, track_epochs=True)
    assert history == replay.history


def test_best_architecture_is_the_highest_mean():
    runs = {"a": {"mean": 0.7}, "b": {"mean": 0.9}, "c": {"mean": 0.8}, "d": {"mean": 0.9}}
    assert best_architecture(runs) == "b"
