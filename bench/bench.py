"""Benchmark: one fixed slice of the study, study-style and with the engine, in one run.

The slice: every one of the 16 architectures, `--per-arch` trainings each (seeds
0, 1, …) at the study's best hyperparameters (hidden 100, lr 1e-3, λ 0.5), on the
N = 1000 pairs of one mnist5k draw, `--epochs` epochs, batch 100, scored on the
1000 test pairs: the mix of families of the retraining stage.

(a) study-style: this process, torch's default threads, the plain loop
    (`train(..., fast=False)`), one training after another.
(b) engine: `--workers` processes with one thread each (joblib), the fast path
    (`train`, and `train_many` for stacked families if `--stack`).
Both are timed after a warm-up (imports, thread pools, worker start-up: a DVC stage
pays these once; the start-up is printed on its own line), family by family, (a) and
(b) alternating which goes first, so that a change in the machine's load (other jobs)
falls on both alike; the load average is printed before and after. Throughput is reported in
GFLOP/s from the analytic counts of `digitcmp.flops`, and against one core's fp32
peak, measured with a large matrix product on one thread.

    .venv/bin/python bench/bench.py --quick    # < 60 s; last line: speedup: <ratio>
"""

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # digitcmp, without an install

from digitcmp.flops import training_flops  # noqa: E402
from digitcmp.models import ARCHITECTURES  # noqa: E402
from digitcmp.train import TrainSpec, train  # noqa: E402
from workload import FAMILY_ORDER, engine_task, engine_tasks, family, slice_data, slice_specs, warm  # noqa: E402

MODES = {  # per-arch trainings, epochs, pairs
    "full": (2, 25, 1000),
    "quick": (1, 5, 1000),
    "smoke": (1, 1, 100),
}


def peak_gflops(seconds: float = 1.0) -> float:
    """One thread's fp32 rate on a large matrix product (best of several runs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    best, start = 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * 1024**3 / (time.perf_counter() - t) / 1e9)
    torch.set_num_threads(threads)
    return best


def study_style(specs: list[TrainSpec], data) -> float:
    """Wall seconds of the plain loop, in this process with its default threads."""
    tr, te = data
    t = time.perf_counter()
    for spec in specs:
        train(spec, tr, {"test": te}, fast=False)
    return time.perf_counter() - t


def engine(pool: Parallel, tasks, n_pairs: int) -> tuple[float, float]:
    """(wall seconds, worker-seconds) of the tasks on the pool's workers."""
    t = time.perf_counter()
    busy = sum(pool(delayed(engine_task)(specs, n_pairs, stacked) for specs, stacked in tasks))
    return time.perf_counter() - t, busy


def per_core(specs: list[TrainSpec], data) -> None:
    """Plain vs fast loop, one thread, this process, per family, alternating; CPU seconds."""
    tr, te = data
    threads = torch.get_num_threads()
    warm(fast=True)
    print("per core (1 thread, CPU seconds): plain | fast | ratio")
    for fam in reversed(FAMILY_ORDER):
        spent = {False: 0.0, True: 0.0}
        for spec in (s for s in specs if family(s.arch) == fam):
            for fast in (False, True):
                t = time.process_time()
                train(spec, tr, {"test": te}, fast=fast)
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
    parser.add_argument("--stack", action=argparse.BooleanOptionalAction, default=True,
                        help="train narrow shallow and MLP specs with train_many")
    parser.add_argument("--per-core", action="store_true",
                        help="also compare plain and fast loops on one thread, in this process")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    per_arch, epochs, n_pairs = MODES[mode]
    per_arch, epochs = args.per_arch or per_arch, args.epochs or epochs

    data = slice_data(n_pairs)
    specs = slice_specs(per_arch, epochs)
    flops = defaultdict(float)
    for s in specs:
        flops[family(s.arch)] += training_flops(s.arch, s.hidden, s.epochs, n_pairs, n_eval=n_pairs)
    total_flops = sum(flops.values())
    peak = peak_gflops(0.3 if mode == "smoke" else 1.0)
    threads = torch.get_num_threads()
    print(f"slice: {len(ARCHITECTURES)} architectures x {per_arch} trainings, {n_pairs} pairs, "
          f"{epochs} epochs: {len(specs)} trainings, {total_flops / 1e12:.3f} TFLOP")
    print(f"peak: {peak:.0f} GFLOP/s fp32 on one thread (best 1024x1024 matmul)")

    warm(fast=False, threads=threads)  # as a long stage pays them once
    t = time.perf_counter()
    pool = Parallel(n_jobs=args.workers, batch_size=1)
    pool.__enter__()
    pids = set(pool(delayed(warm)(n_pairs=n_pairs) for _ in range(args.workers)))
    t_start = time.perf_counter() - t

    load_before = os.getloadavg()[0]
    study, eng, busy = {}, {}, {}
    for i, fam in enumerate(FAMILY_ORDER):
        part = [s for s in specs if family(s.arch) == fam]
        if i % 2 == 0:
            study[fam] = study_style(part, data)
        eng[fam], busy[fam] = engine(pool, engine_tasks(part, args.stack), n_pairs)
        if i % 2 == 1:
            study[fam] = study_style(part, data)
    pool.__exit__(None, None, None)
    t_study, t_engine = sum(study.values()), sum(eng.values())

    def rate(seconds: float, cores: int) -> str:
        gf = total_flops / seconds / 1e9
        return f"{gf:.1f} GFLOP/s, {gf / (cores * peak):.0%} of {cores} core(s)' peak"

    print(f"(a) study-style, 1 process x {threads} threads, plain loop: {t_study:.2f} s, {rate(t_study, threads)}")
    print(f"(b) engine, {len(pids)} workers x 1 thread, fast path{' + stacking' if args.stack else ''}, no train-set scoring: "
          f"{t_engine:.2f} s, {rate(t_engine, args.workers)} (worker start-up with data {t_start:.2f} s, not included)")
    print("per family: seconds (a) | seconds (b) | ratio | GFLOP/s per busy core (b)")
    for fam in reversed(FAMILY_ORDER):
        print(f"  {fam:8s} {study[fam]:7.2f} | {eng[fam]:7.2f} | {study[fam] / eng[fam]:5.2f} | "
              f"{flops[fam] / busy[fam] / 1e9:6.1f}")
    print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs (other jobs slow both sides; the 2-thread side more)")
    if args.per_core:
        per_core(specs, data)
    print(f"speedup: {t_study / t_engine:.2f}")


if __name__ == "__main__":
    main()
