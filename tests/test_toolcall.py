"""The tool-call text format: rendering, parsing (valid, malformed, truncated), streaming."""

from __future__ import annotations

import json

import pytest

from personal.engine import GenerationParams, Usage
from personal.engine.fake import FakeEngine
from personal.engine.toolcall import (
    CLOSE,
    OPEN,
    ToolCall,
    call_schema,
    describe_tools,
    parse,
    render_call,
    to_text_messages,
)  # fmt: skip

CALC = {"type": "function", "function": {
    "name": "calc", "description": "Evaluate arithmetic.",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                   "required": ["expression"]}}}  # fmt: skip
NOW = {"type": "function", "function": {"name": "now", "description": "Current time.",
                                          "parameters": {"type": "object", "properties": {}}}}  # fmt: skip


def test_a_valid_call_is_parsed_and_the_prose_kept():
    text = "Let me compute. " + render_call("calc", {"expression": "17*23"})
    parsed = parse(text)
    assert parsed.content == "Let me compute."
    assert parsed.calls == [ToolCall("call_0", "calc", {"expression": "17*23"})]
    assert parsed.errors == []


def test_several_calls_in_one_message():
    text = render_call("calc", {"expression": "1+1"}) + "\n" + render_call("now", {})
    assert [c.name for c in parse(text).calls] == ["calc", "now"]


@pytest.mark.parametrize(
    "body,problem",
    [
        ('{"name": "calc", "arguments": {"expression": "1+1"', "cut off"),  # truncated, no CLOSE
        ('{"name": calc}' + CLOSE, "not valid JSON"),
        ('["calc"]' + CLOSE, "must be"),
        ('{"name": "calc", "arguments": "1+1"}' + CLOSE, "must be"),
        ("" + CLOSE, "not valid JSON"),
    ],
)
def test_malformed_and_truncated_calls_become_errors(body, problem):
    parsed = parse("Sure. " + OPEN + "\n" + body)
    assert parsed.calls == [] and parsed.content == "Sure."
    assert len(parsed.errors) == 1 and problem in parsed.errors[0]


def test_text_without_calls_is_untouched():
    assert parse("The tag <tool is not a call").content == "The tag <tool is not a call"


def test_history_with_tool_calls_renders_as_text_and_tools_join_the_system_prompt():
    call = ToolCall("c1", "calc", {"expression": "2*3"})
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "2*3?"},
        {"role": "assistant", "content": None, "tool_calls": [call.openai()]},
        {"role": "tool", "tool_call_id": "c1", "name": "calc", "content": "6"},
    ]
    out = to_text_messages(messages, [CALC])
    assert out[0]["content"].startswith("Be brief.\n\nTools: to call one")
    assert "- calc(expression): Evaluate arithmetic" in out[0]["content"]
    assert out[2] == {"role": "assistant", "content": render_call("calc", {"expression": "2*3"})}
    assert out[3] == {"role": "tool", "content": "6"}
    assert "Available tools:" not in to_text_messages(messages)[0]["content"]
    assert "tools" in describe_tools([CALC])


def test_call_schema_admits_exactly_the_tools():
    schema = call_schema([CALC, NOW])
    names = [alt["properties"]["name"]["const"] for alt in schema["anyOf"]]
    assert names == ["calc", "now"]
    assert call_schema([CALC])["properties"]["arguments"]["additionalProperties"] is False
    json.dumps(schema)


class Chunked(FakeEngine):
    """Yields its reply in fixed-size chunks, so tags arrive split."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def _generate(self, messages, params, cancel):
        self.calls.append(messages)
        reply = self._queue.popleft()
        for i in range(0, len(reply), self.size):
            yield reply[i : i + self.size]
        return Usage(1, len(reply), "stop")


@pytest.mark.parametrize("size", [1, 3, 7, 100])
def test_stream_hides_a_call_even_when_the_tag_arrives_in_pieces(size):
    engine = Chunked(size)
    text = "Checking. " + render_call("calc", {"expression": "17*23"})
    engine.enqueue(text)
    stream = engine.chat([{"role": "user", "content": "17*23?"}], GenerationParams(), tools=[CALC])
    shown = "".join(stream)
    assert shown == "Checking. "
    r = stream.result
    assert r.usage.finish_reason == "tool_calls"
    assert r.tool_calls[0].arguments == {"expression": "17*23"} and r.raw == text
    assert "calc(expression)" in engine.calls[-1][0]["content"]


def test_without_tools_call_markup_ends_the_answer_and_is_never_shown():
    engine = FakeEngine()
    engine.enqueue("a " + OPEN + " b")
    r = engine.chat([{"role": "user", "content": "x"}]).complete()
    assert r.text == "a " and r.tool_calls == []


def test_tool_descriptions_stay_short():
    long = {"type": "function", "function": {
        "name": "convert", "description": "Convert a quantity between units: length, mass (e.g. 5 mi to km). More.",
        "parameters": {"type": "object", "properties": {"value": {}, "unit": {}},
                       "required": ["value"]}}}  # fmt: skip
    assert describe_tools([long]).endswith("- convert(value, unit?): Convert a quantity between units")
