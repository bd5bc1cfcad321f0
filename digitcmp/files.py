"""Atomic file writes: every output appears whole or not at all.

Each writer fills a temporary file in the target's own directory (same file system),
flushes it to disk and renames it over the target, so an interrupted stage never
leaves a half-written file for DVC or a reader to pick up.
"""

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any


def write_atomic(path: str | Path, fill: Callable[[IO[bytes]], None]) -> None:
    """Create `path` by calling `fill(binary_file)` on a temp file, then renaming it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    write_atomic(path, lambda f: f.write(data))


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def dumps_json(obj: Any) -> str:
    """Stable JSON: sorted keys, fixed indent, trailing newline (byte-identical reruns)."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, dumps_json(obj))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A CSV table (the plots' data files): a header line, then the rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()
