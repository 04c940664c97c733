"""The daemon's parts: the crash-proof lock, conditions, schedule, OS units, state."""

from __future__ import annotations

import os
import plistlib
import signal
import subprocess
import sys
from datetime import datetime

import pytest

from personal.daemon import install
from personal.daemon.conditions import DaemonConfig, enough_data, idle, on_mains
from personal.daemon.cycle import read_state, run_cycle
from personal.daemon.schedule import BadSchedule, next_run
from personal.learn.lock import LockBusy, TrainingLock, holder
from personal.log import Log

HOLD = ("import time; from personal.learn.lock import TrainingLock;"
        "l = TrainingLock('test').__enter__(); print('held', flush=True); time.sleep(60)")  # fmt: skip


def test_the_lock_is_exclusive_across_processes_and_dies_with_its_holder():
    proc = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        assert holder()["pid"] == proc.pid
        with pytest.raises(LockBusy, match=str(proc.pid)), TrainingLock("second"):
            pass
        proc.send_signal(signal.SIGKILL)  # killed holding the lock
        proc.wait()
        assert holder() is None  # the kernel released it
        with TrainingLock("after the crash") as lock:
            assert lock.stale["pid"] == proc.pid  # what the dead holder left is reported
            assert holder()["purpose"] == "after the crash"
    finally:
        proc.kill()
    with TrainingLock("clean"):
        pass
    with TrainingLock("again") as lock:
        assert lock.stale is None  # a clean release leaves nothing stale


def test_enough_data_counts_user_messages_since_the_last_revision(tmp_path):
    with Log() as log:
        conv = log.create_conversation()
        for i in range(3):
            log.append(conv.id, {"role": "user", "content": f"q{i}"})
            log.append(conv.id, {"role": "assistant", "content": "a"})
        assert enough_data(log, None, 3).ok
        assert not enough_data(log, None, 4).ok
        assert "0 new user messages" in enough_data(log, "2999-01-01T00:00:00.000Z", 1).reason


def supply(root, name, **files):
    d = root / name
    d.mkdir(parents=True)
    for key, value in files.items():
        (d / key).write_text(value + "\n")


@pytest.mark.parametrize(
    "supplies,ok",
    [
        ({"AC": {"type": "Mains", "online": "1"}, "BAT0": {"type": "Battery", "status": "Charging"}}, True),
        ({"AC": {"type": "Mains", "online": "0"}, "BAT0": {"type": "Battery", "status": "Discharging"}}, False),
        ({}, True),  # a desktop or a VM: nothing to say, assume mains
    ],
)
def test_power_source(tmp_path, supplies, ok):
    for name, files in supplies.items():
        supply(tmp_path, name, **files)
    assert on_mains(tmp_path).ok is ok


def test_idle_compares_load_per_core():
    assert idle(1e9).ok
    assert not idle(-1).ok


def test_schedule():
    after = datetime(2026, 11, 22, 12, 0).astimezone()
    assert next_run("30 3 * * *", after).strftime("%d %H:%M") == "23 03:30"
    with pytest.raises(BadSchedule, match="cron"):
        next_run("every night")


def test_systemd_and_launchd_units(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    lines = install.install("30 3 * * 1-5", enable=False)
    unit_dir = tmp_path / "systemd" / "user"
    timer = (unit_dir / "personal-train.timer").read_text()
    service = (unit_dir / "personal-train.service").read_text()
    assert "OnCalendar=Mon,Tue,Wed,Thu,Fri *-*-* 03:30:00" in timer
    assert '"daemon" "once"' in service and f"PERSONAL_HOME={os.environ['PERSONAL_HOME']}" in service
    assert any("wrote" in line for line in lines) and any("to enable" in line for line in lines)
    assert "removed" in " ".join(install.uninstall(enable=False))
    assert not unit_dir.joinpath("personal-train.timer").exists()
    plist = plistlib.loads(install.launchd_plist("0 3,15 * * *"))
    assert plist["StartCalendarInterval"] == [{"Minute": 0, "Hour": 3}, {"Minute": 0, "Hour": 15}]
    assert plist["ProgramArguments"][-2:] == ["daemon", "once"]


def test_a_cycle_without_enough_data_is_skipped_and_recorded():
    result = run_cycle(DaemonConfig(min_new_messages=5), force=True)
    assert result.outcome == "skipped" and "0 new user messages" in result.reasons[0]
    state = read_state()
    assert state["last"]["outcome"] == "skipped" and len(state["history"]) == 1


def test_status_and_logs_commands():
    run = lambda *a: subprocess.run([sys.executable, "-m", "personal.cli.main", "daemon", *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run("once", "--min-new", "5").returncode == 0
    status = run("status")
    assert "skipped" in status.stdout and "30 3 * * *" in status.stdout
    logs = run("logs", "-n", "5")
    assert "cycle skipped" in logs.stdout
