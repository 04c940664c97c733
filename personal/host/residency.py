"""Which revisions are loaded in the engine: N registered, at most K resident.

    residency = Residency(engine, capacity=K, on_load=seconds_histogram.observe)
    with residency.lease(key, ref):          # loads it if cold, evicting the least
        engine.chat(..., adapter=ref)        # recently used idle one that is not pinned
    residency.pin(key, ref)                  # a hot tenant's current revision stays

A lease is taken when a request's turn comes (the generation queue's head), so at most as
many leases are held as generations run; an adapter with a lease is never evicted, and a
cold load is paid by the request that needs it, not by those queued behind it — beyond the
load itself (a few ms for llama.cpp; measured in benchmarks/host_throughput.py). Loads of
one key are done once: a second request for a key being loaded waits for that load.

The engine does the loading and freeing (`Engine.preload`/`evict`); this class decides
what, and counts hits, misses, evictions and load times for /metrics. An engine that keeps
its own working set (vLLM's `max_cpu_loras`) gets the same calls: load and unload by name.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from personal.engine.base import AdapterRef, Engine


@dataclass
class _Entry:
    ref: AdapterRef
    leases: int = 0
    pinned: bool = False
    loaded: threading.Event = field(default_factory=threading.Event)
    failed: BaseException | None = None


@dataclass(frozen=True)
class ResidencyStats:
    capacity: int
    resident: int
    pinned: int
    hits: int
    misses: int
    evictions: int
    loads: int
    load_seconds: float  # total


class Residency:
    def __init__(self, engine: Engine, capacity: int,
                 on_load: Callable[[float], None] | None = None):  # fmt: skip
        if capacity < 1:
            raise ValueError("at least one adapter must fit")
        self.engine = engine
        self.capacity = capacity
        self.on_load = on_load
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._cond = threading.Condition()
        self.hits = self.misses = self.evictions = self.loads = 0
        self.load_seconds = 0.0

    @contextmanager
    def lease(self, key: str, ref: AdapterRef) -> Iterator[AdapterRef]:
        entry = self._acquire(key, ref)
        try:
            yield entry.ref
        finally:
            with self._cond:
                entry.leases -= 1
                self._cond.notify_all()

    def _acquire(self, key: str, ref: AdapterRef) -> _Entry:
        victims: list[_Entry] = []
        with self._cond:
            entry = self._entries.get(key)
            if entry is not None:
                entry.leases += 1
                self._entries.move_to_end(key)
                self.hits += 1
                load = False
            else:
                self.misses += 1
                victims = self._make_room()
                entry = self._entries[key] = _Entry(ref, leases=1)
                load = True
        for victim in victims:  # outside the lock: freeing may wait for the engine
            self.engine.evict(victim.ref)
        if load:
            self._load(key, entry)
        entry.loaded.wait()
        if entry.failed is not None:
            with self._cond:
                entry.leases -= 1
            raise entry.failed
        return entry

    def _load(self, key: str, entry: _Entry) -> None:
        started = time.perf_counter()
        try:
            self.engine.preload(entry.ref)
        except BaseException as e:  # the next request for it tries again
            entry.failed = e
            with self._cond:
                if self._entries.get(key) is entry:
                    del self._entries[key]
                self._cond.notify_all()
            entry.loaded.set()
            return
        seconds = time.perf_counter() - started
        with self._cond:
            self.loads += 1
            self.load_seconds += seconds
        if self.on_load:
            self.on_load(seconds)
        entry.loaded.set()

    def _make_room(self) -> list[_Entry]:
        """Take idle, unpinned entries out until one more fits, least recently used first
        (called with the lock held; waits for a lease to end if every resident adapter is
        in use). The caller frees what is returned."""
        out = []
        while len(self._entries) >= self.capacity:
            victim = next((k for k, e in self._entries.items()
                           if e.leases == 0 and not e.pinned and e.loaded.is_set()), None)  # fmt: skip
            if victim is None:
                self._cond.wait(0.5)
                continue
            out.append(self._entries.pop(victim))
            self.evictions += 1
        return out

    # --- pinning ----------------------------------------------------------------------
    def pin(self, key: str, ref: AdapterRef) -> None:
        """Keep `ref` resident until unpinned (loaded now if it is not)."""
        with self._cond:
            pinned = sum(e.pinned for e in self._entries.values())
            if pinned >= self.capacity - 1 and not (key in self._entries
                                                    and self._entries[key].pinned):  # fmt: skip
                raise ValueError(f"at most {self.capacity - 1} of {self.capacity} resident "
                                 "adapters may be pinned")  # fmt: skip
        with self.lease(key, ref), self._cond:
            self._entries[key].pinned = True

    def unpin(self, key: str) -> None:
        with self._cond:
            if key in self._entries:
                self._entries[key].pinned = False

    def forget(self, key: str) -> None:
        """Free `key` now if no request holds it (a removed tenant's revisions)."""
        with self._cond:
            entry = self._entries.get(key)
            if entry is None or entry.leases:
                return
            del self._entries[key]
        self.engine.evict(entry.ref)

    # --- reading ----------------------------------------------------------------------
    def resident(self) -> list[str]:
        with self._cond:
            return list(self._entries)

    def stats(self) -> ResidencyStats:
        with self._cond:
            return ResidencyStats(self.capacity, len(self._entries),
                                  sum(e.pinned for e in self._entries.values()), self.hits,
                                  self.misses, self.evictions, self.loads,
                                  round(self.load_seconds, 6))  # fmt: skip
