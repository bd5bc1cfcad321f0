import pytest
import torch

from digitcmp.data import generate_pair_sets


@pytest.fixture(scope="session")
def pairs1000():
    """The study's N = 1000 sets from the default source (computed once)."""
    return generate_pair_sets(1000, source="mnist5k", seed=0)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)
