"""A dialog to rewrite an answer the way it should have been (ctrl+s saves)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, TextArea


class EditAnswerScreen(ModalScreen[str | None]):
    """Dismisses with the new text (ctrl+s), or None (escape)."""

    CSS_PATH = "edit_answer.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Edit the answer: the model learns from your version.", id="title")
            yield TextArea(self.text, id="editor", soft_wrap=True, show_line_numbers=False)
        yield Footer()

    def on_mount(self) -> None:
        editor = self.query_one(TextArea)
        editor.focus()
        editor.move_cursor(editor.document.end)

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)
