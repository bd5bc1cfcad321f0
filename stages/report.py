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
from digitcmp_report.build import ACCURACY_DIR, build_report
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
    curve_text = curve_csv(LIVE_DIR)
    prepared = load_prepared("data/prepared", {k: data[k] for k in ("source", "seed", "n_pairs")})
    protocol = Protocol(data["source"], data["n_pairs"], data["seed"], train["epochs"], train["batch_size"],
                        train["val_fraction"], train["repeats"], *grid_axes({a: searches[a] for a in ARCHITECTURES}),
                        train["standardise"], test_overlap=mean_test_overlap(prepared.draws),
                        test_pool=len(prepared.pools.test_labels))
    conditions = read_json(CONDITIONS_FILE) if Path(CONDITIONS_FILE).is_file() else None
    timing = read_output(TIME_FILE, TIME_KEYS, TIME_COMMAND) if Path(TIME_FILE).is_file() else None
    trials = read_output(TRIALS_FILE, {}, TRIALS_COMMAND) if Path(TRIALS_FILE).is_file() else None
    curve = read_output("metrics/curve.json", {"arch": str}, "dvc repro curve")
    files = build_report(runs, searches, protocol, curve_text, curve,
                           example_pairs(prepared), extras=extras, conditions=conditions, params=params,
                           timing=timing, reproduced=read_all(),
                           robustness=read_json(ROBUSTNESS) if Path(ROBUSTNESS).is_file() else None,
                           trials=trials)
    write_all(files)
    for stale in set(Path(ACCURACY_DIR).glob("*.json")) - {Path(p) for p in files}:
        stale.unlink()  # an architecture no longer in params.yaml (DVC removes them itself)


if __name__ == "__main__":
    run_stage(main)
