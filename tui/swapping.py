"""The chat screen's side of hot-swapping: show switches, let the person pick a revision.

The watcher (personal.adapters.swap) polls the registry in its own thread and swaps the adapter on
the live engine; here its reports become a status-bar update and a notice in the
conversation. Picking by hand runs in a worker thread, since a swap waits for an answer
in flight.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from personal.adapters.swap import AdapterWatcher, SwapEvent
from tui import messages
from tui.adapter_picker import FOLLOW, NONE, AdapterPicker

if TYPE_CHECKING:
    from tui.chat_screen import ChatScreen


def _name(revision: str | None) -> str:
    return revision[:12] if revision else "none"


class SwapActions:
    watcher: AdapterWatcher | None

    def start_watching(self: ChatScreen) -> None:
        if self.watcher is not None:
            self.watcher.on_swap = lambda event: self.post_message(messages.AdapterSwapped(event))
            self.watcher.start()

    async def on_adapter_swapped(self: ChatScreen, message: messages.AdapterSwapped) -> None:
        event: SwapEvent = message.event
        self.query_one("#status").show_engine(self.engine)
        if event.ok:
            took = f" ({event.seconds * 1000:.0f} ms)" if event.seconds else ""
            await self.chat_view.add_notice(
                f"adapter switched: {_name(event.old)} → {_name(event.new)}{took}; "
                "the next answer comes from it"
            )
        else:
            self.notify(f"kept adapter {_name(event.old)}: {event.error}", title="Adapter",
                        severity="warning", timeout=10, markup=False)  # fmt: skip

    def choose_adapter(self: ChatScreen) -> None:
        if self.watcher is None:
            self.notify("this engine runs without adapters", severity="warning")
            return
        active = self.engine.adapter.id if self.engine.adapter else None
        picker = AdapterPicker(self.watcher.registry, self.engine.info.fingerprint, active,
                               self.watcher.following)  # fmt: skip
        self.app.push_screen(picker, self._picked)

    def _picked(self: ChatScreen, choice: str | None) -> None:
        if choice is not None:
            self._apply_choice(choice)

    @work(thread=True, group="adapter")
    def _apply_choice(self: ChatScreen, choice: str) -> None:
        assert self.watcher is not None
        if choice == FOLLOW:
            event = self.watcher.follow()
            if event is None:
                self.app.call_from_thread(self.notify, "following the current revision")
        else:
            self.watcher.pick(None if choice == NONE else choice)
