"""Training-pair augmentation: labels stay right, and only training minibatches are touched."""

import torch

from digitcmp.training.augment import augment, warp
from digitcmp.training.train import TrainSpec, evaluate, normalise, train

ALL = {"swap": True, "rotate": 10.0, "shift": 1.0, "scale": 0.1, "elastic": 0.5}


def _marked_pairs(n: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    """n pairs whose images say which digit and which slot they are (a constant image)."""
    gen = torch.Generator().manual_seed(0)
    classes = torch.randint(10, (n, 2), generator=gen)
    classes[:20, 1] = classes[:20, 0]  # some equal digits
    x = (classes * 10 + torch.tensor([1, 2])).float()[:, :, None, None].expand(n, 2, 14, 14).clone()
    return x, classes


def test_swap_moves_images_with_their_classes_and_flips_the_target_unless_equal():
    x, classes = _marked_pairs()
    ax, target, aclasses = augment(x, classes, torch.Generator().manual_seed(1), 0.0, {"swap": True})
    swapped = ax[:, 0, 0, 0] % 10 == 2  # slot 2's image now first
    assert 0 < swapped.sum() < len(x)  # some pairs swapped, some not
    assert torch.equal(ax[:, :, 0, 0] // 10, aclasses.float())  # every image kept its class
    assert torch.equal(aclasses[swapped], classes[swapped].flip(1))
    assert torch.equal(aclasses[~swapped], classes[~swapped])
    before = (classes[:, 0] <= classes[:, 1]).long()
    assert torch.equal(target, (aclasses[:, 0] <= aclasses[:, 1]).long())
    equal = classes[:, 0] == classes[:, 1]
    assert torch.all(target[swapped & equal] == 1)  # equal digits: still "first <= second"
    assert torch.all(target[swapped & ~equal] == 1 - before[swapped & ~equal])  # otherwise flipped


def test_warps_keep_classes_and_background_and_are_seeded(pairs1000):
    x, _, classes = pairs1000.train_input[:50], None, pairs1000.train_classes[:50]
    settings = {k: v for k, v in ALL.items() if k != "swap"}
    a = augment(x, classes, torch.Generator().manual_seed(3), 0.0, settings)
    b = augment(x, classes, torch.Generator().manual_seed(3), 0.0, settings)
    c = augment(x, classes, torch.Generator().manual_seed(4), 0.0, settings)
    assert all(torch.equal(u, v) for u, v in zip(a, b))  # same seed, same batch
    assert not torch.equal(a[0], c[0])
    assert torch.equal(a[2], classes) and torch.equal(a[1], (classes[:, 0] <= classes[:, 1]).long())
    assert not torch.equal(a[0], x)
    assert a[0].min() >= -1e-3 and a[0].max() <= 255 + 1e-3  # bilinear: no new extremes
    blank = torch.full((4, 1, 14, 14), -0.42)  # background only: stays background
    assert torch.allclose(warp(blank, torch.Generator().manual_seed(5), -0.42, 10, 1, 0.1, 0.5), blank)


def test_no_amount_is_no_augmentation(pairs1000):
    x, target, classes = pairs1000.train_input[:10], pairs1000.train_target[:10], pairs1000.train_classes[:10]
    out = augment(x, classes, torch.Generator().manual_seed(0), 0.0, {"rotate": 0.0, "swap": False})
    assert torch.equal(out[0], x) and torch.equal(out[1], target)


def _spec(**augment_settings) -> TrainSpec:
    return TrainSpec(arch="probcmp_conv", hidden=8, lr=1e-3, lam=1.0, epochs=2, batch_size=50, seed=7,
                     options=(("width", 4),), augment=tuple(sorted(augment_settings.items())))


def _sets(pairs, n: int = 200):
    train_set = (pairs.train_input[:n], pairs.train_target[:n], pairs.train_classes[:n])
    test_set = (pairs.test_input[:n], pairs.test_target[:n], pairs.test_classes[:n])
    return train_set, test_set


def _weights(model) -> list[torch.Tensor]:
    return [t.detach().clone() for t in model.state_dict().values()]


def test_augmented_training_never_sees_the_scored_sets_and_scores_them_unaugmented(pairs1000):
    train_set, test_set = _sets(pairs1000)
    other = (test_set[0].flip(0), test_set[1].flip(0), test_set[2].flip(0))
    spec = _spec(**ALL)
    r1, m1 = train(spec, train_set, {"test": test_set})
    r2, m2 = train(spec, train_set, {"val": other, "test": test_set})
    # The weights depend on the training pairs alone: scored sets are never trained on.
    assert all(torch.equal(a, b) for a, b in zip(_weights(m1), _weights(m2)))
    # Scored as given (standardised only), not augmented: the reported accuracy is a plain evaluation.
    _, scaled, _ = normalise(train_set, {"test": test_set})
    assert r1.acc["test"] == r2.acc["test"] == evaluate(m1, scaled["test"])[0]


def test_augmentation_changes_training_and_is_bit_deterministic(pairs1000):
    train_set, test_set = _sets(pairs1000)
    _, plain = train(_spec(), train_set, {"test": test_set})
    _, off = train(_spec(rotate=0.0), train_set, {"test": test_set})
    _, once = train(_spec(**ALL), train_set, {"test": test_set})
    _, again = train(_spec(**ALL), train_set, {"test": test_set})
    assert all(torch.equal(a, b) for a, b in zip(_weights(plain), _weights(off)))
    assert all(torch.equal(a, b) for a, b in zip(_weights(once), _weights(again)))
    assert not all(torch.equal(a, b) for a, b in zip(_weights(plain), _weights(once)))


def test_raw_inputs_train_without_standardising(pairs1000):
    train_set, test_set = _sets(pairs1000)
    raw = TrainSpec(arch="mlp_sharing_aux", hidden=16, lr=1e-3, lam=0.5, epochs=3, batch_size=50, seed=1,
                    standardise=False)
    result, model = train(raw, train_set, {"test": test_set})
    assert result.acc["test"] == evaluate(model, test_set)[0]  # scored on the raw pixels
    _, standardised = train(TrainSpec(**{**raw.__dict__, "standardise": True}), train_set, {"test": test_set})
    assert not all(torch.equal(a, b) for a, b in zip(_weights(model), _weights(standardised)))
