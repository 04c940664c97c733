"""Reading ChatGPT's data export (conversations.json) into conversations to import.

Each conversation is a tree of message nodes (edits and regenerations branch it);
`current_node` is the leaf the person last saw. We keep that branch, root first, and of
it only the visible text turns of the person, the assistant and the system.
"""

from __future__ import annotations

import json
import time
from typing import Any

from personal.errors import ImportFormatError
from personal.log import records
from personal.log.ids import from_epoch, id_at, to_epoch_ms
from personal.log.records import ParsedConversation, typed

CHATGPT_ROLES = ("system", "user", "assistant")  # tool turns are not kept
CHATGPT_TEXT = ("text", "multimodal_text")  # code, browsing, reasoning... are not


def parse_chatgpt(path: str, text: str) -> list[ParsedConversation]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ImportFormatError(path, e.lineno, f"not valid JSON ({e.msg})") from None
    if not data:
        raise ImportFormatError(path, None, "the file holds no conversations")
    parsed = []
    # the "line" of an error is the conversation's position in the array, from 1
    for index, conversation in enumerate(data, start=1):
        try:
            parsed.append(_chatgpt_conversation(conversation))
        except ValueError as e:
            title = conversation.get("title") if isinstance(conversation, dict) else None
            name = f"conversation {index}" + (f" ({title!r})" if isinstance(title, str) else "")
            raise ImportFormatError(path, index, f"{name}: {e}") from None
    return parsed


def _chatgpt_conversation(conv: Any) -> ParsedConversation:
    if not isinstance(conv, dict) or not isinstance(conv.get("mapping"), dict):
        raise ValueError('not a ChatGPT conversation (no "mapping" of messages)')
    created = _epoch(conv, "create_time") or time.time()
    key = str(conv.get("conversation_id") or conv.get("id") or f"{conv.get('title')}@{created}")
    messages, at = [], created
    for node in _chatgpt_branch(conv["mapping"], conv.get("current_node")):
        message = _chatgpt_message(node, at, key)
        if message is not None:
            messages.append(message)
            at = to_epoch_ms(message["created_at"]) / 1000
    first_user = next((m["content"] for m in messages if m["role"] == "user"), None)
    return ParsedConversation(
        id=id_at(int(created * 1000), key=f"chatgpt:{key}"),  # the same on every import
        title=typed(conv, "title", str) or records.title_from(first_user),
        source="import:chatgpt",
        created_at=from_epoch(created),
        updated_at=from_epoch(max(_epoch(conv, "update_time") or created, at)),
        meta={"chatgpt_id": key},
        messages=messages,
    )


def _chatgpt_branch(mapping: dict, current: Any) -> list[dict]:
    """The nodes from the root down to `current`: the branch the person last saw
    (edited and regenerated turns live on other branches)."""
    if current is None:  # older exports: take the last leaf
        leaves = [k for k, n in mapping.items() if isinstance(n, dict) and not n.get("children")]
        current = leaves[-1] if leaves else None
    chain: list[dict] = []
    seen: set[str] = set()
    while current is not None:
        if not isinstance(current, str) or current in seen:
            raise ValueError("its message tree is malformed (a bad or looping parent link)")
        node = mapping.get(current)
        if not isinstance(node, dict):
            raise ValueError(f"message node {current!r} is missing from its mapping")
        seen.add(current)
        chain.append(node)
        current = node.get("parent")
    return chain[::-1]


def _chatgpt_message(node: dict, fallback: float, key: str) -> dict | None:
    """A message row for a node, or None for nodes that are not visible text turns."""
    msg = node.get("message")
    if not msg:
        return None
    if not isinstance(msg, dict) or not isinstance(msg.get("author"), dict):
        raise ValueError(f"message node {node.get('id')!r} has no author")
    role, metadata = msg["author"].get("role"), msg.get("metadata") or {}
    content = msg.get("content") if isinstance(msg.get("content"), dict) else {}
    if (
        role not in CHATGPT_ROLES
        or metadata.get("is_visually_hidden_from_conversation")
        or (msg.get("recipient") or "all") != "all"  # an assistant turn addressed to a tool
        or content.get("content_type") not in CHATGPT_TEXT
    ):
        return None
    parts = content.get("parts") or []
    if not isinstance(parts, list):
        raise ValueError(f"message node {node.get('id')!r}: content parts must be a list")
    text = "\n".join(p for p in parts if isinstance(p, str))  # images etc. are dicts
    if not text.strip():
        return None
    at = _epoch(msg, "create_time") or fallback
    slug = metadata.get("model_slug")
    return {
        "role": role, "content": text, "tool_calls": None, "tool_call_id": None, "name": None,
        "id": id_at(int(at * 1000), key=f"chatgpt:{key}:{node.get('id') or msg.get('id')}"),
        "created_at": from_epoch(at),
        "model": slug if role == "assistant" and isinstance(slug, str) else None,
        "model_fingerprint": None, "adapter": None, "backend": None, "status": "complete",
        "prompt_tokens": None, "completion_tokens": None, "ttft_ms": None, "duration_ms": None,
        "meta": {}, "feedback": [],
    }  # fmt: skip


def _epoch(obj: dict, key: str) -> float | None:
    return typed(obj, key, (int, float))
