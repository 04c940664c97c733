"""One line under the chat: base model, backend, adapter revision, speed of the last answer."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from personal.engine.base import Completion, Engine


def tokens_per_second(result: Completion | None) -> float | None:
    """Generation speed of a finished answer: tokens after the first, over the time they
    took (so prompt processing does not count); None when there is nothing to measure."""
    if result is None or result.usage.completion_tokens < 1:
        return None
    tokens, seconds = result.usage.completion_tokens, result.duration_ms / 1000
    if tokens > 1 and result.ttft_ms is not None and result.duration_ms > result.ttft_ms:
        tokens, seconds = tokens - 1, (result.duration_ms - result.ttft_ms) / 1000
    return tokens / seconds if seconds > 0 else None


class StatusBar(Static):
    """Reflects the engine (re-read on `show_engine`, as adapters are hot-swapped)."""

    def __init__(self, engine: Engine, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.model = self.backend = self.adapter = ""
        self.speed: float | None = None
        self.busy = False
        self.show_engine(engine)

    def show_engine(self, engine: Engine) -> None:
        self.model, self.backend = engine.info.model, engine.info.backend
        self.adapter = engine.adapter.id[:12] if engine.adapter is not None else "none"
        self._render_line()

    def show_speed(self, speed: float | None) -> None:
        self.speed = speed
        self._render_line()

    def show_busy(self, busy: bool) -> None:
        self.busy = busy
        self._render_line()

    @property
    def plain(self) -> str:
        return self._line().plain

    def _line(self) -> Content:
        speed = "–" if self.speed is None else f"{self.speed:.1f}"
        parts: list[str | tuple[str, str]] = [
            ("model ", "dim"), self.model,
            ("  backend ", "dim"), self.backend,
            ("  adapter ", "dim"), self.adapter,
            ("  tok/s ", "dim"), speed,
        ]  # fmt: skip
        if self.busy:
            parts.append(("  answering… (esc stops)", "italic"))
        return Content.assemble(*parts)

    def _render_line(self) -> None:
        self.update(self._line())
