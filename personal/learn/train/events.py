"""What a training run reports while it runs: typed events, one JSON line each.

The worker process writes `encode(event)` lines on its stdout; the parent reads them back
with `decode(line)` and hands the typed events to whoever watches (the CLI's progress bar,
the daemon's log). Both ends use these two functions, so a field cannot be spelled one
way by the writer and another by the reader.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class TrainReport:
    """What a finished run did; also written to the run dir as report.json."""

    steps: int
    trained_tokens: int
    tokens_per_s: float | None
    wall_s: float
    peak_rss_mb: float
    blas: str = "unknown"
    final_train_loss: float | None = None
    final_val_loss: float | None = None
    resumed_from: int = 0
    steps_this_run: int = 0
    seen_tokens: int = 0
    seen_tokens_per_s: float | None = None
    train_seconds: float = 0.0
    seconds_per_step: float | None = None
    examples: int = 0
    val_examples: int = 0
    truncated_examples: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # base, config, ...


@dataclass(frozen=True)
class WorkerStarted:
    kind: ClassVar[str] = "worker"
    pid: int
    blas: str


@dataclass(frozen=True)
class Started:
    kind: ClassVar[str] = "start"
    iters: int
    step: int  # the step it starts from (> 0 when resuming a checkpoint)
    examples: int
    val_examples: int


@dataclass(frozen=True)
class Step:
    kind: ClassVar[str] = "step"
    step: int
    iters: int
    loss: float
    tokens: int  # target tokens trained so far
    seen_tokens: int
    tokens_per_s: float  # target tokens per second of stepping, this run


@dataclass(frozen=True)
class Validated:
    kind: ClassVar[str] = "val"
    step: int
    val_loss: float


@dataclass(frozen=True)
class Checkpointed:
    kind: ClassVar[str] = "checkpoint"
    step: int


@dataclass(frozen=True)
class Done:
    kind: ClassVar[str] = "done"
    report: TrainReport


@dataclass(frozen=True)
class Stopped:
    kind: ClassVar[str] = "stopped"
    step: int


@dataclass(frozen=True)
class Failed:
    """A user-facing error in the worker (`type` names a PersonalError subclass)."""

    kind: ClassVar[str] = "error"
    type: str
    message: str
    hint: str | None = None


Event = WorkerStarted | Started | Step | Validated | Checkpointed | Done | Stopped | Failed
_KINDS: dict[str, type] = {
    cls.kind: cls
    for cls in (WorkerStarted, Started, Step, Validated, Checkpointed, Done, Stopped, Failed)
}


def encode(event: Event) -> str:
    """One JSON line (no newline). Non-finite floats become null."""
    return json.dumps({"event": event.kind, **_finite(asdict(event))})


def decode(line: str) -> Event | None:
    """The event on `line`, or None for anything else (a library's stray print)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("event") not in _KINDS:
        return None
    cls = _KINDS[data["event"]]
    try:
        if cls is Done:
            return Done(report(data["report"]))
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
    except (TypeError, KeyError):
        return None


def report(data: dict[str, Any]) -> TrainReport:
    """A TrainReport from its JSON form; unknown keys are kept in `extra`."""
    names = {f.name for f in fields(TrainReport)} - {"extra"}
    extra = {**data.get("extra", {}), **{k: v for k, v in data.items() if k not in names
                                          and k != "extra"}}  # fmt: skip
    return TrainReport(**{k: v for k, v in data.items() if k in names}, extra=extra)


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
