"""Benchmark: one fixed slice of the study, study-style and with the engine, in one run.

The slice: every one of the 16 architectures, retrained `--per-arch` times (draws
1, 2, …: N = 1000 train and 1000 test pairs of mnist5k each, as a study stage's
retrainings are) at the study's best hyperparameters (hidden 100, lr 1e-3, λ 0.5),
`--epochs` epochs of batch 100: the mix of families of the retrainings.

(a) study-style: this process, torch's default threads, the plain loop
    (`train(..., fast=False)`), one training after another.
(b) engine: `digitcmp.engine.run_trainings`, as a stage runs it: `--workers` forked
    processes with one thread each, the fast path, `--precision` resolved as the
    stages resolve `train.precision` (default auto: bf16 for the ConvNets on a CPU
    with native bf16, see digitcmp.training.precision), no cache.
Family by family, (a) and (b) alternate which goes first, so that a change in the
machine's load (other jobs) falls on both alike; the load average is printed. Both
sides run after a warm-up of this process (imports, first calls); (b) includes its
workers' start (fork) and first calls, as every stage pays them. Throughput is in
GFLOP/s from the analytic counts of `bench.flops`, and against one core's fp32
peak, measured with a large matrix product on one thread.

Options: `--per-core` adds plain vs fast on one thread (CPU seconds, per family);

    .venv/bin/python -m bench.bench --quick    # < 60 s; last line: speedup: <ratio>
"""

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import torch

from bench.flops import training_flops
from digitcmp.data import load_prepared, prepare_arrays, save_prepared
from digitcmp.engine import run_trainings
from digitcmp.training.models import ARCHITECTURES
from digitcmp.training.precision import PRECISIONS, resolve_precision
from digitcmp.training.pairs import Prepared
from digitcmp.training.task import Task
from digitcmp.training.train import TrainSpec, train

MODES = {  # trainings per architecture, epochs, pairs
    "full": (2, 25, 1000),
    "quick": (1, 5, 1000),
    "smoke": (1, 1, 100),
}
FAMILIES = ("conv2", "conv1", "mlp", "shallow")  # longest first


def family(arch: str) -> str:
    return arch.split("_")[0]


def peak_gflops(seconds: float = 1.0, dtype: torch.dtype = torch.float32) -> float:
    """One thread's rate on a large matrix product in `dtype` (best of repeated runs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    a, b = torch.randn(1024, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
    a @ b
    best, start = 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * 1024**3 / (time.perf_counter() - t) / 1e9)
    torch.set_num_threads(threads)
    return best


def prepare(directory: Path, n_pairs: int, draws: int) -> Prepared:
    save_prepared(directory, prepare_arrays("mnist5k", 0, n_pairs, draws),
                  {"source": "mnist5k", "seed": 0, "n_pairs": n_pairs, "repeats": draws})
    return load_prepared(directory)


def slice_tasks(per_arch: int, epochs: int, precision: str) -> list[Task]:
    return [Task(TrainSpec(arch, 100, 1e-3, 0.5, epochs, 100, seed=k,
                           precision=resolve_precision(precision, arch)), draw=k)
            for arch in ARCHITECTURES for k in range(1, per_arch + 1)]


def in_fp32(task: Task) -> Task:
    return dataclasses.replace(task, spec=dataclasses.replace(task.spec, precision="fp32"))


def study_style(tasks: list[Task], prepared: Prepared) -> float:
    """Wall seconds of the plain loop in fp32, in this process with its default threads."""
    t = time.perf_counter()
    for task in map(in_fp32, tasks):
        fit, test = prepared.retrain_sets(task.draw)
        train(task.spec, fit, {"test": test}, fast=False)
    return time.perf_counter() - t


def engine(tasks: list[Task], directory: Path, workers: int) -> float:
    """Wall seconds of the engine on `tasks` (workers forked for this call, as in a stage)."""
    t = time.perf_counter()
    run_trainings(tasks, directory, "cpu", workers, "fork", "bench")
    return time.perf_counter() - t


def warm(prepared: Prepared) -> None:
    """First-call costs of this process (imports, oneDNN kernels), both paths."""
    fit, test = prepared.retrain_sets(1)
    fit = tuple(t[:100] for t in fit)
    for fast in (False, True):
        for arch in ("mlp_sharing_aux", "conv1_sharing_aux"):
            train(TrainSpec(arch, 10, 1e-3, 0.5, 1, 100, 0), fit, {}, fast=fast)


def per_core(tasks: list[Task], prepared: Prepared) -> None:
    """Plain vs fast loop, one thread, this process, per family, alternating; CPU seconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    print("per core (1 thread, CPU seconds): plain fp32 | fast, engine's precision | ratio")
    for fam in reversed(FAMILIES):
        spent = {False: 0.0, True: 0.0}
        for task in (t for t in tasks if family(t.spec.arch) == fam):
            fit, test = prepared.retrain_sets(task.draw)
            for fast in (False, True):
                t = time.process_time()
                train(task.spec if fast else in_fp32(task).spec, fit, {"test": test}, fast=fast)
                spent[fast] += time.process_time() - t
        print(f"  {fam:8s} {spent[False]:7.2f} | {spent[True]:7.2f} | {spent[False] / spent[True]:5.2f}")
    torch.set_num_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a slice that runs in under a minute")
    parser.add_argument("--smoke", action="store_true", help="a tiny slice, to check that it runs")
    parser.add_argument("--per-arch", type=int, help="trainings per architecture")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="the engine's train.precision")
    parser.add_argument("--per-core", action="store_true", help="also plain vs fast on one thread")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    per_arch, epochs, n_pairs = MODES[mode]
    per_arch, epochs = args.per_arch or per_arch, args.epochs or epochs
    os.environ["DIGITCMP_CACHE"] = "off"  # the engine must really train

    tasks = slice_tasks(per_arch, epochs, args.precision)
    flops = {f: 0 for f in FAMILIES}
    for task in tasks:
        flops[family(task.spec.arch)] += training_flops(task.spec.arch, 100, epochs, n_pairs, n_eval=n_pairs)
    total = sum(flops.values())
    peak = peak_gflops(0.3 if mode == "smoke" else 1.0)
    threads = torch.get_num_threads()
    print(f"slice: {len(ARCHITECTURES)} architectures x {per_arch} retrainings, {n_pairs} pairs, "
          f"{epochs} epochs: {len(tasks)} trainings, {total / 1e12:.3f} TFLOP")
    print(f"peak: {peak:.0f} GFLOP/s fp32 on one thread (best 1024x1024 matmul)")

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        prepared = prepare(directory, n_pairs, per_arch)
        warm(prepared)
        load_before = os.getloadavg()[0]
        study, eng = {}, {}
        for i, fam in enumerate(FAMILIES):
            part = [t for t in tasks if family(t.spec.arch) == fam]
            if i % 2 == 0:
                study[fam] = study_style(part, prepared)
            eng[fam] = engine(part, directory, args.workers)
            if i % 2 == 1:
                study[fam] = study_style(part, prepared)
        load_after = os.getloadavg()[0]
        t_study, t_engine = sum(study.values()), sum(eng.values())

        def rate(seconds: float, cores: int, fl: float = total) -> str:
            gf = fl / seconds / 1e9
            return f"{gf:5.1f} GFLOP/s = {gf / (cores * peak):4.0%} of {cores} core(s)' peak"

        print(f"(a) study-style, 1 process x {threads} threads, plain loop: {t_study:.2f} s, {rate(t_study, threads)}")
        print(f"(b) engine, {args.workers} forked workers x 1 thread, fast path, precision {args.precision}: "
              f"{t_engine:.2f} s, {rate(t_engine, args.workers)}")
        print("per family: seconds (a) | seconds (b) | ratio | (b) GFLOP/s (b)'s precision")
        for fam in reversed(FAMILIES):
            precision = next(t.spec.precision for t in tasks if family(t.spec.arch) == fam)
            print(f"  {fam:8s} {study[fam]:7.2f} | {eng[fam]:7.2f} | {study[fam] / eng[fam]:5.2f} | "
                  f"{rate(eng[fam], args.workers, flops[fam])} ({precision})")
        print(f"load average (1 min) before / after: {load_before:.2f} / {load_after:.2f} on {os.cpu_count()} CPUs")
        if max(load_before, load_after) > 1.5 + (os.cpu_count() or 1) / 2:
            print(f"warning: other jobs were running; they slow (a)'s {threads} threads most (a thread that "
                  f"loses its core stalls the other), so the ratio below overstates a quiet machine's")
        if args.per_core:
            per_core(tasks, prepared)
    print(f"speedup: {t_study / t_engine:.2f}")


if __name__ == "__main__":
    main()
