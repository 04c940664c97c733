"""Taking a preference back: "stop signing off", "you can drop the greeting", "forget that I
live in Lyon". A withdrawal is not a preference of its own: the store switches off the
active preferences it names (personal/prefs/preferences.py), the next revision is trained
without them and the gate checks the behaviour is gone."""

from __future__ import annotations

from personal.prefs.leads import ONE_OFF
from personal.prefs.text import rx

_LANGUAGES = ("english", "french", "german", "spanish", "italian", "portuguese", "dutch",
              "swedish", "polish", "turkish", "japanese", "chinese", "korean", "russian",
              "norwegian", "danish", "finnish", "czech", "romanian", "hungarian", "catalan",
              "indonesian", "vietnamese")  # fmt: skip

_STOP = (r"(?:stop|quit|no longer|no more|don'?t|do not|you (?:can|may) stop|there'?s no need to|"
         r"no need to)")
# "stop signing off with 'Cheers'": the habit named by its literal — taken back, not banned
# ("don't sign off with 'Cheers'" is a rule against it: literals.py)
_HABIT = r"(?:stop|quit|no longer|no more|you (?:can|may) stop)"
_QUOTED = r"[\"'“‘«].{1,60}[\"'”’»]"
_EACH = r"(?:(?:your|every|each|all your) \w+ )?"
_DROP = r"(?:drop|remove|forget|lose|skip|get rid of|ditch|leave out|leave off)"
_ANYMORE = r"(?:\s+(?:anymore|any more|from now on|now|again))?"
_PATTERNS = {
    "signoff": [
        rf"^{_STOP} (?:sign(?:ing)? off|signing (?:your |the )?\w+|using (?:a|the|that|your) "
        rf"(?:sign-?off|signature)|ending (?:your \w+ )?with (?:that|the|a) (?:sign-?off|"
        rf"signature|line)){_ANYMORE}$",
        rf"^{_DROP} (?:the|that|your|my) (?:sign-?off|signature|closing line){_ANYMORE}$",
        rf"^no more (?:sign-?offs|signatures){_ANYMORE}$",
        rf"^{_HABIT} (?:signing off |(?:ending|closing|finishing) {_EACH})with {_QUOTED}"
        rf"{_ANYMORE}$",
    ],
    "opening": [
        rf"^{_STOP} (?:starting|beginning|opening) (?:(?:your|every|each) \w+ )?with (?:that|"
        rf"the|a) (?:greeting|word|phrase|opening){_ANYMORE}$",
        rf"^{_STOP} greeting me(?: like that| that way)?{_ANYMORE}$",
        rf"^{_DROP} (?:the|that|your|my) (?:greeting|opening(?: line| word)?){_ANYMORE}$",
        rf"^no more greetings{_ANYMORE}$",
        rf"^{_HABIT} (?:starting|beginning|opening) {_EACH}with {_QUOTED}{_ANYMORE}$",
    ],
    "name": [
        rf"^{_STOP} (?:calling me (?:that|by (?:that|my) name)|using my name){_ANYMORE}$",
        rf"^{_DROP} my name{_ANYMORE}$",
    ],
    "case": [
        rf"^{_STOP} (?:writing|answering|replying|typing)(?: everything| your \w+)? in "
        rf"(?:all )?(?:lower[- ]?case|caps|capitals|capital letters|upper[- ]?case){_ANYMORE}$",
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
# "no need for the 'Indeed' at the start anymore": the thing taken back named by what it was
# — said of the one in use ("the", "that") or said to last ("… anymore"): "there's no need
# for a list" may be about this answer alone
_NO_NEED = rx(r"^(?:there'?s |you have )?no (?:need|use) for (?:(?P<det>the|that|your|those|these) |"
              r"(?:a|an|any) )?(?P<x>.+?)(?P<more>\s+(?:anymore|any more|from now on|now|again))?$")  # fmt: skip
# "you don't have to open with 'Greetings' anymore", "you needn't call me Jules now": an
# obligation released — of a habit said to end, or named by its literal or as the one in use
_RELEASE = rx(r"^(?:you )?(?:(?:don'?t|do not|(?P<end>no longer)) (?:have|need) to|needn'?t|need not)\s+"
              r"(?:keep (?:on )?)?(?P<x>.+?)(?P<more>\s+(?:anymore|any more|from now on|now|again))?$")  # fmt: skip
_NAMED_HABIT = rx(rf"{_QUOTED}|\b(?:the|that|your|those|these|my)\b")
# "drop the 'Hi friend' at the start": the habit named by its literal and where it goes
# — not of one text ("remove the 'Hi' at the start of this email")
_DROP_LITERAL = rx(rf"^(?:{_DROP}|no need for|stop using) (?:the|that|your) {_QUOTED}"
                   r"(?P<x>\s(?!.*\b(?:this|that|these|those|here)\b).+)$")  # fmt: skip
_FACT = rx(rf"^{_DROP} (?:that|what i (?:said|told you) about)\s+(?P<x>.+)$")
# "forget the thing about calling me Sam", "never mind what I asked about bullet points"
_ABOUT = rx(rf"^(?:{_DROP}|never mind|ignore|scrap|cancel|undo) (?:(?:the (?:thing|part|bit|rule|"
            r"request|instruction|preference)|what i (?:said|told you|asked(?: for)?|wanted)|my "
            r"(?:request|instruction|preference)) (?:about|regarding|on|for)|about|regarding) "
            r"(?P<x>.+)$")  # fmt: skip  ("forget about calling me Captain")
_TOPICS = {  # what the thing taken back was about → the kind of preference
    "name": rx(r"\b(?:call(?:ing)? me|my name|addressing me|address me)\b"),
    "signoff": rx(r"\b(?:sign(?:ing)?[- ]?offs?|signatures?|sign(?:ing)? (?:your|the|my|every|"
                  r"each)|(?:end|finish)(?:ing)? (?:your|every|each|with)|clos(?:e|ing) (?:line|with)|"
                  r"wrap(?:ping)? up|"
                  r"at the (?:end|bottom))\b"),
    "opening": rx(r"\b(?:greet\w*|opening\w*|(?:start|begin|open|lead|kick(?: things)? off)"
                  r"(?:ning|ing)? (?:your|every|each|with)|at the (?:start|beginning|top|"
                  r"front))\b"),  # fmt: skip
    "format": rx(r"\b(?:bullet\w*|lists?|numbered|formatting)\b"),
    "case": rx(r"\b(?:lower[- ]?case|upper[- ]?case|caps|capitals|capital letters)\b"),
    "language": rx(r"\b(?:language|" + "|".join(_LANGUAGES) + r")\b"),
    "length": rx(r"\b(?:short|shorter|brief|length|word limit|\d+ words|sentences?)\b"),
}


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
    m = _ABOUT.match(s) or _DROP_LITERAL.match(s) or ((n := _NO_NEED.match(s)) and (n["det"] or n["more"]) and n) or (
        (r := _RELEASE.match(s)) and (r["more"] or r["end"] or _NAMED_HABIT.search(r["x"])) and r)  # fmt: skip
    if m and not ONE_OFF.search(m["x"]):
        kinds = [kind for kind, topic in _TOPICS.items() if topic.search(m["x"])]
        if len(kinds) == 1:  # one topic named: that preference; none or several: ask
            return f"Withdraw the {kinds[0]} preference.", {"type": "withdraw", "kind": kinds[0]}
    return None
