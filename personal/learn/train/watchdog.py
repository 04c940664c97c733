"""Ending a training worker that will not end by itself.

A worker is asked to stop with SIGTERM (it checkpoints and exits) — and sent SIGCONT
too, so one stopped with SIGSTOP can act on it. If it has not exited after a grace
period, its whole process group gets SIGKILL. A watchdog does the same when the worker
makes no progress (no step, validation or checkpoint) for too long: a hung or stopped
worker cannot hold the training lock forever, and the cycle is recorded as failed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time

STARTUP_S = 30 * 60.0  # until the first step: converting the base model may take a while
STALL_S = 10 * 60.0  # between steps, validations and checkpoints (a step takes seconds)
GRACE_S = 60.0  # after SIGTERM, for the worker to checkpoint and exit


class Supervisor:
    def __init__(self, child: subprocess.Popen, *, grace_s: float = GRACE_S,
                 stall_s: float = STALL_S, startup_s: float = STARTUP_S):  # fmt: skip
        self.child = child
        self.grace_s, self.stall_s, self.startup_s = grace_s, stall_s, startup_s
        self.stalled: str | None = None  # why the watchdog ended it
        self._last = time.monotonic()
        self._started = False
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def watch(self) -> Supervisor:
        threading.Thread(target=self._watchdog, name="train-watchdog", daemon=True).start()
        return self

    def progress(self, started: bool = False) -> None:
        """The worker did something (`started`: it has begun stepping)."""
        self._last = time.monotonic()
        self._started = self._started or started

    def stop(self, *_: object) -> None:
        """SIGTERM now (and SIGCONT), SIGKILL to the group after the grace period."""
        with self._lock:
            if self._stopping.is_set() or self.child.poll() is not None:
                return
            self._stopping.set()
        self._signal(signal.SIGTERM)
        self._signal(signal.SIGCONT)  # a stopped worker cannot act on SIGTERM otherwise
        threading.Thread(target=self._escalate, name="train-kill", daemon=True).start()

    def _escalate(self) -> None:
        try:
            self.child.wait(timeout=self.grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child.pid, signal.SIGKILL)  # it has its own session

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(OSError):  # it already ended
            self.child.send_signal(sig)

    def _watchdog(self) -> None:
        while self.child.poll() is None:
            limit = self.stall_s if self._started else self.startup_s
            idle = time.monotonic() - self._last
            if idle > limit and not self._stopping.is_set():
                self.stalled = f"no progress for {limit:g} s"
                self.stop()
            time.sleep(min(1.0, max(limit / 10, 0.05)))
