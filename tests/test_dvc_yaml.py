"""dvc.yaml against the registry, read as plain YAML (no DVC CLI): the study's items are
the registry's sixteen, each declaring the one grid key beyond lr and hidden it reads."""

from pathlib import Path

import pytest
import yaml

from digitcmp.errors import UserError
from digitcmp.pipeline import outputs
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


def test_each_study_stage_writes_the_two_paths_its_command_gives_it():
    for group in ("study", "extra"):
        do = PIPELINE["stages"][group]["do"]
        assert do["cmd"].split()[-2:] == [next(iter(out)) for out in do["outs"]], group


def test_an_architectures_results_are_where_dvc_yaml_says():
    assert outputs("conv2_sharing_aux", ROOT) == ("study@conv2_sharing_aux", Path("metrics/search/conv2_sharing_aux.json"),
                                                  Path("metrics/runs/conv2_sharing_aux.json"))
    extra = next(iter(yaml.safe_load((ROOT / "params.yaml").read_text())["extras"]))
    assert outputs(extra, ROOT) == (f"extra@{extra}", Path(f"metrics/extras/search/{extra}.json"),
                                    Path(f"metrics/extras/runs/{extra}.json"))
    with pytest.raises(UserError, match=r"^nope: no stage of dvc\.yaml studies it; allowed: "):
        outputs("nope", ROOT)


def test_the_report_stage_declares_every_file_the_report_writes_and_nothing_else():
    from digitcmp_report.build import ACCURACY_DIR, OUTPUTS

    declared = {next(iter(out)) if isinstance(out, dict) else out for out in PIPELINE["stages"]["report"]["outs"]}
    assert declared == {*OUTPUTS, ACCURACY_DIR}
