"""How the tuned network's levers were chosen: the validation-only trials of
`experiments/trials.json` (written by `python -m scripts.trials`), as one table.

Every trial fits 700 and scores the other 300 train pairs of retraining draws, never a
test pair, so the section shows the evidence the grids were chosen on without touching
the test accuracies reported elsewhere.
"""

from collections.abc import Mapping

TRIALS_FILE = "experiments/trials.json"
TRIALS_COMMAND = "python -m scripts.trials"
MIN_DRAWS = 8  # the trials the grids were chosen on; shorter ones were first looks
COLUMNS = (("val_acc", "comparison"), ("val_digit_acc", "digits"), ("val_acc_tta4", "comparison, tta 4"),
           ("val_digit_acc_tta4", "digits, tta 4"), ("val_acc_tta8", "comparison, tta 8"))


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _changes(point: Mapping, base: Mapping) -> str:
    changed = [f"{k} {_value(v)}" for k, v in point.items() if base.get(k) != v]
    return ", ".join(changed) or "none"


def trials_markdown(trials: Mapping[str, Mapping] | None, runs: Mapping[str, dict]) -> str:
    """The section (empty without trials): one row per trial of MIN_DRAWS draws or more,
    the keys it changes from its base architecture's winner (`runs`), and its mean
    validation accuracies, lowest first."""
    rows = {name: t for name, t in (trials or {}).items() if isinstance(t, Mapping)
            and len(t.get("draws", ())) >= MIN_DRAWS and t.get("arch") in runs
            and isinstance(t.get("point"), Mapping) and isinstance(t.get("mean"), Mapping)}
    if not rows:
        return ""
    bases = sorted({t["arch"] for t in rows.values()})
    lines = [
        "## How the tuned network was chosen",
        "",
        f"Validation-only trials (`{TRIALS_COMMAND}`, `{TRIALS_FILE}`): each fits the first 700 of the 1,000 "
        f"train pairs of retraining draws 1–{MIN_DRAWS} and scores the other 300, never a test pair; initial "
        "weights and batch order come from the draw alone, so the trials are paired. Means over the draws. "
        "\"tta 4\", \"tta 8\": the same trained network reading each digit with test-time augmentation (its "
        "four or eight one-pixel moves); — where a trial did not measure it.",
        "",
        f"| Trial | Changed from {', '.join(bases)}'s winner | " + " | ".join(c for _, c in COLUMNS) + " |",
        "| :--- | :--- | " + " | ".join("---:" for _ in COLUMNS) + " |",
    ]
    for name, t in sorted(rows.items(), key=lambda item: item[1]["mean"].get("val_acc", 0)):
        cells = [f"{t['mean'][k]:.4f}" if isinstance(t["mean"].get(k), (int, float)) else "—" for k, _ in COLUMNS]
        lines.append(f"| {name} | {_changes(t['point'], runs[t['arch']])} | " + " | ".join(cells) + " |")
    return "\n".join(lines + [""])
