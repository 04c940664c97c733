"""Hot-swap on a live llama.cpp engine, driven by the registry's pointer."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from personal.adapters.registry import Registry
from personal.adapters.swap import AdapterWatcher
from personal.engine import GenerationParams
from personal.engine.llama import LlamaEngine
from tests.lora_gguf import DISTINCT
from tests.test_serving import register

GREEDY = GenerationParams(temperature=0.0, max_tokens=16)
ASK = [{"role": "user", "content": "Name three colors."}]


@pytest.fixture(scope="module")
def base(smollm2_base):
    return smollm2_base


@pytest.fixture
def engine(base):
    eng = LlamaEngine(base, n_ctx=512, n_threads=2)
    yield eng
    eng.close()


def promote_elsewhere(rev_id: str, base_fp: str) -> None:
    """Move the pointer from another process, as `personal train` or the daemon would."""
    code = ("from personal.adapters.registry import Registry; r = Registry();"
            f"r.set_current({base_fp!r}, r.get({rev_id!r}), 'promote')")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)


def fresh_answer(base, rev) -> str:
    eng = LlamaEngine(base, n_ctx=512, n_threads=2)
    try:
        from personal.adapters.serving import attach

        attach(eng, rev)
        return eng.chat(ASK, GREEDY).complete().text
    finally:
        eng.close()


def test_a_promotion_elsewhere_is_swapped_in_without_reloading(engine, base):
    reg = Registry()
    rev = register(reg, base, seed=11, std=DISTINCT)
    events = []
    watcher = AdapterWatcher(engine, reg, on_swap=events.append)
    plain = engine.chat(ASK, GREEDY).complete().text
    assert watcher.check() is None  # nothing moved yet
    promote_elsewhere(rev.id, base.fingerprint)
    event = watcher.check()
    assert event.ok and event.old is None and event.new == rev.id and events == [event]
    after = engine.chat(ASK, GREEDY).complete()
    assert after.adapter == rev.id and after.text != plain
    assert after.text == fresh_answer(base, rev)  # KV cache reset: same as a fresh load
    assert engine.load_count == 1
    reg.rollback(base.fingerprint)
    assert watcher.check().new is None
    assert engine.chat(ASK, GREEDY).complete().text == plain


def test_a_generation_in_flight_finishes_on_its_adapter(engine, base):
    reg = Registry()
    a, b = register(reg, base, seed=12), register(reg, base, seed=13)
    reg.set_current(base.fingerprint, a, "promote")
    watcher = AdapterWatcher(engine, reg)
    watcher.switch(a.id)
    stream = engine.chat([{"role": "user", "content": "Tell me a long story."}],
                         GenerationParams(temperature=0, max_tokens=40))  # fmt: skip
    pieces = iter(stream)
    next(pieces)  # the generation now holds the engine
    reg.set_current(base.fingerprint, b, "promote")
    swapper = threading.Thread(target=watcher.check)
    swapper.start()
    swapper.join(timeout=0.5)
    assert swapper.is_alive()  # the swap waits for the generation
    rest = list(pieces)
    swapper.join(timeout=10)
    assert not swapper.is_alive() and rest
    assert stream.result.adapter == a.id
    assert engine.chat(ASK, GREEDY).complete().adapter == b.id


def test_a_broken_revision_keeps_the_previous_adapter(engine, base):
    reg = Registry()
    good, broken = register(reg, base, seed=14), register(reg, base, seed=15, broken=True)
    watcher = AdapterWatcher(engine, reg)
    reg.set_current(base.fingerprint, good, "promote")
    assert watcher.check().ok
    expected = engine.chat(ASK, GREEDY).complete().text
    reg.set_current(base.fingerprint, broken, "promote")
    event = watcher.check()
    assert not event.ok and "rejected" in event.error
    assert engine.adapter.id == good.id
    assert engine.chat(ASK, GREEDY).complete().text == expected
    assert watcher.check() is None  # not retried until the pointer moves again


def test_picking_by_hand_stops_following_until_asked(engine, base):
    reg = Registry()
    a, b = register(reg, base, seed=16), register(reg, base, seed=17)
    watcher = AdapterWatcher(engine, reg)
    watcher.pick(None)
    reg.set_current(base.fingerprint, a, "promote")
    assert watcher.check() is None and engine.adapter is None
    watcher.pick(b.id)
    assert engine.adapter.id == b.id
    event = watcher.follow()
    assert event.new == a.id and engine.adapter.id == a.id


def test_the_background_watcher_swaps_within_seconds(engine, base):
    reg = Registry()
    rev = register(reg, base, seed=18)
    swapped = threading.Event()
    watcher = AdapterWatcher(engine, reg, interval=0.1,
                             on_swap=lambda e: swapped.set()).start()  # fmt: skip
    try:
        promote_elsewhere(rev.id, base.fingerprint)
        assert swapped.wait(5)
        assert engine.adapter.id == rev.id
    finally:
        watcher.stop()
