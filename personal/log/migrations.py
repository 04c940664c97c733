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


@MIGRATIONS()
def m004_preferences(db: Database) -> None:
    # What the person asked of the model ("Call the user Sam."), extracted from their
    # messages or added by hand. `kind` is checked in code, not SQL, so later versions
    # can add kinds without rebuilding the table. Extracted preferences go when their
    # conversation is forgotten (Log._forget deletes them); the SET NULL links only
    # matter for manual ones, which stay. `stated_at` orders competing preferences
    # ("call me Sam", later "call me Alex") by when they were said, not when scanned.
    _run(
        db,
        """
        CREATE TABLE preferences (
            id TEXT PRIMARY KEY,
            text TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'other',
            checker TEXT,
            origin TEXT NOT NULL DEFAULT 'manual' CHECK (origin IN ('extracted', 'manual')),
            source_message_id TEXT REFERENCES messages (id) ON DELETE SET NULL,
            conversation_id TEXT REFERENCES conversations (id) ON DELETE SET NULL,
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            stated_at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}'
        )
        """,
        "CREATE INDEX preferences_conversation ON preferences (conversation_id)",
        "CREATE INDEX preferences_source ON preferences (source_message_id)",
        # user messages already read by the extractor: a scan never reads one twice, so
        # a preference the person deleted is not extracted again
        """
        CREATE TABLE preference_scans (
            message_id TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
            scanned_at TEXT NOT NULL
        )
        """,
    )


@MIGRATIONS()
def m005_notes(db: Database) -> None:
    # Notes the person asked to keep (the `remember` tool). `num` is a stable rowid
    # for the search index, as in `messages`.
    _run(
        db,
        """
        CREATE TABLE notes (
            num INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            source_message_id TEXT REFERENCES messages (id) ON DELETE SET NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}'
        )
        """,
        "CREATE INDEX notes_source ON notes (source_message_id)",
        """
        CREATE VIRTUAL TABLE notes_fts USING fts5 (
            text, tags, content='notes', content_rowid='num',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER notes_fts_insert AFTER INSERT ON notes BEGIN
            INSERT INTO notes_fts (rowid, text, tags) VALUES (new.num, new.text, new.tags);
        END
        """,
        """
        CREATE TRIGGER notes_fts_delete AFTER DELETE ON notes BEGIN
            INSERT INTO notes_fts (notes_fts, rowid, text, tags)
                VALUES ('delete', old.num, old.text, old.tags);
        END
        """,
        """
        CREATE TRIGGER notes_fts_update AFTER UPDATE OF text, tags ON notes BEGIN
            INSERT INTO notes_fts (notes_fts, rowid, text, tags)
                VALUES ('delete', old.num, old.text, old.tags);
            INSERT INTO notes_fts (rowid, text, tags) VALUES (new.num, new.text, new.tags);
        END
        """,
    )


@MIGRATIONS()
def m006_conversation_tools(db: Database) -> None:
    # The tool schemas offered in a conversation (OpenAI's `tools`, a JSON list), so an
    # imported fine-tuning file keeps them and the export writes them back. NULL: none
    # recorded (every conversation before this migration, and chats with no tools).
    _run(db, "ALTER TABLE conversations ADD COLUMN tools TEXT")


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
