"""What every stage script shares: user errors as one line, interrupts as a hint, and the
checks a study stage makes before its first training.

Importing this module (stages/__init__.py does, before a stage script's own imports)
makes Ctrl-C print the one "interrupted" line from the stage's first instruction on:
torch and the rest take seconds to import, and a KeyboardInterrupt raised inside an
import would end in a traceback. `run_stage` then turns Ctrl-C back into a
KeyboardInterrupt, so that running trainings stop and finished ones stay cached. It also
refuses, before torch is imported, a thread-affinity variable that would hang that import.
"""

import errno
import os
import re
import signal
import sys
from collections.abc import Callable

from digitcmp.errors import UserError

# What a full disk or a limit asks of the user (digitcmp.files names the file being written).
WRITE_FAULTS = {errno.ENOSPC: "free space on its disk", errno.EDQUOT: "room in the disk quota",
                errno.EFBIG: "a file-size limit (ulimit -f) above what the stage writes"}
INTERRUPTED = "interrupted: finished trainings are cached; rerun `dvc repro` to continue"


def _interrupted_while_starting(signum, frame) -> None:
    os.write(2, f"{INTERRUPTED}\n".encode())
    os._exit(130)


# Left alone where SIGINT is ignored (a shell's background job), as Python itself does.
if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_while_starting)

# libgomp's syntax for GOMP_CPU_AFFINITY: CPU numbers, ranges and strided ranges.
AFFINITY = re.compile(r"[0-9]+(-[0-9]+(:[0-9]+)?)?([ \t,]+[0-9]+(-[0-9]+(:[0-9]+)?)?)*")


def check_affinity() -> None:
    """A GOMP_CPU_AFFINITY that libgomp cannot parse (e.g. 'garbage') makes `import torch`
    hang for ever, silently: refused here, before any import of torch."""
    value = os.environ.get("GOMP_CPU_AFFINITY", "").strip(" \t,")
    if value and not AFFINITY.fullmatch(value):
        os.write(2, f"error: GOMP_CPU_AFFINITY: {ascii(value)[:60]} is not allowed; allowed: CPU numbers and "
                    f"ranges as libgomp reads them, e.g. '0 1 2-3' or '0-7:2' (or unset it)\n".encode())
        os._exit(2)


check_affinity()


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
        allowed = WRITE_FAULTS.get(err.errno, "a file that can be read and written there")
        print(f"error: {err.filename}: {err.strerror}; allowed: {allowed}", file=sys.stderr)
        sys.exit(1)


def one_arch(argv: list[str], allowed: tuple[str, ...]) -> str:
    """The single architecture-name argument of a per-architecture stage."""
    if len(argv) != 1 or argv[0] not in allowed:
        got = " ".join(argv) or "nothing"
        raise UserError(f"architecture: {got!r} is not allowed; allowed: one of {', '.join(allowed)}")
    return argv[0]


def check_study(arch: str, params: dict, data_dir: str | None = "data/prepared") -> None:
    """Everything a study of `arch` needs, refused before its first training: its grid in
    params, the device, memory and time (digitcmp.bounds), and prepared data made from
    these params (None: not checked, the data are yet to be prepared). The study stage and
    scripts.conditions both call this."""
    from digitcmp import bounds, params as P
    from digitcmp.data import check_prepared_for
    from digitcmp.search import grid_points

    P.require_extra(arch, params)
    bounds.check_device(params["train"]["device"])
    bounds.check_training(arch, grid_points(arch, params), params)
    if data_dir is not None:
        check_prepared_for(params, data_dir)
