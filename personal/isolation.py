"""Running work where it can be killed.

A Python thread cannot be stopped, and a C-level operation (a huge integer power inside a
parser) holds the GIL, so a thread's timeout may never even fire. Work on input that
someone else chose — a tool call's arguments, a model file's chat template — therefore
runs in a worker process: at the timeout the worker is killed (SIGKILL) and the next call
gets a fresh one; its address space is capped, so it cannot eat the machine either.

Workers come from a `forkserver` (a clean interpreter, safe to fork while llama.cpp's
threads run in the parent) and are kept warm between calls; nothing is shared between
calls except what a module caches. There is no lock around a call: a call that hangs
blocks nobody else.

    value = isolation.run(fn, arg, timeout=5.0)   # fn: a module-level function
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from personal.errors import PersonalError

KEEP_IDLE = 2  # warm workers kept for later calls
MEMORY_LIMIT = 4 << 30  # bytes of address space a worker may map


class Timeout(Exception):
    """The work did not finish in time; its worker was killed."""


class Died(Exception):
    """The worker process ended without answering (killed, out of memory, crashed)."""


class Failed(Exception):
    """The work raised something that is not a PersonalError (a bug, or MemoryError)."""


def _limit_memory() -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):  # not on this platform: time still bounds it
        pass


def _serve(conn: Connection) -> None:
    """The worker's loop: (function, argument) in; ("ok", value) or an error out."""
    _limit_memory()
    while True:
        try:
            fn, arg = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple = ("ok", fn(arg))
        except PersonalError as e:
            reply = ("error", type(e).__module__, type(e).__qualname__, e.message, e.hint)
        except Exception as e:  # MemoryError included: said, then the worker goes on
            reply = ("failed", f"{type(e).__name__}: {e}")
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            conn.send(("failed", f"the result cannot be sent back ({e})"))


def _rebuild(module: str, name: str, message: str, hint: str | None) -> PersonalError:
    """The worker's typed error, as its own class when that takes (message, hint)."""
    try:
        cls = getattr(importlib.import_module(module), name)
        if isinstance(cls, type) and issubclass(cls, PersonalError):
            return cls(message, hint=hint)
    except Exception:  # another constructor, or an unimportable class
        pass
    return PersonalError(message, hint=hint)


class _Worker:
    def __init__(self, ctx: Any):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True,
                                   name="personal-worker")  # fmt: skip
        self.process.start()
        child.close()
        self.pid = os.getpid()  # the process that owns it (a fork must not reuse it)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()  # SIGKILL: a C loop holding the GIL ignores everything else
        self.process.join(5)
        self.conn.close()


def _start_helpers(method: str) -> None:
    """Start multiprocessing's helper processes (resource tracker, forkserver) now, with a
    real stderr: Textual replaces sys.stderr by an object whose fileno() is -1, which
    they would try to pass on ("bad value(s) in fds_to_keep")."""
    from multiprocessing import forkserver, resource_tracker

    previous = sys.stderr
    try:
        broken = previous is not None and previous.fileno() < 0
    except Exception:  # no fileno at all: multiprocessing copes with that itself
        broken = False
    if broken and sys.__stderr__ is not None:
        sys.stderr = sys.__stderr__
    try:
        resource_tracker.ensure_running()
        if method == "forkserver":
            forkserver.ensure_running()
    finally:
        sys.stderr = previous


class Pool:
    """A small pool of killable worker processes."""

    def __init__(self) -> None:
        methods = multiprocessing.get_all_start_methods()
        self._method = "forkserver" if "forkserver" in methods else "spawn"
        self._ctx = multiprocessing.get_context(self._method)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()  # guards the idle list only, never a running call
        self._started = False

    def run(self, fn: Callable[[Any], Any], arg: Any, timeout: float) -> Any:
        """`fn(arg)` in a worker. Raises what `fn` raised if it is a PersonalError,
        Timeout (the worker killed) after `timeout` s, Died or Failed otherwise."""
        worker = self._take()
        try:
            worker.conn.send((fn, arg))
            reply = worker.conn.recv() if worker.conn.poll(timeout) else None
        except (EOFError, OSError):
            worker.process.join(1)
            code = worker.process.exitcode
            worker.kill()
            raise Died(f"its worker process died (exit code {code})") from None
        except BaseException:  # KeyboardInterrupt while waiting: never leave it running
            worker.kill()
            raise
        if reply is None:
            worker.kill()
            raise Timeout(f"it did not finish within {timeout:g} s")
        self._keep(worker)
        if reply[0] == "ok":
            return reply[1]
        if reply[0] == "error":
            raise _rebuild(*reply[1:])
        raise Failed(reply[1])

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive() and worker.pid == os.getpid():
                    return worker
            if not self._started:
                _start_helpers(self._method)
                self._started = True
        return _Worker(self._ctx)

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


_pool: Pool | None = None
_pool_lock = threading.Lock()


def pool() -> Pool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Pool()
        return _pool


def run(fn: Callable[[Any], Any], arg: Any, timeout: float) -> Any:
    """`fn(arg)` in a killable worker of the process-wide pool (see `Pool.run`)."""
    return pool().run(fn, arg, timeout)


def sendable(fn: Callable) -> bool:
    """Whether `fn` can be sent to a worker (a module-level function, or a partial of one)."""
    try:
        pickle.dumps(fn)
    except Exception:
        return False
    return True
