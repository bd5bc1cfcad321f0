"""Where each architecture's study stage writes its results, read from dvc.yaml, the one
place that says it: a stage group whose command is `python -m stages.study ${key} <search
JSON> <runs JSON>` (the stage gets its two paths from that command, as DVC runs it). The
curve and report stages and the scripts find an architecture's results here; none holds
a path of its own.
"""

import functools
from pathlib import Path
from typing import NamedTuple

from ruamel.yaml import YAML

from digitcmp.errors import UserError

STUDY_COMMAND = "python -m stages.study"


class Outputs(NamedTuple):
    stage: str  # the DVC stage that writes them, e.g. study@conv2_sharing_aux
    search: Path  # the grid search: every point's validation accuracy and the winner
    runs: Path  # the winner's retrainings


@functools.cache
def _groups(root: Path) -> dict[str, tuple[object, list[str]]]:
    """Each study-command stage group of dvc.yaml: its foreach and its command's words."""
    try:
        stages = YAML(typ="safe", pure=True).load((root / "dvc.yaml").read_text())["stages"]
    except FileNotFoundError:
        raise UserError(f"{root / 'dvc.yaml'}: not found; run from the project root (where dvc.yaml is)") from None
    return {name: (stage["foreach"], stage["do"]["cmd"].split()) for name, stage in stages.items()
            if isinstance(stage, dict) and str(stage.get("do", {}).get("cmd", "")).startswith(STUDY_COMMAND)}


def _members(foreach: object, root: Path) -> list[str]:
    if isinstance(foreach, str):  # "${extras}": the params' mapping
        from digitcmp import params as P  # here: reading a path needs no validation otherwise

        return list((P.read(root / "params.yaml") or {}).get(foreach.strip("${}"), None) or {})
    return list(foreach)


def studied(root: Path = Path()) -> list[str]:
    """Every architecture a stage of dvc.yaml studies: the sixteen, then params.yaml's extras."""
    return [arch for foreach, _ in _groups(root).values() for arch in _members(foreach, root)]


def outputs(arch: str, root: Path = Path()) -> Outputs:
    """`arch`'s stage and result files (relative to `root`, where dvc.yaml is), as dvc.yaml names them."""
    for name, (foreach, words) in _groups(root).items():
        if arch in _members(foreach, root):
            search, runs = (Path(w.replace("${key}", arch)) for w in words[-2:])
            return Outputs(f"{name}@{arch}", search, runs)
    raise UserError(f"{arch}: no stage of dvc.yaml studies it; allowed: one of the sixteen, or an extra "
                    f"listed under params.yaml's extras")
