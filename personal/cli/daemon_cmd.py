"""`personal daemon`: the nightly learning loop — run, once, status, install, logs."""

from __future__ import annotations

import json
from dataclasses import fields, replace

import typer
from rich.console import Console

from personal import paths
from personal.cli.show import literal
from personal.daemon.conditions import DaemonConfig
from personal.printable import printable

app = typer.Typer(help="The nightly adapter update: run, once, status, install, logs.",
                  no_args_is_help=True)  # fmt: skip
out = Console(highlight=False)


def load_config(**overrides) -> DaemonConfig:
    """config.json's "daemon" section, then command-line overrides."""
    path = paths.home() / "config.json"
    data = json.loads(path.read_text()).get("daemon", {}) if path.exists() else {}
    known = {f.name for f in fields(DaemonConfig)}
    config = DaemonConfig(**{k: v for k, v in data.items() if k in known})
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


SCHEDULE = typer.Option(None, help='Cron expression (default "30 3 * * *", or config.json).')


@app.command("run")
def run(schedule: str | None = SCHEDULE, model: str | None = typer.Option(None, "--model", "-m"),
        min_new: int | None = typer.Option(None, help="New user messages needed.")) -> None:  # fmt: skip
    """Stay in the foreground and run a cycle on the schedule (SIGTERM stops cleanly)."""
    from personal.daemon.schedule import next_run
    from personal.daemon.service import run_forever, setup_logging

    config = load_config(schedule=schedule, model=model, min_new_messages=min_new)
    next_run(config.schedule)  # a bad schedule fails here, before anything starts
    setup_logging()
    run_forever(config)


@app.command("once")
def once(force: bool = typer.Option(False, help="Ignore the idle and power conditions."),
         model: str | None = typer.Option(None, "--model", "-m"),
         min_new: int | None = typer.Option(None, help="New user messages needed.")) -> None:  # fmt: skip
    """Run one cycle now (if there is enough new data and the machine may train)."""
    import signal
    import threading

    from personal.daemon.cycle import run_cycle
    from personal.daemon.service import setup_logging

    setup_logging()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    result = run_cycle(load_config(model=model, min_new_messages=min_new), force=force, stop=stop)
    out.print(literal(f"{result.outcome}: " + "; ".join(result.reasons)))
    if result.outcome == "failed":
        raise typer.Exit(1)


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Last and next run, their outcome, whether one is running, the current revision."""
    from personal.adapters.registry import Registry
    from personal.daemon.cycle import read_state
    from personal.daemon.schedule import next_run
    from personal.learn.lock import holder
    from personal.models import catalog

    config = load_config()
    state = read_state()
    base = catalog.resolve(config.model)
    current = Registry().current(base.fingerprint)
    who = holder()  # whoever trains now: a daemon cycle or `personal train`
    cycle = state.get("running") or {}
    running = who
    if who is not None and cycle.get("pid") == who.get("pid"):
        running = {**who, **cycle}  # the daemon's own record says which stage
    info = {
        "schedule": config.schedule,
        "next_run": state.get("next_run") or next_run(config.schedule).isoformat(timespec="seconds"),
        "daemon_pid": state.get("daemon_pid"),
        "running": running,
        "last": state.get("last"),
        "current_revision": current.id if current else None,
        "base": base.name,
    }  # fmt: skip
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    last = info["last"] or {}
    out.print(f"schedule   {info['schedule']}  (next: {info['next_run']})")
    out.print(f"daemon     {'running, pid ' + str(info['daemon_pid']) if info['daemon_pid'] else 'not running (runs via the OS timer if installed)'}")
    training = "in progress: " + json.dumps(info["running"]) if info["running"] else "idle"
    out.print(literal(f"training   {training}"))
    out.print(literal(f"last run   {last.get('finished_at', 'never')}  {last.get('outcome', '')}  "
                   + "; ".join(last.get("reasons", []))))  # fmt: skip
    out.print(literal(f"current    {info['current_revision'] or 'none'} ({base.name})"))


@app.command("install")
def install(schedule: str | None = SCHEDULE,
            enable: bool = typer.Option(True, "--enable/--no-enable", help="Start the timer now."),
            serve: bool = typer.Option(False, "--serve", help="Also keep `personal serve` running from login on."),
            port: int | None = typer.Option(None, "--port", help="The server's port (with --serve).")) -> None:  # fmt: skip
    """Write a systemd user timer (Linux) or a launchd agent (macOS) running `daemon once`
    (with --serve, also a service running `personal serve`)."""
    from personal.daemon.install import install as do_install

    for line in do_install(load_config(schedule=schedule).schedule, enable=enable, serve=serve,
                           port=port):  # fmt: skip
        out.print(literal(line))


@app.command("uninstall")
def uninstall(enable: bool = typer.Option(True, "--enable/--no-enable",
                                          help="Also stop the timer.")) -> None:  # fmt: skip
    """Remove what `install` wrote."""
    from personal.daemon.install import uninstall as do_uninstall

    for line in do_uninstall(enable=enable):
        out.print(literal(line))


@app.command("logs")
def logs(lines: int = typer.Option(40, "-n", help="How many lines."),
         follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines.")) -> None:  # fmt: skip
    """Show the daemon's log (-f: keep following it, across its rotation)."""
    from personal.cli.follow import follow as follow_lines
    from personal.cli.follow import last_lines
    from personal.daemon.service import log_file

    path = log_file()
    shown, fp = last_lines(path, lines)
    if fp is None and not follow:
        out.print("no daemon log yet")
        return
    for line in shown:  # log lines quote messages and errors: escapes shown, not run
        typer.echo(printable(line.rstrip("\n")))
    if not follow:
        fp.close()
        return
    for line in follow_lines(path, fp):
        typer.echo(printable(line.rstrip("\n")))
