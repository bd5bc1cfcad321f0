"""Stage `curve`: the best architecture (highest mean test accuracy) trained for
0..train.curve_epochs epochs on the grid search's split → plots/curve.csv (Figure 2).

Reads params: data.seed, train.curve_epochs, train.batch_size, train.val_fraction,
train.device. Reads metrics/runs/*.json and the winner's metrics/search JSON.
"""

import math

from digitcmp import bounds, params as P
from digitcmp.errors import UserError
from digitcmp.files import check_writable, csv_text, dumps_json, read_output, write_all
from digitcmp.training.models import ARCHITECTURES
from digitcmp.search import best_architecture, curve
from digitcmp.stage import results_path, run_stage, stage_of


def main(argv: list[str]) -> None:
    params = P.load()
    train = params["train"]
    bounds.check_device(train["device"])
    bounds.check_steps("curve", train["curve_epochs"] * math.ceil(params["data"]["n_pairs"] / train["batch_size"]),
                       f"train.curve_epochs {train['curve_epochs']}")
    runs = {arch: read_output(results_path("runs", arch), {"mean": (int, float)}, f"dvc repro {stage_of(arch)}")
            for arch in ARCHITECTURES}
    arch = best_architecture(runs)
    path, remedy = results_path("search", arch), f"dvc repro {stage_of(arch)}"
    best = read_output(path, {"best": dict}, remedy)["best"]
    if not (isinstance(best.get("lr"), (int, float)) and isinstance(best.get("hidden"), int)):
        raise UserError(f"{path}: best is {str(best)[:60]}, not a grid point; run `{remedy}`")
    outs = "plots/curve.csv", "metrics/curve.json"
    check_writable(outs)
    history = curve(arch, best, params)
    columns = ["epoch", "train_acc", "val_acc"]
    write_all({outs[0]: csv_text(columns, [[row[c] for c in columns] for row in history]).encode(),
               outs[1]: dumps_json({"arch": arch, "lr": best["lr"], "hidden": best["hidden"],
                                    "lambda": best.get("lambda"),
                                    "epochs": params["train"]["curve_epochs"]}).encode()})


if __name__ == "__main__":
    run_stage(main)
