"""`personal host`: run a host for many people's adapters, and manage its tenants.

Every command names the host's root directory (`--root DIR`, or $PERSONAL_HOST_ROOT):
the catalog, the blob store and the base the host serves live there (docs/host.md).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="A host serving one base for many people's adapters (docs/host.md).",
                  no_args_is_help=True)  # fmt: skip
tenant_app = typer.Typer(help="Tenants: add (prints a token once), list, rm, pin.",
                         no_args_is_help=True)  # fmt: skip
token_app = typer.Typer(help="A tenant's API token.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(token_app, name="token")
out = Console(highlight=False)
ROOT = typer.Option(..., "--root", envvar="PERSONAL_HOST_ROOT",
                    help="The host's directory (catalog, blobs, base).")  # fmt: skip


def _catalog(root: Path):
    from personal.host.catalog import open_catalog

    return open_catalog(root)


@app.command("serve")
def serve(
    root: Path = ROOT,
    host: str = typer.Option("127.0.0.1", help="Address to bind (put TLS in front off loopback)."),
    port: int = typer.Option(8341, help="TCP port."),
    engine: str = typer.Option("llama.cpp", help="The inference engine: llama.cpp (or fake)."),
    model: str | None = typer.Option(None, "--model", "-m", help="The base: a catalog name or "
                                     ".gguf (default: the default model)."),
    precision: str = typer.Option("F32", help="F32 (the same weights as the Q4 file's "
                                  "conversion), F16 (the same model) or as-is (the same file)."),
    resident: int = typer.Option(8, min=1, help="K: adapters kept loaded at most."),
    queue: int = typer.Option(64, min=0, help="Generations that may wait before a 429."),
    threads: int | None = typer.Option(None, help="CPU threads (default: all cores, up to 8)."),
    n_ctx: int = typer.Option(4096, help="The engine's context size in tokens."),
    accept: list[str] = typer.Option(["same-file", "same-weights", "same-model"],
                                     help="Base identity relations accepted (repeatable)."),
    metrics_token: str | None = typer.Option(None, envvar="PERSONAL_HOST_METRICS_TOKEN",
                                             help="Bearer token for /metrics off loopback."),
) -> None:  # fmt: skip
    """Serve the OpenAI API and the sync API for every tenant of this root."""
    import uvicorn

    from personal.host.app import create_app
    from personal.host.runtime import HostConfig, HostRuntime

    config = HostConfig(root=root, host=host, port=port, model=model, precision=precision,
                        engine=engine, resident=resident, queue=queue, threads=threads,
                        n_ctx=n_ctx, accepts=tuple(accept), metrics_token=metrics_token)  # fmt: skip
    typer.echo(f"preparing the base ({precision}) under {root}/base ...", err=True)
    runtime = HostRuntime(config).open()
    try:
        shown = f"[{host}]" if ":" in host else host
        ident = runtime.base.identity
        typer.echo(f"host serving {ident.name} ({runtime.base.precision}, {engine}) for "
                   f"{len(runtime.catalog.tenants())} tenants at http://{shown}:{port} "
                   f"(K={resident} resident)", err=True)  # fmt: skip
        uvicorn.run(create_app(runtime), host=host, port=port, log_level="warning",
                    timeout_graceful_shutdown=5)  # fmt: skip
    finally:
        runtime.close()


@tenant_app.command("add")
def tenant_add(name: str = typer.Argument(..., help="lowercase letters, digits, - and _."),
               root: Path = ROOT) -> None:  # fmt: skip
    """Add a tenant; its API token is printed once (only its hash is kept)."""
    from personal.host.tenants import check_name, new_token, token_hash

    token = new_token()
    catalog = _catalog(root)
    try:
        catalog.add_tenant(check_name(name), token_hash(token))
    finally:
        catalog.close()
    out.print(f"tenant {name} added. Its token (shown once, give it to them):")
    typer.echo(token)
    out.print(f"[dim]on their device: personal sync login URL --token {token[:6]}…[/]")


@tenant_app.command("list")
def tenant_list(root: Path = ROOT) -> None:
    """Tenants, with their revision count and current revision."""
    catalog = _catalog(root)
    try:
        table = Table("tenant", "revisions", "current", "pinned", "since", box=None)
        for t in catalog.tenants():
            current = catalog.pointer(t.id).revision
            table.add_row(t.name, str(len(catalog.revisions(t.id))), (current or "-")[:12],
                          "yes" if t.pinned else "", t.created_at[:10])  # fmt: skip
        out.print(table)
    finally:
        catalog.close()


@tenant_app.command("rm")
def tenant_rm(name: str, root: Path = ROOT,
              yes: bool = typer.Option(False, "--yes", help="Do not ask.")) -> None:  # fmt: skip
    """Remove a tenant and everything of theirs: revisions, files, uploads, token."""
    from personal.host.store import Store

    if not yes and not typer.confirm(f"Remove tenant {name} and all their revisions?"):
        raise typer.Abort()
    catalog, store = _catalog(root), Store(root)
    try:
        tenant = catalog.tenant(name)
        removed = catalog.remove_tenant(name)
        still = catalog.blobs()
        theirs = {sha for r in removed for sha in r.files.values()} - still
        for sha in theirs:
            store.path(sha).unlink(missing_ok=True)
        if tenant is not None:
            store.drop_tenant(tenant.id)
    finally:
        catalog.close()
    out.print(f"removed tenant {name}: {len(removed)} revisions, {len(theirs)} files")


@tenant_app.command("pin")
def tenant_pin(name: str, root: Path = ROOT,
               off: bool = typer.Option(False, "--off", help="Unpin.")) -> None:  # fmt: skip
    """Keep a hot tenant's current revision resident (a running host picks it up on the
    tenant's next request)."""
    catalog = _catalog(root)
    try:
        catalog.set_pinned(name, not off)
    finally:
        catalog.close()
    out.print(f"{name}: {'unpinned' if off else 'pinned'}")


@token_app.command("rotate")
def token_rotate(name: str, root: Path = ROOT) -> None:
    """A new token for the tenant; the old one stops working at once."""
    from personal.host.tenants import new_token, token_hash

    token = new_token()
    catalog = _catalog(root)
    try:
        catalog.set_token(name, token_hash(token))
    finally:
        catalog.close()
    out.print(f"new token for {name} (shown once; the old one no longer works):")
    typer.echo(token)

