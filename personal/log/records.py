"""The log's record types, and the plumbing between them, SQL rows and OpenAI messages."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from personal.errors import AmbiguousId, NotFound
from personal.log.ids import ALPHABET
from personal.log.migrations import ROLES, STATUSES

TITLE_LENGTH = 60
MIN_PREFIX = 4  # shortest id prefix accepted
HIGHLIGHT = ("**", "**")  # around matched words in search snippets
TEXT_PART_TYPES = ("text", "input_text", "output_text")

CONVERSATION_SELECT = (
    "SELECT c.id, c.title, c.source, c.created_at, c.updated_at, "
    "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count, "
    "c.meta, c.tools FROM conversations c"
)
MESSAGE_COLUMNS = (
    "id, conversation_id, seq, role, content, tool_calls, tool_call_id, name, created_at, "
    "model, model_fingerprint, adapter, backend, status, prompt_tokens, completion_tokens, "
    "ttft_ms, duration_ms, meta"
)


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str | None
    source: str  # "chat", "import:openai-jsonl", "import:chatgpt", ...
    created_at: str
    updated_at: str
    message_count: int
    meta: dict
    tools: list | None = None  # tool schemas offered in it (OpenAI shape), if recorded


@dataclass(frozen=True)
class LoggedMessage:
    id: str
    conversation_id: str
    seq: int  # 1, 2, 3... within the conversation
    role: str
    content: str | None
    tool_calls: list | None
    tool_call_id: str | None
    name: str | None
    created_at: str
    model: str | None
    model_fingerprint: str | None
    adapter: str | None
    backend: str | None
    status: str  # "complete" | "streaming" | "interrupted" | "error"
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_ms: float | None
    duration_ms: float | None
    meta: dict

    def openai(self) -> dict:
        """The message in OpenAI chat shape, as a model is sent it."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = self.tool_calls
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclass(frozen=True)
class SearchHit:
    message: LoggedMessage
    conversation: Conversation
    snippet: str  # matched words wrapped in HIGHLIGHT


@dataclass
class ParsedConversation:
    """A conversation read from a file, checked, not yet written."""

    id: str
    title: str | None
    source: str
    created_at: str
    updated_at: str
    meta: dict
    messages: list[dict] = field(default_factory=list)  # rows for `messages`, + "feedback"
    signals: dict = field(default_factory=dict)  # preferences, notes, scanned (signals.py)
    tools: list | None = None  # the tool schemas offered in it (OpenAI shape)
    line: int | None = None  # where it is in its file (JSONL), for errors


# --- rows ------------------------------------------------------------------------------
def dicts(cursor: sqlite3.Cursor) -> list[dict]:
    keys = [d[0] for d in cursor.description]
    return [dict(zip(keys, row, strict=True)) for row in cursor]


def conversations(cursor: sqlite3.Cursor) -> list[Conversation]:
    return [
        Conversation(**{**r, "meta": json.loads(r["meta"]),
                        "tools": None if r["tools"] is None else json.loads(r["tools"])})
        for r in dicts(cursor)
    ]  # fmt: skip


def messages(cursor: sqlite3.Cursor) -> list[LoggedMessage]:
    return messages_from_dicts(dicts(cursor))


def messages_from_dicts(rows: list[dict]) -> list[LoggedMessage]:
    out = []
    for r in rows:
        tool_calls = None if r["tool_calls"] is None else json.loads(r["tool_calls"])
        out.append(LoggedMessage(**{**r, "tool_calls": tool_calls, "meta": json.loads(r["meta"])}))
    return out


def resolve(db: Database, table: str, id_or_prefix: str, what: str) -> str:
    """The full id for an id or a unique prefix of one (NotFound / AmbiguousId)."""
    key = id_or_prefix.strip().lower()
    if db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [key]).fetchone():
        return key
    hint = f"use the id shown in listings, or its first {MIN_PREFIX}+ characters"
    if len(key) < MIN_PREFIX or any(c not in ALPHABET for c in key):
        raise NotFound(f"no {what} has the id {id_or_prefix!r}", hint=hint)
    sql = f"SELECT id FROM {table} WHERE id >= ? AND id < ? ORDER BY id LIMIT 6"
    matches = [row[0] for row in db.execute(sql, [key, key + "~"])]  # "~" sorts after ids
    if not matches:
        raise NotFound(f"no {what} has an id starting with {id_or_prefix!r}", hint=hint)
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise AmbiguousId(
            f"{id_or_prefix!r} is the start of more than one {what} id",
            hint=f"type more characters; it matches {shown}",
        )
    return matches[0]


def search(db: Database, match: str, limit: int) -> list[SearchHit]:
    """Messages matching an FTS5 query, best first (sqlite3.OperationalError if the
    query is not valid FTS5)."""
    columns = ", ".join("m." + c for c in MESSAGE_COLUMNS.split(", "))
    rows = dicts(
        db.execute(
            f"SELECT {columns}, snippet(messages_fts, 0, ?, ?, '…', 12) AS snippet "
            "FROM messages_fts JOIN messages m ON m.num = messages_fts.rowid "
            "WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
            [*HIGHLIGHT, match, limit],
        )
    )
    snippets = [row.pop("snippet") for row in rows]
    found = messages_from_dicts(rows)
    ids = sorted({m.conversation_id for m in found})
    sql = f"{CONVERSATION_SELECT} WHERE c.id IN ({', '.join('?' * len(ids))})"
    by_id = {c.id: c for c in conversations(db.execute(sql, ids))}
    return [
        SearchHit(message=m, conversation=by_id[m.conversation_id], snippet=snippet)
        for m, snippet in zip(found, snippets, strict=True)
    ]


def insert(db: Database, table: str, row: dict) -> None:
    columns = ", ".join(row)
    values = ", ".join(f":{k}" for k in row)
    db.execute(f"INSERT INTO {table} ({columns}) VALUES ({values})", row)


def typed(obj: dict, key: str, kind: type | tuple[type, ...]) -> Any:
    """obj[key] if it is missing/null or of the right type; ValueError otherwise."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        names = " or ".join(t.__name__ for t in (kind if isinstance(kind, tuple) else (kind,)))
        raise ValueError(f'"{key}" must be {names}, not {type(value).__name__}')
    return value


# --- OpenAI messages -------------------------------------------------------------------
def content_text(content: Any) -> str | None:
    """Message content as text: a string, None, or a list of content parts whose text
    parts are joined with newlines (images and other parts are not logged)."""
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ValueError(f"content must be a string, null or a list of parts, not {_kind(content)}")
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type") in TEXT_PART_TYPES:
            if not isinstance(part.get("text"), str):
                raise ValueError("a text content part has no string 'text'")
            texts.append(part["text"])
        elif not isinstance(part, dict):
            raise ValueError(f"a content part must be an object, not {_kind(part)}")
    return "\n".join(texts)


def parse_message(message: Any) -> dict:
    """The columns for an OpenAI-shaped message; ValueError says what is wrong with it."""
    if not isinstance(message, dict):
        raise ValueError(f"a message must be an object, not {_kind(message)}")
    role = message.get("role")
    if role not in ROLES:
        raise ValueError(f"invalid role {role!r} (expected one of: {', '.join(ROLES)})")
    tool_calls = message.get("tool_calls")
    for key in ("tool_call_id", "name"):
        if message.get(key) is not None and not isinstance(message[key], str):
            raise ValueError(f"{key} must be a string, not {_kind(message[key])}")
    return {
        "role": role,
        "content": content_text(message.get("content")),
        "tool_calls": tool_calls_json(tool_calls),
        "tool_call_id": message.get("tool_call_id"),
        "name": message.get("name"),
    }


def tool_calls_json(tool_calls: Any) -> str | None:
    """The column value for a message's tool calls (None when there are none)."""
    if tool_calls is not None and not isinstance(tool_calls, list):
        raise ValueError(f"tool_calls must be a list, not {_kind(tool_calls)}")
    return json.dumps(tool_calls) if tool_calls else None


def check_status(status: Any) -> None:
    if status not in STATUSES:
        raise ValueError(f"invalid status {status!r} (expected one of: {', '.join(STATUSES)})")


def title_from(text: str | None) -> str | None:
    """A conversation title from its first user message: the first ~60 characters,
    cut at a word boundary."""
    words = " ".join((text or "").split())
    if len(words) <= TITLE_LENGTH:
        return words or None
    cut = words[:TITLE_LENGTH]
    if " " in cut[TITLE_LENGTH // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
