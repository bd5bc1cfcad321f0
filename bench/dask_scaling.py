"""How the `dask` backend scales from 1 to 2 workers on this machine: the same trainings
through `run_trainings(..., backend="dask")` on a command-line cluster of 1, then 2
single-thread workers (bench/dask_cluster.py: an installed copy of the package, no
shared directory), training cache off; wall seconds and the speed-up printed.

    .venv/bin/python -m bench.dask_scaling [--trainings 8] [--epochs 3] [--pairs 1000]

Every training is `conv2_sharing_aux`, hidden 100, on its own retraining draw. The
results of both runs are compared: they must be identical (same seeds, one thread).
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.bench import prepare
from bench.dask_cluster import install_package, local_cluster
from digitcmp.engine import Task, run_trainings
from digitcmp.stage import run_stage
from digitcmp.training.train import TrainSpec


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dask_scaling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainings", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ["DIGITCMP_CACHE"] = "off"
    with tempfile.TemporaryDirectory(prefix="dask-scaling.") as tmp:
        tmp = Path(tmp)
        prepare(tmp / "prepared", args.pairs, args.trainings)
        tasks = [Task(TrainSpec("conv2_sharing_aux", 100, 1e-3, 0.5, args.epochs, 100, seed=k), draw=k)
                 for k in range(1, args.trainings + 1)]
        site = install_package(tmp / "site")
        seconds, results = {}, {}
        for workers in (1, 2):
            with local_cluster(tmp / f"cluster{workers}", workers, site) as cluster:
                os.environ["DASK_SCHEDULER_ADDRESS"] = cluster.address
                start = time.perf_counter()
                results[workers] = run_trainings(tasks, tmp / "prepared", workers=workers, backend="dask",
                                                 desc=f"{workers} worker(s)")
                seconds[workers] = time.perf_counter() - start
        assert results[1] == results[2], "the two runs' results differ"
    print(f"{args.trainings} trainings of conv2_sharing_aux, {args.epochs} epochs on {args.pairs} pairs, "
          f"{os.cpu_count()} CPUs (results identical):")
    for workers, s in seconds.items():
        print(f"  {workers} worker(s): {s:6.1f} s  ({s / args.trainings:.2f} s a training)")
    print(f"  speed-up 1 → 2 workers: {seconds[1] / seconds[2]:.2f}x")


if __name__ == "__main__":
    run_stage(main)
