"""/prefs: the preferences kept for the nightly adapter, to review by keyboard.

Each row says how the model follows a preference — learned by the current revision, kept
in the chat's prompt, or unchecked (never trained on: rephrase it in checkable terms, or
edit one answer into the answer you want) — and where it came from: the conversation (id
prefix) and the first words of the message that stated it, or "manual". a adds, e (or
enter) edits, space switches on/off, d deletes (after asking), esc closes. A candidate
from an import is marked "?": space confirms it, d deletes it.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Label

from personal.errors import NotFound, PersonalError
from personal.log import Log
from personal.prefs.preferences import Preference, Preferences
from personal.prefs.prompting import status
from personal.printable import printable
from tui.confirm import ConfirmScreen

PREVIEW_WORDS = 6
FOLLOWED = {"learned": "learned", "in the prompt": "in prompt",
            "unchecked: in the prompt": "unchecked", "off": "–", "candidate": "?"}  # fmt: skip
EMPTY = 'No preferences yet: say one in a chat ("From now on, call me Sam.") or press a.'


class PrefsScreen(Screen[None]):
    """Lists every preference, active or not; edits go to the log at once."""

    CSS_PATH = "prefs_screen.tcss"
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("space,t", "toggle", "On/off", key_display="space"),
        Binding("d,delete", "delete", "Delete"),
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(self, log: Log, plan: dict[str, str] | None = None) -> None:
        super().__init__()
        self.chat_log, self.prefs = log, Preferences(log)
        self.plan = plan or {}  # what the running revision learned

    def compose(self) -> ComposeResult:
        yield Label("Preferences: what the model should keep in mind about you", id="title")
        yield DataTable(id="prefs", cursor_type="row", zebra_stripes=True)
        yield Label(EMPTY, id="empty", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.table
        table.add_column("on", key="on")
        table.add_column("preference", key="text")
        table.add_column("kind", key="kind")
        table.add_column("followed", key="followed")
        table.add_column("source", key="source")
        self.reload()
        table.focus()

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    @property
    def current_id(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def reload(self, select: str | None = None) -> None:
        """Re-read the preferences; keep the cursor on `select` (or where it was)."""
        select = select or self.current_id
        try:
            prefs = self.prefs.list()
        except PersonalError as e:
            self.show_error(e)
            return
        table = self.table
        table.clear()
        for pref in prefs:
            mark = "?" if not pref.confirmed else "✓" if pref.active else "·"
            followed = FOLLOWED[status(pref, self.plan)]
            # Text, not str: a DataTable reads a str cell as markup ("[/x]" crashed it)
            table.add_row(mark, Text(printable(pref.text)), pref.kind,
                          followed, Text(printable(self.source(pref))), key=pref.id)  # fmt: skip
        ids = [p.id for p in prefs]
        if select in ids:
            table.move_cursor(row=ids.index(select))
        self.query_one("#empty").display = not prefs

    def source(self, pref: Preference) -> str:
        if pref.source_message_id is None:
            return "manual" if pref.conversation_id is None else pref.conversation_id[:8]
        try:
            message = self.chat_log.message(pref.source_message_id)
        except NotFound:
            return pref.origin
        words = (message.content or "").split()
        preview = " ".join(words[:PREVIEW_WORDS]) + (" …" if len(words) > PREVIEW_WORDS else "")
        return f"{message.conversation_id[:8]} “{preview}”"

    def show_error(self, error: PersonalError) -> None:
        text = error.message + (f"\n{error.hint}" if error.hint else "")
        self.notify(text, title="Error", severity="error", timeout=10, markup=False)

    def _change(self, change, *args) -> Preference | None:
        try:
            return change(*args)
        except PersonalError as e:
            self.show_error(e)
            return None

    # --- actions -------------------------------------------------------------------
    def action_add(self) -> None:
        def added(text: str | None) -> None:
            if text and (pref := self._change(self.prefs.add, text)) is not None:
                self.reload(select=pref.id)

        self.app.push_screen(TextPrompt("New preference", "e.g. Answer in French."), added)

    def action_edit(self) -> None:
        if (pref_id := self.current_id) is None:
            return
        current = self.prefs.get(pref_id)

        def edited(text: str | None) -> None:
            if text and text != current.text and self._change(self.prefs.edit, pref_id, text):
                self.reload(select=pref_id)

        self.app.push_screen(TextPrompt("Edit the preference", current.text, current.text),
                             edited)  # fmt: skip

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_edit()

    def action_toggle(self) -> None:
        if (pref_id := self.current_id) is None:
            return
        pref = self.prefs.get(pref_id)
        if self._change(self.prefs.set_active, pref_id, not pref.active) is not None:
            self.reload(select=pref_id)  # switching one on may switch others off

    def action_delete(self) -> None:
        if (pref_id := self.current_id) is None:
            return
        pref = self.prefs.get(pref_id)

        def answered(yes: bool | None) -> None:
            if yes:
                self._change(self.prefs.remove, pref_id)
                self.reload()

        detail = "It is not extracted again from the message that stated it."
        question = f"Delete “{printable(pref.text)}”?"
        self.app.push_screen(ConfirmScreen(question, detail), answered)

    def action_close(self) -> None:
        self.dismiss(None)


class TextPrompt(ModalScreen[str | None]):
    """One line of text: enter dismisses with it (stripped), escape with None."""

    CSS_PATH = "prefs_screen.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.title_text, self.placeholder, self.value = title, placeholder, value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="question", markup=False)
            yield Input(self.value, placeholder=self.placeholder, id="text")
            yield Label("enter saves, esc cancels", id="detail")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
