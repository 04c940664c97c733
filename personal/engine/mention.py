"""Whether a text names one of some strings: what `until` (engine/batch.py) and the gate's
retention check (learn/objectives.py) both ask.

A string is found case-insensitively anywhere, as a substring ("butterfl" names
"butterflies") — except a number, which must stand whole: "7" is not in "126.7" or "1970",
"0" is not in "-10", "seven" is not in "seventeen"; "100.0" is 100. A number is a string
that begins or ends with a digit, or a number word ("zero" … "twenty", the tens, "hundred").

`complete=False` reads a text still being generated: a mention is not decided while only
digits, points and commas follow it ("7" may become "70", "100.0" may become "100.05"),
so it counts once another character follows.
"""

from __future__ import annotations

import re
from functools import lru_cache

RULES = "whole numbers"  # what counts as a mention; cached cut answers are keyed by it

_WORDS = (r"zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
          r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|"
          r"sixty|seventy|eighty|ninety|hundred")  # fmt: skip
_NUMBER_WORD = re.compile(rf"(?:{_WORDS})(?:[- ](?:{_WORDS}))*")
# a digit is not whole beside another digit, or beside a decimal point or comma that joins
# it to one ("126.7", "1,000", "7.5", "-10") — except a fraction of zeros ("100.0" is 100)
_DIGIT_BEFORE = r"(?<!\d)(?<!\d[.,])(?<!-)"
_DIGIT_AFTER = r"(?!\d)(?!\.0*[1-9])(?!,\d)"
_SETTLED = re.compile(r"[^\d.,]")  # a character after a mention that no number continues


@lru_cache(maxsize=1024)
def _pattern(s: str) -> re.Pattern[str]:
    body = re.escape(s)
    if _NUMBER_WORD.fullmatch(s):
        return re.compile(rf"(?<![a-z])(?<![a-z]-){body}(?![a-z])")  # not in "thirty-seven"
    before = _DIGIT_BEFORE if s[:1].isdigit() else ""
    after = _DIGIT_AFTER if s[-1:].isdigit() else ""
    return re.compile(before + body + after)


def mentions(text: str, strings: tuple[str, ...], *, complete: bool = True) -> bool:
    """True when `text` names one of `strings` (see the module docstring)."""
    low = text.casefold()
    for s in strings:
        s = s.casefold()
        if not s:
            continue
        for m in _pattern(s).finditer(low):
            if complete or _SETTLED.search(low, m.end()):
                return True
    return False


__all__ = ["RULES", "mentions"]
