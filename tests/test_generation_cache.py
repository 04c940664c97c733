"""The learning loop's generation cache: what it answers itself, and what it asks for."""

from __future__ import annotations

from personal.engine.base import GenerationParams
from personal.engine.fake import FakeEngine
from personal.learn.cache import GenerationCache, generate

GREEDY = GenerationParams(temperature=0.0, max_tokens=16)
ASK = [[{"role": "user", "content": "What is the capital of France?"}],
       [{"role": "user", "content": "What is the capital of Italy?"}]]  # fmt: skip


class Counting(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[int, object]] = []

    def chat_many(self, conversations, params=None, tools=None, **kw):
        self.asked.append((len(conversations), kw.get("until")))
        for c in conversations:
            self.enqueue(f"About {c[-1]['content']}")
        return super().chat_many(conversations, params, tools, **kw)


def test_an_answer_is_generated_once_and_until_is_part_of_what_was_asked(personal_home):
    engine, cache = Counting(), GenerationCache()
    try:
        first = generate(engine, cache, ASK, GREEDY)
        again = generate(engine, cache, ASK, GREEDY)
        assert [c.text for c in again] == [c.text for c in first] and len(engine.asked) == 1
        # an answer that may have ended early is another answer: asked for, `until` passed on
        cut = generate(engine, cache, ASK, GREEDY, until=[("Paris",), ("Rome",)])
        assert engine.asked[-1] == (2, [("Paris",), ("Rome",)]) and len(cut) == 2
        generate(engine, cache, ASK[1:], GREEDY, until=[("Rome",)])  # the same: cached
        assert len(engine.asked) == 2
        generate(engine, cache, ASK[1:], GREEDY, until=[("Roma",)])
        assert engine.asked[-1] == (1, [("Roma",)])
    finally:
        cache.close()


class Scoring(FakeEngine):
    """Teacher-forced log-probabilities that depend on the adapter attached."""

    def __init__(self) -> None:
        super().__init__()
        self.scored: list[tuple[str, str, str | None]] = []

    def score(self, prompt, completion):
        from personal.engine.llama import ContextOverflow

        self.scored.append((prompt, completion, self.adapter.id if self.adapter else None))
        if prompt == "too long":
            raise ContextOverflow("the prompt does not fit")
        return [-0.5, -1.25] if self.adapter is None else [-0.25, -0.125]


def test_a_score_is_computed_once_per_adapter_file_and_an_overflow_is_not_kept(
        personal_home, tmp_path):  # fmt: skip
    import pytest

    from personal.engine.base import AdapterRef
    from personal.engine.llama import ContextOverflow

    engine, cache = Scoring(), GenerationCache()
    adapter = tmp_path / "a.gguf"
    adapter.write_bytes(b"one adapter")
    try:
        assert cache.score(engine, "Q", "A") == [-0.5, -1.25]
        assert cache.score(engine, "Q", "A") == [-0.5, -1.25] and len(engine.scored) == 1
        assert cache.score(engine, "Q", "B") and len(engine.scored) == 2  # another answer
        engine.attach_adapter(AdapterRef("x", adapter))
        assert cache.score(engine, "Q", "A") == [-0.25, -0.125] and len(engine.scored) == 3
        adapter.write_bytes(b"another adapter, same path")  # keyed by content, not by path
        engine.attach_adapter(AdapterRef("x", adapter))
        cache.score(engine, "Q", "A")
        assert len(engine.scored) == 4
        for _ in range(2):
            with pytest.raises(ContextOverflow):
                cache.score(engine, "too long", "A")
        assert len(engine.scored) == 6
    finally:
        cache.close()
