"""The `dask` backend: a stage's trainings on a Dask cluster that shares no disk with it.

The scheduler is `$DASK_SCHEDULER_ADDRESS` when set (e.g. dask-jobqueue's SLURMCluster;
bench/README.md has the recipe), else a local cluster of `workers` single-thread
processes. A worker (and the scheduler, which unpickles the tasks) needs only the
installed package (`pip install 'digitcmp[cluster]'`, the same torch): the stage scatters the prepared data to every worker once, each task
returns its training's record, and the stage process writes the cache entries. So a
worker reads and writes no file of the project, and may run on another machine.

A worker lost mid-stage loses nothing: Dask reruns its unfinished trainings on the
others (the data is on each of them), finished ones are already cached, and every
training is seeded by its unit of work, so the outputs are the bytes any backend makes.
Remote workers must run one thread each (`--nthreads 1`), as the local ones do.
"""

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError

from digitcmp.training.pairs import Prepared
from digitcmp.errors import UserError

DASK_TIMEOUT = 10  # seconds a Dask scheduler has to accept a connection and answer
RESUBMITS = 100  # trainings a stage may resubmit after losing them with a worker, before it gives up
WORKER_TIMEOUT = 600  # seconds a remote cluster has for its first worker to join (a batch queue's wait)


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
    scheme = address.partition("://")[0] if "://" in address else "tcp"
    if scheme != "tcp":  # tls and ucx need certificates or UCX set up, which nothing here configures
        raise UserError(f"{what} uses {scheme}://; allowed: tcp://HOST:PORT of a Dask scheduler")
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


def execute(jobs: list[tuple], n_jobs: int, prepared: Prepared, train: Callable, store: Callable,
            ) -> Iterator[tuple[int, dict, str, str | None]]:
    """(index, record, host kind, why its cache entry was not written or None) of each job
    `(index, task, data_dir, fingerprint, device, cache directory or None)` as it finishes on
    Dask: `train(task, prepared, device)` → (record, host kind) runs on a worker, and
    `store(directory, task, fingerprint, device, kind, record)` caches it here, on the client."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("train.backend: dask needs dask.distributed; allowed: fork or spawn, "
                        "or dask after `pip install 'digitcmp[cluster]'`") from None
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        check_scheduler(address)
    cluster = client = None
    try:  # what fails here is Dask's configuration (DASK_* variables, its YAML files), whatever the type
        cluster = None if address else LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                                    dashboard_address=None, silence_logs=logging.CRITICAL)
        client = Client(address or cluster, timeout=DASK_TIMEOUT)
    except Exception as err:
        if cluster is not None:
            cluster.close()
        set_here = ", ".join(sorted(k for k in os.environ if k.startswith("DASK_"))) or "none"
        raise UserError(f"Dask: could not start ({type(err).__name__}: {str(err).strip()[:100]}); allowed: a valid "
                        f"Dask configuration (DASK_* variables set here: {set_here})") from None
    futures = {}
    try:
        if address:
            try:
                client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
            except TimeoutError:
                raise UserError(f"DASK_SCHEDULER_ADDRESS: {address!r}: no worker joined within {WORKER_TIMEOUT} s; "
                                f"allowed: a scheduler with workers (`dask worker {address} --nthreads 1`)") from None
        data = client.scatter(prepared, broadcast=True, hash=False)  # once per worker, not per training

        def submit(job: tuple) -> None:
            _, task, _, _, device, _ = job
            future = client.submit(train, task, data, device, pure=False)
            futures[future] = (job, data)  # with the scattered data it reads
            done.add(future)

        done, lost = as_completed(), 0
        for job in jobs:
            submit(job)
        for future in done:
            job, read = futures.pop(future)
            index, task, _, fingerprint, device, directory = job
            try:
                record, kind = future.result()  # the worker's host kind: its bits are cached under its own key
            except CancelledError:
                # A lost worker can take the scheduler's copy of the scattered data with it, and
                # the trainings that need it are then forgotten: scatter again (once per loss) and
                # resubmit (the training is deterministic: its result does not depend on the attempt).
                lost += 1
                if lost > RESUBMITS:
                    raise UserError(f"Dask: {lost} trainings lost with their workers; allowed: a cluster whose "
                                    f"workers stay up (finished trainings are cached: rerun to continue)") from None
                if read is data:
                    data = client.scatter(prepared, broadcast=True, hash=False)
                submit(job)
                continue
            yield index, record, kind, store(directory, task, fingerprint, device, kind, record)
    finally:  # on an interrupt, drop what is queued; finished trainings are cached
        client.cancel(list(futures))
        client.close()
        if cluster is not None:
            cluster.close()
