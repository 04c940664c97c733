"""`personal sync`: this device's revisions to and from a host (docs/sync.md).

    personal sync login URL --token T     remember the host (sync.json, mode 0600)
    personal sync push [REV...]           audit, then push (default: current + ancestors)
    personal sync status                  what is where
    personal sync pull                    restore this tenant's revisions from the host
    personal sync route never|always|fit  when `ask` and the chat use the host's model
"""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.console import Console
from rich.table import Table

from personal.adapters.registry import Registry
from personal.models import catalog

app = typer.Typer(help="Sync adapter revisions with a host; use its model (docs/sync.md).",
                  no_args_is_help=True)  # fmt: skip
out = Console(highlight=False)
MODEL = typer.Option(None, "--model", "-m", help="Base model (default: the default).")


@app.command("login")
def login(url: str = typer.Argument(..., help="The host, e.g. https://host.example:8341"),
          token: str = typer.Option(..., "--token", prompt=True, hide_input=True,
                                    help="The token the host's operator gave you."),
          model: str | None = MODEL) -> None:  # fmt: skip
    """Remember a host and this device's token for it (checked first)."""
    from personal.sync import config as sync_config
    from personal.sync.client import HostClient

    url = sync_config.check_url(url)
    client = HostClient(url, token, retries=1)
    try:
        state = client.state()
    finally:
        client.close()
    previous = sync_config.load()
    path = sync_config.save(sync_config.SyncConfig(url, token.strip(),
                                                   previous.route if previous else "never"))  # fmt: skip
    out.print(f"logged in to {url} as tenant {state.tenant} ({len(state.revisions)} revisions "
              f"there); saved in {path} (readable by you only)")  # fmt: skip
    _relation(state, model)


def _relation(state, model: str | None) -> None:
    from personal.adapters.identity import base_identity
    from personal.adapters.manifest import BaseIdentity

    host = BaseIdentity(**state.base)
    mine = base_identity(catalog.resolve(model))
    relation = mine.compare(host)
    ok = relation in state.accepts
    out.print(f"the host serves {host.name} ({host.quantization}): {relation} as yours"
              + ("" if ok else " — it will refuse your revisions"))  # fmt: skip


@app.command("status")
def status(model: str | None = MODEL, as_json: bool = typer.Option(False, "--json")) -> None:
    """This device's revisions and the host's: which are where, which is current."""
    from personal.daemon.publish import client, host_form
    from personal.sync import config as sync_config

    config = sync_config.require()
    base, reg = catalog.resolve(model), Registry()
    host = client(config)
    try:
        state = host.state()
    finally:
        host.close()
    have = {r.id for r in state.revisions}
    local = reg.list(base.fingerprint)
    pointer = reg.pointer(base.fingerprint)
    rows = []
    for rev in local:
        where = host_form(reg, rev.id, have)
        audit = rev.manifest.audit
        rows.append({"revision": rev.id, "current": rev.id == pointer["revision"],
                     "on_host": where is not None, "as": where if where != rev.id else None,
                     "audit": None if audit is None else ("passed" if audit.passed else
                                                          "allowed" if audit.allowed else "failed")})  # fmt: skip
    only_host = [r.id for r in state.revisions if r.id not in {x.id for x in local}]
    if as_json:
        typer.echo(json.dumps({"url": config.url, "tenant": state.tenant, "route": config.route,
                               "host_current": state.current.revision,
                               "local_current": pointer["revision"], "revisions": rows,
                               "only_on_host": only_host}, indent=2))  # fmt: skip
        return
    out.print(f"host {config.url} (tenant {state.tenant}); route: {config.route}")
    out.print(f"current here {(pointer['revision'] or 'none')[:12]}, on the host "
              f"{(state.current.revision or 'none')[:12]}" + (" (pinned)" if state.current.pinned else ""))  # fmt: skip
    table = Table("", "revision", "on host", "audit", box=None)
    for row in rows:
        table.add_row("*" if row["current"] else "", row["revision"][:12],
                      ("yes" if not row["as"] else f"as {row['as'][:12]}") if row["on_host"] else "no",
                      row["audit"] or "-")  # fmt: skip
    out.print(table)
    if only_host:
        out.print(f"{len(only_host)} revisions only on the host: personal sync pull")


@app.command("push")
def push(revs: list[str] = typer.Argument(None, help="Revisions (default: the current one "
                                          "and its ancestors the host lacks)."),
         compact: int | None = typer.Option(None, help="Send a compact form (4 or 8 bits per "
                                            "value) when its held-out loss is within 1%."),
         allow_memorized: bool = typer.Option(False, "--allow-memorized",
                                              help="Push even if the privacy audit fails (loud; "
                                              "recorded in the manifest)."),
         model: str | None = MODEL) -> None:  # fmt: skip
    """Audit, then push revisions to the host (resumable; see docs/privacy.md)."""
    from personal.daemon.publish import publish

    if compact not in (None, 4, 8):
        raise typer.BadParameter("--compact takes 4 or 8")
    if allow_memorized:
        typer.secho("--allow-memorized: a revision that fails the privacy audit will be pushed "
                    "anyway, and its manifest will say so", err=True, fg="red", bold=True)  # fmt: skip
    done = publish(revs or None, model=model, compact_bits=compact, allow_memorized=allow_memorized,
                   say=lambda s: typer.secho(s, err=s.startswith("WARNING"),
                                             fg="red" if s.startswith("WARNING") else None))  # fmt: skip
    if not done.pushed:
        out.print("nothing to push: the host has it")
    out.print(f"the host's current revision: {(done.current or 'none')[:12]}")


@app.command("pull")
def pull(model: str | None = MODEL) -> None:
    """Restore this tenant's revisions from the host (bit for bit) onto this device."""
    from personal.daemon.publish import client
    from personal.sync.pull import pull as pull_all

    base = catalog.resolve(model)
    host = client()
    try:
        done = pull_all(host, Registry(), base)
    finally:
        host.close()
    out.print(f"restored {len(done.restored)} revisions ({len(done.present)} were here)")
    for rev_id, why in done.skipped.items():
        out.print(f"  skipped {rev_id[:12]}: {why}")
    if done.current:
        out.print(f"current: {done.current[:12]} (as on the host)")


@app.command("route")
def route(rule: str = typer.Argument(..., help="never | always | fit")) -> None:
    """When `personal ask` and the chat send a request to the host's model: never, always,
    or when the prompt does not fit the local model's context."""
    from personal.sync import config as sync_config

    if rule not in sync_config.ROUTES:
        raise typer.BadParameter(f"one of: {', '.join(sync_config.ROUTES)}")
    config = sync_config.require()
    sync_config.save(sync_config.SyncConfig(**{**asdict(config), "route": rule}))
    out.print(f"route: {rule}")


@app.command("logout")
def logout() -> None:
    """Forget the host and the token on this device (the host keeps your revisions)."""
    from personal.sync import config as sync_config

    sync_config.config_path().unlink(missing_ok=True)
    out.print("logged out")
