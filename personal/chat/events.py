"""What a chat turn reports while it runs (consumed by the CLI and the TUI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from personal.engine.toolcall import ToolCall

if TYPE_CHECKING:
    from personal.tools import ToolResult


@dataclass(frozen=True)
class TextDelta:
    """More text of the assistant message `message_id`."""

    message_id: str
    text: str


@dataclass(frozen=True)
class ToolCalled:
    """The assistant message `message_id` calls a tool (model-initiated or explicit)."""

    message_id: str
    call: ToolCall


@dataclass(frozen=True)
class ToolReturned:
    """A tool finished; its result was logged as the tool message `message_id`."""

    message_id: str
    call: ToolCall
    result: ToolResult


@dataclass(frozen=True)
class AnswerStarted:
    """After tool results, the model writes a new assistant message `message_id`."""

    message_id: str


@dataclass(frozen=True)
class ToolProblem:
    """The model wrote a tool call that could not be read (malformed, truncated)."""

    message_id: str
    errors: list[str]


Event = TextDelta | ToolCalled | ToolReturned | AnswerStarted | ToolProblem
