"""Atomic file output: a temp file in the same folder, then a rename."""

from __future__ import annotations

import glob
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..errors import DeliveryError


def write_atomic(path: Path, data: str | bytes, replace_read_only: bool = False) -> None:
    """Write `data` to `path` so that readers see the old file or the complete new one, never a part.

    A symbolic link is followed: its target is replaced, in the target's folder, keeping the target's mode.
    Only a regular file is replaced (never /dev/stdout, a pipe or a device); a read-only one only when asked.
    """
    with atomic_file(path, replace_read_only) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


@contextmanager
def atomic_file(path: Path, replace_read_only: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write in parts that replaces `path` when the block ends without an error (as
    write_atomic does); on an error, Ctrl-C or SIGTERM the previous file stays and no temp file is left."""
    given = Path(path)
    path = Path(os.path.realpath(given))
    folder = path.parent
    if not folder.is_dir():
        raise DeliveryError(f"{given}: the folder {folder} does not exist. Create it or choose another --out.")
    mode = None
    if os.path.lexists(path):
        current = path.stat()
        if not stat.S_ISREG(current.st_mode):
            raise DeliveryError(f"{given}: not a regular file (a folder, pipe or device); --out writes files. "
                                "Choose a file name, or leave out --out to print the report.")
        if not current.st_mode & 0o222 and not replace_read_only:
            raise DeliveryError(f"{given}: the file is read-only, so it is left as it is. Make it writable, or "
                                "pass --force to replace it.")
        mode = current.st_mode & 0o777
    _remove_stale_temps(folder, path.name)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise DeliveryError(
            f"{given}: could not be written ({exc.strerror}); the previous file, if any, is unchanged."
        ) from None
    finally:  # also on Ctrl-C, and on SIGTERM (the CLI turns it into SystemExit): no temp file is left
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


STALE_AFTER_S = 15 * 60  # a temp file this old is no write in progress: a run killed with -9 left it


def _remove_stale_temps(folder: Path, name: str) -> None:
    """Remove temp files an earlier, killed write of `name` left in `folder` (.NAME.XXXX.tmp)."""
    cutoff = time.time() - STALE_AFTER_S
    try:
        candidates = list(folder.glob(f".{glob.escape(name)}.*.tmp"))
    except OSError:
        return
    for candidate in candidates:
        try:
            if candidate.is_file() and not candidate.is_symlink() and candidate.stat().st_mtime < cutoff:
                candidate.unlink()
        except OSError:
            pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
