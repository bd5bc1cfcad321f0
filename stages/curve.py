"""Stage `curve`: the best architecture (highest mean test accuracy) trained for
0..train.curve_epochs epochs on the grid search's split → its train and validation
accuracy per epoch through DVCLive (dvclive/, `digitcmp.live`: Figure 2) and what was
trained (metrics/curve.json).

Its params are dvc.yaml's `curve` stage's (the one list). Reads metrics/runs/*.json and
the winner's metrics/search JSON.
"""

import math

from digitcmp import bounds, params as P
from digitcmp.errors import UserError
from digitcmp.files import check_writable, dumps_json, read_output, write_all
from digitcmp.live import NAMES, live_files, tsv_path
from digitcmp.training.models import ARCHITECTURES
from digitcmp.search import best_architecture, curve
from digitcmp.stage import run_stage
from digitcmp.pipeline import outputs


def main(argv: list[str]) -> None:
    params = P.load()
    train = params["train"]
    bounds.check_device(train["device"])
    bounds.check_steps("curve", train["curve_epochs"] * math.ceil(params["data"]["n_pairs"] / train["batch_size"]),
                       f"train.curve_epochs {train['curve_epochs']}")
    runs = {arch: read_output(outputs(arch).runs, {"mean": (int, float)}, f"dvc repro {outputs(arch).stage}")
            for arch in ARCHITECTURES}
    arch = best_architecture(runs)
    path, remedy = outputs(arch).search, f"dvc repro {outputs(arch).stage}"
    best = read_output(path, {"best": dict}, remedy)["best"]
    if not (isinstance(best.get("lr"), (int, float)) and isinstance(best.get("hidden"), int)):
        raise UserError(f"{path}: best is {str(best)[:60]}, not a grid point; run `{remedy}`")
    check_writable(["metrics/curve.json", *map(tsv_path, NAMES)])
    history = curve(arch, best, params)
    write_all({**live_files(history),
               "metrics/curve.json": dumps_json({"arch": arch, "lr": best["lr"], "hidden": best["hidden"],
                                                 "lambda": best.get("lambda"),
                                                 "epochs": params["train"]["curve_epochs"]}).encode()})


if __name__ == "__main__":
    run_stage(main)
