"""Moving conversations in and out of the log.

Export writes JSONL, one conversation per line, in OpenAI chat shape: any tool that reads
`{"messages": [...]}` lines can use it, and everything else we know about a message rides
along under its "personal" key, so our own export re-imports without loss.

Preferences, notes and scan marks travel too (see `signals`): on each conversation's
line, and on a last "profile" line for what was added by hand.

Import reads that format (or anyone's OpenAI-style JSONL) and ChatGPT's data export
(`conversations.json`, or the .zip it comes in). A file is imported whole or not at all:
it is parsed and checked completely before anything is written, then written in one
transaction. Conversations whose id is already in the log are skipped, so importing the
same file twice is harmless.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from personal.errors import ImportFormatError, LogError
from personal.log import export_extras as signals
from personal.log import records
from personal.log.chatgpt import parse_chatgpt
from personal.log.ids import is_id, new_id, now, to_epoch_ms
from personal.log.store import Log


@dataclass(frozen=True)
class ImportReport:
    format: str  # "openai-jsonl" | "chatgpt"
    conversations: int  # imported
    messages: int  # imported
    skipped: int  # conversations already in the log (or with nothing to import)
    preferences: int = 0  # imported
    notes: int = 0  # imported


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
def import_file(log: Log, path: str | Path) -> ImportReport:
    """Import a JSONL or ChatGPT export file, all or nothing (see the module docstring)."""
    path = Path(path)
    text = _read(path)
    if text.lstrip().startswith("["):
        return _write(log, "chatgpt", parse_chatgpt(str(path), text))
    return _write(log, "openai-jsonl", *_parse_jsonl(str(path), text))


def _read(path: Path) -> str:
    try:
        if zipfile.is_zipfile(path):  # ChatGPT's export arrives as a .zip
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.endswith("conversations.json")]
                if not names:
                    raise ImportFormatError(str(path), None, "the zip has no conversations.json")
                data = archive.read(names[0])
        else:
            data = path.read_bytes()
    except OSError as e:
        raise LogError(f"cannot read {path}: {e.strerror or e}", hint="check the path") from e
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportFormatError(str(path), None, f"not UTF-8 text ({e.reason})") from None
    if not text.strip():
        raise ImportFormatError(str(path), None, "the file is empty")
    return text


def _parse_jsonl(path: str, text: str) -> tuple[list[records.ParsedConversation], list[dict]]:
    parsed, profiles = [], []
    # split on "\n" only: str.splitlines() would also split on U+2028 inside strings
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if isinstance(obj, dict) and obj.get("type") == "profile":
                profiles.append(signals.parse(obj))
                continue
            parsed.append(_jsonl_conversation(obj))
        except json.JSONDecodeError as e:
            raise ImportFormatError(path, number, f"not valid JSON ({e.msg})") from None
        except ValueError as e:
            raise ImportFormatError(path, number, str(e)) from None
    return parsed, profiles


def _jsonl_conversation(obj: Any) -> records.ParsedConversation:
    if not isinstance(obj, dict):
        raise ValueError('a line must be a JSON object with a "messages" list')
    if not isinstance(obj.get("messages"), list):
        raise ValueError(
            'no "messages" list' if "messages" not in obj else '"messages" must be a list'
        )
    meta = records.typed(obj, "meta", dict) or {}
    ours = is_id(obj.get("id"))  # our own export: keep its ids and metadata
    if obj.get("id") is not None and not ours:
        meta = {**meta, "source_id": obj["id"]}
    messages = []
    for number, message in enumerate(obj["messages"], start=1):
        try:
            messages.append(_jsonl_message(message))
        except ValueError as e:
            raise ValueError(f"message {number}: {e}") from None
    created_at = _timestamp(obj, "created_at") or (messages[0]["created_at"] if messages else None)
    created_at = created_at or now()
    for m in messages:
        m["created_at"] = m["created_at"] or created_at
    if "title" in obj:
        title = records.typed(obj, "title", str)
    else:
        title = next(
            (records.title_from(m["content"]) for m in messages if m["role"] == "user"), None
        )
    return records.ParsedConversation(
        id=obj["id"] if ours else new_id(),
        title=title,
        source=(records.typed(obj, "source", str) if ours else None) or "import:openai-jsonl",
        created_at=created_at,
        updated_at=_timestamp(obj, "updated_at")
        or max([created_at, *(m["created_at"] for m in messages)]),
        meta=meta,
        messages=messages,
        signals=signals.parse(obj.get("personal")) if ours else {},
    )


def _jsonl_message(message: Any) -> dict:
    row = records.parse_message(message)
    extra = records.typed(message, "personal", dict) or {}
    status = extra.get("status", "complete")
    records.check_status(status)
    feedback = records.typed(extra, "feedback", list) or []
    if not all(isinstance(f, dict) and isinstance(f.get("kind"), str) for f in feedback):
        raise ValueError('"feedback" must be a list of objects with a "kind"')
    return {
        **row,
        "id": extra["id"] if is_id(extra.get("id")) else new_id(),
        "created_at": _timestamp(extra, "created_at"),
        **{
            k: records.typed(extra, k, str)
            for k in ("model", "model_fingerprint", "adapter", "backend")
        },
        # a stream exported mid-way will never finish here
        "status": "interrupted" if status == "streaming" else status,
        "prompt_tokens": records.typed(extra, "prompt_tokens", int),
        "completion_tokens": records.typed(extra, "completion_tokens", int),
        "ttft_ms": records.typed(extra, "ttft_ms", (int, float)),
        "duration_ms": records.typed(extra, "duration_ms", (int, float)),
        "meta": records.typed(extra, "meta", dict) or {},
        "feedback": feedback,
    }


def _timestamp(obj: dict, key: str) -> str | None:
    value = records.typed(obj, key, str)
    if value is not None:
        try:
            to_epoch_ms(value)
        except ValueError:
            raise ValueError(f'"{key}" is not an ISO-8601 timestamp: {value!r}') from None
    return value


def _write(
    log: Log, fmt: str, parsed: list[records.ParsedConversation], profiles: tuple = ()
) -> ImportReport:
    imported = messages = skipped = preferences = notes = 0
    db, pid = log.db, os.getpid()

    def exists(table: str, record_id: str) -> bool:
        return db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [record_id]).fetchone() is not None

    with log.transaction():
        for c in parsed:
            if (not c.messages and fmt == "chatgpt") or exists("conversations", c.id):
                skipped += 1
                continue
            records.insert(db, "conversations", {
                "id": c.id, "title": c.title, "source": c.source, "created_at": c.created_at,
                "updated_at": c.updated_at, "meta": json.dumps(c.meta),
            })  # fmt: skip
            ids = {}  # the file's message ids -> the log's
            for seq, m in enumerate(c.messages, start=1):
                feedback = m.pop("feedback")
                old = m["id"]
                if exists("messages", m["id"]):  # a hand-edited file may reuse ids
                    m["id"] = new_id()
                ids[old] = m["id"]
                records.insert(db, "messages", {
                    **m, "conversation_id": c.id, "seq": seq, "writer_pid": pid,
                    "meta": json.dumps(m["meta"]),
                })  # fmt: skip
                for f in feedback:
                    records.insert(db, "feedback", _feedback_row(f, m, exists))
            p, n = signals.write(db, c.signals, exists, c.id, ids)
            imported, messages = imported + 1, messages + len(c.messages)
            preferences, notes = preferences + p, notes + n
        for section in profiles:
            p, n = signals.write(db, section, exists)
            preferences, notes = preferences + p, notes + n
    return ImportReport(fmt, imported, messages, skipped, preferences, notes)


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


__all__ = ["ImportReport", "export_jsonl", "import_file"]
