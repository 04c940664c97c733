"""What a reader hands the import writer, and the helpers every reader uses.

A reader checks everything before anything is written: a problem is a `ValueError` (the
reader adds where it is) that becomes the typed `ImportFormatError`. What a reader leaves
out on purpose — reasoning, images, tool output no call asked for — is counted in
`Parsed.dropped` under a reason the person can read, so `personal import --dry-run` can
say what would not be imported, and why.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from personal.log.ids import from_epoch_ms, to_epoch_ms
from personal.log.records import ParsedConversation

LATEST_EPOCH_S = 253402300799  # 9999-12-31T23:59:59Z: the last moment an ISO year holds


@dataclass(frozen=True)
class Instruction:
    """Something the person told another assistant about themselves or their answers
    outside any chat (ChatGPT's custom instructions and memory). It becomes an inert
    preference candidate: nothing is trained on it until the person confirms it."""

    text: str
    source: str  # e.g. "ChatGPT custom instructions (about you)"
    kind: str  # "fact" (about the person) or "other" (how to answer)
    stated_at: str


@dataclass
class Parsed:
    """One import file, read and checked, nothing written yet."""

    format: str  # "openai-jsonl" | "chatgpt" | "claude" | "llm"
    path: str
    conversations: list[ParsedConversation] = field(default_factory=list)
    profiles: list[dict] = field(default_factory=list)  # our export's profile lines
    instructions: list[Instruction] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)  # reason -> how many


def message(
    role: str, content: str | None, *, id: str, created_at: str, tool_calls: list | None = None,
    tool_call_id: str | None = None, name: str | None = None, model: str | None = None,
    status: str = "complete", prompt_tokens: int | None = None,
    completion_tokens: int | None = None, duration_ms: float | None = None,
    meta: dict | None = None, feedback: list | None = None,
) -> dict:  # fmt: skip
    """A row for `messages` (plus its "feedback"), as the writer takes it."""
    return {
        "role": role, "content": content,
        "tool_calls": json.dumps(tool_calls, ensure_ascii=False) if tool_calls else None,
        "tool_call_id": tool_call_id, "name": name, "id": id, "created_at": created_at,
        "model": model, "model_fingerprint": None, "adapter": None, "backend": None,
        "status": status, "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens, "ttft_ms": None, "duration_ms": duration_ms,
        "meta": meta or {}, "feedback": feedback or [],
    }  # fmt: skip


def rejected(replaced_by: str | None, created_at: str) -> dict:
    """The feedback that marks an answer as regenerated (see personal/log/feedback.py)."""
    meta = {"replaced_by": replaced_by} if replaced_by else {}
    return {"kind": "regenerate", "value": None, "created_at": created_at, "meta": meta}


# --- timestamps ----------------------------------------------------------------------------
def epoch_ms(value: Any, what: str) -> int | None:
    """Milliseconds for an epoch-seconds number (None when missing); ValueError when it is
    not a finite number between 1970 and 9999."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'"{what}" must be a number of seconds, not {type(value).__name__}')
    if not math.isfinite(value) or not 0 <= value <= LATEST_EPOCH_S:
        raise ValueError(f'"{what}" is out of range: {value!r}')
    return int(round(value * 1000))


def iso_ms(value: Any, what: str) -> int | None:
    """Milliseconds for an ISO-8601 string (None when missing); ValueError otherwise."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f'"{what}" must be an ISO-8601 string, not {type(value).__name__}')
    try:
        ms = to_epoch_ms(value.strip())
    except (ValueError, OverflowError, OSError):
        raise ValueError(f'"{what}" is not an ISO-8601 timestamp: {value[:40]!r}') from None
    if not 0 <= ms <= LATEST_EPOCH_S * 1000:
        raise ValueError(f'"{what}" is out of range: {value[:40]!r}')
    return ms


def iso(ms: int) -> str:
    return from_epoch_ms(ms)


def canonical(value: Any, what: str) -> str | None:
    """An ISO-8601 string rewritten in the log's own form (UTC, milliseconds, "Z"), so
    timestamps keep sorting as strings."""
    ms = iso_ms(value, what)
    return None if ms is None else iso(ms)


def text_of(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f'"{what}" must be a string, not {type(value).__name__}')
    return value


def obj(value: Any, what: str) -> dict:
    """`value` if it is an object, {} when missing; ValueError for anything else."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f'"{what}" must be an object, not {type(value).__name__}')
    return value


def items(value: Any, what: str) -> list:
    """`value` if it is a list, [] when missing; ValueError for anything else."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f'"{what}" must be a list, not {type(value).__name__}')
    return value
