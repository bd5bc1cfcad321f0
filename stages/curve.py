"""Stage `curve`: the best architecture (highest mean test accuracy) trained for
0..train.curve_epochs epochs on the grid search's split → plots/curve.csv (Figure 2).

Reads params: data.seed, train.curve_epochs, train.batch_size, train.val_fraction,
train.device. Reads metrics/runs/*.json and the winner's metrics/search JSON.
"""

import math

from digitcmp import bounds, params as P
from digitcmp.files import csv_text, read_json, write_json, write_text
from digitcmp.models import ARCHITECTURES
from digitcmp.search import best_architecture, curve
from digitcmp.stage import results_path, run_stage


def main(argv: list[str]) -> None:
    params = P.load()
    train = params["train"]
    bounds.check_device(train["device"])
    bounds.check_steps("curve", train["curve_epochs"] * math.ceil(params["data"]["n_pairs"] / train["batch_size"]),
                       f"train.curve_epochs {train['curve_epochs']}")
    runs = {arch: read_json(results_path("runs", arch)) for arch in ARCHITECTURES}
    arch = best_architecture(runs)
    best = read_json(results_path("search", arch))["best"]
    history = curve(arch, best, params)
    columns = ["epoch", "train_acc", "val_acc"]
    write_text("plots/curve.csv", csv_text(columns, [[row[c] for c in columns] for row in history]))
    write_json("metrics/curve.json", {"arch": arch, "lr": best["lr"], "hidden": best["hidden"],
                                      "lambda": best["lambda"], "epochs": params["train"]["curve_epochs"]})


if __name__ == "__main__":
    run_stage(main)
