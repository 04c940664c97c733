"""`personal log`: browse, search, export and forget logged conversations."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from personal.cli.show import literal, plain
from personal.errors import LogError, PersonalError
from personal.fileio import FILE_MODE
from personal.log import Log
from personal.printable import printable

if TYPE_CHECKING:
    from personal.learn.forget import ForgetReport

app = typer.Typer(help="Browse, search, export and delete the conversation log.",
                  no_args_is_help=True)  # fmt: skip
out = Console(highlight=False)


class NeedsConfirmation(PersonalError):
    pass


@app.command("list")
def list_(
    limit: int = typer.Option(20, help="How many conversations (newest first)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Conversations, most recently active first."""
    with Log() as log:
        convs = log.conversations(limit=limit)
    if as_json:
        typer.echo(json.dumps([c.__dict__ for c in convs], indent=2))
        return
    if not convs:
        out.print("the log is empty: personal ask \"...\" or personal chat")
        return
    table = Table("id", "updated", "msgs", "source", "title", box=None)
    for c in convs:
        table.add_row(c.id[:10], c.updated_at[:16].replace("T", " "), str(c.message_count),
                      literal(c.source), literal(c.title or ""))  # fmt: skip
    out.print(table)


@app.command("show")
def show(
    conversation: str = typer.Argument(..., help="Conversation id or unique prefix."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every message of one conversation, with the model and adapter that wrote it."""
    with Log() as log:
        conv = log.conversation(conversation)
        messages = log.messages(conv.id)
        feedback = {m.id: log.feedback(m.id) for m in messages}
    if as_json:
        typer.echo(json.dumps({"conversation": conv.__dict__,
                               "messages": [m.__dict__ for m in messages]}, indent=2))  # fmt: skip
        return
    out.print(f"[bold]{plain(conv.title or '(untitled)')}[/]  "
              f"[dim]{conv.id} · {plain(conv.source)} · {plain(conv.created_at)}[/]")
    for m in messages:
        tags = [plain(m.created_at[11:19])]
        if m.role == "assistant":
            tags += [plain(m.model or "?"), f"adapter {plain(m.adapter or 'none')}"]
            if m.completion_tokens:
                tags.append(f"{m.completion_tokens} tok")
        if m.status != "complete":
            tags.append(f"[yellow]{plain(m.status)}[/]")
        out.print(f"\n[bold cyan]{plain(m.role)}[/] [dim]{' · '.join(tags)}[/]")
        if m.content:
            out.print(literal(m.content))
        for call in m.tool_calls or []:
            fn = call.get("function", {})
            out.print(literal(f"→ {fn.get('name')}({fn.get('arguments')})", "magenta"))
        for fb in feedback.get(m.id, []):
            out.print(literal(f"feedback {fb.get('kind')}: {fb.get('value')}", "green"))


@app.command("search")
def search(
    query: str = typer.Argument(..., help="Words to find (full-text search)."),
    limit: int = typer.Option(20),
    as_json: bool = typer.Option(False, "--json", help="Print [{conversation, message, "
                                 "snippet}] (docs/json-output.md)."),
) -> None:
    """Find messages by their text."""
    with Log() as log:
        hits = log.search(query, limit=limit)
    if as_json:
        typer.echo(json.dumps([{"conversation": h.conversation.__dict__,
                                "message": h.message.__dict__, "snippet": h.snippet}
                               for h in hits], indent=2, ensure_ascii=False))  # fmt: skip
        return
    if not hits:
        out.print(literal(f"no messages match {query!r}"))
    for hit in hits:
        out.print(f"[bold]{hit.conversation.id[:10]}[/] [cyan]{plain(hit.message.role)}[/] "
                  f"[dim]{plain(hit.message.created_at[:16])}[/]  {plain(hit.snippet)}")  # fmt: skip


@app.command("export")
def export(
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (default: stdout)."),
    conversation: list[str] | None = typer.Option(
        None, "--conversation", "-c", help="Only these conversations (repeatable)."
    ),
) -> None:
    """Export conversations as JSONL (one conversation per line, re-importable)."""
    from personal.log.transfer import export_jsonl

    with Log() as log:
        ids = [log.conversation(c).id for c in conversation] if conversation else None
        if output is None:
            export_jsonl(log, sys.stdout, ids)
            return
        tmp = output.with_name(output.name + ".partial")
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)  # yours alone
        except OSError as e:
            raise PersonalError(f"cannot write {output}: {e.strerror or e}",
                                hint="choose a file in a folder you can write to") from None  # fmt: skip
        with os.fdopen(fd, "w", encoding="utf-8") as fp:
            os.fchmod(fd, FILE_MODE)
            n = export_jsonl(log, fp, ids)
        tmp.replace(output)
    typer.echo(f"exported {n} conversations to {output}", err=True)


@app.command("forget")
def forget(
    conversation: str | None = typer.Argument(None, help="Conversation id or prefix."),
    all_: bool = typer.Option(False, "--all", help="Delete every conversation."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Don't ask for confirmation."),
) -> None:
    """Delete one conversation, or everything (--all), and all that was derived from it:
    notes, preferences, distilled datasets; adapter revisions trained on it are marked."""
    from personal.learn.forget import forget as forget_everywhere

    if bool(conversation) == all_:
        raise NeedsConfirmation("name one conversation, or pass --all",
                                hint="personal log forget ID   |   personal log forget --all")  # fmt: skip
    with Log() as log:
        if all_:
            _confirm(yes, "Delete every conversation in the log?")
            report = forget_everywhere(log, None)
            typer.echo(f"deleted everything ({report.erased.messages} messages)")
        else:
            conv = log.conversation(conversation)  # type: ignore[arg-type]
            title = printable(conv.title or "untitled")
            _confirm(yes, f"Delete conversation {conv.id[:10]} ({title})?")
            report = forget_everywhere(log, conv.id)
            typer.echo(f"deleted {conv.id} ({report.erased.messages} messages)")
    for line in describe(report):
        typer.echo(line)
    if not report.erased.purged:
        raise NotPurged()


class NotPurged(LogError):
    def __init__(self) -> None:
        super().__init__(
            "the deleted text is still on disk in log.db: another program is reading the "
            "log, so its old pages could not be overwritten yet",
            hint="close the other personal windows or programs using the log, then run: "
            "personal log purge",
        )


def describe(report: ForgetReport) -> list[str]:
    """What else went, and what could not, in words."""
    e, lines = report.erased, []
    if e.notes or e.preferences:
        lines.append(f"  with {e.notes} notes and {e.preferences} preferences taken from it")
    if report.datasets:
        runs = f" and {report.runs} training runs" if report.runs else ""
        lines.append(f"  deleted {len(report.datasets)} distilled datasets{runs} that contained it")
    if report.cache:
        lines.append("  deleted the teacher's generation cache (rebuilt by the next training)")
    if report.revisions:
        ids = ", ".join(r[:12] for r in report.revisions)
        lines.append(f"  marked {len(report.revisions)} adapter revisions trained on it: {ids}")
    if report.current:
        ids = ", ".join(r[:12] for r in report.current)
        lines.append(f"  the current adapter ({ids}) was trained on forgotten messages: run "
                     "`personal train --from-scratch` to replace it, or `personal adapters "
                     "rollback` to an earlier one")
    return lines


@app.command("purge")
def purge() -> None:
    """Overwrite what forget deleted on disk, if another program was reading the log then."""
    from personal.log.erase import purge as purge_log

    with Log() as log:
        if not purge_log(log):
            raise NotPurged()
    typer.echo("the log's deleted pages are gone from disk")


def _confirm(yes: bool, question: str) -> None:
    if yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise NeedsConfirmation("refusing to delete without confirmation",
                                hint="pass --yes when running without a terminal")  # fmt: skip
    typer.confirm(question, abort=True)
