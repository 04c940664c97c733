"""The chat UI's side of hot-swap, with the fake engine: notices and the /adapter picker."""

from __future__ import annotations

import pytest

from personal.adapters.registry import Registry
from personal.adapters.swap import AdapterWatcher
from personal.engine.fake import FakeEngine
from personal.log import Log
from tests.test_registry import build
from tests.test_tui import send, wait_for
from tui.adapter_picker import AdapterPicker
from tui.app import PersonalApp
from tui.widgets import StatusBar

pytestmark = pytest.mark.anyio
FAKE_FP = "0" * 64


@pytest.fixture
def setup(tmp_path):
    engine = FakeEngine(model="fake-model")
    registry = Registry(tmp_path / "adapters")
    a, b = build(registry, b"a", base=FAKE_FP), build(registry, b"b", base=FAKE_FP)
    with Log(tmp_path / "log.db") as log:
        yield engine, registry, a, b, log


async def test_a_promotion_shows_in_the_status_bar_and_the_conversation(setup):
    engine, registry, a, _, log = setup
    watcher = AdapterWatcher(engine, registry, interval=0.05)
    app = PersonalApp(engine, log, watcher=watcher)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            registry.set_current(FAKE_FP, a, "promote")
            status = app.chat.query_one(StatusBar)
            await wait_for(pilot, lambda: a.short in status.plain)
            assert any(a.short in str(n.render()) for n in app.chat.query("Notice"))
            await send(pilot, "hi")
            await wait_for(pilot, lambda: app.chat.session.conversation_id and any(
                m.role == "assistant" and m.status == "complete"
                for m in log.messages(app.chat.session.conversation_id)))  # fmt: skip
            answer = log.messages(app.chat.session.conversation_id)[-1]
            assert answer.adapter == a.id
    finally:
        watcher.stop()


async def test_the_picker_chooses_none_a_revision_or_following(setup):
    engine, registry, a, b, log = setup
    registry.set_current(FAKE_FP, a, "promote")
    watcher = AdapterWatcher(engine, registry, interval=60)  # no polling: picks only
    watcher.switch(a.id)
    app = PersonalApp(engine, log, watcher=watcher)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/adapter")
        await wait_for(pilot, lambda: isinstance(app.screen, AdapterPicker))
        await pilot.press("down", "enter")  # "no adapter"
        await wait_for(pilot, lambda: engine.adapter is None)
        assert not watcher.following
        await send(pilot, "/adapter")
        await wait_for(pilot, lambda: isinstance(app.screen, AdapterPicker))
        options = app.screen.query_one("#picker").option_count
        assert options == 4  # follow, none, two revisions
        await pilot.press("enter")  # follow the current one again
        await wait_for(pilot, lambda: engine.adapter is not None and engine.adapter.id == a.id)
        assert watcher.following
