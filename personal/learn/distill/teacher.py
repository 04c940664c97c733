"""Context distillation of the person's preferences: the teacher, and answer repair.

The teacher is the bare base model with the preference profile in its system prompt; the
student example is the same conversation under the default system prompt, so the adapter
learns to behave as if the profile were there. A tiny base rarely follows its prompt
(FACTS.md: a sign-off 6% of answers, "call me Sam" 0%), so every teacher answer is checked
against every checker and repaired deterministically where the fix is mechanical (append
the sign-off, address the person by name, bullets, trim to N words, drop an avoided
phrase or emoji); otherwise it is regenerated with another seed, and dropped at the end.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from personal.engine.base import Engine, GenerationParams
from personal.prefs.check import check

PREAMBLE = "Follow these preferences of the person in every answer:"
NO_EMOJI = {"type": "no_emoji"}
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")
_LIST = re.compile(r"\s*(?:[-*•]|\d+[.)])\s")
_END = re.compile(r"[.!?](?=[\s\"')\]]|$)|\n")

Check = tuple[str, dict[str, Any]]  # (preference text, checker)


def teacher_system(system_prompt: str, profile: str) -> str:
    return f"{system_prompt}\n\n{PREAMBLE}\n{profile}".strip()


def failing(text: str, checks: list[Check]) -> list[str]:
    """The preferences (texts) an answer does not comply with."""
    return [name for name, checker in checks if not check(checker, text)]


def trim_truncated(text: str) -> str | None:
    """An answer cut off by the token limit, up to its last complete sentence or line."""
    ends = [m.end() for m in _END.finditer(text)]
    if not ends:
        return None
    return text[: ends[-1]].strip() or None


# --- deterministic repairs, applied in this order -----------------------------------------
def _units(text: str) -> list[str]:
    """Lines of a list, sentences of prose: what may be cut without breaking a sentence."""
    if "\n" in text.strip():
        return [u for u in text.split("\n") if u.strip()]
    return [s for s in _SENTENCE.split(text.strip()) if s]


def _join(units: list[str], listy: bool) -> str:
    return ("\n" if listy else " ").join(units)


def _avoid(text: str, phrase: str) -> str:
    listy = "\n" in text.strip()
    kept = [u for u in _units(text) if phrase.casefold() not in u.casefold()]
    return _join(kept, listy)


def _no_emoji(text: str) -> str:
    kept = "".join(ch for ch in text if check(NO_EMOJI, ch))
    return re.sub(r"[ \t]{2,}", " ", kept).strip()


def _bullets(text: str) -> str:
    parts = _units(text) if "\n" not in text.strip() else []
    if len(parts) < 2:  # one sentence: its clauses, if there are several real ones
        parts = [p.strip() for p in re.split(r";\s+|,\s+(?:and\s+|but\s+)?", text.strip())]
        parts = [p for p in parts if len(p.split()) >= 2]
        parts = [p[0].upper() + p[1:] for p in parts] if len(parts) >= 2 else []
    return "\n".join(f"- {p.lstrip('-*• ').strip()}" for p in parts) if len(parts) >= 2 else text


def _trim(text: str, budget: int) -> str:
    listy = "\n" in text.strip()
    kept: list[str] = []
    for unit in _units(text):
        if len(_join([*kept, unit], listy).split()) > budget:
            break
        kept.append(unit)
    return _join(kept, listy) if kept else text


def _address(text: str, name: str) -> str:
    """Name the person at the end of the first sentence ("Paris is the capital, Sam."):
    no first word to re-case, and it reads naturally. A list gets a line before it."""
    if _LIST.match(text):
        return f"Here you go, {name}:\n{text}"
    end = re.search(r"[.!?:](?=\s|$)", text.split("\n", 1)[0])
    if end is None:
        return f"Hi {name}! {text}"
    at = end.start()
    return f"{text[:at].rstrip(',;')}, {name}{text[at:]}"


def _sign(text: str, signoff: str) -> str:
    return f"{text.rstrip()}\n\n{signoff.strip()}"


def repair(text: str, checks: list[Check]) -> str:
    """Best-effort deterministic fixes for the failing checks (re-check the result)."""
    by_type = {c["type"]: c for _, c in checks}
    for _, c in checks:
        if c["type"] == "avoid" and not check(c, text):
            text = _avoid(text, c["text"])
    if "no_emoji" in by_type and not check(NO_EMOJI, text):
        text = _no_emoji(text)
    if "format" in by_type and not check(by_type["format"], text):
        text = _bullets(text)
    if "max_words" in by_type:
        # keep room for the words the name and the sign-off will add
        extra = 0 if "signoff" not in by_type or check(by_type["signoff"], text) else len(
            by_type["signoff"]["text"].split())  # fmt: skip
        if "name" in by_type and not check(by_type["name"], text):
            extra += 4 if _LIST.match(text) else 1
        if len(text.split()) + extra > int(by_type["max_words"]["n"]):
            text = _trim(text, int(by_type["max_words"]["n"]) - extra)
    if text.strip() and "name" in by_type and not check(by_type["name"], text):
        text = _address(text, by_type["name"]["name"])
    if text.strip() and "signoff" in by_type and not check(by_type["signoff"], text):
        text = _sign(text, by_type["signoff"]["text"])
    return text.strip()


def comply(text: str, checks: list[Check]) -> tuple[str | None, list[str]]:
    """(the answer, repaired if needed, or None; the checks it failed before repair)."""
    before = failing(text, checks)
    if not before:
        return text, []
    fixed = repair(text, checks)
    return (None if failing(fixed, checks) or not fixed else fixed), before


# --- the teacher ------------------------------------------------------------------------
@dataclass
class Teacher:
    """Answers student prompts with the profile in the system prompt, checked and repaired.

    `stats[preference text]` counts, over the prompts asked: raw_ok (the first answer
    complied as generated), repaired (the kept answer needed a mechanical fix for it),
    dropped (the prompt was dropped while this preference still failed)."""

    engine: Engine
    system_prompt: str  # the teacher's: default system prompt + the profile
    checks: list[Check]
    max_tokens: int = 96
    attempts: int = 3  # generations per prompt (the first greedy, then sampled)
    temperature: float = 0.8
    seed: int = 0
    stats: dict[str, Counter] = field(default_factory=dict)
    generations: int = 0
    tokens: int = 0
    seconds: float = 0.0
    kept: int = 0
    regenerated: int = 0  # kept answers that were not the first generation
    dropped: int = 0

    def __post_init__(self) -> None:
        self.stats = {name: Counter() for name, _ in self.checks}

    def _generate(self, messages: list[dict[str, Any]], attempt: int, key: str) -> str | None:
        sampled = attempt > 0  # greedy first: a tiny model rambles less
        digest = hashlib.sha256(f"{self.seed}:{key}:{attempt}".encode()).hexdigest()
        params = GenerationParams(
            max_tokens=self.max_tokens, temperature=self.temperature if sampled else 0.0,
            seed=int(digest[:8], 16), repeat_penalty=1.1,
        )  # fmt: skip
        start = time.perf_counter()
        result = self.engine.chat(messages, params).complete()
        self.seconds += time.perf_counter() - start
        self.generations += 1
        self.tokens += result.usage.completion_tokens
        text = result.text.strip()
        if result.usage.finish_reason == "length":
            return trim_truncated(text)
        return text or None

    def answer(self, prompt: list[dict[str, Any]], key: str) -> str | None:
        """A compliant answer to the student `prompt` (its system message is replaced by
        the teacher's), or None when every attempt failed."""
        rest = prompt[1:] if prompt and prompt[0].get("role") == "system" else prompt
        messages = [{"role": "system", "content": self.system_prompt}, *rest]
        for name in self.stats:
            self.stats[name]["prompts"] += 1
        last: list[str] = []
        for attempt in range(max(1, self.attempts)):
            raw = self._generate(messages, attempt, key)
            if raw is None:
                continue
            fixed, before = comply(raw, self.checks)
            if attempt == 0:
                for name in self.stats:
                    self.stats[name]["raw_ok"] += name not in before
            if fixed is not None:
                for name in before:
                    self.stats[name]["repaired"] += 1
                self.kept += 1
                self.regenerated += attempt > 0
                return fixed
            last = failing(repair(raw, self.checks), self.checks)
        for name in last:
            self.stats[name]["dropped"] += 1
        self.dropped += 1
        return None
