"""What a line typed into the prompt means: a chat turn, or `/name args` for a command.

No commands exist yet; later ones register with `@command("name", "help")` and receive
the chat screen (its session, log and engine) and the text after the name. A line that
starts with "//" is sent as chat text with one slash removed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from personal.errors import PersonalError

if TYPE_CHECKING:
    from tui.chat_screen import ChatScreen

Handler = Callable[["ChatScreen", str], "Awaitable[None] | None"]
_COMMAND = re.compile(r"/([A-Za-z][\w-]*)(?:\s+(.*))?", re.DOTALL)


class UnknownCommand(PersonalError):
    pass


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Handler


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as `/name`."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name, help, handler)
        return handler

    return register


def parse(text: str) -> tuple[str | None, str]:
    """(None, chat text) for a chat turn, or (command name, argument text)."""
    if text.startswith("//"):
        return None, text[1:]
    match = _COMMAND.fullmatch(text)
    if match is None:
        return None, text  # includes text like "/etc/hosts is ..." that only looks similar
    return match.group(1).lower(), (match.group(2) or "").strip()


async def dispatch(screen: ChatScreen, name: str, arg: str) -> None:
    """Run `/name arg`; UnknownCommand (a PersonalError) if there is no such command."""
    found = COMMANDS.get(name)
    if found is None:
        known = ", ".join(f"/{n}" for n in sorted(COMMANDS)) or "none yet"
        raise UnknownCommand(
            f"unknown command /{name}",
            hint=f"commands: {known}; to send text starting with '/', type '//' first",
        )
    result = found.handler(screen, arg)
    if result is not None:
        await result
