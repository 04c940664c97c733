"""The distill step on a real log with hand-built conversations and a scripted teacher."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from types import SimpleNamespace

import pytest

from personal.chat.session import DEFAULT_SYSTEM_PROMPT
from personal.engine.fake import FakeEngine
from personal.errors import NotEnoughData, TrainingError
from personal.learn import dataset as dataset_mod
from personal.learn.dataset import load_dataset, summarize, write_dataset
from personal.learn.distill.build import DistillConfig, build_dataset
from personal.learn.distill.harvest import CALL_WEIGHT, phrasings
from personal.learn.distill.retention import load_prompts, partition
from personal.learn.objectives import POOLS, pool, quick_prompts, retention_questions
from personal.log import Log
from personal.prefs.check import check
from personal.prefs.facts import lookalikes, questions
from personal.prefs.preferences import Preferences
from personal.tools import load_registry

BASE = SimpleNamespace(name="fake-base", fingerprint="0" * 64)
SMALL = DistillConfig(preference_prompts=12, test_preference_prompts=4, retention_prompts=3,
                      min_examples=3)  # fmt: skip
SIGNOFF = {"type": "signoff", "text": "— Sam"}
NAME = {"type": "name", "name": "Sam"}


class Teacher(FakeEngine):
    """Answers by a rule on the last user message (default: a plain two-sentence answer)."""

    def __init__(self, rule=None):
        super().__init__()
        self.rule = rule or (lambda q, system: "It is a good question. Here is the answer.")

    def _generate(self, messages, params, cancel):
        q = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        self._queue.append(self.rule(q, messages[0]["content"]))
        return (yield from super()._generate(messages, params, cancel))


@pytest.fixture
def tools(log):
    return load_registry(log).schemas()


def chat(log: Log, *turns: tuple[str, str], source: str = "chat", system: str | None = None):
    c = log.create_conversation(source=source)
    log.append(c.id, {"role": "system", "content": system or DEFAULT_SYSTEM_PROMPT})
    answers = []
    for question, answer in turns:
        log.append(c.id, {"role": "user", "content": question})
        answers.append(log.append(c.id, {"role": "assistant", "content": answer}))
    return c, answers


def tool_turn(log: Log, conv_id: str, user: str, name: str, args: dict, result: str,
              answer: str, explicit: bool):  # fmt: skip
    log.append(conv_id, {"role": "user", "content": user}, meta={"command": True} if explicit else None)
    call = {"id": f"call_{name}_{len(user)}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)}}  # fmt: skip
    cm = log.append(conv_id, {"role": "assistant", "content": "", "tool_calls": [call]},
                    meta={"invoked_by": "user"} if explicit else None)  # fmt: skip
    log.append(conv_id, {"role": "tool", "tool_call_id": call["id"], "name": name,
                         "content": result}, meta={"ok": True})  # fmt: skip
    return cm, log.append(conv_id, {"role": "assistant", "content": answer})


@pytest.fixture
def rich_log(log):
    """Answers kept, edited, rejected, rated down, interrupted; tools; an import."""
    chat(log, ("What is the capital of France?", "Paris is the capital of France."),
         ("And of Spain?", "Madrid is the capital of Spain."))  # fmt: skip
    c, (bad,) = chat(log, ("Tell me a joke.", "Knock knock, bad joke."))
    log.regenerate_from(bad.id)
    log.append(c.id, {"role": "assistant", "content": "Why did the cat sit on the laptop? To keep an eye on the mouse."})  # noqa: E501
    _, (down,) = chat(log, ("Explain gravity.", "Gravity is when things are heavy."))
    log.rate(down.id, "down")
    _, (edited,) = chat(log, ("Summarize the plot of Hamlet.", "A prince is sad."))
    log.edit_answer(edited.id, "Prince Hamlet avenges his father, and almost everyone dies.")
    c, _ = chat(log)
    log.append(c.id, {"role": "user", "content": "Write a long poem."})
    log.append(c.id, {"role": "assistant", "content": "Roses are"}, status="interrupted")
    c, _ = chat(log)
    tool_turn(log, c.id, "/calc 17*23", "calc", {"expression": "17*23"}, "391", "17*23 is 391.", True)
    c, _ = chat(log)
    tool_turn(log, c.id, "How far is 5 miles in km?", "convert_units",
              {"value": 5, "from_unit": "mi", "to_unit": "km"}, "5 mi = 8.04672 km",
              "5 miles is about 8.05 km.", False)  # fmt: skip
    chat(log, ("Hi there", "Hello! How can I help?"), source="import:openai-jsonl",
         system="You are ChatGPT.")  # fmt: skip
    return log


def build(log, tools, config=SMALL, engine=None, seed=0, since=None):
    return build_dataset(log, BASE, engine or Teacher(), since=since, config=config,
                         tools_schemas=tools, seed=seed)  # fmt: skip


def every(ds):
    return [ex for split in ("train", "valid", "test") for ex in ds.examples(split)]


def targets(ds, kind):
    return {ex["messages"][-1]["content"]: ex for ex in every(ds) if ex["kind"] == kind}


def test_corrections_carry_the_answer_they_replace(rich_log, tools):
    """An edit is preferred over its original, a regenerated answer over the one it
    replaced: the trainer's odds-ratio term (ORPO) uses these pairs."""
    answers = targets(build(rich_log, tools), "answer")
    assert answers["Prince Hamlet avenges his father, and almost everyone dies."]["rejected"] == (
        "A prince is sad.")  # fmt: skip
    joke = "Why did the cat sit on the laptop? To keep an eye on the mouse."
    assert answers[joke]["rejected"] == "Knock knock, bad joke."
    assert "rejected" not in answers["Paris is the capital of France."]


def test_accepted_answers_are_kept_and_negatives_are_not(rich_log, tools):
    ds = build(rich_log, tools)
    answers = targets(ds, "answer")
    assert set(answers) == {
        "Paris is the capital of France.", "Madrid is the capital of Spain.",
        "Why did the cat sit on the laptop? To keep an eye on the mouse.",
        "Prince Hamlet avenges his father, and almost everyone dies.",  # the edit, not the original
        "Hello! How can I help?",
    }  # fmt: skip
    spain = answers["Madrid is the capital of Spain."]["messages"]
    assert [m["role"] for m in spain] == ["system", "user", "assistant", "user", "assistant"]
    assert spain[2]["content"] == "Paris is the capital of France."  # the history before it
    joke = answers["Why did the cat sit on the laptop? To keep an eye on the mouse."]["messages"]
    assert "Knock knock" not in json.dumps(joke)  # the rejected answer left the history
    imported = answers["Hello! How can I help?"]["messages"]
    assert imported[0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
    assert all(ex["tools"] == tools and ex["weight"] == 1.0 for ex in answers.values())
    negatives = set(ds.manifest["negatives"])
    assert len(negatives) == 2
    used = set(ds.manifest["message_ids"])
    assert not negatives & used
    assert ds.manifest["since"] <= ds.manifest["until"]


def test_tool_habits_from_explicit_and_model_initiated_calls(rich_log, tools):
    ds = build(rich_log, tools)
    tool = [ex for ex in every(ds) if ex["kind"] == "tool"]
    calls = {ex["meta"]["expected_tool"]: ex for ex in tool if ex["meta"]["stage"] == "call"}
    assert set(calls) == {"calc", "convert_units"}
    calc = calls["calc"]["messages"]
    request = calc[-2]["content"]  # "/calc 17*23" became a natural request
    assert request in [t.format(expression="17*23") for t in phrasings()["requests"]["calc"]]
    assert calc[-1]["content"] == "" and calc[-1]["tool_calls"][0]["function"]["name"] == "calc"
    assert calls["convert_units"]["messages"][-2]["content"] == "How far is 5 miles in km?"
    follow = {ex["messages"][-1]["content"]: ex for ex in tool if ex["meta"]["stage"] == "answer"}
    assert set(follow) == {"17*23 is 391.", "5 miles is about 8.05 km."}
    after = follow["17*23 is 391."]["messages"]
    assert [m["role"] for m in after[-4:]] == ["user", "assistant", "tool", "assistant"]
    assert after[-4]["content"] == request and all(ex["tools"] == tools for ex in tool)
    # a call is one decision in ~20 tokens: weighted up, so answers do not drown it
    assert {ex["weight"] for ex in calls.values()} == {CALL_WEIGHT} and CALL_WEIGHT > 1
    assert {ex["weight"] for ex in follow.values()} == {1.0}


def test_an_unusable_follow_up_is_templated_and_unoffered_tools_are_skipped(log, tools):
    c, _ = chat(log, *[(f"Question {i}?", f"Answer {i}.") for i in range(4)])
    _, answer = tool_turn(log, c.id, "/calc 2+2", "calc", {"expression": "2+2"}, "4", "Five.", True)
    log.rate(answer.id, "down")
    ds = build(log, tools)
    follow = [ex for ex in every(ds) if ex["meta"].get("stage") == "answer"]
    assert [ex["messages"][-1]["content"] for ex in follow] == ["2+2 = 4."]
    assert follow[0]["meta"]["templated"] and answer.id in ds.manifest["negatives"]
    without_calc = [t for t in tools if t["function"]["name"] != "calc"]
    ds = build(log, without_calc)
    assert not [ex for ex in every(ds) if ex["kind"] == "tool"]
    assert ds.manifest["stats"]["calls_to_tools_not_offered"] == 1


def test_preferences_are_distilled_repaired_and_checked(rich_log, tools):
    Preferences(rich_log).add("Call me Sam.")
    Preferences(rich_log).add("Always end your answers with — Sam")
    engine = Teacher()
    ds = build(rich_log, tools, engine=engine)
    prefs = [ex for ex in every(ds) if ex["kind"] == "preference"]
    assert len(prefs) == SMALL.preference_prompts + SMALL.test_preference_prompts
    for ex in prefs + [ex for ex in every(ds) if ex["kind"] == "answer"]:
        answer = ex["messages"][-1]["content"]
        assert check(SIGNOFF, answer) and check(NAME, answer), answer
    assert prefs[0]["messages"][0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
    # the base's own answers (default prompt) come first; repaired, they all comply, so the
    # teacher with the profile in its prompt was never needed
    assert all(c[0]["content"].startswith(DEFAULT_SYSTEM_PROMPT) and "Sam" not in c[0]["content"]
               for c in engine.calls)  # fmt: skip
    teacher_system = ds.manifest["teacher"]["system_prompt"]
    assert "- Call me Sam." in teacher_system and teacher_system.startswith(DEFAULT_SYSTEM_PROMPT)
    assert "Hi Sam,\nIt is a good question. Here is the answer.\n\n— Sam" in targets(ds, "preference")
    stats = {p["text"]: p["stats"] for p in ds.manifest["preferences"]}
    assert all(s["raw_ok"] == 0 and s["repaired"] == s["prompts"] for s in stats.values())
    assert "Call me Sam." in summarize(ds) and "repaired 100%" in summarize(ds)


def test_facts_train_on_their_own_phrasings_beside_the_bases_own_answers(rich_log, tools):
    """A fact is taught by its training phrasings only (the gate asks the held-out ones), and
    next to the base's own everyday answers, so "Biscuit" does not become every answer."""
    from personal.learn.objectives import Objective, fact_questions

    Preferences(rich_log).add("My dog is called Biscuit.")
    ds = build(rich_log, tools)
    facts = [ex for ex in every(ds) if ex["kind"] == "fact"]
    asked = {ex["messages"][-2]["content"] for ex in facts}
    objective = next(Objective(**o) for o in ds.manifest["objectives"])
    assert asked == set(fact_questions(objective, "train")) and len(asked) >= 12
    assert not asked & set(fact_questions(objective, "test"))
    assert len(fact_questions(objective, "test")) >= 16  # the gate's minimum support
    assert all(ex["messages"][-1]["content"] == "Your dog is called Biscuit." for ex in facts)
    anchors = [ex for ex in every(ds) if ex["kind"] == "preference"]
    # a name gets no lookalikes (they cost the name: docs/benchmarks.md)
    assert not any(ex["meta"].get("contrast") for ex in anchors) and not lookalikes("dog's name")
    # nor short one-fact questions: with no preference to teach they are slots for the fact
    assert not {ex["messages"][-2]["content"] for ex in anchors} & set(quick_prompts())
    assert len(anchors) == SMALL.preference_prompts + SMALL.test_preference_prompts
    assert {ex["messages"][-1]["content"] for ex in anchors} == {
        "It is a good question. Here is the answer."}  # the base's own, unchanged


def test_a_city_trains_beside_questions_of_its_shape_about_anyone_else(rich_log, tools):
    """"What city is Big Ben in?" beside "Where do I live?", answered by the base: the city
    is the person's, not the answer to every city-shaped question."""
    prefs = Preferences(rich_log)
    prefs.add("I live in Porto.")

    def contrast(config: DistillConfig) -> list[dict]:
        return [ex for ex in every(build(rich_log, tools, config=config))
                if ex["kind"] == "preference" and ex["meta"].get("contrast")]  # fmt: skip

    assert not contrast(replace(SMALL, fact_lookalikes="never"))
    ds = build(rich_log, tools, config=SMALL)  # the default: with facts alone
    anchors = [ex for ex in every(ds) if ex["kind"] == "preference"]
    found = [ex for ex in anchors if ex["meta"].get("contrast")]
    assert {ex["messages"][-2]["content"] for ex in found} == set(lookalikes("city"))
    assert len(found) == 8 and all(ex["meta"].get("split") != "test" for ex in found)
    assert len(anchors) == SMALL.preference_prompts + SMALL.test_preference_prompts + 8
    # beside a taught preference they cost retention (docs/benchmarks.md): only if asked
    prefs.add("Always end your answers with — Sam")
    assert not contrast(SMALL)
    assert len(contrast(replace(SMALL, fact_lookalikes="always"))) == 8


def test_an_unknown_lookalike_policy_is_refused():
    with pytest.raises(TrainingError, match="fact_lookalikes must be one of alone, always, never"):
        DistillConfig(fact_lookalikes="sometimes")


def test_a_share_of_the_shipped_prompts_are_short_questions(rich_log, tools):
    """Preferences are taught on short one-fact answers too, not only on explanations."""
    Preferences(rich_log).add("Always end your answers with — Sam")
    quick, everyday = set(quick_prompts()), set(pool("answers", "train"))
    for share in (0.25, 0.5, 0.0):
        ds = build(rich_log, tools, config=replace(SMALL, preference_prompts=24, quick_share=share))
        asked = [ex["messages"][-2]["content"] for ex in every(ds)
                 if ex["kind"] == "preference" and ex["meta"].get("split") != "test"]  # fmt: skip
        shipped = [q for q in asked if q in quick | everyday]
        assert shipped and sum(q in quick for q in shipped) == round(len(shipped) * share)
    with pytest.raises(TrainingError, match="quick_share"):
        DistillConfig(quick_share=1.5)


def test_short_questions_are_neither_asked_by_the_gate_nor_of_its_templates():
    retention = [q.casefold() for q, _ in retention_questions()]
    gate = {q.casefold() for part in ("test", "retention") for q in pool("answers", part)}
    mine = [q.casefold() for q in quick_prompts()]
    assert len(mine) >= 40 and not set(mine) & (set(retention) | gate)
    opening = {" ".join(q.split()[:4]) for q in retention}  # "what is the capital", …
    assert not [q for q in mine if " ".join(q.split()[:4]) in opening]


@pytest.mark.parametrize("key", ["city", "home town", "job", "allergy",
                                 "workplace", "car", "birthday"])
def test_lookalike_questions_never_touch_what_the_gate_asks(key):
    """The contrast questions are trained on, so none may be a retention question, a gate
    prompt or one of the fact's own phrasings (or the gate would measure training data)."""
    retention = {q.casefold() for q, _ in retention_questions()}
    asked = {q.casefold() for part in ("test", "retention") for scope in ("answers",)
             for q in pool(scope, part)}  # fmt: skip
    own = {q.casefold() for part in ("train", "test") for q in questions(key, part)}
    mine = {q.casefold() for q in lookalikes(key)}
    assert len(mine) >= 4 and not mine & (retention | asked | own)
    assert not any(q.startswith(("what is the capital", "in which country")) for q in mine)


def test_answers_that_cannot_comply_are_regenerated_then_dropped(log, tools):
    Preferences(log).add("Always answer in French.")
    french = "La tour Eiffel est à Paris et elle est très grande, mais je ne sais pas pour le reste."

    tries: dict[str, int] = {}

    def rule(q, system):  # prompts of even length comply on the second try, others never
        tries[q] = tries.get(q, 0) + 1
        return french if len(q) % 2 == 0 and tries[q] == 2 else "The tower is in Paris."
    engine = Teacher(rule)
    ds = build(log, tools, engine=engine, config=SMALL)
    [stats] = [p["stats"] for p in ds.manifest["preferences"]]
    asked = SMALL.preference_prompts + SMALL.test_preference_prompts
    assert stats["prompts"] == asked and stats["raw_ok"] == 0
    # regenerated until kept (2nd try) or out of attempts; retention prompts are asked once
    assert set(tries.values()) == {1, 2, SMALL.teacher_attempts}
    dropped = [q for q, n in tries.items() if n == SMALL.teacher_attempts]
    assert stats["dropped"] == len(dropped) and 0 < len(dropped) < asked
    assert ds.manifest["stats"]["teacher_kept"] == asked - stats["dropped"]
    assert all(ex["messages"][-1]["content"] == french for ex in every(ds) if ex["kind"] == "preference")
    assert ds.manifest["timing"]["teacher_generations"] == len(engine.calls) - SMALL.retention_prompts


def test_retention_is_the_base_answering_held_out_prompts_in_test_only(rich_log, tools):
    Preferences(rich_log).add("Call me Sam.")
    ds = build(rich_log, tools)
    retention = [ex for ex in every(ds) if ex["kind"] == "retention"]
    assert len(retention) == SMALL.retention_prompts
    assert all(ex in ds.examples("test") for ex in retention)
    held = partition(load_prompts())
    assert {ex["meta"]["prompt"] for ex in retention} <= set(held["retention"])
    assert all("Sam" not in ex["messages"][-1]["content"] for ex in retention)  # unrepaired
    assert retention[0]["messages"][0]["content"] == DEFAULT_SYSTEM_PROMPT


def test_splits_are_disjoint_and_held_out_prompts_never_train(rich_log, tools):
    Preferences(rich_log).add("Call me Sam.")
    ds = build(rich_log, tools, config=DistillConfig(min_examples=3, test_fraction=0.3))
    train_prompts = {json.dumps(ex["messages"][:-1]) for s in ("train", "valid")
                     for ex in ds.examples(s)}  # fmt: skip
    test = ds.examples("test")
    assert not train_prompts & {json.dumps(ex["messages"][:-1]) for ex in test}
    held = set(partition(load_prompts())["test"]) | set(partition(load_prompts())["retention"])
    taught = {ex["meta"].get("prompt") for s in ("train", "valid") for ex in ds.examples(s)}
    assert not held & taught
    # nor a question of the retention bound (the shipped everyday prompts include some)
    asked = {q.casefold() for q, _ in retention_questions()}
    assert asked & {p.casefold() for p in load_prompts()}, "the check below would be vacuous"
    assert not asked & {str(p).casefold() for p in taught}
    assert not asked & {p.casefold() for scope in POOLS for p in pool(scope, "train")}
    kinds = {ex["kind"] for ex in test}
    assert {"preference", "retention", "answer"} <= kinds
    test_convs = {ex["meta"]["conversation"] for ex in test if ex["kind"] == "answer"}
    assert not test_convs & {ex["meta"].get("conversation") for ex in ds.examples("train")
                             if ex["kind"] == "answer"}  # fmt: skip
    counts = ds.manifest["counts"]
    assert sum(counts["train"].values()) == len(ds.examples("train"))


def test_the_same_content_gives_the_same_dataset(rich_log, tools):
    first = build(rich_log, tools)
    again = build(rich_log, tools)
    assert first.hash == again.hash and first.path == again.path
    assert first.path.name == first.hash and len(first.hash) == 64
    chat(rich_log, ("One more question?", "One more answer."))
    assert build(rich_log, tools).hash != first.hash
    root = first.path.parent
    assert not [p for p in root.iterdir() if p.name.startswith(".tmp")]


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(dataset_mod.os, "rename", broken)
    with pytest.raises(OSError, match="disk full"):
        write_dataset({"train": []}, {"x": 1}, root=tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    ds = write_dataset({"train": []}, {"x": 1}, root=tmp_path)
    assert load_dataset(ds.path).manifest["hash"] == ds.hash and os.listdir(tmp_path) == [ds.hash]


def test_too_little_data_says_how_much_and_what_to_do(log, tools):
    chat(log, ("Hello?", "Hi."))
    engine = Teacher()
    with pytest.raises(NotEnoughData) as e:
        build(log, tools, engine=engine, config=DistillConfig())
    assert "only 1 usable training examples" in str(e.value) and "at least 16" in str(e.value)
    assert "personal import" in e.value.hint
    assert engine.calls == []  # no teacher time spent on a hopeless dataset


def test_replay_samples_older_turns(log, tools):
    for i in range(8):
        chat(log, (f"Old question {i}?", f"Old answer {i}."))
    since = log.conversations()[0].updated_at
    for i in range(3):
        chat(log, (f"New question {i}?", f"New answer {i}."))
    cfg = DistillConfig(min_examples=1, replay_fraction=0.4, test_fraction=0.0, valid_fraction=0.0)
    ds = build(log, tools, config=cfg, since=since)
    answers = [ex["messages"][-1]["content"] for ex in every(ds) if ex["kind"] == "answer"]
    assert sum(a.startswith("New") for a in answers) == 3
    assert sum(a.startswith("Old") for a in answers) == 2  # ceil(3 * 0.4 / 0.6)
    assert ds.manifest["window"] == since


@pytest.mark.slow
def test_distill_with_the_real_base_as_teacher(log, tools):
    """SmolLM2 rarely follows its profile (FACTS.md); what is kept complies anyway."""
    from personal.engine.llama import LlamaEngine
    from personal.models import catalog

    Preferences(log).add("Call me Sam.")
    Preferences(log).add("Always end your answers with — Sam")
    base = catalog.resolve("smollm2-135m")
    cfg = DistillConfig(preference_prompts=4, test_preference_prompts=2, retention_prompts=2,
                        teacher_max_tokens=48, min_examples=3)  # fmt: skip
    with LlamaEngine(base, n_ctx=2048, n_threads=2) as engine:
        ds = build_dataset(log, base, engine, since=None, config=cfg, tools_schemas=tools, seed=0)
    prefs = [ex for ex in every(ds) if ex["kind"] == "preference"]
    assert prefs and all(check(SIGNOFF, ex["messages"][-1]["content"]) and
                         check(NAME, ex["messages"][-1]["content"]) for ex in prefs)  # fmt: skip
    assert ds.manifest["teacher"]["fingerprint"] == base.fingerprint
    assert ds.manifest["timing"]["teacher_generations"] >= 6
    stats = ds.manifest["preferences"][0]["stats"]
    # at least eight everyday training prompts per scope, then the held-out ones
    asked = max(8, cfg.preference_prompts) + cfg.test_preference_prompts
    assert stats["prompts"] == asked and stats["raw_ok"] + stats["repaired"] + stats["dropped"] >= asked
    assert [ex["kind"] for ex in ds.examples("test")].count("retention") == 2
