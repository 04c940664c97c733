"""The conversation log: ids, messages, search, feedback, and how it fails."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from personal.errors import AmbiguousId, DatabaseCorrupt, DatabaseLocked, NotFound
from personal.log import Log, new_id
from personal.log.ids import ALPHABET, is_id


def chat(log: Log, *turns: str):
    """A conversation alternating user/assistant turns."""
    c = log.create_conversation()
    for i, text in enumerate(turns):
        log.append(c.id, {"role": "user" if i % 2 == 0 else "assistant", "content": text})
    return log.conversation(c.id)


# --- ids -------------------------------------------------------------------------------
def test_new_id_is_a_lowercase_ulid_that_sorts_by_time():
    ids = [new_id() for _ in range(2000)]
    assert all(len(i) == 26 and set(i) <= set(ALPHABET) and is_id(i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # monotonic within a ms
    earlier = new_id()
    time.sleep(0.002)
    assert new_id()[:10] > earlier[:10]  # the first 10 characters are the timestamp


# --- opening ---------------------------------------------------------------------------
def test_default_path_is_under_personal_home(personal_home):
    with Log() as log:
        assert log.path == personal_home / "log.db"
        assert log.path.exists()
        assert log.db.journal_mode == "wal"
        assert log.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_creates_missing_parent_folders(tmp_path):
    with Log(tmp_path / "a" / "b" / "log.db") as log:
        assert log.conversations() == []


# --- conversations and messages --------------------------------------------------------
def test_append_logs_every_field_and_titles_the_conversation(log):
    c = log.create_conversation(meta={"ui": "tui"})
    assert c.title is None and c.source == "chat" and c.message_count == 0
    question = "How long should I proof a sourdough loaf before baking it in a cast iron pot?"
    user = log.append(c.id, {"role": "user", "content": question})
    answer = log.append(
        c.id,
        {"role": "assistant", "content": "About 4 hours."},
        model="qwen", model_fingerprint="sha256:abc", adapter="a1", backend="llama.cpp",
        prompt_tokens=20, completion_tokens=5, ttft_ms=12.5, duration_ms=80.0,
        meta={"temperature": 0.7},
    )  # fmt: skip
    assert (user.seq, answer.seq) == (1, 2)
    assert answer == log.message(answer.id)
    assert (answer.model, answer.adapter, answer.backend, answer.status) == (
        "qwen", "a1", "llama.cpp", "complete")  # fmt: skip
    assert (answer.prompt_tokens, answer.ttft_ms, answer.meta) == (20, 12.5, {"temperature": 0.7})
    assert answer.created_at.endswith("Z") and len(answer.created_at) == 24
    c = log.conversation(c.id)
    assert c.message_count == 2 and c.meta == {"ui": "tui"}
    assert c.updated_at == answer.created_at
    assert c.title.startswith("How long should I proof") and len(c.title) <= 61
    assert c.title.endswith("…")
    assert [m.id for m in log.messages(c.id)] == [user.id, answer.id]


def test_title_is_kept_once_set(log):
    c = log.create_conversation(title="Bread")
    log.append(c.id, {"role": "user", "content": "hello"})
    assert log.conversation(c.id).title == "Bread"
    log.rename(c.id, "Sourdough")
    assert log.conversation(c.id).title == "Sourdough"


def test_content_parts_and_tool_calls(log):
    c = log.create_conversation()
    parts = [{"type": "text", "text": "Look:"}, {"type": "image_url", "image_url": {}}, "and"]
    m = log.append(c.id, {"role": "user", "content": parts})
    assert m.content == "Look:\nand"
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    call = log.append(c.id, {"role": "assistant", "content": None, "tool_calls": calls})
    result = log.append(c.id, {"role": "tool", "content": "42", "tool_call_id": "c1", "name": "f"})
    assert call.openai() == {"role": "assistant", "content": None, "tool_calls": calls}
    assert result.openai() == {"role": "tool", "content": "42", "tool_call_id": "c1", "name": "f"}
    assert m.openai() == {"role": "user", "content": "Look:\nand"}


@pytest.mark.parametrize(
    "message",
    [
        {"role": "robot", "content": "hi"},
        {"content": "hi"},
        {"role": "user", "content": 3},
        {"role": "user", "content": {"text": "hi"}},
        {"role": "assistant", "content": "x", "tool_calls": {"id": 1}},
        "hello",
    ],
)
def test_append_rejects_malformed_messages_and_writes_nothing(log, message):
    c = chat(log, "kept")
    with pytest.raises(ValueError):
        log.append(c.id, message)
    with pytest.raises(ValueError):
        log.append(c.id, {"role": "user", "content": "x"}, status="done")
    assert [m.content for m in log.messages(c.id)] == ["kept"]


def test_append_to_unknown_conversation(log):
    with pytest.raises(NotFound):
        log.append(new_id(), {"role": "user", "content": "x"})
    assert log.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0


def test_streaming_updates_then_finalise(log):
    c = chat(log, "Tell me about rye")
    m = log.append(c.id, {"role": "assistant", "content": ""}, status="streaming")
    for text in ["Rye", "Rye is a grass", "Rye is a grass grown as a grain"]:
        log.update(m.id, content=text)
    assert log.message(m.id).status == "streaming"
    log.update(m.id, status="complete", completion_tokens=9, duration_ms=50.0, meta={"a": 1})
    log.update(m.id, meta={"b": 2})
    done = log.message(m.id)
    assert (done.content, done.status, done.completion_tokens) == (
        "Rye is a grass grown as a grain", "complete", 9)  # fmt: skip
    assert done.meta == {"a": 1, "b": 2}
    assert [h.message.id for h in log.search("grain")] == [m.id]
    log.update(m.id, content="Rye bread is dense")
    assert log.search("grain") == [] and len(log.search("dense")) == 1
    with pytest.raises(NotFound):
        log.update(new_id(), content="x")


def test_history_leaves_out_errors_and_empty_assistant_turns(log):
    c = log.create_conversation()
    log.append(c.id, {"role": "system", "content": "Be brief."})
    log.append(c.id, {"role": "user", "content": "hi"})
    log.append(c.id, {"role": "assistant", "content": "boom"}, status="error")
    log.append(c.id, {"role": "assistant", "content": ""}, status="interrupted")
    log.append(c.id, {"role": "assistant", "content": "Hel"}, status="interrupted")
    log.append(c.id, {"role": "user", "content": "go on"})
    assert log.history(c.id) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hel"},
        {"role": "user", "content": "go on"},
    ]


def test_ids_can_be_given_by_unique_prefix(log):
    c = chat(log, "hello")
    assert log.conversation(c.id[:12].upper()) == c
    assert log.messages(c.id[:20])[0].content == "hello"
    for twin in ("0000aaaa000000000000000001", "0000aaaa000000000000000002"):
        log.db.execute(
            "INSERT INTO conversations (id, created_at, updated_at) VALUES (?, 'x', 'x')", [twin]
        )
    with pytest.raises(AmbiguousId) as e:
        log.conversation("0000aaaa")
    assert "0000aaaa000000000000000001" in e.value.hint
    assert log.conversation("0000aaaa000000000000000002").id.endswith("2")
    for bad in ("7zzz", "zzzzzzzz", "abc", "a*b%c", ""):
        with pytest.raises(NotFound) as e:
            log.conversation(bad)
        assert e.value.hint


def test_conversations_are_listed_most_recent_first(log):
    a, b, c = chat(log, "a"), chat(log, "b"), chat(log, "c")
    log.append(a.id, {"role": "assistant", "content": "again"})
    assert [x.id for x in log.conversations()] == [a.id, c.id, b.id]
    assert [x.id for x in log.conversations(limit=1, offset=1)] == [c.id]


def test_forget_removes_messages_feedback_and_search_entries(log):
    keep, drop = chat(log, "keep the rye", "ok"), chat(log, "forget the rye", "ok")
    log.add_feedback(log.messages(drop.id)[1].id, "rating", "-1")
    assert len(log.search("rye")) == 2
    assert log.forget(drop.id[:10]) == 2
    assert [c.id for c in log.conversations()] == [keep.id]
    assert [h.conversation.id for h in log.search("rye")] == [keep.id]
    assert log.db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 0
    fts = "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'forget'"
    assert log.db.execute(fts).fetchone()[0] == 0
    with pytest.raises(NotFound):
        log.forget(drop.id)
    assert log.forget_all() == 2
    assert log.conversations() == [] and log.search("rye") == []


# --- search and feedback ---------------------------------------------------------------
def test_search_ranks_highlights_and_names_the_conversation(log):
    c = chat(log, "I baked sourdough bread today", "Nice bread! Sourdough takes patience.")
    chat(log, "unrelated talk about the weather")
    hits = log.search("sourdough")
    assert {h.message.seq for h in hits} == {1, 2}
    assert all(h.conversation.id == c.id for h in hits)
    assert "**sourdough**" in hits[0].snippet.lower()
    assert [h.message.seq for h in log.search('"baked sourdough"')] == [1]
    assert len(log.search("bak*")) == 1  # FTS5 syntax works; "baked" stems to "bake"
    assert log.search("sourdough", limit=1)[0].message.conversation_id == c.id


@pytest.mark.parametrize(
    "query", ['"unbalanced', "AND", "bread AND", "bread(", "meta:bread", "*", "NEAR(", "^", "-"]
)
def test_search_never_crashes_on_bad_syntax(log, query):
    chat(log, "bread AND butter")
    assert isinstance(log.search(query), list)
    assert log.search("   ") == []


def test_feedback_is_linked_to_a_message(log):
    c = chat(log, "hi", "hello")
    reply = log.messages(c.id)[1]
    first = log.add_feedback(reply.id, "rating", "+1")
    log.add_feedback(reply.id, "edit", "Hello there!", meta={"by": "me"})
    records = log.feedback(reply.id)
    assert [(r["kind"], r["value"]) for r in records] == [
        ("rating", "+1"),
        ("edit", "Hello there!"),
    ]
    assert records[0]["id"] == first and records[1]["meta"] == {"by": "me"}
    with pytest.raises(NotFound):
        log.add_feedback(new_id(), "rating", "1")


# --- concurrency and failure -----------------------------------------------------------
def test_orphaned_streams_are_marked_interrupted(tmp_path):
    path = tmp_path / "log.db"
    script = (
        "import os, sys\nfrom personal.log import Log\n"
        "log = Log(sys.argv[1])\nc = log.create_conversation()\n"
        "log.append(c.id, {'role': 'assistant', 'content': 'half a sen'}, status='streaming')\n"
        "os._exit(0)  # crash mid-stream\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    with Log(path) as log:
        (conversation,) = log.conversations()
        mine = log.append(conversation.id, {"role": "assistant", "content": ""}, status="streaming")
        orphan = log.messages(conversation.id)[0]
        assert (orphan.status, orphan.content) == ("interrupted", "half a sen")
    with Log(path) as log:  # a stream of a live process (this one) is left alone
        assert log.message(mine.id).status == "streaming"


def test_a_file_that_is_not_sqlite_is_reported_not_replaced(tmp_path):
    path = tmp_path / "log.db"
    junk = os.urandom(4096)
    path.write_bytes(junk)
    with pytest.raises(DatabaseCorrupt) as e:
        Log(path)
    assert "mv" in e.value.hint and "a new log will be created" in e.value.hint
    assert str(path) in str(e.value)
    assert path.read_bytes() == junk


def test_a_locked_log_raises_database_locked_and_loses_nothing(tmp_path):
    path = tmp_path / "log.db"
    with Log(path) as log:
        c = chat(log, "before the lock")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        log = Log(path, timeout=0.2)  # WAL: opening and reading still work
        assert [m.content for m in log.messages(c.id)] == ["before the lock"]
        start = time.monotonic()
        with pytest.raises(DatabaseLocked) as e:
            log.append(c.id, {"role": "assistant", "content": "during"})
        assert 0.15 < time.monotonic() - start < 3
        assert e.value.hint
    finally:
        other.execute("ROLLBACK")
        other.close()
    log.append(c.id, {"role": "assistant", "content": "after"})
    assert [m.content for m in log.messages(c.id)] == ["before the lock", "after"]
    log.close()


def test_opening_a_locked_non_wal_database(tmp_path):
    path = tmp_path / "log.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseLocked):
            Log(path, timeout=0.2)
    finally:
        other.close()
    Log(path).close()  # and once the lock is gone it opens (and migrates) fine


def test_readers_are_not_blocked_by_a_writer(log):
    c = chat(log, "first")
    reader = sqlite3.connect(log.path, timeout=0.1)
    query = "SELECT content FROM messages ORDER BY seq"
    with log.transaction():
        log.append(c.id, {"role": "assistant", "content": "second"})
        assert reader.execute(query).fetchall() == [("first",)]  # no wait, no dirty read
    assert reader.execute(query).fetchall() == [("first",), ("second",)]
    reader.execute("BEGIN")
    reader.execute(query).fetchall()  # an open read transaction does not block the writer
    log.append(c.id, {"role": "user", "content": "third"})
    reader.close()


def test_threads_and_connections_append_without_clashing(log):
    c = log.create_conversation()
    second = Log(log.path)

    def work(target: Log, n: int) -> None:
        for i in range(n):
            target.append(c.id, {"role": "user", "content": f"m{i}"})

    threads = [threading.Thread(target=work, args=(t, 20)) for t in (log, log, second, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    second.close()
    assert [m.seq for m in log.messages(c.id)] == list(range(1, 81))
