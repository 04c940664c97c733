"""What a tool is, and what calling one gives back."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field

NAME_RE = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Tool:
    """A function the model (or the person, with `/name ...`) can call.

    `run` gets arguments already checked against `parameters` and returns the text shown
    to the model and the person; it raises `ToolError` for failures they can act on.
    """

    name: str
    description: str
    parameters: dict = field(repr=False, hash=False)  # JSON Schema of type "object"
    run: Callable[[dict], str] = field(repr=False, compare=False)
    side_effects: bool = False  # True: the person confirms every call
    timeout: float = 10.0  # seconds
    source: str = "builtin"  # "builtin" | "config:<path>" | "entrypoint:<dist>"
    # True: `run` executes in a worker process that is killed at the timeout (see
    # `isolation`); it must then be a module-level function, which can be sent there
    isolated: bool = False
    # True: `run(args, context)` also gets the CallContext (which message asked for it)
    contextual: bool = False

    def schema(self) -> dict:
        """The OpenAI tool schema, as chat templates expect it."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": copy.deepcopy(self.parameters),  # callers may edit theirs
            },
        }


@dataclass(frozen=True)
class CallContext:
    """Where a call comes from. A tool that keeps something (a note) records its source
    message, so forgetting the conversation forgets what the tool kept too."""

    source_message_id: str | None = None  # the user message of the turn that made the call


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    content: str  # what the tool said ("" when it failed)
    error: str | None  # why it failed, written for the person and the model
    duration_ms: float


def params(required: list[str] | None = None, **properties: dict) -> dict:
    """A JSON Schema for tool arguments: `params(["text"], text={"type": "string"})`."""
    return {"type": "object", "properties": properties, "required": list(required or [])}
