"""A check derived from the answers the person kept, for a preference that has none.

"Always greet me warmly" cannot be checked as said. But if the answers the person accepted
(or edited into what they wanted) after saying it consistently open with the same words,
end with the same line, address them by the same name, come as a list or in one letter
case, that habit *is* checkable: the preference gets the check its answers show, marked as
derived, and can then be taught and measured like any other. Nothing is derived from fewer
than `MIN_ANSWERS` answers or a habit shared by fewer than `MIN_SHARE` of them.
"""

from __future__ import annotations

import re
from collections import Counter

from personal.prefs.check import check

MIN_ANSWERS = 4
MIN_SHARE = 0.8
_CASE_CHECKS = ({"type": "case", "case": "lower"}, {"type": "case", "case": "upper"})
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_NAME_AFTER = re.compile(r"(?:,\s*|\b(?:hi|hello|hey|dear)\s+)([A-Z][a-z]{1,20})\b")


def derive(answers: list[str]) -> dict | None:
    """The checker most of `answers` pass (an opening, a sign-off, a name, a list format, a
    letter case), or None when the answers show no such habit."""
    answers = [a.strip() for a in answers if a and a.strip()]
    if len(answers) < MIN_ANSWERS:
        return None
    for candidate in (_signoff(answers), _opening(answers), _name(answers), _list(answers),
                      *_CASE_CHECKS):  # fmt: skip
        if candidate and _share(candidate, answers) >= MIN_SHARE:
            return candidate
    return None


def _share(checker: dict, answers: list[str]) -> float:
    return sum(check(checker, a) for a in answers) / len(answers)


def _common(items: list[str]) -> str | None:
    if not items:
        return None
    value, count = Counter(items).most_common(1)[0]
    return value if count / len(items) >= MIN_SHARE else None


def _signoff(answers: list[str]) -> dict | None:
    last = _common([a.splitlines()[-1].strip() for a in answers if "\n" in a])
    if last and len(last.split()) <= 6:
        return {"type": "signoff", "text": last}
    return None


def _opening(answers: list[str]) -> dict | None:
    """The longest common first words (up to 3) that end where a greeting would: not past
    the first punctuation ("Hello friend! Here is" → "Hello friend")."""
    for n in (3, 2, 1):
        starts = []
        for a in answers:
            words = a.split()[:n]
            cut = next((i for i, w in enumerate(words) if w[-1:] in ",.!:;?"), None)
            if len(a.split()) > n and (cut is None or cut == n - 1):
                starts.append(" ".join(words).rstrip(",.!:;?"))
        common = _common(starts)
        if common and len(starts) >= MIN_SHARE * len(answers):
            return {"type": "opening", "text": common}
    return None


def _name(answers: list[str]) -> dict | None:
    names = [m.group(1) for a in answers for m in _NAME_AFTER.finditer(a)]
    if not names:
        return None
    name, count = Counter(names).most_common(1)[0]
    return {"type": "name", "name": name} if count >= MIN_ANSWERS else None


def _list(answers: list[str]) -> dict | None:
    return {"type": "format", "format": "bullets"}


def accepted_since(log, since: str) -> list[str]:
    """The answers the person kept (not regenerated away, not rated down), as they wanted
    them (an edit replaces the answer), logged after `since`."""
    out = []
    for conv in log.conversations():
        states = log.answer_states(conv.id)
        for m in log.messages(conv.id):
            if m.role != "assistant" or m.created_at <= since or m.tool_calls:
                continue
            state = states.get(m.id)
            if state is not None and (state.rejected or state.rating == "down"):
                continue
            text = (state.edited_text if state and state.edited_text else m.content) or ""
            if m.status == "complete" and text.strip():
                out.append(text)
    return out
