"""`personal import`: conversations (and what they say about you) from other tools."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

out = Console(highlight=False, soft_wrap=True)
SHOWN_CANDIDATES = 10


def import_(
    file: Path = typer.Argument(..., help="ChatGPT or Claude export (.zip, conversations.json "
                                "or one conversation), simonw/llm's logs.db, or OpenAI chat / "
                                "fine-tuning JSONL (our own export too)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be imported "
                                 "(conversations, messages, preference candidates, what is "
                                 "left out and why); write nothing."),
    max_size: int = typer.Option(1024, "--max-size", help="Refuse files (or the zip's "
                                 "conversations.json) larger than this many MB."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON "
                                 "(docs/json-output.md)."),
) -> None:
    """Import conversations from another tool (all of the file, or nothing); preferences
    it states wait for you to confirm them (personal prefs list)."""
    from personal.log import Log
    from personal.prefs.importing import import_file

    with Log() as log:
        report = import_file(log, file, dry_run=dry_run, max_bytes=max_size * 2**20)
    if as_json:
        typer.echo(json.dumps({"file": str(file), **report.to_json()}, indent=2,
                              ensure_ascii=False))  # fmt: skip
        return
    verb = "would import" if dry_run else "imported"
    grown = f", added to {report.grown} imported before" if report.grown else ""
    notes = f", {report.notes} notes" if report.notes else ""
    out.print(f"{verb} {report.conversations} conversations ({report.messages} messages"
              f"{grown}{notes}) from {escape(str(file))} as {report.format}"
              + (f"; skipped {report.skipped} already in the log (or empty)" if report.skipped
                 else ""))  # fmt: skip
    if report.proposed:
        n = len(report.proposed)
        verb = ("would wait" if dry_run else "wait") if n > 1 else (
            "would wait" if dry_run else "waits")  # fmt: skip
        out.print(f"{n} preference candidate{'s' if n > 1 else ''} {verb} for you to confirm "
                  f"{'them' if n > 1 else 'it'}:")
        for text in report.proposed[:SHOWN_CANDIDATES]:
            out.print(f"  - {escape(text)}")
        if len(report.proposed) > SHOWN_CANDIDATES:
            out.print(f"  ... and {len(report.proposed) - SHOWN_CANDIDATES} more")
        if not dry_run:
            out.print(f"  review {'them' if n > 1 else 'it'}: personal prefs list")
    if report.dropped:
        out.print("left out:")
        for reason, count in report.dropped:
            out.print(f"  {count:>5}  {escape(reason)}")
