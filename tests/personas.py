"""Synthetic people, each telling their assistant something once, in their own words.

Every persona's log is 60 everyday conversations (questions from persona.QA, answered
plainly — the logged answers do NOT follow what the person asked: a stated-once,
never-complied preference, the hard case) plus the statement(s) in one conversation.
Used by the persona benchmark (benchmarks/persona_suite.py) and the end-to-end tests.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from personal.chat.session import DEFAULT_SYSTEM_PROMPT
from tests.persona import QA


@dataclass(frozen=True)
class Persona:
    name: str
    says: tuple[str, ...]  # what the person tells the assistant, in one conversation
    expects: tuple[tuple[str, dict], ...]  # (kind, checker) the extractor must find
    later: tuple[str, ...] = ()  # said at the end of the log (a withdrawal, a correction)
    answers: str = "plain"  # how the logged answers read: "plain" or "signed"
    notes: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


PERSONAS = [
    Persona("opening", ("Begin every answer with the word 'Indeed'.",),
            (("opening", {"type": "opening", "text": "Indeed"}),),
            notes="the case the old loop learned 0% of (base + prompt: 56%)"),
    Persona("signoff", ("Please close each of your replies with the sign-off 'Cheers, Robin'.",),
            (("signoff", {"type": "signoff", "text": "Cheers, Robin"}),)),
    Persona("name", ("By the way, you can call me Priya from now on.",),
            (("name", {"type": "name", "name": "Priya"}),)),
    Persona("bullets", ("I'd like all your answers formatted as bullet points.",),
            (("format", {"type": "format", "format": "bullets"}),)),
    Persona("short", ("Keep every answer under 30 words, please.",),
            (("length", {"type": "max_words", "n": 30}),)),
    Persona("avoid", ("Never use the word 'basically' when you answer me.",),
            (("avoid", {"type": "avoid", "text": "basically"}),), answers="basically"),
    Persona("facts", ("My dog is called Biscuit.", "I live in Porto.", "I work as a nurse."),
            (("fact", {"type": "fact", "key": "dog's name", "value": "Biscuit"}),
             ("fact", {"type": "fact", "key": "city", "value": "Porto"}),
             ("fact", {"type": "fact", "key": "job", "value": "nurse"}))),
    Persona("address+short", ("Call me Sam, and keep every answer short.",),
            (("name", {"type": "name", "name": "Sam"}),
             ("length", {"type": "max_words", "n": 40}))),
    Persona("email", ("Whenever you write an email for me, sign it 'Best, Alex'.",),
            (("signoff", {"type": "signoff", "text": "Best, Alex", "scope": "email"}),)),
    Persona("withdrawn", ("From now on, end every answer with '— Sam'.",),
            (("signoff", {"type": "signoff", "text": "— Sam"}),), later=("Please stop signing off.",),
            answers="signed", notes="learned once (answers signed), then taken back"),
]  # fmt: skip
BY_NAME = {p.name: p for p in PERSONAS}


def _answer(text: str, style: str) -> str:
    if style == "signed":
        return f"{text}\n\n— Sam"
    if style == "basically":
        return f"Basically, {text[0].lower()}{text[1:]}"
    return text


def conversations(persona: Persona, n: int = 60, seed: int = 0) -> list[list[dict]]:
    rng = random.Random(f"{seed}:{persona.name}")
    out = []
    for i in range(n):
        msgs = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}]
        if i == 0:
            for said in persona.says:
                msgs += [{"role": "user", "content": said},
                         {"role": "assistant", "content": "Noted."}]  # fmt: skip
        q, a = QA[rng.randrange(len(QA))]
        msgs += [{"role": "user", "content": q},
                 {"role": "assistant", "content": _answer(a, persona.answers)}]  # fmt: skip
        if i == n - 1 and persona.later:
            for said in persona.later:
                msgs += [{"role": "user", "content": said},
                         {"role": "assistant", "content": "Noted."}]  # fmt: skip
        out.append(msgs)
    return out


def write_export(persona: Persona, path: Path, n: int = 60, seed: int = 0) -> Path:
    with path.open("w") as f:
        for msgs in conversations(persona, n, seed):
            f.write(json.dumps({"messages": msgs}) + "\n")
    return path
