"""Running a stage's independent trainings: in parallel, cached, with a progress bar.

- Parallel: `workers` processes of a standard `concurrent.futures` executor, one
  intra-op thread each (on small models two single-thread processes beat one
  two-thread process). With one thread everywhere the numbers do not depend on
  `workers`, the backend or the schedule. Backends: `fork` (default: workers are
  forked from the stage process, which has imported torch but run no parallel torch
  code, so they start in well under a second, where spawning fresh ones costs
  seconds per stage), `spawn` (fresh processes, the conservative choice) and `dask`:
  a Dask cluster, with no shared disk (digitcmp.cluster).
- Cached: each finished training is written at once (atomically) to the training
  cache (digitcmp.cache), whose key hashes everything that determines its result. A
  stage interrupted after k trainings reruns only the others.
- Progress: a tqdm bar (done/total, ETA) on a terminal; in logs, one line per training
  step: how many trainings it runs and, once the first ones are done, an ETA.
"""

import multiprocessing
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm import tqdm

from digitcmp import cache, host
from digitcmp.data import load_prepared
from digitcmp.training.pairs import Prepared
from digitcmp.training.task import Task, train_task


def resolve_workers(workers: int | str) -> int:
    return len(os.sched_getaffinity(0)) if workers == "auto" else int(workers)


_loaded: dict[str, Prepared] = {}  # data directory → its prepared data, once per process


def _prepared(data_dir: str, fingerprint: str) -> Prepared:
    """The prepared data: inherited from the stage process when forked, else read once."""
    prepared = _loaded.get(data_dir)
    if prepared is None or prepared.fingerprint != fingerprint:
        prepared = _loaded[data_dir] = load_prepared(data_dir)
        assert prepared.fingerprint == fingerprint, "data changed while the stage ran"
    return prepared


def run_task(task: Task, data_dir: str, fingerprint: str, device: str) -> dict:
    """Train one task on the data at `data_dir`; its TrainResult as a dict (runs in a worker)."""
    return train_record(task, _prepared(data_dir, fingerprint), device)[0]


def train_record(task: Task, prepared: Prepared, device: str) -> tuple[dict, str]:
    """Train one task on `prepared`, on one thread: its TrainResult as a dict, and the kind
    of host that computed it (on a mixed Dask cluster, the worker's own)."""
    torch.set_num_threads(1)
    return asdict(train_task(task, prepared, device)), host.kind_id()


def store(directory: Path | None, task: Task, fingerprint: str, device: str, kind: str, record: dict) -> str | None:
    """Cache `record` in `directory` (None: no cache) under the key of the host kind that
    computed it; why it could not be written, or None: the cache is optional, so a full disk
    there costs the entry, never the training."""
    if directory is None:
        return None
    key = cache.task_key(asdict(task), fingerprint, device, kind)
    path = directory / f"{key}.json"
    try:
        cache.write(path, key, kind, record)
    except OSError as err:
        return f"{err.filename or path}: {err.strerror or err}"
    return None


def _run_and_store(index: int, task: Task, data_dir: str, fingerprint: str, device: str,
                   directory: Path | None) -> tuple[int, dict, str, str | None]:
    """(index, record, host kind, why its cache entry could not be written or None)."""
    record, kind = train_record(task, _prepared(data_dir, fingerprint), device)
    return index, record, kind, store(directory, task, fingerprint, device, kind, record)


class Progress:
    """A tqdm bar on a terminal; in logs one line, once the first trainings are done:
    how many run, how many were cached, and an ETA from the time the first ones took."""

    def __init__(self, desc: str, total: int, todo: int, n_jobs: int, checks: int = 0):
        self.desc, self.total, self.todo, self.n_jobs, self.checks = desc, total, todo, n_jobs, checks
        self.tty = sys.stderr.isatty()
        self.bar = tqdm(total=total + checks, initial=total + checks - todo, desc=desc, unit="run", disable=not self.tty,
                        dynamic_ncols=True)
        self.start, self.done = time.monotonic(), 0

    def update(self) -> None:
        self.bar.update()
        self.done += 1
        if not self.tty and self.done == min(self.n_jobs, self.todo):
            elapsed = time.monotonic() - self.start
            eta = elapsed / self.done * (self.todo - self.done)
            runs = self.todo - self.checks
            verify = f", {self.checks} of them retrained to verify" if self.checks else ""
            print(f"{self.desc}: {runs} of {self.total} trainings to run ({self.total - runs} cached{verify}), "
                  f"{self.n_jobs} at a time; the first {self.done} took {elapsed:.1f} s, ETA {_duration(eta)}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        self.bar.close()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{secs:02d}s"


def run_trainings(tasks: Sequence[Task], data_dir: str | Path, device: str = "cpu",
                  workers: int | str = "auto", backend: str = "fork", desc: str = "training") -> list[dict]:
    """Results of `tasks`, in their order, computed in parallel or read from the cache
    (and `DIGITCMP_VERIFY` of the cached ones retrained and compared), each with the
    host kind that computed it under "host"."""
    data_dir = str(data_dir)
    verify = cache.verify_count()
    prepared = _loaded[data_dir] = load_prepared(data_dir)  # checks the data before any work
    fingerprint = prepared.fingerprint
    directory = cache.cache_dir()
    here = host.kind_id()
    keys = [cache.task_key(asdict(t), fingerprint, device, here) for t in tasks]
    paths = [directory / f"{k}.json" if directory else None for k in keys]
    results: list[dict | None] = [
        cache.read(p, k, t.set_sizes(prepared), t.spec.epochs, t.track_epochs, here) if p else None
        for t, k, p in zip(tasks, keys, paths)]
    hosts = [here] * len(tasks)
    todo = [i for i, r in enumerate(results) if r is None]
    # Widest models first, so the last trainings to start are the short ones.
    todo.sort(key=lambda i: (-tasks[i].spec.hidden, i))
    cached = [i for i, r in enumerate(results) if r is not None]
    checks = sorted(random.sample(cached, min(verify, len(cached))))
    jobs = [(i, tasks[i], data_dir, fingerprint, device, directory) for i in todo]
    jobs += [(len(tasks) + i, tasks[i], data_dir, fingerprint, device, None) for i in checks]
    n_jobs = max(1, min(resolve_workers(workers), len(jobs)))
    progress = Progress(desc, len(tasks), len(jobs), n_jobs, len(checks))
    compared, unstored = 0, None
    try:
        for i, record, kind, failed in _execute(jobs, n_jobs, backend) if jobs else ():
            if failed and not unstored:
                unstored = failed
                cache.warn(f"{failed}; the training cache cannot be written, the stage goes on without storing "
                           f"its trainings (free space there, or set DIGITCMP_CACHE to another directory or off)")
            if i < len(tasks):
                results[i], hosts[i] = record, kind
            elif kind == here:
                cache.compare(paths[i - len(tasks)], results[i - len(tasks)], record)
                compared += 1
            else:
                cache.warn(f"{paths[i - len(tasks)]}: verified on host kind {kind}, computed on {here}; "
                           f"bits may differ between kinds, so not compared")
            progress.update()
    finally:
        progress.close()
    if compared:
        print(f"{desc}: {compared} cached trainings retrained, bit-for-bit identical to their entries",
              file=sys.stderr, flush=True)
    return [{**r, "host": h} for r, h in zip(results, hosts)]  # type: ignore[dict-item]


def _execute(args: list[tuple], n_jobs: int, backend: str) -> Iterator[tuple[int, dict, str, str | None]]:
    """(index, record) of each training as it finishes: in this process, a pool or on Dask."""
    if backend == "dask":
        from digitcmp.cluster import execute  # dask is optional

        yield from execute(args, n_jobs, _loaded[args[0][2]], train_record, store)
        return
    if n_jobs == 1:
        yield from (_run_and_store(*a) for a in args)
        return
    pool = ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context(backend))
    try:
        futures = [pool.submit(_run_and_store, *a) for a in args]
        yield from (f.result() for f in as_completed(futures))
    finally:  # on an interrupt, drop the queued trainings; finished ones are cached
        pool.shutdown(wait=True, cancel_futures=True)
