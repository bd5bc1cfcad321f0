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
- Cached: each finished training is written at once (atomically) to
  `<cache>/<key>.json`, the key hashing everything that determines its result: the
  spec, which data and split, the prepared data's bytes, the training code and the
  torch version. A stage interrupted after k trainings reruns only the others.
- Progress: a tqdm bar (done/total, ETA) on a terminal; nothing in logs.
"""

import functools
import hashlib
import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from digitcmp.data import Prepared, load_prepared
from digitcmp.errors import UserError
from digitcmp.files import dumps_json, read_json, write_json
from digitcmp.train import TrainSpec, train

# The modules whose source decides a training's numbers (part of every cache key).
TRAINING_CODE = ("augment.py", "data.py", "extras", "fast.py", "models.py", "precision.py", "registry.py", "seeds.py",
                 "train.py")
DEFAULT_CACHE = Path(".cache") / "trainings"


@dataclass(frozen=True)
class Task:
    """One training: a spec and the data it sees."""

    spec: TrainSpec
    draw: int  # 0: the grid search's draw, split fit/validation; k ≥ 1: retraining k, train/test
    val_fraction: float | None = None  # draw 0 only
    track_epochs: bool = False


def cache_dir() -> Path | None:
    """`$DIGITCMP_CACHE` (a directory, or 'off'); default `.cache/trainings`."""
    value = os.environ.get("DIGITCMP_CACHE", str(DEFAULT_CACHE))
    return None if value == "off" else Path(value)


def resolve_workers(workers: int | str) -> int:
    return len(os.sched_getaffinity(0)) if workers == "auto" else int(workers)


@functools.cache
def code_fingerprint() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256(torch.__version__.encode())
    for name in TRAINING_CODE:  # a directory: its modules, in name order
        for path in sorted((here / name).rglob("*.py")) if (here / name).is_dir() else [here / name]:
            h.update(path.read_bytes())
    return h.hexdigest()


def task_key(task: Task, data_fingerprint: str, device: str) -> str:
    what = dumps_json({"task": asdict(task), "data": data_fingerprint, "device": device,
                       "code": code_fingerprint()})
    return hashlib.sha256(what.encode()).hexdigest()


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
    prepared = _prepared(data_dir, fingerprint)
    if task.draw == 0:
        fit, val = prepared.search_sets(task.val_fraction)
        result, _ = train(task.spec, fit, {"val": val}, task.track_epochs, device)
    else:
        fit, test = prepared.retrain_sets(task.draw)
        result, _ = train(task.spec, fit, {"test": test}, task.track_epochs, device)
    return asdict(result)


def _run_and_store(index: int, task: Task, data_dir: str, fingerprint: str, device: str,
                   store: Path | None) -> tuple[int, dict]:
    record = run_task(task, data_dir, fingerprint, device)
    if store is not None:
        write_json(store, record)
    return index, record


def _cached(path: Path | None) -> dict | None:
    if path is None or not path.exists():
        return None
    try:
        return read_json(path)
    except ValueError:  # a damaged cache entry is recomputed, never trusted
        return None


def run_trainings(tasks: Sequence[Task], data_dir: str | Path, device: str = "cpu",
                  workers: int | str = "auto", backend: str = "fork", desc: str = "training") -> list[dict]:
    """Results of `tasks`, in their order, computed in parallel or read from the cache."""
    data_dir = str(data_dir)
    prepared = _loaded[data_dir] = load_prepared(data_dir)  # checks the data before any work
    fingerprint = prepared.fingerprint
    store = cache_dir()
    paths = [store / f"{task_key(t, fingerprint, device)}.json" if store else None for t in tasks]
    results: list[dict | None] = [_cached(p) for p in paths]
    todo = [i for i, r in enumerate(results) if r is None]
    # Widest models first, so the last trainings to start are the short ones.
    todo.sort(key=lambda i: (-tasks[i].spec.hidden, i))
    n_jobs = max(1, min(resolve_workers(workers), len(todo)))
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit="run",
               disable=not sys.stderr.isatty(), dynamic_ncols=True)
    args = [(i, tasks[i], data_dir, fingerprint, device, paths[i]) for i in todo]
    with bar:
        for i, record in _execute(args, n_jobs, backend):
            results[i] = record
            bar.update()
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


def _execute_dask(args: list[tuple], n_jobs: int) -> Iterator[tuple[int, dict]]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("train.backend: dask needs dask.distributed; allowed: fork or spawn, "
                        "or dask after `pip install 'digitcmp[cluster]'`") from None
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    cluster = None if address else LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                                dashboard_address=None)
    client = Client(address or cluster)
    futures = [client.submit(_run_and_store, *a, pure=False) for a in args]
    try:
        yield from (f.result() for f in as_completed(futures))
    finally:  # on an interrupt, drop what is queued; finished trainings are cached
        client.cancel(futures)
        client.close()
        if cluster is not None:
            cluster.close()
