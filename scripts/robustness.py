"""How much does the winner of each grid search depend on its one fit/validation split?

    .venv/bin/python -m scripts.robustness [--draws K] [KEY=VALUE ...] [--out FILE]

The study picks each architecture's hyperparameters on one split of draw 0's train pairs
(70% fit, 30% validation). This reruns the sixteen's grid searches on K further splits
(default 3): retraining k's train pairs (k = 1..K) split the same way, with fresh weights,
never a retraining's test pairs. Per architecture: the winner of each split, how often it is
not draw 0's, and each split's margin of the winner over the runner-up in validation pairs.
Draw 0 is the committed metrics/search (the same bits on the committing host kind) unless
KEY=VALUE overrides are given. → experiments/winner_robustness.json (the params and the training code's fingerprint with it).
KEY=VALUE overrides as in scripts.conditions. Trainings go through the training cache; from
scratch: K × 480 trainings (~25 min per split on 2 idle cores).
"""

import argparse
import sys

from ruamel.yaml import YAML

from digitcmp import params as P
from digitcmp.cache import code_fingerprint
from digitcmp.training.pairs import split_sizes
from digitcmp.errors import UserError
from digitcmp.files import read_json, write_json
from digitcmp.training.models import ARCHITECTURES
from digitcmp.search import search
from digitcmp.stage import run_stage
from digitcmp.pipeline import outputs
from digitcmp_report.margins import POINT, margin_pairs
from scripts.conditions import override, prepared_dir

OUT = "experiments/winner_robustness.json"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.robustness", description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", help="KEY=VALUE")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    raw = YAML(typ="safe", pure=True).load(open("params.yaml"))
    changed = dict(override(raw, s) for s in args.overrides)
    params = P.validate(raw)
    if not 1 <= args.draws <= params["train"]["repeats"]:
        raise UserError(f"--draws: {args.draws} is not allowed; allowed: 1..train.repeats "
                        f"({params['train']['repeats']})")
    where = prepared_dir(params)
    n_val = split_sizes(params["data"]["n_pairs"], params["train"]["val_fraction"])[1]
    archs = {}
    for arch in ARCHITECTURES:
        splits = []
        for draw in range(args.draws + 1):
            committed = draw == 0 and not changed and outputs(arch).search.is_file()
            found = read_json(outputs(arch).search) if committed else search(arch, params, where, draw)
            splits.append({"draw": draw, "best": {k: found["best"][k] for k in POINT},
                           "val_acc": found["best"]["val_acc"], "margin_pairs": margin_pairs(found["grid"], n_val)})
        point = lambda s: tuple(s["best"].values())  # noqa: E731
        changed_n = sum(point(s) != point(splits[0]) for s in splits[1:])
        archs[arch] = {"splits": splits, "winner_changes": changed_n, "further_splits": args.draws,
                       "distinct_winners": len({point(s) for s in splits})}
        print(f"{arch}: winner changes in {changed_n} of {args.draws} further splits", file=sys.stderr, flush=True)
    write_json(args.out, {
        "command": " ".join(["python -m scripts.robustness", *argv]), "overrides": changed,
        "data": params["data"], "n_val": n_val,
        "train": {k: v for k, v in params["train"].items() if k not in ("workers", "backend")},
        "code": code_fingerprint(), "architectures": archs,
    })
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    run_stage(main)
