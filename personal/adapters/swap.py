"""Hot-swap: follow the registry's current revision on a live engine.

A serving process (the chat UI, a server) runs an `AdapterWatcher`: it polls the current
pointer of the engine's base (one small file, replaced atomically by whichever process
promotes or rolls back) and, when it names another revision, attaches it to the loaded
model — no reload of the base. The engine's lock makes a generation in flight finish on
the adapter it started with; the swap happens right after. A revision that fails to load
leaves the previous adapter in place and is reported, and not retried until the pointer
moves again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from personal.adapters.registry import Registry
from personal.adapters.serving import attach
from personal.engine.base import Engine
from personal.errors import PersonalError


@dataclass(frozen=True)
class SwapEvent:
    old: str | None  # revision ids (None: bare base)
    new: str | None
    ok: bool
    error: str | None = None
    seconds: float = 0.0  # load + activate


class AdapterWatcher:
    def __init__(
        self,
        engine: Engine,
        registry: Registry | None = None,
        *,
        interval: float = 1.0,
        on_swap: Callable[[SwapEvent], None] | None = None,
    ):
        self.engine = engine
        self.registry = registry or Registry()
        self.interval = interval
        self.on_swap = on_swap
        self.following = True  # False while the person has picked a revision by hand
        self._seen = self._wanted()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _wanted(self) -> str | None:
        return self.registry.pointer(self.engine.info.fingerprint)["revision"]

    def check(self) -> SwapEvent | None:
        """One poll: swap if the current revision moved since the last look."""
        wanted = self._wanted()
        if wanted == self._seen or not self.following:
            return None
        self._seen = wanted
        return self.switch(wanted)

    def switch(self, revision: str | None) -> SwapEvent:
        """Attach `revision` (None: detach) now, waiting for a generation in flight."""
        old = self.engine.adapter.id if self.engine.adapter else None
        start = time.perf_counter()
        try:
            rev = self.registry.get(revision, self.engine.info.fingerprint) if revision else None
            attach(self.engine, rev)
            event = SwapEvent(old, revision, True, seconds=time.perf_counter() - start)
        except PersonalError as e:
            event = SwapEvent(old, revision, False, error=e.message)
        if self.on_swap:
            self.on_swap(event)
        return event

    def pick(self, revision: str | None) -> SwapEvent:
        """The person chose a revision (or none) by hand: stop following the pointer."""
        self.following = False
        return self.switch(revision)

    def follow(self) -> SwapEvent | None:
        """Go back to following the registry's current revision."""
        self.following = True
        self._seen = self.engine.adapter.id if self.engine.adapter else None
        return self.check()

    # --- background polling -------------------------------------------------------------
    def start(self) -> AdapterWatcher:
        self._thread = threading.Thread(target=self._loop, name="adapter-watcher", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception as e:  # never let a bad poll kill the watcher
                if self.on_swap:
                    self.on_swap(SwapEvent(None, None, False, error=f"watcher: {e}"))

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
