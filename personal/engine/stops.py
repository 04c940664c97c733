"""Streaming text filters: stop strings that may arrive split across pieces."""

from __future__ import annotations


class StopFilter:
    """Emits text as it arrives, holding back any tail that could start a stop string."""

    def __init__(self, stops: tuple[str, ...]):
        self.stops = tuple(s for s in stops if s)
        self.pending = ""

    def feed(self, text: str) -> tuple[str, str | None]:
        """(text safe to emit, the stop string found or None). After a stop, the text
        following it is kept in `pending`."""
        self.pending += text
        found = [(self.pending.find(s), s) for s in self.stops if s in self.pending]
        if found:
            at, stop = min(found)
            out, self.pending = self.pending[:at], self.pending[at + len(stop) :]
            return out, stop
        hold = max((overlap(self.pending, s) for s in self.stops), default=0)
        cut = len(self.pending) - hold
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out, None

    def flush(self, text: str = "") -> str:
        out, self.pending = self.pending + text, ""
        return out


def overlap(text: str, stop: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `stop`."""
    for n in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:n]):
            return n
    return 0
