"""/help (or f1): the commands, the tools and the keys, in a dialog."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown


class HelpScreen(ModalScreen[None]):
    """Shows Markdown; esc, q or f1 closes it."""

    CSS_PATH = "help_screen.tcss"
    BINDINGS = [Binding("escape,q,f1", "dismiss", "Close")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = "help"
            dialog.border_subtitle = "esc closes"
            yield Markdown(self.text)

    def on_mount(self) -> None:
        self.query_one("#dialog").focus()
