"""The fourth column of the persona table: the adapter *with* the preferences in its prompt.

The gate measures "candidate+prompt" only for objectives where the adapter alone is behind
prompting the base (elsewhere it cannot change the plan), so the persona suite's rows
often lack it. This measures it for every objective of each persona home that
`benchmarks/persona_suite.py --keep DIR` left: the registered revision, its own dataset's
held-out prompts, the gate's own `measure` (adherence only), greedy.

    .venv/bin/python benchmarks/persona_prompted.py DIR [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def prompted(home: Path) -> dict | None:
    from personal.adapters.registry import Registry
    from personal.engine.base import AdapterRef
    from personal.engine.llama import LlamaEngine
    from personal.learn.dataset import load_dataset
    from personal.learn.judge.gate import _with
    from personal.learn.judge.measure import Config, measure
    from personal.learn.objectives import from_manifest
    from personal.models import catalog

    os.environ["PERSONAL_HOME"] = str(home)
    base = catalog.resolve("smollm2-135m")
    registry = Registry(home / "adapters")
    revisions = registry.list(base.fingerprint)
    if not revisions:
        return None
    rev = max(revisions, key=lambda r: r.manifest.created_at)  # the last trained
    dataset = load_dataset(rev.manifest.dataset.path)
    objectives = [o for o in from_manifest(dataset.manifest.get("objectives", []))
                  if o.kind != "withdrawn"]  # fmt: skip
    system = dataset.manifest.get("config", {}).get("system_prompt")
    profile = [p["text"] for p in dataset.manifest.get("prompted", [])]
    tokens = dataset.manifest.get("config", {}).get("teacher_max_tokens", 96) + 32
    ref = AdapterRef("persona:candidate", rev.file("gguf"))
    with LlamaEngine(base, n_ctx=2048) as engine:
        m = measure(engine, Config("candidate+prompt", ref, _with(system, profile), False),
                    objectives, dataset, tools=None, answer_tokens=tokens,
                    default_system=system)  # fmt: skip
    return {o.text: [round(m.adherence[o.id] * m.support[o.id]), m.support[o.id]]
            for o in objectives}  # fmt: skip


def main() -> None:
    from personal.learn.judge.stats import describe

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = {}
    for home in sorted(p for p in args.root.iterdir() if (p / "adapters").is_dir()):
        rows = prompted(home)
        if rows is None:
            continue
        out[home.name] = rows
        for text, (k, n) in rows.items():
            print(f"{home.name:14} {text[:50]:50} adapter+prompt {describe(k, n)}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
