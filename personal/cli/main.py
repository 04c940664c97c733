"""Entry point: the typer app, its sub-commands, and user-facing error handling."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from personal.cli import (
    adapters_cmd,
    daemon_cmd,
    host_cmd,
    import_cmd,
    log_cmd,
    models_cmd,
    prefs_cmd,
    sync_cmd,
    train_cmd,
)
from personal.cli import ask as ask_cmd
from personal.cli.serve_cmd import serve
from personal.cli.show import plain
from personal.errors import PersonalError
from personal.fileio import private_umask

app = typer.Typer(
    name="personal",
    help="Your own small language model: chat, log, and a nightly personal adapter.",
    no_args_is_help=True,
    add_completion=True,  # typer's --install-completion / --show-completion
    pretty_exceptions_enable=False,
)
app.command("ask")(ask_cmd.ask)
app.add_typer(models_cmd.app, name="models")
app.add_typer(log_cmd.app, name="log")
app.add_typer(prefs_cmd.app, name="prefs")
app.command("train")(train_cmd.train)
app.command("import")(import_cmd.import_)
app.add_typer(adapters_cmd.app, name="adapters")
app.add_typer(daemon_cmd.app, name="daemon")
app.command("serve")(serve)
app.add_typer(sync_cmd.app, name="sync")
app.add_typer(host_cmd.app, name="host")
err = Console(stderr=True)


def _version(show: bool) -> None:
    if show:
        from personal import __version__

        typer.echo(f"personal {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Your own small language model: chat, log, and a nightly personal adapter."""


@app.command("chat")
def chat(
    model: str | None = typer.Option(None, "--model", "-m", help="Catalog name or .gguf path."),
    conversation: str | None = typer.Option(
        None, "--conversation", "-c", help="Open this conversation (id or unique prefix)."
    ),
    backend: str | None = typer.Option(None, help="llama.cpp (default), mlx or fake."),
) -> None:
    """Open the terminal chat UI."""
    from tui.app import run

    run(model=model, conversation=conversation, backend=backend)


def main() -> None:
    """Run the CLI; typed errors print as a message and a hint, never a traceback."""
    private_umask()  # whatever the person's umask: what personal writes is theirs alone
    try:
        code = app(standalone_mode=False)  # returns an exit code for --help and typer.Exit
        if isinstance(code, int) and code:
            sys.exit(code)
    except PersonalError as e:  # messages quote names, paths and text from elsewhere
        err.print(f"[bold red]error:[/] {plain(e.message)}", highlight=False)
        if e.hint:
            err.print(f"[dim]hint:[/] {plain(e.hint)}", highlight=False)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        sys.exit(130)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except typer.TyperException as e:  # usage errors: typer shows them with their exit code
        show = getattr(e, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(e, "exit_code", 2))


if __name__ == "__main__":
    main()
