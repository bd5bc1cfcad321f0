"""scripts.conditions: overrides of params.yaml, and data prepared apart when they change the draws."""

import copy

import pytest

from digitcmp import params as P
from digitcmp.data import load_prepared
from digitcmp.errors import UserError
from scripts import conditions
from tests.dvcproject import TINY, with_pairs


def test_overrides_set_dotted_keys_as_yaml_values():
    raw = copy.deepcopy(TINY)
    assert conditions.override(raw, "train.standardise=false") == ("train.standardise", False)
    assert conditions.override(raw, "lr=[1.0e-3, 1.0e-2]") == ("lr", [1e-3, 1e-2])
    params = P.validate(raw)
    assert params["train"]["standardise"] is False and params["lr"] == [1e-3, 1e-2]
    with pytest.raises(UserError, match="^override: 'train.standardise' is not allowed; allowed: KEY=VALUE"):
        conditions.override(raw, "train.standardise")


def test_other_draws_are_prepared_apart_and_reused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = P.validate(with_pairs(TINY, 10))
    where = conditions.prepared_dir(params)
    assert where == "data/conditions/mnist5k-seed0-n10-repeats2"
    prepared = load_prepared(where, {"n_pairs": 10, "repeats": 2})
    assert prepared.draws.shape == (3, 2, 20)
    assert conditions.prepared_dir(params) == where  # found, not made again
