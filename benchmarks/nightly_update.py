"""The nightly update on 100 conversations, stage by stage: first night and the next.

A fresh PERSONAL_HOME; the 100-conversation export of tests/persona.py imported (the
person once asked for a "— Sam" sign-off and uses the calculator) and its preference
confirmed; `personal train` once (night 1). Then 10 more conversations and `personal train`
again (night 2: warm-started, the generation cache holding what did not change). Printed:
seconds per stage for both nights, the training steps and tokens/s, peak RSS of the
training worker, and what was learned.

    .venv/bin/python benchmarks/nightly_update.py [--keep DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from benchmarks.stages import StageClock  # noqa: E402
from tests.persona import conversations  # noqa: E402


def _import(path: Path, convs: list[list[dict]]) -> None:
    from personal.log import Log
    from personal.log.transfer import import_file
    from personal.prefs import Preferences, scan

    path.write_text("".join(json.dumps({"messages": c}) + "\n" for c in convs))
    with Log() as log:
        import_file(log, path)
        scan(log)
        prefs = Preferences(log)
        for candidate in prefs.candidates():
            prefs.confirm(candidate.id)


def night(label: str) -> dict:
    from personal.learn.pipeline import train_once

    on_stage = StageClock()
    stages = on_stage.seconds

    started = time.perf_counter()
    outcome = train_once(on_stage=on_stage)
    on_stage("end")
    m = outcome.revision.manifest if outcome.revision else None
    learned = {}
    if m:
        for oid, o in m.objectives.items():
            learned[o["text"]] = {k: v.adherence.get(oid) for k, v in m.metrics.items()
                                  if oid in v.adherence}  # fmt: skip
    return {
        "night": label, "promoted": outcome.promoted, "wall_s": round(time.perf_counter() - started, 1),
        "stages_s": {k: round(v, 1) for k, v in stages.items()},
        "steps": m.training.steps if m else None,
        "tokens_per_s": m.training.tokens_per_s if m else None,
        "worker_peak_rss_mb": m.training.peak_rss_mb if m else None,
        "teacher": outcome.dataset.manifest.get("timing"),
        "learned": learned,
        "tool_rate": {k: v.tool_rate for k, v in m.metrics.items()} if m else None,
        "reasons": list(m.verdict.reasons) if m else [],
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="keep the home here")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nightly-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        os.environ["PERSONAL_HOME"] = str(root / "home")
        results = []
        _import(root / "night1.jsonl", conversations(100, seed=0))
        results.append(night("1: 100 conversations"))
        _import(root / "night2.jsonl", conversations(10, seed=1)[1:])  # no second statement
        results.append(night("2: +9 conversations"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for r in results:
        print(f"\nnight {r['night']}: {'promoted' if r['promoted'] else 'not promoted'} in "
              f"{r['wall_s']:.0f} s ({r['steps']} steps, {r['tokens_per_s']} tok/s, worker "
              f"peak {r['worker_peak_rss_mb']} MB)")  # fmt: skip
        print("  " + ", ".join(f"{k} {v:.0f} s" for k, v in r["stages_s"].items()))
        for text, cells in r["learned"].items():
            print(f"  {text[:48]}: " + ", ".join(f"{k} {v:.0%}" for k, v in cells.items()))
        for reason in r["reasons"]:
            print(f"  - {reason}")
    print(f"\nthis process's peak RSS: {peak:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
