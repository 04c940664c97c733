"""Reading simonw/llm's `logs.db` (both of its schemas) into conversations to import.

llm ≤ 0.31 logged `conversations` of `responses` (one prompt and one response each, tool
calls and results in their own tables, fragments kept apart from the prompt); llm ≥ 0.32
logs a content-addressed message store: `threads` whose tip message leads, by parent
links, back to the root, each message made of typed `parts`, and `turns` for the model
calls (time, model, tokens). A database upgraded from an old version holds both, and both
are imported. Reasoning and attachments are left out and counted.

The file is opened read-only, tables must be tables (a view could compute anything), and
every query runs under a deadline: a hostile database cannot hang the import.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.parse
from pathlib import Path
from typing import Any

from personal.errors import ImportFormatError
from personal.log import records
from personal.log.ids import id_at
from personal.log.imports.parsed import Parsed, iso, iso_ms, message
from personal.log.imports.safejson import loads
from personal.log.records import ParsedConversation

REASONING = "reasoning (thoughts, reasoning summaries)"
IMAGES = "images, audio and files (only the text of a message is kept)"
DEADLINE_S = 600  # for reading the whole database
MAX_CHAIN = 100_000  # messages in one thread


def parse(name: str, path: Path) -> Parsed:
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    parsed = Parsed("llm", name)
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as e:
        raise ImportFormatError(name, None, f"cannot open it as SQLite ({e})") from None
    deadline = time.monotonic() + DEADLINE_S
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        tables = dict(conn.execute("SELECT name, type FROM sqlite_master"))
        if "responses" not in tables and "turns" not in tables:
            raise ImportFormatError(name, None, "not a format personal can import: a SQLite "
                                    "database without simonw/llm's responses or turns tables",
                                    hint="personal reads llm's logs.db (llm logs path)")  # fmt: skip
        for table in ("responses", "conversations", "turns", "threads", "messages", "parts"):
            if table in tables and tables[table] != "table":
                raise ImportFormatError(name, None, f"its {table} is a {tables[table]}, "
                                        "not a table: not a database llm wrote")  # fmt: skip
        reader = _Reader(conn, parsed, tables)
        if "responses" in tables:
            reader.legacy()
        if {"turns", "threads", "messages", "parts"} <= set(tables):
            reader.threads()
    except ImportFormatError:
        raise
    except sqlite3.DatabaseError as e:
        reason = "took too long to read" if "interrupt" in str(e) else f"cannot read it ({e})"
        raise ImportFormatError(name, None, reason, hint="check that it is llm's logs.db") from None
    except (ValueError, TypeError) as e:
        raise ImportFormatError(name, None, str(e)) from None
    finally:
        conn.close()
    return parsed


class _Reader:
    def __init__(self, conn: sqlite3.Connection, parsed: Parsed, tables: dict):
        self.conn, self.parsed, self.tables = conn, parsed, tables

    def rows(self, sql: str, params: tuple = ()) -> list[dict]:
        cursor = self.conn.execute(sql, params)
        keys = [d[0] for d in cursor.description]
        return [dict(zip(keys, row, strict=True)) for row in cursor]

    def has(self, table: str, column: str | None = None) -> bool:
        if self.tables.get(table) != "table":
            return False
        return column is None or any(r[1] == column for r in
                                     self.conn.execute(f'PRAGMA table_info("{table}")'))  # fmt: skip

    def fragments(self, table: str, response_id: str) -> str:
        if not (self.has(table) and self.has("fragments")):
            return ""
        texts = [_text(r["content"], "fragment") for r in self.rows(
            f'SELECT f.content FROM "{table}" j JOIN fragments f ON f.id = j.fragment_id '
            'WHERE j.response_id = ? ORDER BY j."order"', (response_id,))]  # fmt: skip
        return "\n".join(t for t in texts if t)

    # --- llm <= 0.31: conversations of responses ----------------------------------------------
    def legacy(self) -> None:
        reasoning = self.has("responses", "reasoning")
        responses = self.rows(
            "SELECT id, model, prompt, system, response, conversation_id, datetime_utc, "
            "input_tokens, output_tokens, duration_ms"
            + (", reasoning" if reasoning else "") + " FROM responses ORDER BY datetime_utc, id"
        )  # fmt: skip
        names = ({r["id"]: r["name"] for r in self.rows("SELECT id, name FROM conversations")}
                 if self.has("conversations") else {})  # fmt: skip
        grouped: dict[str, list[dict]] = {}
        for r in responses:
            grouped.setdefault(str(r["conversation_id"] or r["id"]), []).append(r)
        for cid, group in grouped.items():
            self.legacy_conversation(cid, _text(names.get(cid), "name"), group)

    def legacy_conversation(self, cid: str, name: str, responses: list[dict]) -> None:
        key, messages, system, calls = f"llm:conversation:{cid}", [], None, {}
        for r in responses:
            rid, at = str(r["id"]), iso_ms(r["datetime_utc"], "datetime_utc") or 0
            stamp = iso(at)
            said = "\n".join(t for t in (self.fragments("system_fragments", rid),
                                         _text(r["system"], "system")) if t)  # fmt: skip
            if said and said != system:
                messages.append(message("system", said, id=id_at(at, key=f"{key}:{rid}:system"),
                                        created_at=stamp))  # fmt: skip
                system = said
            for n, result in enumerate(self.tool_rows("tool_results", rid, "output")):
                call_id = result["tool_call_id"] or calls.pop(result["name"], None)
                messages.append(message("tool", _text(result["output"], "output"), name=result["name"],
                                        tool_call_id=call_id, created_at=stamp,
                                        id=id_at(at, key=f"{key}:{rid}:tool:{n}")))  # fmt: skip
            prompt = "\n".join(t for t in (self.fragments("prompt_fragments", rid),
                                           _text(r["prompt"], "prompt")) if t)  # fmt: skip
            if prompt:
                messages.append(message("user", prompt, id=id_at(at, key=f"{key}:{rid}:user"),
                                        created_at=stamp))  # fmt: skip
            if self.has("prompt_attachments"):
                self.parsed.dropped[IMAGES] += self.conn.execute(
                    "SELECT COUNT(*) FROM prompt_attachments WHERE response_id = ?", (rid,)
                ).fetchone()[0]
            if r.get("reasoning"):
                self.parsed.dropped[REASONING] += 1
            tool_calls = []
            for call in self.tool_rows("tool_calls", rid, "arguments"):
                call_id = call["tool_call_id"] or f"call_{call['id']}"
                calls[call["name"]] = call_id
                tool_calls.append({"id": call_id, "type": "function", "function": {
                    "name": call["name"], "arguments": _text(call["arguments"], "arguments") or "{}"}})
            text = _text(r["response"], "response")
            if text or tool_calls:
                messages.append(message(
                    "assistant", text or None, tool_calls=tool_calls or None, created_at=stamp,
                    id=id_at(at, key=f"{key}:{rid}:assistant"), model=_str(r["model"]),
                    prompt_tokens=_int(r["input_tokens"]), completion_tokens=_int(r["output_tokens"]),
                    duration_ms=_int(r["duration_ms"])))  # fmt: skip
        self.add(key, name, messages, {"llm_conversation_id": cid})

    def tool_rows(self, table: str, response_id: str, column: str) -> list[dict]:
        if not self.has(table):
            return []
        call_id = "tool_call_id" if self.has(table, "tool_call_id") else "NULL AS tool_call_id"
        rows = self.rows(f'SELECT id, name, {column}, {call_id} FROM "{table}" '
                         "WHERE response_id = ? ORDER BY id", (response_id,))  # fmt: skip
        for row in rows:
            row["name"] = _str(row["name"]) or "tool"
            row["tool_call_id"] = _str(row["tool_call_id"])
        return rows

    # --- llm >= 0.32: threads of messages made of parts ---------------------------------------
    def threads(self) -> None:
        for thread in self.rows("SELECT id, name, tip_message_hash, datetime_utc FROM threads "
                                "ORDER BY datetime_utc, id"):  # fmt: skip
            self.thread(thread)

    def thread(self, thread: dict) -> None:
        tid = str(thread["id"])
        key, chain, current, seen = f"llm:thread:{tid}", [], thread["tip_message_hash"], set()
        while current is not None and current not in seen and len(chain) < MAX_CHAIN:
            seen.add(current)
            row = self.rows("SELECT hash, parent_hash, role FROM messages WHERE hash = ?", (current,))
            if not row:
                break
            chain.append(row[0])
            current = row[0]["parent_hash"]
        chain.reverse()
        turns = self.rows("SELECT parent_message_hash, tip_message_hash, model, datetime_utc, "
                          "input_tokens, output_tokens, duration_ms FROM turns WHERE thread_id = ? "
                          "ORDER BY datetime_utc", (tid,))  # fmt: skip
        inputs = {t["parent_message_hash"]: t for t in turns}
        outputs = {t["tip_message_hash"]: t for t in turns}
        at = iso_ms(turns[0]["datetime_utc"] if turns else thread["datetime_utc"], "datetime_utc") or 0
        messages = []
        for m in chain:
            turn = outputs.get(m["hash"]) or inputs.get(m["hash"])
            at = iso_ms(turn["datetime_utc"], "datetime_utc") or at if turn else at
            messages += self.message_rows(m, key, at, outputs.get(m["hash"]))
        self.add(key, _text(thread["name"], "name"), messages, {"llm_thread_id": tid})

    def message_rows(self, m: dict, key: str, at: int, turn: dict | None) -> list[dict]:
        role, digest, stamp = m["role"], str(m["hash"]), iso(at)
        if role not in ("system", "user", "assistant", "tool"):
            self.parsed.dropped[f"messages with the role {role!r}"] += 1
            return []
        texts, calls, out = [], [], []
        for part in self.rows("SELECT position, type, tool_name, text, payload FROM parts "
                              "WHERE message_hash = ? ORDER BY position", (digest,)):  # fmt: skip
            payload = loads(part["payload"])[0] if isinstance(part["payload"], str) else {}
            payload = payload if isinstance(payload, dict) else {}
            kind = part["type"]
            if kind == "text":
                texts.append(self.part_text(part["text"], payload))
            elif kind == "reasoning":
                self.parsed.dropped[REASONING] += 1
            elif kind == "tool_call":
                arguments = payload.get("arguments", {})
                calls.append({"id": _str(payload.get("tool_call_id")) or f"call_{digest[3:15]}_{part['position']}",
                              "type": "function", "function": {
                                  "name": _str(payload.get("name")) or _str(part["tool_name"]) or "tool",
                                  "arguments": arguments if isinstance(arguments, str)
                                  else json.dumps(arguments, ensure_ascii=False)}})  # fmt: skip
            elif kind == "tool_result":
                output = payload.get("output")
                out.append(message("tool", output if isinstance(output, str) else json.dumps(output),
                                   name=_str(payload.get("name")) or _str(part["tool_name"]),
                                   tool_call_id=_str(payload.get("tool_call_id")), created_at=stamp,
                                   id=id_at(at, key=f"{key}:{digest}:{part['position']}")))  # fmt: skip
            else:
                self.parsed.dropped[IMAGES if kind == "attachment" else f"parts of type {kind!r}"] += 1
        text = "\n".join(t for t in texts if t)
        if role != "tool" and (text or calls):
            turn = turn or {}
            out.append(message(role, text or None, tool_calls=calls or None, created_at=stamp,
                               id=id_at(at, key=f"{key}:{digest}"),
                               model=_str(turn.get("model")) if role == "assistant" else None,
                               prompt_tokens=_int(turn.get("input_tokens")),
                               completion_tokens=_int(turn.get("output_tokens")),
                               duration_ms=_int(turn.get("duration_ms"))))  # fmt: skip
        return out

    def part_text(self, text: Any, payload: dict) -> str:
        if isinstance(text, str):
            return text
        pieces = []
        for ref in payload.get("text_ref") or []:
            if isinstance(ref, dict) and isinstance(ref.get("literal"), str):
                pieces.append(ref["literal"])
            elif isinstance(ref, dict) and isinstance(ref.get("fragment"), int) and self.has("fragments"):
                row = self.conn.execute("SELECT content FROM fragments WHERE id = ?",
                                        (ref["fragment"],)).fetchone()  # fmt: skip
                pieces.append(_text(row[0], "fragment") if row else "")
        return "".join(pieces)

    # --- both ------------------------------------------------------------------------------------
    def add(self, key: str, name: str, messages: list[dict], meta: dict) -> None:
        if not messages:
            self.parsed.dropped["conversations with no messages"] += 1
            return
        first = iso_ms(messages[0]["created_at"], "created_at")
        first_user = next((m["content"] for m in messages if m["role"] == "user"), None)
        self.parsed.conversations.append(ParsedConversation(
            id=id_at(first, key=key), title=name or records.title_from(first_user),
            source="import:llm", created_at=messages[0]["created_at"],
            updated_at=max(m["created_at"] for m in messages), meta=meta, messages=messages,
        ))  # fmt: skip


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"a {what} is not text ({type(value).__name__})")
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
