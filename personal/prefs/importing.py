"""Importing a file with what it says about the person: the log's import
(personal/log/transfer.py), plus what only the preference layer knows.

- A preference carried by the file (our own export) whose checker cannot run is refused
  at import, by name: nothing from the file is written.
- ChatGPT's custom instructions and memory are read line by line: a line the extractor
  recognises becomes that preference ("Call the user Sam.", with its checker; "I live in
  Berlin" about the person: "The user lives in Berlin."); any other line is kept as it
  was, a fact about the person or an instruction. Every one of them
  is an inert candidate until the person confirms it (`personal prefs confirm ID`).
- A dry run also says which stated preferences the imported messages hold (the scan that
  follows an import proposes them as candidates).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from personal.errors import ImportFormatError
from personal.log import Log
from personal.log.imports.parsed import Parsed
from personal.log.imports.read import MAX_BYTES, read_import
from personal.log.transfer import ImportReport, write
from personal.prefs.extract import extract
from personal.prefs.preferences import checker_problem, scan
from personal.prefs.wording import as_sentence


def import_file(
    log: Log, path: str | Path, *, dry_run: bool = False, max_bytes: int = MAX_BYTES
) -> ImportReport:
    """Import a file (all or nothing) and propose what it states as candidates."""
    parsed = read_import(path, max_bytes)
    refuse_bad_checkers(parsed)
    report = write(log, parsed, candidates(parsed), dry_run=dry_run)
    if dry_run:  # what the scan after a real import would propose (roughly: no dedupe)
        stated = dict.fromkeys(c.text for text in report.said for c in extract(text))
        stated = tuple(t for t in stated if t not in report.proposed)
        return replace(report, proposed=report.proposed + stated,
                       preferences=report.preferences + len(stated))  # fmt: skip
    found = scan(log)  # imported messages state preferences too: proposed as candidates
    return replace(report, proposed=report.proposed + tuple(p.text for p in found.new),
                   preferences=report.preferences + len(found.new))  # fmt: skip


def refuse_bad_checkers(parsed: Parsed) -> None:
    sections = [(c.line, c.signals) for c in parsed.conversations]
    for line, section in [*sections, *parsed.profiles]:
        for pref in (section or {}).get("preferences", []):
            if pref["checker"] is not None and (problem := checker_problem(pref["checker"])):
                raise ImportFormatError(
                    parsed.path, line, f"the preference {pref['text']!r} has a malformed "
                    f"checker {pref['checker']!r} ({problem})",
                    hint="remove its \"checker\" (one is derived from its text when it is "
                    "confirmed) or that preference",
                )  # fmt: skip


def candidates(parsed: Parsed) -> list[dict]:
    """The preference candidates of a file's custom instructions and memory."""
    out = []
    for instruction in parsed.instructions:
        found = extract(instruction.text)
        if not found and instruction.kind == "fact":  # "I live in Berlin" → a fact
            text = instruction.text
            found = [c for c in extract(f"Remember that {text[:1].lower()}{text[1:]}")
                     if c.kind == "fact"]  # fmt: skip
        if not found:
            out.append({"text": as_sentence(instruction.text), "kind": instruction.kind,
                        "checker": None, "source": instruction.source,
                        "stated_at": instruction.stated_at})  # fmt: skip
        for c in found:
            out.append({"text": c.text, "kind": c.kind, "checker": c.checker,
                        "source": instruction.source, "stated_at": instruction.stated_at})  # fmt: skip
    return out


__all__ = ["MAX_BYTES", "candidates", "import_file", "refuse_bad_checkers"]
