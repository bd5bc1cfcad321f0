import pytest
import torch

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
def base_run(tmp_path_factory):
    """The project with the tiny profile after a full `dvc repro`, committed, and that
    repro's output (shared: the from-scratch run costs about a minute; tests that
    change anything work on copies)."""
    repo = make_project(tmp_path_factory.mktemp("base") / "repo", TINY)
    output = dvc(repo, "repro").stdout
    commit(repo, "tiny study")
    return repo, output


@pytest.fixture(scope="session")
def base(base_run):
    return base_run[0]


@pytest.fixture
def repo(base, tmp_path):
    """A private copy of `base` (workspace, git history, DVC cache)."""
    return clone(base, tmp_path / "repo")
