"""One run at a time, and no run holds the lock forever.

`personal train` and the daemon raced on one run directory (only the daemon took the
lock); a hung or stopped worker held the lock forever (SIGTERM was never followed by
SIGKILL, nothing watched for progress); a "busy" cycle erased the running cycle's record,
so `daemon status` said idle while a cycle trained; a garbage lock file failed every cycle.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from personal.daemon.conditions import DaemonConfig
from personal.daemon.cycle import read_state, run_cycle, write_state
from personal.errors import TrainingError
from personal.learn import pipeline
from personal.learn.config import TrainConfig
from personal.learn.lock import LockBusy, TrainingLock, holder, lock_path
from personal.learn.train import events
from personal.learn.train.worker import TrainJob, run_training

HOLD = ("import sys, time; from personal.learn.lock import TrainingLock;"
        "l = TrainingLock(sys.argv[1]).__enter__(); print('held', flush=True); time.sleep(60)")  # fmt: skip


def stand_in(after_start: str) -> list[str]:
    """A worker that reports it started, then does `after_start` (Python statements)."""
    started = events.encode(events.Started(iters=10, step=0, examples=4, val_examples=0))
    script = ("import os, signal, sys, time\n"
              "from personal.learn.train import events\n"
              "print(events.encode(events.WorkerStarted(os.getpid(), 'none')), flush=True)\n"
              f"print({started!r}, flush=True)\n{after_start}\n")  # fmt: skip
    return [sys.executable, "-c", script]


def job(tmp_path) -> TrainJob:
    return TrainJob(tmp_path / "base.gguf", "f" * 64, "tiny", tmp_path / "data",
                    tmp_path / "run", tmp_path / "run" / "adapter", TrainConfig())  # fmt: skip


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_hung_worker_that_ignores_sigterm_is_killed(tmp_path):
    hang = "signal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(120)"
    pids = []
    start = time.monotonic()
    with pytest.raises(TrainingError, match="no progress for 1 s"):
        run_training(job(tmp_path), lambda e: pids.append(getattr(e, "pid", None)),
                     command=stand_in(hang), stall_s=1, grace_s=1, startup_s=30)  # fmt: skip
    assert time.monotonic() - start < 10
    assert gone(pids[0])


def test_a_stopped_worker_is_woken_to_stop_or_killed(tmp_path):
    """kill -STOP: no progress; the watchdog sends SIGTERM with SIGCONT and it exits."""
    stop_on_term = "signal.signal(signal.SIGTERM, lambda *a: sys.exit(75))\ntime.sleep(120)"

    def freeze(event):
        if isinstance(event, events.Started):
            os.kill(child[0], signal.SIGSTOP)
        elif isinstance(event, events.WorkerStarted):
            child.append(event.pid)

    child: list[int] = []
    with pytest.raises(TrainingError, match="hung or stopped"):
        run_training(job(tmp_path), freeze, command=stand_in(stop_on_term), stall_s=1,
                     grace_s=5, startup_s=30)  # fmt: skip
    assert gone(child[0])


def test_stopping_escalates_to_sigkill_after_the_grace_period(tmp_path):
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    hang = "signal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(120)"
    start = time.monotonic()
    with pytest.raises(TrainingError):
        run_training(job(tmp_path), None, stop=stop, command=stand_in(hang), grace_s=1)
    assert time.monotonic() - start < 8


def test_personal_train_takes_the_same_lock_as_the_daemon(personal_home):
    holder_proc = subprocess.Popen([sys.executable, "-c", HOLD, "daemon cycle"],
                                   stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder_proc.stdout.readline().strip() == "held"
        with pytest.raises(LockBusy, match="daemon cycle"):
            pipeline.train_once(model="smollm2-135m")  # fails before loading anything
        result = subprocess.run([sys.executable, "-m", "personal.cli.main", "train"],
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert result.returncode == 1 and "already in progress" in result.stderr
    finally:
        holder_proc.kill()
        holder_proc.wait()


def test_a_busy_cycle_leaves_the_running_record_and_status_tells_the_truth(personal_home):
    from personal.log import Log

    with Log() as log:  # enough data that the cycle gets as far as the lock
        conv = log.create_conversation()
        for i in range(3):
            log.append(conv.id, {"role": "user", "content": f"q{i}"})
    holder_proc = subprocess.Popen([sys.executable, "-c", HOLD, "personal train"],
                                   stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder_proc.stdout.readline().strip() == "held"
        write_state(running={"pid": holder_proc.pid, "since": "then", "stage": "train"})
        assert run_cycle(DaemonConfig(min_new_messages=1), force=True).outcome == "busy"
        assert read_state()["running"]["pid"] == holder_proc.pid
        status = subprocess.run([sys.executable, "-m", "personal.cli.main", "daemon", "status",
                                 "--json"], capture_output=True, text=True, timeout=120)  # fmt: skip
        running = json.loads(status.stdout)["running"]
        assert running["pid"] == holder_proc.pid and running["stage"] == "train"
    finally:
        holder_proc.kill()
        holder_proc.wait()


def test_status_shows_a_personal_train_run_too(personal_home):
    holder_proc = subprocess.Popen([sys.executable, "-c", HOLD, "personal train"],
                                   stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder_proc.stdout.readline().strip() == "held"
        status = subprocess.run([sys.executable, "-m", "personal.cli.main", "daemon", "status",
                                 "--json"], capture_output=True, text=True, timeout=120)  # fmt: skip
        assert json.loads(status.stdout)["running"]["purpose"] == "personal train"
    finally:
        holder_proc.kill()
        holder_proc.wait()


@pytest.mark.parametrize("garbage", ["{not json", "\x00\xff\xfe binary", "[1, 2]", "42"])
def test_a_garbage_lock_file_is_reported_stale_not_fatal(personal_home, garbage):
    lock_path().write_bytes(garbage.encode("latin-1"))
    assert holder() is None
    with TrainingLock("after garbage") as lock:
        assert lock.stale is not None and lock.stale["pid"] is None
    with TrainingLock("again") as lock:
        assert lock.stale is None
