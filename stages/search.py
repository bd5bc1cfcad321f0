"""Stages `search@<arch>` and `extra-search@<extra>`: the hyperparameter grid for one
architecture → metrics/search/<arch>.json.

Reads params: lr, hidden, lambda (the _aux architectures only) or, for an extra
architecture, its grid `extras.<extra>`; data.seed, train.epochs,
train.batch_size, train.val_fraction, train.device (and train.workers, which changes
speed but never results, so it is not a DVC dependency).
"""

from digitcmp import params as P
from digitcmp.cli import one_arch, run_stage
from digitcmp.io import write_json
from digitcmp.extras import EXTRAS
from digitcmp.models import ARCHITECTURES
from digitcmp.search import search


def main(argv: list[str]) -> None:
    arch = one_arch(argv, ARCHITECTURES + EXTRAS)
    params = P.load()
    P.require_extra(arch, params)
    write_json(f"metrics/search/{arch}.json", search(arch, params))


if __name__ == "__main__":
    run_stage(main)
