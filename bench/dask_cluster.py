"""A Dask cluster of real processes on this machine, started from the command line as on
a cluster: `dask scheduler` and `dask worker`s on 127.0.0.1, each worker in its own empty
directory, the scheduler and the workers seeing only an installed copy of the package,
never the project.

The copy: `install_package(site)` lays digitcmp/ in a directory of its own, as pip lays
a pure-Python package in site-packages, and the scheduler and workers get that directory alone on
PYTHONPATH. PYTHONPATH comes before site-packages, and before the venv's editable
install too (its finder is consulted after the path), so they import the copy
of the checkout that made it, and nothing tells them where the project is.

Used by tests/test_cluster.py and bench/dask_scaling.py. Every wait is bounded; every
process is ended (by its id) when the context closes.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).parent / "dask")
START_TIMEOUT = 60  # seconds for the scheduler to write its file and the workers to join


def install_package(site: Path) -> Path:
    """This checkout's digitcmp package, copied into `site` as an installed package."""
    shutil.copytree(ROOT / "digitcmp", site / "digitcmp", ignore=shutil.ignore_patterns("__pycache__"))
    return site


@dataclass
class LocalCluster:
    address: str
    workers: list[subprocess.Popen] = field(default_factory=list)
    worker_dirs: list[Path] = field(default_factory=list)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the process and any child
    proc.wait(timeout=10)


def _wait_until(condition, what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout} s")
        time.sleep(0.1)


def n_workers(address: str) -> int:
    from distributed import Client

    with Client(address, timeout=10) as client:
        return len(client.scheduler_info()["workers"])


@contextmanager
def local_cluster(tmp: Path, workers: int, site: Path) -> Iterator[LocalCluster]:
    """A scheduler and `workers` single-thread workers (no nanny: a killed worker stays dead)."""
    tmp.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DVC_ROOT", "DIGITCMP_CACHE")}
    logs = []
    procs: list[subprocess.Popen] = []

    def start(args: list[str], cwd: Path, name: str, extra: dict) -> subprocess.Popen:
        log = open(tmp / f"{name}.log", "wb")
        logs.append(log)
        proc = subprocess.Popen([DASK, *args], cwd=cwd, env={**env, **extra}, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        procs.append(proc)
        return proc

    try:
        info = tmp / "scheduler.json"
        start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
              tmp, "scheduler", {"PYTHONPATH": str(site)})  # Dask's scheduler unpickles the tasks too
        _wait_until(info.is_file, "the scheduler wrote no scheduler file")
        cluster = LocalCluster(json.loads(info.read_text())["address"])
        for i in range(workers):
            cwd = tmp / f"worker{i}"
            cwd.mkdir()
            cluster.worker_dirs.append(cwd)
            cluster.workers.append(start(
                ["worker", cluster.address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}",
                 "--local-directory", str(cwd / "scratch"), "--death-timeout", "60"],
                cwd, f"worker{i}", {"PYTHONPATH": str(site)}))
        _wait_until(lambda: n_workers(cluster.address) == workers, f"{workers} workers did not join")
        yield cluster
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for log in logs:
            log.close()


def kill(proc: subprocess.Popen) -> None:
    """Kill a worker at once, as a lost machine would end it (no goodbye to the scheduler)."""
    _stop(proc)
