"""Every custom Textual message the chat UI sends, in one place.

The generation worker runs in a thread; it talks to the UI only through these
(`App.post_message` is thread-safe), so widgets are never touched off the UI thread.
"""

from __future__ import annotations

from textual.message import Message

from personal.engine.base import Completion


class AnswerPiece(Message):
    """A piece of text for the answer being streamed (from the worker thread)."""

    def __init__(self, assistant_id: str, text: str) -> None:
        super().__init__()
        self.assistant_id = assistant_id
        self.text = text


class AnswerEnded(Message):
    """The worker finished a turn: `status` is what the log recorded for the answer."""

    def __init__(
        self,
        assistant_id: str,
        status: str,  # "complete" | "interrupted" | "error"
        result: Completion | None,
        error: BaseException | None = None,
    ) -> None:
        super().__init__()
        self.assistant_id = assistant_id
        self.status = status
        self.result = result
        self.error = error


class ConversationChosen(Message):
    """The user picked a conversation in the sidebar."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id
