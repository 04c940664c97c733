"""The preferences table and its scan marks: the one place that reads or writes them.

What a preference *means* (its kind, its checker, which statements count) is decided in
`personal.prefs`; this module only stores it. Everything that touches the `preferences`
or `preference_scans` tables — the preference API, the extractor's scan marks, the JSONL
export and import, and `Log.forget` — goes through these functions, so the column list
and the rules of the table live in one place:

- an extracted preference belongs to its conversation: `forget_conversations` deletes it
  (and the conversation's scan marks); a manual one stays, its source link cleared;
- a single-valued kind (a name, a sign-off, ...) has at most one active preference: the
  most recently *stated* one (`insert(..., single_valued=True)`);
- a preference that came from an imported file is a *candidate*: stored switched off
  (`active = 0`) with `meta.candidate = {"source", "active"}` (where it came from, and
  whether it is to be on once confirmed), so no query of active preferences — training,
  the profile, the single-valued rule — sees it until the person confirms it (`confirm`);
  `reject` keeps it, inert and marked, so importing the same file again proposes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from personal.log import records
from personal.log.ids import new_scattered_id, now

COLUMNS = ("id", "text", "kind", "checker", "origin", "source_message_id", "conversation_id",
           "active", "stated_at", "created_at", "updated_at", "meta")  # fmt: skip
_SELECT = ", ".join(f"p.{c}" for c in COLUMNS)


@dataclass(frozen=True)
class Preference:
    id: str
    text: str
    kind: str
    checker: dict | None
    origin: str  # "extracted" | "manual"
    source_message_id: str | None
    conversation_id: str | None
    active: bool
    created_at: str
    updated_at: str
    stated_at: str  # when the person said it (the source message's time for extracted ones)
    meta: dict

    @property
    def confirmed(self) -> bool:
        """False for a candidate that waits for the person (an imported instruction)."""
        return not self.meta.get("candidate", False)

    @property
    def rejected(self) -> bool:
        """A candidate the person turned down (kept so it is not proposed again)."""
        candidate = self.meta.get("candidate")
        return isinstance(candidate, dict) and bool(candidate.get("rejected"))


# --- reading -----------------------------------------------------------------------------
def rows(db: Database, rest: str = "", params: list | None = None) -> list[dict[str, Any]]:
    """Raw rows (JSON columns decoded, `active` a bool) of `SELECT ... FROM preferences p
    {rest}`; the export writes these as they are."""
    out = records.dicts(db.execute(f"SELECT {_SELECT} FROM preferences p {rest}", params or []))
    for row in out:
        row["checker"] = None if row["checker"] is None else json.loads(row["checker"])
        row["meta"] = json.loads(row["meta"] or "{}")
        row["active"] = bool(row["active"])
    return out


def select(db: Database, rest: str = "", params: list | None = None) -> list[Preference]:
    return [Preference(**row) for row in rows(db, rest, params)]


CONFIRMED = "json_extract(p.meta, '$.candidate') IS NULL"  # SQL: not a candidate


def active_texts(db: Database) -> list[str]:
    return [t for (t,) in db.execute(f"SELECT text FROM preferences p WHERE active = 1 AND {CONFIRMED}")]


def texts(db: Database) -> list[str]:
    """Every preference's text, candidates and rejected ones included."""
    return [t for (t,) in db.execute("SELECT text FROM preferences")]


def candidates(db: Database) -> list[Preference]:
    """Candidates waiting for the person, in the order they were stated."""
    return select(db, "WHERE json_extract(p.meta, '$.candidate') IS NOT NULL AND "
                  "NOT COALESCE(json_extract(p.meta, '$.candidate.rejected'), 0) "
                  "ORDER BY p.stated_at, p.created_at, p.id")  # fmt: skip


def imported_from(db: Database, conversation_id: str) -> str | None:
    """"an imported ... conversation" for a conversation that came from a file, else None."""
    row = db.execute("SELECT source FROM conversations WHERE id = ?", [conversation_id]).fetchone()
    if row is None or not str(row[0]).startswith("import:"):
        return None
    return f"an imported {row[0].removeprefix('import:')} conversation"


def source_of(db: Database, message_id: str) -> tuple[str, str]:
    """(conversation id, created_at) of the message a preference was stated in."""
    return db.execute(
        "SELECT conversation_id, created_at FROM messages WHERE id = ?", [message_id]
    ).fetchone()


# --- writing (call inside `Log.transaction()`) ---------------------------------------------
def insert(
    db: Database, *, text: str, kind: str, checker: dict | None, origin: str,
    source_message_id: str | None, conversation_id: str | None, stated_at: str,
    single_valued: bool, meta: dict | None = None, active: bool = True,
) -> str:  # fmt: skip
    """Add a preference; returns its id. A single-valued kind (and a fact: one value per
    key) switches off older active ones, unless a newer statement is already active (then
    this one is kept inactive)."""
    pref_id, at, meta = new_scattered_id(), now(), dict(meta or {})
    key = (checker or {}).get("key") if kind == "fact" else None
    if (single_valued or key) and active:
        where, params = _slot(kind, key)
        newer = db.execute(
            f"SELECT id FROM preferences WHERE active = 1 AND {where} AND stated_at > ? "
            "ORDER BY stated_at DESC LIMIT 1",
            [*params, stated_at],
        ).fetchone()
        if newer:
            active, meta = False, {**meta, "superseded_by": newer[0]}
        else:
            supersede(db, kind, pref_id, key)
    records.insert(db, "preferences", {
        "id": pref_id, "text": text, "kind": kind, "checker": _json(checker), "origin": origin,
        "source_message_id": source_message_id, "conversation_id": conversation_id,
        "active": int(active), "stated_at": stated_at, "created_at": at, "updated_at": at,
        "meta": json.dumps(meta, ensure_ascii=False),
    })  # fmt: skip
    return pref_id


def restore(db: Database, row: dict[str, Any]) -> None:
    """Write an exported row back as it was (import); JSON columns already encoded."""
    records.insert(db, "preferences", {c: row.get(c) for c in COLUMNS})


def as_candidate(row: dict[str, Any], source: str) -> dict[str, Any]:
    """An exported row (meta decoded) made an inert candidate: switched off until the
    person confirms it, which gives it back the `active` state it had."""
    meta = dict(row.get("meta") or {})
    if not isinstance(meta.get("candidate"), dict):  # already one: keep where it came from
        meta["candidate"] = {"source": source, "active": bool(row.get("active", True))}
    return {**row, "active": 0, "meta": meta}


def propose(
    db: Database, *, text: str, kind: str, checker: dict | None, source: str, stated_at: str,
    origin: str = "manual", source_message_id: str | None = None,
    conversation_id: str | None = None,
) -> str:  # fmt: skip
    """Add an inert candidate (found in an imported file); returns its id."""
    return insert(
        db, text=text, kind=kind, checker=checker, origin=origin, stated_at=stated_at,
        source_message_id=source_message_id, conversation_id=conversation_id,
        single_valued=False, active=False,
        meta={"candidate": {"source": source, "active": True}},
    )  # fmt: skip


def confirm(db: Database, pref_id: str, single_valued: bool) -> None:
    """Make a candidate a preference like any other: on (or off, if it was exported
    switched off), no longer marked. A single-valued one switches off the others."""
    (raw,) = db.execute("SELECT meta FROM preferences WHERE id = ?", [pref_id]).fetchone()
    meta = json.loads(raw or "{}")
    candidate = meta.pop("candidate", None)
    if candidate is None:
        return
    active = not isinstance(candidate, dict) or bool(candidate.get("active", True))
    db.execute("UPDATE preferences SET meta = ?, active = ? WHERE id = ?",
               [json.dumps(meta, ensure_ascii=False), int(active), pref_id])  # fmt: skip
    if active:
        kind, checker = db.execute(
            "SELECT kind, checker FROM preferences WHERE id = ?", [pref_id]).fetchone()  # fmt: skip
        key = json.loads(checker).get("key") if kind == "fact" and checker else None
        if single_valued or key:
            supersede(db, kind, pref_id, key)


def reject(db: Database, pref_id: str) -> None:
    """Turn a candidate down: it stays, switched off and marked, never proposed again."""
    db.execute(
        "UPDATE preferences SET active = 0, updated_at = ?, "
        "meta = json_set(meta, '$.candidate.rejected', json('true')) WHERE id = ?",
        [now(), pref_id],
    )


def reword(db: Database, pref_id: str, text: str, kind: str, checker: dict | None) -> None:
    db.execute(
        "UPDATE preferences SET text = ?, kind = ?, checker = ?, updated_at = ? WHERE id = ?",
        [text, kind, _json(checker), now(), pref_id],
    )


def update_meta(db: Database, pref_id: str, **changes: Any) -> None:
    """Merge `changes` into a preference's meta (a None value removes the key)."""
    (raw,) = db.execute("SELECT meta FROM preferences WHERE id = ?", [pref_id]).fetchone()
    meta = {**json.loads(raw or "{}"), **changes}
    meta = {k: v for k, v in meta.items() if v is not None}
    db.execute(
        "UPDATE preferences SET meta = ?, updated_at = ? WHERE id = ?",
        [json.dumps(meta, ensure_ascii=False), now(), pref_id],
    )


def delete(db: Database, pref_id: str) -> None:
    db.execute("DELETE FROM preferences WHERE id = ?", [pref_id])


def set_active(db: Database, pref_id: str, active: bool, single_valued: bool) -> None:
    if active:
        kind, checker = db.execute(
            "SELECT kind, checker FROM preferences WHERE id = ?", [pref_id]).fetchone()  # fmt: skip
        key = json.loads(checker).get("key") if kind == "fact" and checker else None
        if single_valued or key:
            supersede(db, kind, pref_id, key)
    db.execute(
        "UPDATE preferences SET active = ?, updated_at = ? WHERE id = ?",
        [int(bool(active)), now(), pref_id],
    )


def supersede(db: Database, kind: str, by: str, key: str | None = None) -> list[str]:
    """Switch off the active preferences of `kind` (of a fact: with this `key`) that `by`
    replaces — a newer statement, or a withdrawal (then `by` is the message that said so).
    Returns the ids switched off."""
    where, params = _slot(kind, key)
    ids = [r[0] for r in db.execute(
        f"SELECT id FROM preferences WHERE active = 1 AND {where} AND id != ?", [*params, by])]  # fmt: skip
    for pref_id in ids:
        db.execute(
            "UPDATE preferences SET active = 0, updated_at = ?, "
            "meta = json_set(meta, '$.superseded_by', ?) WHERE id = ?",
            [now(), by, pref_id],
        )
    return ids


def _slot(kind: str, key: str | None) -> tuple[str, list]:
    """The SQL condition for "the same preference slot": the kind, and a fact's key."""
    if kind == "fact" and key:
        return "kind = 'fact' AND json_extract(checker, '$.key') = ?", [key]
    return "kind = ?", [kind]


# --- scan marks: which user messages the extractor has read ------------------------------
def unscanned(db: Database, since: str | None, limit: int) -> list[tuple[str, str, str, str]]:
    """(message id, conversation id, content, created_at) of user messages not yet read,
    oldest first."""
    return db.execute(
        "SELECT m.id, m.conversation_id, m.content, m.created_at FROM messages m "
        "WHERE m.role = 'user' AND m.created_at >= ? AND NOT EXISTS "
        "(SELECT 1 FROM preference_scans s WHERE s.message_id = m.id) "
        "ORDER BY m.created_at, m.id LIMIT ?",
        [since or "", limit],
    ).fetchall()


def unscanned_message(db: Database, message_id: str) -> tuple[str, str, str, str] | None:
    return db.execute(
        "SELECT m.id, m.conversation_id, m.content, m.created_at FROM messages m "
        "WHERE m.id = ? AND m.role = 'user' AND NOT EXISTS "
        "(SELECT 1 FROM preference_scans s WHERE s.message_id = m.id)",
        [message_id],
    ).fetchone()


def mark_scanned(db: Database, message_id: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO preference_scans (message_id, scanned_at) VALUES (?, ?)",
        [message_id, now()],
    )


def scanned_in(db: Database, conversation_id: str) -> list[str]:
    return [
        row[0]
        for row in db.execute(
            "SELECT s.message_id FROM preference_scans s JOIN messages m "
            "ON m.id = s.message_id WHERE m.conversation_id = ? ORDER BY m.seq",
            [conversation_id],
        )
    ]


# --- forgetting --------------------------------------------------------------------------
def forget_conversations(db: Database, conversations: str, params: list) -> None:
    """Delete what the extractor derived from the conversations selected by the SQL
    `conversations` (`SELECT id FROM conversations ...`): their preferences and scan marks.
    Manual preferences linked to one of their messages stay, unlinked."""
    db.execute(
        "DELETE FROM preference_scans WHERE message_id IN "
        f"(SELECT id FROM messages WHERE conversation_id IN ({conversations}))",
        params,
    )
    db.execute(
        f"DELETE FROM preferences WHERE origin = 'extracted' AND conversation_id IN ({conversations})",
        params,
    )
    db.execute(
        "UPDATE preferences SET source_message_id = NULL, conversation_id = NULL WHERE "
        f"conversation_id IN ({conversations})",
        params,
    )


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)
