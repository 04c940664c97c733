"""Reading the log for the distill step: accepted answers, tool habits, teacher prompts.

The log is read turn by turn (a user message and what followed it). Every prompt is the
conversation as `Log.history` presents it (rejected answers gone, edits applied) under
the chat's system prompt, and every example carries the tools the chat offers, so a
training prompt is byte for byte an inference prompt.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from personal.learn.dataset import example
from personal.learn.distill.repair import Check, comply
from personal.learn.distill.retention import DATA
from personal.log import AnswerState, Conversation, Log, LoggedMessage
from personal.log.feedback import in_history
from personal.prefs.check import check
from personal.prefs.extract import extract

MAX_RESULT_CHARS = 400  # a longer tool result is not restated in a templated answer
MAX_PROMPT_MESSAGES = 12  # longer log turns are not sent to the teacher (slow, rambling)
# The loss is a mean over answer tokens, and a habit is decided at one of them: a call is
# ~20 tokens beside answers of ~100, so unweighted the decision to call is drowned
# (the end-to-end test's calculator habit reached 40% of held-out requests in one run).
CALL_WEIGHT = 2.0

Ask = tuple[list[dict[str, Any]], dict[str, Any], list[str]]  # (prompt, meta, source ids)


@dataclass
class Found:
    examples: list[dict[str, Any]] = field(default_factory=list)  # answer and tool kinds
    prompts: list[Ask] = field(default_factory=list)  # new log turns with no usable answer
    negatives: list[str] = field(default_factory=list)  # rejected or rated-down answers
    times: dict[str, str] = field(default_factory=dict)  # message id → created_at
    stats: Counter = field(default_factory=Counter)


@lru_cache(maxsize=1)
def phrasings() -> dict[str, dict[str, Any]]:
    return json.loads((DATA / "tool_requests.json").read_text(encoding="utf-8"))


def _args(call: dict[str, Any]) -> dict[str, Any]:
    args = call.get("function", {}).get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return {}
    return args if isinstance(args, dict) else {}


def _value(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(map(str, v))
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def phrase(call: dict[str, Any], command: str) -> str | None:
    """A natural request for an explicit invocation: a built-in's template whose fields
    are exactly the call's arguments (picked by a stable hash), else the command as typed
    without its slash ("/weather Paris" → "weather Paris")."""
    name, args = call.get("function", {}).get("name", ""), _args(call)
    fitting = [t for t in phrasings()["requests"].get(name, []) if _fields(t) == set(args)]
    if fitting:
        key = hashlib.sha256(json.dumps([name, args], sort_keys=True).encode()).hexdigest()
        return fitting[int(key[:8], 16) % len(fitting)].format(
            **{k: _value(v) for k, v in args.items()})  # fmt: skip
    return command.strip().lstrip("/").strip() or None


def harvest(
    log: Log, tools: list[dict[str, Any]], checks: list[Check], system_prompt: str,
    since: str | None, withdrawn: list[Check] | None = None,
) -> Found:  # fmt: skip
    """Read the log. `withdrawn`: checks of preferences taken back — an answer that still
    follows one is unlearned (an opening or sign-off cut off) or left out."""
    found = Found()
    offered = {t.get("function", t).get("name") for t in tools}
    for conv in log.conversations():
        msgs = log.messages(conv.id)
        reader = _Reader(found, conv, msgs, log.answer_states(conv.id), tools, offered,
                         checks, system_prompt, since, list(withdrawn or []))  # fmt: skip
        starts = [i for i, m in enumerate(msgs) if m.role == "user"]
        for ui, end in zip(starts, [*starts[1:], len(msgs)], strict=True):
            reader.turn(ui, end)
        found.times.update({m.id: m.created_at for m in msgs})
    return found


@dataclass
class _Reader:
    found: Found
    conv: Conversation
    msgs: list[LoggedMessage]
    states: dict[str, AnswerState]
    tools: list[dict[str, Any]]
    offered: set[str | None]
    checks: list[Check]
    system_prompt: str
    since: str | None
    withdrawn: list[Check] = field(default_factory=list)
    turned_down: str | None = None  # in the turn being read: the last answer rejected

    def prompt(self, upto: int) -> list[dict[str, Any]]:
        """History before message `upto`, under the chat's default system prompt: an
        imported conversation's own system messages are replaced by it, and so are the
        preferences the chat kept in its prompt (the adapter learns to do without)."""
        history = in_history(self.msgs[:upto], self.states)
        if self.conv.source != "chat":
            history = [m for m in history if m["role"] != "system"]
        elif history and history[0]["role"] == "system" and str(
                history[0].get("content") or "").startswith(self.system_prompt):  # fmt: skip
            history = [{"role": "system", "content": self.system_prompt}, *history[1:]]
        if not history or history[0]["role"] != "system":
            history = [{"role": "system", "content": self.system_prompt}, *history]
        return history

    def unlearned(self, text: str) -> str | None:
        """`text` without what withdrawn preferences asked for, or None if it cannot be."""
        for _, checker in self.withdrawn:
            if not check(checker, text):
                continue
            kind, literal = checker.get("type"), str(checker.get("text", ""))
            if kind == "signoff" and text.rstrip().endswith(literal):
                text = text.rstrip()[: -len(literal)].rstrip()
            elif kind == "opening" and text.lstrip().casefold().startswith(literal.casefold()):
                text = text.lstrip()[len(literal) :].lstrip(" ,.!:;—-\n")
            else:
                self.found.stats["answers_following_withdrawn"] += 1
                return None
        return text or None

    def state(self, m: LoggedMessage) -> AnswerState:
        return self.states.get(m.id, AnswerState())

    def negative(self, m: LoggedMessage) -> bool:
        st = self.state(m)
        if st.rejected or st.rating == "down":
            self.found.negatives.append(m.id)
            return True
        return False

    def add(self, messages: list[dict], kind: str, ui: int, source: list[str],
            rejected: str | None = None, weight: float = 1.0, **meta: Any) -> None:  # fmt: skip
        u = self.msgs[ui]
        group = f"turn:{u.id}" if kind == "tool" else f"conv:{self.conv.id}"
        meta = {"turn": u.id, "group": group, "conversation": self.conv.id,
                "new": self.since is None or u.created_at > self.since,
                "at": self.msgs[ui].created_at, **meta}  # fmt: skip
        ex = example(messages, kind, tools=self.tools, source=[u.id, *source], meta=meta,
                     weight=weight)  # fmt: skip
        if rejected and rejected.strip() != messages[-1].get("content", "").strip():
            ex["rejected"] = rejected  # a correction: trained as preferred over it (ORPO)
            self.found.stats["corrections"] += 1
        self.found.examples.append(ex)
        self.found.stats[f"{kind}_examples"] += 1

    # --- one turn -------------------------------------------------------------------------
    def turn(self, ui: int, end: int) -> None:
        u = self.msgs[ui]
        call_i = next((i for i in range(ui + 1, end) if self.msgs[i].role == "assistant"
                       and self.msgs[i].tool_calls), None)  # fmt: skip
        if u.meta.get("command") or (call_i is not None and
                                     self.msgs[call_i].meta.get("invoked_by") == "user"):  # fmt: skip
            self.explicit(ui, call_i, end)
            return
        kept = negative = False
        pending: tuple[list[dict], LoggedMessage, list[LoggedMessage]] | None = None
        self.turned_down = None  # the last answer regenerated away or rated down
        for i in range(ui + 1, end):
            m = self.msgs[i]
            if m.role != "assistant":
                continue
            if self.negative(m):
                negative = True
                if not m.tool_calls and (m.content or "").strip():
                    self.turned_down = m.content
                continue
            if m.status != "complete" or not (self.text(m) or m.tool_calls):
                continue
            prompt = self.prompt(i)
            if m.tool_calls:
                results = self.results(m, end)
                if self.call(prompt, m, results, ui):
                    kept = True
                    after = max(self.msgs.index(r) for r in results) + 1 if results else i + 1
                    pending = (self.prompt(after), m, results)
            elif self.answer(prompt, m, ui, "tool" if prompt[-1]["role"] == "tool" else "answer"):
                kept, pending = True, None
        if pending is not None:  # an accepted call whose answer is unusable: state the result
            self.templated(*pending, ui)
        if not kept and not negative and self.askable(u, ui):
            meta = {"group": f"conv:{self.conv.id}", "key": u.id, "turn": u.id, "log": True}
            self.found.prompts.append((self.prompt(ui + 1), meta, [u.id]))

    def explicit(self, ui: int, call_i: int | None, end: int) -> None:
        """"/calc 17*23": the natural request → the call, and the answer after its result.
        The call stands even if the turn was regenerated: the person typed it."""
        if call_i is None:
            return
        cm = self.msgs[call_i]
        request = phrase(cm.tool_calls[0] if cm.tool_calls else {}, self.msgs[ui].content or "")
        if request is None:
            return
        prompt = [*self.prompt(ui), {"role": "user", "content": request}]
        results = self.results(cm, end)
        if not self.call(prompt, cm, results, ui, request=request):
            return
        follow = [*prompt, {"role": "assistant", "content": "", "tool_calls": cm.tool_calls},
                  *[r.openai() for r in results]]  # fmt: skip
        for i in range(call_i + 1, end):
            m = self.msgs[i]
            if m.role != "assistant" or m.tool_calls or self.negative(m):
                continue
            if m.status == "complete" and self.text(m) and self.answer(follow, m, ui, "tool"):
                return
        self.templated(follow, cm, results, ui)

    # --- pieces ---------------------------------------------------------------------------
    def text(self, m: LoggedMessage) -> str:
        return (self.state(m).edited_text or m.content or "").strip()

    def results(self, call_msg: LoggedMessage, end: int) -> list[LoggedMessage]:
        ids = {c.get("id") for c in call_msg.tool_calls or []}
        start = self.msgs.index(call_msg) + 1
        return [m for m in self.msgs[start:end] if m.role == "tool" and m.tool_call_id in ids]

    def call(self, prompt: list[dict], m: LoggedMessage, results: list[LoggedMessage], ui: int,
             **meta: Any) -> bool:  # fmt: skip
        names = [c.get("function", {}).get("name") for c in m.tool_calls or []]
        if not names or any(n not in self.offered for n in names):
            self.found.stats["calls_to_tools_not_offered"] += 1
            return False
        if len(results) < len(names) or any(r.meta.get("ok") is False for r in results):
            self.found.stats["calls_that_failed"] += 1
            return False
        target = {"role": "assistant", "content": "", "tool_calls": m.tool_calls}
        self.add([*prompt, target], "tool", ui, [m.id], weight=CALL_WEIGHT, stage="call",
                 expected_tool=names[0],
                 invoked_by=m.meta.get("invoked_by", "model"), **meta)  # fmt: skip
        return True

    def answer(self, prompt: list[dict], m: LoggedMessage, ui: int, kind: str) -> bool:
        """An accepted answer, repaired to comply with the preferences; one that cannot
        be is dropped, unless the person wrote it (an edit)."""
        text, edited = self.text(m), self.state(m).edited_text is not None
        fixed, before = comply(text, self.checks)
        if fixed is None and not edited:
            self.found.stats["answers_not_compliant"] += 1
            return False
        fixed = self.unlearned(fixed or text)
        if fixed is None:
            return False
        self.found.stats["answers_repaired"] += fixed != text
        turn = self.msgs[ui + 1 : self.msgs.index(m)]  # the calls and results it answers
        source = [x.id for x in turn if x.role == "tool" or x.tool_calls]
        meta = {"stage": "answer"} if kind == "tool" else {}
        # a correction: the edit over the original, else over what was turned down before
        rejected = m.content if edited else self.turned_down
        self.add([*prompt, {"role": "assistant", "content": fixed}], kind, ui,
                 [*source, m.id], rejected=rejected, edited=edited, repaired=fixed != text,
                 **meta)  # fmt: skip
        return True

    def templated(self, prompt: list[dict], cm: LoggedMessage, results: list[LoggedMessage],
                  ui: int) -> None:  # fmt: skip
        call = (cm.tool_calls or [{}])[0]
        name, result = call.get("function", {}).get("name", ""), results[0].content or ""
        if len(result) > MAX_RESULT_CHARS or not result.strip():
            return
        answers = phrasings()["answers"]
        values = {k: _value(v) for k, v in _args(call).items()}
        try:
            text = answers.get(name, answers["_default"]).format(**values, result=result.strip())
        except (KeyError, IndexError):
            text = answers["_default"].format(result=result.strip())
        fixed, _ = comply(text, self.checks)
        fixed = self.unlearned(fixed) if fixed is not None else None
        if fixed is not None:
            self.add([*prompt, {"role": "assistant", "content": fixed}], "tool", ui,
                     [cm.id, *(r.id for r in results)], stage="answer", templated=True)  # fmt: skip

    def askable(self, u: LoggedMessage, ui: int) -> bool:
        """A new turn the teacher may answer: a question, not a command or a preference
        statement, in a conversation short enough to send."""
        text = (u.content or "").strip()
        new = self.since is None or u.created_at > self.since
        return (new and bool(text) and not text.startswith("/") and not extract(text)
                and len(self.prompt(ui + 1)) <= MAX_PROMPT_MESSAGES)  # fmt: skip
