"""What the learning loop is asked to learn, and the prompts it is measured on.

An *objective* is something an answer can be checked against: a stated preference with a
checker (personal/prefs/check.py), a fact the person told (asked back in other words), or
a withdrawn preference the current revision had learned (which must be gone). Preferences
without a checker are not objectives: nothing can tell whether an answer follows them, so
they are never trained on (the chat keeps them in its prompt instead).

Prompts come from shipped pools (data/prompts*.txt), each split once and for all by a hash
of the prompt into a training part and a held-out part, so no revision ever trains on a
prompt that a gate uses to judge it: everyday questions for preferences about every answer,
email and code requests for preferences scoped to those, and for facts two disjoint sets of
question phrasings (personal/prefs/facts.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from personal.engine.mention import mentions
from personal.prefs import facts

DATA = Path(__file__).parent / "data"
POOLS = {"answers": "prompts.txt", "email": "prompts_email.txt", "code": "prompts_code.txt"}
# Lead-ins that multiply a fact's questions: the gate needs enough held-out ones for an
# interval (still questions the adapter never saw), and training on a few ways of asking
# each phrasing keeps the adapter from tying the answer to one exact question.
FACT_LEADS = ("", "Quick question: ", "Hey, ", "I forgot, ")
TRAIN_LEADS = ("", "Tell me: ", "Sorry, ")


@dataclass(frozen=True)
class Objective:
    id: str  # the preference's id
    kind: str  # "preference" | "fact" | "withdrawn"
    text: str  # the person's preference, as stored (private)
    checker: dict[str, Any]

    @property
    def scope(self) -> str:
        if self.kind == "fact":
            return "fact"
        return str(self.checker.get("scope", "answers"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def objectives(active: list, withdrawn: list[Objective] | None = None) -> list[Objective]:
    """Objectives from active preferences (those with a checker) and the withdrawn ones."""
    out = []
    for p in active:
        if p.checker and p.kind != "withdraw":
            out.append(Objective(p.id, "fact" if p.kind == "fact" else "preference", p.text,
                                 dict(p.checker)))  # fmt: skip
    return out + [Objective(o.id, "withdrawn", o.text, dict(o.checker)) for o in withdrawn or []]


def withdrawn_since(learned: dict[str, dict[str, Any]], plan: dict[str, str],
                    active_ids: set[str]) -> list[Objective]:
    """What a revision learned (its plan says "adapter") that is no longer an active
    preference: the next revision must unlearn it. `learned` is the revision's objectives."""
    out = []
    for oid, entry in learned.items():
        if plan.get(oid) == "adapter" and oid not in active_ids and entry.get("checker") \
                and entry.get("kind") in ("preference", "fact"):  # fmt: skip
            out.append(Objective(oid, "withdrawn", entry.get("text", ""), dict(entry["checker"])))
    return out


def from_manifest(entries: list[dict[str, Any]]) -> list[Objective]:
    return [Objective(**e) for e in entries]


# --- prompt pools ------------------------------------------------------------------------
def _read(name: str) -> list[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def part_of(prompt: str) -> str:
    """"train", "test" or "retention" (everyday prompts only), fixed by the prompt's text."""
    bucket = int(hashlib.sha256(prompt.strip().casefold().encode()).hexdigest()[:8], 16) % 8
    return {0: "retention", 1: "test"}.get(bucket, "train")


@cache
def pool(scope: str, part: str) -> tuple[str, ...]:
    """The shipped prompts of a scope ("answers", "email", "code") in one part. Email and
    code pools have no retention part: their "retention" bucket is held out too."""
    prompts = _read(POOLS[scope])
    if part == "train":
        prompts = _not_asked(prompts)
    if scope == "answers":
        return tuple(p for p in prompts if part_of(p) == part)
    held_out = {"test", "retention"}
    return tuple(p for p in prompts if (part_of(p) in held_out) == (part == "test"))


@cache
def quick_prompts() -> tuple[str, ...]:
    """Short one-fact questions (data/prompts_quick.txt), all for training: a share of the
    preference examples, so an adapter sees its preference on short answers too. Their
    templates are not the retention set's, and a retention question is never among them."""
    return tuple(_not_asked(_read("prompts_quick.txt")))


def _not_asked(prompts: list[str]) -> list[str]:
    """`prompts` without the general questions the gate's retention bound asks: never taught."""
    asked = {q.strip().casefold() for q, _ in retention_questions()}
    return [p for p in prompts if p.strip().casefold() not in asked]


def fact_questions(objective: Objective, part: str) -> list[str]:
    """Ways to ask for a fact: the training phrasings or (part "test") the held-out ones,
    each with its part's lead-ins."""
    key = objective.checker["key"]
    leads = FACT_LEADS if part == "test" else TRAIN_LEADS
    return [f"{lead}{q[0].lower() if lead else q[0]}{q[1:]}"
            for q in facts.questions(key, part) for lead in leads]  # fmt: skip


def held_out(objective: Objective) -> list[str]:
    """The user prompts an objective is measured on."""
    if objective.scope == "fact":
        return fact_questions(objective, "test")
    return list(pool(objective.scope, "test"))


@cache  # a shipped file: read once, the tuple is immutable
def retention_questions() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(question, accepted answers) of the retention set (data/retention_qa.json)."""
    data = json.loads((DATA / "retention_qa.json").read_text(encoding="utf-8"))
    return tuple((item["q"], tuple(item["a"])) for item in data["items"])


def answered(answer: str, accepted: tuple[str, ...]) -> bool:
    """Whether `answer` names an accepted answer (a number only as a whole number)."""
    return mentions(answer, accepted)
