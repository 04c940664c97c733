"""Importing ChatGPT's data export: real exports other people produced
(tests/data/exports/README.md), and the shapes they show, built here where no licensed
sample exists (code interpreter, memory)."""

from __future__ import annotations

import copy
import json
import re
import zipfile
from pathlib import Path

import pytest

from personal.log import Log
from personal.log.imports.chatgpt import EDITED, NO_CALL
from personal.log.imports.chatgpt_nodes import IMAGES, REASONING, clean
from personal.log.transfer import import_file
from personal.prefs import importing
from personal.prefs.preferences import Preferences

EXPORTS = Path(__file__).parent / "data" / "exports" / "chatgpt"
PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def conversation(log: Log, title: str):
    return next(c for c in log.conversations() if c.title == title)


def roles(log: Log, conversation_id: str) -> list[str]:
    return [m["role"] for m in log.history(conversation_id)]


def test_web_search_and_o3_mini_reasoning(log):
    report = import_file(log, EXPORTS / "enchanted-twin-conversations-first2.json")
    assert (report.format, report.conversations) == ("chatgpt", 2)
    assert dict(report.dropped) == {NO_CALL: 1}  # o3-mini's reasoning summary (a tool message)
    mice = conversation(log, "Best Mice for MacBook Pro")
    user, call, result, answer = log.messages(mice.id)
    assert user.content == "what are the mouse compatile with apple mac book pro 2023"
    # the search is what it was: a call to ChatGPT's web tool and its (empty) output
    assert call.tool_calls[0]["function"]["name"] == "web" and call.content is None
    assert "search(" in json.loads(call.tool_calls[0]["function"]["arguments"])["code"]
    assert (result.role, result.tool_call_id) == ("tool", call.tool_calls[0]["id"])
    # the answer, without ChatGPT's citation markers and image placeholders
    assert answer.content.startswith("The 2023 MacBook Pro is compatible")
    assert not PRIVATE_USE.search(answer.content) and "turn0news15" not in answer.content
    assert "image_fetch" not in answer.content and "**Logitech MX Master 3S**" in answer.content
    assert answer.model == "gpt-4o"
    agents = conversation(log, "Strategic LLM Agent System")
    assert roles(log, agents.id) == ["user", "assistant"]
    assert log.messages(agents.id)[1].model == "o3-mini"


def test_regenerated_answers_are_kept_rejected_and_edited_prompts_left_out(log):
    report = import_file(log, EXPORTS / "librechat-chatgpt-tree.json")
    assert dict(report.dropped) == {EDITED: 2}  # "so cool bro" and its answer
    (c,) = log.conversations()
    messages = log.messages(c.id)
    assert [m.content for m in messages if m.role == "user"] == [
        "hi there", "hi again", "tell me a joke"]  # the branch current_node selects
    old, new = messages[-2:]
    assert log.answer_state(old.id).rejected and log.answer_state(old.id).replaced_by == new.id
    assert not log.answer_state(new.id).rejected
    assert roles(log, c.id) == ["user", "assistant"] * 3  # the rejected one leaves history
    assert "so cool bro" not in json.dumps([m.content for m in messages])


def test_custom_instructions_become_candidates_not_messages(log):
    report = importing.import_file(log, EXPORTS / "librechat-modern-export.json")
    assert (report.conversations, report.skipped) == (2, 0)
    assert dict(report.dropped) == {
        'conversations the export holds no messages of (no "mapping")': 1}  # fmt: skip
    candidates = Preferences(log).candidates()
    assert [(p.text, p.kind) for p in candidates] == [
        ("The user is an SRE.", "fact"), ("Answer concisely.", "other")]  # fmt: skip
    assert all(not p.active for p in candidates)
    assert Preferences(log).list(active_only=True) == [] and Preferences(log).profile() == ""
    texts = [m.content for c in log.conversations() for m in log.messages(c.id)]
    assert not any("SRE" in t for t in texts)
    deploy = conversation(log, "Deploying the staging cluster")
    assert roles(log, deploy.id) == ["user", "assistant"] * 2


@pytest.mark.parametrize("name, answers", [
    ("pionxzh-thinking-summaries.json", ["answer 1", "answer 2"]),
    ("librechat-chatgpt-export-conv2-only.json", None),
])  # fmt: skip
def test_single_conversations_and_thinking_models(log, name, answers):
    report = import_file(log, EXPORTS / name)
    (c,) = log.conversations()
    said = [m for m in log.history(c.id) if m["role"] in ("user", "assistant") and m["content"]]
    assert [m["role"] for m in said] == ["user", "assistant"] * (len(said) // 2)
    if answers:  # the gpt-5 thinking export: one conversation object, not a list
        assert [m["content"] for m in said if m["role"] == "assistant"] == answers
        assert dict(report.dropped) == {REASONING: 6}
        calls = [m for m in log.messages(c.id) if m.tool_calls]
        assert [m.tool_calls[0]["function"]["name"] for m in calls] == ["web.run", "web.run"]
    else:
        assert "```csharp" in said[-1]["content"]


def test_images_are_left_out_and_counted(log):
    report = import_file(log, EXPORTS / "pionxzh-image-generation.json")
    dropped = dict(report.dropped)
    assert dropped[IMAGES] == 8 and dropped[REASONING] == 4
    (c,) = log.conversations()
    assert [m.content for m in log.messages(c.id) if m.role == "user"] == [
        "question 1", "question 2", "question 3", "question 4"]  # fmt: skip


def test_the_zip_member_named_exactly_conversations_json(log, tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("shared_conversations.json", "[]")  # listed first
        archive.writestr("user.json", '{"id": "user-1"}')
        archive.write(EXPORTS / "librechat-chatgpt-tree.json", "conversations.json")
    assert import_file(log, path).conversations == 1


# --- shapes seen only in unlicensed exports, built from their description -------------------
def node(nid, parent, children, role, content, **extra):
    message = {"id": nid, "author": {"role": role, **extra.pop("author", {})},
               "create_time": extra.pop("at", None), "content": content,
               "metadata": extra.pop("metadata", {}), "recipient": extra.pop("recipient", "all"),
               **extra}  # fmt: skip
    return nid, {"id": nid, "parent": parent, "children": children, "message": message}


def text(*parts):
    return {"content_type": "text", "parts": list(parts)}


def code_interpreter_export() -> list:
    """A 2025 conversation: custom instructions, two code-interpreter turns
    (`end_turn: false`, `recipient: python`, `execution_output`), memory."""
    mapping = dict([
        ("root", {"id": "root", "parent": None, "children": ["ctx"], "message": None}),
        node("ctx", "root", ["u1"], "user", {
            "content_type": "user_editable_context",
            "user_profile": "The user provided the following information about themselves. "
                            "...\nUser profile:\n```Preferred name: Sam\nI live in Berlin```",
            "user_instructions": "The user provided the additional info about how they would "
                                 "like you to respond:\n```- Call me Sam\n- No emojis```"},
             metadata={"is_visually_hidden_from_conversation": True,
                       "is_user_system_message": True}),
        node("u1", "ctx", ["a1"], "user", text("What is 17 * 23?"), at=1.7e9),
        node("a1", "u1", ["t1"], "assistant",
             {"content_type": "code", "language": "python", "text": "17 * 23"},
             recipient="python", end_turn=False, at=1.7e9 + 1),
        node("t1", "a1", ["a2"], "tool", {"content_type": "execution_output", "text": "391"},
             author={"name": "python"}, metadata={"aggregate_result": {"status": "success"}},
             at=1.7e9 + 2),
        node("a2", "t1", ["u2"], "assistant", text("17 × 23 = 391."), end_turn=True,
             metadata={"model_slug": "gpt-4o"}, at=1.7e9 + 3),
        node("u2", "a2", ["a3"], "user", text("Plot it"), at=1.7e9 + 10),
        node("a3", "u2", ["t2"], "assistant", text("Let me draw it."), end_turn=False,
             at=1.7e9 + 11),
        node("t2", "a3", ["a4"], "assistant",
             {"content_type": "code", "language": "python", "text": "plt.plot([391])"},
             recipient="python", end_turn=False, at=1.7e9 + 12),
        node("a4", "t2", ["a5"], "tool", {"content_type": "execution_output",
                                          "text": "<<ImageDisplayed>>"},
             author={"name": "python"}, at=1.7e9 + 13),
        node("a5", "a4", ["mem"], "assistant", text("Here is the plot."), end_turn=True,
             at=1.7e9 + 14),
        node("mem", "a5", [], "assistant", {"content_type": "model_editable_context",
             "model_set_context": "1. [2024-05-01]. Prefers metric units.\n"
                                  "2. [2024-06-02]. Is learning German."}),
    ])  # fmt: skip
    return [{"title": "Maths", "create_time": 1.7e9, "update_time": 1.7e9 + 20,
             "id": "conv-ci", "current_node": "mem", "mapping": mapping}]


def test_code_interpreter_turns_import_as_alternating_turns(log, tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(code_interpreter_export()))
    report = importing.import_file(log, path)
    (c,) = log.conversations()
    messages = log.messages(c.id)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "What is 17 * 23?"),
        ("assistant", None), ("tool", "391"), ("assistant", "17 × 23 = 391."),
        ("user", "Plot it"),
        ("assistant", "Let me draw it."), ("tool", "<<ImageDisplayed>>"),
        ("assistant", "Here is the plot."),
    ]
    assert messages[1].tool_calls[0]["function"] == {"name": "python",
                                                    "arguments": '{"code": "17 * 23"}'}  # fmt: skip
    # one answer per turn: the person's turns and the answers alternate
    said = [m.role for m in messages if m.role == "user" or (m.role == "assistant"
                                                              and not m.tool_calls)]  # fmt: skip
    assert said == ["user", "assistant"] * 2
    # custom instructions and memory: candidates, recognised where the extractor can
    texts = [p.text for p in Preferences(log).candidates()]
    assert tuple(texts) == report.proposed  # what the import said it proposed
    assert {"Call the user Sam.", "Do not use emojis.", "The user lives in Berlin.",
            "Prefers metric units.", "Is learning German."} <= set(texts)  # fmt: skip
    assert "Preferred name: Sam." in texts  # kept as it was: no rule recognises it
    name = next(p for p in Preferences(log).candidates() if p.kind == "name")
    assert name.checker == {"type": "name", "name": "Sam"}
    # importing it again proposes nothing new and adds nothing
    again = importing.import_file(log, path)
    assert (again.conversations, again.messages, again.preferences) == (0, 0, 0)


def test_citation_markers_are_stripped():
    cited = "Rye is hardy.\ue203 It grows north.\ue204 \ue200cite\ue202turn0search3\ue201\ue206"
    assert clean(cited) == "Rye is hardy. It grows north."
    assert clean("See 【3†Rye†wiki.org】 and 【{\"image_fetch\": \"rye\"}】\nthis") == "See  and this"


def test_a_grown_export_adds_only_the_new_turns(log, tmp_path):
    full = json.loads((EXPORTS / "librechat-chatgpt-export-conv2-only.json").read_text())
    older = copy.deepcopy(full)
    mapping = older[0]["mapping"]
    last, previous_user = older[0]["current_node"], None
    previous_user = mapping[last]["parent"]
    older[0]["current_node"] = mapping[previous_user]["parent"]  # before the last turn
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(older))
    assert (r := import_file(log, path)).messages == 2 and r.conversations == 1
    path.write_text(json.dumps(full))
    grown = import_file(log, path)
    assert (grown.conversations, grown.grown, grown.messages, grown.skipped) == (0, 1, 2, 0)
    (c,) = log.conversations()
    assert [m.role for m in log.messages(c.id)] == ["user", "assistant"] * 2
    assert [m.seq for m in log.messages(c.id)] == [1, 2, 3, 4]
    assert import_file(log, path).skipped == 1  # and then nothing more
