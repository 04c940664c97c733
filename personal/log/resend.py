"""Conversations a client resends whole: which logged conversation a request continues.

A client of the OpenAI API sends the entire history with every request. After each answer
the server records, on the conversation, a digest of the history as the client will send it
next time, with the `seq` of the conversation's last message at that point
(`conversations.meta["resend"] = {digest: seq}`). A later request whose messages, less the
new ones at the end, have one of those digests continues that conversation at that point.

Digests cover role, text (trimmed), tool calls (name and parsed arguments, with their
ids) and tool-call ids — what a client resends faithfully — and chain message by message,
so every prefix of a request is looked up in one query.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from sqlite_utils import Database

KEY = "resend"


def canonical(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    calls = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        args = fn.get("arguments")
        with contextlib.suppress(ValueError):
            args = json.loads(args) if isinstance(args, str) else args
        calls.append([call.get("id"), fn.get("name"), args])
    return json.dumps([message.get("role"), (content or "").strip(), calls,
                       message.get("tool_call_id")], sort_keys=True, ensure_ascii=False)  # fmt: skip


def digests(messages: list[dict[str, Any]]) -> list[str]:
    """The digest of every prefix: `digests(m)[k]` covers `m[: k + 1]`."""
    out, h = [], ""
    for message in messages:
        h = hashlib.sha256((h + canonical(message)).encode()).hexdigest()
        out.append(h)
    return out


def find(db: Database, prefixes: list[str]) -> tuple[str, int, int] | None:
    """The conversation continued by the longest of `prefixes` (digests of a request's
    prefixes, shortest first): (conversation id, seq logged at that point, prefix length).
    The most recently updated conversation wins a tie."""
    if not prefixes:
        return None
    marks = ", ".join("?" * len(prefixes))
    rows = db.execute(
        f"SELECT c.id, j.key, j.value FROM conversations c, json_each(c.meta, '$.{KEY}') j "
        f"WHERE c.source = 'api' AND j.key IN ({marks}) ORDER BY c.updated_at DESC",
        prefixes,
    ).fetchall()
    if not rows:
        return None
    where = {d: i for i, d in enumerate(prefixes)}
    conversation_id, digest, seq = max(rows, key=lambda r: where[r[1]])  # stable: newest first
    return conversation_id, int(seq), where[digest] + 1


def remember(db: Database, conversation_id: str, digest: str, seq: int) -> None:
    """Record that the client's history `digest` ends at message `seq` (inside a
    transaction)."""
    db.execute(
        f"UPDATE conversations SET meta = json_set(meta, '$.{KEY}.' || json_quote(?), ?) "
        "WHERE id = ?",
        [digest, seq, conversation_id],
    )


def last_seq(db: Database, conversation_id: str) -> int:
    return db.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = ?", [conversation_id]
    ).fetchone()[0]
