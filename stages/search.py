"""Stage `search@<arch>`: the hyperparameter grid for one architecture → metrics/search/<arch>.json.

Reads params: lr, hidden, lambda (the _aux architectures only), data.seed,
train.epochs, train.batch_size, train.val_fraction, train.device, train.precision
(and train.workers, train.backend, which change speed but never results, so they are
not DVC dependencies).
"""

from digitcmp import params as P
from digitcmp.cli import one_arch, run_stage
from digitcmp.io import write_json
from digitcmp.models import ARCHITECTURES
from digitcmp.search import search


def main(argv: list[str]) -> None:
    arch = one_arch(argv, ARCHITECTURES)
    params = P.load()
    write_json(f"metrics/search/{arch}.json", search(arch, params))


if __name__ == "__main__":
    run_stage(main)
