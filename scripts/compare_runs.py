"""Did a change move the results? metrics/runs of two git revisions, paired by draw.

    .venv/bin/python -m scripts.compare_runs BASELINE [CANDIDATE]

BASELINE and CANDIDATE are git revisions; without CANDIDATE, the workspace's
metrics/runs. Retraining k of an architecture sees the same train and test draw in
both (same data params), so the paired t-test over draws shows shifts far smaller
than the runs' spread: per architecture the two means, the mean difference with its
95% CI and p, whether the grid search picked the same winner; then all pairs together.
"""

import json
import subprocess
from pathlib import Path

from digitcmp.errors import UserError
from digitcmp.training.registry import NAMES
from digitcmp.stage import results_path, run_stage
from digitcmp_report.stats import paired_change, paired_change_text


def commit_of(revision: str) -> str:
    """The commit `revision` names, never read as an option of git (e.g. '--output=FILE')."""
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        raise UserError(f"{revision}: not a git revision here; allowed: a commit, branch or tag")
    return found.stdout.strip()


def runs_at(revision: str | None) -> dict[str, dict]:
    """Each architecture's runs JSON at a git revision (None: the workspace), those that exist."""
    runs = {}
    commit = commit_of(revision) if revision is not None else None
    for arch in NAMES:
        path = results_path("runs", arch).as_posix()
        if revision is None:
            if Path(path).is_file():
                runs[arch] = json.loads(Path(path).read_text())
            continue
        shown = subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, text=True)
        if shown.returncode == 0:
            runs[arch] = json.loads(shown.stdout)
    return runs


def main(argv: list[str]) -> None:
    if len(argv) not in (1, 2):
        raise UserError("usage: compare_runs.py BASELINE [CANDIDATE]; allowed: one or two git revisions")
    before, after = runs_at(argv[0]), runs_at(argv[1] if len(argv) == 2 else None)
    table = paired_change(before, after)
    if not table:
        raise UserError(f"no architecture has metrics/runs in both {argv[0]} and the candidate")
    print(paired_change_text(table))


if __name__ == "__main__":
    run_stage(main)
