"""The study's protocol (§3.2): grid search, 30 retrainings of the winner, the curve.

Seeds: every training's seed is derived from `data.seed` and its unit of work
(stage, architecture, grid point values or repetition number), never from its
position in a list, so changing one axis leaves the other points' numbers alone.

Tie rule: the winner has the highest validation accuracy among finite (not
diverged) runs; among equal accuracies the smaller `hidden`, then the smaller `lr`,
then the smaller `lambda` wins (the cheaper, gentler setting). A diverged run only
wins if every run diverged.
"""

import itertools
import statistics
from pathlib import Path
from typing import Any

from digitcmp.training import augment, registry, schedule
from digitcmp.engine import run_trainings
from digitcmp.training.precision import resolve_precision
from digitcmp.training.seeds import derive_seed
from digitcmp.training.task import Task
from digitcmp.training.train import TrainSpec


def grid_points(arch: str, params: dict) -> list[dict[str, Any]]:
    """Every point of `arch`'s grid: lr, hidden, lambda (None where λ does not apply) and,
    for an extra architecture, its option axes from `extras.<arch>`."""
    axes = params["extras"].get(arch) or {"lr": params["lr"], "hidden": params["hidden"], "lambda": params["lambda"]}
    axes = {**axes, "lambda": axes["lambda"] if registry.uses_lambda(arch) else [None]}
    return [dict(zip(axes, values)) for values in itertools.product(*axes.values())]


def options(arch: str, point: dict) -> dict:
    """The architecture options set in a grid point (extra architectures only)."""
    return {k: point[k] for k in registry.options(arch) if k in point}


def augmentation(point: dict) -> dict:
    """The augmentation options set in a grid point (extra architectures only)."""
    return {k: point[k] for k in augment.OPTIONS if k in point}


# Keys of an extra's grid that say how it trains (`digitcmp.params` checks them):
# `batch_size` in place of train.batch_size, the options of `digitcmp.training.schedule.OPTIONS`, and
# `fit_pairs`: each retraining fits the first fit_pairs of its N train pairs and leaves the
# rest unused (a published recipe's split; the grid search's split stays train.val_fraction's).
RECIPE = ("batch_size", *schedule.OPTIONS, "fit_pairs")


def recipe(point: dict) -> dict:
    """The training keys set in a grid point (extra architectures only)."""
    return {k: point[k] for k in RECIPE if k in point}


def _spec(arch: str, point: dict, params: dict, seed: int, epochs: int | None = None) -> TrainSpec:
    train = params["train"]
    return TrainSpec(arch=arch, hidden=point["hidden"], lr=point["lr"], lam=point["lambda"] or 0.0,
                     epochs=epochs or train["epochs"], batch_size=point.get("batch_size", train["batch_size"]),
                     seed=seed, options=tuple(sorted(options(arch, point).items())),
                     precision=resolve_precision(train["precision"], arch, train["device"]),
                     standardise=train["standardise"],
                     augment=tuple(sorted(augmentation(point).items())),
                     **{k: point[k] for k in schedule.OPTIONS if k in point})


def _run(tasks: list[Task], params: dict, data_dir: str | Path, desc: str) -> list[dict]:
    train = params["train"]
    return run_trainings(tasks, data_dir, train["device"], train["workers"], train["backend"], desc)


def hosts_of(results: list[dict]) -> list[str]:
    """The host kinds (digitcmp.host) that computed `results`: one, unless a mixed cluster ran them."""
    return sorted({r["host"] for r in results})


def pick_best(rows: list[dict]) -> dict:
    """The winning grid row under the tie rule above."""
    return max(rows, key=lambda r: (not r["diverged"], r["val_acc"], -r["hidden"], -r["lr"], -(r["lambda"] or 0)))


def search(arch: str, params: dict, data_dir: str | Path = "data/prepared", draw: int = 0) -> dict:
    """Grid search for `arch` on draw 0's fit/validation split → metrics/search JSON. Another
    `draw` (k ≥ 1: retraining k's train pairs, never its test pairs) measures how the winner
    depends on the split, with fresh weights per draw."""
    points = grid_points(arch, params)
    seed = params["data"]["seed"]
    val_fraction = params["train"]["val_fraction"]
    unit = (arch,) if draw == 0 else (arch, "draw", draw)
    tasks = [Task(_spec(arch, p, params, derive_seed(seed, "search", *unit, *sorted(p.items()))),
                  draw=draw, val_fraction=val_fraction) for p in points]
    results = _run(tasks, params, data_dir, f"search {arch}")
    rows = [{**p, "val_acc": r["acc"]["val"], "train_acc": r["acc"]["train"], "diverged": r["diverged"],
             "epochs_run": r["epochs_run"]} for p, r in zip(points, results)]
    best = pick_best(rows)
    return {"arch": arch, "precision": tasks[0].spec.precision, "grid": rows, "hosts": hosts_of(results),
            "n_diverged": sum(r["diverged"] for r in rows),
            "best": {k: best[k] for k in ("lr", "hidden", "lambda", "val_acc", *options(arch, best),
                                          *augmentation(best), *recipe(best))}}


def retrain(arch: str, best: dict, params: dict, data_dir: str | Path = "data/prepared") -> dict:
    """The winner retrained `repeats` times, each on a fresh draw with fresh weights → metrics/runs JSON."""
    seed, repeats = params["data"]["seed"], params["train"]["repeats"]
    tasks = [Task(_spec(arch, best, params, derive_seed(seed, "retrain", arch, k)), draw=k,
                  fit_pairs=best.get("fit_pairs")) for k in range(1, repeats + 1)]
    results = _run(tasks, params, data_dir, f"retrain {arch}")
    test_acc = [r["acc"]["test"] for r in results]
    out = {"arch": arch, "lr": best["lr"], "hidden": best["hidden"], "lambda": best["lambda"],
           **options(arch, best), **augmentation(best), **recipe(best), "precision": tasks[0].spec.precision,
           "standardise": tasks[0].spec.standardise, "hosts": hosts_of(results),
           "test_acc": test_acc, "train_acc": [r["acc"]["train"] for r in results],
           "n_diverged": sum(r["diverged"] for r in results),
           "mean": statistics.fmean(test_acc), "std": statistics.stdev(test_acc)}
    if registry.uses_lambda(arch):
        out["digit_acc"] = [r["digit_acc"]["test"] for r in results]
    return out


def best_architecture(runs: dict[str, dict]) -> str:
    """The architecture with the highest mean test accuracy (ties: the first in order)."""
    return max(runs, key=lambda arch: runs[arch]["mean"])


def curve(arch: str, best: dict, params: dict, data_dir: str | Path = "data/prepared") -> list[dict]:
    """Train and validation accuracy after 0..curve_epochs epochs (the study's Figure 2)."""
    epochs = params["train"]["curve_epochs"]
    spec = _spec(arch, best, params, derive_seed(params["data"]["seed"], "curve", arch), epochs=epochs)
    task = Task(spec, draw=0, val_fraction=params["train"]["val_fraction"], track_epochs=True)
    (result,) = _run([task], params, data_dir, f"curve {arch}")
    return result["history"]
