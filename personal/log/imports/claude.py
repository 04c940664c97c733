"""Reading Claude's data export (claude.ai's conversations.json, or one conversation
object as the API and browser extensions save it) into conversations to import.

A conversation holds `chat_messages` from the "human" and the "assistant". Their order
in the file is not reliable (a newer message can come first), so they are ordered by
their parent links when the export has them (`parent_message_uuid`, walked from
`current_leaf_message_uuid` or the newest leaf; answers on other branches are kept as
regenerated, rejected ones), else by `index`, else by time. Since 2025 a message's
`content` blocks hold the whole turn: `text`, `thinking` (left out), `tool_use` and
`tool_result` (kept in the log's OpenAI shape), and the turn's last text is its answer;
older exports only have `text`, where `<antThinking>` asides are left out. Pasted
attachments are kept with the message they came with; images and files are not in an
export and are counted as left out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from personal.errors import ImportFormatError
from personal.log import records
from personal.log.ids import id_at
from personal.log.imports.parsed import (
    Parsed,
    canonical,
    iso,
    iso_ms,
    items,
    message,
    obj,
    rejected,
)
from personal.log.imports.safejson import check_depth
from personal.log.records import ParsedConversation

REASONING = "reasoning (thoughts, reasoning summaries)"
IMAGES = "images, audio and files (only the text of a message is kept)"
EDITED = "earlier versions of edited messages and their answers"
ROLES = {"human": "user", "user": "user", "assistant": "assistant"}
_THINKING = re.compile(r"<antThinking>.*?</antThinking>\s*", re.DOTALL)


def parse(path: str, data: Any) -> Parsed:
    conversations = [data] if isinstance(data, dict) else data
    parsed = Parsed("claude", path)
    for index, conv in enumerate(conversations, start=1):
        try:
            _conversation(conv, parsed)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            title = conv.get("name") if isinstance(conv, dict) else None
            name = f"conversation {index}" + (f" ({title!r})" if isinstance(title, str) else "")
            raise ImportFormatError(path, index, f"{name}: {e}") from None
    return parsed


def _conversation(conv: Any, parsed: Parsed) -> None:
    conv = obj(conv, "conversation")
    uuid = conv.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        raise ValueError('not a Claude conversation (no "uuid")')
    chat = [obj(m, "chat_messages") for m in items(conv.get("chat_messages"), "chat_messages")]
    created = iso_ms(conv.get("created_at"), "created_at")
    key = f"claude:{uuid}"
    ordered, others = _order(chat, conv.get("current_leaf_message_uuid"), parsed)
    model = conv.get("model") if isinstance(conv.get("model"), str) else None
    messages, at = [], created
    for m in ordered:
        at = iso_ms(m.get("created_at"), "created_at") or at or 0
        rows = _rows(m, key, at, model, parsed)
        for row in rows:
            if row["role"] == "assistant" and not row["tool_calls"]:
                for alt in others.get(str(m.get("uuid")), []):
                    alt_at = iso_ms(alt.get("created_at"), "created_at") or at
                    answer = [r for r in _rows(alt, key, alt_at, model, parsed)
                              if r["role"] == "assistant" and not r["tool_calls"]][-1:]  # fmt: skip
                    for r in answer:
                        r["feedback"] = [rejected(row["id"], r["created_at"])]
                    messages += answer
        messages += rows
    start = created if created is not None else (
        iso_ms(messages[0]["created_at"], "created_at") if messages else 0)  # fmt: skip
    first_user = next((m["content"] for m in messages if m["role"] == "user"), None)
    updated = canonical(conv.get("updated_at"), "updated_at")
    parsed.conversations.append(ParsedConversation(
        id=id_at(start, key=key), title=records.typed(conv, "name", str)
        or records.title_from(first_user), source="import:claude", created_at=iso(start),
        updated_at=max([updated or iso(start), *(m["created_at"] for m in messages)]),
        meta={"claude_id": uuid}, messages=messages,
    ))  # fmt: skip


def _order(chat: list[dict], leaf: Any, parsed: Parsed) -> tuple[list[dict], dict]:
    """The messages of the branch shown last, in order, and for each kept answer the
    answers it replaced (its assistant siblings off that branch)."""
    if not any(isinstance(m.get("parent_message_uuid"), str) for m in chat):
        indexed = all(isinstance(m.get("index"), int) for m in chat)

        def position(pair: tuple[int, dict]) -> tuple:
            i, m = pair
            if indexed:
                return (m["index"], i)
            return (iso_ms(m.get("created_at"), "created_at") or 0, m.get("sender") != "human", i)

        return [m for _, m in sorted(enumerate(chat), key=position)], {}
    by_id = {str(m.get("uuid")): m for m in chat}
    children: dict[str, list[dict]] = {}
    for m in chat:
        children.setdefault(str(m.get("parent_message_uuid")), []).append(m)
    if not isinstance(leaf, str) or leaf not in by_id:
        leaves = [m for m in chat if str(m.get("uuid")) not in children]
        newest = max(leaves, key=lambda m: iso_ms(m.get("created_at"), "created_at") or 0,
                     default={})  # fmt: skip
        leaf = str(newest.get("uuid"))
    path, seen = [], set()
    while leaf in by_id and leaf not in seen:
        seen.add(leaf)
        path.append(by_id[leaf])
        leaf = str(by_id[leaf].get("parent_message_uuid"))
    path.reverse()
    on_path = set(seen)
    replaced: dict[str, list[dict]] = {}
    for kept in path:
        for alt in children.get(str(kept.get("parent_message_uuid")), []):
            if str(alt.get("uuid")) in on_path:
                continue
            if kept.get("sender") == "assistant":
                replaced.setdefault(str(kept.get("uuid")), []).append(alt)
            else:
                parsed.dropped[EDITED] += 1
    return path, replaced


def _rows(m: dict, key: str, at: int, model: str | None, parsed: Parsed) -> list[dict]:
    """The log messages of one chat message: a person's message, or an assistant turn
    (its tool calls and results, then its answer)."""
    role = ROLES.get(m.get("sender"))  # type: ignore[arg-type]
    if role is None:
        parsed.dropped[f"messages from a {m.get('sender')!r} sender"] += 1
        return []
    uuid = str(m.get("uuid"))
    stamp = iso(at)
    blocks = m.get("content")
    if not isinstance(blocks, list) or (not blocks and not isinstance(m.get("text"), str)):
        blocks = [{"type": "text", "text": m.get("text") or ""}]
    out: list[dict] = []
    texts: list[str] = []
    calls: dict | None = None
    for n, block in enumerate(blocks):
        block = obj(block, "content block")
        kind = block.get("type")
        if kind == "text":
            text = block.get("text") or ""
            if not isinstance(text, str):
                raise ValueError(f'message {uuid}: a text block\'s "text" must be a string')
            if _THINKING.search(text):
                parsed.dropped[REASONING] += 1
                text = _THINKING.sub("", text)
            texts.append(text)
            calls = None
        elif kind == "thinking":
            parsed.dropped[REASONING] += 1
        elif kind == "tool_use":
            if calls is None:
                calls = message("assistant", "\n\n".join(t for t in texts if t.strip()) or None,
                                id=id_at(at, key=f"{key}:{uuid}:{n}"), created_at=stamp)  # fmt: skip
                calls["calls"], texts = [], []
                out.append(calls)
            call_id = block.get("id") if isinstance(block.get("id"), str) else f"toolu_{uuid}_{n}"
            arguments = json.dumps(check_depth(obj(block.get("input"), "input"), "a tool's input"),
                                   ensure_ascii=False)  # fmt: skip
            calls["calls"].append({"id": call_id, "type": "function", "function": {
                "name": str(block.get("name") or "tool"), "arguments": arguments}})  # fmt: skip
        elif kind == "tool_result":
            content = block.get("content")
            parts = [content] if isinstance(content, str) else [
                p.get("text") for p in items(content, "content") if isinstance(p, dict)]  # fmt: skip
            out.append(message("tool", "\n".join(p for p in parts if isinstance(p, str)),
                               id=id_at(at, key=f"{key}:{uuid}:{n}"), created_at=stamp,
                               tool_call_id=str(block.get("tool_use_id") or ""),
                               name=block.get("name") if isinstance(block.get("name"), str)
                               else None))  # fmt: skip
            calls = None
        elif kind != "token_budget":
            parsed.dropped[IMAGES if kind in ("image", "document", "voice_note")
                           else f"content of type {kind!r}"] += 1  # fmt: skip
    for row in out:
        if "calls" in row:
            row["tool_calls"] = records.tool_calls_json(row.pop("calls"))
    text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    if role == "user":
        text = _with_attachments(m, text, parsed)
    elif text.startswith(" "):
        text = text[1:]  # claude.ai's answers start with a space
    if text.strip():
        out.append(message(role, text, id=id_at(at, key=f"{key}:{uuid}"), created_at=stamp,
                           model=model if role == "assistant" else None))  # fmt: skip
    return out


def _with_attachments(m: dict, text: str, parsed: Parsed) -> str:
    """Pasted text travels with its message; images and files are not in the export."""
    parts = [text] if text.strip() else []
    for attachment in items(m.get("attachments"), "attachments"):
        attachment = obj(attachment, "attachment")
        content = attachment.get("extracted_content")
        if isinstance(content, str) and content.strip():
            parts.append(f"[{attachment.get('file_name') or 'attachment'}]\n{content}")
        else:
            parsed.dropped[IMAGES] += 1
    parsed.dropped[IMAGES] += len(items(m.get("files"), "files"))
    return "\n\n".join(parts)
