"""The one set of value checks (digitcmp.training.checks): what each refuses, worked by hand,
and that every place that reads a number from a file refuses a bool (YAML's and JSON's
`true` is 1 to Python)."""

import math

import pytest

from digitcmp.training import augment, checks, registry
from digitcmp.training.schedule import OPTIONS as TRAINING

pytestmark = pytest.mark.fast  # the fast lane: `make test-fast`


@pytest.mark.parametrize("value, ok", [(0, True), (2.5, True), (-1e300, True), (True, False), (False, False),
                                       (math.nan, False), (math.inf, False), ("1", False), (None, False)])
def test_a_number_is_finite_and_not_a_bool(value, ok):
    assert checks.is_number(value) is ok


@pytest.mark.parametrize("value, ok", [(0, False), (0.5, True), (1, False), (1e-9, True), (0.999, True)])
def test_open_ends_exclude_the_end(value, ok):
    assert checks.number(0, 1, open_low=True, open_high=True)(value) is ok


@pytest.mark.parametrize("value, ok", [(0, True), (45, True), (45.001, False), (-0.001, False)])
def test_closed_ends_include_the_end(value, ok):
    assert checks.number(0, 45)(value) is ok


@pytest.mark.parametrize("value, ok", [(1, True), (1024, True), (1025, False), (0, False), (2.0, False), (True, False)])
def test_integer_ranges(value, ok):
    assert checks.integer(1, 1024)(value) is ok


@pytest.mark.parametrize("value, ok", [(0, True), (4, True), (8, True), (False, False), (4.0, False), (2, False)])
def test_a_choice_is_of_the_choices_type_too(value, ok):
    assert checks.one_of(0, 4, 8)(value) is ok


@pytest.mark.parametrize("kind, value, ok", [(int, 3, True), (int, True, False), ((int, float), math.nan, False),
                                             (list, [], True), (str, 3, False)])
def test_a_json_field_of_a_type(kind, value, ok):
    assert checks.is_a(value, kind) is ok


def every_option():
    for name in registry.NAMES:
        yield from ((f"{name}.{k}", rule) for k, rule in registry.options(name).items())
    yield from ((f"augment.{k}", rule) for k, rule in augment.OPTIONS.items())
    yield from ((f"train.{k}", rule) for k, rule in TRAINING.items())


@pytest.mark.parametrize("where, rule", list(every_option()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_option_takes_its_default_and_refuses_a_bool_unless_it_is_a_flag(where, rule):
    assert rule.check(rule.default), f"{where}: its default {rule.default!r} is refused"
    if not isinstance(rule.default, bool):
        assert not rule.check(True) and not rule.check(False), f"{where} takes a bool"
