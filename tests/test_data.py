import struct

import numpy as np
import pytest
import torch

from digitcmp import mnist
from digitcmp.data import generate_pair_sets, load_pools, max_pairs
from digitcmp.errors import UserError


def test_shapes_and_dtypes(pairs1000):
    shapes = [(1000, 2, 14, 14), (1000,), (1000, 2)] * 2
    dtypes = [torch.float32, torch.int64, torch.int64] * 2
    assert [tuple(t.shape) for t in pairs1000] == shapes
    assert [t.dtype for t in pairs1000] == dtypes


def test_targets_agree_with_classes_and_scale(pairs1000):
    for x, target, classes in (pairs1000[:3], pairs1000[3:]):
        assert torch.equal(target, (classes[:, 0] <= classes[:, 1]).long())
        assert 0 <= x.min() and x.max() <= 255 and x.max() > 200  # raw 0–255 scale
        assert set(classes.unique().tolist()) == set(range(10))


def test_seeded():
    a, b = generate_pair_sets(50, seed=1), generate_pair_sets(50, seed=1)
    c = generate_pair_sets(50, seed=2)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_n_too_large_names_the_maximum():
    with pytest.raises(UserError, match="allowed: 2 to 1250"):
        generate_pair_sets(max_pairs("mnist5k") + 1)


def _write_idx(path, array):
    """Write an uncompressed IDX file (the format torchvision's MNIST reader parses)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _fake_mnist(root, n_train=40, n_test=30):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return raw


def test_mnist_source_reads_idx_files(tmp_path):
    raw = _fake_mnist(tmp_path)
    pools = load_pools("mnist", root=tmp_path)
    assert pools.train_images.shape == (40, 14, 14) and pools.test_images.shape == (30, 14, 14)
    assert pools.train_labels.tolist() == [i % 10 for i in range(40)]
    # 2×2 average pooling of the raw pixels, on the 0–255 scale
    first = np.frombuffer((raw / "train-images-idx3-ubyte").read_bytes()[16:16 + 784], np.uint8)
    expected = first.reshape(14, 2, 14, 2).astype(np.float32).mean(axis=(1, 3))
    np.testing.assert_array_equal(pools.train_images[0], expected)


def test_mnist_source_missing_files_is_one_clear_line(tmp_path):
    with pytest.raises(UserError) as err:
        load_pools("mnist", root=tmp_path)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "MNIST" / "raw") in message
    assert all(name in message for name in mnist.NAMES)
    assert message.endswith("or set data.download: true")  # refused, not downloaded


def test_unknown_source():
    with pytest.raises(UserError, match="allowed: mnist5k, mnist"):
        load_pools("fashion")
