"""Property-based tests of the importers (issue 10).

- Random and adversarial files — arbitrary bytes, arbitrary JSON, and the shapes of
  ChatGPT, Claude and JSONL exports with any value in any field — never raise anything
  but ImportFormatError, and a file that is accepted always writes (checked with a dry
  run: the same inserts, rolled back).
- Well-formed exports whose every text is random (lone surrogates, control characters,
  empty strings included) are always accepted.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from personal.errors import ImportFormatError
from personal.log import Log
from personal.log.transfer import ImportReport, import_file
from personal.prefs import importing

SETTINGS = settings(max_examples=150, deadline=2000, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
text = st.text(st.characters(exclude_categories=()), max_size=20)  # lone surrogates included
scalars = st.none() | st.booleans() | st.integers() | st.floats() | text
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(text, inner, max_size=3), max_leaves=8)  # fmt: skip
plain = st.recursive(st.none() | st.booleans() | st.integers(-9, 9) | text,
                     lambda inner: st.dictionaries(text, inner, max_size=3), max_leaves=6)  # fmt: skip
ids = st.sampled_from(["root", "a", "b", "c", "d"])


def shapes(odds: int | None):
    """Strategies for ChatGPT conversations, Claude conversations and JSONL lines; with
    `odds`, one field in `odds` holds anything at all; without, every field is well-typed."""

    def maybe(strategy):
        return strategy if odds is None else st.one_of(*[strategy] * (odds - 1), values)

    epoch = maybe(st.none() | st.floats(0, 2e9) | st.integers(0, 2_000_000_000))
    iso = maybe(st.none() | st.sampled_from([
        "2024-10-18T05:30:20.458713Z", "2025-01-01T00:00:00Z", "2025-06-27T10:46:02.691+00:00"]))
    chatgpt_message = st.fixed_dictionaries({
        "id": maybe(ids),
        "author": maybe(st.fixed_dictionaries({
            "role": maybe(st.sampled_from(["user", "assistant", "system", "tool"])),
            "name": maybe(st.sampled_from([None, "python", "web", "a8km123"]))})),
        "create_time": epoch,
        "content": maybe(st.fixed_dictionaries({
            "content_type": maybe(st.sampled_from([
                "text", "multimodal_text", "code", "execution_output", "thoughts",
                "reasoning_recap", "user_editable_context", "model_editable_context",
                "tether_browsing_display"])),
            "parts": maybe(st.lists(text | st.just({"content_type": "image_asset_pointer"}),
                                    max_size=3)),
            "text": maybe(text), "user_profile": maybe(text), "model_set_context": maybe(text)})),
        "metadata": maybe(st.fixed_dictionaries({
            "is_visually_hidden_from_conversation": maybe(st.booleans()),
            "finish_details": maybe(st.fixed_dictionaries({"type": maybe(text)})),
            "model_slug": maybe(text)})),
        "recipient": maybe(st.sampled_from(["all", "python", "web.run"])),
        "end_turn": maybe(st.none() | st.booleans()),
    })  # fmt: skip

    @st.composite
    def chatgpt(draw):
        """A well-linked tree (a chain, with some siblings): turns and branches run."""
        messages = draw(st.lists(chatgpt_message, min_size=1, max_size=6))
        names = ["root", *(f"n{i}" for i in range(len(messages)))]
        mapping = {"root": {"id": "root", "parent": None, "children": [], "message": None}}
        for i, message in enumerate(messages):
            parent = names[draw(st.integers(max(0, i - 1), i))]
            mapping[names[i + 1]] = {"id": names[i + 1], "parent": parent, "children": [],
                                     "message": message}  # fmt: skip
            mapping[parent]["children"].append(names[i + 1])
        return {"title": draw(maybe(st.none() | text)), "create_time": draw(epoch),
                "id": draw(text), "current_node": draw(maybe(st.just(names[-1]))),
                "mapping": mapping}  # fmt: skip

    block = st.fixed_dictionaries({
        "type": maybe(st.sampled_from(["text", "thinking", "tool_use", "tool_result", "image"])),
        "text": maybe(text), "id": maybe(st.none() | text), "name": maybe(text),
        "input": maybe(st.dictionaries(text, plain, max_size=2)), "tool_use_id": maybe(text),
        "content": maybe(st.lists(st.fixed_dictionaries({"type": st.just("text"),
                                                         "text": maybe(text)}), max_size=2)),
    })  # fmt: skip
    claude_message = st.fixed_dictionaries({
        "uuid": ids, "sender": maybe(st.sampled_from(["human", "assistant"])),
        "text": maybe(text), "created_at": iso, "content": maybe(st.lists(block, max_size=4)),
        "parent_message_uuid": maybe(st.none() | ids),
        "attachments": maybe(st.lists(st.fixed_dictionaries({
            "file_name": maybe(text), "extracted_content": maybe(st.none() | text)}), max_size=2)),
    })  # fmt: skip
    claude = st.fixed_dictionaries({
        "uuid": st.text(min_size=1, max_size=8), "name": maybe(text), "created_at": iso,
        "account": st.just({"uuid": "a"}),
        "chat_messages": maybe(st.lists(claude_message, max_size=5, unique_by=lambda m: m["uuid"])),
        "current_leaf_message_uuid": maybe(st.none() | ids),
    })  # fmt: skip
    call = st.fixed_dictionaries({"id": text, "type": st.just("function"), "function":
                                  st.fixed_dictionaries({"name": text, "arguments": text})})  # fmt: skip
    openai_message = st.fixed_dictionaries({
        "role": maybe(st.sampled_from(["user", "assistant", "system", "tool"])),
        "content": maybe(st.none() | text | st.lists(st.fixed_dictionaries({
            "type": st.sampled_from(["text", "image_url"]), "text": text}), max_size=2)),
        "tool_calls": maybe(st.lists(call, max_size=2)), "weight": maybe(st.integers(0, 1)),
    })  # fmt: skip
    preference = st.fixed_dictionaries({
        "text": maybe(st.text(min_size=1, max_size=20).filter(str.strip)),
        "origin": maybe(st.sampled_from(["manual", "extracted"])), "active": maybe(st.booleans()),
        "checker": maybe(st.none() | st.fixed_dictionaries({  # well-formed, as check.problems says
            "type": st.sampled_from(["name", "max_words", "language", "signoff", "no_emoji"]),
            "name": st.text(min_size=1, max_size=9).filter(str.strip), "n": st.integers(1, 99),
            "language": st.sampled_from(["en", "fr", "de"]),
            "text": st.text(min_size=1, max_size=9).filter(str.strip)})),
    })  # fmt: skip
    line = st.fixed_dictionaries({
        "id": maybe(st.sampled_from(["01jc0000000000000000000001", "conv-1", "conv-2"])),
        "messages": maybe(st.lists(openai_message, max_size=4)),
        "tools": maybe(st.lists(st.fixed_dictionaries({"type": st.just("function"), "function":
                                st.fixed_dictionaries({"name": text})}), max_size=2)),
        "created_at": iso, "meta": maybe(st.dictionaries(text, plain, max_size=2)),
        "personal": maybe(st.fixed_dictionaries({"preferences": st.lists(preference, max_size=2)})),
    })  # fmt: skip
    profile = st.fixed_dictionaries({"type": st.just("profile"), "messages": st.just([]),
                                     "preferences": st.lists(preference, max_size=3)})  # fmt: skip
    return chatgpt(), claude, st.lists(line | profile, min_size=1, max_size=4)


LOOSE, STRICT = shapes(odds=12), shapes(odds=None)


@pytest.fixture(scope="module")
def fuzz_log():
    with tempfile.TemporaryDirectory() as d, Log(Path(d) / "log.db") as log:
        yield log


def attempt(log: Log, data: bytes | str, suffix: str = ".json") -> ImportReport | None:
    """Import as a dry run: the report, or None for a typed refusal. Anything else fails
    the test, and so does a write left behind."""
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as fp:
        fp.write(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    try:
        importing.refuse_bad_checkers(importing.read_import(fp.name))
        report = import_file(log, fp.name, dry_run=True)
        event(f"accepted, {'some' if report.messages else 'no'} messages")
        return report
    except ImportFormatError as e:
        assert e.path == fp.name and e.reason
        event("refused")
        return None
    finally:
        Path(fp.name).unlink()
        assert log.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0


def dumps(value) -> str:
    return json.dumps(value, allow_nan=True)  # NaN and Infinity get in, to be refused


@SETTINGS
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(fuzz_log, data):
    attempt(fuzz_log, data)


@SETTINGS
@given(value=values)
def test_arbitrary_json(fuzz_log, value):
    attempt(fuzz_log, dumps(value))


@SETTINGS
@given(export=st.lists(LOOSE[0], min_size=1, max_size=3) | LOOSE[0],
       claude=st.lists(LOOSE[1], min_size=1, max_size=2), lines=LOOSE[2])  # fmt: skip
def test_export_shapes_with_anything_anywhere(fuzz_log, export, claude, lines):
    attempt(fuzz_log, dumps(export))
    attempt(fuzz_log, dumps(claude))
    attempt(fuzz_log, "\n".join(dumps(x) for x in lines), suffix=".jsonl")


@SETTINGS
@given(export=st.lists(STRICT[0], min_size=1, max_size=3),
       claude=st.lists(STRICT[1], min_size=1, max_size=2), lines=STRICT[2])  # fmt: skip
def test_well_formed_exports_with_random_text_are_accepted(fuzz_log, export, claude, lines):
    assert attempt(fuzz_log, dumps(export)) is not None
    assert attempt(fuzz_log, dumps(claude)) is not None
    assert attempt(fuzz_log, "\n".join(dumps(x) for x in lines), suffix=".jsonl") is not None
