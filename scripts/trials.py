"""Validation-only trials of an extra's training recipe, collected into one committed file.

    .venv/bin/python -m scripts.trials NAME [KEY=VALUE ...] [--base ARCH] [--draws 1,2,3,4]
                                       [--out experiments/trials.json]

Trial NAME trains ARCH's winner (default probcmp_augment, read from its runs JSON) with
each KEY=VALUE (a YAML value) replacing one of its grid keys (lr, hidden, lambda, an
option of the architecture, of `digitcmp.training.augment` or of the recipe, `digitcmp.search.RECIPE`),
once on each of the retraining draws `--draws`: fit on the first 700 of the draw's
1,000 train pairs, scored on the other 300. No test pair is ever read, so choosing a
grid from these numbers leaves the retrainings' test accuracies unbiased. Each
training's initial weights and batch order come from the draw alone (not the trial),
so two trials of the same shapes are paired twice over: same data, same start.

Each trained network is also scored with test-time augmentation (`tta` 4 and 8, where
the architecture has that option), which changes how it reads digits, not its weights:
a lever measured on the same trainings. Results go into `--out` under NAME (other
trials kept): per draw the comparison and digit accuracy on the 300 pairs, and means.
Trainings run one at a time in this process, one thread (a shared machine: run it under
`nice`); one progress line per training.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from digitcmp import params as P
from digitcmp.training import augment, registry
from digitcmp.data import load_prepared
from digitcmp.errors import UserError
from digitcmp.training.extras import TTA_SHIFTS
from digitcmp.files import read_json, read_output, write_json
from digitcmp.search import RECIPE, _spec
from digitcmp.training.seeds import derive_seed
from digitcmp.stage import run_stage
from digitcmp.pipeline import outputs
from digitcmp.training.train import evaluate, normalise, train
from scripts.conditions import override

OUT = "experiments/trials.json"
DATA = "data/prepared"
N_FIT = 700  # of each draw's train pairs; the other 300 validate


def base_point(arch: str) -> dict:
    """The winner of `arch`'s grid, as its retrainings ran it."""
    runs = read_output(outputs(arch).runs, {"lr": (int, float), "hidden": int}, f"dvc repro {outputs(arch).stage}")
    keys = ("lr", "hidden", "lambda", *registry.options(arch), *augment.OPTIONS, *RECIPE)
    return {k: runs[k] for k in keys if k in runs}


def trial(arch: str, point: dict, params: dict, draws: list[int], log) -> dict:
    prepared = load_prepared(DATA)
    rows = []
    for k in draws:
        fit_all, _ = prepared.retrain_sets(k)  # train pairs only
        fit = tuple(t[:N_FIT] for t in fit_all)
        val = tuple(t[N_FIT:] for t in fit_all)
        spec = _spec(arch, point, params, derive_seed(params["data"]["seed"], "trial", arch, k))
        start = time.perf_counter()
        result, model = train(spec, fit, {"val": val})
        row = {"draw": k, "val_acc": result.acc["val"], "val_digit_acc": result.digit_acc["val"]}
        if "tta" in registry.options(arch) and not point.get("tta"):
            val_n = _normalised(fit, val)
            for shifts in (4, 8):
                model.shifts = TTA_SHIFTS[shifts]
                acc, digit = evaluate(model, val_n)
                row[f"val_acc_tta{shifts}"], row[f"val_digit_acc_tta{shifts}"] = acc, digit
        rows.append(row)
        log(f"  draw {k}: {row} ({time.perf_counter() - start:.0f} s)")
    means = {key: statistics.fmean(r[key] for r in rows) for key in rows[0] if key != "draw"}
    return {"arch": arch, "point": point, "draws": rows, "mean": means}


def _normalised(fit, val):
    """The validation pairs as `train` scores them (standardised by the fit pairs' mean and std)."""
    return normalise(fit, {"val": val})[1]["val"]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.trials", description=__doc__.split("\n")[0])
    parser.add_argument("name")
    parser.add_argument("settings", nargs="*", metavar="KEY=VALUE")
    parser.add_argument("--base", default="probcmp_augment")
    parser.add_argument("--draws", default="1,2,3,4")
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    params = P.load()
    if args.base not in registry.EXTRAS:
        raise UserError(f"--base: {args.base!r} is not allowed; allowed: {', '.join(registry.EXTRAS)}")
    try:
        draws = [int(d) for d in args.draws.split(",")]
    except ValueError:
        draws = []
    if not draws or not all(1 <= d <= params["train"]["repeats"] for d in draws):
        raise UserError(f"--draws: {args.draws!r} is not allowed; allowed: retraining draws 1 to "
                        f"{params['train']['repeats']}, comma-separated")
    point = base_point(args.base)
    grid = {k: [v] for k, v in point.items()}
    for setting in args.settings:
        key, value = override(grid, setting)
        grid[key] = value
    checked = P.validate({**_raw(), "extras": {args.base: grid}})["extras"][args.base]
    point = {k: v[0] for k, v in checked.items()}
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    log(f"trial {args.name}: {args.base} {point}, draws {draws}")
    found = trial(args.base, point, params, draws, log)
    log(f"trial {args.name}: {found['mean']}")
    everything = read_json(args.out) if Path(args.out).exists() else {}
    everything[args.name] = {"command": " ".join(["python -m scripts.trials", *argv]), **found}
    write_json(args.out, dict(sorted(everything.items())))


def _raw() -> dict:
    from ruamel.yaml import YAML

    raw = YAML(typ="safe", pure=True).load(Path("params.yaml").read_text())
    raw.pop("extras", None)
    return raw


if __name__ == "__main__":
    run_stage(main)
