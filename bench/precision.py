"""Does bf16 change accuracy? Architectures retrained at their grid winners in fp32 and in
bf16 (digitcmp.training.precision: mixed precision), on the same draws and seeds, paired by draw.

    .venv/bin/python -m bench.precision conv2_sharing_aux [ARCH ...] [--repeats 30]

Run in the project root after `dvc repro`: it reads params.yaml (data, epochs, batch) and
each architecture's winner from its search JSON (`digitcmp.pipeline`), so the
grid search, whose winner a small perturbation can change (one 300-pair validation set),
is held fixed and only the precision differs. Trainings go through the engine and its cache.
"""

import argparse
import sys

from digitcmp import params as P
from digitcmp.errors import UserError
from digitcmp.files import read_json
from digitcmp.training.registry import NAMES
from digitcmp.search import retrain
from digitcmp.pipeline import outputs
from digitcmp_report.stats import paired_change, paired_change_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archs", nargs="+", choices=NAMES, metavar="ARCH")
    parser.add_argument("--repeats", type=int, help="retrainings per precision (default: train.repeats)")
    args = parser.parse_args()
    params = P.load()
    if args.repeats is not None:
        if not 2 <= args.repeats <= params["train"]["repeats"]:
            raise UserError(f"--repeats: {args.repeats} is not allowed; allowed: 2 to train.repeats = "
                            f"{params['train']['repeats']} (the draws data/prepared holds)")
        params["train"]["repeats"] = args.repeats
    runs = {"fp32": {}, "bf16": {}}
    for arch in args.archs:
        found = outputs(arch).search
        if not found.is_file():
            raise UserError(f"{found} is missing; run `dvc repro` first")
        best = read_json(found)["best"]
        for precision in runs:
            runs[precision][arch] = retrain(arch, best, {**params, "train": {**params["train"], "precision": precision}})
    table = paired_change(runs["fp32"], runs["bf16"])
    print(paired_change_text(table, "fp32", "bf16"))


if __name__ == "__main__":
    try:
        main()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
