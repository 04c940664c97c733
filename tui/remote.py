"""The chat screen's large-model toggle: `/remote` sends the next answers to the host's
model with the person's current revision (pushed first if the host lacks it, after the
privacy audit); `/remote` again comes back to this device's model. Answers are logged as
any other, with the host as their provenance. Opening the connection runs in a worker
thread: it may push a revision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from personal.engine.base import Engine
from personal.errors import PersonalError

if TYPE_CHECKING:
    from tui.chat_screen import ChatScreen


class RemoteActions:
    remote: Engine | None = None
    local_engine: Engine | None = None

    def use_engine(self: ChatScreen, engine: Engine) -> None:
        self.engine = engine
        self.session.engine = engine
        self.query_one("#status").show_engine(engine)

    def toggle_remote(self: ChatScreen) -> None:
        if self.remote is not None:
            remote, self.remote = self.remote, None
            self.use_engine(self.local_engine or self.engine)
            remote.close()
            self.notify("answers come from this device again", title="Local")
            return
        self.local_engine = self.engine
        self.notify("connecting to the host…", title="Remote")
        self._connect()

    @work(thread=True, group="remote", exclusive=True)
    def _connect(self: ChatScreen) -> None:
        from personal.daemon.publish import remote_engine

        def say(line: str) -> None:
            self.app.call_from_thread(self.notify, line, title="Remote", markup=False)

        try:
            engine = remote_engine(say=say)
        except PersonalError as e:
            self.app.call_from_thread(self.show_error, e)
            return
        self.app.call_from_thread(self._connected, engine)

    def _connected(self: ChatScreen, engine: Engine) -> None:
        self.remote = engine
        self.use_engine(engine)
        host = engine.info.extra.get("provenance", {}).get("host", "the host")
        revision = engine.adapter.id[:12] if engine.adapter else "no adapter"
        self.notify(f"answers come from {host} ({engine.info.model}, {revision}); /remote "
                    "again to come back", title="Remote", markup=False)  # fmt: skip
