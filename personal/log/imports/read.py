"""Reading an import file safely, and recognising its format by its shape.

An import file comes from outside and is treated as hostile: it is read with a size cap
(a device such as /dev/zero, a pipe or a folder is refused before anything is read; a
zip member's declared and actual size are both checked), parsed with a nesting cap and
without NaN, Infinity or thousand-digit numbers, and every failure is the typed
`ImportFormatError` naming the file and the place. Lone UTF-16 surrogates (`"\\ud83d"`
escapes of a cut emoji, which SQLite cannot store) are replaced by U+FFFD and reported.

The format is recognised by shape, never by the file's name:
- a SQLite database with simonw/llm's tables: llm's logs.db;
- a zip: its member named exactly `conversations.json` (ChatGPT and Claude exports);
- a JSON list (or one object) of conversations with a "mapping": ChatGPT; with
  "chat_messages": Claude;
- JSON lines of objects with "messages": OpenAI chat / fine-tuning JSONL (our export too).
Anything else is named ("an Open WebUI export", "HTML") with the formats that are known.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from personal.errors import ImportFormatError, LogError
from personal.log.imports import chatgpt, claude, jsonl, llm_db
from personal.log.imports.parsed import Parsed
from personal.log.imports.safejson import loads

MAX_BYTES = 1 << 30  # default size cap of an import file (or of the zip member read)
SQLITE_MAGIC = b"SQLite format 3\x00"
KNOWN = ("ChatGPT's export (conversations.json or its .zip, or one conversation), "
         "Claude's export, simonw/llm's logs.db, OpenAI chat or fine-tuning JSONL")  # fmt: skip


def read_import(path: str | Path, max_bytes: int = MAX_BYTES) -> Parsed:
    """Read and check an import file completely (nothing is written)."""
    path = Path(path)
    name = str(path)
    if path.is_dir() and (path / "conversations.json").is_file():
        path = path / "conversations.json"  # an unpacked ChatGPT or Claude export
    head = _head(path, name)
    if head.startswith(SQLITE_MAGIC):
        _check_size(path, name, max_bytes)
        return llm_db.parse(name, path)
    if head.startswith(b"PK"):
        data, member = _zip_member(path, name, max_bytes)
        return parse_json_text(name, _decode(name, data), member)
    _check_size(path, name, max_bytes)
    return parse_json_text(name, _decode(name, _read(path, name, max_bytes)))


def parse_json_text(name: str, text: str, member: str | None = None) -> Parsed:
    """Recognise and parse a JSON document or JSON lines."""
    body = text.lstrip()
    if not body:
        raise ImportFormatError(name, None, "the file is empty")
    if body[0] not in "[{":
        raise _unknown(name, _describe_text(body))
    document, error = _document(text)
    if error is None:
        parsed = _parse_document(name, document, member)
    elif body[0] == "{" and (error[0].startswith("Extra data") or _first_line_parses(text)):
        parsed = jsonl.parse(name, text)  # JSON lines: one object per line
    else:
        message, line, column = error
        where = f" at line {line}, column {column}" if line else ""
        raise ImportFormatError(name, None, f"not valid JSON{where} ({message})")
    return parsed


# --- reading bytes -------------------------------------------------------------------------
def _head(path: Path, name: str) -> bytes:
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device or a pipe)"
            raise ImportFormatError(name, None, f"{what}: there is nothing to import from it",
                                    hint=f"give the export file itself: {KNOWN}")  # fmt: skip
        with path.open("rb") as fp:
            return fp.read(len(SQLITE_MAGIC))
    except OSError as e:
        raise LogError(f"cannot read {name}: {e.strerror or e}", hint="check the path") from e


def _check_size(path: Path, name: str, max_bytes: int) -> None:
    size = path.stat().st_size
    if size > max_bytes:
        raise _too_large(name, size, max_bytes)


def _too_large(name: str, size: int, max_bytes: int, what: str = "the file") -> ImportFormatError:
    return ImportFormatError(
        name, None, f"{what} is {_mb(size)}, more than the import limit of {_mb(max_bytes)}",
        hint="if it really is an export, raise the limit: personal import --max-size 4096 ...",
    )


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n:,} bytes"


def _read(path: Path, name: str, max_bytes: int) -> bytes:
    """At most `max_bytes`: a file that grows while it is read is still bounded."""
    try:
        with path.open("rb") as fp:
            data = fp.read(max_bytes + 1)
    except OSError as e:
        raise LogError(f"cannot read {name}: {e.strerror or e}", hint="check the path") from e
    if len(data) > max_bytes:
        raise _too_large(name, len(data), max_bytes)
    return data


def _zip_member(path: Path, name: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of the zip's `conversations.json` (the shallowest one)."""
    try:
        with zipfile.ZipFile(path) as archive:
            found = [i for i in archive.infolist() if not i.is_dir()
                     and PurePosixPath(i.filename).name == "conversations.json"]  # fmt: skip
            if not found:
                names = ", ".join(i.filename for i in archive.infolist()[:5])
                raise ImportFormatError(name, None, "the zip holds no conversations.json "
                                        f"(it holds {names or 'nothing'})",
                                        hint=f"personal imports {KNOWN}")  # fmt: skip
            depth = min(len(PurePosixPath(i.filename).parts) for i in found)
            top = [i for i in found if len(PurePosixPath(i.filename).parts) == depth]
            if len(top) > 1:
                raise ImportFormatError(name, None, "the zip holds several conversations.json: "
                                        + ", ".join(i.filename for i in top),
                                        hint="unzip it and import each one")  # fmt: skip
            info = top[0]
            if info.file_size > max_bytes:
                raise _too_large(name, info.file_size, max_bytes, f"its {info.filename}")
            with archive.open(info) as member:  # stops at the declared size, checks the CRC
                data = member.read(max_bytes + 1)
    except ImportFormatError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            ValueError) as e:  # fmt: skip
        raise ImportFormatError(name, None, f"a damaged or unsupported zip ({e})",
                                hint="download the export again") from None  # fmt: skip
    except OSError as e:
        raise LogError(f"cannot read {name}: {e.strerror or e}", hint="check the path") from e
    if len(data) > max_bytes:
        raise _too_large(name, len(data), max_bytes, f"its {info.filename}")
    return data, info.filename


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportFormatError(name, None, f"not UTF-8 text ({e.reason} at byte {e.start})",
                                hint=f"personal imports {KNOWN}") from None  # fmt: skip


# --- JSON ----------------------------------------------------------------------------------
def _document(text: str) -> tuple[Any, tuple[str, int | None, int | None] | None]:
    """(value, None), or (None, (message, line, column)) when the text is not one JSON
    document."""
    try:
        value, repaired = loads(text, depth=False)  # kept values are checked where kept
    except json.JSONDecodeError as e:
        return None, (e.msg, e.lineno, e.colno)
    except ValueError as e:
        return None, (str(e), None, None)
    return (value, repaired), None


def _first_line_parses(text: str) -> bool:
    first = next((line for line in text.split("\n") if line.strip()), "")
    try:
        return isinstance(loads(first, depth=False)[0], dict)
    except ValueError:
        return False


def _parse_document(name: str, document: tuple[Any, int], member: str | None) -> Parsed:
    data, repaired = document
    kind = _shape(data)
    if kind == "chatgpt":
        parsed = chatgpt.parse(name, data)
    elif kind == "claude":
        parsed = claude.parse(name, data)
    elif kind == "jsonl":  # a file holding one line of JSONL
        parsed = jsonl.parse(name, json.dumps(data, ensure_ascii=False))
    else:
        raise _unknown(name, kind)
    if repaired:
        parsed.dropped["broken characters (lone UTF-16 surrogates) replaced by U+FFFD"] += repaired
    return parsed


def _shape(data: Any) -> str:
    """The format a parsed JSON document has, or a description of what it is."""
    if isinstance(data, dict) and isinstance(data.get("conversations"), list):
        inner = _shape(data["conversations"])  # {"conversations": [...]} (sharded exports)
        if inner == "chatgpt":
            return inner
    if isinstance(data, list) and not data:
        return "an empty JSON list"
    samples = [data] if isinstance(data, dict) else [
        x for x in data[:50] if isinstance(x, dict)] if isinstance(data, list) else []  # fmt: skip
    if not samples:
        return f"a JSON {type(data).__name__} that holds no conversation objects"
    if any("mapping" in s or {"current_node", "create_time"} <= set(s) for s in samples):
        return "chatgpt"
    if any("chat_messages" in s or {"uuid", "account"} <= set(s) for s in samples):
        return "claude"
    sample = samples[0]
    keys = set(sample)
    if "messages" in keys and isinstance(data, dict):
        return "jsonl"
    if "messages" in keys:
        return ("a JSON list of chats with \"messages\": write one per line (JSONL) to "
                "import them as OpenAI chat JSONL")  # fmt: skip
    if isinstance(sample.get("chat"), dict) and "history" in sample["chat"]:
        return "an Open WebUI export, which personal cannot import yet"
    if isinstance(sample.get("conversations"), list):
        return "a ShareGPT-style dataset (\"conversations\" of from/value), which personal cannot import yet"  # noqa: E501
    shown = ", ".join(sorted(keys)[:6]) + (", ..." if len(keys) > 6 else "")
    return f"JSON objects with the keys {shown}, which is no export format personal knows"


def _describe_text(body: str) -> str:
    start = body[:200].lower()
    if start.startswith("<!doctype html") or "<html" in start:
        return "an HTML page (ChatGPT's chat.html?)"
    if start.startswith("<"):
        return "an XML or HTML document"
    return "text that is neither JSON nor JSON lines"


def _unknown(name: str, what: str) -> ImportFormatError:
    return ImportFormatError(name, None, f"not a format personal can import: {what}",
                             hint=f"personal imports {KNOWN}")  # fmt: skip


__all__ = ["MAX_BYTES", "parse_json_text", "read_import"]
