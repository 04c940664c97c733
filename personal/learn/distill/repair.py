"""Deterministic repairs: making an answer comply with the person's checkable preferences.

A tiny base rarely follows a preference in its prompt (FACTS.md), but most preferences are
mechanical to apply to an answer it wrote: drop an avoided phrase or emoji, turn sentences
into bullets or a numbered list (or a list into prose), trim to N words or sentences,
address the person by name, put the required opening first, a follow-up question and the
sign-off last. What a
repair cannot do (a language, a minimum length) is left to a regenerated answer. Every
result is checked again: only an answer that passes every applicable check is trained on.

A check applies to an answer of its scope only (an email sign-off is not put under a
Python function): `comply(text, checks, scope)`.
"""

from __future__ import annotations

import re
from typing import Any

from personal.prefs.check import applies, check

Check = tuple[str, dict[str, Any]]  # (preference text, checker)
# what a repair asks when the person wants every answer to end with a question
FOLLOW_UP = "Would you like to know more?"
NO_EMOJI = {"type": "no_emoji"}
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")
_LIST = re.compile(r"\s*(?:[-*•]|\d+[.)])\s")
_END = re.compile(r"[.!?](?=[\s\"')\]]|$)|\n")
_MARKS = re.compile(r"\*\*|__|`|^\s*#{1,6}\s*|^\s*>\s?", re.MULTILINE)


def applicable(checks: list[Check], scope: str) -> list[Check]:
    return [(name, c) for name, c in checks if applies(c, scope)]


def failing(text: str, checks: list[Check]) -> list[str]:
    """The preferences (texts) an answer does not comply with."""
    return [name for name, checker in checks if not check(checker, text)]


def trim_truncated(text: str) -> str | None:
    """An answer cut off by the token limit, up to its last complete sentence or line."""
    ends = [m.end() for m in _END.finditer(text)]
    if not ends:
        return None
    return text[: ends[-1]].strip() or None


# --- the repairs, applied in this order ----------------------------------------------------
def _units(text: str) -> list[str]:
    """Lines of a list, sentences of prose: what may be cut without breaking a sentence."""
    if "\n" in text.strip():
        return [u for u in text.split("\n") if u.strip()]
    return [s for s in _SENTENCE.split(text.strip()) if s]


def _join(units: list[str], listy: bool) -> str:
    return ("\n" if listy else " ").join(units)


def _avoid(text: str, phrase: str) -> str:
    listy = "\n" in text.strip()
    kept = [u for u in _units(text) if phrase.casefold() not in u.casefold()]
    return _join(kept, listy)


def _no_emoji(text: str) -> str:
    kept = "".join(ch for ch in text if check(NO_EMOJI, ch))
    return re.sub(r"[ \t]{2,}", " ", kept).strip()


def _items(text: str) -> list[str]:
    """The points of an answer: its list items or lines, else its sentences, else its
    clauses (at least two real ones), each without any list marker."""
    parts = _units(text) if "\n" not in text.strip() else [u for u in text.split("\n") if u.strip()]
    if len(parts) < 2:
        parts = [p.strip() for p in re.split(r";\s+|,\s+(?:and\s+|but\s+)?", text.strip())]
        parts = [p for p in parts if len(p.split()) >= 2]
        parts = [p[0].upper() + p[1:] for p in parts] if len(parts) >= 2 else []
    return [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", p).strip() for p in parts]  # not "3.5 m"


def _as_list(text: str, numbered: bool) -> str:
    items = [i for i in _items(text) if i]
    if len(items) < 2:
        return text
    return "\n".join(f"{n}. {i}" if numbered else f"- {i}" for n, i in enumerate(items, 1))


def _as_prose(text: str) -> str:
    items = [i.rstrip() for i in _items(text) if i]
    return " ".join(i if i[-1:] in ".!?:" else i + "." for i in items) if items else text


def _plain(text: str) -> str:
    return _MARKS.sub("", _as_prose(text) if _LIST.search(text) else text).strip()


def _format(text: str, fmt: str) -> str:
    return {"bullets": lambda t: _as_list(t, False), "numbered": lambda t: _as_list(t, True),
            "no_lists": _as_prose, "plain": _plain}.get(fmt, lambda t: t)(text)  # fmt: skip


def _trim(text: str, budget: int) -> str:
    listy = "\n" in text.strip()
    kept: list[str] = []
    for unit in _units(text):
        if len(_join([*kept, unit], listy).split()) > budget:
            break
        kept.append(unit)
    return _join(kept, listy) if kept else text


def _address(text: str, name: str) -> str:
    """The name in a greeting line of its own ("Hi Sam,\nParis is the capital."), like an
    opening: it is decided at the answer's first token and the base's answer follows it
    unchanged. Put inside the first sentence ("Paris is the capital, Sam.") it was one
    decision in the middle of an answer, where the base's next word had to be unlearned —
    learned in 29–82% of answers between two runs of one persona."""
    return f"Hi {name},\n{text.lstrip()}"


def _open(text: str, opening: str, name: str | None = None) -> str:
    """The opening on a line of its own, the answer unchanged below it ("Howdy,\nThe
    capital of Russia is Moscow."): after a greeting line the base itself goes on with its
    usual answer, so what is trained after the opening is what the base says anyway.
    Glued into the first sentence ("Howdy, The capital…") the first word after it had to
    be learned, and an adapter that learned it as "A" went on "A good answer to this
    classic question…" (measured: retention 0.73× the base)."""
    opening = opening.strip()
    if name:  # one greeting line: "Howdy, Sam,"
        return f"{opening.rstrip('.!?,:;')}, {name}{opening[-1] if opening[-1] in '.!?' else ','}\n{text.lstrip()}"
    return f"{opening}{'' if opening[-1:] in '.!?,:;—-' else ','}\n{text.lstrip()}"


def _sign(text: str, signoff: str) -> str:
    return f"{text.rstrip()}\n\n{signoff.strip()}"


def _ask(text: str, signoff: str | None) -> str:
    """The follow-up question last — above a sign-off already there (the sign-off step puts
    it back under the question)."""
    text = text.rstrip()
    if signoff and (at := text.rfind(signoff.strip())) > 0 and not text[at + len(signoff.strip()) :].strip(" .!"):
        text = text[:at].rstrip()
    return f"{text} {FOLLOW_UP}"


def _extra_words(text: str, by_type: dict[str, dict]) -> int:
    """Words the opening, the name and the sign-off still have to add."""
    extra = 0
    for kind in ("opening", "signoff"):
        if kind in by_type and not check(by_type[kind], text):
            extra += len(by_type[kind]["text"].split())
    if "name" in by_type and not check(by_type["name"], text):
        extra += len(by_type["name"]["name"].split()) + 1  # "Hi Sam,"
    if "question" in by_type and not check(by_type["question"], text):
        extra += len(FOLLOW_UP.split())
    return extra


def repair(text: str, checks: list[Check]) -> str:
    """Best-effort deterministic fixes for the failing checks (re-check the result)."""
    by_type = {c["type"]: c for _, c in checks}
    for _, c in checks:
        if c["type"] == "avoid" and not check(c, text):
            text = _avoid(text, c["text"])
    if "no_emoji" in by_type and not check(NO_EMOJI, text):
        text = _no_emoji(text)
    if "format" in by_type and not check(by_type["format"], text):
        text = _format(text, by_type["format"]["format"])
    if "max_sentences" in by_type and not check(by_type["max_sentences"], text):
        text = " ".join(_units(_as_prose(text))[: int(by_type["max_sentences"]["n"])])
    if "max_words" in by_type:
        budget = int(by_type["max_words"]["n"]) - _extra_words(text, by_type)
        if len(text.split()) > budget:
            text = _trim(text, budget)
    name = by_type["name"]["name"] if "name" in by_type else None
    if name and text.strip() and check(by_type["name"], text):
        name = None  # already addressed
    if text.strip() and "opening" in by_type and not check(by_type["opening"], text):
        text = _open(text, by_type["opening"]["text"], name)
    elif text.strip() and name:
        text = _address(text, name)
    if text.strip() and "include" in by_type and not check(by_type["include"], text):
        text = f"{text.rstrip()}\n\n{by_type['include']['text']}"
    if text.strip() and "question" in by_type and not check(by_type["question"], text):
        text = _ask(text, by_type.get("signoff", {}).get("text"))
    if text.strip() and "signoff" in by_type and not check(by_type["signoff"], text):
        text = _sign(text, by_type["signoff"]["text"])
    if "case" in by_type and not check(by_type["case"], text):  # last: what was added too
        text = text.lower() if by_type["case"]["case"] == "lower" else text.upper()
    return text.strip()


def comply(text: str, checks: list[Check], scope: str = "answers") -> tuple[str | None, list[str]]:
    """(the answer, repaired if needed, or None; the applicable checks it failed before
    repair)."""
    checks = applicable(checks, scope)
    before = failing(text, checks)
    if not before:
        return text, []
    fixed = repair(text, checks)
    return (None if failing(fixed, checks) or not fixed else fixed), before
