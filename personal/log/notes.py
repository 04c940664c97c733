"""Notes the person asked the assistant to keep ("remember that my locker is 12").

They live in the log's `notes` table (m005) with a full-text index. A note saved from a
message (`source_message_id`) is derived from that conversation and is deleted when it
is forgotten; a note without one stays until deleted here.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from personal.errors import InvalidSignal
from personal.log import records
from personal.log.connection import translate
from personal.log.ids import new_id, now
from personal.log.store import Log

_COLUMNS = "n.id, n.text, n.tags, n.created_at, n.source_message_id"


@dataclass(frozen=True)
class Note:
    id: str
    text: str
    tags: list[str]
    created_at: str
    source_message_id: str | None


class Notes:
    """The notes kept in a `Log`."""

    def __init__(self, log: Log):
        self.log = log

    def add(
        self, text: str, tags: list[str] | None = None, source_message_id: str | None = None
    ) -> Note:
        if not isinstance(text, str) or not text.strip():
            raise InvalidSignal("a note needs some text", hint="say what to remember")
        clean = _tags(tags)
        note_id, at = new_id(), now()
        with self.log.transaction():
            db = self.log.db
            if source_message_id is not None:
                source_message_id = records.resolve(db, "messages", source_message_id, "message")
            records.insert(db, "notes", {
                "id": note_id, "text": text.strip(), "tags": json.dumps(clean),
                "source_message_id": source_message_id, "created_at": at, "updated_at": at,
                "meta": "{}",
            })  # fmt: skip
        return Note(note_id, text.strip(), clean, at, source_message_id)

    def search(self, query: str, limit: int = 10) -> list[Note]:
        """Notes matching words of `query` (in their text or tags), best first. FTS5
        syntax works; a query it cannot parse is searched for as a phrase."""
        query = query.strip() if isinstance(query, str) else ""
        if not query:
            return []
        for match in (query, '"' + query.replace('"', '""') + '"'):
            try:
                return self._select(
                    "JOIN notes_fts ON notes_fts.rowid = n.num WHERE notes_fts MATCH ? "
                    "ORDER BY rank LIMIT ?",
                    [match, limit],
                )
            except sqlite3.OperationalError as e:
                if translate(self.log.path, e) is not None:
                    raise
        return []

    def list(self, limit: int = 20) -> list[Note]:
        """The newest notes first."""
        return self._select("ORDER BY n.id DESC LIMIT ?", [limit])

    def get(self, id_or_prefix: str) -> Note:
        with self.log.locked() as db:
            note_id = records.resolve(db, "notes", id_or_prefix, "note")
        return self._select("WHERE n.id = ?", [note_id])[0]

    def delete(self, id_or_prefix: str) -> None:
        with self.log.transaction():
            note_id = records.resolve(self.log.db, "notes", id_or_prefix, "note")
            self.log.db.execute("DELETE FROM notes WHERE id = ?", [note_id])

    def _select(self, rest: str, params: list) -> list[Note]:
        with self.log.locked() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM notes n {rest}", params).fetchall()
        return [Note(i, text, json.loads(tags), at, source) for i, text, tags, at, source in rows]


def _tags(tags: list[str] | None) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
        raise InvalidSignal("tags must be a list of words", hint='e.g. ["work", "travel"]')
    out: list[str] = []
    for tag in (" ".join(t.split()) for t in tags):
        if tag and tag not in out:
            out.append(tag)
    return out


__all__ = ["Note", "Notes"]
