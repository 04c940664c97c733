"""The log's schema, as numbered migrations.

Never edit a migration that has shipped: add a new one. Each runs in a transaction
together with its record in `_sqlite_migrations`, and `migrate()` runs all pending ones
inside one `BEGIN IMMEDIATE` so two processes opening a new log at once cannot both
create the tables, and an upgrade is all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from personal.errors import LogError

MIGRATIONS = Migrations("personal.log")

ROLES = ("system", "user", "assistant", "tool")
STATUSES = ("complete", "streaming", "interrupted", "error")


def _run(db: Database, *statements: str) -> None:
    for sql in statements:
        db.execute(sql)


@MIGRATIONS()
def m001_conversations_messages(db: Database) -> None:
    roles = ", ".join(f"'{r}'" for r in ROLES)
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    _run(
        db,
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            title TEXT,
            source TEXT NOT NULL DEFAULT 'chat',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}'
        )
        """,
        "CREATE INDEX conversations_updated ON conversations (updated_at)",
        # `num` is an explicit INTEGER PRIMARY KEY (a rowid alias) because VACUUM may
        # renumber implicit rowids, and the search index (m002) refers to rows by it.
        f"""
        CREATE TABLE messages (
            num INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ({roles})),
            content TEXT,
            tool_calls TEXT,
            tool_call_id TEXT,
            name TEXT,
            created_at TEXT NOT NULL,
            model TEXT,
            model_fingerprint TEXT,
            adapter TEXT,
            backend TEXT,
            status TEXT NOT NULL DEFAULT 'complete' CHECK (status IN ({statuses})),
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            ttft_ms REAL,
            duration_ms REAL,
            writer_pid INTEGER,
            meta TEXT NOT NULL DEFAULT '{{}}',
            UNIQUE (conversation_id, seq)
        )
        """,
        # opening the log looks for orphaned streams: keep that lookup tiny
        "CREATE INDEX messages_streaming ON messages (writer_pid) WHERE status = 'streaming'",
    )


@MIGRATIONS()
def m002_message_search(db: Database) -> None:
    # An external-content FTS5 index: the text lives once, in `messages`; triggers keep
    # the index in step with every insert, delete and content rewrite.
    _run(
        db,
        """
        CREATE VIRTUAL TABLE messages_fts USING fts5 (
            content, content='messages', content_rowid='num',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts (rowid, content) VALUES (new.num, new.content);
        END
        """,
        """
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, content)
                VALUES ('delete', old.num, old.content);
        END
        """,
        """
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, content)
                VALUES ('delete', old.num, old.content);
            INSERT INTO messages_fts (rowid, content) VALUES (new.num, new.content);
        END
        """,
        # index whatever a legacy log already holds
        "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
    )


@MIGRATIONS()
def m003_feedback(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE feedback (
            id TEXT PRIMARY KEY,
            message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            value TEXT,
            created_at TEXT NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}'
        )
        """,
        "CREATE INDEX feedback_message ON feedback (message_id)",
    )


def migration_names() -> list[str]:
    """Every migration this version knows, in order (all are pending on a blank db)."""
    with Database(memory=True) as blank:
        return [m.name for m in MIGRATIONS.pending(blank)]


def migrate(db: Database, stop_before: str | Iterable[str] | None = None) -> list[str]:
    """Apply pending migrations; returns the names applied. `stop_before` is for tests
    that build a legacy log."""
    known = set(migration_names())
    newer = [m.name for m in MIGRATIONS.applied(db) if m.name not in known]
    if newer:
        raise LogError(
            "this conversation log was written by a newer version of personal "
            f"(it has migration {newer[-1]})",
            hint="upgrade personal (pip install -U personal) to use it",
        )
    if not MIGRATIONS.pending(db):
        return []
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        before = {m.name for m in MIGRATIONS.applied(db)}  # another process may have won
        MIGRATIONS.apply(db, stop_before=stop_before)
        after = [m.name for m in MIGRATIONS.applied(db) if m.name not in before]
        db.conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    return after
