"""The log's schema migrations: a blank log, and legacy logs that already hold data."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from personal.errors import LogError
from personal.log import Log
from personal.log.migrations import MIGRATIONS, migrate, migration_names


def applied(path) -> list[str]:
    with Database(path) as db:
        return [m.name for m in MIGRATIONS.applied(db)]


def legacy_log(path, stop_before: str) -> None:
    """A log made by an older version: migrated up to `stop_before`, holding a chat."""
    with Database(path) as db:
        assert migrate(db, stop_before=stop_before)
        db.execute(
            "INSERT INTO conversations (id, title, source, created_at, updated_at, meta) VALUES "
            "('01jc0000000000000000000001', 'Old chat', 'chat', "
            "'2025-01-01T10:00:00.000Z', '2025-01-01T10:00:01.000Z', '{}')"
        )
        for seq, role, content in [
            (1, "user", "tell me about rye bread"),
            (2, "assistant", "Rye is dense."),
        ]:
            db.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, content, created_at, "
                "status, writer_pid, meta) VALUES (?, '01jc0000000000000000000001', ?, ?, ?, "
                "'2025-01-01T10:00:01.000Z', 'complete', 1, '{}')",
                [f"01jc000000000000000000000{seq + 1}", seq, role, content],
            )


def test_the_migrations_are_numbered_and_in_order():
    names = migration_names()
    assert names[:3] == ["m001_conversations_messages", "m002_message_search", "m003_feedback"]
    assert names == sorted(names)


def test_a_blank_log_gets_every_migration(tmp_path):
    path = tmp_path / "log.db"
    with Log(path) as log:
        tables = set(log.db.table_names())
        assert {"conversations", "messages", "messages_fts", "feedback"} <= tables
        c = log.create_conversation()
        m = log.append(c.id, {"role": "user", "content": "hello rye"})
        log.add_feedback(m.id, "rating", "1")
        assert [h.message.id for h in log.search("rye")] == [m.id]
    assert applied(path) == migration_names()
    with Log(path) as log:  # reopening applies nothing more
        assert migrate(log.db) == []
    assert applied(path) == migration_names()


def test_an_empty_file_becomes_a_log(tmp_path):
    path = tmp_path / "log.db"
    path.touch()
    with Log(path) as log:
        assert log.conversations() == []
    assert applied(path) == migration_names()


@pytest.mark.parametrize("stop_before", ["m002_message_search", "m003_feedback"])
def test_a_legacy_log_is_migrated_and_keeps_its_data(tmp_path, stop_before):
    path = tmp_path / "log.db"
    legacy_log(path, stop_before)
    assert stop_before not in applied(path)
    with Log(path) as log:
        (conversation,) = log.conversations()
        assert (conversation.title, conversation.message_count) == ("Old chat", 2)
        assert [m.content for m in log.messages(conversation.id)] == [
            "tell me about rye bread", "Rye is dense."]  # fmt: skip
        assert {h.message.seq for h in log.search("rye")} == {1, 2}  # indexed by m002
        assert log.search("dense")[0].conversation.id == conversation.id
        # and the new tables work alongside the old data
        reply = log.messages(conversation.id)[1]
        log.add_feedback(reply.id, "rating", "+1")
        log.append(conversation.id, {"role": "user", "content": "and spelt?"})
        assert [h.message.seq for h in log.search("spelt")] == [3]
        assert log.forget(conversation.id) == 3
    assert applied(path) == migration_names()


def test_a_log_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "log.db"
    Log(path).close()
    with Database(path) as db:
        db["_sqlite_migrations"].insert(
            {"migration_set": "personal.log", "name": "m999_future", "applied_at": "later"}
        )
    with pytest.raises(LogError) as e:
        Log(path)
    assert "newer version" in str(e.value) and e.value.hint
