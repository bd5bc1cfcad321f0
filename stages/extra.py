"""Stage `extra@<extra>`: an extra architecture (digitcmp/extras.py) under the study's
protocol: its grid `extras.<extra>` → metrics/search/<extra>.json, then the winner
`train.repeats` times → metrics/runs/<extra>.json.

Reads params: extras.<extra>, data.seed, train.epochs, train.batch_size,
train.val_fraction, train.repeats, train.device, train.precision (and train.workers,
train.backend, which change speed but never results, so they are not dependencies).
"""

from digitcmp import params as P
from digitcmp.cli import one_arch, run_stage
from digitcmp.extras import EXTRAS
from digitcmp.io import write_json
from digitcmp.search import retrain, search


def main(argv: list[str]) -> None:
    arch = one_arch(argv, EXTRAS)
    params = P.load()
    P.require_extra(arch, params)
    found = search(arch, params)
    write_json(f"metrics/search/{arch}.json", found)
    write_json(f"metrics/runs/{arch}.json", retrain(arch, found["best"], params))


if __name__ == "__main__":
    run_stage(main)
