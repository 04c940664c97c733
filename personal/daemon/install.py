"""`personal daemon install`: let the OS run the cycle on schedule (systemd / launchd).

The OS timer runs `personal daemon once` at the scheduled times (so nothing stays
resident), with the same PERSONAL_HOME and a low priority. Every value written into a
systemd unit is quoted and escaped (a space in the home path split ExecStart in two;
`%` and `$` are systemd specifiers and variables); a schedule systemd or launchd would
read differently is refused (`schedule`).
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


def _command() -> list[str]:
    exe = shutil.which("personal") or str(Path(sys.executable).parent / "personal")
    return [exe, "daemon", "once"]


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
    env = "".join(f"Environment={systemd_quote(f'{k}={v}')}\n" for k, v in _env().items())
    command = " ".join(systemd_quote(word, command=True) for word in _command())
    service = (
        "[Unit]\nDescription=personal: distill the chat log into a new adapter revision\n\n"
        f"[Service]\nType=oneshot\nExecStart={command}\n{env}Nice=10\n"
        "IOSchedulingClass=idle\n"
    )
    timer = (
        "[Unit]\nDescription=personal: nightly adapter update\n\n"
        f"[Timer]\nOnCalendar={calendar}\nPersistent=true\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


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


def install(schedule: str, enable: bool = True) -> list[str]:
    """Write the unit files; with `enable`, ask the service manager to start the timer.
    Returns lines describing what was done. Nothing is written for a bad schedule."""
    d = target_dir()
    done = []
    if sys.platform == "darwin":
        plist = launchd_plist(schedule)
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{AGENT}.plist"
        path.write_bytes(plist)
        done.append(f"wrote {path}")
        commands = [["launchctl", "load", "-w", str(path)]]
    else:
        units = systemd_units(schedule)
        d.mkdir(parents=True, exist_ok=True)
        for name, text in units.items():
            (d / name).write_text(text)
            done.append(f"wrote {d / name}")
        commands = [["systemctl", "--user", "daemon-reload"],
                    ["systemctl", "--user", "enable", "--now", f"{UNIT}.timer"]]  # fmt: skip
    done += _run(commands) if enable else [f"to enable: {' '.join(c)}" for c in commands]
    return done


def uninstall(enable: bool = True) -> list[str]:
    d = target_dir()
    done: list[str] = []
    if sys.platform == "darwin":
        files = [d / f"{AGENT}.plist"]
        commands = [["launchctl", "unload", "-w", str(files[0])]]
    else:
        files = [d / f"{UNIT}.timer", d / f"{UNIT}.service"]
        commands = [["systemctl", "--user", "disable", "--now", f"{UNIT}.timer"]]
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
