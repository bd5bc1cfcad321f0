"""Atomic file writes: every output appears whole or not at all.

Each writer fills a temporary file in the target's own directory (same file system),
flushes it to disk and renames it over the target, so an interrupted stage never
leaves a half-written file for DVC or a reader to pick up. A stage with several
outputs checks them all before its work (`check_writable`) and writes them together
(`write_all`: every temporary file first, then the renames), so a failure never
leaves a mix of new and old outputs.
"""

import csv
import io
import json
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from digitcmp.errors import UserError
from digitcmp.training.checks import is_a


def _temp_file(path: Path, fill: Callable[[IO[bytes]], None]) -> str:
    """A temporary file beside `path`, filled by `fill(binary_file)` and on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():  # checked now: os.replace would fail only after the other outputs' renames
        raise IsADirectoryError(21, "Is a directory", str(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.filename is None:  # a full disk or a file-size limit names no file: the target is the one
            raise OSError(err.errno, err.strerror, str(path)) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: str | Path, fill: Callable[[IO[bytes]], None]) -> None:
    """Create `path` by calling `fill(binary_file)` on a temp file, then renaming it."""
    write_all({path: fill})


def write_all(outputs: dict[str | Path, bytes | Callable[[IO[bytes]], None]]) -> None:
    """Replace every file of `outputs` (its bytes, or a function that writes them) or
    none: all temporary files are written before the first rename."""
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in outputs.items():
            fill = data if callable(data) else (lambda f, data=data: f.write(data))
            temps.append((_temp_file(Path(path), fill), Path(path)))
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:  # after the renames, nothing left to remove
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)


def check_writable(paths: list[str | Path]) -> None:
    """Refuse, before any work, outputs that could not be written."""
    for path in map(Path, paths):
        try:
            os.unlink(_temp_file(path, lambda f: None))
        except OSError as err:
            raise UserError(f"{path}: cannot be written ({err.strerror}: {err.filename}); allowed: a file "
                            f"in a writable directory") from None


def write_bytes(path: str | Path, data: bytes) -> None:
    write_atomic(path, lambda f: f.write(data))


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def dumps_json(obj: Any) -> str:
    """Stable JSON: sorted keys, fixed indent, trailing newline (byte-identical reruns)."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, dumps_json(obj))


JSON_LIMIT = 64 * 2**20  # bytes: far above any JSON this project writes (a cache entry, a stage's results)


class NotARegularFile(ValueError):
    """A file that must not be read: not a regular file, or larger than it can be."""


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes; anything else is
    NotARegularFile saying why (a FIFO would block the read forever, a link to /dev/zero
    would fill memory). Opened non-blocking, so a FIFO put there after a check cannot block."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = next((k for k, test in _KINDS.items() if test(info.st_mode)), "special file")
        raise NotARegularFile(f"is a {kind}, not a regular file")
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise NotARegularFile(f"is {max(info.st_size, len(data)):,} bytes; allowed: at most {limit:,}")
    return data


_KINDS = {"directory": stat.S_ISDIR, "FIFO": stat.S_ISFIFO, "character device": stat.S_ISCHR,
          "block device": stat.S_ISBLK, "socket": stat.S_ISSOCK}


def read_json(path: str | Path, limit: int = JSON_LIMIT) -> Any:
    return json.loads(read_regular(path, limit))


def unreadable(err: Exception, otherwise: str) -> str:
    """Why a read of a file failed, in words: the OS's, a NotARegularFile's, else `otherwise`."""
    if isinstance(err, NotARegularFile):
        return str(err)
    return err.strerror if isinstance(err, OSError) and err.strerror else otherwise


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A CSV table (the plots' data files): a header line, then the rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def read_output(path: str | Path, required: dict[str, type | tuple[type, ...]], remedy: str) -> dict:
    """The JSON object another stage wrote at `path`, with the `required` keys and types;
    anything else is one line naming the file and the command that writes it again."""
    path = Path(path)
    try:
        obj = read_json(path)
    except FileNotFoundError:
        raise UserError(f"{path}: missing; run `{remedy}`") from None
    except (OSError, ValueError) as err:
        why = unreadable(err, "not JSON")
        raise UserError(f"{path}: unreadable ({why}); run `{remedy}`") from None
    return check_output(obj, path, required, remedy)


def check_output(obj: Any, path: str | Path, required: dict[str, type | tuple[type, ...]], remedy: str) -> dict:
    """`obj`, parsed from the output at `path`, if it is a JSON object with the `required` keys and types."""
    if not isinstance(obj, dict):
        raise UserError(f"{path}: not a JSON object; run `{remedy}`")
    for key, kind in required.items():
        value = obj.get(key)
        if not is_a(value, kind):
            raise UserError(f"{path}: {key} is {value!r:.40}, not a {getattr(kind, '__name__', 'number')}; "
                            f"run `{remedy}`")
    return obj
