"""The log's schema migrations: a blank log, and legacy logs that already hold data."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from personal.errors import LogError
from personal.log import Log
from personal.log.migrations import MIGRATIONS, migrate, migration_names
from personal.log.notes import Notes
from personal.prefs.preferences import Preferences, scan


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
    assert names[:5] == ["m001_conversations_messages", "m002_message_search", "m003_feedback",
                         "m004_preferences", "m005_notes"]  # fmt: skip
    assert names == sorted(names)


def test_a_blank_log_gets_every_migration(tmp_path):
    path = tmp_path / "log.db"
    with Log(path) as log:
        tables = set(log.db.table_names())
        assert {"conversations", "messages", "messages_fts", "feedback", "preferences",
                "preference_scans", "notes", "notes_fts"} <= tables  # fmt: skip
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


@pytest.mark.parametrize(
    "stop_before", ["m002_message_search", "m003_feedback", "m004_preferences", "m005_notes",
                    "m006_conversation_tools"]
)  # fmt: skip
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
        # the signal tables (m004, m005) work on the old messages too
        assert [p.text for p in scan(log).new] == []
        log.append(conversation.id, {"role": "user", "content": "call me Sam"})
        assert [p.text for p in scan(log).new] == ["Call the user Sam."]
        assert scan(log).scanned == 0  # the legacy messages were read once
        note = Notes(log).add("rye is dense", source_message_id=reply.id)
        assert Notes(log).search("dense") == [note]
        log.rate(reply.id, "up")
        assert log.answer_state(reply.id).rating == "up"
        # m006: the old conversation has no tools recorded; an imported one keeps them
        assert conversation.tools is None
        log.db.execute("UPDATE conversations SET tools = '[{\"type\": \"function\"}]'")
        assert log.conversation(conversation.id).tools == [{"type": "function"}]
        assert log.forget(conversation.id) == 4
        assert Preferences(log).list() == [] and Notes(log).list() == []
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


def test_preferences_survive_the_upgrade_that_adds_notes(tmp_path):
    path = tmp_path / "log.db"
    legacy_log(path, "m005_notes")
    with Database(path) as db:
        db.execute(
            "INSERT INTO preferences (id, text, kind, origin, source_message_id, "
            "conversation_id, stated_at, created_at, updated_at) VALUES "
            "('01jc0000000000000000000009', 'Call the user Sam.', 'name', 'extracted', "
            "'01jc0000000000000000000002', '01jc0000000000000000000001', 'x', 'x', 'x')"
        )
    with Log(path) as log:
        (pref,) = Preferences(log).list()
        assert (pref.text, pref.source_message_id) == ("Call the user Sam.", "01jc0000000000000000000002")
        assert Notes(log).add("kept").text == "kept"
        log.forget_all()
        assert Preferences(log).list() == []  # extracted: it went with its conversation
    assert applied(path) == migration_names()
