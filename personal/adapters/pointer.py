"""The current pointer of one base model: which revision serves it, the promotion stack,
the pin, and every move.

    current/<fingerprint>.json           the state, replaced atomically
    current/<fingerprint>.history.jsonl  one line per move, appended: what `repair` uses
    current/<fingerprint>.lock           flock held by every read-modify-write

Two processes moving the pointer at once (the daemon promoting while the person rolls
back or pins) each read, change and write the state under the lock, so neither update
is lost, and a condition (the pin) is checked inside it. A state file that is not valid
JSON of the right shape is a PointerError that says how to repair it: `repair` rebuilds
the state from the last good line of the history.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from personal.errors import ManifestError
from personal.fileio import fsync_dir, write_json_atomic

REPAIR_HINT = "repair it from its history: personal adapters rollback"


class PointerError(ManifestError):
    """A current-revision pointer file is damaged."""


def empty() -> dict[str, Any]:
    return {"revision": None, "stack": [], "pinned": False, "history": []}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _problem(state: Any) -> str | None:
    """Why `state` is not a pointer state (None: it is one)."""
    if not isinstance(state, dict):
        return "not a JSON object"
    rev, stack = state.get("revision"), state.get("stack")
    if rev is not None and not (isinstance(rev, str) and rev.isalnum()):
        return f"revision {rev!r} is not a revision id"
    if not isinstance(stack, list) or not all(isinstance(s, str) and s.isalnum() for s in stack):
        return "stack is not a list of revision ids"
    if not isinstance(state.get("pinned", False), bool):
        return "pinned is not true or false"
    if not isinstance(state.get("history", []), list):
        return "history is not a list"
    return None


def read(path: Path) -> dict[str, Any]:
    """The state (empty when there is no file yet); PointerError when it is damaged."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty()
    except (OSError, UnicodeDecodeError) as e:
        raise PointerError(f"the current-revision pointer {path} cannot be read: {e}",
                           hint=REPAIR_HINT) from None  # fmt: skip
    try:
        state = json.loads(text)
    except ValueError as e:
        raise PointerError(f"the current-revision pointer {path} is damaged (not JSON: {e})",
                           hint=REPAIR_HINT) from None  # fmt: skip
    why = _problem(state)
    if why:
        raise PointerError(f"the current-revision pointer {path} is damaged ({why})",
                           hint=REPAIR_HINT)  # fmt: skip
    return {**empty(), **state}


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the pointer's lock (every read-modify-write of it takes it)."""
    fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


def update(path: Path, change: Callable[[dict[str, Any]], str | None]) -> dict[str, Any]:
    """Read, change (in place) and write the state under the lock. `change` returns the
    reason to record, or None to leave the state as it was."""
    with locked(path):
        state = read(path)
        reason = change(state)
        if reason is not None:
            _write(path, state, reason)
        return state


def _write(path: Path, state: dict[str, Any], reason: str) -> None:
    move = {"revision": state["revision"], "stack": list(state["stack"]),
            "pinned": bool(state.get("pinned")), "at": _now(), "reason": reason}  # fmt: skip
    state["history"] = [*state.get("history", []),
                        {k: move[k] for k in ("revision", "at", "reason")}]  # fmt: skip
    journal = path.with_suffix(".history.jsonl")
    with open(journal, "a", encoding="utf-8") as f:  # first: a crash leaves the old state
        os.fchmod(f.fileno(), 0o600)
        f.write(json.dumps(move) + "\n")
        f.flush()
        os.fsync(f.fileno())
    write_json_atomic(path, state)
    fsync_dir(path.parent)


def repair(path: Path, exists: Callable[[str], bool]) -> tuple[dict[str, Any], str]:
    """Rebuild a damaged state from the last good line of its history whose revisions
    still exist; returns (state, what was done, in words)."""
    with locked(path):
        journal = path.with_suffix(".history.jsonl")
        try:
            lines = journal.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            lines = []
        moves = []
        for line in lines:
            try:
                move = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash
            if _problem(move) is None:
                moves.append(move)
        for move in reversed(moves):
            if all(exists(r) for r in [*move["stack"], move["revision"]] if r):
                state = {"revision": move["revision"], "stack": move["stack"],
                         "pinned": bool(move.get("pinned")),
                         "history": [{k: m.get(k) for k in ("revision", "at", "reason")}
                                     for m in moves]}  # fmt: skip
                _write(path, state, "repaired from history")
                return state, f"restored from its history (as of {move.get('at')})"
        state = empty()
        _write(path, state, "repaired: no usable history")
        return state, "no usable history: the base runs without an adapter until you pick one"
