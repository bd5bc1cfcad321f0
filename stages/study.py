"""Stages `study@<arch>` and `extra@<extra>`: one architecture under the study's protocol
(§3.2): its grid on draw 0's fit/validation split → metrics/search/<arch>.json, then the
winner `train.repeats` times, each on a fresh draw → metrics/runs/<arch>.json (an extra's
under metrics/extras/, see `digitcmp.stage.results_path`).

Both steps are one stage: a stage's start (Python and torch, DVC's lock bookkeeping)
costs ~2.5 s, and with every training cached a rerun of the search is cheap.

Reads params: `study@`: lr, hidden, lambda (the _aux architectures only); `extra@`:
extras.<extra> (digitcmp/training/extras/); both: data.seed, train.epochs, train.batch_size,
train.val_fraction, train.repeats, train.device, train.precision (and train.workers,
train.backend, which change speed but never results, so they are not dependencies).
"""

from digitcmp import bounds, params as P
from digitcmp.data import check_prepared_for
from digitcmp.files import check_writable, dumps_json, write_all
from digitcmp.training.registry import NAMES
from digitcmp.search import grid_points, retrain, search
from digitcmp.stage import one_arch, results_path, run_stage


def main(argv: list[str]) -> None:
    arch = one_arch(argv, NAMES)
    params = P.load()
    P.require_extra(arch, params)
    bounds.check_device(params["train"]["device"])
    bounds.check_training(arch, grid_points(arch, params), params)
    check_prepared_for(params)
    outs = results_path("search", arch), results_path("runs", arch)
    check_writable(outs)  # before the trainings, not after
    found = search(arch, params)
    runs = retrain(arch, found["best"], params)
    # Both at the end and together: a stopped or failed stage leaves the previous pair as it was.
    write_all({outs[0]: dumps_json(found).encode(), outs[1]: dumps_json(runs).encode()})


if __name__ == "__main__":
    run_stage(main)
