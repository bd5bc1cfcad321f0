"""Stage `report`: Table 2 beside the study's, t-tests, figures → results.md and its data
(metrics/results.json), the declared metrics (metrics/accuracy/<arch>.json: mean and std;
metrics/best.json), plots/*.csv and plots/*.png (see `digitcmp_report.build`).

Its params are dvc.yaml's `report` stage's (the one list): which extras get rows below
Table 2, and what the example pairs and the protocol's description need; the grid's
values are read from metrics/search, so that only the searches depend on them.
Reads every architecture's search and runs JSON (where dvc.yaml's study commands write them, `digitcmp.pipeline`),
metrics/curve.json, the curve stage's DVCLive files (dvclive/), data/prepared (the example pairs: the first 16
of the grid search's draw; and how much the retrainings' test sets overlap) and, when it
is there, experiments/study_conditions.json (the sixteen under the study's conditions,
`python -m scripts.conditions`) and experiments/train_time.json (seconds per training,
`python -m bench.train_time`), experiments/reproduce/*.json (`python -m scripts.reproduce`,
one per host kind), experiments/winner_robustness.json (`python -m scripts.robustness`)
and experiments/trials.json (the validation-only trials, `python -m scripts.trials`).
"""

from pathlib import Path

from digitcmp import params as P
from digitcmp.data import load_prepared, mean_test_overlap
from digitcmp.files import read_json, read_output, write_all
from digitcmp.live import LIVE_DIR, curve_csv
from digitcmp.training.models import ARCHITECTURES
from digitcmp.training.pairs import Prepared, make_pairs
from digitcmp.stage import run_stage
from digitcmp.pipeline import outputs
from digitcmp_report.build import ACCURACY_DIR, Inputs, build_report
from digitcmp_report.cost import TIME_COMMAND, TIME_FILE, TIME_KEYS
from digitcmp_report.gap import CONDITIONS_FILE
from digitcmp_report.markdown import Protocol
from digitcmp_report.reproduction import read_all
from digitcmp_report.tables import grid_axes
from digitcmp_report.trials import TRIALS_COMMAND, TRIALS_FILE

N_EXAMPLE_PAIRS = 16
ROBUSTNESS = "experiments/winner_robustness.json"  # python -m scripts.robustness


def example_pairs(prepared: Prepared):
    idx = prepared.draws[0, 0][: 2 * N_EXAMPLE_PAIRS]
    x, target, classes = make_pairs(prepared.pools.train_images, prepared.pools.train_labels, idx)
    return x.numpy(), classes.numpy(), target.numpy()


# What the report reads of each search and runs JSON: checked, so that a missing or
# damaged file is one line naming it and the stage that writes it.
REQUIRED = {
    "runs": {"mean": (int, float), "std": (int, float), "test_acc": list, "train_acc": list, "lr": (int, float),
             "hidden": int},
    "search": {"grid": list, "best": dict},
}


def read_results(kind: str, archs: list[str]) -> dict[str, dict]:
    """`kind` ("runs" or "search") of each of `archs`; a missing or damaged file is a UserError naming it."""
    return {a: read_output(getattr(outputs(a), kind), REQUIRED[kind], f"dvc repro {outputs(a).stage}") for a in archs}


def main(argv: list[str]) -> None:
    params = P.load()
    data, train = params["data"], params["train"]
    extras = list(params["extras"])
    runs, searches = (read_results(kind, list(ARCHITECTURES) + extras) for kind in ("runs", "search"))
    prepared = load_prepared("data/prepared", {k: data[k] for k in ("source", "seed", "n_pairs")})
    protocol = Protocol(source=data["source"], n_pairs=data["n_pairs"], seed=data["seed"], epochs=train["epochs"],
                        batch_size=train["batch_size"], val_fraction=train["val_fraction"], repeats=train["repeats"],
                        **grid_axes({a: searches[a] for a in ARCHITECTURES}), standardise=train["standardise"],
                        test_overlap=mean_test_overlap(prepared.draws), test_pool=len(prepared.pools.test_labels))
    present = lambda path: Path(path).is_file()  # noqa: E731  (an experiment not run: its section says so)
    files = build_report(Inputs(
        runs=runs, searches=searches, protocol=protocol, curve_csv=curve_csv(LIVE_DIR),
        curve=read_output("metrics/curve.json", {"arch": str}, "dvc repro curve"), pairs=example_pairs(prepared),
        extras=extras, params=params, reproduced=read_all(),
        conditions=read_json(CONDITIONS_FILE) if present(CONDITIONS_FILE) else None,
        timing=read_output(TIME_FILE, TIME_KEYS, TIME_COMMAND) if present(TIME_FILE) else None,
        robustness=read_json(ROBUSTNESS) if present(ROBUSTNESS) else None,
        trials=read_output(TRIALS_FILE, {}, TRIALS_COMMAND) if present(TRIALS_FILE) else None))
    write_all(files)
    for stale in set(Path(ACCURACY_DIR).glob("*.json")) - {Path(p) for p in files}:
        stale.unlink()  # an architecture no longer in params.yaml (DVC removes them itself)


if __name__ == "__main__":
    run_stage(main)
