"""Stage `report`: Table 2 beside the study's, t-tests, figures → results.md,
metrics/summary.json, plots/*.csv and plots/*.png (see `digitcmp_report`).

Reads params: data.source, data.n_pairs, data.seed, train.epochs, train.batch_size,
train.val_fraction, train.repeats (for the example pairs and the protocol's description;
the grid's values are read from metrics/search, so that only the searches depend on them).
Reads metrics/runs/*.json, metrics/search/*.json, metrics/curve.json, plots/curve.csv
and data/prepared (the example pairs: the first 16 of the grid search's draw).

    python stages/report.py [EXTRA_ARCH ...]

Architectures beyond the study's 16 are named on the command line (dvc.yaml lists them
with their metrics/runs files as deps) and get rows of their own below Table 2; their
grid search, if any, is read from metrics/search.
"""

from pathlib import Path

from digitcmp import params as P
import digitcmp_report as report
from digitcmp.stage import run_stage
from digitcmp.data import load_prepared, make_pairs
from digitcmp.errors import UserError
from digitcmp.files import read_output, write_all
from digitcmp.models import ARCHITECTURES

N_EXAMPLE_PAIRS = 16


def example_pairs(directory: str, data: dict):
    prepared = load_prepared(directory, {k: data[k] for k in ("source", "seed", "n_pairs")})
    idx = prepared.draws[0, 0][: 2 * N_EXAMPLE_PAIRS]
    x, target, classes = make_pairs(prepared.pools.train_images, prepared.pools.train_labels, idx)
    return x.numpy(), classes.numpy(), target.numpy()


def main(argv: list[str]) -> None:
    params = P.load()
    data, train = params["data"], params["train"]
    extras = list(dict.fromkeys(a for a in argv if a not in ARCHITECTURES))
    runs = report.load_results("metrics/runs", list(ARCHITECTURES) + extras)
    searches = report.load_results("metrics/search", ARCHITECTURES)
    searches |= report.load_results("metrics/search", [a for a in extras if Path(f"metrics/search/{a}.json").is_file()])
    if not Path("plots/curve.csv").is_file():
        raise UserError("plots/curve.csv is missing; run `dvc repro curve` first")
    protocol = report.Protocol(data["source"], data["n_pairs"], data["seed"], train["epochs"], train["batch_size"],
                               train["val_fraction"], train["repeats"],
                               *report.grid_axes({a: searches[a] for a in ARCHITECTURES}))
    curve = read_output("metrics/curve.json", {"arch": str}, "dvc repro curve")
    outputs = report.build_report(runs, searches, protocol, Path("plots/curve.csv").read_text(), curve,
                                  example_pairs("data/prepared", data), extras=extras)
    write_all(outputs)


if __name__ == "__main__":
    run_stage(main)
