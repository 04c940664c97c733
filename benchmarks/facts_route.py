"""Facts by weights or by the `recall` tool: how often does each route answer right?

The learning loop puts the facts a person told it into the adapter's weights (question and
answer pairs, checked; docs/learning.md). The other route the issue names is a habit of
calling the `recall` tool, which searches the person's saved notes. This measures what that
route gives the embedded base as it is, on the gate's own held-out questions (16 per fact,
other wordings than training's): a fresh log whose notes hold the three facts of the
`facts` persona (saved as the `remember` tool saves them), then each question asked in a
new chat, greedy, with nothing about the person in the prompt —

- without tools (the floor: the base cannot know);
- with personal's tools offered (recall among them): the share of answers that state the
  fact (the gate's fact checker), and the share of turns that called `recall` at all.

The weights route's figure for the same questions is the persona suite's (`facts` row,
benchmarks/persona_suite.py). Printed: a row per route and fact, with 95% intervals.

    .venv/bin/python benchmarks/facts_route.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

FACTS = ("My dog is called Biscuit.", "I live in Porto.", "I work as a nurse.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    os.environ["PERSONAL_HOME"] = tempfile.mkdtemp(prefix="facts-route-")

    from personal.chat.events import AnswerStarted, TextDelta, ToolCalled
    from personal.chat.session import ChatSession
    from personal.engine.base import GenerationParams
    from personal.engine.llama import LlamaEngine
    from personal.learn.judge.stats import describe
    from personal.learn.objectives import Objective, fact_questions
    from personal.log import Log
    from personal.log.notes import Notes
    from personal.models import catalog
    from personal.prefs import facts
    from personal.prefs.check import check
    from personal.tools import load_registry

    base = catalog.resolve("smollm2-135m")
    rows = []
    with Log() as log, LlamaEngine(base, n_ctx=2048) as engine:
        notes = Notes(log)
        for said in FACTS:
            notes.add(said)
        tools = load_registry(log, strict=False)
        greedy = GenerationParams(max_tokens=64, temperature=0.0)
        for said in FACTS:
            fact = facts.parse(said)
            checker = facts.checker(fact)
            objective = Objective(id=fact.key, kind="fact", text=said, checker=checker)
            questions = fact_questions(objective, "test")
            for route, offered in (("no tools", None), ("tools (recall)", tools)):
                right = called = 0
                for q in questions:
                    session = ChatSession(engine, log, None, params=greedy, tools=offered,
                                          confirm=lambda *_: True)  # fmt: skip
                    turn = session.start(q)
                    text, used = "", False
                    for event in session.events(turn):
                        used |= isinstance(event, ToolCalled) and event.call.name == "recall"
                        if isinstance(event, AnswerStarted):
                            text = ""  # the answer after a tool round is the one that counts
                        elif isinstance(event, TextDelta):
                            text += event.text
                    right += check(checker, text)
                    called += used
                rows.append({"fact": said, "route": route, "right": right, "called": called,
                             "n": len(questions)})  # fmt: skip
                print(f"{said:28} {route:15} right {describe(right, len(questions)):22} "
                      f"recall called {called}/{len(questions)}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
