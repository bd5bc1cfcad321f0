import pytest
import torch
from filelock import FileLock

from digitcmp.data import generate_pair_sets
from tests.dvcproject import TINY, clone, commit, dvc, make_project


@pytest.fixture(scope="session")
def pairs1000():
    """The study's N = 1000 sets from the default source (computed once)."""
    return generate_pair_sets(1000, source="mnist5k", seed=0)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def base_run(tmp_path_factory, worker_id):
    """The project with the tiny profile after a full `dvc repro`, committed, and that
    repro's output. Built once for the whole run, pytest-xdist's workers included (the
    from-scratch run costs one to two minutes); tests read it and work on copies."""
    shared = tmp_path_factory.getbasetemp()
    shared = shared if worker_id == "master" else shared.parent  # the workers' common folder
    done, log = shared / "base.done", shared / "base.out"
    with FileLock(str(shared / "base.lock")):
        if not done.is_file():
            repo = make_project(shared / "base" / "repo", TINY)
            log.write_text(dvc(repo, "repro").stdout)
            commit(repo, "tiny study")
            done.touch()
    return shared / "base" / "repo", log.read_text()


@pytest.fixture(scope="session")
def base(base_run):
    return base_run[0]


@pytest.fixture
def repo(base, tmp_path):
    """A private copy of `base` (workspace, git history, DVC cache)."""
    return clone(base, tmp_path / "repo")
