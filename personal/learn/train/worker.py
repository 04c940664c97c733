"""The training process, and the parent-side call that runs it.

    report = run_training(TrainJob(...), on_progress=print)   # parent (daemon, CLI)
    python -m personal.learn.train.worker JOB.json                  # child: prints JSON lines

Training runs in its own process so that the chat keeps its cores and memory, a crash
cannot take the app down, and the process can be started with OpenBLAS preloaded: the
mlx-cpu wheel's reference BLAS is ~30x slower (FACTS.md; engine/blas.py). The child lowers its priority,
checkpoints and exits with EXIT_STOPPED on SIGTERM/SIGINT; running the same job again
resumes from its run directory.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from personal import errors
from personal.engine.blas import blas_in_use, reexec_with_openblas
from personal.errors import PersonalError, TrainingError, TrainingStopped
from personal.fileio import private_umask
from personal.learn.config import TrainConfig
from personal.learn.train import events
from personal.learn.train.events import TrainReport
from personal.learn.train.watchdog import GRACE_S, STALL_S, STARTUP_S, Supervisor

EXIT_STOPPED = 75  # EX_TEMPFAIL: stopped on request, resumable
EXIT_FAILED = 2


@dataclass(frozen=True)
class TrainJob:
    base_path: Path
    base_fingerprint: str
    base_name: str
    dataset_dir: Path
    run_dir: Path
    output_dir: Path  # the mlx-lm adapter directory to write
    config: TrainConfig = field(default_factory=TrainConfig)
    warm_start: Path | None = None  # a parent revision's mlx/ directory

    def to_dict(self) -> dict[str, Any]:
        return {"base_path": str(self.base_path), "base_fingerprint": self.base_fingerprint,
                "base_name": self.base_name, "dataset_dir": str(self.dataset_dir),
                "run_dir": str(self.run_dir), "output_dir": str(self.output_dir),
                "config": self.config.to_dict(),
                "warm_start": str(self.warm_start) if self.warm_start else None}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainJob:
        paths = {k: Path(d[k]) for k in ("base_path", "dataset_dir", "run_dir", "output_dir")}
        return cls(**paths, base_fingerprint=d["base_fingerprint"], base_name=d["base_name"],
                   config=TrainConfig.from_dict(d["config"]),
                   warm_start=Path(d["warm_start"]) if d.get("warm_start") else None)  # fmt: skip


# --- parent side ----------------------------------------------------------------------
def run_training(
    job: TrainJob, on_progress: Callable[[events.Event], None] | None = None, *,
    stop: threading.Event | None = None, command: list[str] | None = None,
    grace_s: float = GRACE_S, stall_s: float = STALL_S, startup_s: float = STARTUP_S,
) -> TrainReport:  # fmt: skip
    """Run `job` in a worker process; its typed events go to `on_progress`.

    Raises TrainingStopped when stopped (SIGTERM to this process, Ctrl-C, or `stop` set),
    TrainingError (with the worker's last stderr lines) when it fails, or when it made no
    progress for `stall_s` seconds (`startup_s` before its first step) and was ended:
    SIGTERM, then SIGKILL after `grace_s` (see `watchdog`). `command` replaces the worker
    command (tests run stand-ins that hang)."""
    job.run_dir.mkdir(parents=True, exist_ok=True)
    job_file = job.run_dir / "job.json"
    job_file.write_text(json.dumps(job.to_dict(), indent=2))
    log = (job.run_dir / "worker.log").open("a")
    child = subprocess.Popen(
        [*(command or [sys.executable, "-m", "personal.learn.train.worker"]), str(job_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        start_new_session=True,  # a terminal's Ctrl-C reaches us; we stop it cleanly
        env={**os.environ, PARENT_ENV: str(os.getpid())},
    )  # fmt: skip
    tail: collections.deque[str] = collections.deque(maxlen=20)
    drain = threading.Thread(target=_drain, args=(child.stderr, tail, log), daemon=True)
    drain.start()
    supervisor = Supervisor(child, grace_s=grace_s, stall_s=stall_s, startup_s=startup_s)
    terminate = supervisor.watch().stop
    restore = _forward_sigterm(terminate)
    if stop is not None:
        threading.Thread(target=_watch, args=(stop, child, terminate), daemon=True).start()
    last: events.Event | None = None
    final = (events.Done, events.Failed, events.Stopped)
    try:
        assert child.stdout is not None
        for line in child.stdout:
            event = events.decode(line)
            if event is None:
                continue
            supervisor.progress(started=not isinstance(event, events.WorkerStarted))
            last = event if isinstance(event, final) else last
            if on_progress is not None:
                on_progress(event)
        rc = child.wait()
    except KeyboardInterrupt:
        terminate()
        for line in child.stdout or ():  # the worker reports the step it stopped at
            event = events.decode(line)
            last = event if isinstance(event, events.Stopped) else last
        rc = child.wait()
    except BaseException:  # e.g. a failing progress callback: never leave the worker behind
        terminate()
        child.wait()
        raise
    finally:
        restore()
        drain.join(timeout=5)
        log.close()
    if supervisor.stalled:
        raise TrainingError(
            f"the training worker made {supervisor.stalled} (hung or stopped) and was ended",
            hint="the current revision is untouched; the next run resumes from the last "
            f"checkpoint in {job.run_dir} (its log: {job.run_dir / 'worker.log'})",
        )
    return _outcome(job, rc, last, list(tail))


def _outcome(job: TrainJob, rc: int, last: events.Event | None, tail: list[str]) -> TrainReport:
    if rc == 0 and isinstance(last, events.Done):
        return last.report
    if rc == EXIT_STOPPED:
        step = last.step if isinstance(last, events.Stopped) else "?"
        raise TrainingStopped(
            f"training was stopped at step {step} of {job.config.iters}",
            hint=f"run it again to resume from the checkpoint in {job.run_dir}",
        )
    if isinstance(last, events.Failed):  # a user-facing error: re-raise it as its own type
        cls = getattr(errors, last.type, None)
        if not (isinstance(cls, type) and issubclass(cls, PersonalError)):
            cls = TrainingError
        try:
            raise cls(last.message, hint=last.hint)
        except TypeError:  # an error class with a different constructor
            raise TrainingError(last.message, hint=last.hint) from None
    lines = "\n    ".join(tail[-12:]) or "(no output)"
    raise TrainingError(
        f"the training process failed (exit code {rc}); its last output:\n    {lines}",
        hint=f"the full log is {job.run_dir / 'worker.log'}; the current revision is untouched",
    )


def _watch(
    stop: threading.Event, child: subprocess.Popen[str], terminate: Callable[[], None]
) -> None:
    while child.poll() is None:
        if stop.wait(0.2):
            terminate()
            return


def _drain(stream: Any, tail: collections.deque[str], log: Any) -> None:
    for line in stream:
        tail.append(line.rstrip())
        log.write(line)
        log.flush()


def _forward_sigterm(handler: Callable[..., None]) -> Callable[[], None]:
    """SIGTERM to this process stops the worker cleanly (only the main thread can hook it)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, previous)


# --- child side -----------------------------------------------------------------------
PARENT_ENV = "PERSONAL_TRAIN_PARENT"


def die_with_parent() -> None:
    """A worker whose parent is killed (kill -9 of the daemon) must not live on as an
    orphan, training into a run dir the next cycle resumes from. Linux: the kernel sends
    SIGKILL when the parent dies; elsewhere the broken event pipe stops it at its next
    step."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    parent = os.environ.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):  # it died before the line above
        os._exit(EXIT_FAILED)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m personal.learn.train.worker JOB.json", file=sys.stderr)
        return EXIT_FAILED
    reexec_with_openblas(["-m", "personal.learn.train.worker", argv[1]])
    private_umask()  # checkpoints and adapters are the person's alone
    die_with_parent()
    os.nice(10)  # the chat (llama.cpp) keeps priority over training
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the event stream
    sys.stdout = sys.stderr
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())  # finish the step, checkpoint, exit

    def emit(event: events.Event) -> None:
        try:
            out.write(events.encode(event) + "\n")
        except BrokenPipeError:  # the parent is gone: stop cleanly rather than crash
            stop.set()

    emit(events.WorkerStarted(os.getpid(), blas_in_use()))
    from personal.learn.train import fastsilu

    fastsilu.install()  # MLX's scalar CPU exp is ~a quarter of a forward pass
    from personal.learn.train.trainer import Stopped, train
    from personal.models.convert import mlx_dir_for

    try:
        job = TrainJob.from_dict(json.loads(Path(argv[1]).read_text()))
        model_dir = mlx_dir_for(job.base_path, job.base_fingerprint)
        train(model_dir, job.dataset_dir, job.run_dir, job.output_dir, job.config,
              warm_start=job.warm_start, on_event=emit, should_stop=stop.is_set,
              report_extra={"blas": blas_in_use(), "base": job.base_name,
                            "base_fingerprint": job.base_fingerprint})  # fmt: skip
    except Stopped as e:
        emit(events.Stopped(e.step))
        return EXIT_STOPPED
    except PersonalError as e:
        emit(events.Failed(type(e).__name__, e.message, e.hint))
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
