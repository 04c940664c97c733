"""`personal chat`: the Textual app, and `run`, which the CLI calls to start it."""

from __future__ import annotations

from typing import NoReturn

from rich.console import Console
from rich.text import Text
from textual.app import App
from textual.binding import Binding

from personal.adapters.swap import AdapterWatcher
from personal.engine.base import Engine
from personal.errors import PersonalError
from personal.log import Log
from personal.tools import ToolRegistry
from tui.chat_screen import STOP_TIMEOUT, ChatScreen


class PersonalApp(App[None]):
    """Chat with `engine`, logging to `log`, with `tools` (as `/name args` commands and
    for the model to call); opens `conversation_id` if given."""

    TITLE = "personal"
    CSS_PATH = "app.tcss"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(
        self, engine: Engine, log: Log, conversation_id: str | None = None,
        notice: str | None = None, tools: ToolRegistry | None = None,
        watcher: AdapterWatcher | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.engine, self.chat_log = engine, log  # (App.log is Textual's logger)
        self.tools = tools
        self.watcher = watcher
        self.chat = ChatScreen(engine, log, conversation_id, tools=tools, watcher=watcher)
        self.notice = notice  # shown once at start, e.g. why no adapter is attached

    async def on_mount(self) -> None:
        # pushed rather than made the default screen: Textual loads a screen's CSS_PATH
        # only for pushed screens
        await self.push_screen(self.chat)
        if self.notice:
            self.notify(self.notice, severity="warning", timeout=8, markup=False)
        if self.tools is not None and self.tools.problems:
            problems = "\n".join(f"- {p}" for p in self.tools.problems)
            self.notify(f"Some of your tools were left out:\n{problems}", title="Tools",
                        severity="warning", timeout=12, markup=False)  # fmt: skip

    def on_app_focus(self) -> None:
        """Back from another window: the log may have changed (another process)."""
        if self.chat.is_mounted:
            self.chat.refresh_from_log()

    async def action_quit(self) -> None:
        await self.chat.stop_generation()  # logged as interrupted, not left streaming
        self.exit()

    def cancel_generation(self, timeout: float = STOP_TIMEOUT) -> bool:
        return self.chat.cancel_generation(timeout)


def run(
    model: str | None = None, conversation: str | None = None, backend: str | None = None
) -> None:
    """Open the log and the engine, run the app, close the engine.

    A PersonalError while starting is printed with its hint (no traceback) and exits 1.
    """
    from personal.adapters.serving import open_served
    from personal.tools import load_registry

    log: Log | None = None
    try:
        log = Log()
        if conversation:
            conversation = log.conversation(conversation).id  # fail before loading a model
        tools = load_registry(log, strict=False)  # a broken tools.toml is a warning
        served = open_served(model, backend=backend)
    except PersonalError as e:
        if log is not None:
            log.close()
        _fail(e)
    engine = served.engine
    watcher = AdapterWatcher(engine) if engine.info.backend != "fake" else None
    app = PersonalApp(engine, log, conversation, notice=served.warning, tools=tools,
                      watcher=watcher)  # fmt: skip
    try:
        app.run()
    finally:
        app.cancel_generation()  # however the app ended, no generation may outlive it
        if watcher is not None:
            watcher.stop()
        engine.close()
        log.close()
    if app.return_code:
        raise SystemExit(app.return_code)


def _fail(error: PersonalError) -> NoReturn:
    err = Console(stderr=True, highlight=False)
    err.print(Text.assemble(("error: ", "bold red"), error.message))
    if error.hint:
        err.print(Text.assemble(("hint: ", "dim"), error.hint))
    raise SystemExit(error.exit_code)
