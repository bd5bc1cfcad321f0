"""Seconds per training of each architecture's winner, as a stage's worker runs one.

    .venv/bin/python -m bench.train_time [ARCH ...] [--repeat R] [--out FILE]

Default ARCHs: the best of the study's sixteen (metrics/best.json) and every extra of
params.yaml. Each is trained with its winner (its runs JSON) on retraining draw 1 of
data/prepared, on one thread, the fast path, its precision, without the training
cache, R times (default 3): the median wall seconds. → experiments/train_time.json
(with the CPU it ran on), which the report prints beside the accuracy and the
parameter count. ARCHs named: only they are measured, and the file's other entries
are kept where it was measured on the same CPU, torch and repeat count (else it starts
afresh), so one new architecture costs its own trainings only. Run it on a quiet
machine: other jobs on the same cores slow it.
"""

import argparse
import platform
import statistics
import sys
import time

import torch

from digitcmp import params as P
from digitcmp.data import load_prepared
from digitcmp.engine import run_task
from digitcmp.errors import UserError
from digitcmp.files import read_json, read_output, write_json
from digitcmp.training.registry import NAMES
from digitcmp.search import _spec
from digitcmp.training.seeds import derive_seed
from digitcmp.training.task import Task
from digitcmp.stage import run_stage
from digitcmp.pipeline import outputs
from digitcmp_report.build import BEST_FILE

OUT = "experiments/train_time.json"
DATA = "data/prepared"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def seconds(arch: str, params: dict, fingerprint: str, repeat: int) -> float:
    """Median wall seconds of one retraining of `arch`'s winner (draw 1, one thread, no cache)."""
    best = read_output(outputs(arch).runs, {"lr": (int, float), "hidden": int}, f"dvc repro {outputs(arch).stage}")
    task = Task(_spec(arch, best, params, derive_seed(params["data"]["seed"], "retrain", arch, 1)), draw=1)
    run_task(task, DATA, fingerprint, "cpu")  # warm-up: first calls, kernels
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run_task(task, DATA, fingerprint, "cpu")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _kept(path: str, host: dict) -> dict[str, float]:
    """The seconds already in `path`, where they were measured like these (`host`)."""
    try:
        before = read_json(path)
    except (OSError, ValueError):
        return {}
    same = isinstance(before, dict) and all(before.get(k) == v for k, v in host.items())
    return dict(before.get("seconds", {})) if same and isinstance(before.get("seconds"), dict) else {}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.train_time", description=__doc__.split("\n")[0])
    parser.add_argument("archs", nargs="*", metavar="ARCH")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    params = P.load()
    archs = args.archs or [read_json(BEST_FILE)["best"], *params["extras"]]
    unknown = [a for a in archs if a not in NAMES]
    if unknown:
        raise UserError(f"{unknown[0]}: not an architecture; allowed: {', '.join(NAMES)}")
    if args.repeat < 1:
        raise UserError(f"--repeat: {args.repeat} is not allowed; allowed: 1 or more")
    fingerprint = load_prepared(DATA).fingerprint
    host = {"cpu": cpu_name(), "threads": 1, "torch": torch.__version__, "repeat": args.repeat}
    found = _kept(args.out, host) if args.archs else {}
    for arch in archs:
        found[arch] = round(seconds(arch, params, fingerprint, args.repeat), 2)
        print(f"{arch}: {found[arch]:.2f} s per training", file=sys.stderr)
    command = ["python -m bench.train_time", *(a for a in argv if a not in archs)] if args.archs else \
        ["python -m bench.train_time", *argv]
    write_json(args.out, {"command": " ".join(command), **host, "seconds": dict(sorted(found.items()))})
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    run_stage(main)
