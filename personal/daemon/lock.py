"""One training run at a time, across processes, surviving crashes.

The lock is an `flock` on a file: the kernel releases it when the holder dies, however it
dies (SIGKILL included), so a crashed run can never leave a lock that blocks the next
one. The file also records who holds it, for `personal daemon status`; a record left by a
dead process is reported as stale and replaced.
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


def holder(path: Path | None = None) -> dict[str, Any] | None:
    """Who holds the lock now (None: nobody). A record of a dead holder counts as nobody."""
    path = path or lock_path()
    try:
        with path.open() as f:
            try:
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = f.read()
                return json.loads(text) if text else {"pid": None}
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

    def __enter__(self) -> TrainingLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            text = f.read()
            f.close()
            who = json.loads(text) if text else {}
            raise LockBusy(
                f"a training run is already in progress (pid {who.get('pid')}, "
                f"{who.get('purpose', 'unknown')}, since {who.get('since', '?')})",
                hint="wait for it to finish: personal daemon status",
            ) from None
        f.seek(0)
        old = f.read()
        if old:
            self.stale = json.loads(old)  # the holder died without unlocking (kill -9)
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
