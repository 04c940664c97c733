"""Hostile import files: devices, size and zip bombs, lone surrogates, deep nesting,
out-of-range numbers and wrongly typed fields each end in the typed ImportFormatError
naming the file, with nothing written (issue 10). The property-based tests are in
test_import_fuzz.py."""

from __future__ import annotations

import copy
import json
import os
import struct
import time
import zipfile
from pathlib import Path

import pytest

from personal.errors import ImportFormatError
from personal.log.transfer import import_file
from tests.test_import_chatgpt import code_interpreter_export

EXPORTS = Path(__file__).parent / "data" / "exports"
GOOD = json.dumps({"messages": [{"role": "user", "content": "fine"}]})


def refused(log, path, *args, **kwargs) -> ImportFormatError:
    with pytest.raises(ImportFormatError) as e:
        import_file(log, path, *args, **kwargs)
    assert e.value.path == str(path) and "nothing from this file was imported" in e.value.hint
    assert log.conversations() == []
    assert log.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
    return e.value


@pytest.mark.timeout(30)
def test_devices_pipes_and_folders_are_refused_before_reading(log, tmp_path):
    start = time.monotonic()
    assert "not a regular file" in refused(log, Path("/dev/zero")).reason
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it would wait for a writer forever
    assert "not a regular file" in refused(log, fifo).reason
    assert "a folder" in refused(log, tmp_path).reason
    assert time.monotonic() - start < 5


def test_a_file_over_the_size_limit(log, tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text(GOOD + "\n" + " " * 2_000_000)
    error = refused(log, path, max_bytes=1_000_000)
    assert "more than the import limit of 977 KB" in error.reason or "limit" in error.reason
    assert "--max-size" in error.hint
    assert import_file(log, path).conversations == 1  # under the default limit


def zip_bomb(path: Path, size: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conversations.json", b"[" + b" " * size + b"]")


def test_zip_bombs(log, tmp_path):
    bomb = tmp_path / "bomb.zip"
    zip_bomb(bomb, 50_000_000)
    assert bomb.stat().st_size < 200_000  # 50 MB inside
    error = refused(log, bomb, max_bytes=1_000_000)
    assert "conversations.json is 48 MB" in error.reason
    # the same, lying about its size: reading stops at the declared size, the CRC fails
    liar = tmp_path / "liar.zip"
    zip_bomb(liar, 5_000_000)
    data = bytearray(liar.read_bytes())
    for header, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(header)
        data[at + size_at: at + size_at + 4] = struct.pack("<I", 100)
    liar.write_bytes(bytes(data))
    assert "damaged" in refused(log, liar, max_bytes=1_000_000).reason
    # and a zip without the export in it says what it holds
    empty = tmp_path / "photos.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("cat.jpg", b"\xff\xd8")
    assert "holds no conversations.json (it holds cat.jpg)" in refused(log, empty).reason


def test_lone_surrogates_are_replaced_and_reported(log, tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "cut \\ud83d emoji"}]}\n'
                    '{"messages": [{"role": "user", "content": "whole \\ud83d\\ude00 emoji"}]}\n')
    report = import_file(log, path)
    assert report.conversations == 2 and len(report.dropped) == 1
    texts = sorted(m.content for c in log.conversations() for m in log.messages(c.id))
    assert texts == ["cut \ufffd emoji", "whole 😀 emoji"]
    export = json.loads((EXPORTS / "chatgpt" / "librechat-chatgpt-tree.json").read_text())
    export[0]["title"] = "\ud800 title"
    current = export[0]["mapping"][export[0]["current_node"]]
    current["message"]["content"]["parts"] = ["a joke \udfff cut"]
    current["message"]["metadata"]["\udbff"] = "a key too"
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(export))  # written as ASCII escapes: \ud800
    report = import_file(log, path)
    assert report.conversations == 1 and any("surrogate" in r for r, _ in report.dropped)
    joke = next(c for c in log.conversations() if c.source == "import:chatgpt")
    assert joke.title == "\ufffd title"
    assert log.messages(joke.id)[-1].content == "a joke \ufffd cut"


@pytest.mark.parametrize("text, reason", [
    ("[" * 100_000 + "]" * 100_000, "nested"),
    (json.dumps({"messages": [], "meta": json.loads("[" * 70 + "]" * 70)}), "nested"),
    ('{"messages": [], "created_at": NaN}', "not a JSON number"),
    ('{"messages": [{"role": "user", "content": "x", "weight": 1e999}]}', "out of range"),
    ('{"messages": [], "n": ' + "9" * 5000 + "}", "digit"),
    ('{"messages": [], "created_at": "+275760-09-13T00:00:00Z"}', "ISO-8601"),
    ('{"messages": [], "created_at": "0001-01-01T00:00:00+14:00"}', "range"),
    ('{"messages": [{"role": "user", "content": "x", "personal": {"ttft_ms": "fast"}}]}', "ttft_ms"),
    ('{"messages": [{"role": "user", "content": "x", "personal": {"feedback": [{"kind": "rating", '
     '"meta": []}]}}]}', "meta"),
])  # fmt: skip
def test_json_that_parses_badly_or_nests_deeply(log, tmp_path, text, reason):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    assert reason in refused(log, path).reason


DAMAGES = [
    ("create_time out of range", lambda c: c.update(create_time=1e20)),
    ("create_time negative", lambda c: c.update(create_time=-5)),
    ("metadata a list", lambda c: c["mapping"]["a2"]["message"].update(metadata=[])),
    ("content a number", lambda c: c["mapping"]["u1"]["message"].update(content=5)),
    ("parts an object", lambda c: c["mapping"]["u1"]["message"]["content"].update(parts={})),
    ("recipient a number", lambda c: c["mapping"]["a1"]["message"].update(recipient=5)),
    ("author a list", lambda c: c["mapping"]["t1"]["message"].update(author=[])),
    ("node a string", lambda c: c["mapping"].update(t1="t1")),
    ("message time a string", lambda c: c["mapping"]["a2"]["message"].update(create_time="x")),
    ("finish_details a string",
     lambda c: c["mapping"]["a2"]["message"]["metadata"].update(finish_details="stop")),
    ("current_node a number", lambda c: c.update(current_node=7)),
]


@pytest.mark.parametrize("damage", [d for _, d in DAMAGES], ids=[n for n, _ in DAMAGES])
def test_wrongly_typed_chatgpt_fields(log, tmp_path, damage):
    export = code_interpreter_export()
    export.append(copy.deepcopy(export[0]) | {"id": "second", "title": "Second"})
    damage(export[1])
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(export))
    error = refused(log, path)
    assert error.line == 2 and "conversation 2 ('Second')" in error.reason


def test_wrongly_typed_claude_fields(log, tmp_path):
    good = json.loads((EXPORTS / "claude" / "simonw-claude-to-sqlite-example.json").read_text())
    for damage in (
        lambda c: c.update(created_at="yesterday"),
        lambda c: c.update(chat_messages={}),
        lambda c: c["chat_messages"][0].update(attachments="none"),
        lambda c: c["chat_messages"][0].update(content=[{"type": "text", "text": 5}]),
        lambda c: c["chat_messages"][0].update(content=[{"type": "tool_use", "input": [1]}]),
        lambda c: c["chat_messages"][1].update(created_at=12),
    ):
        export = copy.deepcopy(good)
        damage(export[0])
        path = tmp_path / "conversations.json"
        path.write_text(json.dumps(export))
        assert refused(log, path).line == 1


def test_unknown_formats_are_named(log, tmp_path):
    for name, says in (("fastchat-sharegpt-dummy-with-system-excerpt.json", "ShareGPT"),
                       ("librechat-openwebui-export.json", "Open WebUI")):  # fmt: skip
        error = refused(log, EXPORTS / "other" / name)
        assert says in error.reason and error.line is None and "ChatGPT" in error.hint
    page = tmp_path / "chat.html"
    page.write_text("<!DOCTYPE html><html><body>var jsonData = [...]</body></html>")
    assert "HTML" in refused(log, page).reason
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(64))
    assert "not UTF-8" in refused(log, binary).reason
    broken = tmp_path / "conversations.json"
    broken.write_text('[\n  {"title": "cut off",\n  "mapping": {')
    error = refused(log, broken)
    assert "not valid JSON at line 3" in error.reason and error.line is None


def test_deep_json_kept_by_the_log_is_refused_or_wrapped(log, tmp_path):
    deep = json.loads("[" * 100 + "]" * 100)
    claude = json.loads((EXPORTS / "claude" / "osteele-rendering-edge-cases.json").read_text())
    call = next(b for m in claude["chat_messages"] for b in m["content"] if b["type"] == "tool_use")
    call["input"] = {"deep": deep}  # would be stored as arguments training parses again
    path = tmp_path / "claude.json"
    path.write_text(json.dumps(claude))
    assert "nested more than 64 levels" in refused(log, path).reason
    export = code_interpreter_export()
    export[0]["mapping"]["a1"]["message"]["content"]["text"] = json.dumps({"x": deep})
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(export))
    import_file(log, path)  # a tool call's code is kept as code, not as nested arguments
    call = next(m for c in log.conversations() for m in log.messages(c.id) if m.tool_calls)
    assert json.loads(call.tool_calls[0]["function"]["arguments"]).keys() == {"code"}


@pytest.mark.parametrize("escaped, lone", [
    (r'"\ud83d\ude00"', False), (r'"\uD83D\uDE00"', False), ('"plain"', False),
    (r'"\ud83d x"', True), (r'"x \ude00"', True), (r'"\udc00\udc00"', True),
])  # fmt: skip
def test_only_lone_surrogate_escapes_are_repaired(escaped, lone):
    from personal.log.imports.safejson import _lone_escape, loads

    assert _lone_escape(escaped) is lone  # an emoji's pair costs no walk of the document
    value, repaired = loads(escaped, depth=False)
    assert repaired == int(lone) and value.encode("utf-8")
