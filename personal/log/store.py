"""The conversation log: every chat and every message, in one SQLite file.

One `Log` per process is the intended use, but several processes may share a log: it runs
in WAL mode (readers never wait for the writer), every write is one short `BEGIN
IMMEDIATE` transaction, and a writer waits up to `timeout` seconds for another before
giving up with `DatabaseLocked`. Nothing already logged is lost by an error: a failed
write rolls back only itself, and a damaged file is reported, never replaced.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlite_utils import Database

from personal import paths
from personal.errors import InvalidSignal, NotFound
from personal.log import erase, feedback, records
from personal.log.connection import connect, translate, translated
from personal.log.feedback import AnswerState
from personal.log.ids import new_id, now
from personal.log.migrations import STATUSES
from personal.log.records import (
    CONVERSATION_SELECT,
    MESSAGE_COLUMNS,
    Conversation,
    LoggedMessage,
    SearchHit,
)

DEFAULT_TIMEOUT = 5.0  # seconds a writer waits for another before DatabaseLocked

T = TypeVar("T")
P = ParamSpec("P")


def _guarded(method: Callable[Concatenate[Log, P], T]) -> Callable[Concatenate[Log, P], T]:
    """Serialise calls from several threads and turn SQLite errors into typed ones."""

    @functools.wraps(method)
    def wrapper(self: Log, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock, translated(self.path):
            return method(self, *args, **kwargs)

    return wrapper


class Log:
    """The conversation log (see the module docstring)."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = DEFAULT_TIMEOUT):
        self.path = Path(path).expanduser() if path is not None else paths.log_db()
        self._lock = threading.RLock()
        with translated(self.path):
            self.db = connect(self.path, timeout)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all of them land, or none. Nested use becomes a savepoint."""
        with self._lock, translated(self.path):
            if self.db.conn.in_transaction:
                with self.db.atomic():
                    yield
                return
            # IMMEDIATE takes the write lock up front, so a second writer waits for the
            # busy timeout instead of failing half-way through
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.conn.execute("COMMIT")
            except BaseException:
                self.db.rollback()  # also when COMMIT itself failed (busy, disk full)
                raise

    @contextmanager
    def locked(self) -> Iterator[Database]:
        """The database, for code beside the Log (preferences, notes): serialised with
        this Log's other threads, SQLite errors typed. Wrap writes in `transaction()`."""
        with self._lock, translated(self.path):
            yield self.db

    def _resolve(self, table: str, id_or_prefix: str, what: str) -> str:
        return records.resolve(self.db, table, id_or_prefix, what)

    # --- conversations ---------------------------------------------------------------
    @_guarded
    def create_conversation(
        self,
        title: str | None = None,
        source: str = "chat",
        created_at: str | None = None,
        meta: dict | None = None,
    ) -> Conversation:
        conversation_id, at = new_id(), created_at or now()
        with self.transaction():
            self.db.execute(
                "INSERT INTO conversations (id, title, source, created_at, updated_at, meta) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [conversation_id, title, source, at, at, json.dumps(meta or {})],
            )
        return self.conversation(conversation_id)

    @_guarded
    def conversation(self, id_or_prefix: str) -> Conversation:
        conversation_id = self._resolve("conversations", id_or_prefix, "conversation")
        cursor = self.db.execute(f"{CONVERSATION_SELECT} WHERE c.id = ?", [conversation_id])
        return records.conversations(cursor)[0]

    @_guarded
    def conversations(self, limit: int | None = None, offset: int = 0) -> list[Conversation]:
        """Most recently updated first."""
        cursor = self.db.execute(
            f"{CONVERSATION_SELECT} ORDER BY c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?",
            [-1 if limit is None else limit, offset],
        )
        return records.conversations(cursor)

    @_guarded
    def rename(self, conversation_id: str, title: str) -> None:
        conversation_id = self._resolve("conversations", conversation_id, "conversation")
        with self.transaction():
            self.db.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", [title, conversation_id]
            )

    @_guarded
    def forget(self, conversation_id: str) -> int:
        """Delete a conversation with its messages, feedback and search-index entries,
        and what was derived from it: preferences extracted from its messages and notes
        saved from them. Preferences added by hand stay (a link to one of its messages
        is cleared). Returns the number of messages deleted; `erase.erase` says more
        (which ids, and whether the old text is gone from the disk too)."""
        conversation_id = self._resolve("conversations", conversation_id, "conversation")
        return erase.erase(self, conversation_id).messages

    @_guarded
    def forget_all(self) -> int:
        """Delete every conversation, as `forget` does one: extracted preferences and
        notes saved from messages go too; preferences and notes added by hand stay."""
        return erase.erase(self, None).messages

    # --- messages ----------------------------------------------------------------------
    @_guarded
    def append(
        self,
        conversation_id: str,
        message: dict,
        *,
        model: str | None = None,
        model_fingerprint: str | None = None,
        adapter: str | None = None,
        backend: str | None = None,
        status: str = "complete",
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        ttft_ms: float | None = None,
        duration_ms: float | None = None,
        created_at: str | None = None,
        meta: dict | None = None,
    ) -> LoggedMessage:
        """Add an OpenAI-shaped message at the end of a conversation."""
        fields = records.parse_message(message)
        records.check_status(status)
        message_id, at = new_id(), created_at or now()
        with self.transaction():
            row = self.db.execute(
                "SELECT title FROM conversations WHERE id = ?", [conversation_id]
            ).fetchone()
            if row is None:
                raise NotFound(f"no conversation has the id {conversation_id!r}")
            seq = self.db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?",
                [conversation_id],
            ).fetchone()[0]
            records.insert(self.db, "messages", {
                **fields, "id": message_id, "conversation_id": conversation_id, "seq": seq,
                "created_at": at, "model": model, "model_fingerprint": model_fingerprint,
                "adapter": adapter, "backend": backend, "status": status,
                "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "ttft_ms": ttft_ms, "duration_ms": duration_ms, "writer_pid": os.getpid(),
                "meta": json.dumps(meta or {}),
            })  # fmt: skip
            if fields["role"] == "assistant":
                feedback.link_replacement(self.db, conversation_id, seq, message_id)
            title = row[0] or (fields["role"] == "user" and records.title_from(fields["content"]))
            self.db.execute(
                "UPDATE conversations SET updated_at = MAX(updated_at, ?), title = ? WHERE id = ?",
                [at, title or None, conversation_id],
            )
        return self.message(message_id)

    @_guarded
    def update(
        self,
        message_id: str,
        *,
        content: str | list | None = None,
        status: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        ttft_ms: float | None = None,
        duration_ms: float | None = None,
        meta: dict | None = None,
        tool_calls: list | None = None,
        adapter: str | None | type[Ellipsis] = ...,  # ... leaves it; None clears it
    ) -> None:
        """Rewrite a message while it streams, or finalise it. Only the arguments given
        change; `meta` is merged into the existing meta."""
        if status is not None:
            records.check_status(status)
        changes: dict[str, Any] = {
            "content": None if content is None else records.content_text(content),
            "status": status, "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens, "ttft_ms": ttft_ms,
            "duration_ms": duration_ms,
            "tool_calls": None if tool_calls is None else records.tool_calls_json(tool_calls),
        }  # fmt: skip
        changes = {k: v for k, v in changes.items() if v is not None}
        if adapter is not ...:
            changes["adapter"] = adapter
        with self.transaction():
            row = self.db.execute(
                "SELECT conversation_id, meta FROM messages WHERE id = ?", [message_id]
            ).fetchone()
            if row is None:
                raise NotFound(f"no message has the id {message_id!r}")
            if meta is not None:
                changes["meta"] = json.dumps({**json.loads(row[1]), **meta})
            changes["writer_pid"] = os.getpid()  # whoever updates a stream now owns it
            assignments = ", ".join(f"{k} = :{k}" for k in changes)
            self.db.execute(
                f"UPDATE messages SET {assignments} WHERE id = :_id", {**changes, "_id": message_id}
            )
            self.db.execute(
                "UPDATE conversations SET updated_at = MAX(updated_at, ?) WHERE id = ?",
                [now(), row[0]],
            )

    @_guarded
    def message(self, message_id: str) -> LoggedMessage:
        message_id = self._resolve("messages", message_id, "message")
        cursor = self.db.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", [message_id]
        )
        return records.messages(cursor)[0]

    @_guarded
    def messages(self, conversation_id: str) -> list[LoggedMessage]:
        """A conversation's messages in order."""
        conversation_id = self._resolve("conversations", conversation_id, "conversation")
        cursor = self.db.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY seq",
            [conversation_id],
        )
        return records.messages(cursor)

    @_guarded
    def history(self, conversation_id: str) -> list[dict]:
        """What to send a model to continue the conversation: failed turns, empty
        assistant turns (a stream cut off before its first word) and rejected
        (regenerated) answers are left out; edited answers are sent as edited."""
        messages = self.messages(conversation_id)
        states = feedback.states(self.db, messages[0].conversation_id) if messages else {}
        return feedback.in_history(messages, states)

    # --- search and feedback -----------------------------------------------------------
    @_guarded
    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Full-text search over message content, best matches first. FTS5 syntax
        (`"a phrase"`, `word*`, `a OR b`) works; anything it cannot parse is searched
        for as a plain phrase instead."""
        query = query.strip()
        if not query:
            return []
        try:
            return records.search(self.db, query, limit)
        except sqlite3.OperationalError as e:
            if translate(self.path, e) is not None:
                raise
        try:
            return records.search(self.db, '"' + query.replace('"', '""') + '"', limit)
        except sqlite3.OperationalError as e:
            if translate(self.path, e) is not None:
                raise
            return []

    @_guarded
    def add_feedback(
        self, message_id: str, kind: str, value: str | None = None, meta: dict | None = None
    ) -> str:
        """Record feedback of any kind about a message; returns its id. The kinds the
        app understands, and their rules, are in `feedback` (prefer `rate`,
        `edit_answer`, `regenerate_from`, `mark_copied`, which keep them)."""
        if not isinstance(kind, str) or not kind.strip():
            raise ValueError("feedback kind must be a non-empty string")
        message_id = self._resolve("messages", message_id, "message")
        feedback_id = new_id()
        with self.transaction():
            records.insert(self.db, "feedback", {
                "id": feedback_id, "message_id": message_id, "kind": kind, "value": value,
                "created_at": now(), "meta": json.dumps(meta or {}),
            })  # fmt: skip
        return feedback_id

    @_guarded
    def feedback(self, message_id: str) -> list[dict]:
        """A message's feedback records, oldest first."""
        cursor = self.db.execute(
            "SELECT id, message_id, kind, value, created_at, meta FROM feedback "
            "WHERE message_id = ? ORDER BY created_at, id",
            [message_id],
        )
        rows = records.dicts(cursor)
        for row in rows:
            row["meta"] = json.loads(row["meta"])
        return rows

    # --- answer feedback (kinds and semantics: personal/log/feedback.py) ------------------
    @_guarded
    def rate(self, message_id: str, rating: str | None) -> None:
        """Rate an answer "up" or "down" (replacing any earlier rating), or clear it."""
        if rating not in (feedback.UP, feedback.DOWN, None):
            raise InvalidSignal(f"a rating is 'up', 'down' or None, not {rating!r}")
        message_id = self._resolve("messages", message_id, "message")
        with self.transaction():
            feedback.answer(self.db, message_id)
            self.db.execute(
                "DELETE FROM feedback WHERE message_id = ? AND kind = ?",
                [message_id, feedback.RATING],
            )
            if rating is not None:
                self.add_feedback(message_id, feedback.RATING, rating)

    @_guarded
    def edit_answer(self, message_id: str, text: str) -> None:
        """Record the text the person wanted instead of an answer (the answer is kept)."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidSignal("an edited answer cannot be empty", hint="rate it down instead")
        message_id = self._resolve("messages", message_id, "message")
        with self.transaction():
            feedback.answer(self.db, message_id)
            self.add_feedback(message_id, feedback.EDIT, text)

    @_guarded
    def regenerate_from(self, message_id: str, replaced_by: str | None = None) -> None:
        """Mark the latest answer (from this message of it on) rejected before generating
        another: it stays in the log but leaves `history()`. The next answer appended to
        the conversation is recorded as its replacement (or give `replaced_by`)."""
        message_id = self._resolve("messages", message_id, "message")
        meta = {"replaced_by": replaced_by} if replaced_by else {}
        with self.transaction():
            for rejected in feedback.to_reject(self.db, message_id):
                self.add_feedback(rejected, feedback.REGENERATE, None, meta)

    @_guarded
    def mark_copied(self, message_id: str) -> None:
        """Record that the person copied an answer."""
        message_id = self._resolve("messages", message_id, "message")
        with self.transaction():
            feedback.answer(self.db, message_id)
            self.add_feedback(message_id, feedback.COPY)

    @_guarded
    def answer_state(self, message_id: str) -> AnswerState:
        """Rating, edit, rejection and copy of one answer, for the UI."""
        return feedback.state(self.db, self._resolve("messages", message_id, "message"))

    @_guarded
    def answer_states(self, conversation_id: str) -> dict[str, AnswerState]:
        """`answer_state` for every message of a conversation that has feedback."""
        conversation_id = self._resolve("conversations", conversation_id, "conversation")
        return feedback.states(self.db, conversation_id)

    # --- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self.db.close()

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Log({str(self.path)!r})"


__all__ = ["AnswerState", "Log", "Conversation", "LoggedMessage", "SearchHit", "STATUSES"]
