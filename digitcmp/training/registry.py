"""Every architecture by name: the study's sixteen (`digitcmp.training.models`) and the extras
(one module each in `digitcmp.training.extras`, found by listing that package).

Each module registers its architectures in a module-level `REGISTER` (name → Entry:
builder, family, options). What an architecture is beyond that, whether one branch
serves both digits, whether it has digit heads (and so whether λ applies), whether it
convolves, is read off a built model (`facts`), never listed by hand.
"""

import functools
import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from digitcmp.training import augment, extras, models
from digitcmp.errors import UserError
from digitcmp.training.checks import Rule, integer
from digitcmp.training.models import Entry


GRID_AXES = ("lr", "hidden", "lambda")  # every architecture's grid axes, beside its options


def check_entry(name: str, entry: Entry, where: str) -> None:
    """An option may not take the name of a grid axis or of an augmentation option: a grid
    point's keys are one namespace, and the key would silently set both."""
    taken = [key for key in entry.options if key in GRID_AXES or key in augment.OPTIONS]
    if taken:
        raise UserError(f"{where}: {name}'s option {taken[0]!r} is taken; allowed: a name other than the grid "
                        f"axes ({', '.join(GRID_AXES)}) and augmentation's options ({', '.join(augment.OPTIONS)})")


def _collect() -> tuple[dict[str, Entry], dict[str, Path]]:
    """Every module's REGISTER, and the file each name comes from."""
    found, sources = dict(models.REGISTER), dict.fromkeys(models.REGISTER, Path(models.__file__))
    for info in sorted(pkgutil.iter_modules(extras.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{extras.__name__}.{info.name}")
        for name, entry in getattr(module, "REGISTER", {}).items():
            if name in found:
                raise ValueError(f"{name}: registered twice (again in {module.__name__})")
            check_entry(name, entry, module.__file__)
            found[name], sources[name] = entry, Path(module.__file__)
    return found, sources


ENTRIES, SOURCES = _collect()  # SOURCES: name → the module that registers it
STUDY = models.ARCHITECTURES  # Table 2's sixteen, in its order
EXTRAS = tuple(name for name in ENTRIES if name not in STUDY)  # beyond the study, by module name
NAMES = STUDY + EXTRAS


@dataclass(frozen=True)
class Facts:
    family: str
    sharing: bool  # one branch (and digit head) serves both digits
    aux: bool  # digit heads, so the loss main + λ·(aux₁ + aux₂) applies
    convolutional: bool  # has a Conv2d (where bf16 can pay off, see digitcmp.training.precision)


def entry(name: str) -> Entry:
    if name not in ENTRIES:
        raise UserError(f"architecture: {name!r} is not allowed; allowed: {', '.join(NAMES)}")
    return ENTRIES[name]


def options(name: str) -> dict[str, Rule]:
    """The options `name` takes (option → its Rule); the study's sixteen take none."""
    return dict(entry(name).options)


def check_options(name: str, given: dict) -> dict:
    """`given` completed with defaults; an unknown key or bad value is a one-line UserError."""
    allowed = options(name)
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        what = ", ".join(allowed) or "none (options are for the extras)"
        raise UserError(f"{name}: unknown option {unknown[0]!r}; allowed: {what}")
    for key, value in given.items():
        if not allowed[key].check(value):
            raise UserError(f"{name}: {key} {value!r} is not allowed; allowed: {allowed[key].allowed}")
    return {key: given.get(key, option.default) for key, option in allowed.items()}


def build(name: str, hidden: int, **given) -> nn.Module:
    """The architecture `name` with `hidden` units and options `given`; weights from torch's
    global RNG (callers seed it, see `digitcmp.training.train`)."""
    if not integer(1)(hidden):
        raise UserError(f"hidden: {hidden!r} is not allowed; allowed: an integer >= 1")
    found = entry(name)
    return found.build(hidden, **check_options(name, given))


@functools.cache
def facts(name: str) -> Facts:
    """What `name` is, read off a small built model (global RNG state left alone)."""
    with torch.random.fork_rng(devices=[]):
        model = build(name, 8)
    return Facts(entry(name).family, bool(model.sharing), bool(model.aux),
                 any(isinstance(m, nn.Conv2d) for m in model.modules()))


def uses_lambda(name: str) -> bool:
    """Whether λ (the aux-loss weight) applies to `name`: it has digit heads. The one place
    this is decided: the grid's λ axis, the loss and the reported digit accuracy follow it."""
    return facts(name).aux
