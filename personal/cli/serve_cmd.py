"""`personal serve`: your model behind a local OpenAI-compatible API, with a web page."""

from __future__ import annotations

import typer

from personal.server import DEFAULT_PORT


def serve(
    host: str = typer.Option(
        "127.0.0.1", help="Address to bind; anything but loopback needs --token."
    ),
    port: int = typer.Option(DEFAULT_PORT, help="TCP port."),
    model: str | None = typer.Option(None, "--model", "-m", help="Catalog name or .gguf path."),
    no_log: bool = typer.Option(False, "--no-log", help="Do not record API traffic in the log."),
    token: str | None = typer.Option(
        None,
        envvar="PERSONAL_SERVE_TOKEN",
        help="Bearer token clients must send (required off loopback).",
    ),
    backend: str | None = typer.Option(None, help="llama.cpp (default), mlx or fake."),
    queue: int = typer.Option(16, min=0, help="Requests that may wait for the model before 429."),
    isolate: bool = typer.Option(
        False, "--isolate", help="Forget the cached prompt prefix before every request."
    ),
    tools: bool = typer.Option(
        True, "--tools/--no-tools", help="Run personal's tools for clients that send none."
    ),
    threads: int | None = typer.Option(None, help="CPU threads (default: all cores, up to 8)."),
) -> None:
    """Serve the model over an OpenAI-compatible HTTP API (see docs/api.md)."""
    import uvicorn

    from personal.server.app import create_app
    from personal.server.auth import check_bind, is_loopback
    from personal.server.runtime import Runtime, ServeConfig

    check_bind(host, token)
    config = ServeConfig(host=host, port=port, model=model, backend=backend, log=not no_log,
                         token=token, queue=queue, isolate=isolate, tools=tools,
                         threads=threads)  # fmt: skip
    runtime = Runtime(config).open()
    try:
        if runtime.warning:
            typer.secho(runtime.warning, err=True, fg="yellow")
        info = runtime.engine.info
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"serving {info.model} (revision {runtime.revision or 'none'}) at "
                   f"http://{shown}:{port}/v1 — web page at http://{shown}:{port}/", err=True)  # fmt: skip
        if not is_loopback(host):
            typer.secho(f"reachable from the network on {host}: clients must send "
                        "'Authorization: Bearer <token>'", err=True, fg="yellow")  # fmt: skip
        typer.echo("logging API traffic to the chat log" if config.log else
                   "not logging (--no-log)", err=True)  # fmt: skip
        uvicorn.run(create_app(runtime), host=host, port=port, log_level="warning",
                    timeout_graceful_shutdown=5)  # fmt: skip
    finally:
        runtime.close()
