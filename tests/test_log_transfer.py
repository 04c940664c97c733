"""Export to JSONL and import from JSONL or a ChatGPT data export, all or nothing."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path

import pytest

from personal.errors import ImportFormatError, LogError
from personal.log import Log, transfer
from personal.log.imports.chatgpt_nodes import IMAGES
from personal.log.notes import Notes
from personal.log.transfer import ImportReport, export_jsonl, import_file
from personal.prefs.preferences import Preferences, scan

CHATGPT = Path(__file__).parent / "data" / "chatgpt_conversations.json"


def snapshot(log: Log) -> list:
    """Everything the log holds, comparable across an export/import."""
    scanned = "SELECT message_id FROM preference_scans ORDER BY message_id"
    return [
        [
            (c, [(m, log.feedback(m.id)) for m in log.messages(c.id)])
            for c in sorted(log.conversations(), key=lambda c: c.id)
        ],
        Preferences(log).list(),
        Notes(log).list(limit=100),
        log.db.execute(scanned).fetchall(),
    ]


def fill(log: Log) -> None:
    c = log.create_conversation(meta={"persona": "baker"})
    log.append(c.id, {"role": "system", "content": "Be kind."})
    log.append(c.id, {"role": "user", "content": 'Line\u2028separator, ünïcödé and "quotes"'})
    reply = log.append(
        c.id, {"role": "assistant", "content": "Sure."}, model="qwen", adapter="a7",
        backend="llama.cpp", prompt_tokens=9, completion_tokens=2, ttft_ms=3.5,
        duration_ms=10.0, meta={"seed": 1},
    )  # fmt: skip
    log.add_feedback(reply.id, "rating", "+1", meta={"via": "tui"})
    log.add_feedback(reply.id, "edit", "Sure thing.")
    calls = [{"id": "t1", "type": "function", "function": {"name": "now", "arguments": "{}"}}]
    log.append(c.id, {"role": "assistant", "content": None, "tool_calls": calls})
    log.append(c.id, {"role": "tool", "content": "noon", "tool_call_id": "t1", "name": "now"})
    log.append(c.id, {"role": "assistant", "content": "It is no"}, status="interrupted")
    log.append(c.id, {"role": "assistant", "content": "oops"}, status="error")
    d = log.create_conversation(title="Second", source="chat")
    question = log.append(d.id, {"role": "user", "content": "rye? And from now on, call me Sam."})
    log.create_conversation(title="Empty")
    # what the log knows about the person: extracted, derived and typed by hand
    assert [p.text for p in scan(log).new] == ["Call the user Sam."]
    Preferences(log).set_active(Preferences(log).add("Use bullet points.").id, False)
    Notes(log).add("Likes rye", tags=["food"], source_message_id=question.id)
    Notes(log).add("Typed by hand")


def test_export_forget_import_gives_back_the_same_log(log, tmp_path):
    fill(log)
    before = snapshot(log)
    path = tmp_path / "export.jsonl"
    with path.open("w", encoding="utf-8") as fp:
        assert export_jsonl(log, fp) == 3
    assert log.forget_all() == 8
    assert len(Preferences(log).list()) == 1 and len(Notes(log).list()) == 1  # typed ones
    report = import_file(log, path)
    assert report == ImportReport("openai-jsonl", 3, 8, 0, preferences=1, notes=1)
    # a preference from a file waits for the person: inert until confirmed
    (candidate,) = Preferences(log).candidates()
    assert candidate.text == "Call the user Sam." and not candidate.active
    assert "Sam" not in Preferences(log).profile()
    Preferences(log).confirm(candidate.id)
    assert snapshot(log) == before
    assert len(log.search("separator")) == 1
    # importing again changes nothing
    assert import_file(log, path) == ImportReport("openai-jsonl", 0, 0, 3)
    assert snapshot(log) == before
    assert scan(log).new == []  # the scan marks came back too


def test_an_export_rebuilds_a_fresh_log(log, tmp_path):
    fill(log)
    before = snapshot(log)
    path = tmp_path / "export.jsonl"
    with path.open("w", encoding="utf-8") as fp:
        export_jsonl(log, fp)
    *_, profile = [json.loads(line) for line in path.read_text().splitlines()]
    assert (profile["type"], profile["messages"]) == ("profile", [])
    assert [p["text"] for p in profile["preferences"]] == ["Use bullet points."]
    assert [n["text"] for n in profile["notes"]] == ["Typed by hand"]
    with Log(tmp_path / "fresh.db") as fresh:
        report = import_file(fresh, path)
        assert (report.conversations, report.preferences, report.notes) == (3, 2, 2)
        assert Preferences(fresh).list(active_only=True) == []  # both wait for the person
        for candidate in Preferences(fresh).candidates():
            Preferences(fresh).confirm(candidate.id)
        assert snapshot(fresh) == before  # the switched-off one is off again
    # exporting chosen conversations leaves the profile line out
    out = io.StringIO()
    second = next(c for c in log.conversations() if c.title == "Second")
    export_jsonl(log, out, [second.id])
    (line,) = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [p["text"] for p in line["personal"]["preferences"]] == ["Call the user Sam."]
    assert [n["text"] for n in line["personal"]["notes"]] == ["Likes rye"]
    assert line["personal"]["scanned"] == [line["messages"][0]["personal"]["id"]]


def test_export_is_openai_chat_jsonl(log):
    fill(log)
    first = log.conversations()[-1]
    out = io.StringIO()
    assert export_jsonl(log, out, [first.id[:10]]) == 1
    (line,) = out.getvalue().splitlines()  # U+2028 in a message is escaped
    record = json.loads(line)
    assert record["id"] == first.id and record["meta"] == {"persona": "baker"}
    roles = [m["role"] for m in record["messages"]]
    assert roles == ["system", "user", "assistant", "assistant", "tool", "assistant", "assistant"]
    reply = record["messages"][2]
    assert reply["content"] == "Sure." and "tool_calls" not in reply
    assert reply["personal"]["model"] == "qwen"
    assert [f["kind"] for f in reply["personal"]["feedback"]] == ["rating", "edit"]
    assert record["messages"][3]["tool_calls"][0]["id"] == "t1"


def test_import_plain_openai_jsonl(log, tmp_path):
    path = tmp_path / "train.jsonl"
    lines = [
        {"messages": [{"role": "user", "content": "What is rye?"},
                      {"role": "assistant", "content": [{"type": "text", "text": "A grain."}]}]},
        {"id": "conv-42", "messages": [{"role": "user", "content": "Hi"}], "tools": []},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(x) for x in lines[:1]) + "\n\n" + json.dumps(lines[1]))
    assert import_file(log, path) == ImportReport("openai-jsonl", 2, 3, 0)
    rye, hi = sorted(log.conversations(), key=lambda c: c.title)[::-1]
    assert (rye.title, rye.source, rye.message_count) == ("What is rye?", "import:openai-jsonl", 2)
    assert log.messages(rye.id)[1].content == "A grain."
    assert hi.meta == {"source_id": "conv-42"}


BAD_LINES = {
    "not valid JSON": '{"messages": [',
    'no "messages"': '{"conversation": []}',
    '"messages" must be a list': '{"messages": "hi"}',
    "must be a JSON object": "[1, 2]",
    "invalid role": '{"messages": [{"role": "robot", "content": "beep"}]}',
    "content must be": '{"messages": [{"role": "user", "content": 7}]}',
    "a message must be an object": '{"messages": ["hi"]}',
    "tool_calls must be a list": '{"messages": [{"role": "assistant", "tool_calls": {}}]}',
    "invalid status": '{"messages": [{"role": "user", "content": "x", "personal": {"status": "?"}}]}',
    'needs a "text"': '{"id": "01jc0000000000000000000001", "messages": [], '
    '"personal": {"preferences": [{"kind": "name"}]}}',
    "origin": '{"type": "profile", "preferences": [{"text": "x", "origin": "dreamt"}]}',
    "tags must be strings": '{"type": "profile", "notes": [{"text": "x", "tags": [1]}]}',
    "ISO-8601": '{"created_at": "yesterday", "messages": []}',
    '"meta" must be dict': '{"meta": [], "messages": []}',
}


@pytest.mark.parametrize("reason", BAD_LINES)
def test_a_malformed_line_imports_nothing(log, tmp_path, reason):
    good = json.dumps({"messages": [{"role": "user", "content": "fine"}]})
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{good}\n{good}\n{BAD_LINES[reason]}\n{good}\n")
    with pytest.raises(ImportFormatError) as e:
        import_file(log, path)
    assert (e.value.line, e.value.path) == (3, str(path))
    assert reason in e.value.reason
    assert f"{path}:3" in str(e.value) and "nothing" in e.value.hint
    assert log.conversations() == []


@pytest.mark.parametrize("content", [b"", b"  \n\n", b"\xff\xfe\x00garbage"])
def test_empty_or_binary_files_are_refused(log, tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(ImportFormatError) as e:
        import_file(log, path)
    assert e.value.line is None


def test_a_missing_file(log, tmp_path):
    with pytest.raises(LogError):
        import_file(log, tmp_path / "nope.jsonl")


def test_a_failure_while_writing_rolls_the_whole_file_back(log, tmp_path, monkeypatch):
    fill(log)
    out = io.StringIO()
    export_jsonl(log, out)
    log.forget_all()
    path = tmp_path / "export.jsonl"
    path.write_text(out.getvalue(), encoding="utf-8")
    calls = []

    def failing(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk fell off")
        return real(*args)

    real = transfer._feedback_row
    monkeypatch.setattr(transfer, "_feedback_row", failing)
    with pytest.raises(RuntimeError):
        import_file(log, path)
    assert log.conversations() == []
    assert log.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
    assert [p.text for p in Preferences(log).list()] == ["Use bullet points."]


# --- ChatGPT ---------------------------------------------------------------------------
def test_import_chatgpt_export(log):
    report = import_file(log, CHATGPT)
    assert report == ImportReport("chatgpt", conversations=2, messages=9, skipped=1,
                                  dropped=((IMAGES, 1),))  # fmt: skip
    bread, hi = sorted(log.conversations(), key=lambda c: c.created_at)
    assert (bread.title, bread.source) == ("Bread baking", "import:chatgpt")
    assert bread.created_at == "2023-11-14T22:13:20.000Z"
    assert bread.updated_at == "2023-11-14T22:21:40.000Z"
    messages = log.messages(bread.id)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "How do I bake bread?"),
        ("assistant", "An answer that was regenerated."),  # the other branch: rejected
        ("assistant", "Use flour, water, salt and yeast."),
        ("user", "What about this one?"),  # its image is left out, and counted
        ("assistant", None),  # the code-interpreter call ...
        ("tool", "a sourdough loaf"),  # ... and its output, in the log's OpenAI shape
        ("assistant", "That looks like sourdough."),
    ]
    assert messages[4].tool_calls[0]["function"] == {"name": "python",
                                                    "arguments": '{"code": "look(image)"}'}  # fmt: skip
    assert messages[5].tool_call_id == messages[4].tool_calls[0]["id"]
    assert log.answer_state(messages[1].id).rejected
    assert log.answer_state(messages[1].id).replaced_by == messages[2].id
    assert [m["content"] for m in log.history(bread.id)] == [
        "How do I bake bread?", "Use flour, water, salt and yeast.", "What about this one?",
        None, "a sourdough loaf", "That looks like sourdough."]  # fmt: skip
    assert messages[0].created_at == "2023-11-14T22:15:00.250Z"
    assert messages[2].model == "gpt-4o" and messages[0].model is None
    assert [m.created_at for m in messages] == sorted(m.created_at for m in messages)
    assert hi.title == "Hi there"
    assert [m.role for m in log.messages(hi.id)] == ["system", "user"]
    # the same export again (or a later one holding these) imports nothing twice
    assert import_file(log, CHATGPT) == ImportReport("chatgpt", 0, 0, 3, dropped=((IMAGES, 1),))


def test_import_chatgpt_zip(log, tmp_path):
    path = tmp_path / "chatgpt-export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("chat.html", "<html></html>")
        archive.write(CHATGPT, "conversations.json")
    assert import_file(log, path).conversations == 2


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda c: c.update(current_node="nowhere"), "missing"),
        (lambda c: c.pop("mapping"), "mapping"),
        (lambda c: c["mapping"]["a2"]["message"].update(author="me"), "no author"),
        (lambda c: c["mapping"]["a2"].update(parent="a3"), "loop"),
        (lambda c: c.update(create_time="noon"), "create_time"),
    ],
)
def test_a_malformed_chatgpt_conversation_imports_nothing(log, tmp_path, damage, reason):
    data = json.loads(CHATGPT.read_text())
    data[1] = copy.deepcopy(data[0]) | {"title": "Second", "id": "other"}  # to be damaged
    damage(data[1])
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ImportFormatError) as e:
        import_file(log, path)
    assert e.value.line == 2
    assert "conversation 2 ('Second')" in e.value.reason and reason in e.value.reason
    assert log.conversations() == []


def test_a_json_array_that_is_not_a_chatgpt_export(log, tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text("[]")
    with pytest.raises(ImportFormatError):
        import_file(log, path)
    path.write_text('[{"messages": []}]')
    with pytest.raises(ImportFormatError) as e:
        import_file(log, path)
    # the format is named (not blamed on its first line), with what to do about it
    assert e.value.line is None and "one per line (JSONL)" in e.value.reason
