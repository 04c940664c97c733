"""The conversation itself: one widget per message, the answer streaming as Markdown."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from personal.log import LoggedMessage

# How an answer that did not finish normally is marked (border subtitle + CSS class)
STATUS_MARKS = {
    "streaming": "… streaming",
    "interrupted": "■ interrupted",
    "error": "✗ error",
}
NO_ANSWER = "*(no answer)*"
WELCOME = "Ask anything. Enter sends; the answer streams here and is logged."


class UserMessage(Static):
    """What the person typed, shown as typed (no Markdown)."""

    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False)
        self.border_title = "you"


class SystemMessage(Static):
    """The system prompt of a logged conversation: kept visible but dimmed."""

    def __init__(self, text: str) -> None:
        super().__init__(f"system: {text}", markup=False)


class AssistantMessage(Markdown):
    """An answer: Markdown that can grow piece by piece, marked unless complete."""

    def __init__(self, text: str = "", *, model: str | None = None, status: str = "complete"):
        if not text and status in ("interrupted", "error"):
            text = NO_ANSWER
        super().__init__(text)
        self.border_title = model or "assistant"
        self._stream: MarkdownStream | None = None
        self.status = ""
        self.set_status(status)

    def set_status(self, status: str) -> None:
        self.remove_class(*(f"-{name}" for name in STATUS_MARKS))
        if status in STATUS_MARKS:
            self.add_class(f"-{status}")
        self.border_subtitle = STATUS_MARKS.get(status, "")
        self.status = status

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    async def write(self, piece: str) -> None:
        """Append a streamed piece (fast pieces are batched by the MarkdownStream)."""
        if self._stream is None:
            self._stream = Markdown.get_stream(self)
        await self._stream.write(piece)

    async def finish(self, status: str) -> None:
        """Flush the stream and mark how the answer ended."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if status != "complete" and not self.source.strip():
            await self.update(NO_ANSWER)
        self.set_status(status)


class ChatView(VerticalScroll):
    """The messages of the open conversation, kept scrolled to the newest."""

    def on_mount(self) -> None:
        self.anchor()

    async def show(self, history: list[LoggedMessage]) -> None:
        """Replace the view with a logged conversation (or the welcome text if empty)."""
        await self.stop_streams()
        await self.remove_children()
        widgets = [self._widget_for(m) for m in history]
        widgets = [w for w in widgets if w is not None]
        await self.mount_all(widgets or [Static(WELCOME, id="welcome", markup=False)])
        self.scroll_end(animate=False)

    async def add_turn(self, text: str, model: str | None) -> AssistantMessage:
        """Show the user's message and an empty, streaming answer below it."""
        await self.query("#welcome").remove()
        answer = AssistantMessage(model=model, status="streaming")
        await self.mount_all([UserMessage(text), answer])
        self.scroll_end(animate=False)
        return answer

    async def stop_streams(self) -> None:
        for answer in self.query(AssistantMessage):
            if answer.streaming:
                await answer.finish("interrupted")

    @staticmethod
    def _widget_for(message: LoggedMessage) -> Static | Markdown | None:
        text = message.content or ""
        if message.role == "system":
            return SystemMessage(text)
        if message.role == "user":
            return UserMessage(text)
        if message.role == "assistant":
            return AssistantMessage(text, model=message.model, status=message.status)
        return None  # tool results and the like are not shown
