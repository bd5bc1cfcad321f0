import pytest
import torch

from digitcmp.training.train import TrainSpec, init_model, train
from tests.protocol_data import small

pytestmark = pytest.mark.fast  # the fast lane: `make test-fast`


def test_same_seed_gives_bit_identical_weights(pairs1000):
    tr, te = small(pairs1000, 200)
    spec = TrainSpec("conv1_sharing_aux", 50, 1e-3, 0.5, 2, 100, seed=7)
    _, a = train(spec, tr, {"test": te})
    _, b = train(spec, tr, {"test": te})
    _, c = train(TrainSpec(**{**spec.__dict__, "seed": 8}), tr, {"test": te})
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_init_does_not_touch_global_rng():
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    init_model(TrainSpec("mlp_sharing_aux", 50, 1e-3, 0.5, 1, 100, seed=1))
    assert torch.equal(torch.rand(1), expected)


def test_nan_run_is_reported_as_diverged(pairs1000):
    tr, te = small(pairs1000, 200)
    poisoned = (tr[0].clone(), tr[1], tr[2])
    poisoned[0][5, 0, 3, 3] = float("inf")  # the first batch containing it gives a NaN loss
    result, _ = train(TrainSpec("shallow_sharing_noaux", 50, 1e-3, 0.0, 3, 100, 0), poisoned, {"test": te})
    assert result.diverged and result.epochs_run == 0
    assert 0.0 <= result.acc["test"] <= 1.0


def test_track_epochs_records_epoch_zero_to_last(pairs1000):
    tr, te = small(pairs1000, 200)
    result, _ = train(TrainSpec("shallow_sharing_aux", 50, 1e-3, 0.5, 3, 100, 0), tr, {"val": te}, track_epochs=True)
    assert [row["epoch"] for row in result.history] == [0, 1, 2, 3]
    assert set(result.history[0]) == {"epoch", "train_acc", "val_acc"}


def test_it_learns_like_the_study(pairs1000):
    """The study's best model and hyperparameters, its protocol, on mnist5k."""
    spec = TrainSpec("conv2_sharing_aux", 100, 1e-3, 0.5, 25, 100, seed=0)
    result, _ = train(spec, pairs1000[:3], {"test": pairs1000[3:]})
    assert not result.diverged
    assert result.acc["test"] >= 0.80, result.acc
    assert result.digit_acc["test"] >= 0.85
