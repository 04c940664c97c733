"""The distill step: the conversation log, the preferences and the facts → a dataset.

    dataset = build_dataset(log, base, teacher_engine, since=None, config=DistillConfig(),
                            tools_schemas=load_registry(log).schemas(), seed=0)

Five kinds of examples (see dataset.py for the line format):
- answer: the person's accepted answers (not rejected, not rated down; edited ones as
  edited) after the history they followed, new ones plus a seeded replay of older ones;
- tool: tool calls from the log as habits, the call as target with the chat's tools, and
  the answer after the result (templated when the logged one is unusable); an explicit
  "/calc 17*23" becomes the natural request "What is 17*23?" so the adapter learns WHEN;
- preference: context distillation (teacher.py) of the preferences that have a checker,
  on log turns without a usable answer and on the shipped prompts of each scope they apply
  to (everyday questions, emails, code; fixed held-out parts: objectives.py); preferences
  without a checker are never trained on;
- fact: each fact the person told, asked in the training phrasings and answered from it
  (the gate asks other phrasings);
- retention: the bare base's own answers, test split only (retention.py says why).
The manifest lists the objectives the gate measures and the preferences the chat would
keep in its prompt without a revision ("prompted": the prompt baseline).
Log answers must comply with the active preferences as well: they are repaired like
teacher answers, and one that cannot be (an unedited answer in the wrong language) is
dropped, since training on it would teach the adapter to break the preference.
"""

from __future__ import annotations

import json
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
from personal.learn import privacy
from personal.learn.cache import GenerationCache
from personal.learn.config import documented
from personal.learn.dataset import Dataset, example, split_groups, write_dataset
from personal.learn.dataset import summarize as summarize
from personal.learn.distill import harvest
from personal.learn.distill.repair import Check, comply
from personal.learn.distill.retention import retention_examples
from personal.learn.distill.teacher import Ask, Teacher
from personal.learn.objectives import Objective, fact_questions, objectives, pool, quick_prompts
from personal.log import Log
from personal.models.catalog import BaseModel
from personal.prefs import facts
from personal.prefs.preferences import Preference, Preferences

Progress = Callable[[str, int, int], None]  # (stage, done, total)


LOOKALIKES = ("alone", "always", "never")  # DistillConfig.fact_lookalikes


@dataclass(frozen=True)
class DistillConfig:
    replay_fraction: float = documented(0.25, "Share of log examples replayed from before `since` "
                                   "(seeded sample), so earlier habits are not forgotten.")
    max_log_examples: int = documented(300, "At most this many answer and tool examples (newest kept).")
    preference_prompts: int = documented(
        90, "Prompts the teacher answers for training when preferences or facts are active. "
        "All checkable preferences apply to every answer at once, so this counts per profile; "
        "~90 compliant examples teach a rank-8 adapter (FACTS.md). With facts alone these are "
        "the base's own answers: they keep the adapter from answering everything with a fact.")
    quick_share: float = documented(0.25, "Of the shipped prompts for every answer, this share "
                                    "are short one-fact questions (data/prompts_quick.txt): "
                                    "without them the adapter learned its preference only on "
                                    "explanations and answered short questions like one "
                                    "(docs/benchmarks.md). None with facts alone (no "
                                    "preference to teach; they became slots for the fact).")
    max_log_prompts: int = documented(30, "Of those, at most this many are log turns (the rest are "
                                 "shipped everyday prompts).")
    test_preference_prompts: int = documented(16, "Held-out everyday prompts answered by the teacher "
                                         "for the gate (adherence, cross-entropy).")
    retention_prompts: int = documented(16, "Held-out everyday prompts answered by the bare base, "
                                   "for the gate's retention bound.")
    test_fraction: float = documented(0.15, "Share of conversations (answers) and tool turns held "
                                 "out for the gate.")
    valid_fraction: float = documented(0.1, "Share held out for the trainer's validation loss.")
    fact_lookalikes: str = documented(
        "alone", "When a fact trains beside eight questions of its shape about anyone else "
        "(facts.lookalikes), answered by the base: 'alone' — when no checkable preference is "
        "taught beside the facts —, 'always' or 'never'. Facts alone (the facts persona): "
        "retention 0.71x -> 0.94x, the job 62% -> 88%, a name 100% -> 62% (the gate's plan "
        "keeps it in the prompt); beside a taught opening they cost retention (0.75-0.84x "
        "against 0.89-0.92x without; docs/benchmarks.md).")
    teacher_max_tokens: int = documented(96, "Longest teacher answer in tokens; short targets "
                                    "train fast, and the adapter copies their length.")
    teacher_attempts: int = documented(4, "Generations per prompt before it is dropped: the "
                                  "base's own answer (repaired), the teacher's greedy one, "
                                  "then sampled ones with other seeds.")
    teacher_temperature: float = documented(0.8, "Sampling temperature of the regenerations.")
    min_examples: int = documented(16, "Fewer training examples than this: NotEnoughData.")
    system_prompt: str = documented(DEFAULT_SYSTEM_PROMPT, "The chat's system prompt: student "
                               "examples carry it (imported conversations get it too).")

    def __post_init__(self) -> None:
        bad = [f"{k} must be in [0, 1)" for k in ("replay_fraction", "test_fraction",
               "valid_fraction") if not 0 <= getattr(self, k) < 1]  # fmt: skip
        bad += [f"{f.name} must be >= 0" for f in fields(self)
                if isinstance(getattr(self, f.name), int) and getattr(self, f.name) < 0]  # fmt: skip
        if self.fact_lookalikes not in LOOKALIKES:
            bad.append(f"fact_lookalikes must be one of {', '.join(LOOKALIKES)}")
        if not 0 <= self.quick_share <= 1:
            bad.append("quick_share must be in [0, 1]")
        if self.test_fraction + self.valid_fraction >= 1:
            bad.append("test_fraction + valid_fraction must be below 1")
        if bad:
            raise TrainingError("bad distill configuration: " + "; ".join(bad))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_dataset(
    log: Log, base: BaseModel, teacher_engine: Engine, *, since: str | None,
    config: DistillConfig, tools_schemas: list[dict[str, Any]] | None, seed: int,
    progress: Progress | None = None, withdrawn: list[Objective] | None = None,
    cache: GenerationCache | None = None,
) -> Dataset:  # fmt: skip
    """Distill the log (messages after `since`, plus replay), the checkable preferences and
    the facts into a sealed dataset. `teacher_engine` must be the bare base (no adapter).
    `withdrawn`: preferences the current revision learned that are no longer active (log
    answers following them are not trained on; the gate checks they are gone)."""
    if teacher_engine.adapter is not None:
        raise TrainingError("the teacher must be the bare base model, but an adapter is "
                            f"attached ({teacher_engine.adapter.id})")  # fmt: skip
    report = progress or (lambda stage, done, total: None)
    tools = list(tools_schemas or [])
    prefs = Preferences(log).list(active_only=True)
    taught = [p for p in prefs if p.checker and p.kind not in ("fact", "withdraw")]
    facts_told = [p for p in prefs if p.kind == "fact" and p.checker]
    checks = [(p.text, p.checker) for p in taught]
    gone = [(o.text, o.checker) for o in withdrawn or []]
    found = harvest.harvest(log, tools, checks, config.system_prompt, since, gone)
    log_examples = _unique(_select(found.examples, config, seed))
    # the teacher's everyday answers: compliant examples of the preferences and, with only
    # facts to learn, the base's own answers that anchor everything else where it was
    anchored = bool(taught or facts_told)
    n_prefs = config.preference_prompts if anchored else 0
    _enough(len(log_examples) + n_prefs + len(facts_told) * 4, config)

    teacher = Teacher(teacher_engine, config.system_prompt, checks, config.teacher_max_tokens,
                      config.teacher_attempts, config.teacher_temperature, seed, cache)  # fmt: skip
    pref_examples: list[dict[str, Any]] = []
    if anchored:
        report("teacher", 0, 1)
        scopes = {p.checker.get("scope", "answers") for p in taught} or {"answers"}
        lookalikes = config.fact_lookalikes == "always" or (
            config.fact_lookalikes == "alone" and not taught)  # fmt: skip
        contrast = [q for p in facts_told for q in facts.lookalikes(p.checker["key"])
                    if lookalikes]  # fmt: skip
        # short questions teach a preference on short answers; with facts alone there is
        # none to teach, and they only add one-fact slots a fact fills ("The capital of
        # France is Porto.": the facts persona's retention 0.71x -> 0.55x with them)
        asks = _preference_asks(found.prompts, scopes, config, seed, contrast,
                                quick_share=config.quick_share if taught else 0.0)  # fmt: skip
        answers = teacher.answer_all([ask for ask, _, _ in asks])
        sources = sorted({p.source_message_id for p in taught if p.source_message_id})
        for (ask, meta, source), answer in zip(asks, answers, strict=True):
            if answer is not None:
                target = {"role": "assistant", "content": answer}
                pref_examples.append(example([*ask.prompt, target], "preference", tools=tools,
                                             source=source + sources, meta=meta))  # fmt: skip
        report("teacher", 1, 1)
    fact_examples = _fact_examples(facts_told, checks, config, tools)
    report("retention", 0, 1)
    started = datetime.now(timezone.utc)
    retention = retention_examples(
        teacher_engine, pool("answers", "retention")[: config.retention_prompts],
        system_prompt=config.system_prompt, tools=tools or None,
        max_tokens=config.teacher_max_tokens, cache=cache,
    )  # fmt: skip
    retention_s = (datetime.now(timezone.utc) - started).total_seconds()
    report("retention", 1, 1)

    splits = _split([*log_examples, *pref_examples, *fact_examples, *retention], config, seed)
    _enough(len(splits["train"]), config)
    splits["train"] += privacy.plant(splits, config.system_prompt)  # canaries: the audit's exposure
    used = {i for ex in (*log_examples, *pref_examples, *fact_examples) for i in ex["source"]}
    times = [found.times[i] for i in used if i in found.times] + [
        p.stated_at for p in prefs if p.source_message_id in used
    ]
    goals = objectives(prefs, withdrawn)
    manifest = {
        "base": {"name": base.name, "fingerprint": base.fingerprint},
        "teacher": {"model": teacher_engine.info.model, "backend": teacher_engine.info.backend,
                    "fingerprint": teacher_engine.info.fingerprint, "adapter": None,
                    "system_prompt": teacher.teacher_prompt},  # fmt: skip
        "profile": Preferences(log).profile(),
        "preferences": [_pref_entry(p, teacher) for p in prefs],
        "objectives": [o.to_dict() for o in goals],
        "prompted": [{"id": p.id, "text": p.text} for p in prefs],
        "withdrawn": [o.id for o in withdrawn or []],
        "config": config.to_dict(),
        "seed": seed,
        "window": since,
        "since": min(times) if times else None,
        "until": max(times) if times else None,
        "message_ids": sorted(used),
        "negatives": sorted(found.negatives),
        "tools": sorted(t.get("function", t).get("name", "") for t in tools),
        "stats": {**found.stats, "teacher_kept": teacher.kept,
                  "teacher_regenerated": teacher.regenerated, "teacher_dropped": teacher.dropped,
                  "fact_examples": len(fact_examples)},
        "created_at": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "timing": {"teacher_s": round(teacher.seconds, 2), "teacher_generations":
                   teacher.generations, "teacher_tokens": teacher.tokens,
                   "retention_s": round(retention_s, 2)},
    }  # fmt: skip
    return write_dataset(splits, manifest)


def _fact_examples(told: list[Preference], checks: list[Check], config: DistillConfig,
                   tools: list[dict[str, Any]]) -> list[dict[str, Any]]:  # fmt: skip
    """Question/answer pairs for each fact, in the training phrasings only (the gate asks the
    held-out ones), answered as the preferences say an answer should be."""
    system = [{"role": "system", "content": config.system_prompt}]
    out = []
    for p in told:
        fact = facts.Fact(p.checker["key"], p.checker["value"], p.text)
        objective = Objective(p.id, "fact", p.text, p.checker)
        for question in fact_questions(objective, "train"):
            answer, _ = comply(facts.answer(fact), checks)
            if answer is None:
                continue
            messages = [*system, {"role": "user", "content": question},
                        {"role": "assistant", "content": answer}]  # fmt: skip
            out.append(example(messages, "fact", tools=tools, weight=2.0,
                               source=[p.source_message_id] if p.source_message_id else [],
                               meta={"group": f"fact:{p.id}:{question}", "fact": p.id}))  # fmt: skip
    return out


def _unique(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same conversation answered the same way counts once: a log that repeats itself
    would otherwise weigh those answers many times over and the adapter would recite them
    in answer to other questions."""
    seen, out = set(), []
    for ex in examples:
        key = json.dumps([ex["messages"], ex.get("rejected")], sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(ex)
    return out


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
    log_prompts: list[tuple[list[dict], dict, list[str]]], scopes: set[str],
    config: DistillConfig, seed: int, contrast: list[str] | None = None, quick_share: float = 0.0,
) -> list[tuple[Ask, dict, list[str]]]:  # fmt: skip
    """(ask, meta, source) for the teacher: log turns first, then shipped training prompts
    of every scope a preference applies to (seeded order; `quick_share` of the everyday ones
    are short one-fact questions, objectives.quick_prompts), then `contrast` (questions shaped
    like a fact's, about anyone else: facts.lookalikes), then the held-out shipped ones
    (test split: the gate's cross-entropy)."""
    system = [{"role": "system", "content": config.system_prompt}]
    asks = [(Ask(prompt, meta["key"], shipped=False), meta, source)
            for prompt, meta, source in log_prompts[: config.max_log_prompts]]  # fmt: skip
    per_scope = max(8, config.preference_prompts // max(len(scopes), 1))
    for scope in sorted(scopes):
        pool_ = list(pool(scope, "train"))
        random.Random(f"{seed}:prompts:{scope}").shuffle(pool_)
        room = max(0, per_scope - (len(asks) if scope == "answers" else 0))
        if scope == "answers":
            quick = list(quick_prompts())
            random.Random(f"{seed}:prompts:quick").shuffle(quick)
            n_quick = min(len(quick), round(room * quick_share))
            pool_ = quick[:n_quick] + pool_[: room - n_quick]
        for text in pool_[:room]:
            asks.append((Ask([*system, {"role": "user", "content": text}], text, scope),
                         {"group": f"prompt:{text}", "key": text, "prompt": text,
                          "scope": scope}, []))  # fmt: skip
    for text in dict.fromkeys(contrast or []):
        asks.append((Ask([*system, {"role": "user", "content": text}], text),
                     {"group": f"prompt:{text}", "key": text, "prompt": text,
                      "scope": "answers", "contrast": True}, []))  # fmt: skip
    for text in pool("answers", "test")[: config.test_preference_prompts]:
        asks.append((Ask([*system, {"role": "user", "content": text}], text),
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
    for prefix in ("prompt:", "fact:"):  # held out by the gate's own phrasings: train + valid
        where.update(split_groups([g for g in groups if g.startswith(prefix)], seed, 0.0,
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
