"""How results.md writes a number: one formatter each for a p-value, an accuracy with its
spread and a table cell, and one Markdown table, so that every section reads alike."""

import math
from collections.abc import Sequence
from typing import Any

DASH = "—"  # what a missing or undefined number reads as


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def p_value(p: float | None) -> str:
    """4 decimals, or 2 significant digits below 0.0001: a number, never rounded to 0."""
    if missing(p):
        return DASH
    return f"{p:.1e}" if p < 1e-4 else f"{p:.4f}"


def accuracy(mean: float, std: float | None = None) -> str:
    """mean ± std, 4 decimals (the std left out where it is undefined)."""
    if missing(mean):
        return DASH
    return f"{mean:.4f}" if missing(std) else f"{mean:.4f} ± {std:.4f}"


def cell(value: Any, spec: str = "g") -> str:
    return DASH if missing(value) else format(value, spec)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A Markdown table; `align` one letter per column, l or r (default: the first left, the rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
