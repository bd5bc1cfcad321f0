"""What every stage script shares: user errors as one line, interrupts as a hint, and where
the per-architecture results live.

Importing this module (stages/__init__.py does, before a stage script's own imports)
makes Ctrl-C print the one "interrupted" line from the stage's first instruction on:
torch and the rest take seconds to import, and a KeyboardInterrupt raised inside an
import would end in a traceback. `run_stage` then turns Ctrl-C back into a
KeyboardInterrupt, so that running trainings stop and finished ones stay cached.
"""

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from digitcmp.errors import UserError

INTERRUPTED = "interrupted: finished trainings are cached; rerun `dvc repro` to continue"


def _interrupted_while_starting(signum, frame) -> None:
    os.write(2, f"{INTERRUPTED}\n".encode())
    os._exit(130)


# Left alone where SIGINT is ignored (a shell's background job), as Python itself does.
if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_while_starting)


def run_stage(main: Callable[[list[str]], None]) -> None:
    """Call `main(argv)`; a UserError prints `error: ...` and exits 2 (no traceback).

    An OSError on a file (not writable, a directory in a file's place) is one line
    naming the file, exit 1. On success the process ends at once: its outputs are
    written (atomically) and its workers joined, and the interpreter's teardown with
    torch loaded costs ~0.5 s, paid by every stage of the pipeline.
    """
    if signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        main(sys.argv[1:])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(130)
    except OSError as err:
        if err.filename is None:
            raise
        print(f"error: {err.filename}: {err.strerror}", file=sys.stderr)
        sys.exit(1)


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
    from digitcmp.training.registry import STUDY  # here: importing this module stays light (see above)

    return Path("metrics" if arch in STUDY else "metrics/extras") / kind / f"{arch}.json"


def stage_of(arch: str) -> str:
    """The DVC stage that writes `arch`'s results."""
    from digitcmp.training.registry import STUDY

    return f"{'study' if arch in STUDY else 'extra'}@{arch}"
