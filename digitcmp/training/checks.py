"""One set of checks for a value read from a file (params.yaml, an architecture's options,
a training-cache entry, the prepared data's manifest), and `Rule`: a check with the words
that a one-line error gives for what is allowed.

YAML and JSON booleans are ints to Python (`True == 1`), so no number check here takes a
bool; nor nan or ±inf. Inside digitcmp.training because the architectures' options use
it (the training code imports nothing from outside its package); it decides no result.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Check = Callable[[Any], bool]


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """A finite int or float, not a bool."""
    return (is_int(v) or isinstance(v, float)) and math.isfinite(v)


def is_a(v: Any, kind: type | tuple[type, ...]) -> bool:
    """An instance of `kind` that is not a bool and not nan (a JSON field of that type)."""
    return isinstance(v, kind) and not isinstance(v, bool) and not (isinstance(v, float) and v != v)


def boolean(v: Any) -> bool:
    return isinstance(v, bool)


def number(low: float = -math.inf, high: float = math.inf, *, open_low: bool = False,
           open_high: bool = False) -> Check:
    """A number from `low` to `high`, an end excluded where it is open."""
    def check(v: Any) -> bool:
        return is_number(v) and (v > low if open_low else v >= low) and (v < high if open_high else v <= high)
    return check


def integer(low: int, high: float = math.inf) -> Check:
    """An integer from `low` to `high`."""
    return lambda v: is_int(v) and low <= v <= high


def one_of(*choices: Any) -> Check:
    """One of `choices`, of its type too (so false is not 0, and 4.0 is not 4)."""
    return lambda v: any(type(v) is type(c) and v == c for c in choices)


@dataclass(frozen=True)
class Rule:
    """A value's check and what it allows, in words. In params.yaml `default` None means the
    key is required; an architecture's option takes its `default` where a grid leaves it out."""

    check: Check
    allowed: str
    default: Any = None
    axis: bool = False  # params.yaml: a list of values or a single one
    cast: Callable[[Any], Any] = lambda v: v  # params.yaml: applied to each valid value of an axis
