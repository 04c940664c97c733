"""Feedback on answers: what the person did with what the model wrote.

Rows of the `feedback` table (m003) about assistant messages. The kinds, and what they
mean for the conversation and for training:

- ``rating``: value ``"up"`` or ``"down"``. A later rating replaces the earlier one for
  the same message (`Log.rate` deletes it); rating ``None`` clears it. Older values
  ``"+1"``/``"1"`` and ``"-1"`` read as up and down.
- ``edit``: value = the text the person wanted instead. The original answer is kept
  untouched in `messages`; the latest edit is the preferred version, and `Log.history`
  sends it to the model in place of the original.
- ``regenerate``: recorded on the OLD answer, which the person rejected by asking for
  another. ``meta.replaced_by`` is the id of the answer that replaced it (filled in when
  that answer is appended). A rejected answer stays in the log, the export and
  `Log.messages` (a negative example for training) but leaves `Log.history`, so the
  conversation goes on from the new answer.
- ``copy``: value None; the person copied the answer (a weak positive).

Other kinds may be written with `Log.add_feedback`; they are kept and exported, and
ignored here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from personal.errors import InvalidSignal

RATING, EDIT, REGENERATE, COPY = "rating", "edit", "regenerate", "copy"
KINDS = (RATING, EDIT, REGENERATE, COPY)
UP, DOWN = "up", "down"
_RATINGS = {"up": UP, "+1": UP, "1": UP, "down": DOWN, "-1": DOWN}


@dataclass(frozen=True)
class AnswerState:
    """What the feedback on one answer adds up to (for the UI and for distillation)."""

    rating: str | None = None  # "up" | "down" | None
    edited_text: str | None = None  # the latest edit: the preferred version
    rejected: bool = False  # regenerated: a negative, left out of history()
    replaced_by: str | None = None  # the answer that replaced a rejected one
    copied: bool = False


def rating_value(value: str | None) -> str | None:
    """The rating a stored value means: "up", "down", or None if unknown."""
    return None if value is None else _RATINGS.get(value.strip().lower())


def fold(rows: list[tuple[str, str | None, str]]) -> AnswerState:
    """The state of an answer from its feedback rows (kind, value, meta), oldest first."""
    rating = edited = replaced_by = None
    rejected = copied = False
    for kind, value, meta in rows:
        if kind == RATING:
            rating = rating_value(value)
        elif kind == EDIT and value is not None:
            edited = value
        elif kind == REGENERATE:
            rejected = True
            replaced_by = json.loads(meta).get("replaced_by") or replaced_by
        elif kind == COPY:
            copied = True
    return AnswerState(rating, edited, rejected, replaced_by, copied)


_ROWS = (
    "SELECT f.message_id, f.kind, f.value, f.meta FROM feedback f "
    "JOIN messages m ON m.id = f.message_id WHERE {} ORDER BY f.created_at, f.id"
)


def states(db: Database, conversation_id: str) -> dict[str, AnswerState]:
    """The state of every message of a conversation that has feedback."""
    grouped: dict[str, list] = {}
    for message_id, *row in db.execute(_ROWS.format("m.conversation_id = ?"), [conversation_id]):
        grouped.setdefault(message_id, []).append(row)
    return {message_id: fold(rows) for message_id, rows in grouped.items()}


def state(db: Database, message_id: str) -> AnswerState:
    rows = db.execute(_ROWS.format("m.id = ?"), [message_id]).fetchall()
    return fold([tuple(r[1:]) for r in rows])


def answer(db: Database, message_id: str) -> tuple[str, int]:
    """(conversation id, seq) of an assistant message; InvalidSignal for other roles."""
    conversation_id, seq, role = db.execute(
        "SELECT conversation_id, seq, role FROM messages WHERE id = ?", [message_id]
    ).fetchone()
    if role != "assistant":
        raise InvalidSignal(
            f"message {message_id} is a {role} message, not an answer",
            hint="ratings, edits and regenerations are for the model's answers",
        )
    return conversation_id, seq


def to_reject(db: Database, message_id: str) -> list[str]:
    """The answers that regenerating from `message_id` rejects: it and the assistant
    messages after it in its turn (a tool call and the answer built on its result), less
    those already rejected. Only the latest turn can be regenerated: nothing the person
    said after it may depend on it."""
    conversation_id, seq = answer(db, message_id)
    later = db.execute(
        "SELECT id, role FROM messages WHERE conversation_id = ? AND seq > ? "
        "AND role IN ('user', 'assistant') ORDER BY seq",
        [conversation_id, seq],
    ).fetchall()
    if any(role == "user" for _, role in later):
        raise InvalidSignal(
            f"message {message_id} is not the latest answer of its conversation",
            hint="only the answer to the last question can be regenerated",
        )
    return [i for i in [message_id, *(i for i, _ in later)] if not state(db, i).rejected]


def link_replacement(db: Database, conversation_id: str, seq: int, new_id: str) -> None:
    """A new answer replaces the regenerated (rejected) answers before it that are not
    yet replaced."""
    db.execute(
        "UPDATE feedback SET meta = json_set(meta, '$.replaced_by', ?) "
        "WHERE kind = 'regenerate' AND json_extract(meta, '$.replaced_by') IS NULL "
        "AND message_id IN (SELECT id FROM messages WHERE conversation_id = ? AND seq < ?)",
        [new_id, conversation_id, seq],
    )


def in_history(messages: list, answer_states: dict[str, AnswerState]) -> list[dict]:
    """The OpenAI messages to send a model: failed turns, empty assistant turns (a
    stream cut off before its first word) and rejected answers (with the tool results
    of their tool calls) are left out; an edited answer is sent as edited."""
    out, dropped_calls = [], set()
    for m in messages:
        state = answer_states.get(m.id, AnswerState())
        if state.rejected and m.role == "assistant":
            dropped_calls |= {c.get("id") for c in m.tool_calls or [] if isinstance(c, dict)}
            continue
        said = m.content or m.tool_calls or state.edited_text
        if m.status == "error" or (m.role == "assistant" and not said):
            continue
        if m.role == "tool" and m.tool_call_id is not None and m.tool_call_id in dropped_calls:
            continue
        message = m.openai()
        if m.role == "assistant" and state.edited_text is not None:
            message["content"] = state.edited_text
        out.append(message)
    return out
