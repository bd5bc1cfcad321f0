"""The learning curve (Figure 2) in DVCLive's layout, what DVC's views and the VS Code
extension read as per-step metrics: `dvclive/metrics.json` (the last epoch's accuracies
and its `step`) and `dvclive/plots/metrics/<name>.tsv` (`step` = epoch, then the value).

DVCLive writes the files, one `next_step` per epoch, into a temporary directory; the
curve stage then writes them with its other output (`digitcmp.files.write_all`), so an
interrupted stage leaves no half-written curve. No timestamps (DVCLive's default), no
dvc.yaml edits, no experiment of its own, no Studio: the files are the same bytes on
every rerun. The report reads them back here (`curve_csv`).
"""

import contextlib
import tempfile
from pathlib import Path

from digitcmp.errors import UserError
from digitcmp.files import csv_text

LIVE_DIR = "dvclive"
NAMES = ("train_acc", "val_acc")


def tsv_path(name: str, root: str | Path = LIVE_DIR) -> Path:
    return Path(root) / "plots" / "metrics" / f"{name}.tsv"


def live_files(history: list[dict]) -> dict[str, bytes]:
    """Every file DVCLive writes for `history` (rows of epoch, train_acc, val_acc), by path."""
    from dvclive import Live  # lazily: it imports DVC

    with tempfile.TemporaryDirectory(prefix="dvclive.") as tmp, contextlib.chdir(tmp):
        # Started outside the repository, DVCLive skips its git and DVC look-ups: no experiment
        # of its own is wanted, and in a repository with no commit yet they fail.
        with Live(tmp, dvcyaml=None, save_dvc_exp=False, report=None) as live:
            for row in history:
                assert live.step == row["epoch"], "the history's epochs are 0, 1, 2, ..."
                for name in NAMES:
                    live.log_metric(name, row[name])
                live.next_step()
        return {f"{LIVE_DIR}/{p.relative_to(tmp).as_posix()}": p.read_bytes()
                for p in sorted(Path(tmp).rglob("*")) if p.is_file()}


def _column(name: str, root: str | Path) -> list[tuple[int, str]]:
    path = tsv_path(name, root)
    remedy = "run `dvc repro curve`"
    try:
        header, *lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise UserError(f"{path}: missing; {remedy}") from None
    except (OSError, ValueError):
        raise UserError(f"{path}: unreadable; {remedy}") from None
    rows = [line.split("\t") for line in lines]
    if header.split("\t") != ["step", name] or any(len(r) != 2 or not r[0].isdigit() for r in rows):
        raise UserError(f"{path}: not DVCLive's step<TAB>{name} table; {remedy}")
    return [(int(step), value) for step, value in rows]


def curve_csv(root: str | Path = LIVE_DIR) -> str:
    """The curve as CSV text, columns epoch, train_acc, val_acc (what the report's figure reads)."""
    columns = [_column(name, root) for name in NAMES]
    steps = [[step for step, _ in c] for c in columns]
    if any(s != list(range(len(s))) for s in steps) or len({len(s) for s in steps}) != 1:
        raise UserError(f"{Path(root)}: {', '.join(NAMES)} do not hold the same epochs 0, 1, 2, ...; "
                        f"run `dvc repro curve`")
    return csv_text(["epoch", *NAMES], [[step, *(c[step][1] for c in columns)] for step in steps[0]])
