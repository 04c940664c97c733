"""One training run at a time, across processes, surviving crashes.

`personal train`, the daemon's cycle and anything else that calls `train_once` take this
lock (train_once takes it itself unless its caller already holds it), so two runs never
race on one run directory or one current pointer.

The lock is an `flock` on a file: the kernel releases it when the holder dies, however it
dies (SIGKILL included), so a crashed run can never leave a lock that blocks the next
one. The file also records who holds it, for `personal daemon status`; a record left by a
dead process, or one that cannot be read at all (garbage), is reported as stale and
replaced — it never fails a run.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

from personal import paths
from personal.errors import PersonalError


class LockBusy(PersonalError):
    """Another training run holds the lock."""


def lock_path() -> Path:
    return paths.sub("daemon") / "train.lock"


def _record(text: str) -> dict[str, Any]:
    """Who the file says holds (or held) the lock; garbage is reported as such."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data
    return {"pid": None, "garbage": text[:80]}


def holder(path: Path | None = None) -> dict[str, Any] | None:
    """Who holds the lock now (None: nobody). A record of a dead holder counts as nobody."""
    path = path or lock_path()
    try:
        with path.open(errors="replace") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = f.read()
                return _record(text) if text else {"pid": None}
            fcntl.flock(f, fcntl.LOCK_UN)
            return None
    except FileNotFoundError:
        return None


class TrainingLock:
    """`with TrainingLock(purpose): ...` — raises LockBusy if a run is in progress."""

    def __init__(self, purpose: str, path: Path | None = None):
        self.purpose = purpose
        self.path = path or lock_path()
        self._file: Any = None
        self.stale: dict[str, Any] | None = None  # what a dead holder left behind

    @property
    def held(self) -> bool:
        return self._file is not None

    def __enter__(self) -> TrainingLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        f = os.fdopen(fd, "a+", encoding="utf-8", errors="replace")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            text = f.read()
            f.close()
            who = _record(text) if text else {}
            raise LockBusy(
                f"a training run is already in progress (pid {who.get('pid')}, "
                f"{who.get('purpose', 'unknown')}, since {who.get('since', '?')})",
                hint="wait for it to finish: personal daemon status",
            ) from None
        f.seek(0)
        old = f.read()
        if old:
            self.stale = _record(old)  # the holder died without unlocking, or garbage
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), "purpose": self.purpose,
                            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}))  # fmt: skip
        f.flush()
        self._file = f
        return self

    def __exit__(self, *exc: object) -> None:
        f, self._file = self._file, None
        if f is not None:
            f.truncate(0)  # an empty file means "released cleanly"
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()
