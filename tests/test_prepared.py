"""The prepared data (`data/prepared`): written once, read back exactly, and anything
damaged, missing or made from other params is refused with its reason (fast; part of
`make mutants`' tests, since every training reads its pairs from here)."""

import hashlib
import json

import numpy as np
import pytest

from digitcmp.data import PREPARED_ARRAYS, check_prepared_for, load_prepared, prepare_arrays, save_prepared
from digitcmp.errors import UserError

pytestmark = pytest.mark.fast  # the fast lane: `make test-fast`

META = {"source": "mnist5k", "seed": 0, "n_pairs": 10, "repeats": 2}


@pytest.fixture(scope="module")
def arrays():
    return prepare_arrays("mnist5k", 0, 10, 2)


@pytest.fixture
def prepared(tmp_path, arrays):
    save_prepared(tmp_path / "p", arrays, META)
    return tmp_path / "p"


def refused(directory, expect=None) -> str:
    with pytest.raises(UserError) as err:
        load_prepared(directory, expect)
    assert str(err.value).startswith(f"{directory}")  # names the directory
    return str(err.value)


def manifest(directory):
    return json.loads((directory / "manifest.json").read_text())


def rewrite_manifest(directory, change):
    m = manifest(directory)
    change(m)
    (directory / "manifest.json").write_text(json.dumps(m))


def test_read_back_exactly_with_its_params_and_fingerprint(prepared, arrays, tmp_path):
    loaded = load_prepared(prepared, META)
    for name in PREPARED_ARRAYS[:4]:
        got = getattr(loaded.pools, name)
        assert got.dtype == arrays[name].dtype and np.array_equal(got, arrays[name])
    assert np.array_equal(loaded.draws, arrays["draws"]) and loaded.draws.dtype == np.int64
    assert loaded.params == META and loaded.n_pairs == 10
    save_prepared(tmp_path / "again", arrays, META)  # same arrays → same bytes → same fingerprint
    assert load_prepared(tmp_path / "again").fingerprint == loaded.fingerprint
    for name in PREPARED_ARRAYS:
        assert (tmp_path / "again" / f"{name}.npy").read_bytes() == (prepared / f"{name}.npy").read_bytes()
    assert manifest(prepared)["files"]["draws"]["shape"] == [3, 2, 20]
    assert loaded.fingerprint == hashlib.sha256((prepared / "manifest.json").read_bytes()).hexdigest()


def test_other_params_are_refused_and_the_same_pass(prepared, arrays, monkeypatch):
    assert load_prepared(prepared, {"n_pairs": 10, "repeats": 2}).params == META
    assert "prepared with n_pairs=10 but params say 11" in refused(prepared, {"n_pairs": 11})
    assert "prepared with seed=0 but params say 1" in refused(prepared, {"seed": 1})
    params = {"data": {"source": "mnist5k", "seed": 0, "n_pairs": 10}, "train": {"repeats": 2}}
    check_prepared_for(params, prepared)
    monkeypatch.chdir(prepared.parent)  # the stages' default: data/prepared of the project
    save_prepared("data/prepared", arrays, META)
    check_prepared_for(params)
    with pytest.raises(UserError, match="repeats=2 but params say 3"):
        check_prepared_for({**params, "train": {"repeats": 3}}, prepared)


@pytest.mark.parametrize("name", PREPARED_ARRAYS)
def test_a_missing_or_edited_array_is_named(prepared, name):
    path = prepared / f"{name}.npy"
    blob = path.read_bytes()
    path.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    assert f"{name}.npy does not match its hash" in refused(prepared)
    path.unlink()
    assert f"{name}.npy is missing" in refused(prepared)


def test_a_missing_unreadable_or_malformed_manifest_is_named(prepared):
    m = prepared / "manifest.json"
    text = m.read_text()
    m.write_text(text[:-10])
    assert refused(prepared) == f"{prepared}: manifest.json is unreadable (not JSON); rerun `dvc repro -f prepare`"
    m.write_text("[]")
    assert "lacks its 'files' and 'params'" in refused(prepared)
    m.write_text(text)
    rewrite_manifest(prepared, lambda d: d["files"].pop("draws"))
    assert "no valid entry for draws.npy" in refused(prepared)
    m.unlink()
    assert refused(prepared) == f"{prepared}: manifest.json is missing; rerun `dvc repro -f prepare`"


def test_shape_dtype_and_file_kind_are_checked_beyond_the_hash(prepared):
    def shape(d):
        d["files"]["train_labels"]["shape"] = [1]
    rewrite_manifest(prepared, shape)
    assert "train_labels.npy has shape" in refused(prepared)


def test_a_dtype_unlike_the_manifest_is_named(prepared):
    def dtype(d):
        d["files"]["draws"]["dtype"] = "int32"
    rewrite_manifest(prepared, dtype)
    assert "draws.npy has shape [3, 2, 20] int64, expected [3, 2, 20] int32" in refused(prepared)


def test_a_file_that_is_not_an_array_is_named(prepared):
    blob = b"not an array"
    (prepared / "test_labels.npy").write_bytes(blob)

    def sha(d):
        d["files"]["test_labels"]["sha256"] = hashlib.sha256(blob).hexdigest()
    rewrite_manifest(prepared, sha)
    assert "test_labels.npy is not a numpy array file" in refused(prepared)


def test_full_mnist_is_prepared_from_its_idx_files(tmp_path):
    from tests.test_data import _fake_mnist
    _fake_mnist(tmp_path / "mnist")
    arrays = prepare_arrays("mnist", 0, 10, 2, tmp_path / "mnist")
    assert arrays["train_images"].shape == (40, 14, 14) and arrays["test_images"].shape == (30, 14, 14)
    assert arrays["draws"].shape == (3, 2, 20)


def test_arrays_that_disagree_with_the_manifests_params_are_named(prepared):
    def more_pairs(d):
        d["params"]["n_pairs"] = 11  # the draws hold 10 pairs' indices
    rewrite_manifest(prepared, more_pairs)
    message = refused(prepared)
    assert message.startswith(f"{prepared}: draws.npy") and message.endswith("rerun `dvc repro -f prepare`")
