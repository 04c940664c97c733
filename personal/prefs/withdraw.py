"""Taking a preference back: "stop signing off", "you can drop the greeting", "forget that I
live in Lyon". A withdrawal is not a preference of its own: the store switches off the
active preferences it names (personal/prefs/preferences.py), the next revision is trained
without them and the gate checks the behaviour is gone."""

from __future__ import annotations

from personal.prefs.text import rx

_STOP = r"(?:stop|quit|no longer|don'?t|do not|you (?:can|may) stop|there'?s no need to|no need to)"
_DROP = r"(?:drop|remove|forget|lose|skip|get rid of|ditch|leave out|leave off)"
_ANYMORE = r"(?:\s+(?:anymore|any more|from now on|now|again))?"
_PATTERNS = {
    "signoff": [
        rf"^{_STOP} (?:sign(?:ing)? off|signing (?:your |the )?\w+|using (?:a|the|that|your) "
        rf"(?:sign-?off|signature)|ending (?:your \w+ )?with (?:that|the|a) (?:sign-?off|"
        rf"signature|line)){_ANYMORE}$",
        rf"^{_DROP} (?:the|that|your|my) (?:sign-?off|signature|closing line){_ANYMORE}$",
        rf"^no more (?:sign-?offs|signatures){_ANYMORE}$",
    ],
    "opening": [
        rf"^{_STOP} (?:starting|beginning|opening) (?:(?:your|every|each) \w+ )?with (?:that|"
        rf"the|a) (?:greeting|word|phrase|opening){_ANYMORE}$",
        rf"^{_STOP} greeting me(?: like that| that way)?{_ANYMORE}$",
        rf"^{_DROP} (?:the|that|your|my) (?:greeting|opening(?: line| word)?){_ANYMORE}$",
        rf"^no more greetings{_ANYMORE}$",
    ],
    "name": [
        rf"^{_STOP} (?:calling me (?:that|by (?:that|my) name)|using my name){_ANYMORE}$",
        rf"^{_DROP} my name{_ANYMORE}$",
    ],
    "language": [
        rf"^{_STOP} (?:answering|replying|responding|speaking|writing) in \w+{_ANYMORE}$",
    ],
    "length": [
        rf"^{_STOP} (?:keeping|making) (?:it|them|your \w+|things) (?:short|brief){_ANYMORE}$",
        rf"^(?:you )?(?:don'?t|do not) (?:need|have) to (?:keep|make) (?:it|them|your \w+) "
        rf"(?:short|brief){_ANYMORE}$",
    ],
    "format": [
        rf"^{_STOP} (?:formatting|writing) (?:it|them|your \w+|everything) as (?:a )?list"
        rf"{_ANYMORE}$",
    ],
}
_COMPILED = {kind: [rx(p) for p in patterns] for kind, patterns in _PATTERNS.items()}
_FACT = rx(rf"^{_DROP} (?:that|what i (?:said|told you) about)\s+(?P<x>.+)$")


def withdrawal(clause: str) -> tuple[str, dict] | None:
    """(text, checker) of a withdrawal — checker {"type": "withdraw", "kind": ...} and for a
    fact {"key": ...} — or None."""
    s = clause.strip().rstrip(".!")
    for kind, patterns in _COMPILED.items():
        if any(p.match(s) for p in patterns):
            return f"Withdraw the {kind} preference.", {"type": "withdraw", "kind": kind}
    if m := _FACT.match(s):
        from personal.prefs.facts import parse

        if fact := parse(m["x"]):
            return (f"Forget the user's {fact.key}.",
                    {"type": "withdraw", "kind": "fact", "key": fact.key})  # fmt: skip
    return None
