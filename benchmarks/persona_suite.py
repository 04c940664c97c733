"""The learning loop on people it has not seen: does it learn what each one said?

    python benchmarks/persona_suite.py                 # every persona in tests/personas.py
    python benchmarks/persona_suite.py --only opening facts --json out.json

For each persona: a fresh PERSONAL_HOME, its 60-conversation log imported (the statement
made once, never complied with in the logged answers), `personal train` run once (twice
for a withdrawal: before and after it), then the gate's measurements of the registered
revision on held-out prompts — without anything about the person in the prompt — printed
per objective for the bare base, the base with the preferences in its prompt, the adapter,
and the adapter with the prompt, each with its 95% interval, beside retention (general
questions answered, adapter ÷ bare base) and the stage times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from personal.learn.judge.stats import describe  # noqa: E402
from tests.personas import BY_NAME, PERSONAS, Persona, conversations  # noqa: E402

LABELS = ("none", "prompt", "candidate", "candidate+prompt")


def _import(persona: Persona, root: Path, later: bool) -> None:
    from personal.log import Log
    from personal.log.transfer import import_file
    from personal.prefs import scan

    convs = conversations(persona)
    if not later and persona.later:  # the log before the withdrawal
        convs[-1] = convs[-1][: -2 * len(persona.later)]
    path = root / f"{persona.name}-{int(later)}.jsonl"
    path.write_text("".join(json.dumps({"messages": c}) + "\n" for c in convs))
    with Log() as log:
        import_file(log, path)
        scan(log)


def run(persona: Persona, root: Path) -> dict:
    from personal.learn.pipeline import train_once

    os.environ["PERSONAL_HOME"] = str(root / persona.name)
    stages: dict[str, float] = {}
    clock = {"name": None, "at": time.perf_counter()}

    def on_stage(name: str) -> None:
        now = time.perf_counter()
        if clock["name"]:
            stages[clock["name"]] = stages.get(clock["name"], 0.0) + now - clock["at"]
        clock.update(name=name, at=now)

    rounds = [False, True] if persona.later else [False]
    outcome, started = None, time.perf_counter()
    for later in rounds:
        _import(persona, root, later)
        outcome = train_once(on_stage=on_stage)
    on_stage("end")
    rev = outcome.revision
    m = rev.manifest
    rows = []
    for oid, o in m.objectives.items():
        cells = {}
        for label in LABELS:
            metrics = m.metrics.get(label)
            if metrics and oid in metrics.support:
                n = metrics.support[oid]
                cells[label] = (round(metrics.adherence[oid] * n), n)
        rows.append({"objective": o["text"], "kind": o["kind"], "plan": m.plan.get(oid),
                     "cells": cells})  # fmt: skip
    none, cand = m.metrics["none"], m.metrics["candidate"]
    retention = (cand.retention_accuracy / none.retention_accuracy
                 if none.retention_accuracy else None)  # fmt: skip
    return {"persona": persona.name, "promoted": outcome.promoted, "reasons": list(m.verdict.reasons),
            "rows": rows, "retention_ratio": retention, "stages_s": stages,
            "seconds": round(time.perf_counter() - started, 1),
            "training": {"steps": m.training.steps, "tokens_per_s": m.training.tokens_per_s},
            "equivalence": m.equivalence.figures if m.equivalence else None,
            "gate_s": {k: v.seconds for k, v in m.metrics.items()},
            "dataset": outcome.dataset.manifest.get("counts"),
            "timing": outcome.dataset.manifest.get("timing"), "revision": str(rev.path)}  # fmt: skip


def show(result: dict) -> None:
    print(f"\n== {result['persona']}: {'promoted' if result['promoted'] else 'NOT promoted'}"
          f" ({result['seconds']:.0f} s; retention {result['retention_ratio'] or 0:.2f}× the base)")  # fmt: skip
    for row in result["rows"]:
        print(f"  {row['kind']:<10} {row['objective'][:52]:<52} plan={row['plan']}")
        for label in LABELS:
            if label in row["cells"]:
                print(f"      {label:<17} {describe(*row['cells'][label])}")
    for reason in result["reasons"]:
        print(f"  - {reason}")
    print("  stages: " + ", ".join(f"{k} {v:.0f}s" for k, v in result["stages_s"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(BY_NAME))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="Keep each persona's home under this folder.")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="personas-") as tmp:
        root = args.keep or Path(tmp)
        for persona in [BY_NAME[n] for n in args.only] if args.only else PERSONAS:
            result = run(persona, root)
            show(result)
            results.append(result)
            if args.json:
                args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
