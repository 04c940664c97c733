"""Residency: N revisions, at most K loaded, least recently used idle one freed first,
pinned ones kept, a cold key loaded once however many requests want it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from personal.engine import AdapterRef, GenerationParams
from personal.engine.fake import FakeEngine
from personal.engine.llama import LlamaEngine
from personal.errors import AdapterError
from personal.host.residency import Residency
from personal.models import catalog
from tests.lora_gguf import write_random_lora
from tests.tinymodel import write_tiny_llama_gguf


class SlowEngine(FakeEngine):
    def __init__(self, load_s: float = 0.0, fail: set[str] | None = None):
        super().__init__()
        self.load_s, self.fail = load_s, fail or set()

    def preload(self, ref: AdapterRef) -> None:
        time.sleep(self.load_s)
        if ref.id in self.fail:
            raise AdapterError(f"cannot load {ref.id}")
        super().preload(ref)


def ref(name: str) -> AdapterRef:
    return AdapterRef(name, Path(f"/nonexistent/{name}.gguf"))


def use(res: Residency, *names: str) -> None:
    for n in names:
        with res.lease(n, ref(n)):
            pass


def test_least_recently_used_idle_adapter_goes_first():
    engine = FakeEngine()
    res = Residency(engine, capacity=2)
    use(res, "a", "b", "a", "c")  # c evicts b (a was used after b)
    assert res.resident() == ["a", "c"] and engine.evicted == ["b"]
    s = res.stats()
    assert (s.hits, s.misses, s.evictions, s.loads, s.resident) == (1, 3, 1, 3, 2)
    assert engine.preloaded == ["a", "b", "c"]


def test_pinned_adapters_stay_and_at_least_one_slot_stays_free():
    engine = FakeEngine()
    res = Residency(engine, capacity=3)
    res.pin("hot", ref("hot"))
    res.pin("warm", ref("warm"))
    with pytest.raises(ValueError, match="at most 2"):
        res.pin("third", ref("third"))
    use(res, *[f"cold{i}" for i in range(5)])
    assert {"hot", "warm"} <= set(res.resident()) and res.stats().pinned == 2
    res.unpin("warm")
    use(res, "x", "y")
    assert "warm" not in res.resident() and "hot" in res.resident()


def test_an_adapter_in_use_is_never_evicted():
    res = Residency(FakeEngine(), capacity=1)
    held, order = threading.Event(), []

    def first():
        with res.lease("a", ref("a")):
            held.set()
            time.sleep(0.3)
            order.append("a done")

    t = threading.Thread(target=first)
    t.start()
    held.wait()
    with res.lease("b", ref("b")):  # waits for a's request to finish
        order.append("b loaded")
    t.join()
    assert order == ["a done", "b loaded"]


def test_a_cold_adapter_is_loaded_once_for_many_requests():
    engine = SlowEngine(load_s=0.2)
    res = Residency(engine, capacity=4, on_load=lambda s: seconds.append(s))
    seconds: list[float] = []
    threads = [threading.Thread(target=use, args=(res, "a")) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert engine.preloaded == ["a"] and len(seconds) == 1 and seconds[0] >= 0.2
    assert res.stats().misses == 1 and res.stats().hits == 5


def test_a_failed_load_is_an_error_for_that_request_and_tried_again_later():
    engine = SlowEngine(fail={"bad"})
    res = Residency(engine, capacity=2)
    with pytest.raises(AdapterError):
        use(res, "bad")
    assert res.resident() == []
    engine.fail.clear()
    use(res, "bad")
    assert res.resident() == ["bad"]


def test_on_llama_cpp_the_engine_holds_what_residency_says(tmp_path):
    base = catalog.resolve(str(write_tiny_llama_gguf(tmp_path / "tiny.gguf", n_layer=2)))
    refs = [AdapterRef(f"a{i}", write_random_lora(base.path, tmp_path / f"a{i}.gguf", layers=2,
                                                  seed=i, std=0.3)) for i in range(4)]  # fmt: skip
    engine = LlamaEngine(base, n_ctx=512, n_threads=2, resident=None)
    hello, greedy = [{"role": "user", "content": "hello"}], GenerationParams(temperature=0, max_tokens=6)
    try:
        alone = {r.id: engine.chat(hello, greedy, adapter=r).complete().text for r in refs}
        for r in refs:
            engine.evict(r)
        res = Residency(engine, capacity=2)
        for r in [*refs, *reversed(refs)]:
            with res.lease(r.id, r) as held:
                assert engine.chat(hello, greedy, adapter=held).complete().text == alone[r.id]
            assert engine.resident_adapters <= 2
        assert res.stats().evictions >= 4
    finally:
        engine.close()
