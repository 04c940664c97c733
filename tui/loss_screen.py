"""/loss: the loss curve (training and validation) of the revision the chat runs with, or
else of the current one, drawn as text; it is redrawn when the terminal is resized."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from personal.adapters.curve import LossCurve, draw, read_curve
from personal.adapters.registry import Registry, Revision
from personal.errors import RegistryError

NONE = "No revision to show: the chat runs the bare base model (train one: personal train)."


class LossScreen(ModalScreen[None]):
    """esc, q or enter closes it."""

    CSS_PATH = "loss_screen.tcss"
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, revision: Revision | None) -> None:
        super().__init__()
        self.revision = revision
        self.curve: LossCurve | None = read_curve(revision.path) if revision else None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = f"loss · {self.revision.short}" if self.revision else "loss"
            dialog.border_subtitle = "esc closes"
            yield Label(self.caption(), id="caption", markup=False)
            yield Static(id="plot")

    def caption(self) -> str:
        if self.revision is None:
            return NONE
        if self.curve is None or not (self.curve.train or self.curve.val):
            return f"Revision {self.revision.short} records no loss curve (it was imported)."
        last = self.curve.train[-1] if self.curve.train else self.curve.val[-1]
        val = f", validation {self.curve.val[-1][1]:.3f}" if self.curve.val else ""
        return f"Revision {self.revision.short}: loss {last[1]:.3f} after {last[0]} steps{val}"

    def on_resize(self) -> None:
        self.redraw()

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        if self.curve is None or not (self.curve.train or self.curve.val):
            return
        plot = self.query_one("#plot", Static)
        width, height = max(plot.size.width, 40), max(plot.size.height, 10)
        plot.update(draw(self.curve, width=width, height=height))


def revision_of(registry: Registry, fingerprint: str, adapter_id: str | None) -> Revision | None:
    """The revision the chat runs with, else the base's current one."""
    if adapter_id is not None:
        try:
            return registry.get(adapter_id, fingerprint)
        except RegistryError:  # an adapter from elsewhere: show the current one
            pass
    return registry.current(fingerprint)
