"""Edits as preferences: SFT on the edited answers alone, against SFT + the ORPO term.

A person who never states a preference but edits: the bare base's own answers to N
everyday prompts are logged, and the person cuts each to its first sentence (the base
rambles: most of its answers run to several sentences). The learning loop's distiller turns
each edit into a pair — the edited answer chosen, the original rejected. Adapters are
trained from the same dataset, same steps and seed, with `orpo_weight` 0 (SFT on the
edited answers alone) and with the ORPO odds-ratio term, then measured by the gate's own
code on held-out prompts without anything in the prompt: the share of answers of one
sentence (the habit the edits show), their median length in words, retention (general
questions answered, ÷ the bare base) and held-out cross-entropy.

    .venv/bin/python benchmarks/orpo_vs_sft.py [--edits 48] [--iters 40] [--weights 0 0.1 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HABIT = {"type": "max_sentences", "n": 1}
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")


def first_sentence(text: str) -> str:
    return _SENTENCE.split(text.strip(), maxsplit=1)[0]


def edited_log(engine, n: int) -> int:
    """Log the base's answers to n training prompts, each edited to its first sentence;
    returns how many were edits (answers already one sentence are kept as they are)."""
    from personal.chat.session import DEFAULT_SYSTEM_PROMPT
    from personal.engine.base import GenerationParams
    from personal.learn.objectives import pool
    from personal.log import Log

    prompts = list(pool("answers", "train"))[:n]
    system = {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
    convs = [[system, {"role": "user", "content": p}] for p in prompts]
    said = engine.chat_many(convs, GenerationParams(max_tokens=96, temperature=0.0,
                                                    repeat_penalty=1.1))  # fmt: skip
    edits = 0
    with Log() as log:
        for conv, result in zip(convs, said, strict=True):
            chat = log.create_conversation()
            for message in conv:
                log.append(chat.id, message)
            answer = log.append(chat.id, {"role": "assistant", "content": result.text.strip()})
            short = first_sentence(result.text)
            if short != result.text.strip():
                log.edit_answer(answer.id, short)
                edits += 1
    return edits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=48)
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.1, 0.5])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="orpo-") as tmp:
        os.environ["PERSONAL_HOME"] = str(Path(tmp) / "home")
        results = run(args, Path(tmp))
    ref = results["bare base"]
    print(f"\n{'':<18}{'one sentence':>14}{'median words':>14}{'retention':>11}{'held-out CE':>13}")
    for name, r in results.items():
        print(f"{name:<18}{r['habit']:>13.0%} {r['words']:>13.0f}"
              f"{r['retention'] / ref['retention']:>10.2f}×{r['ce']:>13.3f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def run(args: argparse.Namespace, tmp: Path) -> dict[str, dict]:
    from personal.adapters.formats import export_gguf
    from personal.engine.base import AdapterRef
    from personal.engine.llama import LlamaEngine
    from personal.learn.config import TrainConfig
    from personal.learn.distill.build import DistillConfig, build_dataset
    from personal.learn.judge.measure import Config, measure
    from personal.learn.objectives import Objective
    from personal.learn.train.worker import TrainJob, run_training
    from personal.log import Log
    from personal.models import catalog

    base = catalog.resolve("smollm2-135m")
    engine = LlamaEngine(base, n_ctx=4096, n_threads=2)
    edits = edited_log(engine, args.edits)
    config = DistillConfig()
    with Log() as log:
        dataset = build_dataset(log, base, engine, since=None, config=config,
                                tools_schemas=None, seed=0)  # fmt: skip
    pairs = sum(1 for ex in dataset.examples("train") if ex.get("rejected"))
    print(f"{edits} edits of {args.edits} answers; {pairs} training pairs "
          f"({len(dataset.examples('train'))} training examples)")  # fmt: skip
    habit = Objective("edits", "preference", "(the edits: one sentence)", HABIT)

    def measured(label: str, adapter: AdapterRef | None) -> dict:
        m = measure(engine, Config(label, adapter, config.system_prompt), [habit], dataset,
                    tools=None, answer_tokens=128, default_system=config.system_prompt)  # fmt: skip
        return {"habit": m.adherence["edits"], "retention": m.retention_accuracy, "ce": m.ce,
                "words": _median_words(engine, adapter, config.system_prompt)}  # fmt: skip

    results = {"bare base": measured("none", None)}
    for weight in args.weights:
        name = "SFT" if weight == 0 else f"SFT + ORPO {weight:g}"
        train = TrainConfig(iters=args.iters, orpo_weight=weight, seed=0)
        job = TrainJob(base.path, base.fingerprint, base.name, dataset.path, tmp / name / "run",
                       tmp / name / "adapter", train)  # fmt: skip
        report = run_training(job)
        gguf = export_gguf(job.output_dir, base, tmp / name / "adapter.gguf")
        results[name] = measured("candidate", AdapterRef(name, Path(gguf)))
        results[name]["final_train_loss"] = report.final_train_loss
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    engine.close()
    return results


def _median_words(engine, adapter, system: str) -> float:
    from personal.engine.base import GenerationParams
    from personal.learn.objectives import pool

    convs = [[{"role": "system", "content": system}, {"role": "user", "content": p}]
             for p in pool("answers", "test")]  # fmt: skip
    done = engine.chat_many(convs, GenerationParams(max_tokens=128, temperature=0.0,
                                                    repeat_penalty=1.1), adapter=adapter)  # fmt: skip
    return statistics.median(len(r.text.split()) for r in done)


if __name__ == "__main__":
    main()
