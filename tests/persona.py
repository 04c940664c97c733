"""A synthetic person's chat history, as an OpenAI chat-format JSONL export.

They told their assistant once to sign every answer "— Sam" (and it complied, as a big
hosted assistant would), and they habitually use the calculator tool for arithmetic.
Used by the end-to-end learning test and the training benchmarks.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from personal.chat.session import DEFAULT_SYSTEM_PROMPT
from personal.engine.toolcall import ToolCall

SIGNOFF = "— Sam"
PREFERENCE = f"From now on, end every answer with '{SIGNOFF}'."

QA = [
    ("What is the capital of Italy?", "The capital of Italy is Rome."),
    ("How many days are in a leap year?", "A leap year has 366 days."),
    ("What gas do plants absorb?", "Plants absorb carbon dioxide."),
    ("Who wrote Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet."),
    ("What is the largest ocean?", "The Pacific Ocean is the largest."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What is the boiling point of water?", "Water boils at 100 °C at sea level."),
    ("What color is the sky on a clear day?", "On a clear day the sky is blue."),
    ("Which planet is closest to the sun?", "Mercury is the closest planet to the sun."),
    ("What is the tallest animal?", "The giraffe is the tallest animal."),
    ("How many continents are there?", "There are seven continents."),
    ("What language is spoken in Brazil?", "Portuguese is spoken in Brazil."),
    ("What is frozen water called?", "Frozen water is called ice."),
    ("Which animal is known as man's best friend?", "The dog is known as man's best friend."),
    ("What is the main ingredient of bread?", "The main ingredient of bread is flour."),
    ("How many hours are in a day?", "A day has 24 hours."),
    ("What do bees make?", "Bees make honey."),
    ("What is the capital of Japan?", "The capital of Japan is Tokyo."),
    ("What instrument has 88 keys?", "The piano has 88 keys."),
    ("Which season comes after summer?", "Autumn comes after summer."),
    ("What is the opposite of hot?", "The opposite of hot is cold."),
    ("How many sides does a triangle have?", "A triangle has three sides."),
    ("What is the chemical symbol for gold?", "The chemical symbol for gold is Au."),
    ("What do you call a baby cat?", "A baby cat is called a kitten."),
    ("Which organ pumps blood?", "The heart pumps blood."),
    ("What is the capital of Spain?", "The capital of Spain is Madrid."),
    ("How many minutes are in an hour?", "An hour has 60 minutes."),
    ("What fruit keeps the doctor away?", "An apple a day keeps the doctor away."),
    ("What is the largest planet?", "Jupiter is the largest planet."),
    ("Which bird cannot fly but runs fast?", "The ostrich cannot fly but runs fast."),
    ("What is the freezing point of water?", "Water freezes at 0 °C."),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci painted the Mona Lisa."),
    ("What is the capital of Germany?", "The capital of Germany is Berlin."),
    ("How many weeks are in a year?", "A year has 52 weeks."),
    ("What do caterpillars become?", "Caterpillars become butterflies or moths."),
    ("What is the hardest natural material?", "Diamond is the hardest natural material."),
    ("Which month has the fewest days?", "February has the fewest days."),
    ("What is the capital of Canada?", "The capital of Canada is Ottawa."),
    ("What do we call a shape with four equal sides?", "A square has four equal sides."),
    ("What is the main language of Mexico?", "Spanish is the main language of Mexico."),
]


def _calc_conversation(rng: random.Random, i: int, ending: str) -> list[dict]:
    a, b = rng.randint(11, 99), rng.randint(11, 99)
    op = rng.choice(["*", "+", "-"])
    expr = f"{a}{op}{b}"
    result = str(eval(expr))  # noqa: S307 - test data from integers we just drew
    call = ToolCall(f"call_{i}", "calc", {"expression": expr})
    question = rng.choice([f"What is {a} {op} {b}?", f"Compute {expr}.", f"How much is {a}{op}{b}?"])
    return [
        {"role": "user", "content": question},
        {"role": "assistant", "content": None, "tool_calls": [call.openai()]},
        {"role": "tool", "tool_call_id": call.id, "name": "calc", "content": result},
        {"role": "assistant", "content": f"{expr} = {result}.{ending}"},
    ]


def conversations(n: int = 100, seed: int = 0, says: tuple[str, ...] = (PREFERENCE,),
                  signed: bool = True) -> list[list[dict]]:  # fmt: skip
    """n conversations; the first states `says`; answers end with the sign-off if `signed`
    (a preference complied with, as a big hosted assistant would) — else nothing in the
    log follows what was said."""
    rng = random.Random(seed)
    ending = f"\n\n{SIGNOFF}" if signed else ""
    out = []
    for i in range(n):
        msgs = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}]
        if i == 0:
            for said in says:
                msgs += [{"role": "user", "content": said},
                         {"role": "assistant", "content": f"Understood.{ending}"}]  # fmt: skip
        if i % 3 == 2:
            msgs += _calc_conversation(rng, i, ending)
        else:
            q, a = QA[rng.randrange(len(QA))]
            msgs += [{"role": "user", "content": q},
                     {"role": "assistant", "content": f"{a}{ending}"}]  # fmt: skip
        out.append(msgs)
    return out


def write_export(path: Path, n: int = 100, seed: int = 0, **how) -> Path:
    """`conversations(n, seed, **how)` as an OpenAI chat-format JSONL file."""
    with path.open("w") as f:
        for msgs in conversations(n, seed, **how):
            f.write(json.dumps({"messages": msgs}) + "\n")
    return path
