"""Does this host reproduce the committed results? A seeded sample retrained and compared.

    .venv/bin/python -m scripts.reproduce [-k K | --all] [--out FILE]

For each of the sixteen: its winning grid point (draw 0, fit/validation) and K of its
retrainings (default 5, a sample seeded from data.seed and the architecture; `--all`: every
one), trained here with the training cache off, compared with metrics/search and metrics/runs.
Per architecture: how many are bit-identical, the paired differences (here − committed, test
accuracy of the same draw) and a verdict:

- bit-identical: every sampled training gives the committed accuracy exactly;
- reproduced within noise: the retrainings' mean paired difference is shown inside ±δ by two
  one-sided t-tests (TOST, α = 0.05), δ = the architecture's committed run-to-run std (Table 2's
  "±"): a host effect smaller than the spread of retraining the same winner on fresh draws
  cannot be told from that spread, and moves no mean by more than Table 2 already allows;
- differs: equivalence not shown (exit 1). With K = 5 and a host whose bits differ, TOST needs
  the paired differences' sd below about δ·√5/2.13; `--all` gives it 30.

Writes experiments/reproduce/<host kind>.json (one file per host kind: a run on another kind of
CPU adds its own file, and the report's "Reproduced on" table reads them all), naming the host:
CPU vendor and model, the kernel-dispatch ISA flags, torch and its BLAS and oneDNN builds.
"""

import argparse
import os
import random
import subprocess
import sys
import time

from digitcmp import host, params as P
from digitcmp.engine import run_trainings
from digitcmp.errors import UserError
from digitcmp.files import read_json, write_json
from digitcmp.training.models import ARCHITECTURES
from digitcmp.search import _spec, grid_points
from digitcmp.training.seeds import derive_seed
from digitcmp.training.task import Task
from digitcmp.stage import run_stage
from digitcmp.pipeline import outputs
from digitcmp_report.stats import ALPHA, tost_paired

DATA = "data/prepared"
OUT_DIR = "experiments/reproduce"


def sample(arch: str, seed: int, repeats: int, k: int | None) -> list[int]:
    """The retrainings (1..repeats) to check: all, or k of them seeded by data.seed and arch."""
    draws = list(range(1, repeats + 1))
    if k is None or k >= repeats:
        return draws
    return sorted(random.Random(derive_seed(seed, "reproduce", arch)).sample(draws, k))


def winner_point(arch: str, best: dict, params: dict) -> dict:
    """The grid point (as `grid_points` gives it, so its seed is the search's) that won."""
    for point in grid_points(arch, params):
        if all(point[key] == best[key] for key in point):
            return point
    raise UserError(f"{outputs(arch).search}: its winner {best} is not a point of params.yaml's grid; "
                    f"allowed: metrics computed with this params.yaml")


def tasks_for(arch: str, params: dict, k: int | None) -> tuple[list[Task], list[float], list[str]]:
    """The trainings to rerun for `arch`, their committed accuracies and their labels."""
    found, runs = read_json(outputs(arch).search), read_json(outputs(arch).runs)
    seed, train = params["data"]["seed"], params["train"]
    point = winner_point(arch, found["best"], params)
    tasks = [Task(_spec(arch, point, params, derive_seed(seed, "search", arch, *sorted(point.items()))),
                  draw=0, val_fraction=train["val_fraction"])]
    committed, labels = [found["best"]["val_acc"]], ["grid winner (validation)"]
    for draw in sample(arch, seed, len(runs["test_acc"]), k):
        tasks.append(Task(_spec(arch, point, params, derive_seed(seed, "retrain", arch, draw)), draw=draw))
        committed.append(runs["test_acc"][draw - 1])
        labels.append(f"retraining {draw}")
    return tasks, committed, labels


def check(arch: str, params: dict, k: int | None) -> dict:
    tasks, committed, labels = tasks_for(arch, params, k)
    train = params["train"]
    results = run_trainings(tasks, DATA, train["device"], train["workers"], train["backend"], f"reproduce {arch}")
    here = [results[0]["acc"]["val"]] + [r["acc"]["test"] for r in results[1:]]
    diffs = [h - c for h, c in zip(here, committed)]
    margin = read_json(outputs(arch).runs)["std"]
    tost = tost_paired(diffs[1:], margin)
    identical = sum(d == 0 for d in diffs)
    verdict = ("bit-identical" if identical == len(diffs) else
               "reproduced within noise" if tost["p"] < ALPHA else "differs")
    return {"checked": labels, "committed": committed, "here": here, "diff": diffs, "identical": identical,
            "n": len(diffs), "margin": margin, "tost": tost, "verdict": verdict}


def table(rows: dict[str, dict]) -> str:
    lines = [f"{'architecture':24s} {'identical':>9s} {'mean diff':>10s} {'sd':>7s} {'margin':>7s} "
             f"{'TOST p':>7s}  verdict"]
    for arch, r in rows.items():
        t = r["tost"]
        lines.append(f"{arch:24s} {r['identical']:>4d} of {r['n']:<2d} {t['mean']:+10.4f} {t['sd']:7.4f} "
                     f"{r['margin']:7.4f} {t['p']:7.3f}  {r['verdict']}")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.reproduce", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-k", type=int, default=5, help="retrainings per architecture (default %(default)s)")
    group.add_argument("--all", action="store_true", help="every retraining")
    parser.add_argument("--out", help=f"default: {OUT_DIR}/<host kind>.json")
    args = parser.parse_args(argv)
    if not args.all and args.k < 2:
        raise UserError(f"-k: {args.k} is not allowed; allowed: a whole number >= 2, or --all")
    os.environ["DIGITCMP_CACHE"] = "off"  # computed here, never served from any cache
    params = P.load()
    start = time.monotonic()
    rows = {arch: check(arch, params, None if args.all else args.k) for arch in ARCHITECTURES}
    wall = time.monotonic() - start
    commit = subprocess.run(["git", "log", "-1", "--format=%H", "--", "metrics/search", "metrics/runs"],
                            capture_output=True, text=True).stdout.strip()  # the results' own commit
    out = args.out or f"{OUT_DIR}/{host.kind_id()}.json"
    write_json(out, {"command": " ".join(["python -m scripts.reproduce", *argv]), "host": host.describe(),
                     "host_kind": host.kind_id(), "compared_with": commit, "k": "all" if args.all else args.k,
                     "wall_s": round(wall, 1), "architectures": rows})
    print(table(rows))
    print(f"host {host.kind_id()}; {wall:.0f} s; wrote {out}")
    if any(r["verdict"] == "differs" for r in rows.values()):
        sys.exit(1)


if __name__ == "__main__":
    run_stage(main)
