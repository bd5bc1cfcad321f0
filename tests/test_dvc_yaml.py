"""dvc.yaml against the registry, read as plain YAML (no DVC CLI): the study's items are
the registry's sixteen, each declaring the one grid key beyond lr and hidden it reads."""

import pytest
import yaml

from digitcmp.training import registry
from tests.dvcproject import ROOT

pytestmark = pytest.mark.fast  # the fast lane: `make test-fast`

PIPELINE = yaml.safe_load((ROOT / "dvc.yaml").read_text())


def test_the_study_items_are_the_registrys_sixteen_in_table_2s_order():
    assert list(PIPELINE["stages"]["study"]["foreach"]) == list(registry.STUDY)
    assert len(registry.STUDY) == 16


def test_each_study_item_declares_lambda_exactly_where_the_architecture_has_digit_heads():
    for arch, item in PIPELINE["stages"]["study"]["foreach"].items():
        assert item == ("lambda" if registry.uses_lambda(arch) else "hidden"), arch
    assert sum(registry.uses_lambda(a) for a in registry.STUDY) == 8  # the study's eight _aux


def test_the_extras_stage_is_the_params_extras_mapping():
    assert PIPELINE["stages"]["extra"]["foreach"] == "${extras}"


def test_dvc_yaml_stays_short():
    assert len((ROOT / "dvc.yaml").read_text().splitlines()) <= 200
