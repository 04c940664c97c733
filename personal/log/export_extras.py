"""Preferences, notes and scan marks in the JSONL export, and back.

A dataset must be rebuildable from an export alone, so what the log knows about the
person travels with it (feedback already rides on each message):

- on a conversation's line, under "personal": the preferences extracted from it, the
  notes saved from its messages, and which of its messages the extractor has read
  ("scanned"), so a later scan neither repeats nor revives a deleted preference;
- on a last line, ``{"type": "profile", "messages": [], "preferences": [...], "notes":
  [...]}``: the preferences and notes added by hand. Its empty "messages" keeps the line
  readable by tools that expect chat JSONL.

Import restores them keyed by id: a record whose id is already in the log is skipped, so
importing twice is harmless. Notes and scan marks come back as they were; a preference
comes back as an inert candidate (see personal/log/preferences.py): a file must not be
able to steer training until the person confirms what it says they want.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from personal.log import preferences, records
from personal.log.ids import is_id, new_id, now, to_epoch_ms

NOTE_COLUMNS = ("id", "text", "tags", "source_message_id", "created_at", "updated_at", "meta")


def _notes(db: Database, rest: str, params: list) -> list[dict]:
    select = ", ".join(f"t.{c}" for c in NOTE_COLUMNS)
    rows = records.dicts(db.execute(f"SELECT {select} FROM notes t {rest}", params))
    for row in rows:
        row["tags"], row["meta"] = json.loads(row["tags"]), json.loads(row["meta"])
    return rows


# --- export ----------------------------------------------------------------------------
def for_conversation(db: Database, conversation_id: str) -> dict:
    """The "personal" section of a conversation's line ({} when there is nothing)."""
    from_conversation = (
        "JOIN messages m ON m.id = t.source_message_id WHERE m.conversation_id = ? ORDER BY t.id"
    )
    section = {
        "preferences": preferences.rows(
            db, "WHERE p.conversation_id = ? ORDER BY p.stated_at, p.created_at, p.id",
            [conversation_id],
        ),
        "notes": _notes(db, from_conversation, [conversation_id]),
        "scanned": preferences.scanned_in(db, conversation_id),
    }
    return {key: value for key, value in section.items() if value}


def profile(db: Database) -> dict | None:
    """The profile line: what was added by hand (None when there is nothing)."""
    prefs = preferences.rows(
        db, "WHERE p.conversation_id IS NULL ORDER BY p.stated_at, p.created_at, p.id"
    )
    notes = _notes(db, "WHERE t.source_message_id IS NULL ORDER BY t.id", [])
    if not prefs and not notes:
        return None
    return {"type": "profile", "messages": [], "preferences": prefs, "notes": notes}


# --- import ----------------------------------------------------------------------------
def parse(section: Any) -> dict:
    """Check a "personal" section or a profile line; ValueError says what is wrong."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ValueError('"personal" must be an object')
    out = {
        "preferences": [_preference(p) for p in _list(section, "preferences")],
        "notes": [_note(n) for n in _list(section, "notes")],
        "scanned": _list(section, "scanned"),
    }
    if not all(isinstance(s, str) for s in out["scanned"]):
        raise ValueError('"scanned" must be a list of message ids')
    return out


def _list(obj: dict, key: str) -> list:
    return records.typed(obj, key, list) or []


def _common(obj: Any, what: str) -> dict:
    if not isinstance(obj, dict):
        raise ValueError(f"each of {what} must be an object")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f'each of {what} needs a "text"')
    row = {"id": obj.get("id"), "text": text, "meta": records.typed(obj, "meta", dict) or {},
           "source_message_id": records.typed(obj, "source_message_id", str)}  # fmt: skip
    for key in ("created_at", "updated_at"):
        value = records.typed(obj, key, str)
        if value is not None:
            to_epoch_ms(value)  # ValueError if not a timestamp
        row[key] = value
    return row


def _preference(obj: Any) -> dict:
    row = _common(obj, '"preferences"')
    origin = obj.get("origin", "manual")
    if origin not in ("manual", "extracted"):
        raise ValueError(f"a preference's origin is 'manual' or 'extracted', not {origin!r}")
    active = obj.get("active", True)
    if not isinstance(active, (bool, int)):
        raise ValueError('a preference\'s "active" must be true or false')
    stated = records.typed(obj, "stated_at", str)
    if stated is not None:
        to_epoch_ms(stated)
    return {**row, "kind": records.typed(obj, "kind", str) or "other",
            "checker": records.typed(obj, "checker", dict), "origin": origin,
            "active": int(bool(active)), "stated_at": stated,
            "conversation_id": records.typed(obj, "conversation_id", str)}  # fmt: skip


def _note(obj: Any) -> dict:
    row = _common(obj, '"notes"')
    tags = records.typed(obj, "tags", list) or []
    if not all(isinstance(t, str) for t in tags):
        raise ValueError("a note's tags must be strings")
    return {**row, "tags": tags}


def write(
    db: Database,
    section: dict,
    exists: Callable[[str, str], bool],
    conversation_id: str | None = None,
    message_ids: dict[str, str] | None = None,
    grown: bool = False,
) -> tuple[list[str], int]:
    """Insert a parsed section; returns (the texts of the preference candidates written,
    the number of notes written). For a conversation's section, `message_ids` maps the
    file's message ids to the log's; for a conversation imported before (`grown`), the
    records already in the log are skipped rather than copied."""
    if not section:
        return [], 0

    def message(old: str | None) -> str | None:
        if old is None:
            return None
        if message_ids is not None:
            return message_ids.get(old)
        return old if exists("messages", old) else None

    written: dict[str, list[str]] = {"preferences": [], "notes": []}
    for table, rows in (("preferences", section["preferences"]), ("notes", section["notes"])):
        for row in rows:
            if is_id(row["id"]) and exists(table, row["id"]):
                if conversation_id is None or grown:
                    continue  # imported before
                row = {**row, "id": None}
            if table == "preferences":
                row = preferences.as_candidate(row, "an imported file")
            at = row["created_at"] or now()
            fixed = {
                **row, "id": row["id"] if is_id(row["id"]) else new_id(), "created_at": at,
                "updated_at": row["updated_at"] or at, "meta": json.dumps(row["meta"]),
                "source_message_id": message(row["source_message_id"]),
            }  # fmt: skip
            if table == "notes":
                fixed["tags"] = json.dumps(row["tags"])
            else:
                fixed["checker"] = None if row["checker"] is None else json.dumps(row["checker"])
                fixed["stated_at"] = row["stated_at"] or at
                linked = row["conversation_id"]
                if conversation_id is not None or not (linked and exists("conversations", linked)):
                    linked = conversation_id
                fixed["conversation_id"] = linked
            if table == "notes":
                records.insert(db, table, fixed)
            else:
                preferences.restore(db, fixed)
            written[table].append(row["text"])
    for old in section["scanned"]:
        if (scanned := message(old)) is not None:
            preferences.mark_scanned(db, scanned)
    return written["preferences"], len(written["notes"])
