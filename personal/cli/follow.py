"""Following a log file as it grows, across rotation (`tail -F`): the daemon's log is a
RotatingFileHandler's, renamed to daemon.log.1 when full and started afresh."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


def last_lines(path: Path, n: int) -> tuple[list[str], IO[str] | None]:
    """The last `n` lines of `path`, and the file open at its end (None if missing)."""
    try:
        fp = path.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], None
    lines = fp.readlines()
    return lines[-n:] if n > 0 else [], fp


def follow(path: Path, fp: IO[str] | None, stop: Callable[[], bool] = lambda: False,
           poll: float = 0.5) -> Iterator[str]:  # fmt: skip
    """New lines of `path` from `fp`'s position on, until `stop()`. When the file is
    replaced (another inode) or truncated, the rest of the old one is read, then the new
    one from its start."""
    while not stop():
        line = fp.readline() if fp is not None else ""
        if line:
            yield line
            continue
        if _replaced(path, fp):
            if fp is not None:
                yield from iter(fp.readline, "")  # what was written before the rename
                fp.close()
            try:
                fp = path.open(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                fp = None  # between the rename and the first write of the new file
            continue
        time.sleep(poll)
    if fp is not None:
        fp.close()


def _replaced(path: Path, fp: IO[str] | None) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    if fp is None:
        return True
    mine = os.fstat(fp.fileno())
    return (now.st_ino, now.st_dev) != (mine.st_ino, mine.st_dev) or now.st_size < fp.tell()
