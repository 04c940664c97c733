"""Generated systemd units quote every value, and a schedule means the same thing to
`daemon run` (croniter) and to the installed timer (systemd), or is refused with a reason.

A space in the home path split ExecStart; "0 3 1 * 1" ran on the 1st OR on Mondays under
`daemon run` but on Mondays that are the 1st under systemd; "5#2" (the second Friday)
became every Friday.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime

import pytest

from personal.daemon import install
from personal.daemon.schedule import BadSchedule, next_run

ANALYZE = shutil.which("systemd-analyze")


def unquote(line: str) -> list[str]:
    """systemd's reading of a quoted command line (the subset the units use)."""
    words = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
    return [re.sub(r"\\(.)", r"\1", w).replace("%%", "%").replace("$$", "$") for w in words]


@pytest.fixture
def odd_paths(tmp_path, monkeypatch):
    exe = tmp_path / "my bin 50%" / "personal"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    home = tmp_path / 'my "home" $HOME 100%'
    monkeypatch.setenv("PERSONAL_HOME", str(home))
    monkeypatch.setattr(install, "_exe", lambda: str(exe))
    return exe, home


def test_every_value_in_a_unit_is_quoted(odd_paths, tmp_path):
    exe, home = odd_paths
    units = install.systemd_units("30 3 * * *")
    service = units["personal-train.service"]
    exec_line = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert unquote(exec_line) == [str(exe), "daemon", "once"]
    env_line = next(line for line in service.splitlines() if line.startswith("Environment="))
    assert unquote(env_line.replace("$$", "$")) == [f"PERSONAL_HOME={home}"]
    if ANALYZE:  # systemd's own parser agrees: the command is one existing executable
        path = tmp_path / "personal-train.service"
        path.write_text(service)
        check = subprocess.run([ANALYZE, "verify", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_the_server_unit_is_quoted_too(odd_paths, tmp_path):
    exe, home = odd_paths
    service = install.systemd_serve_unit(8399)
    exec_line = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert unquote(exec_line) == [str(exe), "serve", "--port", "8399"]
    if ANALYZE:
        path = tmp_path / "personal-serve.service"
        path.write_text(service)
        check = subprocess.run([ANALYZE, "verify", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_a_line_break_cannot_go_into_a_unit(monkeypatch):
    monkeypatch.setenv("PERSONAL_HOME", "/tmp/a\nExecStartPre=/bin/evil")
    with pytest.raises(install.UnitError):
        install.systemd_units("30 3 * * *")


REFUSED = {
    "0 3 1 * 1": "both the day of the month and the day of the week",
    "0 3 L * *": "cannot express",
    "0 3 * * 5#2": "cannot express",
    "0 3 1W * *": "cannot express",
    "0 3 ? * 1": "cannot express",
    "0 0 3 * * *": "6 fields",
    "0 0 3 * * * 2030": "7 fields",
    "@reboot": "not a time",
    "every night": "cron",
}  # fmt: skip


@pytest.mark.parametrize("schedule", sorted(REFUSED))
def test_schedules_read_differently_are_refused_everywhere(schedule):
    for use in (next_run, install.on_calendar, install.systemd_units, install.launchd_plist):
        with pytest.raises(BadSchedule, match=re.escape(REFUSED[schedule])):
            use(schedule)


def test_the_cli_refuses_them_with_the_reason(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    for command in (["run"], ["install", "--no-enable"]):
        result = subprocess.run([sys.executable, "-m", "personal.cli.main", "daemon", *command,
                                 "--schedule", "0 3 1 * 1"], capture_output=True, text=True,
                                env=env, timeout=60)  # fmt: skip
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "either matches" in " ".join(result.stderr.split())
    assert not (tmp_path / "systemd").exists()


@pytest.mark.skipif(ANALYZE is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("schedule", ["30 3 * * *", "@daily", "*/20 1-2 * * *",
                                      "0 3 * * mon-fri", "15 4 1,15 * *", "0 6 * jun-aug 0,6",
                                      "0 22 */10 2 *"])  # fmt: skip
def test_the_timer_fires_when_daemon_run_would(schedule):
    """systemd's own calendar reading of the generated OnCalendar gives the same next
    times as the schedule `daemon run` follows."""
    calendar = install.on_calendar(schedule)
    out = subprocess.run([ANALYZE, "calendar", "--iterations=5", calendar], capture_output=True,
                         text=True, env={**os.environ, "TZ": "UTC"}, check=True).stdout  # fmt: skip
    theirs = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", out)
    after = datetime.now().astimezone(__import__("datetime").timezone.utc)
    ours = []
    for _ in range(5):
        after = next_run(schedule, after)
        ours.append(after.strftime("%Y-%m-%d %H:%M:%S"))
    assert theirs == ours
