"""The tool-call format the model reads and writes, and its parser.

One text format for every base model, used identically at inference and in training data:
the available tools are described in the system prompt, a call is the JSON object
`{"name": ..., "arguments": {...}}` between `<tool_call>` and `</tool_call>`, and a tool's
result comes back as a message with role "tool". Small models can't decide on their own
when to call a tool; once one *starts* a call (emits OPEN), the engine completes the JSON
under a grammar built from the tools' schemas (`call_schema`), so a started call is always
well-formed. Whether to start one is what the personal adapter learns.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

OPEN, CLOSE = "<tool_call>", "</tool_call>"

TOOLS_PREAMBLE = (
    f'Tools: to call one, reply {OPEN}{{"name": ..., "arguments": {{...}}}}{CLOSE}, '
    "then answer from its result.\nAvailable tools:"
)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]

    def openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments)},
        }


@dataclass
class Parsed:
    """Text with its tool calls taken out: the prose before the first call, the calls,
    and what was wrong with any call that could not be read."""

    content: str
    calls: list[ToolCall] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def describe_tools(tools: list[dict[str, Any]]) -> str:
    """The system-prompt block listing OpenAI-shaped tool schemas, one short line each.

    Every prompt carries this block (and every training example: it is most of their
    tokens), so it stays compact: the description's first clause, then argument names,
    optional ones marked "?". The grammar, not this text, enforces argument types."""
    lines = [TOOLS_PREAMBLE]
    for tool in tools:
        fn = tool.get("function", tool)
        params = fn.get("parameters", {})
        required = set(params.get("required", []))
        args = ", ".join(k if k in required else f"{k}?" for k in params.get("properties", {}))
        lines.append(f"- {fn['name']}({args}): {_gist(fn.get('description', ''))}".rstrip(": "))
    return "\n".join(lines)


def _gist(description: str, limit: int = 60) -> str:
    """The first clause of a description, at most `limit` characters."""
    text = re.split(r"(?<=[.;:])\s|, e\.g\.|\s\(", description.strip(), maxsplit=1)[0].rstrip(".;:")
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def render_call(name: str, arguments: dict[str, Any]) -> str:
    return f"{OPEN}\n{json.dumps({'name': name, 'arguments': arguments})}\n{CLOSE}"


def to_text_messages(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Messages a plain chat template can render: tool calls as text, tools described in
    the system prompt (added, or appended to the first system message)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        m = dict(m)
        if m.get("role") == "assistant" and m.get("tool_calls"):
            calls = [_call_text(c) for c in m.pop("tool_calls")]
            m["content"] = "\n".join(filter(None, [m.get("content") or "", *calls]))
        m.pop("tool_call_id", None)
        m.pop("name", None)
        m["content"] = m.get("content") or ""
        out.append(m)
    if tools:
        block = describe_tools(tools)
        if out and out[0]["role"] == "system":
            out[0]["content"] = f"{out[0]['content']}\n\n{block}"
        else:
            out.insert(0, {"role": "system", "content": block})
    return out


def _call_text(call: dict[str, Any]) -> str:
    fn = call.get("function", {})
    args = fn.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return f"{OPEN}\n{args}\n{CLOSE}"
    return render_call(fn.get("name", ""), args)


_CALL = re.compile(re.escape(OPEN) + r"(.*?)(?:" + re.escape(CLOSE) + r"|\Z)", re.S)


def parse(text: str, call_ids: list[str] | None = None) -> Parsed:
    """Find tool calls in model output. Malformed or truncated calls become `errors`."""
    start = text.find(OPEN)
    if start < 0:
        return Parsed(text)
    parsed = Parsed(text[:start].rstrip())
    ids = iter(call_ids or [])
    for n, match in enumerate(_CALL.finditer(text, start)):
        body = match.group(1).strip()
        closed = match.group(0).endswith(CLOSE)
        try:
            obj = json.loads(body)
        except ValueError as e:
            what = "is cut off" if not closed else f"is not valid JSON ({e.msg})"
            parsed.errors.append(f"tool call {n + 1} {what}: {body[:80]!r}")
            continue
        name, args = (obj.get("name"), obj.get("arguments", {})) if isinstance(obj, dict) else (None, None)
        if not isinstance(name, str) or not isinstance(args, dict):
            parsed.errors.append(
                f'tool call {n + 1} must be {{"name": "...", "arguments": {{...}}}}: {body[:80]!r}'
            )
            continue
        parsed.calls.append(ToolCall(next(ids, f"call_{n}"), name, args))
    return parsed


def call_schema(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """JSON Schema for exactly one call to one of `tools` (for grammar-constrained decoding)."""
    alternatives = []
    for tool in tools:
        fn = tool.get("function", tool)
        params = dict(fn.get("parameters") or {"type": "object", "properties": {}})
        params.setdefault("additionalProperties", False)
        alternatives.append({
            "type": "object",
            "properties": {"name": {"const": fn["name"]}, "arguments": params},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        })  # fmt: skip
    return {"anyOf": alternatives} if len(alternatives) > 1 else alternatives[0]
