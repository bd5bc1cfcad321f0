"""Did a change move the results? metrics/runs of two revisions, paired by draw.

    .venv/bin/python -m scripts.compare_runs BASELINE [CANDIDATE]

BASELINE and CANDIDATE are git revisions or DVC experiment names (`dvc exp list`),
e.g. `compare_runs HEAD my-exp`; without CANDIDATE, the workspace's metrics/runs.
Retraining k of an architecture sees the same train and test draw in both (same data
params), so the paired t-test over draws shows shifts far smaller than the runs'
spread: per architecture whose runs changed, the two means, the mean difference with
its 95% CI and p, whether the grid search picked the same winner; one line names the
architectures whose every run is identical; then all pairs together.
"""

import json
import os
import subprocess

from digitcmp.errors import UserError
from digitcmp.files import check_output, read_output
from digitcmp.stage import run_stage
from digitcmp.pipeline import outputs, studied

RUNS = {"test_acc": list}  # what the paired comparison reads of each runs file (and lr, hidden, lambda if there)
from digitcmp_report.stats import paired_change, paired_change_text


def experiment_commit(name: str) -> str | None:
    """The commit of the DVC experiment `name`: DVC keeps each as the git ref
    refs/exps/<baseline's first 2 hex>/<the other 38>/<name>."""
    listed = subprocess.run(["git", "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/"],
                            capture_output=True, text=True).stdout.split("\n")
    found = {ref: commit for ref, commit in (line.split() for line in listed if line)
             if ref.count("/") == 4 and ref.rsplit("/", 1)[1] == name}
    if len(found) > 1:
        bases = ", ".join(sorted("".join(ref.split("/")[2:4])[:7] for ref in found))
        raise UserError(f"{name}: an experiment name of {len(found)} baselines ({bases}); "
                        f"allowed: the experiment's commit (`dvc exp show`)")
    return next(iter(found.values()), None)


def commit_of(revision: str) -> str:
    """The commit `revision` (a git revision or a DVC experiment's name) names, never read
    as an option of git (e.g. '--output=FILE')."""
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode == 0:
        return found.stdout.strip()
    commit = experiment_commit(revision)
    if commit is None:
        raise UserError(f"{revision}: not a git revision or DVC experiment here; allowed: a commit, branch, tag "
                        f"or experiment name (`dvc exp list`)")
    return commit


def runs_at(revision: str | None) -> dict[str, dict]:
    """Each architecture's runs JSON at a git revision (None: the workspace), those that exist."""
    runs = {}
    commit = commit_of(revision) if revision is not None else None
    for arch in studied():
        path = outputs(arch).runs.as_posix()
        remedy = f"dvc repro {outputs(arch).stage}"
        if revision is None:
            if os.path.lexists(path):
                runs[arch] = checked(read_output(path, RUNS, remedy), path, remedy)
            continue
        shown = subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, text=True)
        if shown.returncode == 0:
            where, remedy = f"{revision}:{path}", f"{remedy}, then commit it"
            try:
                obj = json.loads(shown.stdout)
            except ValueError:
                raise UserError(f"{where}: unreadable (not JSON); run `{remedy}`") from None
            runs[arch] = checked(check_output(obj, where, RUNS, remedy), where, remedy)
    return runs


def checked(runs: dict, where: str, remedy: str) -> dict:
    """A runs file whose test accuracies are numbers in [0, 1], else one line naming it."""
    bad = next((a for a in runs["test_acc"] if isinstance(a, bool) or not isinstance(a, (int, float))
                or not 0 <= a <= 1), None) if runs["test_acc"] else "none"
    if bad is not None:
        raise UserError(f"{where}: test_acc holds {str(bad)[:20]!r}, not accuracies in [0, 1]; run `{remedy}`")
    return runs


def main(argv: list[str]) -> None:
    if len(argv) not in (1, 2):
        raise UserError("usage: compare_runs.py BASELINE [CANDIDATE]; allowed: one or two git revisions")
    before, after = runs_at(argv[0]), runs_at(argv[1] if len(argv) == 2 else None)
    table = paired_change(before, after)
    if not table:
        raise UserError(f"no architecture has metrics/runs in both {argv[0]} and the candidate")
    same = [a for a in table if a != "all" and before[a]["test_acc"] == after[a]["test_acc"]]
    print(paired_change_text({a: row for a, row in table.items() if a not in same}))
    if same:
        print(f"unchanged, every run identical: {len(same)} of {len(table) - 1} architectures ({', '.join(same)})")


if __name__ == "__main__":
    run_stage(main)
