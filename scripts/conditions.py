"""The study's sixteen under other training conditions, collected into one committed file.

    .venv/bin/python -m scripts.conditions [KEY=VALUE ...] [--out FILE]

Without arguments: the study's conditions as far as they exist offline, raw 0-255
inputs (`train.standardise=false`: the study mentions no normalising) in fp32
(`train.precision=fp32`), on the default data of `data/prepared` (`dvc repro prepare`),
→ experiments/study_conditions.json, which the report reads (the "Why ours differ from
the study's" section). Each KEY=VALUE (a YAML value) replaces one of params.yaml's
keys; where the data keys or train.repeats differ from data/prepared's, the data are
prepared into data/conditions/ first. So, where full MNIST is at hand,

    python -m scripts.conditions data.source=mnist data.download=true \
        train.standardise=false train.precision=fp32 --out experiments/study_conditions_mnist.json

measures the study's conditions with its pools too. Trainings go through the training
cache: from scratch this is a full study (~20 min on 2 cores), a rerun costs only what
changed.

Why a script and not a DVC stage or `dvc exp run`: a stage would add the sixteen's
grid searches and retrainings (the whole study's cost) to every default `dvc repro`;
an experiment reruns the extras, the curve and the report too and keeps its results in
a git ref, where the committed report cannot read them. This runs the sixteen alone
and writes one file, with the params and the training code's fingerprint it came from.
"""

import argparse
import sys

from ruamel.yaml import YAML

from digitcmp import params as P
from digitcmp.data import load_prepared, prepare_arrays, save_prepared
from digitcmp.cache import code_fingerprint
from digitcmp.errors import UserError
from digitcmp.files import write_json
from digitcmp.training.models import ARCHITECTURES
from digitcmp.search import retrain, search
from digitcmp.stage import run_stage

STUDY_CONDITIONS = ("train.standardise=false", "train.precision=fp32")
OUT = "experiments/study_conditions.json"
DATA = "data/prepared"
OTHER_DATA = "data/conditions"


def override(raw: dict, setting: str) -> tuple[str, object]:
    """Apply one KEY=VALUE (dotted key, YAML value) to the raw params in place."""
    key, sep, text = setting.partition("=")
    if not sep or not key:
        raise UserError(f"override: {setting!r} is not allowed; allowed: KEY=VALUE, e.g. train.standardise=false")
    value = YAML(typ="safe", pure=True).load(text)
    *parents, last = key.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return key, value


def prepared_dir(params: dict) -> str:
    """data/prepared if it holds the draws `params` say, else a directory of
    data/conditions/ that does (prepared here when missing or stale)."""
    data, repeats = params["data"], params["train"]["repeats"]
    expect = {"source": data["source"], "seed": data["seed"], "n_pairs": data["n_pairs"], "repeats": repeats}
    name = f"{data['source']}-seed{data['seed']}-n{data['n_pairs']}-repeats{repeats}"
    for directory in (DATA, f"{OTHER_DATA}/{name}"):
        try:
            load_prepared(directory, expect)
            return directory
        except UserError:
            pass
    arrays = prepare_arrays(data["source"], data["seed"], data["n_pairs"], repeats, data["root"], data["download"])
    save_prepared(directory, arrays, expect)
    return directory


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.conditions", description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", help="KEY=VALUE (default: %(default)s)",
                        default=list(STUDY_CONDITIONS))
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    raw = YAML(typ="safe", pure=True).load(open("params.yaml"))
    changed = dict(override(raw, s) for s in args.overrides)
    params = P.validate(raw)
    data = params["data"]
    where = prepared_dir(params)
    runs, best = {}, {}
    for arch in ARCHITECTURES:
        found = search(arch, params, where)
        best[arch] = found["best"]
        runs[arch] = retrain(arch, found["best"], params, where)
    write_json(args.out, {
        "command": " ".join(["python -m scripts.conditions", *args.overrides]),
        "overrides": changed, "data": data,
        "train": {k: v for k, v in params["train"].items() if k not in ("workers", "backend")},
        "code": code_fingerprint(), "best": best, "runs": runs,
    })
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    run_stage(main)
