"""Importing simonw/llm's logs.db (made by running the real llm, both schemas) and OpenAI
fine-tuning JSONL other people published (tests/data/exports/README.md)."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from personal.errors import ImportFormatError
from personal.log import Log
from personal.log.imports.llm_db import IMAGES, REASONING
from personal.log.transfer import export_jsonl, import_file

EXPORTS = Path(__file__).parent / "data" / "exports"
LLM = EXPORTS / "llm"
FINETUNE = EXPORTS / "finetune"


def by_title(log: Log) -> dict:
    return {c.title: c for c in log.conversations()}


@pytest.mark.parametrize("name", ["logs-v0.31.1.db", "logs-v0.36.db"])
def test_both_llm_schemas(log, name):
    report = import_file(log, LLM / name)
    legacy = "0.31" in name
    assert report.format == "llm" and report.conversations == (5 if legacy else 6)
    assert dict(report.dropped) == ({IMAGES: 1} if legacy else {IMAGES: 1, REASONING: 1})
    convs = by_title(log)
    hello = convs["hello world"]
    said = log.messages(hello.id)
    assert [m.role for m in said] == ["user", "assistant"] * 2
    assert said[2].content == "second turn in the same conversation"  # `llm -c` continued it
    assert said[1].model == "echo" and json.loads(said[1].content)["prompt"] == "hello world"
    system = log.messages(convs["with a system prompt"].id)
    assert [(m.role, m.content) for m in system[:2]] == [
        ("system", "You are terse."), ("user", "with a system prompt")]  # fmt: skip
    fragment = next(c for t, c in convs.items() if "use the frag" in t)
    assert log.messages(fragment.id)[0].content == "fragment text here\n\nuse the fragment"
    tools = next(c for t, c in convs.items() if t.startswith('{"tool_calls"'))
    call, *results, answer = log.messages(tools.id)[1:]
    assert [c["function"]["name"] for c in call.tool_calls] == ["llm_version", "llm_time"]
    assert [r.role for r in results] == ["tool", "tool"]
    assert [r.tool_call_id for r in results] == [c["id"] for c in call.tool_calls]
    assert results[0].content == ("0.31.1" if legacy else "0.36")
    assert answer.role == "assistant"


def test_an_upgraded_llm_database_holds_both_and_adds_what_is_new(log):
    assert import_file(log, LLM / "logs-v0.31.1.db").conversations == 5
    report = import_file(log, LLM / "logs-v0.31.1-then-v0.36.db")  # the same file, later
    assert (report.conversations, report.skipped, report.grown) == (1, 5, 0)


def test_a_conversation_continued_in_llm_is_grown_on_reimport(log, tmp_path):
    db = tmp_path / "logs.db"
    shutil.copy(LLM / "grown-before.db", db)
    first = import_file(log, db)
    assert (first.conversations, first.messages) == (1, 4)
    shutil.copy(LLM / "grown-after.db", db)  # after `llm -c "which one makes better bread?"`
    report = import_file(log, db)
    assert (report.conversations, report.grown, report.messages) == (0, 1, 2)
    (c,) = log.conversations()
    assert [m.seq for m in log.messages(c.id)] == [1, 2, 3, 4, 5, 6]
    assert log.messages(c.id)[4].content == "which one makes better bread?"
    assert import_file(log, db).messages == 0


def test_a_database_that_is_not_llms_is_named(log, tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    with pytest.raises(ImportFormatError) as e:
        import_file(log, other)
    assert "not simonw/llm" in e.value.reason or "without simonw/llm" in e.value.reason
    # a view posing as llm's table could compute anything: refused
    view = tmp_path / "view.db"
    with sqlite3.connect(view) as conn:
        conn.execute("CREATE VIEW responses AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL "
                     "SELECT x + 1 FROM n) SELECT x AS id FROM n")  # fmt: skip
    with pytest.raises(ImportFormatError) as e:
        import_file(log, view)
    assert "is a view" in e.value.reason
    # a file that starts like SQLite and is not
    broken = tmp_path / "broken.db"
    broken.write_bytes((LLM / "logs-v0.36.db").read_bytes()[:5000])
    with pytest.raises(ImportFormatError):
        import_file(log, broken)
    assert log.conversations() == []


def test_wrongly_typed_llm_values_are_typed_errors(log, tmp_path):
    db = tmp_path / "logs.db"
    shutil.copy(LLM / "logs-v0.31.1.db", db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE responses SET prompt = x'00ff' WHERE prompt = 'hello world'")
        conn.execute("UPDATE responses SET datetime_utc = 'the day after' "
                     "WHERE prompt = 'with a system prompt'")  # fmt: skip
    with pytest.raises(ImportFormatError):
        import_file(log, db)
    assert log.conversations() == []


# --- OpenAI fine-tuning JSONL -------------------------------------------------------------
def test_fine_tuning_tools_are_kept_with_the_conversation(log, tmp_path):
    report = import_file(log, FINETUNE / "openai-cookbook-drone-training-first3.jsonl")
    assert (report.conversations, report.messages) == (3, 9)
    land = by_title(log)["Can you safely bring the drone down to the ground here?"]
    assert len(land.tools) == 16 and land.tools[0]["function"]["name"] == "takeoff_drone"
    assert land.meta["parallel_tool_calls"] is False
    call = log.messages(land.id)[-1]
    # double-encoded arguments stay as they were written
    assert call.tool_calls[0]["function"]["arguments"] == '"{\\"location\\": \\"current\\"}"'
    out = io.StringIO()
    export_jsonl(log, out, [land.id])
    line = json.loads(out.getvalue())
    assert line["tools"] == land.tools  # the export is a fine-tuning line again
    with Log(tmp_path / "fresh.db") as fresh:
        path = tmp_path / "again.jsonl"
        path.write_text(out.getvalue())
        import_file(fresh, path)
        (again,) = fresh.conversations()
        assert again.tools == land.tools and again.id == land.id
    # known again by its content: a second import adds nothing
    assert import_file(log, FINETUNE / "openai-cookbook-drone-training-first3.jsonl").skipped == 3


def test_legacy_functions_become_tools(log):
    report = import_file(log, FINETUNE / "azure-stock-functions-test-hallucination.jsonl")
    assert report.conversations == 10
    calls = [m for c in log.conversations() for m in log.messages(c.id) if m.tool_calls]
    assert len(calls) == 5 and all(m.content is None for m in calls)
    first = calls[0].tool_calls[0]
    assert first["type"] == "function" and json.loads(first["function"]["arguments"])
    tools = log.conversations()[0].tools
    assert {t["function"]["name"] for t in tools} >= {"get_current_stock_price"}
    assert all(t["type"] == "function" for t in tools)


def test_plain_chat_lines_and_a_line_that_grew(log, tmp_path):
    report = import_file(log, FINETUNE / "openai-cookbook-toy-chat-first4.jsonl")
    assert (report.conversations, report.messages) == (4, 16)
    assert any(m.role == "assistant" for c in log.conversations() for m in log.messages(c.id))
    path = tmp_path / "chat.jsonl"
    line = {"id": "chat-7", "messages": [{"role": "user", "content": "Hi"},
                                         {"role": "assistant", "content": "Hello."}]}  # fmt: skip
    path.write_text(json.dumps(line) + "\n")
    assert import_file(log, path).conversations == 1
    line["messages"] += [{"role": "user", "content": "Rye?"}, {"role": "assistant", "content": "A grain."}]
    path.write_text(json.dumps(line) + "\n")
    grown = import_file(log, path)
    assert (grown.grown, grown.messages) == (1, 2)
    line["messages"][0]["content"] = "Hello"  # an earlier turn changed: kept as it was
    path.write_text(json.dumps(line) + "\n")
    changed = import_file(log, path)
    assert (changed.messages, changed.skipped, len(changed.dropped)) == (0, 1, 1)


def test_identical_lines_are_distinct_conversations(log, tmp_path):
    line = json.dumps({"messages": [{"role": "user", "content": "2+2?"},
                                    {"role": "assistant", "content": "4"}]})  # fmt: skip
    path = tmp_path / "twice.jsonl"
    path.write_text(f"{line}\n{line}\n")  # a dataset may repeat an example on purpose
    assert import_file(log, path).conversations == 2
    assert (r := import_file(log, path)).conversations == 0 and r.skipped == 2
    path.write_text(f"{line}\n{line}\n{line}\n")
    assert import_file(log, path).conversations == 1  # the third copy is new
