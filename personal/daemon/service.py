"""`personal daemon run`: wake on the schedule, run a cycle, sleep; stop cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path

from personal import paths
from personal.daemon.conditions import DaemonConfig
from personal.daemon.cycle import run_cycle, write_state
from personal.daemon.schedule import next_run
from personal.fileio import FILE_MODE, tighten

log = logging.getLogger("personal.daemon")


def log_file() -> Path:
    return paths.sub("daemon") / "daemon.log"


def setup_logging(echo: bool = True) -> None:
    """Log to $PERSONAL_HOME/daemon/daemon.log (rotated), and to stderr when `echo`."""
    if any(getattr(h, "_personal", False) for h in log.handlers):
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(log_file(), maxBytes=1 << 20, backupCount=3)
    ]
    tighten(log_file(), FILE_MODE)
    if echo:
        handlers.append(logging.StreamHandler(sys.stderr))
    for h in handlers:
        h.setFormatter(fmt)
        h._personal = True  # type: ignore[attr-defined]
        log.addHandler(h)
    log.setLevel(logging.INFO)


def run_forever(config: DaemonConfig, stop: threading.Event | None = None) -> None:
    """Until SIGTERM/SIGINT: sleep to the next scheduled time, run one cycle."""
    stop = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())  # training stops at its next checkpoint
    with contextlib.suppress(OSError):
        os.nice(5)  # the daemon yields to the person (the trainer itself runs at nice 10)
    log.info("daemon started (pid %s), schedule %r", os.getpid(), config.schedule)
    while not stop.is_set():
        when = next_run(config.schedule)
        write_state(next_run=when.isoformat(timespec="seconds"), daemon_pid=os.getpid())
        log.info("next run at %s", when.isoformat(timespec="seconds"))
        if stop.wait(max(0.0, (when - datetime.now().astimezone()).total_seconds())):
            break
        run_cycle(config, stop=stop)
    write_state(daemon_pid=None, next_run=None)
    log.info("daemon stopped")
