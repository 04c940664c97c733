"""Reading OpenAI chat JSONL: our own export, and anyone's chat or fine-tuning file.

One conversation per line, `{"messages": [...]}`, with what else a line may carry:
- fine-tuning files: top-level `tools` (kept with the conversation, the log's `tools`
  column), `parallel_tool_calls`, a `weight` per message; the legacy shape's `functions`,
  `function_call` and `role: "function"` replies are read as tools, `tool_calls` and
  `tool` messages;
- our export: ids, times and everything else under each message's "personal" key, the
  conversation's preferences, notes and scan marks, and a last "profile" line
  (export_extras.py).
A line of someone else's file has no identity of ours: it is known again on a later import
by its "id" if it has one, else by its content (`meta.import_key`; the second copy of an
identical line is a conversation of its own, known again as the second copy).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from personal.errors import ImportFormatError
from personal.log import export_extras as signals
from personal.log import records
from personal.log.ids import is_id, new_id, now
from personal.log.imports.parsed import Parsed, canonical, items, obj
from personal.log.imports.safejson import loads

MAX_TOOLS = 512  # tool schemas kept with one conversation


def parse(path: str, text: str) -> Parsed:
    parsed = Parsed("openai-jsonl", path)
    repeats: Counter = Counter()  # identical lines are distinct conversations
    # split on "\n" only: str.splitlines() would also split on U+2028 inside strings
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value, repaired = loads(line)
            if repaired:
                parsed.dropped["broken characters (lone UTF-16 surrogates) replaced by U+FFFD"] += 1
            if isinstance(value, dict) and value.get("type") == "profile":
                parsed.profiles.append((number, signals.parse(value)))
                continue
            conversation = _conversation(value)
            conversation.line = number
            if key := conversation.meta.get("import_key"):
                repeats[key] += 1
                if repeats[key] > 1:  # the k-th copy of a line is known again as the k-th
                    conversation.meta["import_key"] = f"{key}#{repeats[key]}"
            parsed.conversations.append(conversation)
        except json.JSONDecodeError as e:
            raise ImportFormatError(path, number, f"not valid JSON ({e.msg})") from None
        except (ValueError, TypeError) as e:
            raise ImportFormatError(path, number, str(e)) from None
    return parsed


def _conversation(line: Any) -> records.ParsedConversation:
    if not isinstance(line, dict):
        raise ValueError('a line must be a JSON object with a "messages" list')
    if not isinstance(line.get("messages"), list):
        raise ValueError(
            'no "messages" list' if "messages" not in line else '"messages" must be a list'
        )
    meta = records.typed(line, "meta", dict) or {}
    ours = is_id(line.get("id"))  # our own export: keep its ids and metadata
    tools = _tools(line)
    if not ours:
        if line.get("id") is not None:
            meta = {**meta, "source_id": line["id"]}  # how it is known again
        else:
            meta = {**meta, "import_key": _content_key(line)}
        if isinstance(line.get("parallel_tool_calls"), bool):
            meta["parallel_tool_calls"] = line["parallel_tool_calls"]
    messages, calls = [], {}  # calls: function name -> id of its latest legacy call
    for number, message in enumerate(line["messages"], start=1):
        try:
            messages.append(_message(_modern(message, number, calls)))
        except (ValueError, TypeError) as e:
            raise ValueError(f"message {number}: {e}") from None
    created_at = canonical(line.get("created_at"), "created_at") or (
        messages[0]["created_at"] if messages else None) or now()  # fmt: skip
    for m in messages:
        m["created_at"] = m["created_at"] or created_at
    if "title" in line:
        title = records.typed(line, "title", str)
    else:
        title = next(
            (records.title_from(m["content"]) for m in messages if m["role"] == "user"), None
        )
    return records.ParsedConversation(
        id=line["id"] if ours else new_id(),
        title=title,
        source=(records.typed(line, "source", str) if ours else None) or "import:openai-jsonl",
        created_at=created_at,
        updated_at=canonical(line.get("updated_at"), "updated_at")
        or max([created_at, *(m["created_at"] for m in messages)]),
        meta=meta,
        messages=messages,
        signals=signals.parse(line.get("personal")) if ours else {},
        tools=tools,
    )


def _content_key(line: dict) -> str:
    body = json.dumps([line.get("messages"), line.get("tools") or line.get("functions")],
                      sort_keys=True, ensure_ascii=False)  # fmt: skip
    return "jsonl-sha256:" + hashlib.sha256(body.encode("utf-8", "replace")).hexdigest()[:32]


def _tools(line: dict) -> list | None:
    """The tool schemas offered in the conversation (legacy `functions` as tools)."""
    tools = items(line.get("tools"), "tools")
    tools += [{"type": "function", "function": f} for f in items(line.get("functions"), "functions")]
    if len(tools) > MAX_TOOLS:
        raise ValueError(f"more than {MAX_TOOLS} tools")
    for tool in tools:
        function = obj(tool, "tools").get("function", tool)
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError('each of "tools" must be a function with a "name"')
    return tools or None


def _modern(message: Any, number: int, calls: dict[str, str]) -> Any:
    """A legacy `function_call` / `role: "function"` message in today's tool shape."""
    if not isinstance(message, dict):
        return message
    call = message.get("function_call")
    if call is not None and not message.get("tool_calls"):
        call = obj(call, "function_call")
        arguments = call.get("arguments", "{}")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        name = records.typed(call, "name", str) or "function"
        calls[name] = f"call_{number}"
        message = {k: v for k, v in message.items() if k != "function_call"}
        message["tool_calls"] = [{"id": calls[name], "type": "function",
                                  "function": {"name": name, "arguments": arguments}}]  # fmt: skip
    if message.get("role") == "function":
        name = records.typed(message, "name", str)
        message = {**message, "role": "tool", "tool_call_id": calls.get(name or "")}
    return message


def _message(message: Any) -> dict:
    row = records.parse_message(message)
    extra = records.typed(message, "personal", dict) or {}
    status = extra.get("status", "complete")
    records.check_status(status)
    feedback = records.typed(extra, "feedback", list) or []
    if not all(isinstance(f, dict) and isinstance(f.get("kind"), str) for f in feedback):
        raise ValueError('"feedback" must be a list of objects with a "kind"')
    for f in feedback:
        f["created_at"] = canonical(f.get("created_at"), "created_at")
        records.typed(f, "meta", dict)
    meta = records.typed(extra, "meta", dict) or {}
    weight = message.get("weight")
    if weight is not None:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ValueError('"weight" must be 0 or 1')
        meta = {**meta, "weight": weight}  # fine-tuning: 0 = not to be trained on
    return {
        **row,
        "id": extra["id"] if is_id(extra.get("id")) else new_id(),
        "created_at": canonical(extra.get("created_at"), "created_at"),
        **{
            k: records.typed(extra, k, str)
            for k in ("model", "model_fingerprint", "adapter", "backend")
        },
        # a stream exported mid-way will never finish here
        "status": "interrupted" if status == "streaming" else status,
        "prompt_tokens": records.typed(extra, "prompt_tokens", int),
        "completion_tokens": records.typed(extra, "completion_tokens", int),
        "ttft_ms": records.typed(extra, "ttft_ms", (int, float)),
        "duration_ms": records.typed(extra, "duration_ms", (int, float)),
        "meta": meta,
        "feedback": feedback,
    }
