"""One cycle of the learning loop, with its conditions, its lock and its record."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from personal import paths
from personal.adapters import pointer
from personal.adapters.registry import Registry
from personal.daemon.conditions import DaemonConfig, enough_data, idle, on_mains
from personal.errors import NotEnoughData, PersonalError
from personal.fileio import write_json_atomic
from personal.learn.lock import LockBusy, TrainingLock
from personal.learn.train import events
from personal.log import Log
from personal.models import catalog

log = logging.getLogger("personal.daemon")
HISTORY = 30  # cycles remembered in state.json


@dataclass
class CycleResult:
    outcome: str  # promoted | kept | skipped | busy | stopped | failed
    reasons: list[str] = field(default_factory=list)
    revision: str | None = None
    started_at: str = ""
    finished_at: str = ""
    seconds: float = 0.0


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def state_path() -> Path:
    return paths.sub("daemon") / "state.json"


def read_state() -> dict[str, Any]:
    try:
        state = json.loads(state_path().read_text())
    except (OSError, ValueError):
        return {"history": []}
    return state if isinstance(state, dict) else {"history": []}


def update_state(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Read, change (in place) and write state.json under its lock: the daemon, a cycle
    and `daemon once` in another process never lose each other's updates."""
    with pointer.locked(state_path()):
        state = read_state()
        change(state)
        write_json_atomic(state_path(), state)
        return state


def write_state(**changes: Any) -> None:
    update_state(lambda state: state.update(changes))


def _record(result: CycleResult, ran: bool) -> CycleResult:
    """Add a cycle to the history. Only a cycle that held the lock (`ran`) clears the
    running record: a "busy" one must not hide the run that made it busy."""

    def add(state: dict[str, Any]) -> None:
        state["history"] = ([asdict(result)] + list(state.get("history") or []))[:HISTORY]
        state["last"] = asdict(result)
        if ran:
            state["running"] = None

    update_state(add)
    log.info("cycle %s: %s", result.outcome, "; ".join(result.reasons) or "-")
    return result


def conditions(config: DaemonConfig, force: bool) -> list[str]:
    """Why the cycle may not run now (empty: it may)."""
    base = catalog.resolve(config.model)
    current = Registry().current(base.fingerprint)
    since = current.manifest.dataset.until if current else None
    with Log() as chat_log:
        checks = [enough_data(chat_log, since, config.min_new_messages)]
    if not force:
        checks += [idle(config.max_load)]
        if config.require_mains:
            checks.append(on_mains())
    for check in checks:
        log.info("condition: %s (%s)", check.reason, "ok" if check.ok else "not met")
    return [c.reason for c in checks if not c.ok]


def run_cycle(
    config: DaemonConfig, *, force: bool = False, stop: threading.Event | None = None
) -> CycleResult:
    """Check the conditions, take the lock, train once, record what happened."""
    from personal.errors import TrainingStopped
    from personal.learn.pipeline import train_once

    started, t0 = _stamp(), time.monotonic()
    ran = False

    def done(outcome: str, reasons: list[str], revision: str | None = None) -> CycleResult:
        return _record(CycleResult(outcome, reasons, revision, started, _stamp(),
                                   round(time.monotonic() - t0, 1)), ran)  # fmt: skip

    try:
        blockers = conditions(config, force)
        if blockers:
            return done("skipped", blockers)
        with TrainingLock("daemon cycle") as lock:
            ran = True
            if lock.stale:
                log.warning("cleared a stale lock record: %s", json.dumps(lock.stale))
            write_state(running={"pid": os.getpid(), "since": started, "stage": "start"})
            outcome = train_once(model=config.model, stop=stop, on_stage=_stage,
                                 on_progress=_progress, lock=lock)  # fmt: skip
        rev = outcome.revision
        reasons = list(outcome.reasons)
        if outcome.promoted:
            reasons += _push(config)
        return done("promoted" if outcome.promoted else "kept", reasons,
                    rev.id if rev else None)  # fmt: skip
    except LockBusy as e:
        return done("busy", [e.message])
    except NotEnoughData as e:
        return done("skipped", [e.message])
    except TrainingStopped:
        return done("stopped", ["stopped at a checkpoint; the next cycle resumes"])
    except PersonalError as e:
        return done("failed", [e.message])
    except Exception as e:  # a bug: keep the daemon alive, keep the traceback in the log
        log.error("cycle crashed:\n%s", traceback.format_exc())
        return done("failed", [f"{type(e).__name__}: {e}"])


def _push(config: DaemonConfig) -> list[str]:
    """After a promotion, with a host configured: push the new revision (audited, like
    `personal sync push`). A failure is reported in the cycle's record, never fatal: the
    next push catches up."""
    from personal.daemon.publish import publish
    from personal.sync import config as sync_config

    try:
        if sync_config.load() is None:
            return []
        done = publish(model=config.model, say=lambda s: log.info("sync: %s", s))
    except PersonalError as e:
        log.warning("sync: not pushed: %s", e.message)
        return [f"not pushed to the host: {e.message}"]
    except Exception as e:  # the host misbehaving must not crash the daemon
        log.error("sync crashed:\n%s", traceback.format_exc())
        return [f"not pushed to the host: {type(e).__name__}: {e}"]
    return [f"pushed to the host (current there: {(done.current or 'none')[:12]})"]


def _stage(name: str) -> None:
    log.info("stage: %s", name)

    def stage(state: dict[str, Any]) -> None:
        if state.get("running"):
            state["running"] = {**state["running"], "stage": name}

    update_state(stage)


def _progress(event: events.Event) -> None:
    if isinstance(event, events.Started):
        log.info("training %s steps%s", event.iters,
                 f", resumed from step {event.step}" if event.step else "")  # fmt: skip
    elif isinstance(event, events.Checkpointed):
        log.info("checkpoint at step %s", event.step)
    elif isinstance(event, events.Done):
        r = event.report
        log.info("trained %s tokens at %s tok/s, peak %s MB", r.trained_tokens,
                 r.tokens_per_s, r.peak_rss_mb)  # fmt: skip
