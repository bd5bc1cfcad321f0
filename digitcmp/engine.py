"""Running a stage's independent trainings: in parallel, cached, with a progress bar.

- Parallel: `workers` processes of a standard `concurrent.futures` executor, one
  intra-op thread each (on small models two single-thread processes beat one
  two-thread process). With one thread everywhere the numbers do not depend on
  `workers`, the backend or the schedule. Backends: `fork` (default: workers are
  forked from the stage process, which has imported torch but run no parallel torch
  code, so they start in well under a second, where spawning fresh ones costs
  seconds per stage), `spawn` (fresh processes, the conservative choice) and `dask`:
  a Dask cluster, the scheduler at `$DASK_SCHEDULER_ADDRESS` when set (workers must
  see the project directory, e.g. on a shared file system, and run one thread each),
  else a local cluster of `workers` single-thread processes; needs `pip install
  'digitcmp[cluster]'`.
- Cached: each finished training is written at once (atomically) to the training
  cache (digitcmp.cache), whose key hashes everything that determines its result. A
  stage interrupted after k trainings reruns only the others.
- Progress: a tqdm bar (done/total, ETA) on a terminal; in logs, one line per training
  step: how many trainings it runs and, once the first ones are done, an ETA.
"""

import asyncio
import multiprocessing
import os
import random
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm import tqdm

from digitcmp import cache
from digitcmp.data import load_prepared
from digitcmp.errors import UserError
from digitcmp.training.pairs import Prepared
from digitcmp.training.task import Task, train_task

DASK_TIMEOUT = 10  # seconds a Dask scheduler has to accept a connection and answer


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
    """Train one task and return its TrainResult as a dict (runs in a worker)."""
    torch.set_num_threads(1)
    return asdict(train_task(task, _prepared(data_dir, fingerprint), device))


def _run_and_store(index: int, task: Task, data_dir: str, fingerprint: str, device: str,
                   path: Path | None, key: str) -> tuple[int, dict]:
    record = run_task(task, data_dir, fingerprint, device)
    if path is not None:
        cache.write(path, key, record)
    return index, record


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
    (and `DIGITCMP_VERIFY` of the cached ones retrained and compared)."""
    data_dir = str(data_dir)
    verify = cache.verify_count()
    prepared = _loaded[data_dir] = load_prepared(data_dir)  # checks the data before any work
    fingerprint = prepared.fingerprint
    store = cache.cache_dir()
    keys = [cache.task_key(asdict(t), fingerprint, device) for t in tasks]
    paths = [store / f"{k}.json" if store else None for k in keys]
    results: list[dict | None] = [
        cache.read(p, k, t.set_sizes(prepared), t.spec.epochs, t.track_epochs) if p else None
        for t, k, p in zip(tasks, keys, paths)]
    todo = [i for i, r in enumerate(results) if r is None]
    # Widest models first, so the last trainings to start are the short ones.
    todo.sort(key=lambda i: (-tasks[i].spec.hidden, i))
    cached = [i for i, r in enumerate(results) if r is not None]
    checks = sorted(random.sample(cached, min(verify, len(cached))))
    jobs = [(i, tasks[i], data_dir, fingerprint, device, paths[i], keys[i]) for i in todo]
    jobs += [(len(tasks) + i, tasks[i], data_dir, fingerprint, device, None, keys[i]) for i in checks]
    n_jobs = max(1, min(resolve_workers(workers), len(jobs)))
    progress = Progress(desc, len(tasks), len(jobs), n_jobs, len(checks))
    try:
        for i, record in _execute(jobs, n_jobs, backend) if jobs else ():
            if i < len(tasks):
                results[i] = record
            else:
                cache.compare(paths[i - len(tasks)], results[i - len(tasks)], record)
            progress.update()
    finally:
        progress.close()
    if checks:
        print(f"{desc}: {len(checks)} cached trainings retrained, bit-for-bit identical to their entries",
              file=sys.stderr, flush=True)
    return results  # type: ignore[return-value]


def _execute(args: list[tuple], n_jobs: int, backend: str) -> Iterator[tuple[int, dict]]:
    """(index, record) of each training as it finishes: in this process, a pool or on Dask."""
    if backend == "dask":
        yield from _execute_dask(args, n_jobs)
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


def _accepts(address: str, timeout: float) -> bool:
    """Whether a plain TCP connection to `address` succeeds."""
    from distributed.comm.addressing import get_address_host_port

    try:
        with socket.create_connection(get_address_host_port(address), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def check_scheduler(address: str, timeout: float = DASK_TIMEOUT) -> None:
    """Refuse, in one line, a Dask scheduler address that is malformed, refuses, or does
    not answer within `timeout` seconds (Dask's own client would wait forever)."""
    from distributed.comm import connect

    async def identity() -> object:
        comm = await connect(address, timeout=timeout)  # Dask's handshake: may wait forever
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    what = f"DASK_SCHEDULER_ADDRESS: {address!r}"
    try:
        answer = asyncio.run(asyncio.wait_for(identity(), 2 * timeout))
    except ValueError as err:
        raise UserError(f"{what} is malformed ({err}); allowed: tcp://HOST:PORT of a Dask scheduler") from None
    except OSError as err:  # TimeoutError included
        if isinstance(err, TimeoutError) and _accepts(address, timeout):
            raise UserError(f"{what} accepted the connection but did not answer within {2 * timeout} s; "
                            f"allowed: the address of a running Dask scheduler") from None
        raise UserError(f"{what} could not be reached ({err or 'no connection'}); allowed: the address of a "
                        f"running Dask scheduler, or unset it for a local cluster") from None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise UserError(f"{what} answered {str(answer)[:60]!r}, not as a Dask scheduler; "
                        f"allowed: the address of a running Dask scheduler")


def _execute_dask(args: list[tuple], n_jobs: int) -> Iterator[tuple[int, dict]]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("train.backend: dask needs dask.distributed; allowed: fork or spawn, "
                        "or dask after `pip install 'digitcmp[cluster]'`") from None
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        check_scheduler(address)
    cluster = None if address else LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                                dashboard_address=None)
    client = Client(address or cluster, timeout=DASK_TIMEOUT)
    futures = [client.submit(_run_and_store, *a, pure=False) for a in args]
    try:
        yield from (f.result() for f in as_completed(futures))
    finally:  # on an interrupt, drop what is queued; finished trainings are cached
        client.cancel(futures)
        client.close()
        if cluster is not None:
            cluster.close()
