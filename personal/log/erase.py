"""Forgetting, down to the bytes on disk.

`erase` deletes conversations with everything the log derived from them (feedback,
search-index entries, extracted preferences, notes saved from their messages), then
`purge` makes the deletion physical: secure_delete has zeroed the freed cells, the FTS
indexes are merged, and the write-ahead log is checkpointed into log.db and truncated.

A checkpoint cannot finish while another connection holds a read snapshot from before
the deletion: the old pages stay in log.db and log.db-wal until it ends. `purge` waits a
little, then says so (`Erased.purged` False) instead of claiming the text is gone; a
later `purge` (`personal log purge`) finishes the job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from personal.log import preferences

if TYPE_CHECKING:
    from personal.log.store import Log

PURGE_WAIT = 2.0  # seconds a purge waits for other readers to finish


@dataclass(frozen=True)
class Erased:
    conversations: int
    messages: int
    message_ids: tuple[str, ...]
    notes: int
    preferences: int
    purged: bool  # the deleted text is gone from log.db and log.db-wal


def erase(log: Log, conversation_id: str | None, wait: float = PURGE_WAIT) -> Erased:
    """Delete one conversation (None: all of them) and what was derived from it."""
    where, params = ("WHERE conversation_id = ?", [conversation_id]) if conversation_id else ("", [])
    conversations = f"SELECT id FROM conversations {where.replace('conversation_', '')}"
    in_scope = f"IN (SELECT id FROM messages {where})"
    db = log.db
    with log.transaction():
        ids = tuple(r[0] for r in db.execute(f"SELECT id FROM messages {where}", params))
        n_conversations = db.execute(f"SELECT COUNT(*) FROM ({conversations})", params).fetchone()[0]
        notes = db.execute(f"DELETE FROM notes WHERE source_message_id {in_scope}", params).rowcount
        before = db.execute("SELECT COUNT(*) FROM preferences").fetchone()[0]
        preferences.forget_conversations(db, conversations, params)
        after = db.execute("SELECT COUNT(*) FROM preferences").fetchone()[0]
        db.execute(f"DELETE FROM feedback WHERE message_id {in_scope}", params)
        db.execute(f"DELETE FROM messages {where}", params)  # triggers update FTS
        db.execute(f"DELETE FROM conversations {where.replace('conversation_', '')}", params)
        # merge the search indexes so deleted words do not linger in old segments
        db.execute("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')")
        db.execute("INSERT INTO notes_fts (notes_fts) VALUES ('optimize')")
    return Erased(n_conversations, len(ids), ids, notes, before - after, purge(log, wait))


def purge(log: Log, wait: float = PURGE_WAIT) -> bool:
    """Fold the write-ahead log into log.db and truncate it; True when nothing is left
    behind (no other connection still reads an older snapshot)."""
    deadline = time.monotonic() + wait
    while True:
        with log.locked() as db:
            busy, frames, done = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy == 0 and frames == done:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
