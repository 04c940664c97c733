"""`personal prefs`: the preferences the personal adapter is trained to follow."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from personal.cli.show import literal
from personal.errors import NotFound
from personal.log import Log
from personal.prefs.preferences import Preference, Preferences, scan
from personal.prefs.prompting import UNCHECKED_HINT, status

app = typer.Typer(help="List, add, edit, extract and confirm your stated preferences.",
                  no_args_is_help=True)  # fmt: skip
out = Console(highlight=False)
PREVIEW_WORDS = 6


@app.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="Include switched-off and rejected ones."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Preferences in the order they were stated, with where each came from; then the
    candidates from imports that wait for you (personal prefs confirm ID / reject ID)."""
    with Log() as log:
        everything = Preferences(log).list()
        prefs = [p for p in everything if p.confirmed and (p.active or all_)]
        waiting = [p for p in everything if not p.confirmed and (all_ or not p.rejected)]
        sources = {p.id: _source(log, p) for p in prefs + waiting}
    plan = _current_plan()
    short = short_ids([p.id for p in everything])
    if as_json:
        typer.echo(json.dumps([{**p.__dict__, "source": sources[p.id], "status": status(p, plan),
                                "candidate": not p.confirmed, "rejected": p.rejected}
                               for p in prefs + waiting], indent=2))  # fmt: skip
        return
    if not prefs and not waiting:
        out.print(
            'no preferences yet: personal prefs add "Answer in French." or personal prefs scan'
        )
        return
    groups = {"learned": "learned by the current revision",
              "in the prompt": "checked, not learned yet: kept in the chat's prompt",
              "unchecked: in the prompt": "unchecked: kept in the chat's prompt", "off": "off"}  # fmt: skip
    for state, title in groups.items():
        members = [p for p in prefs if status(p, plan) == state]
        if not members:
            continue
        out.print(Text(title, style="bold"))
        table = Table("id", "kind", "preference", "source", box=None)
        for p in members:
            table.add_row(short[p.id], p.kind, literal(p.text), literal(sources[p.id]))
        out.print(table)
        if state == "unchecked: in the prompt":
            out.print(Text(UNCHECKED_HINT[0].upper() + UNCHECKED_HINT[1:] + ".", style="dim"))
    if waiting:
        n = len(waiting)
        out.print(f"\n[bold]{n} candidate{'s' if n > 1 else ''} from imports[/] - not used "
                  f"until you confirm {'them' if n > 1 else 'it'}:")
        table = Table("id", "kind", "candidate", "from", box=None)
        for p in waiting:
            text = literal(p.text + (" (rejected)" if p.rejected else ""))
            table.add_row(short[p.id], p.kind, text, literal(sources[p.id]))
        out.print(table)
        out.print("confirm one: personal prefs confirm ID    turn one down: personal prefs "
                  "reject ID")


@app.command("confirm")
def confirm(preferences: list[str] = typer.Argument(..., help="Candidate ids (or prefixes).")) -> None:
    """Confirm candidates from an import: they become preferences the adapter learns."""
    with Log() as log:
        for ref in preferences:
            pref = Preferences(log).confirm(ref)
            out.print(literal(f"confirmed {pref.id[:10]} ({_describe(pref)}): {pref.text}"))


@app.command("reject")
def reject(preferences: list[str] = typer.Argument(..., help="Candidate ids (or prefixes).")) -> None:
    """Turn candidates from an import down (they are not proposed again)."""
    with Log() as log:
        for ref in preferences:
            pref = Preferences(log).reject(ref)
            out.print(literal(f"rejected {pref.id[:10]}: {pref.text}"))


def _current_plan() -> dict[str, str]:
    """Which preferences the current revision learned ({} without one, or when the default
    model cannot be read)."""
    from personal.adapters.registry import Registry
    from personal.errors import PersonalError
    from personal.models import catalog

    try:
        current = Registry().current(catalog.resolve(None).fingerprint)
    except PersonalError:
        return {}
    return current.manifest.plan if current else {}


@app.command("add")
def add(text: str = typer.Argument(..., help='The preference, e.g. "Answer in French."')) -> None:
    """Add a preference by hand."""
    with Log() as log:
        pref = Preferences(log).add(text)
    out.print(literal(f"added {pref.id[:10]} ({_describe(pref)}): {pref.text}"))


@app.command("rm")
def rm(preference: str = typer.Argument(..., help="Preference id or unique prefix.")) -> None:
    """Delete a preference (it will not be extracted again)."""
    with Log() as log:
        prefs = Preferences(log)
        pref = prefs.get(preference)
        prefs.remove(pref.id)
    out.print(literal(f"deleted {pref.id[:10]}: {pref.text}"))


@app.command("edit")
def edit(
    preference: str = typer.Argument(..., help="Preference id or unique prefix."),
    text: str = typer.Argument(..., help="The new wording."),
) -> None:
    """Reword a preference (its kind and check are derived again)."""
    with Log() as log:
        pref = Preferences(log).edit(preference, text)
    out.print(literal(f"edited {pref.id[:10]} ({_describe(pref)}): {pref.text}"))


@app.command("scan")
def scan_(
    since: str | None = typer.Option(None, help="Only messages logged at or after this ISO time."),
    as_json: bool = typer.Option(False, "--json", help="Print {scanned, duplicates, new: [...]} "
                                 "(docs/json-output.md)."),
) -> None:
    """Extract preferences from every user message not read yet (imports included: what
    imported conversations state is proposed as candidates)."""
    with Log() as log:
        report = scan(log, since=since)
        sources = {p.id: _source(log, p) for p in report.new}
        short = short_ids([p.id for p in Preferences(log).list()])
    if as_json:
        new = [{**p.__dict__, "source": sources[p.id], "candidate": not p.confirmed}
               for p in report.new]  # fmt: skip
        typer.echo(json.dumps({"scanned": report.scanned, "duplicates": report.duplicates,
                               "new": new}, indent=2))  # fmt: skip
        return
    for p in report.new:
        state = " [candidate: personal prefs confirm]" if not p.confirmed else (
            "" if p.active else " [superseded by a later one]")  # fmt: skip
        out.print(literal(f"{short[p.id]} ({_describe(p)}): {p.text}{state}  ← {sources[p.id]}"))
    dups = f", {report.duplicates} already known" if report.duplicates else ""
    out.print(f"read {report.scanned} messages: {len(report.new)} new preferences{dups}")


def short_ids(ids: list[str], least: int = 10) -> dict[str, str]:
    """The shortest prefix (at least `least` characters) that names each id uniquely:
    preferences extracted together share their first 10 (the millisecond)."""
    ordered = sorted(ids)
    out = {}
    for i, pref_id in enumerate(ordered):
        shared = max(
            (_common(pref_id, ordered[j]) for j in (i - 1, i + 1) if 0 <= j < len(ordered)),
            default=0,
        )
        out[pref_id] = pref_id[: max(least, shared + 1)]
    return out


def _common(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _describe(pref: Preference) -> str:
    return pref.kind + (", checked" if pref.checker else "")


def _source(log: Log, pref: Preference) -> str:
    """Where a preference came from: its conversation's id prefix and the first words of
    the message that stated it, or "manual"."""
    candidate = pref.meta.get("candidate")
    if pref.source_message_id is None and isinstance(candidate, dict) and candidate.get("source"):
        return str(candidate["source"])
    if pref.source_message_id is None:
        return "manual" if pref.conversation_id is None else pref.conversation_id[:10]
    try:
        message = log.message(pref.source_message_id)
    except NotFound:
        return pref.origin
    words = (message.content or "").split()
    preview = " ".join(words[:PREVIEW_WORDS]) + (" …" if len(words) > PREVIEW_WORDS else "")
    return f'{message.conversation_id[:10]} "{preview}"'
