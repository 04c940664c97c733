"""Importing Claude's data export: real exports (tests/data/exports/README.md), and the
2025 shape with content blocks and branches, built from its description (no licensed
sample of it exists)."""

from __future__ import annotations

import json
from pathlib import Path

from personal.log.imports.claude import EDITED, IMAGES, REASONING
from personal.log.transfer import import_file

EXPORTS = Path(__file__).parent / "data" / "exports" / "claude"


def test_an_old_export_without_content_blocks(log):
    report = import_file(log, EXPORTS / "simonw-claude-to-sqlite-example.json")
    assert (report.format, report.conversations, report.messages) == ("claude", 1, 2)
    assert dict(report.dropped) == {IMAGES: 1}  # the screenshot is not in the export
    (c,) = log.conversations()
    assert (c.title, c.source, c.meta) == ("Bash Command for OpenAI API", "import:claude",
                                           {"claude_id": "1db4c66e-b369-4e3a-96a9-6c16f8301ee8"})  # fmt: skip
    user, answer = log.messages(c.id)
    assert user.content == "Turn this into a bash command"
    assert answer.content.startswith("To turn this")  # claude.ai's leading space dropped


def test_messages_out_of_order_are_put_in_order(log):
    report = import_file(log, EXPORTS / "simonw-claude-to-sqlite-artifacts-first4msgs.json")
    assert dict(report.dropped) == {IMAGES: 5, REASONING: 1}  # 5 screenshots, 1 antThinking
    (c,) = log.conversations()
    messages = log.messages(c.id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "user"]
    assert messages[0].content.startswith("Built me an artifact")
    assert messages[-1].content.startswith("Add a onkeyup event")  # listed first, said last
    assert [m.created_at for m in messages] == sorted(m.created_at for m in messages)
    assert "<antThinking>" not in messages[1].content and "<antArtifact" in messages[1].content


def test_one_conversation_object_with_content_blocks(log):
    report = import_file(log, EXPORTS / "osteele-rendering-edge-cases.json")
    assert report.conversations == 1
    (c,) = log.conversations()
    messages = log.messages(c.id)
    contents = [m.content for m in messages]
    # `content` wins over `text` (which is a summary here); empty ones are not messages
    assert "This message has code blocks:\n\n```python" in contents[1]
    assert "This message has empty text in content item" not in contents
    call = next(m for m in messages if m.tool_calls)
    assert call.tool_calls[0]["function"]["name"] == "create_artifact"
    assert json.loads(call.tool_calls[0]["function"]["arguments"])["id"] == "test-js-artifact"
    assert "你好世界 🎉" in next(m.content for m in messages if "unicode" in (m.content or ""))


def block(kind: str, **fields):
    return {"type": kind, "start_timestamp": None, "stop_timestamp": None, **fields}


def message(uuid, sender, at, content, parent):
    return {"uuid": uuid, "text": "(the text field is not reliable)", "content": content,
            "sender": sender, "created_at": at, "updated_at": at, "attachments": [],
            "files": [], "parent_message_uuid": parent}  # fmt: skip


def test_the_2025_shape_thinking_tools_and_branches(log, tmp_path):
    root = "00000000-0000-4000-8000-000000000000"
    chat = [
        message("h1", "human", "2025-06-01T10:00:00.000000Z",
                [block("text", text="What's the weather in Paris?")], root),
        message("a1-old", "assistant", "2025-06-01T10:00:05.000000Z",
                [block("text", text="I cannot know that.")], "h1"),  # regenerated
        message("a1", "assistant", "2025-06-01T10:00:09.000000Z", [
            block("thinking", thinking="The user wants weather.", summaries=[]),
            block("text", text="Let me check."),
            block("tool_use", id="toolu_1", name="web_search", input={"query": "Paris weather"}),
            block("tool_result", tool_use_id="toolu_1", name="web_search",
                  content=[{"type": "text", "text": "Sunny, 24°C"}], is_error=False),
            block("token_budget"),
            block("text", text="It is sunny in Paris, 24°C."),
        ], "h1"),
        message("h2-old", "human", "2025-06-01T10:01:00.000000Z",
                [block("text", text="Thnaks")], "a1"),  # edited into h2
        message("h2", "human", "2025-06-01T10:01:30.000000Z", [block("text", text="Thanks!")], "a1"),
        message("a2", "assistant", "2025-06-01T10:01:35.000000Z",
                [block("text", text="You're welcome.")], "h2"),
    ]  # fmt: skip
    conversation = {"uuid": "conv-2025", "name": "Weather", "summary": "",
                    "created_at": "2025-06-01T09:59:59.000000Z",
                    "updated_at": "2025-06-01T10:01:35.000000Z", "account": {"uuid": "acc"},
                    "chat_messages": chat[::-1]}  # newest first, as real exports can be  # fmt: skip
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conversation]))
    report = import_file(log, path)
    assert dict(report.dropped) == {REASONING: 1, EDITED: 1}
    (c,) = log.conversations()
    messages = log.messages(c.id)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "What's the weather in Paris?"),
        ("assistant", "I cannot know that."),  # kept, rejected
        ("assistant", "Let me check."),  # with its tool call
        ("tool", "Sunny, 24°C"),
        ("assistant", "It is sunny in Paris, 24°C."),
        ("user", "Thanks!"),
        ("assistant", "You're welcome."),
    ]
    assert messages[2].tool_calls[0]["id"] == messages[3].tool_call_id == "toolu_1"
    assert log.answer_state(messages[1].id).replaced_by == messages[4].id
    assert [m["role"] for m in log.history(c.id)] == [
        "user", "assistant", "tool", "assistant", "user", "assistant"]  # fmt: skip
    assert import_file(log, path).messages == 0  # known again by its uuid
