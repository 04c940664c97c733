"""The distill step: the conversation log and the active preferences → a dataset.

    dataset = build_dataset(log, base, teacher_engine, since=None, config=DistillConfig(),
                            tools_schemas=load_registry(log).schemas(), seed=0)

Four kinds of examples (see dataset.py for the line format):
- answer: the person's accepted answers (not rejected, not rated down; edited ones as
  edited) after the history they followed, new ones plus a seeded replay of older ones;
- tool: tool calls from the log as habits, the call as target with the chat's tools, and
  the answer after the result (templated when the logged one is unusable); an explicit
  "/calc 17*23" becomes the natural request "What is 17*23?" so the adapter learns WHEN;
- preference: context distillation (teacher.py) on log turns without a usable answer and
  on the shipped everyday prompts (fixed held-out parts: retention.py);
- retention: the bare base's own answers, test split only (retention.py says why).
Log answers must comply with the active preferences as well: they are repaired like
teacher answers, and one that cannot be (an unedited answer in the wrong language) is
dropped, since training on it would teach the adapter to break the preference.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import Any

from personal.chat.session import DEFAULT_SYSTEM_PROMPT
from personal.engine.base import Engine
from personal.errors import NotEnoughData, TrainingError
from personal.learn.config import documented
from personal.learn.dataset import Dataset, example, split_groups, write_dataset
from personal.learn.dataset import summarize as summarize
from personal.learn.distill import harvest
from personal.learn.distill.retention import load_prompts, partition, retention_examples
from personal.learn.distill.teacher import Teacher, teacher_system
from personal.log import Log
from personal.models.catalog import BaseModel
from personal.prefs.preferences import Preference, Preferences

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class DistillConfig:
    replay_fraction: float = documented(0.25, "Share of log examples replayed from before `since` "
                                   "(seeded sample), so earlier habits are not forgotten.")
    max_log_examples: int = documented(300, "At most this many answer and tool examples (newest kept).")
    preference_prompts: int = documented(
        90, "Prompts the teacher answers for training when preferences are active. All "
        "checkable preferences apply to every answer at once, so this counts per profile; "
        "~90 compliant examples teach a rank-8 adapter (FACTS.md).")
    max_log_prompts: int = documented(30, "Of those, at most this many are log turns (the rest are "
                                 "shipped everyday prompts).")
    test_preference_prompts: int = documented(16, "Held-out everyday prompts answered by the teacher "
                                         "for the gate (adherence, cross-entropy).")
    retention_prompts: int = documented(16, "Held-out everyday prompts answered by the bare base, "
                                   "for the gate's retention bound.")
    test_fraction: float = documented(0.15, "Share of conversations (answers) and tool turns held "
                                 "out for the gate.")
    valid_fraction: float = documented(0.1, "Share held out for the trainer's validation loss.")
    teacher_max_tokens: int = documented(96, "Longest teacher answer in tokens; short targets "
                                    "train fast, and the adapter copies their length.")
    teacher_attempts: int = documented(3, "Generations per prompt before it is dropped (the first "
                                  "greedy, the others sampled with other seeds).")
    teacher_temperature: float = documented(0.8, "Sampling temperature of the regenerations.")
    min_examples: int = documented(16, "Fewer training examples than this: NotEnoughData.")
    system_prompt: str = documented(DEFAULT_SYSTEM_PROMPT, "The chat's system prompt: student "
                               "examples carry it (imported conversations get it too).")

    def __post_init__(self) -> None:
        bad = [f"{k} must be in [0, 1)" for k in ("replay_fraction", "test_fraction",
               "valid_fraction") if not 0 <= getattr(self, k) < 1]  # fmt: skip
        bad += [f"{f.name} must be >= 0" for f in fields(self)
                if isinstance(getattr(self, f.name), int) and getattr(self, f.name) < 0]  # fmt: skip
        if self.test_fraction + self.valid_fraction >= 1:
            bad.append("test_fraction + valid_fraction must be below 1")
        if bad:
            raise TrainingError("bad distill configuration: " + "; ".join(bad))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_dataset(
    log: Log, base: BaseModel, teacher_engine: Engine, *, since: str | None,
    config: DistillConfig, tools_schemas: list[dict[str, Any]] | None, seed: int,
    progress: Progress | None = None,
) -> Dataset:  # fmt: skip
    """Distill the log (messages after `since`, plus replay) and the active preferences
    into a sealed dataset. `teacher_engine` must be the bare base (no adapter)."""
    if teacher_engine.adapter is not None:
        raise TrainingError("the teacher must be the bare base model, but an adapter is "
                            f"attached ({teacher_engine.adapter.id})")  # fmt: skip
    report = progress or (lambda stage, done, total: None)
    tools = list(tools_schemas or [])
    prefs = Preferences(log).list(active_only=True)
    checks = [(p.text, p.checker) for p in prefs if p.checker]
    found = harvest.harvest(log, tools, checks, config.system_prompt, since)
    log_examples = _select(found.examples, config, seed)
    shipped = partition(load_prompts())
    n_prefs = config.preference_prompts if prefs else 0
    _enough(len(log_examples) + n_prefs, config)

    profile = Preferences(log).profile()
    teacher = Teacher(teacher_engine, teacher_system(config.system_prompt, profile), checks,
                      config.teacher_max_tokens, config.teacher_attempts,
                      config.teacher_temperature, seed)  # fmt: skip
    pref_examples: list[dict[str, Any]] = []
    if prefs:
        asks = _preference_asks(found.prompts, shipped, config, seed)
        pref_sources = sorted({p.source_message_id for p in prefs if p.source_message_id})
        for i, (prompt, meta, source) in enumerate(asks):
            report("teacher", i, len(asks))
            answer = teacher.answer(prompt, key=meta["key"])
            if answer is not None:
                target = {"role": "assistant", "content": answer}
                pref_examples.append(example([*prompt, target], "preference", tools=tools,
                                             source=source + pref_sources, meta=meta))  # fmt: skip
        report("teacher", len(asks), len(asks))
    report("retention", 0, 1)
    started = datetime.now(timezone.utc)
    retention = retention_examples(
        teacher_engine, shipped["retention"][: config.retention_prompts],
        system_prompt=config.system_prompt, tools=tools or None,
        max_tokens=config.teacher_max_tokens,
    )  # fmt: skip
    retention_s = (datetime.now(timezone.utc) - started).total_seconds()
    report("retention", 1, 1)

    splits = _split([*log_examples, *pref_examples, *retention], config, seed)
    _enough(len(splits["train"]), config)
    used = {i for ex in (*log_examples, *pref_examples) for i in ex["source"]}
    times = [found.times[i] for i in used if i in found.times] + [
        p.stated_at for p in prefs if p.source_message_id in used
    ]
    manifest = {
        "base": {"name": base.name, "fingerprint": base.fingerprint},
        "teacher": {"model": teacher_engine.info.model, "backend": teacher_engine.info.backend,
                    "fingerprint": teacher_engine.info.fingerprint, "adapter": None,
                    "system_prompt": teacher.system_prompt},  # fmt: skip
        "profile": profile,
        "preferences": [_pref_entry(p, teacher) for p in prefs],
        "config": config.to_dict(),
        "seed": seed,
        "window": since,
        "since": min(times) if times else None,
        "until": max(times) if times else None,
        "message_ids": sorted(used),
        "negatives": sorted(found.negatives),
        "tools": sorted(t.get("function", t).get("name", "") for t in tools),
        "stats": {**found.stats, "teacher_kept": teacher.kept,
                  "teacher_regenerated": teacher.regenerated, "teacher_dropped": teacher.dropped},
        "created_at": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "timing": {"teacher_s": round(teacher.seconds, 2), "teacher_generations":
                   teacher.generations, "teacher_tokens": teacher.tokens,
                   "retention_s": round(retention_s, 2)},
    }  # fmt: skip
    return write_dataset(splits, manifest)


def _enough(n: int, config: DistillConfig) -> None:
    if n < config.min_examples:
        raise NotEnoughData(
            f"only {n} usable training examples in the log and the preferences; "
            f"at least {config.min_examples} are needed",
            hint="chat more (answers you keep, edit or copy count; rejected or rated-down "
            "ones do not), import past conversations with `personal import FILE`, or state "
            "a preference such as 'call me Sam' or 'always answer in bullet points'",
        )


def _select(examples: list[dict[str, Any]], config: DistillConfig, seed: int) -> list[dict]:
    """New turns, a seeded replay sample of older ones, capped (newest turns kept)."""
    turns: dict[str, list[dict]] = {}
    for ex in examples:
        turns.setdefault(ex["meta"]["turn"], []).append(ex)
    new = [t for t, exs in turns.items() if exs[0]["meta"]["new"]]
    old = sorted(t for t in turns if t not in set(new))
    f = config.replay_fraction
    n_old = min(len(old), math.ceil(len(new) * f / (1 - f) - 1e-9))
    chosen = set(new) | set(random.Random(f"{seed}:replay").sample(old, n_old))
    by_time = sorted(chosen, key=lambda t: turns[t][0]["meta"]["at"], reverse=True)
    kept, total = set(), 0
    for t in by_time:
        if total + len(turns[t]) > config.max_log_examples:
            break
        kept.add(t)
        total += len(turns[t])
    return [ex for ex in examples if ex["meta"]["turn"] in kept]


def _preference_asks(
    log_prompts: list[tuple[list[dict], dict, list[str]]], shipped: dict[str, list[str]],
    config: DistillConfig, seed: int,
) -> list[tuple[list[dict], dict, list[str]]]:  # fmt: skip
    """(student prompt, meta, source) to ask the teacher: log turns first, then shipped
    training prompts (seeded order), then the held-out shipped test prompts."""
    system = [{"role": "system", "content": config.system_prompt}]
    asks = list(log_prompts[: config.max_log_prompts])
    pool = list(shipped["train"])
    random.Random(f"{seed}:prompts").shuffle(pool)
    for text in pool[: max(0, config.preference_prompts - len(asks))]:
        asks.append(([*system, {"role": "user", "content": text}],
                     {"group": f"prompt:{text}", "key": text, "prompt": text}, []))  # fmt: skip
    for text in shipped["test"][: config.test_preference_prompts]:
        asks.append(([*system, {"role": "user", "content": text}],
                     {"split": "test", "key": text, "prompt": text}, []))  # fmt: skip
    return asks


def _split(examples: list[dict[str, Any]], config: DistillConfig, seed: int) -> dict[str, list]:
    """Fixed splits first (held-out shipped prompts, retention); log groups (conversations,
    tool turns) get test and valid shares; shipped training prompts only a valid share."""
    groups = [ex["meta"]["group"] for ex in examples if "split" not in ex["meta"]]
    where: dict[str, str] = {}
    for prefix in ("conv:", "turn:"):  # conversations and tool turns each get a test share
        keys = [g for g in groups if g.startswith(prefix)]
        where.update(split_groups(keys, seed, config.test_fraction, config.valid_fraction))
    where.update(split_groups([g for g in groups if g.startswith("prompt:")], seed, 0.0,
                              config.valid_fraction))  # fmt: skip
    out: dict[str, list] = {"train": [], "valid": [], "test": []}
    for ex in examples:
        out[ex["meta"].get("split") or where[ex["meta"]["group"]]].append(ex)
    return out


def _pref_entry(p: Preference, teacher: Teacher) -> dict[str, Any]:
    counted = teacher.stats.get(p.text, Counter())
    stats = {k: counted[k] for k in ("prompts", "raw_ok", "repaired", "dropped")} if p.checker else {}
    return {"id": p.id, "text": p.text, "kind": p.kind, "checker": p.checker,
            "source_message_id": p.source_message_id, "stats": stats}  # fmt: skip
