"""Preferences: what the person asked of the model, kept for the nightly adapter.

A preference is an instruction in the person's favour ("Call the user Sam.", "Answer in
French.") with a kind and, when an answer can be checked against it, a checker (see
`prefs_check.check`). It is either added by hand (origin "manual") or extracted from a
user message (origin "extracted", see `prefs_extract.extract`): the chat calls
`extract_from_message` after logging each user turn, and `scan` catches up on everything
else (imported conversations included).

Rules the store keeps:
- Extracted preferences belong to their conversation: forgetting it deletes them
  (`Log.forget`, `Log.forget_all`). Manual ones stay.
- A message is read by the extractor once (`preference_scans`): scanning is idempotent,
  and a preference the person removed is not extracted again.
- An extracted preference equal to an active one (same text, any case) is a duplicate.
- For kinds that hold one value (name, sign-off, language, length) the most recently
  stated active one wins: stating a new one deactivates the older ones, and an older
  statement found later (an import) is kept inactive.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass

from sqlite_utils import Database

from personal.errors import InvalidSignal
from personal.log import Log, LoggedMessage, records
from personal.log.ids import new_scattered_id, now
from personal.prefs_check import check
from personal.prefs_extract import KINDS, Candidate, classify, extract

ORIGINS = ("extracted", "manual")
SINGLE_VALUED = ("name", "signoff", "language", "length")
SCAN_BATCH = 200  # user messages read per write transaction, so a chat never waits long
_COLUMNS = ("id, text, kind, checker, origin, source_message_id, conversation_id, active, "
            "created_at, updated_at, stated_at")  # fmt: skip


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


@dataclass(frozen=True)
class ScanReport:
    new: list[Preference]  # preferences created (a superseded older one may be inactive)
    duplicates: int  # candidates equal to an active preference
    scanned: int  # user messages read


class Preferences:
    """The preferences kept in a `Log` (see the module docstring)."""

    def __init__(self, log: Log):
        self.log = log

    def add(
        self,
        text: str,
        *,
        kind: str | None = None,
        origin: str = "manual",
        source_message_id: str | None = None,
    ) -> Preference:
        """Keep a preference; its kind and checker are derived from the text unless
        `kind` is given (then a checker only if the text is of that kind)."""
        text = _text(text)
        if kind is not None and kind not in KINDS:
            raise InvalidSignal(f"unknown kind {kind!r}", hint=f"one of: {', '.join(KINDS)}")
        if origin not in ORIGINS:
            raise InvalidSignal(f"unknown origin {origin!r}", hint="'manual' or 'extracted'")
        derived, checker = classify(text)
        if kind is not None and kind != derived:
            checker = None
        with self.log.transaction():
            db, conversation_id, stated_at = self.log.db, None, now()
            if source_message_id is not None:
                source_message_id = records.resolve(db, "messages", source_message_id, "message")
                conversation_id, stated_at = db.execute(
                    "SELECT conversation_id, created_at FROM messages WHERE id = ?",
                    [source_message_id],
                ).fetchone()
            candidate = Candidate(text, kind or derived, checker)
            pref_id = _insert(db, candidate, origin, source_message_id, conversation_id, stated_at)
        return self.get(pref_id)

    def list(self, active_only: bool = False) -> builtins.list[Preference]:
        """In the order they were stated."""
        where = "WHERE active = 1 " if active_only else ""
        return self._select(f"{where}ORDER BY stated_at, created_at, id", [])

    def get(self, id_or_prefix: str) -> Preference:
        with self.log.locked() as db:
            pref_id = records.resolve(db, "preferences", id_or_prefix, "preference")
        return self._select("WHERE id = ?", [pref_id])[0]

    def edit(self, id_or_prefix: str, text: str) -> Preference:
        """Reword a preference; its kind and checker are derived again."""
        text = _text(text)
        kind, checker = classify(text)
        with self.log.transaction():
            pref_id = records.resolve(self.log.db, "preferences", id_or_prefix, "preference")
            self.log.db.execute(
                "UPDATE preferences SET text = ?, kind = ?, checker = ?, updated_at = ? "
                "WHERE id = ?",
                [text, kind, _json(checker), now(), pref_id],
            )
        return self.get(pref_id)

    def remove(self, id_or_prefix: str) -> None:
        """Delete a preference (its source message stays scanned: not extracted again)."""
        with self.log.transaction():
            pref_id = records.resolve(self.log.db, "preferences", id_or_prefix, "preference")
            self.log.db.execute("DELETE FROM preferences WHERE id = ?", [pref_id])

    def set_active(self, id_or_prefix: str, active: bool) -> Preference:
        """Switch a preference on or off; switching one on switches off the others of a
        single-valued kind."""
        with self.log.transaction():
            db = self.log.db
            pref_id = records.resolve(db, "preferences", id_or_prefix, "preference")
            if active:
                (kind,) = db.execute(
                    "SELECT kind FROM preferences WHERE id = ?", [pref_id]
                ).fetchone()
                _supersede(db, kind, pref_id)
            db.execute(
                "UPDATE preferences SET active = ?, updated_at = ? WHERE id = ?",
                [int(bool(active)), now(), pref_id],
            )
        return self.get(pref_id)

    def profile(self) -> str:
        """The active preferences as a bullet list for a system prompt ("" if none)."""
        return "\n".join(f"- {p.text}" for p in self.list(active_only=True))

    def _select(self, rest: str, params: builtins.list) -> builtins.list[Preference]:
        with self.log.locked() as db:
            rows = records.dicts(db.execute(f"SELECT {_COLUMNS} FROM preferences {rest}", params))
        return [_preference(row) for row in rows]


# --- extraction from the log ------------------------------------------------------------
def extract_from_message(log: Log, message: LoggedMessage | str) -> list[Preference]:
    """Extract the preferences a just-logged user message states (once per message)."""
    message_id = message.id if isinstance(message, LoggedMessage) else message
    with log.transaction():
        message_id = records.resolve(log.db, "messages", message_id, "message")
        row = log.db.execute(
            "SELECT m.id, m.conversation_id, m.content, m.created_at FROM messages m "
            "WHERE m.id = ? AND m.role = 'user' AND NOT EXISTS "
            "(SELECT 1 FROM preference_scans s WHERE s.message_id = m.id)",
            [message_id],
        ).fetchone()
        new, _ = _scan_message(log.db, *row) if row else ([], 0)
    return [Preferences(log).get(i) for i in new]


def scan(log: Log, since: str | None = None) -> ScanReport:
    """Extract preferences from every user message not yet read (those logged at or
    after `since`, an ISO-8601 time, if given), oldest first so later statements win."""
    new, duplicates, scanned = [], 0, 0
    while True:
        with log.transaction():
            rows = log.db.execute(
                "SELECT m.id, m.conversation_id, m.content, m.created_at FROM messages m "
                "WHERE m.role = 'user' AND m.created_at >= ? AND NOT EXISTS "
                "(SELECT 1 FROM preference_scans s WHERE s.message_id = m.id) "
                "ORDER BY m.created_at, m.id LIMIT ?",
                [since or "", SCAN_BATCH],
            ).fetchall()
            for row in rows:
                ids, dups = _scan_message(log.db, *row)
                new += ids
                duplicates += dups
        scanned += len(rows)
        if len(rows) < SCAN_BATCH:
            break
    prefs = Preferences(log)
    return ScanReport([prefs.get(i) for i in new], duplicates, scanned)


def _scan_message(
    db: Database, message_id: str, conversation_id: str, content: str | None, at: str
) -> tuple[list[str], int]:
    """Extract from one message and mark it read; returns (new ids, duplicates)."""
    new, duplicates = [], 0
    for candidate in extract(content or ""):
        active = {_same(t) for (t,) in db.execute("SELECT text FROM preferences WHERE active = 1")}
        if _same(candidate.text) in active:
            duplicates += 1
            continue
        new.append(_insert(db, candidate, "extracted", message_id, conversation_id, at))
    db.execute(
        "INSERT OR IGNORE INTO preference_scans (message_id, scanned_at) VALUES (?, ?)",
        [message_id, now()],
    )
    return new, duplicates


# --- rows -------------------------------------------------------------------------------
def _insert(
    db: Database,
    candidate: Candidate,
    origin: str,
    source_message_id: str | None,
    conversation_id: str | None,
    stated_at: str,
) -> str:
    pref_id, at, meta, active = new_scattered_id(), now(), {}, 1
    if candidate.kind in SINGLE_VALUED:
        newer = db.execute(
            "SELECT id FROM preferences WHERE active = 1 AND kind = ? AND stated_at > ? "
            "ORDER BY stated_at DESC LIMIT 1",
            [candidate.kind, stated_at],
        ).fetchone()
        if newer:
            active, meta = 0, {"superseded_by": newer[0]}
        else:
            _supersede(db, candidate.kind, pref_id)
    records.insert(db, "preferences", {
        "id": pref_id, "text": candidate.text, "kind": candidate.kind,
        "checker": _json(candidate.checker), "origin": origin,
        "source_message_id": source_message_id, "conversation_id": conversation_id,
        "active": active, "stated_at": stated_at, "created_at": at, "updated_at": at,
        "meta": json.dumps(meta),
    })  # fmt: skip
    return pref_id


def _supersede(db: Database, kind: str, by: str) -> None:
    """Switch off the active preferences of a single-valued kind (`by` replaces them)."""
    if kind in SINGLE_VALUED:
        db.execute(
            "UPDATE preferences SET active = 0, updated_at = ?, "
            "meta = json_set(meta, '$.superseded_by', ?) "
            "WHERE active = 1 AND kind = ? AND id != ?",
            [now(), by, kind, by],
        )


def _preference(row: dict) -> Preference:
    checker = None if row["checker"] is None else json.loads(row["checker"])
    return Preference(**{**row, "checker": checker, "active": bool(row["active"])})


def _text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidSignal("a preference needs some text", hint='e.g. "Answer in French."')
    return " ".join(text.split())


def _same(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".!")


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


__all__ = [
    "Candidate", "Preference", "Preferences", "ScanReport", "check", "classify", "extract",
    "extract_from_message", "scan",
]  # fmt: skip
