"""Opening the log's SQLite file, and turning SQLite's failures into typed errors."""

from __future__ import annotations

import os
import shlex
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlite_utils import Database

from personal.errors import DatabaseCorrupt, DatabaseLocked, LogError
from personal.fileio import FILE_MODE, private_dir, tighten
from personal.log.migrations import migrate

_BUSY, _CORRUPT, _IO = {5, 6}, {11, 26}, {8, 10, 13, 14}  # SQLite primary result codes
# sqlite3_errstr() of those codes: what the message is, whole, on a Python (3.10) whose
# errors carry no code. Never a substring: "no such column: malformed" is a query error.
_ERRSTR = {
    "database is locked": 5, "database table is locked": 6,
    "database disk image is malformed": 11, "file is not a database": 26,
    "attempt to write a readonly database": 8, "disk I/O error": 10,
    "database or disk is full": 13, "unable to open database file": 14,
}  # fmt: skip


def error_code(error: sqlite3.Error) -> int:
    """SQLite's primary result code of an error (-1 when unknown)."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    return _ERRSTR.get(str(error), -1)


def connect(path: Path, timeout: float) -> Database:
    """Open (creating if need be) and migrate the log at `path`."""
    if str(path) != ":memory:":
        private_dir(path.parent)
        _create_private(path)  # its -wal and -shm files will copy its mode
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            tighten(p, FILE_MODE)
    # `timeout` is SQLite's busy timeout; one connection is shared by a Log's threads
    conn = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False)
    try:
        db = Database(conn, execute_plugins=False)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA secure_delete = ON")  # forgotten text is overwritten, not freed
        db.enable_wal()  # readers never wait for the writer, nor it for them
        migrate(db)
        interrupt_orphans(db)
    except BaseException:
        conn.close()
        raise
    return db


def _create_private(path: Path) -> None:
    """Create the database file owner-only if it does not exist. Never open (and close)
    an existing one: closing any descriptor of a file drops every POSIX lock this
    process holds on it, including those of an open SQLite connection."""
    if path.exists():
        return
    with suppress(FileExistsError):  # another thread or process made it just now
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))


def interrupt_orphans(db: Database) -> None:
    """Streams whose writing process died can never finish: mark them interrupted."""
    pids = db.execute("SELECT DISTINCT writer_pid FROM messages WHERE status = 'streaming'")
    dead = [pid for (pid,) in pids.fetchall() if not pid_alive(pid)]
    if not dead:
        return  # the usual case: open without taking the write lock
    try:
        with db.atomic():
            for pid in dead:
                db.execute(
                    "UPDATE messages SET status = 'interrupted' "
                    "WHERE status = 'streaming' AND writer_pid IS ?",
                    [pid],
                )
    except sqlite3.OperationalError as e:
        if not isinstance(translate(Path(), e), DatabaseLocked):
            raise
        # another process is writing; a later open will catch up


def translate(path: Path, error: sqlite3.Error) -> LogError | None:
    """The user-facing error for a SQLite error, or None for a programming error or a
    query SQLite could not parse (an FTS syntax error is SQLITE_ERROR, code 1). Decided
    by SQLite's result code, never by words of the message, which may quote the query."""
    code = error_code(error)
    if code in _BUSY:
        return DatabaseLocked(
            f"the conversation log is busy: another program is writing to {path}",
            hint="wait for it to finish (or close the other personal window) and try again",
        )
    if code in _CORRUPT:
        broken = shlex.quote(f"{path}.broken")
        return DatabaseCorrupt(
            f"the conversation log is damaged or is not a SQLite database: {path}",
            hint=f"move it aside: mv {shlex.quote(str(path))} {broken} "
            "(and its -wal/-shm files, if any) ; a new log will be created",
        )
    if code in _IO:
        return LogError(
            f"cannot use the conversation log {path}: {error}",
            hint="check that the disk has space and that the file and its folder are writable",
        )
    return None


@contextmanager
def translated(path: Path) -> Iterator[None]:
    """Raise SQLite errors a person can act on as `LogError`s."""
    try:
        yield
    except sqlite3.Error as e:
        error = translate(path, e)
        if error is None:
            raise
        raise error from e


def pid_alive(pid: int | None) -> bool:
    """Whether a process (that wrote a streaming message) is still running."""
    if pid is None:
        return False
    if pid == os.getpid() or os.name == "nt":  # on Windows, kill(pid, 0) is not a probe
        return True
    try:
        os.kill(pid, 0)  # signal 0 only checks that the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but is someone else's, or we cannot tell: leave it
    return True
