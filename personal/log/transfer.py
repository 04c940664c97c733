"""Moving conversations in and out of the log.

Export writes JSONL, one conversation per line, in OpenAI chat shape: any tool that reads
`{"messages": [...]}` lines can use it, and everything else we know about a message rides
along under its "personal" key, so our own export re-imports without loss.

Preferences, notes and scan marks travel too (see `signals`): on each conversation's
line, and on a last "profile" line for what was added by hand.

Import reads that format, anyone's OpenAI chat or fine-tuning JSONL, ChatGPT's and
Claude's data exports and simonw/llm's logs.db (recognised by shape: personal/log/imports/).
A file is imported whole or not at all: it is read and checked completely before anything
is written, then written in one transaction. A conversation already in the log is known
again (by its id, or the export's own id for it): if the export holds more of it than the
log, the new messages are appended; otherwise it is skipped, so importing the same file
twice is harmless. Preferences found in a file (our export's, ChatGPT's custom instructions
and memory) are written as inert candidates that wait for the person's confirmation.
`dry_run` does all of it inside a transaction that is rolled back: the report says
exactly what an import would do.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from personal.log import export_extras as signals
from personal.log import preferences, records
from personal.log.ids import is_id, new_id
from personal.log.imports.parsed import Parsed
from personal.log.imports.read import MAX_BYTES, read_import
from personal.log.store import Log

CHANGED = ("conversations imported before whose earlier turns differ now, in the export or "
           "in the log (kept as they were)")


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, for a dry run, would do). `to_json()` is the stable shape
    `personal import --json` prints (docs/json-output.md)."""

    format: str  # "openai-jsonl" | "chatgpt" | "claude" | "llm"
    conversations: int  # new conversations
    messages: int  # messages added (to new conversations and to grown ones)
    skipped: int  # conversations already in the log with nothing new, or with nothing to import
    preferences: int = 0  # preference candidates written (they wait for confirmation)
    notes: int = 0  # notes written
    grown: int = 0  # conversations imported before that gained messages
    dropped: tuple[tuple[str, int], ...] = ()  # (what was left out and why, how many)
    dry_run: bool = False
    proposed: tuple[str, ...] = field(default=(), compare=False)  # the candidates' texts
    # a dry run's new user messages, for the preference layer to say what they state
    said: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format, "dry_run": self.dry_run,
            "conversations": {"new": self.conversations, "grown": self.grown,
                              "unchanged": self.skipped},
            "messages": self.messages, "notes": self.notes,
            "preference_candidates": list(self.proposed),
            "dropped": [{"reason": r, "count": n} for r, n in self.dropped],
        }  # fmt: skip


# --- export ----------------------------------------------------------------------------
def export_jsonl(
    log: Log, fp: IO[str], conversation_ids: list[str] | None = None, profile: bool | None = None
) -> int:
    """Write conversations (all of them, oldest first, by default) as JSONL; returns
    how many were written. The profile line (manual preferences and notes) is written
    when exporting everything, or when `profile` says so."""
    if conversation_ids is None:
        chosen = sorted(log.conversations(), key=lambda c: (c.created_at, c.id))
    else:
        chosen = [log.conversation(i) for i in conversation_ids]
    for conversation in chosen:
        line = {
            "id": conversation.id,
            "title": conversation.title,
            "source": conversation.source,
            "created_at": conversation.created_at,
            "updated_at": conversation.updated_at,
            "meta": conversation.meta,
            "messages": [_export_message(log, m) for m in log.messages(conversation.id)],
        }
        if conversation.tools:
            line["tools"] = conversation.tools  # as a fine-tuning file has them
        with log.locked() as db:
            if section := signals.for_conversation(db, conversation.id):
                line["personal"] = section
        _write_line(fp, line)
    if profile is None:
        profile = conversation_ids is None
    with log.locked() as db:
        last = signals.profile(db) if profile else None
    if last is not None:
        _write_line(fp, last)
    return len(chosen)


def _write_line(fp: IO[str], line: dict) -> None:
    text = json.dumps(line, ensure_ascii=False)
    # escape the two characters that some line readers (str.splitlines) split on
    fp.write(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n")


def _export_message(log: Log, m: records.LoggedMessage) -> dict:
    feedback = [{k: v for k, v in f.items() if k != "message_id"} for f in log.feedback(m.id)]
    return {
        **m.openai(),
        "personal": {
            "id": m.id, "created_at": m.created_at, "model": m.model,
            "model_fingerprint": m.model_fingerprint, "adapter": m.adapter,
            "backend": m.backend, "status": m.status, "prompt_tokens": m.prompt_tokens,
            "completion_tokens": m.completion_tokens, "ttft_ms": m.ttft_ms,
            "duration_ms": m.duration_ms, "meta": m.meta, "feedback": feedback,
        },
    }  # fmt: skip


# --- import ----------------------------------------------------------------------------
class _DryRun(Exception):
    """Raised inside the import's transaction to roll a dry run back."""


def import_file(
    log: Log, path: str | Path, *, dry_run: bool = False, max_bytes: int = MAX_BYTES,
    candidates: list[dict] | None = None,
) -> ImportReport:  # fmt: skip
    """Import an export file, all or nothing (see the module docstring)."""
    return write(log, read_import(path, max_bytes), candidates, dry_run=dry_run)


def instruction_candidates(parsed: Parsed) -> list[dict]:
    """The preference candidates of a file's custom instructions and memory, as they are:
    `personal.prefs.importing` words and classifies them instead."""
    return [{"text": i.text, "kind": i.kind, "checker": None, "source": i.source,
             "stated_at": i.stated_at} for i in parsed.instructions]  # fmt: skip


def write(
    log: Log, parsed: Parsed, candidates: list[dict] | None = None, dry_run: bool = False
) -> ImportReport:
    """Write a checked file in one transaction (rolled back for a dry run). `candidates`:
    preference candidates to propose ({text, kind, checker, source, stated_at}); by
    default the file's instructions as they are."""
    if candidates is None:
        candidates = instruction_candidates(parsed)
    writer = _Writer(log, parsed)
    try:
        with log.transaction():
            for c in parsed.conversations:
                writer.conversation(c)
            for _line, section in parsed.profiles:
                texts, notes = signals.write(log.db, section, writer.exists)
                writer.proposed += texts
                writer.notes += notes
            writer.propose(candidates)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return writer.report(dry_run)


class _Writer:
    def __init__(self, log: Log, parsed: Parsed):
        self.db, self.parsed, self.pid = log.db, parsed, os.getpid()
        self.dropped = Counter(parsed.dropped)
        self.new = self.grown = self.messages = self.skipped = self.notes = 0
        self.proposed: list[str] = []
        self.said: list[str] = []
        self.keys = dict(self.db.execute(  # how a foreign JSONL line is known again
            f"SELECT {_KEY_SQL}, id FROM conversations WHERE source = 'import:openai-jsonl' "
            f"AND {_KEY_SQL} IS NOT NULL").fetchall())  # fmt: skip

    def exists(self, table: str, record_id: str) -> bool:
        sql = f"SELECT 1 FROM {table} WHERE id = ?"
        return self.db.execute(sql, [record_id]).fetchone() is not None

    def conversation(self, c: records.ParsedConversation) -> None:
        key = _key(c.meta) if c.source == "import:openai-jsonl" else None
        known = c.id if self.exists("conversations", c.id) else self.keys.get(key)
        if known is None:
            if not c.messages and self.parsed.format != "openai-jsonl":
                self.skipped += 1
                return
            records.insert(self.db, "conversations", {
                "id": c.id, "title": c.title, "source": c.source, "created_at": c.created_at,
                "updated_at": c.updated_at, "meta": json.dumps(c.meta, ensure_ascii=False),
                "tools": None if c.tools is None else json.dumps(c.tools, ensure_ascii=False),
            })  # fmt: skip
            if key is not None:
                self.keys[key] = c.id
            self.new += 1
            self.add(c, c.id, c.messages, 1, {}, grown=False)
            return
        old = self.db.execute("SELECT id, role, content, tool_calls, tool_call_id FROM messages "
                              "WHERE conversation_id = ? ORDER BY seq", [known]).fetchall()  # fmt: skip
        new = c.messages
        same = [_same(*o[1:]) for o in old] == [_same(m["role"], m["content"], m["tool_calls"],
                                                       m["tool_call_id"]) for m in new[:len(old)]]  # fmt: skip
        if not same or len(new) <= len(old):
            if not same and len(old) <= len(new):
                self.dropped[CHANGED] += 1
            self.skipped += 1
            return
        ids = {m["id"]: o[0] for m, o in zip(new[: len(old)], old, strict=True)}  # file -> log
        self.grown += 1
        self.add(c, known, new[len(old):], len(old) + 1, ids, grown=True)
        self.db.execute("UPDATE conversations SET updated_at = MAX(updated_at, ?) WHERE id = ?",
                        [max(m["created_at"] for m in new), known])  # fmt: skip

    def add(self, c: records.ParsedConversation, conversation_id: str, messages: list[dict],
            first_seq: int, ids: dict[str, str], grown: bool) -> None:  # fmt: skip
        written = []  # (row, feedback), once every message has its id in the log
        for seq, m in enumerate(messages, start=first_seq):
            m = dict(m)
            feedback = m.pop("feedback")
            file_id = m["id"]
            if self.exists("messages", m["id"]):  # a hand-edited file may reuse ids
                m["id"] = new_id()
            ids[file_id] = m["id"]
            records.insert(self.db, "messages", {
                **m, "conversation_id": conversation_id, "seq": seq, "writer_pid": self.pid,
                "meta": json.dumps(m["meta"], ensure_ascii=False),
            })  # fmt: skip
            written.append((m, feedback))
            if m["role"] == "user" and m["content"]:
                self.said.append(m["content"])
        for m, feedback in written:
            for f in feedback:
                row = _feedback_row(f, m, self.exists)
                meta = json.loads(row["meta"])
                if meta.get("replaced_by") in ids:  # the answer that replaced it, in the log
                    row["meta"] = json.dumps({**meta, "replaced_by": ids[meta["replaced_by"]]})
                records.insert(self.db, "feedback", row)
        self.messages += len(messages)
        texts, notes = signals.write(self.db, c.signals, self.exists, conversation_id, ids, grown)
        self.proposed += texts
        self.notes += notes

    def propose(self, candidates: list[dict]) -> None:
        """Candidates whose text no preference has yet (the newest statement of each)."""
        known = {_plain(t) for t in preferences.texts(self.db)}
        newest: dict[str, dict] = {}
        for c in sorted(candidates, key=lambda c: c["stated_at"]):
            if _plain(c["text"]) not in known:
                newest[_plain(c["text"])] = c
        for c in sorted(newest.values(), key=lambda c: c["stated_at"]):
            preferences.propose(self.db, text=c["text"], kind=c["kind"], checker=c["checker"],
                                source=c["source"], stated_at=c["stated_at"])  # fmt: skip
            self.proposed.append(c["text"])

    def report(self, dry_run: bool) -> ImportReport:
        dropped = tuple(sorted((r, n) for r, n in self.dropped.items() if n))
        return ImportReport(
            self.parsed.format, self.new, self.messages, self.skipped, len(self.proposed),
            self.notes, self.grown, dropped, dry_run, tuple(self.proposed),
            tuple(self.said) if dry_run else (),
        )


_KEY_SQL = ("COALESCE(json_extract(meta, '$.import_key'), "
            "'jsonl:' || json_extract(meta, '$.source_id'))")


def _key(meta: dict) -> str | None:
    """A foreign JSONL line's identity: the id it had in its file, else its content."""
    if meta.get("source_id") is not None:
        return f"jsonl:{meta['source_id']}"
    return meta.get("import_key")


def _same(role: str, content: str | None, tool_calls: str | None, call_id: str | None) -> tuple:
    calls = json.dumps(json.loads(tool_calls), sort_keys=True) if tool_calls else None
    return role, content or "", calls, call_id


def _plain(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".!")


def _feedback_row(f: dict, message: dict, exists: Any) -> dict:
    feedback_id = f.get("id")
    if not is_id(feedback_id) or exists("feedback", feedback_id):
        feedback_id = new_id()
    return {
        "id": feedback_id, "message_id": message["id"], "kind": f["kind"],
        "value": None if f.get("value") is None else str(f["value"]),
        "created_at": f.get("created_at") or message["created_at"],
        "meta": json.dumps(f.get("meta") if isinstance(f.get("meta"), dict) else {}),
    }  # fmt: skip


__all__ = ["ImportReport", "export_jsonl", "import_file", "instruction_candidates", "write"]
