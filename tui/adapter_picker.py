"""`/adapter`: choose the revision the chat runs with, or follow the registry's current one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from personal.adapters.registry import Registry

FOLLOW, NONE = "follow", "none"


class AdapterPicker(ModalScreen[str | None]):
    """Dismisses with FOLLOW, NONE, a revision id, or None (cancelled)."""

    CSS_PATH = "adapter_picker.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, registry: Registry, fingerprint: str, active: str | None,
                 following: bool) -> None:  # fmt: skip
        super().__init__()
        self.registry, self.fingerprint = registry, fingerprint
        self.active, self.following = active, following

    def compose(self) -> ComposeResult:
        current = self.registry.pointer(self.fingerprint)["revision"]
        mark = lambda on: "● " if on else "  "  # noqa: E731
        options = [
            Option(f"{mark(self.following)}follow the current revision "
                   f"({current[:12] if current else 'none'}), switching when it changes", FOLLOW),
            Option(f"{mark(not self.following and self.active is None)}no adapter (bare base)", NONE),
        ]  # fmt: skip
        for rev in self.registry.list(self.fingerprint):
            verdict = "promoted" if rev.promoted else "rejected"
            chosen = not self.following and self.active == rev.id
            options.append(Option(f"{mark(chosen)}{rev.short}  {rev.created_at[:16]}  {verdict}",
                                  rev.id))  # fmt: skip
        yield Label("Run the chat with which adapter?", id="picker-title")
        yield OptionList(*options, id="picker")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
