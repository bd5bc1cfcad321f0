"""train.backend: dask on a cluster that shares no disk with the project: a `dask scheduler`
and two `dask worker`s started from the command line, each in its own empty directory
and seeing only an installed copy of the package (bench/dask_cluster.py says how). One
worker is killed mid-stage; the stage still finishes, with the fork backend's bytes."""

import subprocess
import time

import pytest

from bench.dask_cluster import install_package, kill, local_cluster
from tests.dvcproject import TINY, env, make_project, ran_stages, write_params

pytest.importorskip("distributed")

ARCH = "conv2_sharing_aux"
# Eight trainings of a second or so: 4 grid points, then 4 retrainings.
PARAMS = {**TINY, "lr": [1.0e-3, 1.0e-2], "hidden": [16, 32],
          "data": {**TINY["data"], "n_pairs": 200},
          "train": {**TINY["train"], "epochs": 4, "repeats": 4, "workers": 2}}
N_TRAININGS = 8
OUTPUTS = (f"metrics/search/{ARCH}.json", f"metrics/runs/{ARCH}.json")
STAGE_TIMEOUT = 300


def entries(store):
    return {p.name: p.read_bytes() for p in sorted(store.glob("*.json"))}


def test_a_stage_on_dask_workers_without_the_project_survives_a_lost_worker(tmp_path):
    repo = make_project(tmp_path / "repo", PARAMS)
    fork_cache, dask_cache = tmp_path / "cache-fork", tmp_path / "cache-dask"
    out = subprocess.run(["dvc", "repro", f"study@{ARCH}"], cwd=repo, env={**env(repo), "DIGITCMP_CACHE": str(fork_cache)},
                         capture_output=True, text=True, timeout=STAGE_TIMEOUT)
    assert out.returncode == 0, out.stderr
    fork = {p: (repo / p).read_bytes() for p in OUTPUTS}
    assert len(entries(fork_cache)) == N_TRAININGS

    write_params(repo, {**PARAMS, "train": {**PARAMS["train"], "backend": "dask"}})
    site = install_package(tmp_path / "site")
    with local_cluster(tmp_path / "cluster", 2, site) as cluster:
        from distributed import Client

        with Client(cluster.address, timeout=10) as client:  # what the workers import: the installed copy
            found = client.run(lambda: __import__("digitcmp").__file__)
        assert len(found) == 2 and all(path.startswith(str(site)) for path in found.values())
        stage = subprocess.Popen(["dvc", "repro", "-f", "-s", f"study@{ARCH}"], cwd=repo, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env={**env(repo), "DIGITCMP_CACHE": str(dask_cache),
                                      "DASK_SCHEDULER_ADDRESS": cluster.address})
        try:
            deadline = time.monotonic() + STAGE_TIMEOUT
            while not entries(dask_cache) and stage.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            done_at_kill, running = len(entries(dask_cache)), stage.poll() is None
            kill(cluster.workers[0])
            stdout, stderr = stage.communicate(timeout=STAGE_TIMEOUT)
        finally:
            if stage.poll() is None:
                stage.kill()
                stage.wait(timeout=10)
        assert running and 1 <= done_at_kill < N_TRAININGS, stderr  # the worker died mid-stage
        assert stage.returncode == 0, stderr
        assert f"study@{ARCH}" in ran_stages(stdout)
        assert cluster.workers[1].poll() is None  # the other worker did the rest
    assert {p: (repo / p).read_bytes() for p in OUTPUTS} == fork
    assert entries(dask_cache) == entries(fork_cache)  # written by the stage process, byte for byte
    for cwd in cluster.worker_dirs:  # nothing of the project's reached a worker's directory
        assert [p.name for p in cwd.iterdir()] == ["scratch"]
