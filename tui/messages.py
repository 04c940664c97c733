"""Every custom Textual message the chat UI sends, in one place.

The generation worker runs in a thread; it talks to the UI only through these
(`post_message` is thread-safe), so widgets are never touched off the UI thread. Each
carries the `generation` it belongs to, so a stopped turn's late messages are ignored.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual.message import Message

from personal.chat.events import Event
from personal.engine.base import Completion

if TYPE_CHECKING:
    from personal.adapters.swap import SwapEvent
    from personal.tools import Tool


class TurnEvent(Message):
    """Something the turn reported (`personal.chat.events`: text, a tool call or its
    result, a new answer after tool results, an unreadable call)."""

    def __init__(self, generation: int, event: Event) -> None:
        super().__init__()
        self.generation = generation
        self.event = event


class AnswerEnded(Message):
    """The worker finished a turn: `status` is what the log recorded for the answer."""

    def __init__(
        self,
        generation: int,
        status: str,  # "complete" | "interrupted" | "error"
        result: Completion | None,
        error: BaseException | None = None,
    ) -> None:
        super().__init__()
        self.generation = generation
        self.status = status
        self.result = result
        self.error = error


class ConfirmTool(Message):
    """The worker asks before running a tool with side effects; it waits on `answered`
    for `reply[0]` (True: run it)."""

    def __init__(self, generation: int, tool: Tool, arguments: dict) -> None:
        super().__init__()
        self.generation = generation
        self.tool = tool
        self.arguments = arguments
        self.answered = threading.Event()
        self.reply = [False]

    def answer(self, yes: bool) -> None:
        self.reply[0] = bool(yes)
        self.answered.set()


class ConversationChosen(Message):
    """The user picked a conversation in the sidebar."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id


class AdapterSwapped(Message):
    """The adapter watcher switched (or failed to switch) the engine's adapter; sent from
    its thread, handled on the UI thread."""

    def __init__(self, event: SwapEvent) -> None:
        super().__init__()
        self.event = event
