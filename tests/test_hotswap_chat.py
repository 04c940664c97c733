"""An open chat follows a promotion made by another process, on the live base model.

This is the hot-swap as a person sees it: the chat UI runs the embedded default model; a
revision is promoted from another process (as `personal train` or the daemon does); the
status bar and a notice show the switch, and the next answer in the same conversation
comes from the new revision — with the base model loaded exactly once.
"""

from __future__ import annotations

import pytest

from personal.adapters.registry import Registry
from personal.adapters.swap import AdapterWatcher
from personal.engine import GenerationParams
from personal.engine.llama import LlamaEngine
from personal.log import Log
from personal.models import catalog
from tests.lora_gguf import DISTINCT
from tests.test_serving import register
from tests.test_swap import promote_elsewhere
from tests.test_tui import send, wait_for
from tui.app import PersonalApp
from tui.widgets import StatusBar

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
QUESTION, NEXT = "Name three colors.", "Name three animals."
# Greedy, so the answer can be checked against the base's on the same history (the chat's
# default samples at 0.7: two sampled answers can agree by chance, or by the model copying
# its last answer when asked the same thing twice).
GREEDY = GenerationParams(temperature=0.0, max_tokens=16)


async def test_open_chat_switches_to_a_revision_promoted_elsewhere(tmp_path):
    base = catalog.resolve("smollm2-135m")
    engine = LlamaEngine(base, n_ctx=1024, n_threads=2)
    model_handle = id(engine._llm)
    registry = Registry()
    rev = register(registry, base, seed=21, std=DISTINCT)
    watcher = AdapterWatcher(engine, registry, interval=0.1)
    with Log(tmp_path / "log.db") as log:
        app = PersonalApp(engine, log, watcher=watcher)
        try:
            async with app.run_test(size=(100, 30)) as pilot:
                status = app.chat.query_one(StatusBar)
                app.chat.session.params = GREEDY
                await send(pilot, QUESTION)
                conv = lambda: app.chat.session.conversation_id  # noqa: E731
                done = lambda n: sum(  # noqa: E731
                    m.role == "assistant" and m.status == "complete" for m in log.messages(conv())
                ) == n  # fmt: skip
                await wait_for(pilot, lambda: conv() and done(1), timeout=30)
                assert "adapter none" in status.plain

                promote_elsewhere(rev.id, base.fingerprint)
                await wait_for(pilot, lambda: rev.id[:12] in status.plain, timeout=10)
                notices = [str(n.render()) for n in app.chat.query("Notice")]
                assert any(f"none → {rev.id[:12]}" in n for n in notices)

                await send(pilot, NEXT)
                await wait_for(pilot, lambda: done(2), timeout=30)
        finally:
            watcher.stop()
        first, second = [m for m in log.messages(conv()) if m.role == "assistant"]
        asked = log.history(conv())[:-1]  # what the second answer was generated from
    assert first.adapter is None and second.adapter == rev.id
    adapted = engine.chat(asked, GREEDY).complete()
    assert adapted.adapter == rev.id and adapted.text == second.content
    engine.detach_adapter()
    assert engine.chat(asked, GREEDY).complete().text != second.content  # from the adapter
    assert engine.load_count == 1 and id(engine._llm) == model_handle  # never reloaded
    engine.close()
