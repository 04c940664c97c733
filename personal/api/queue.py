"""One generation at a time per engine (or `running` at once, for an engine that batches
them), first come first served, with a bounded line.

    ticket = queue.join()          # QueueFull (-> 429 with Retry-After) when the line is full
    if ticket.wait(cancel):        # blocks this worker thread; False if cancelled meanwhile
        ...generate...
    ticket.leave()                 # always (a finally); lets the next one in

The engine's own lock would serialise generations too, but in no particular order and
without a bound; this queue makes the order fair, the wait measurable and the overflow a
clean refusal instead of an ever longer wait.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass


class QueueFull(Exception):
    def __init__(self, retry_after: int, waiting: int):
        super().__init__(f"{waiting} waiting")
        self.retry_after = retry_after
        self.waiting = waiting


@dataclass(frozen=True)
class QueueStats:
    running: bool  # any
    waiting: int
    max_waiting: int
    served: int
    mean_wait_s: float
    mean_service_s: float
    active: int = 0  # generations running now (at most `slots`)
    slots: int = 1


class Ticket:
    def __init__(self, queue: GenerationQueue):
        self._queue = queue
        self.joined = time.monotonic()
        self.started: float | None = None
        self._left = False

    @property
    def waited_s(self) -> float:
        return (self.started or time.monotonic()) - self.joined

    def wait(self, cancel: threading.Event | None = None, poll: float = 0.05) -> bool:
        """Block until it is this ticket's turn (True) or `cancel` is set (False)."""
        return self._queue._wait(self, cancel, poll)

    def leave(self) -> None:
        if not self._left:
            self._left = True
            self._queue._leave(self)


class GenerationQueue:
    def __init__(self, max_waiting: int = 16, running: int = 1):
        self.max_waiting = max_waiting
        self.slots = max(1, running)
        self._cond = threading.Condition()
        self._line: deque[Ticket] = deque()  # the first `slots` are running (or about to)
        self._served = 0
        self._wait_total = 0.0
        self._service_total = 0.0

    def join(self) -> Ticket:
        with self._cond:
            waiting = max(0, len(self._line) - self.slots)
            if len(self._line) >= self.slots and waiting >= self.max_waiting:
                raise QueueFull(self._retry_after(waiting), waiting)
            ticket = Ticket(self)
            self._line.append(ticket)
            return ticket

    def _wait(self, ticket: Ticket, cancel: threading.Event | None, poll: float) -> bool:
        with self._cond:
            while not self._running(ticket):
                if cancel is not None and cancel.is_set():
                    return False
                self._cond.wait(poll)
            if ticket.started is None:
                ticket.started = time.monotonic()
                self._wait_total += ticket.started - ticket.joined
            return True

    def _running(self, ticket: Ticket) -> bool:
        for n, t in enumerate(self._line):
            if n >= self.slots:
                return False
            if t is ticket:
                return True
        return False

    def _leave(self, ticket: Ticket) -> None:
        with self._cond:
            if ticket.started is not None:
                self._served += 1
                self._service_total += time.monotonic() - ticket.started
            self._line.remove(ticket)
            self._cond.notify_all()

    def _retry_after(self, waiting: int) -> int:
        per = self._service_total / self._served if self._served else 5.0
        return max(1, min(300, math.ceil(per * (waiting + 1) / self.slots)))

    def stats(self) -> QueueStats:
        with self._cond:
            served = max(self._served, 1)
            active = sum(t.started is not None for t in list(self._line)[: self.slots])
            return QueueStats(
                running=active > 0,
                waiting=max(0, len(self._line) - self.slots), max_waiting=self.max_waiting,
                served=self._served, mean_wait_s=round(self._wait_total / served, 4),
                mean_service_s=round(self._service_total / served, 4), active=active,
                slots=self.slots,
            )  # fmt: skip
