"""`personal daemon install`: let the OS run the cycle on schedule (systemd / launchd).

The OS timer runs `personal daemon once` at the scheduled times (so nothing stays
resident), with the same PERSONAL_HOME and a low priority. With `--serve`, a second unit
keeps `personal serve` running from login on (restarted if it fails), so the model is
there for editors and other clients. Every value written into a systemd unit is quoted
and escaped (a space in the home path split ExecStart in two; `%` and `$` are systemd
specifiers and variables); a schedule systemd or launchd would read differently is
refused (`schedule`), and nothing is written then.
"""

from __future__ import annotations

import itertools
import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

from personal.daemon.schedule import fields as _fields
from personal.errors import PersonalError

UNIT = "personal-train"
AGENT = "org.personal.train"
SERVE_UNIT = "personal-serve"
SERVE_AGENT = "org.personal.serve"


class UnitError(PersonalError):
    """A value cannot be written into a service unit."""


def systemd_quote(value: str, command: bool = False) -> str:
    """One systemd unit value as a quoted word: backslashes and quotes escaped, `%`
    (specifiers) doubled, and in a command line `$` (variables) doubled too."""
    if any(c in value for c in "\n\r\0"):
        raise UnitError(f"{value!r} cannot go into a systemd unit (a line break or NUL)",
                        hint="use a path without line breaks")  # fmt: skip
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return '"' + (escaped.replace("$", "$$") if command else escaped) + '"'


def _exe() -> str:
    return shutil.which("personal") or str(Path(sys.executable).parent / "personal")


def _command() -> list[str]:
    return [_exe(), "daemon", "once"]


def _serve_command(port: int | None) -> list[str]:
    return [_exe(), "serve", *(["--port", str(port)] if port else [])]


def _env() -> dict[str, str]:
    return {k: os.environ[k] for k in ("PERSONAL_HOME", "PERSONAL_MODEL") if k in os.environ}


def on_calendar(schedule: str) -> str:
    """A cron expression as systemd OnCalendar ("Mon,Fri *-*-* 03:30:00")."""
    minute, hour, day, month, dow = _fields(schedule)

    def part(values: list[int | str], width: int = 2) -> str:
        return "*" if values == ["*"] else ",".join(f"{int(v):0{width}d}" for v in values)

    names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    days = "" if dow == ["*"] else ",".join(names[int(d)] for d in dow) + " "
    return f"{days}*-{part(month)}-{part(day)} {part(hour)}:{part(minute)}:00"


def systemd_units(schedule: str) -> dict[str, str]:
    calendar = on_calendar(schedule)  # a schedule systemd cannot express fails first
    service = (
        "[Unit]\nDescription=personal: distill the chat log into a new adapter revision\n\n"
        f"[Service]\nType=oneshot\n{_exec(_command())}Nice=10\n"
        "IOSchedulingClass=idle\n"
    )
    timer = (
        "[Unit]\nDescription=personal: nightly adapter update\n\n"
        f"[Timer]\nOnCalendar={calendar}\nPersistent=true\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


def systemd_serve_unit(port: int | None = None) -> str:
    return (
        "[Unit]\nDescription=personal: your model as a local OpenAI-compatible server\n\n"
        f"[Service]\n{_exec(_serve_command(port))}Restart=on-failure\n"
        "RestartSec=5\n\n[Install]\nWantedBy=default.target\n"
    )


def _exec(command: list[str]) -> str:
    """ExecStart= and Environment= lines, every value quoted (see `systemd_quote`)."""
    env = "".join(f"Environment={systemd_quote(f'{k}={v}')}\n" for k, v in _env().items())
    return f"ExecStart={' '.join(systemd_quote(w, command=True) for w in command)}\n{env}"


def launchd_serve_plist(port: int | None = None) -> bytes:
    return plistlib.dumps({
        "Label": SERVE_AGENT, "ProgramArguments": _serve_command(port), "RunAtLoad": True,
        "KeepAlive": True, "EnvironmentVariables": _env(),
        "StandardErrorPath": str(Path.home() / "Library" / "Logs" / "personal-serve.log"),
    })  # fmt: skip


def launchd_plist(schedule: str) -> bytes:
    minute, hour, day, month, dow = _fields(schedule)
    keys = [("Minute", minute), ("Hour", hour), ("Day", day), ("Month", month), ("Weekday", dow)]
    choices = [[(k, int(v)) for v in vals] for k, vals in keys if vals != ["*"]]
    intervals = [dict(combo) for combo in itertools.product(*choices)] or [{}]
    plist = {
        "Label": AGENT,
        "ProgramArguments": _command(),
        "StartCalendarInterval": intervals if len(intervals) > 1 else intervals[0],
        "EnvironmentVariables": _env(),
        "Nice": 10,
        "LowPriorityIO": True,
        "StandardErrorPath": str(Path.home() / "Library" / "Logs" / "personal-train.log"),
    }
    return plistlib.dumps(plist)


def target_dir() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "LaunchAgents"
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def install(
    schedule: str, enable: bool = True, serve: bool = False, port: int | None = None
) -> list[str]:
    """Write the unit files; with `enable`, ask the service manager to start the timer
    (and, with `serve`, the server). Returns lines describing what was done; nothing is
    written for a schedule that is refused."""
    d = target_dir()
    done = []
    if sys.platform == "darwin":
        plist = launchd_plist(schedule)
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{AGENT}.plist"
        path.write_bytes(plist)
        done.append(f"wrote {path}")
        commands = [["launchctl", "load", "-w", str(path)]]
        if serve:
            agent = d / f"{SERVE_AGENT}.plist"
            agent.write_bytes(launchd_serve_plist(port))
            done.append(f"wrote {agent}")
            commands.append(["launchctl", "load", "-w", str(agent)])
    else:
        units = systemd_units(schedule)
        if serve:
            units[f"{SERVE_UNIT}.service"] = systemd_serve_unit(port)
        d.mkdir(parents=True, exist_ok=True)
        for name, text in units.items():
            (d / name).write_text(text)
            done.append(f"wrote {d / name}")
        commands = [["systemctl", "--user", "daemon-reload"],
                    ["systemctl", "--user", "enable", "--now", f"{UNIT}.timer"]]  # fmt: skip
        if serve:
            commands.append(["systemctl", "--user", "enable", "--now", f"{SERVE_UNIT}.service"])
    done += _run(commands) if enable else [f"to enable: {' '.join(c)}" for c in commands]
    return done


def uninstall(enable: bool = True) -> list[str]:
    d = target_dir()
    done: list[str] = []
    if sys.platform == "darwin":
        files = [d / f"{AGENT}.plist", d / f"{SERVE_AGENT}.plist"]
        commands = [["launchctl", "unload", "-w", str(f)] for f in files if f.exists()]
    else:
        files = [d / f"{UNIT}.timer", d / f"{UNIT}.service", d / f"{SERVE_UNIT}.service"]
        commands = [["systemctl", "--user", "disable", "--now", f"{UNIT}.timer"]]
        if files[2].exists():
            commands.append(["systemctl", "--user", "disable", "--now", f"{SERVE_UNIT}.service"])
    if enable:
        done += _run(commands)
    for f in files:
        if f.exists():
            f.unlink()
            done.append(f"removed {f}")
    return done or ["nothing was installed"]


def _run(commands: list[list[str]]) -> list[str]:
    out = []
    for cmd in commands:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            ok = r.returncode == 0
            out.append(f"{'ran' if ok else 'failed'}: {' '.join(cmd)}"
                       + ("" if ok else f" ({(r.stderr or r.stdout).strip()[:200]})"))  # fmt: skip
        except (OSError, subprocess.SubprocessError) as e:
            out.append(f"could not run {' '.join(cmd)}: {e} (run it yourself)")
    return out
