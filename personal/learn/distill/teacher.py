"""Context distillation of the person's checkable preferences: the teacher.

The student example is a conversation under the default system prompt; its target must
pass every applicable check. The first attempt is the bare base's own answer (the default
prompt, greedy) repaired deterministically (repair.py): the adapter then learns the
preferences with as little else changed as possible, and those answers do not depend on
the preferences, so they come from the generation cache on later nights. An answer a
repair cannot fix (a language, a minimum length) is asked of the teacher — the base with
the checkable preferences in its system prompt — greedily, then with other seeds, and
dropped at the end. A preference *without* a checker
is not in the teacher's prompt at all: an answer nothing can check is no evidence of
compliance, so it is never trained on as if it were (the chat keeps such a preference in
its prompt instead).

All prompts are answered together, a batch per attempt (`Engine.chat_many`): the first
attempt greedy for everyone, later ones sampled, only for those that still fail.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from personal.engine.base import Engine, GenerationParams
from personal.learn.cache import GenerationCache, generate
from personal.learn.distill.repair import Check, applicable, comply, failing, repair, trim_truncated
from personal.prefs.prompting import with_preferences


@dataclass(frozen=True)
class Ask:
    prompt: list[dict[str, Any]]  # the student prompt (default system prompt first)
    key: str  # stable per prompt: seeds its sampled attempts
    scope: str = "answers"  # which checks apply: "answers", "email", "code"
    shipped: bool = True  # a shipped prompt (cacheable), not one from the person's log


@dataclass
class Teacher:
    engine: Engine
    system_prompt: str | None
    checks: list[Check]
    max_tokens: int = 96
    attempts: int = 4  # the base's own answer, the teacher's greedy one, then sampled
    temperature: float = 0.8
    seed: int = 0
    cache: GenerationCache | None = None
    stats: dict[str, Counter] = field(default_factory=dict)
    generations: int = 0
    tokens: int = 0
    seconds: float = 0.0
    kept: int = 0
    regenerated: int = 0  # kept answers that were not the first generation
    dropped: int = 0

    def __post_init__(self) -> None:
        self.stats = {name: Counter() for name, _ in self.checks}

    @property
    def teacher_prompt(self) -> str | None:
        return with_preferences(self.system_prompt, [name for name, _ in self.checks])

    def answer_all(self, asks: list[Ask]) -> list[str | None]:
        """A compliant answer to each ask, or None where every attempt failed."""
        out: list[str | None] = [None] * len(asks)
        last: dict[int, list[str]] = {}
        pending = list(range(len(asks)))
        for attempt in range(max(1, self.attempts)):
            if not pending:
                break
            raws = self._generate([asks[i] for i in pending], attempt)
            still = []
            for i, raw in zip(pending, raws, strict=True):
                checks = applicable(self.checks, asks[i].scope)
                if attempt == 0:
                    self._count(checks, "prompts")
                if raw is None:
                    still.append(i)
                    continue
                fixed, before = comply(raw, checks)
                if attempt == 0:
                    for name, _ in checks:
                        self.stats[name]["raw_ok"] += name not in before
                if fixed is None:
                    last[i] = failing(repair(raw, checks), checks)
                    still.append(i)
                    continue
                for name in before:
                    self.stats[name]["repaired"] += 1
                out[i] = fixed
                self.kept += 1
                self.regenerated += attempt > 0
            pending = still
        for i in pending:
            for name in last.get(i, []):
                self.stats[name]["dropped"] += 1
            self.dropped += 1
        return out

    def _count(self, checks: list[Check], what: str) -> None:
        for name, _ in checks:
            self.stats[name][what] += 1

    def _generate(self, asks: list[Ask], attempt: int) -> list[str | None]:
        """Attempt 0: the base's own answers; 1: the teacher's, greedy; then sampled."""
        sampled = attempt > 1  # greedy first: a tiny model rambles less
        params = GenerationParams(max_tokens=self.max_tokens,
                                  temperature=self.temperature if sampled else 0.0,
                                  repeat_penalty=1.1)  # fmt: skip
        convs = [a.prompt if attempt == 0 else self._messages(a.prompt) for a in asks]
        seeds = [int(hashlib.sha256(f"{self.seed}:{a.key}:{attempt}".encode()).hexdigest()[:8], 16)
                 for a in asks]  # fmt: skip
        start = time.perf_counter()
        results: list[Any] = [None] * len(asks)
        for shipped in (True, False):  # the person's own prompts never go to the cache
            idx = [i for i, a in enumerate(asks) if a.shipped == shipped]
            if idx:
                done = generate(self.engine, self.cache if shipped else None,
                                [convs[i] for i in idx], params,
                                seeds=[seeds[i] for i in idx], adapter=None)  # fmt: skip
                for i, r in zip(idx, done, strict=True):
                    results[i] = r
        self.seconds += time.perf_counter() - start
        self.generations += len(results)
        out: list[str | None] = []
        for result in results:
            self.tokens += result.usage.completion_tokens
            text = result.text.strip()
            if result.usage.finish_reason == "length":
                text = trim_truncated(text) or ""
            out.append(text or None)
        return out

    def _messages(self, prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The student prompt with the teacher's system prompt in place of its own."""
        rest = prompt[1:] if prompt and prompt[0].get("role") == "system" else prompt
        system = self.teacher_prompt
        return [{"role": "system", "content": system}, *rest] if system else rest


__all__ = ["Ask", "Check", "Teacher", "comply", "failing", "repair", "trim_truncated"]
