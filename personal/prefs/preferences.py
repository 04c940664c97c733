"""Preferences: what the person asked of the model, kept for the nightly adapter.

A preference is an instruction in the person's favour ("Call the user Sam.", "Answer in
French.") with a kind and, when an answer can be checked against it, a checker (see
`personal.prefs.check.check`). It is either added by hand (origin "manual") or extracted from a
user message (origin "extracted", see `personal.prefs.extract.extract`): the chat calls
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
- What came from an imported file — its preferences, custom instructions and memory, and
  what the extractor finds in imported conversations — is a *candidate*: inert (no
  training, no profile) until the person confirms it (`confirm`) or turns it down
  (`reject`).
- Training only ever sees confirmed, active preferences with a checker that works
  (`list(active_only=True)`): a malformed checker is set aside, never raised mid-run.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, replace

from sqlite_utils import Database

from personal.errors import InvalidSignal
from personal.log import Log, LoggedMessage, records
from personal.log import preferences as rows
from personal.log.ids import now
from personal.log.preferences import Preference
from personal.prefs.check import check, problems
from personal.prefs.extract import KINDS, Candidate, classify, extract

ORIGINS = ("extracted", "manual")
SINGLE_VALUED = ("name", "opening", "signoff", "language", "length", "format", "case")
SCAN_BATCH = 200  # user messages read per write transaction, so a chat never waits long


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
        if derived == "withdraw":
            raise InvalidSignal(
                f"{text!r} takes a preference back rather than stating one",
                hint="switch the preference off (personal prefs off ID) or remove it",
            )
        if kind is not None and kind != derived:
            checker = None
        with self.log.transaction():
            db, conversation_id, stated_at = self.log.db, None, now()
            if source_message_id is not None:
                source_message_id = records.resolve(db, "messages", source_message_id, "message")
                conversation_id, stated_at = rows.source_of(db, source_message_id)
            pref_id = _insert(db, Candidate(text, kind or derived, checker), origin,
                              source_message_id, conversation_id, stated_at)  # fmt: skip
        return self.get(pref_id)

    def list(self, active_only: bool = False) -> builtins.list[Preference]:
        """In the order they were stated. `active_only`: what training and the profile
        use — confirmed and switched on; a checker that cannot run is left off (it is
        named in `meta["checker_error"]`), so one bad preference never breaks a run."""
        where = f"WHERE p.active = 1 AND {rows.CONFIRMED} " if active_only else ""
        with self.log.locked() as db:
            found = rows.select(db, f"{where}ORDER BY p.stated_at, p.created_at, p.id")
        if not active_only:
            return found
        out = []
        for p in found:
            problem = None if p.checker is None else checker_problem(p.checker)
            out.append(p if problem is None else replace(
                p, checker=None, meta={**p.meta, "checker_error": problem}))  # fmt: skip
        return out

    def candidates(self) -> builtins.list[Preference]:
        """Candidates from imports waiting for the person (rejected ones left out)."""
        with self.log.locked() as db:
            return rows.candidates(db)

    def confirm(self, id_or_prefix: str) -> Preference:
        """Accept a candidate: from now on it is a preference like any other."""
        with self.log.transaction():
            pref = self._candidate(id_or_prefix)
            if pref.checker is not None and (problem := checker_problem(pref.checker)):
                raise InvalidSignal(f"preference {pref.text!r} has a checker that cannot run "
                                    f"({problem})", hint=f"reword it: personal prefs edit "
                                    f"{pref.id[:10]} \"...\" (a new checker is derived)")  # fmt: skip
            rows.confirm(self.log.db, pref.id, pref.kind in SINGLE_VALUED)
        return self.get(pref.id)

    def reject(self, id_or_prefix: str) -> Preference:
        """Turn a candidate down (kept, inert, so the same import does not propose it
        again)."""
        with self.log.transaction():
            pref = self._candidate(id_or_prefix)
            rows.reject(self.log.db, pref.id)
        return self.get(pref.id)

    def _candidate(self, id_or_prefix: str) -> Preference:
        pref_id = records.resolve(self.log.db, "preferences", id_or_prefix, "preference")
        pref = rows.select(self.log.db, "WHERE p.id = ?", [pref_id])[0]
        if pref.confirmed:
            raise InvalidSignal(f"preference {pref.id[:10]} is not a candidate: it is already "
                                "confirmed", hint="personal prefs list --all")  # fmt: skip
        return pref

    def get(self, id_or_prefix: str) -> Preference:
        with self.log.locked() as db:
            pref_id = records.resolve(db, "preferences", id_or_prefix, "preference")
            return rows.select(db, "WHERE p.id = ?", [pref_id])[0]

    def edit(self, id_or_prefix: str, text: str) -> Preference:
        """Reword a preference; its kind and checker are derived again."""
        text = _text(text)
        kind, checker = classify(text)
        with self.log.transaction():
            pref_id = records.resolve(self.log.db, "preferences", id_or_prefix, "preference")
            rows.reword(self.log.db, pref_id, text, kind, checker)
        return self.get(pref_id)

    def remove(self, id_or_prefix: str) -> None:
        """Delete a preference (its source message stays scanned: not extracted again)."""
        with self.log.transaction():
            pref_id = records.resolve(self.log.db, "preferences", id_or_prefix, "preference")
            rows.delete(self.log.db, pref_id)

    def set_active(self, id_or_prefix: str, active: bool) -> Preference:
        """Switch a preference on or off; switching one on switches off the others of a
        single-valued kind. For a candidate, on confirms it and off rejects it."""
        with self.log.transaction():
            db = self.log.db
            pref_id = records.resolve(db, "preferences", id_or_prefix, "preference")
            pref = rows.select(db, "WHERE p.id = ?", [pref_id])[0]
            if not pref.confirmed:
                return self.confirm(pref_id) if active else self.reject(pref_id)
            rows.set_active(db, pref_id, active, pref.kind in SINGLE_VALUED)
        return self.get(pref_id)

    def profile(self) -> str:
        """The active preferences as a bullet list for a system prompt ("" if none)."""
        return "\n".join(f"- {p.text}" for p in self.list(active_only=True))


# --- checks from the answers the person kept ----------------------------------------------
def derive_checks(log: Log) -> list[Preference]:
    """Give each active preference without a check the one its later accepted answers show
    (personal/prefs/derive.py), marked as derived; returns the preferences that got one."""
    from personal.prefs.derive import accepted_since, derive

    prefs = Preferences(log)
    changed = []
    for p in prefs.list(active_only=True):
        if p.checker is not None or p.kind in ("fact", "withdraw"):
            continue
        checker = derive(accepted_since(log, p.stated_at))
        if checker is None:
            continue
        with log.transaction():
            rows.reword(log.db, p.id, p.text, p.kind, checker)
            rows.update_meta(log.db, p.id, derived_checker=True)
        changed.append(prefs.get(p.id))
    return changed


# --- extraction from the log ------------------------------------------------------------
def extract_from_message(log: Log, message: LoggedMessage | str) -> list[Preference]:
    """Extract the preferences a just-logged user message states (once per message)."""
    message_id = message.id if isinstance(message, LoggedMessage) else message
    with log.locked() as db:  # read, then extract with no lock or transaction held
        message_id = records.resolve(db, "messages", message_id, "message")
        row = rows.unscanned_message(db, message_id)
    if row is None:
        return []
    found = extract(row[2] or "")
    with log.transaction():
        new, _ = _apply(log.db, row, found)
    return [Preferences(log).get(i) for i in new]


def scan(log: Log, since: str | None = None) -> ScanReport:
    """Extract preferences from every user message not yet read (those logged at or
    after `since`, an ISO-8601 time, if given), oldest first so later statements win."""
    new, duplicates, scanned = [], 0, 0
    while True:
        with log.locked() as db:
            batch = rows.unscanned(db, since, SCAN_BATCH)
        found = [extract(row[2] or "") for row in batch]  # no lock or transaction held
        with log.transaction():
            for row, candidates in zip(batch, found, strict=True):
                ids, dups = _apply(log.db, row, candidates)
                new += ids
                duplicates += dups
        scanned += len(batch)
        if len(batch) < SCAN_BATCH:
            break
    prefs = Preferences(log)
    return ScanReport([prefs.get(i) for i in new], duplicates, scanned)


def _apply(db: Database, row: tuple[str, str, str, str], found: list) -> tuple[list[str], int]:
    """Record what was extracted from one message (`row`: id, conversation, content, time)
    and mark it read, inside the caller's transaction; returns (new ids, duplicates). A
    message another writer read meanwhile is left alone. What an imported conversation
    states is proposed as a candidate, not switched on."""
    message_id, conversation_id, _, at = row
    new, duplicates = [], 0
    if rows.unscanned_message(db, message_id) is None:
        return new, duplicates
    source = rows.imported_from(db, conversation_id)
    for candidate in found:
        if candidate.kind == "withdraw":  # "stop signing off": switch the old one off
            if not source:  # what an imported file says switches nothing off
                checker = candidate.checker or {}
                rows.supersede(db, checker.get("kind", ""), message_id, checker.get("key"))
            continue
        known = rows.texts(db) if source else rows.active_texts(db)
        if _same(candidate.text) in {_same(t) for t in known}:
            duplicates += 1
            continue
        if source:
            new.append(rows.propose(
                db, text=candidate.text, kind=candidate.kind, checker=candidate.checker,
                source=source, stated_at=at, origin="extracted",
                source_message_id=message_id, conversation_id=conversation_id))  # fmt: skip
            continue
        new.append(_insert(db, candidate, "extracted", message_id, conversation_id, at))
        if candidate.kind == "avoid" and (candidate.checker or {}).get("type") == "avoid":
            _unname(db, candidate.checker["text"], message_id)  # "don't call me Bob"
    rows.mark_scanned(db, message_id)
    return new, duplicates


def _unname(db: Database, name: str, by: str) -> None:
    """An avoided name switches off the name preference that asks for it."""
    for pref in rows.select(db, "WHERE p.active = 1 AND p.kind = 'name'"):
        if (pref.checker or {}).get("name", "").casefold() == name.casefold():
            rows.supersede(db, "name", by)


def _insert(
    db: Database, candidate: Candidate, origin: str, source_message_id: str | None,
    conversation_id: str | None, stated_at: str,
) -> str:  # fmt: skip
    return rows.insert(
        db, text=candidate.text, kind=candidate.kind, checker=candidate.checker, origin=origin,
        source_message_id=source_message_id, conversation_id=conversation_id,
        stated_at=stated_at, single_valued=candidate.kind in SINGLE_VALUED,
    )  # fmt: skip


def checker_problem(checker: object) -> str | None:
    """Why a checker cannot be used (None when it can): what `problems` finds wrong with
    it, or what `check` raises on an answer (whatever it raises would break training)."""
    found = problems(checker)
    if found:
        return "; ".join(found)
    for answer in ("", "A short answer, Sam.\n- one\n- two"):
        try:
            check(checker, answer)  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001
            return f"{type(e).__name__}: {e}"
    return None


def _text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidSignal("a preference needs some text", hint='e.g. "Answer in French."')
    return " ".join(text.split())


def _same(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".!")


__all__ = [
    "Candidate", "Preference", "Preferences", "ScanReport", "check", "checker_problem",
    "classify", "derive_checks", "extract", "extract_from_message", "scan",
]  # fmt: skip
