"""An answer (Markdown that can grow piece by piece, with the person's feedback marked on
it) and the one-line record of a tool call."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from personal.engine.toolcall import ToolCall
from personal.log import AnswerState
from personal.printable import printable

if TYPE_CHECKING:
    from personal.tools import ToolResult

# How an answer that did not finish normally is marked (border subtitle + CSS class)
STATUS_MARKS = {
    "streaming": "… streaming",
    "interrupted": "■ interrupted",
    "error": "✗ error",
}
RATING_MARKS = {"up": "▲ good", "down": "▼ bad"}
EDITED, ORIGINAL, REJECTED = "✎ edited", "✎ edited · showing the original (o)", "✗ rejected"
NO_ANSWER = "*(no answer)*"
RESULT_WIDTH = 60  # characters of a tool result shown on its line


class AssistantMessage(Markdown):
    """An answer: Markdown that can grow piece by piece, marked unless complete, and
    showing the person's feedback (rating, edit, rejection)."""

    def __init__(
        self,
        text: str = "",
        *,
        model: str | None = None,
        status: str = "complete",
        message_id: str | None = None,
        state: AnswerState | None = None,
    ) -> None:
        self.original = text  # what the model wrote (an edit is shown instead)
        self.state = state or AnswerState()
        self.showing_original = False
        if not text and status in ("interrupted", "error"):
            text = NO_ANSWER
        super().__init__(self._shown(text))
        self.message_id = message_id
        self.called_tools = False  # (a message that only calls tools is not shown)
        self.border_title = model or "assistant"
        self._stream: MarkdownStream | None = None
        self.status = status
        self._mark()

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    @property
    def text(self) -> str:
        """What the answer says now: the person's edit if there is one."""
        return self.state.edited_text if self.state.edited_text is not None else self.original

    def set_status(self, status: str) -> None:
        self.status = status
        self._mark()

    async def show_state(self, state: AnswerState) -> None:
        """Show the feedback recorded for this answer (from `Log.answer_state`)."""
        edited_before = self.state.edited_text
        self.state = state
        if state.edited_text is None:
            self.showing_original = False
        if state.edited_text != edited_before and not self.showing_original:
            await self.update(self._shown(self.original))
        self._mark()

    async def toggle_original(self) -> None:
        """Between the edited text and what the model wrote (edited answers only)."""
        if self.state.edited_text is None:
            return
        self.showing_original = not self.showing_original
        await self.update(self._shown(self.original))
        self._mark()

    async def write(self, piece: str) -> None:
        """Append a streamed piece (fast pieces are batched by the MarkdownStream)."""
        if self._stream is None:
            self._stream = Markdown.get_stream(self)
        await self._stream.write(printable(piece))

    async def finish(self, status: str) -> None:
        """Flush the stream and mark how the answer ended."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.original = self.source
        if status != "complete" and not self.source.strip():
            await self.update(NO_ANSWER)
        self.set_status(status)

    def _shown(self, original: str) -> str:
        edited = self.state.edited_text
        return printable(original if edited is None or self.showing_original else edited)

    def _mark(self) -> None:
        state = self.state
        for name, on in {
            **{f"-{s}": s == self.status for s in STATUS_MARKS},
            "-rated-up": state.rating == "up",
            "-rated-down": state.rating == "down",
            "-edited": state.edited_text is not None,
            "-rejected": state.rejected,
        }.items():
            self.set_class(on, name)
        marks = [STATUS_MARKS.get(self.status, ""), RATING_MARKS.get(state.rating or "", "")]
        if state.edited_text is not None:
            marks.append(ORIGINAL if self.showing_original else EDITED)
        if state.rejected:
            marks.append(REJECTED)
        self.border_subtitle = "  ".join(m for m in marks if m)


class ToolLine(Static):
    """`⚙ calc(17*23) → 391`: a tool call (by the model or the person) and its result."""

    def __init__(self, call: ToolCall, owner_id: str | None = None) -> None:
        super().__init__(markup=False)
        self.call, self.owner_id = call, owner_id  # owner: the assistant message calling it
        self.result_text: str | None = None
        self.ok = True
        self.add_class("-pending")
        self.update(self._line())

    def show_result(self, ok: bool, text: str) -> None:
        self.ok, self.result_text = ok, text
        self.remove_class("-pending")
        self.set_class(not ok, "-error")
        self.update(self._line())

    def show_tool_result(self, result: ToolResult) -> None:
        self.show_result(result.ok, result.content if result.ok else result.error or "failed")

    @property
    def plain(self) -> str:
        return self._line().plain

    def _line(self) -> Content:
        head = printable(f"⚙ {self.call.name}({format_arguments(self.call.arguments)})")
        if self.result_text is None:
            return Content.assemble(head, (" …", "dim"))
        if not self.ok:
            return Content.assemble(head, " ✗ ", _one_line(self.result_text))
        return Content.assemble(head, (" → ", "dim"), _one_line(self.result_text))


def format_arguments(arguments: dict[str, Any]) -> str:
    """`17*23` for a call with one argument, `value=5, from=km` for more."""

    def value(v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)

    if len(arguments) == 1:
        return value(next(iter(arguments.values())))
    return ", ".join(f"{k}={value(v)}" for k, v in arguments.items())


def _one_line(text: str) -> str:
    lines = printable(text).strip().splitlines() or [""]
    first = lines[0]
    if len(first) > RESULT_WIDTH or len(lines) > 1:
        return first[:RESULT_WIDTH].rstrip() + " …"
    return first
