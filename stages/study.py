"""Stages `study@<arch>` and `extra@<extra>`: one architecture under the study's protocol
(§3.2): its grid on draw 0's fit/validation split → the search JSON, then the winner
`train.repeats` times, each on a fresh draw → the runs JSON.

    python -m stages.study ARCH SEARCH_JSON RUNS_JSON     (the paths as dvc.yaml gives them)

Both steps are one stage: a stage's start (Python and torch, DVC's lock bookkeeping)
costs ~2.5 s, and with every training cached a rerun of the search is cheap.

The params it reads are dvc.yaml's `study` and `extra` stages' (the one list; it also
reads train.workers and train.backend, which change speed but never results).
"""

from digitcmp import params as P
from digitcmp.files import check_writable, dumps_json, write_all
from digitcmp.training.registry import NAMES
from digitcmp.search import retrain, search
from digitcmp.errors import UserError
from digitcmp.stage import check_study, one_arch, run_stage


def main(argv: list[str]) -> None:
    arch, outs = one_arch(argv[:1], NAMES), argv[1:]
    if len(outs) != 2:
        raise UserError(f"{arch}: {len(outs)} result paths given; allowed: its search JSON and runs JSON, as "
                        f"dvc.yaml's study command gives them")
    params = P.load()
    check_study(arch, params)
    check_writable(outs)  # before the trainings, not after
    found = search(arch, params)
    runs = retrain(arch, found["best"], params)
    # Both at the end and together: a stopped or failed stage leaves the previous pair as it was.
    write_all({outs[0]: dumps_json(found).encode(), outs[1]: dumps_json(runs).encode()})


if __name__ == "__main__":
    run_stage(main)
