"""Seconds per stage of `train_once`, from its `on_stage` callback."""

from __future__ import annotations

import time


class StageClock:
    """Pass as `train_once(on_stage=clock)`; call `clock("end")` after the last stage.
    `seconds` adds up each stage's time over several runs."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._name: str | None = None
        self._at = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self._name:
            self.seconds[self._name] = self.seconds.get(self._name, 0.0) + now - self._at
        self._name, self._at = name, now
