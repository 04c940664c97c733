"""Running a tool's work where it can be killed.

A Python thread cannot be stopped, and a C-level operation (a huge integer power inside a
parser) holds the GIL, so a thread's timeout may never even fire. Tools that compute on
input the model chooses (`calc`, `convert_units`, the date tools) therefore run in a worker
process: at the timeout the worker is killed (SIGKILL) and the next call gets a fresh one.

Workers come from a `forkserver` (a clean interpreter, safe to fork while llama.cpp's
threads run in the parent) and are kept warm between calls; nothing is shared between
calls except what a module caches (pint's registry). There is no lock around a call: a
call that hangs blocks nobody else.
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from personal.errors import PersonalError, ToolError, ToolTimeout

KEEP_IDLE = 2  # warm workers kept for later calls


def _serve(conn: Connection) -> None:
    """The worker's loop: (function, arguments) in, ("ok", text) or an error out."""
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple = ("ok", fn(args))
        except PersonalError as e:
            reply = ("error", e.message, e.hint)
        except Exception as e:  # a bug in the tool: said, not raised in the parent
            reply = ("error", f"{type(e).__name__}: {e}", None)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            conn.send(("error", f"the tool returned something that is not text ({e})", None))


class _Worker:
    def __init__(self, ctx: Any):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True,
                                   name="personal-tool-worker")  # fmt: skip
        self.process.start()
        child.close()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()  # SIGKILL: a C loop holding the GIL ignores everything else
        self.process.join(5)
        self.conn.close()


class Isolation:
    """A small pool of killable worker processes."""

    def __init__(self) -> None:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        self._ctx = multiprocessing.get_context(method)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()  # guards the idle list only, never a running call

    def run(self, name: str, fn: Callable[[dict], Any], args: dict, timeout: float) -> Any:
        """`fn(args)` in a worker; ToolTimeout (the worker killed) after `timeout` s."""
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None or not worker.process.is_alive():
            worker = _Worker(self._ctx)
        try:
            worker.conn.send((fn, args))
            ready = worker.conn.poll(timeout)
            reply = worker.conn.recv() if ready else None
        except (EOFError, OSError):
            worker.process.join(1)
            code = worker.process.exitcode
            worker.kill()
            raise ToolError(
                f"tool '{name}' stopped: its worker process died (exit code {code})"
            ) from None
        except BaseException:  # KeyboardInterrupt while waiting: never leave it running
            worker.kill()
            raise
        if reply is None:
            worker.kill()
            raise ToolTimeout(name, timeout)
        self._keep(worker)
        if reply[0] == "ok":
            return reply[1]
        raise ToolError(reply[1], hint=reply[2])

    def _keep(self, worker: _Worker) -> None:
        with self._lock:
            if len(self._idle) < KEEP_IDLE:
                self._idle.append(worker)
                return
        worker.kill()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_pool: Isolation | None = None
_pool_lock = threading.Lock()


def pool() -> Isolation:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Isolation()
        return _pool


def picklable(fn: Callable) -> bool:
    """Whether `fn` can be sent to a worker (a module-level function, or a partial of one)."""
    try:
        pickle.dumps(fn)
    except Exception:
        return False
    return True
