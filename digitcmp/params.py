"""params.yaml, validated once at the edge.

`load()` reads the file with the same YAML 1.2 reader DVC uses (so `-S lr=1e-3` means
what DVC wrote), checks every key against `SCHEMA` and returns plain dicts. Any
mistake is a `UserError` whose one line names the key, the value and what is allowed.

The grid axes `lr`, `hidden` and `lambda` are top-level so that `dvc exp run -S`
reaches them directly; each takes a list or a single value (a single value pins the
axis). They come back as lists.
"""

import difflib
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from digitcmp.training import augment, registry
from digitcmp.training.checks import Rule, boolean, integer, is_number, number, one_of
from digitcmp.training.schedule import OPTIONS as TRAINING
from digitcmp.data import SOURCES, check_n_pairs
from digitcmp.errors import UserError
from digitcmp.files import read_regular, unreadable
from digitcmp.training.precision import PRECISIONS

BACKENDS = ("fork", "spawn", "dask")  # how digitcmp.engine starts its workers


SCHEMA: dict[str, Any] = {
    "lr": Rule(number(0, open_low=True), "a number > 0", axis=True, cast=float),
    "hidden": Rule(integer(1), "an integer >= 1", axis=True),
    "lambda": Rule(number(0), "a number >= 0", axis=True, cast=float),
    "data": {
        "source": Rule(one_of(*SOURCES), " or ".join(SOURCES)),
        "root": Rule(lambda v: isinstance(v, str) and v != "", "a directory path", default="data/mnist"),
        "download": Rule(boolean, "true or false", default=False),
        "n_pairs": Rule(integer(1), "an integer >= 1"),
        "seed": Rule(integer(0), "an integer >= 0"),
    },
    "train": {
        "epochs": Rule(integer(1), "an integer >= 1"),
        "batch_size": Rule(integer(1), "an integer >= 1"),
        "val_fraction": Rule(number(0, 1, open_low=True, open_high=True), "a number strictly between 0 and 1"),
        "repeats": Rule(integer(2), "an integer >= 2 (a standard deviation needs two runs)"),
        "curve_epochs": Rule(integer(1), "an integer >= 1", default=50),
        "workers": Rule(lambda v: v == "auto" or integer(1)(v), "'auto' (one per core) or an integer >= 1",
                        default="auto"),
        "backend": Rule(one_of(*BACKENDS), ", ".join(BACKENDS), default="fork"),
        "precision": Rule(one_of(*PRECISIONS), ", ".join(PRECISIONS), default="fp32"),
        "standardise": Rule(boolean, "true or false", default=True),
        "device": Rule(lambda v: isinstance(v, str) and re.fullmatch(r"cpu|cuda(:[0-9]+)?", v) is not None,
                       "'cpu' or 'cuda' (or 'cuda:N')", default="cpu"),
    },
}


def _unknown(key: str, known: list[str]) -> UserError:
    close = difflib.get_close_matches(key.rsplit(".", 1)[-1], [k.rsplit(".", 1)[-1] for k in known], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return UserError(f"{visible(key)}: unknown key{hint}; allowed: {', '.join(known)}")


def visible(key: str) -> str:
    """`key` as typed, or quoted with escapes where it holds a character that does not show
    (a zero-width space, a control character, spaces at either end)."""
    return key if key.isprintable() and key == key.strip() else ascii(key)


def _check(key: str, value: Any, rule: Rule) -> Any:
    values = value if rule.axis and isinstance(value, list) else [value]
    if rule.axis and isinstance(value, list) and not value:
        raise UserError(f"{key}: an empty list is not allowed; allowed: {rule.allowed}, or a list of them")
    for v in values:
        if not rule.check(v):
            what = f"{rule.allowed}, or a list of them" if rule.axis else rule.allowed
            shown = f"{v!r} in {value!r}" if isinstance(value, list) else repr(v)
            raise UserError(f"{key}: {shown} is not allowed; allowed: {what}")
    return _distinct(key, [rule.cast(v) for v in values]) if rule.axis else value


def _distinct(key: str, values: list) -> list:
    """A grid axis lists each value once: a repeated value would be trained twice and
    counted as two points. Compared after casting, so 0.001 and 1.0e-3 are one value."""
    seen = [v for i, v in enumerate(values) if v in values[:i]]
    if seen:
        raise UserError(f"{key}: {values!r} repeats {seen[0]!r}; allowed: distinct values")
    return values


def _validate(raw: Any, schema: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise UserError(f"{prefix.rstrip('.') or 'params'}: {raw!r} is not allowed; allowed: a mapping of keys")
    known = [prefix + k for k in schema] + (["extras"] if not prefix else [])
    for key in raw:
        if key not in schema:
            raise _unknown(prefix + str(key), known)
    out = {}
    for key, rule in schema.items():
        name = prefix + key
        if isinstance(rule, dict):
            out[key] = _validate(raw.get(key, {}), rule, name + ".")
        elif key in raw:
            out[key] = _check(name, raw[key], rule)
        elif rule.default is not None:
            out[key] = rule.default
        else:
            raise UserError(f"{name}: missing; allowed: {rule.allowed}")
    return out


def _like(default: Any, value: Any) -> Any:
    """`value` in the type of the option's default: dropout 0 and 0.0 are one value, with
    one seed and one cache key."""
    return float(value) if isinstance(default, float) and is_number(value) else value


# How an extra trains, where it differs from the study (digitcmp.search.RECIPE): its own
# batch size, the options of digitcmp.training.train, and the train pairs its retrainings fit
# (at most data.n_pairs, checked in `validate`).
RECIPE = {
    "batch_size": Rule(integer(1), "an integer >= 1"),
    **TRAINING,
    "fit_pairs": Rule(integer(1), "an integer from 1 to data.n_pairs"),
}


def _validate_extras(raw: Any) -> dict[str, dict[str, list]]:
    """`extras:` maps each extra architecture to its grid: the axes lr, hidden, lambda
    (rules as above; lambda only where it applies), any of its options
    (digitcmp.training.registry.options), of the training pairs' augmentation
    (digitcmp.training.augment.OPTIONS) and of how it trains (RECIPE), each a list or a single value."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"extras: {raw!r} is not allowed; allowed: a mapping of extra architectures")
    out = {}
    for name, axes in raw.items():
        if name not in registry.EXTRAS:
            raise _unknown(f"extras.{name}", [f"extras.{n}" for n in registry.EXTRAS])
        prefix = f"extras.{name}."
        if not isinstance(axes, dict):
            raise UserError(f"{prefix.rstrip('.')}: {axes!r} is not allowed; allowed: a mapping of grid axes")
        grid_axes = ("lr", "hidden", "lambda") if registry.uses_lambda(name) else ("lr", "hidden")
        options = {**registry.options(name), **augment.OPTIONS, **RECIPE}
        known = [*grid_axes, *options]
        for key in axes:
            if key not in known:
                raise _unknown(prefix + str(key), [prefix + k for k in known])
        grid = {}
        for key in grid_axes:
            if key not in axes:
                raise UserError(f"{prefix}{key}: missing; allowed: {SCHEMA[key].allowed}, or a list of them")
            grid[key] = _check(prefix + key, axes[key], SCHEMA[key])
        for key, option in options.items():
            if key in axes:
                values = axes[key] if isinstance(axes[key], list) and axes[key] else [axes[key]]
                for value in values:
                    if not option.check(value):
                        raise UserError(f"{prefix}{key}: {value!r} is not allowed; allowed: {option.allowed}")
                grid[key] = _distinct(prefix + key, [_like(option.default, v) for v in values])
        out[name] = grid
    return out


def validate(raw: Any) -> dict[str, Any]:
    """Check every key of a parsed params.yaml; return it with defaults filled in."""
    raw = dict(raw) if isinstance(raw, dict) else raw
    extra_grids = _validate_extras(raw.pop("extras", None)) if isinstance(raw, dict) else {}
    params = _validate(raw, SCHEMA)
    params["extras"] = extra_grids
    data = params["data"]
    check_n_pairs(data["n_pairs"], data["source"], params["train"]["val_fraction"])
    for name, grid in extra_grids.items():
        too_many = [v for v in grid.get("fit_pairs", []) if v > data["n_pairs"]]
        if too_many:
            raise UserError(f"extras.{name}.fit_pairs: {too_many[0]!r} is not allowed; allowed: an integer from 1 "
                            f"to data.n_pairs ({data['n_pairs']})")
    return params


PARAMS_LIMIT = 2**20  # bytes: params.yaml is about 6 kB


def read(path: str | Path = "params.yaml") -> Any:
    """A params file as parsed YAML, not yet validated."""
    path = Path(path)
    try:
        text = read_regular(path, PARAMS_LIMIT).decode()
    except FileNotFoundError:
        raise UserError(f"{path}: not found; run from the project root (where params.yaml is)") from None
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: unreadable ({unreadable(err, 'not UTF-8 text')}); allowed: a YAML file "
                        f"laid out as the committed params.yaml") from None
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as err:
        first = str(err).strip().splitlines()[0]
        raise UserError(f"{path}: not valid YAML ({first}); allowed: the layout of the committed params.yaml")


def load(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read and validate a params file."""
    return validate(read(path))


def require_extra(arch: str, params: dict) -> None:
    """An extra architecture can only be trained with its grid in `extras:`."""
    if arch in registry.EXTRAS and arch not in params["extras"]:
        raise UserError(f"extras.{arch}: missing; allowed: a mapping of its grid axes (see params.yaml)")
