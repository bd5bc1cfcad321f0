"""Stage `retrain@<arch>`: the grid's winner, `train.repeats` times → metrics/runs/<arch>.json.

Reads params: data.seed, train.epochs, train.batch_size, train.repeats, train.device,
train.precision (and train.workers, train.backend, not dependencies). Reads
metrics/search/<arch>.json for the winner.
"""

from pathlib import Path

from digitcmp import params as P
from digitcmp.cli import one_arch, run_stage
from digitcmp.errors import UserError
from digitcmp.io import read_json, write_json
from digitcmp.models import ARCHITECTURES
from digitcmp.search import retrain


def main(argv: list[str]) -> None:
    arch = one_arch(argv, ARCHITECTURES)
    params = P.load()
    found = Path(f"metrics/search/{arch}.json")
    if not found.exists():
        raise UserError(f"{found} is missing; run `dvc repro search@{arch}` first")
    write_json(f"metrics/runs/{arch}.json", retrain(arch, read_json(found)["best"], params))


if __name__ == "__main__":
    run_stage(main)
