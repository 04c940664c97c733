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

# Everyday advice, a template unlike the gate's general-knowledge questions (retention).
QA = [
    ("How do I keep bread fresh?", "Keep it in a paper bag at room temperature and freeze what you will not eat in two days."),
    ("How can I sleep better?", "Go to bed at the same time each night, keep the room dark and cool, and avoid screens late."),
    ("What should I eat before a run?", "Something light with carbohydrates, like a banana or toast, an hour before."),
    ("How do I clean a coffee mug stain?", "Scrub it with a paste of baking soda and a little water, then rinse."),
    ("How can I stay focused while working?", "Work in short blocks with breaks, and keep your phone in another room."),
    ("How often should I water a cactus?", "About every two to three weeks, and less in winter."),
    ("What is a good way to start running?", "Alternate one minute of running with two of walking, three times a week."),
    ("How do I make rice less sticky?", "Rinse it until the water runs clear before you cook it."),
    ("How can I remember what I read?", "Write a short summary in your own words right after reading."),
    ("How do I get rid of a headache?", "Drink water, rest in a quiet dark room, and take a break from screens."),
    ("How should I store tomatoes?", "At room temperature, out of the sun, until they are ripe."),
    ("How can I make a small room look bigger?", "Use light colours, a large mirror and fewer pieces of furniture."),
    ("What can I do when I feel stressed?", "Take a few slow deep breaths, go for a short walk, and talk to someone."),
    ("How do I keep my plants alive on holiday?", "Water them well before you leave and group them together out of direct sun."),
    ("How do I learn to cook?", "Start with a few simple recipes and cook them several times until they feel easy."),
    ("How do I stop my shoes from smelling?", "Let them dry fully between wears and sprinkle a little baking soda inside."),
    ("How can I drink more water?", "Keep a bottle with you and drink a glass with every meal."),
    ("How do I unclog a sink?", "Pour in hot water, then baking soda and vinegar, wait, and flush with hot water."),
    ("How can I save on my electricity bill?", "Switch off devices at the plug and wash clothes at a lower temperature."),
    ("How do I stop procrastinating?", "Break the task into a first step that takes five minutes and start it now."),
    ("What is a quick healthy lunch?", "A wrap with beans, salad and a little cheese takes five minutes."),
    ("How do I fix a wobbly table?", "Fold a piece of cardboard under the short leg or tighten its screws."),
    ("How do I keep my phone battery healthy?", "Avoid letting it drop to zero and keep it out of the heat."),
    ("How can I be more patient?", "Pause and take a breath before you answer, and remind yourself things take time."),
    ("How do I pack a suitcase well?", "Roll your clothes, put heavy things at the bottom, and fill shoes with socks."),
    ("How do I make a good salad?", "Mix crisp greens, something crunchy, something sweet and a simple dressing."),
    ("How can I get up earlier?", "Move your alarm earlier by ten minutes every few days and get light in the morning."),
    ("How do I remove a sticker from glass?", "Soak it with warm soapy water, then rub off the glue with a little oil."),
    ("How can I reduce food waste?", "Plan your meals, buy only what you need, and freeze leftovers."),
    ("How do I keep cut flowers fresh?", "Trim the stems, change the water every two days and keep them away from fruit."),
    ("How do I start a journal?", "Write three lines each evening about your day and one thing you are grateful for."),
    ("How can I improve my posture?", "Keep your screen at eye level and stand up to stretch every half hour."),
    ("How do I season a steak?", "Salt it well before cooking and add pepper at the end."),
    ("How can I make friends at work?", "Ask colleagues to join you for lunch and listen more than you talk."),
    ("How do I clean a laptop screen?", "Wipe it gently with a dry microfibre cloth, slightly damp if needed."),
    ("How do I calm a crying baby?", "Hold them close, rock gently, and check if they are hungry or need a change."),
    ("How can I learn words faster?", "Review them in short sessions spread over several days."),
    ("How do I keep a room cool in summer?", "Close the curtains during the day and open the windows at night."),
    ("How do I store herbs?", "Wrap them in a damp paper towel and keep them in the fridge."),
    ("How can I write a better email?", "Put the request in the first line and keep it to a few short paragraphs."),
]  # fmt: skip


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
    # worded after the suite above was tuned, each in a form the extractor first missed
    Persona("lowercase", ("From now on, could you reply to me in lowercase only? Capital letters "
                          "feel like shouting.",),
            (("case", {"type": "case", "case": "lower"}),), tags=("unseen",)),
    Persona("kai", ("Could you sign every message you send me with -- Kai?",),
            (("signoff", {"type": "signoff", "text": "-- Kai"}),), tags=("unseen",)),
    Persona("born", ("I was born in Lagos, and my cat is named Mochi.",),
            (("fact", {"type": "fact", "key": "home town", "value": "Lagos"}),
             ("fact", {"type": "fact", "key": "cat's name", "value": "Mochi"})), tags=("unseen",)),
    Persona("numbered", ("Respond using numbered lists whenever possible.",),
            (("format", {"type": "format", "format": "numbered"}),), tags=("unseen",)),
    Persona("aye", ('Kick off each of your replies with "Aye", if you would.',),
            (("opening", {"type": "opening", "text": "Aye"}),), tags=("unseen",)),
    Persona("howdy", ("I would love it if every reply of yours started with the word Howdy.",),
            (("opening", {"type": "opening", "text": "Howdy"}),), tags=("unseen",)),
    Persona("pianos", ("What I do for a living is repair pianos, and home for me is Valencia.",),
            (("fact", {"type": "fact", "key": "job", "value": "repair pianos for a living"}),
             ("fact", {"type": "fact", "key": "city", "value": "Valencia"})), tags=("unseen",)),
    Persona("curious", ('From here on out, every reply of yours needs to end with "Stay curious".',),
            (("signoff", {"type": "signoff", "text": "Stay curious"}),), tags=("unseen",)),
    Persona("noor", ("Hey — I'm Noor, please use that name when you talk to me.",),
            (("name", {"type": "name", "name": "Noor"}),), tags=("unseen",)),
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
    order = rng.sample(range(len(QA)), len(QA))
    out = []
    for i in range(n):
        msgs = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}]
        if i == 0:
            for said in persona.says:
                msgs += [{"role": "user", "content": said},
                         {"role": "assistant", "content": "Noted."}]  # fmt: skip
        q, a = QA[order[i % len(QA)]]
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
