"""What every stage script shares: user errors as one line, interrupts as a hint, and where
the per-architecture results live."""

import os
import sys
from collections.abc import Callable
from pathlib import Path

from digitcmp.errors import UserError
from digitcmp.registry import STUDY


def run_stage(main: Callable[[list[str]], None]) -> None:
    """Call `main(argv)`; a UserError prints `error: ...` and exits 2 (no traceback).

    On success the process ends at once: its outputs are written (atomically) and its
    workers joined, and the interpreter's teardown with torch loaded costs ~0.5 s, paid
    by every stage of the pipeline.
    """
    try:
        main(sys.argv[1:])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: finished trainings are cached; rerun `dvc repro` to continue", file=sys.stderr)
        sys.exit(130)


def one_arch(argv: list[str], allowed: tuple[str, ...]) -> str:
    """The single architecture-name argument of a per-architecture stage."""
    if len(argv) != 1 or argv[0] not in allowed:
        got = " ".join(argv) or "nothing"
        raise UserError(f"architecture: {got!r} is not allowed; allowed: one of {', '.join(allowed)}")
    return argv[0]


def results_path(kind: str, arch: str) -> Path:
    """`kind` ("search" or "runs") of `arch`'s study stage: metrics/<kind>/<arch>.json for the
    study's sixteen, metrics/extras/<kind>/<arch>.json for the others (a folder of their own,
    so that an extra's results are no dependency of the curve stage)."""
    return Path("metrics" if arch in STUDY else "metrics/extras") / kind / f"{arch}.json"
