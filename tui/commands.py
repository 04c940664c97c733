"""What a line typed into the prompt means: a chat turn, or `/name args` for a command.

Commands register with `@command("name", "help")` and receive the chat screen (its
session, log and engine) and the text after the name. Every tool of the session is a
command too (`/calc 17*23`, `/remember buy milk`): it runs, then the model answers. A line
that starts with "//" is sent as chat text with one slash removed.
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
    """Run `/name arg`, or the tool `name`; UnknownCommand (a PersonalError) if there is
    neither. A tool's bad arguments raise ToolArgumentError, with its usage as the hint."""
    found = COMMANDS.get(name)
    tools = screen.session.tools
    if found is None and tools is not None and name in tools:
        await screen.invoke_tool(f"/{name} {arg}".rstrip())
        return
    if found is None:
        known = ", ".join(f"/{n}" for n in sorted(COMMANDS)) or "none"
        tool_names = ", ".join(f"/{n}" for n in tools.names()) if tools else "none"
        raise UnknownCommand(
            f"unknown command /{name}",
            hint=f"commands: {known}; tools: {tool_names}; "
            "to send text starting with '/', type '//' first",
        )
    result = found.handler(screen, arg)
    if result is not None:
        await result


@command("help", "commands, tools and keys")
def show_help(screen: ChatScreen, arg: str = "") -> None:
    from tui.help_screen import HelpScreen

    screen.app.push_screen(HelpScreen(help_text(screen)))


@command("prefs", "review your preferences: add, edit, delete, switch on/off")
def show_prefs(screen: ChatScreen, arg: str = "") -> None:
    from tui.prefs_screen import PrefsScreen

    adapter = screen.engine.adapter
    plan = screen.session.plan_for(adapter.id if adapter else None)
    screen.app.push_screen(PrefsScreen(screen.chat_log, plan))


KEYS = [
    ("enter", "send the message (or run the /command)"),
    ("esc", "stop the answer; otherwise go to the answers (and back to the prompt)"),
    ("alt+↑ / alt+↓", "select an earlier / later answer (↑ ↓ in the answers)"),
    ("+ / -", "rate the selected answer good / bad (again: take the rating back)"),
    ("e", "edit the selected answer (ctrl+s saves)"),
    ("o", "show the original of an edited answer"),
    ("c / ctrl+y", "copy the selected answer"),
    ("r / ctrl+r", "regenerate the last answer (the old one is kept as rejected)"),
    ("ctrl+n / ctrl+l / ctrl+d", "new chat / conversations list / delete the chat"),
    ("f1", "this help"),
    ("ctrl+q", "quit"),
]


def help_text(screen: ChatScreen) -> str:
    """Markdown: the commands, the session's tools with their usage, the keys."""
    from personal.tools.invoke import usage

    lines = ["# Commands", ""]
    lines += [f"- `/{c.name}`: {c.help}" for c in sorted(COMMANDS.values(), key=lambda c: c.name)]
    tools = screen.session.tools
    if tools is not None and len(tools):
        lines += ["", "# Tools", "", "Run one yourself; then the model answers.", ""]
        for name in tools.names():
            tool = tools.get(name)
            side = " *(asks first)*" if tool.side_effects else ""
            call = usage(tool).removeprefix("usage: ").split(" (or ")[0]
            lines.append(f"- `{call}`: {tool.description}{side}")
    lines += ["", "# Keys", "", "| key | does |", "|---|---|"]
    lines += [f"| {key} | {does} |" for key, does in KEYS]
    return "\n".join(lines)


@command("adapter", "run with another adapter revision, none, or follow the current one")
def _adapter(screen: ChatScreen, arg: str) -> None:
    screen.choose_adapter()


@command("loss", "the loss curve of the revision the chat runs with (or the current one)")
def show_loss(screen: ChatScreen, arg: str = "") -> None:
    from personal.adapters.registry import Registry
    from tui.loss_screen import LossScreen, revision_of

    adapter = screen.engine.adapter.id if screen.engine.adapter else None
    registry = screen.watcher.registry if screen.watcher else Registry()
    screen.app.push_screen(LossScreen(revision_of(registry, screen.engine.info.fingerprint, adapter)))
@command("remote", "answer with the host's model and your revision (again: this device's)")
def _remote(screen: ChatScreen, arg: str) -> None:
    from tui.turns import Busy

    if screen.busy:
        raise Busy("an answer is being written", hint="wait for it, or stop it with esc")
    screen.toggle_remote()
