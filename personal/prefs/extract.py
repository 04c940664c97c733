"""Recognising the preferences a person states in a chat message, without a model.

`extract("Call me Sam. From now on, begin every answer with 'Howdy'!")` gives two
`Candidate`s, each normalised into an instruction ("Call the user Sam.", "Begin every
answer with 'Howdy'.") with a kind and, where an answer can be checked against it, a
checker (personal/prefs/check.py).

A statement is read by its structure: lead-ins and persistence markers are peeled off
("From now on, I'd like you to …", "… going forward, please"), then what is left is matched
by what it is about — a literal and where it goes (literals.py), the person's name, the
language, the format or the length (directives.py), a fact about the person (facts.py).

It is deliberately cautious: a wrong preference is trained into the adapter, a missed one
can be added by hand. So questions ("do you remember…?"), hypotheticals ("if…",
"imagine"), reported speech ("he told me to…"), quotations and code are skipped, and a
one-off request ("summarise this in bullet points", "begin the letter with 'Dear Sir'") is
not taken for a standing preference: generic instructions count only with a marker of
persistence (always, never, from now on, remember, I prefer, by default, in every
answer…). Every path is linear in its (bounded) input: see text.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from personal.prefs import directives, facts
from personal.prefs.literals import (
    ANSWERS,
    ANSWERS_NP,
    EVERY_ANSWER,
    YOU_SEND,
    literal_preference,
    unquoted_opening,
    unquoted_signoff,
)
from personal.prefs.text import (
    QUOTES,
    as_sentence,
    normalise,
    rx,
    sentences,
    split_outside_quotes,
)
from personal.prefs.withdraw import withdrawal
from personal.prefs.wording import imperative, third_person

KINDS = ("name", "opening", "signoff", "include", "format", "case", "language", "length", "style",
         "avoid", "fact", "other", "withdraw")  # fmt: skip
MAX_CHARS = 4000  # kept for callers; the bound itself lives in text.py


@dataclass(frozen=True)
class Candidate:
    text: str  # an instruction, e.g. "Call the user Sam."
    kind: str  # one of KINDS
    checker: dict | None = None


VERBS = set(
    ["use", "answer", "reply", "respond", "write", "include", "add", "start", "begin", "end", "finish", "sign", "give", "show", "tell", "explain", "cite", "mention", "call", "address", "speak", "talk", "keep", "format", "put", "list", "provide", "ask", "kick", "check", "double-check", "offer", "suggest", "say", "apologize", "apologise", "refer", "translate", "spell", "number", "quote", "assume", "recommend", "greet", "summarize", "summarise", "confirm", "wrap", "highlight", "link", "round", "convert", "respect", "remind", "structure", "lead", "open", "close", "avoid", "be", "prefer", "stay", "stick"]
)
_BARE_DONT = rx(r"(?:use|call|apologi[sz]e|answer|reply|respond|sign|end|start|begin|add|"
                r"include|say|write|put|mention)\b")  # fmt: skip
_DEICTIC = rx(r"\b(?:this|that|these|those|it|here|now|yet|today|above|below)\b")
_FILLER = rx(r"^(?:just so you know|for the record|fyi|ok(?:ay)?|also|and|but|oh|btw|by the way|"
             r"hey|hi|hello|so|well|actually|"
             r"one more thing|one thing|just|now|alright|right|great|thanks|thank you|cool|"
             r"fine|sure|yes|yeah|no(?=\s*,)|please note)\b[\s,.!:;—–-]*")  # fmt: skip
# not "What I do for a living is …" (a statement), nor "Do use bullet points" (an emphatic order)
_QUESTION = rx(r"^(?:what(?! (?:i|we)\b)|why|how|who|whom|whose|where|when(?= (?:is|are|was|were|"
               r"do|does|did|will|would|can|could|should|shall|might|may|am)\b)|which|"
               rf"do(?!\s+(?:not|{'|'.join(sorted(VERBS))})\b)|does|did|is|"
               r"are|was|were|am|have|has|had|shall|should|may|might|can|could|would|will|"
               r"isn't|aren't|didn't|don't you|won't)\b")  # fmt: skip
_POLITE = rx(r"^(?:can|could|would|will) you (?:please |kindly )?(?=\w)")
_HYPOTHETICAL = rx(
    r"\b(?:if|unless|suppose|supposing|imagine|pretend|hypothetically|let'?s say|for example|"
    r"for instance|e\.g|such as|in the story|roleplay|role-play|told me to|asked me to|"
    r"(?:he|she|they|someone|somebody|people|(?:my|his|her|their|the|a|an|this|that) \w+) "
    r"(?:said|says|told|tells|asked|asks|wrote|writes|wants|wanted|reads|read))\b"
)
_PERSIST = (
    r"from now on|from here on|going forward|moving forward|in (?:the )?future|henceforth|"
    r"when(?:ever)? you (?:answer|reply|respond|write|talk|speak)(?: to me| me)?|"
    r"when(?:ever)? you (?:explain|describe) (?:something|anything|things|how)|"
    r"(?:every|each) time you (?:answer|reply|respond|write)(?: to me| me)?|"
    r"from here on(?: out)?|by default|every time|each time|at all times|"
    r"when(?:ever)? possible|wherever possible|where possible|whenever you can|"
    rf"in (?:every|each|all (?:of )?(?:your )?){ANSWERS}|for (?:all )?future {ANSWERS}"
)
_PERSIST_START = rx(rf"^(?:{_PERSIST})[\s,:]*")
_PERSIST_END = rx(rf"[\s,]+(?:{_PERSIST}|ever(?: again)?)$")  # "No emojis, ever."
_POLITENESS = rx(r"(?:^(?:please|kindly|pls)[\s,]+|[\s,]+(?:please|pls|thanks|thank you|"
                 r"again)$)")  # fmt: skip
_START = (rf"please|always|never|don'?t|do not|stop|avoid|call|address|refer|answer|reply|"
          r"respond|write|speak|talk|use|keep|be|sign|end|finish|close|format|make sure|"
          r"begin|start|open|kick off|lead|put|preface|add|append|remember|from now on|going forward|"
          r"i'?d|i'm|i (?:really )?(?:prefer|like|love|hate|want)|my name|you can|you should|"
          r"no more|limit|reply|greet|switch to|by default|just so you know|for the record|fyi|by the way|"
          r"feel free to|it(?:'d| would) be (?:great|nice|good|lovely|better|best) if|"
          r"(?:can|could|would|will) you|the (?:first|last) (?:word|words|line)|one thing|"
          r"i (?:don'?t|do not) (?:want|like)|i go by|just call|no|"
          # a second fact: "I live in Porto and my cat is named Mochi"
          r"my (?:[a-z'-]+ ){1,2}(?:is|are)|i (?:live|work|was born|grew up|come from|moved|own|"
          r"have an?)|i'm (?:from|based|originally|allergic)|home(?: for (?:me|us))? is|"
          r"what i do for a living|for a living|i(?: [a-z'-]+){1,5} for a living|"
          r"stick to|give|conclude|structure|present|number (?:your|the)|everything you (?:say|write|send)|"
          rf"(?:your|every|each|(?:all|each|every one)(?: of)?(?: your)?) {ANSWERS}")  # fmt: skip
_CLAUSE_BREAK = rx(rf"\s*,\s*(?:(?:and|but|also|then|plus)[\s,]+)*(?=(?:{_START})\b)|"
                   rf"\s+(?:and|but|also|plus)[\s,]+(?:also[\s,]+)?(?=(?:{_START})\b)")  # fmt: skip


def extract(text: str) -> list[Candidate]:
    """The preferences stated in a user message, in order, without repeats."""
    found: list[Candidate] = []
    for sentence, asked in _answered(sentences(normalise(text))):
        sentence = _POLITE_CONDITION.sub(" ", sentence).strip(" ,")
        start = _peel(sentence)
        polite = _POLITE.match(start)
        if (not polite and _QUESTION.match(start)) or _HYPOTHETICAL.search(
                _POLITE_IF.sub(" ", sentence)):  # fmt: skip
            continue
        if (said := directives.name_first(start)) != start:  # "I'm Noor, use that name"
            sentence = said  # → "call me Noor,"
        persistent, context = False, ""  # "From now on, A, and B": the marker holds for both
        for clause in split_outside_quotes(sentence, _CLAUSE_BREAK):
            head = _peel(clause)
            if m := _CONTEXT.match(head):  # "whenever you write an email, ..."
                mail = m["what"].lower().startswith(("e", "l"))
                persistent, context = True, "every email" if mail else "all your code"
                continue
            clause_asked = asked and bool(_POLITE.match(head) or _QUESTION.match(head))
            candidate, persistent = _clause(clause, clause_asked, persistent, context)
            if candidate is not None and candidate not in found:
                found.append(candidate)
    return found


# "My goldfish's name? Bubbles.": a noun phrase about the person, asked and answered
_ASKED = rx(r"^(?:my|our) (?!(?:[a-z'-]+ )*(?:is|are|was|were|do|does|did|have|has)\b)"
            r"(?:[a-z'-]+ ){0,3}[a-z'-]+$")  # fmt: skip
_REFUSED = rx(r"^(?:never|no|none|never again|not ever|no more|no thanks?|no thank you)"
              r"[\s,!]*(?:please|thanks|thank you|ever)?[\s!]*$")  # fmt: skip  ("Emojis? Never.")


def _answered(pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Sentences, with a question about the person and its short answer read as one
    statement ("My job? Nurse." → "My job is Nurse") when that is a fact or a name."""
    out, i = [], 0
    while i < len(pieces):
        said, asked = pieces[i]
        reply, reply_asked = pieces[i + 1] if i + 1 < len(pieces) else ("", True)
        joined = _joined(_peel(said), reply, reply_asked) if asked else None
        out.append((joined, False) if joined else pieces[i])
        i += 2 if joined else 1
    return out


def _joined(thing: str, reply: str, reply_asked: bool) -> str | None:
    """A question and its short reply as one statement, or None."""
    if _REFUSED.match(reply) and len(thing.split()) <= 4:  # "Emojis? Never."
        found = _avoid("Never", f"use {thing}", True)
        if found and found.checker:
            return f"Never use {thing}"
    if (reply_asked or not _ASKED.match(thing) or len(reply.split()) > 4
            or _FIRST_PERSON.match(reply)):  # fmt: skip
        return None
    word = reply.split(" ")[0]  # "My job? Nurse." — a job is not a name
    joined = f"{thing} is {word.lower() if word.lower() in facts.JOBS else word}{reply[len(word):]}"
    return joined if facts.parse(joined) or directives.name(joined) else None


# "…, if you would", "if you don't mind, …": politeness, not a condition
_POLITE_CONDITION = rx(
    r"(?:^|[\s,]+)if (?:you (?:would|could|can|will|please|may|(?:don'?t|do not|wouldn'?t|would "
    r"not) mind)(?: do that| do so)?|possible|(?:that'?s|that is|it'?s|it is) (?:ok(?:ay)?|"
    r"alright|all right|fine|not too much (?:trouble|to ask))|you'?d be so kind|you please)"
    r"(?=[\s,.!?]*$|\s*,)[\s,]*")  # fmt: skip
# "I'd like it if …", "it would be great if …": a wish, not a condition
_LIKE_IT = r"i(?:'d| would) (?:appreciate it|like it|love it|prefer it)"
_WISH = rf"(?:{_LIKE_IT}|i(?:'d| would) be (?:grateful|glad|happy|thankful|delighted))"
_GREAT = r"it(?:'d| would) be (?:great|nice|good|lovely|better|best)"
_POLITE_IF = rx(rf"\b(?:{_WISH}|{_GREAT}) if\b")
_CONTEXT = rx(r"^(?:when(?:ever)?|every time|each time|if) you (?:write|draft|compose|send|give "
              r"me) (?:an? |any |my |some )?(?P<what>e-?mails?|letters?|code|scripts?|programs?|"
              r"functions?)(?: for me)?$")  # fmt: skip


def classify(text: str) -> tuple[str, dict | None]:
    """Kind and checker for a preference typed by hand ("Answer in French.")."""
    found = extract(text)
    if found:
        return found[0].kind, found[0].checker
    if fact := facts.parse(text):
        return "fact", facts.checker(fact)
    if re.match(r"\s*the user\b", text, re.IGNORECASE):
        return "fact", None
    if re.match(r"\s*(?:never|do not|don'?t|avoid|stop)\b", text, re.IGNORECASE):
        return "avoid", None
    return "other", None


def _peel(s: str) -> str:
    while (shorter := _FILLER.sub("", s, count=1)) != s:
        s = shorter
    return s


def _clause(
    clause: str, asked: bool, carried: bool, context: str = ""
) -> tuple[Candidate | None, bool]:
    """(the clause's preference, whether a persistence marker holds after it)."""
    if clause[0] in QUOTES:
        return None, carried  # a quotation, not the person speaking
    s, persistent, marked = clause, carried, False
    while True:  # peel fillers, politeness and persistence markers off both ends
        before = s
        s = _POLITENESS.sub("", _peel(s))
        if _PERSIST_START.search(s) or _PERSIST_END.search(s):
            s, persistent, marked = _PERSIST_END.sub("", _PERSIST_START.sub("", s)), True, True
        if s == before or not s:
            break
    if not s:
        return None, persistent  # the clause was only "From now on"
    polite = _POLITE.match(s)
    body = s[polite.end() :] if polite else s
    persistent = (persistent or bool(re.match(r"(?:always|never)\b", body, re.IGNORECASE))
                  or bool(EVERY_ANSWER.search(body)))  # fmt: skip
    candidate = _statement(body, persistent, context)
    if asked and candidate and not (persistent or candidate.kind == "name"):
        candidate = None  # "can you answer in French?" asks for this answer only
    return candidate, carried or marked


_LEAD = rx(r"^(?:i(?:'d| would)? (?:really )?(?:like|love|want|prefer|need)(?: for)? you to|"
           rf"(?:{_WISH}) if you(?:'d| would| could| will| can)?|"
           rf"{_GREAT} if(?: you)?|"
           r"(?:would you |do you )?mind(?= [a-z]+ing\b)|"
           r"you may|you can|i need you to|feel free to|"
           r"i(?:'d| would) rather you|i(?:'d| would) (?:like|love|prefer)(?: it)? if you|"
           r"make sure (?:that )?(?:you |to )?|you should|you must|you can|try to|please|"
           r"kindly|(?:can|could|would|will) you (?:please )?(?:always )?|"
           r"do(?= (?!not\b|you\b|i\b|we\b)[a-z]))\b\s*")  # fmt: skip  ("do address me as …")
# verbs a wish or rule is said with beside VERBS: "… if you never went past two sentences"
_TENSED = frozenset([*VERBS, "go", "run", "exceed", "limit", "switch", "stop", "let", "leave",
                     "drop", "skip", "type", "stay", "send", "conclude"])  # fmt: skip


def _present(x: str) -> str:
    return imperative(x, _TENSED)


# a wish about the answers, said with them as the subject
_RULE_LEAD = rx(rf"^(?:always )?(?:make sure|ensure|see to it|{_LIKE_IT} if|{_GREAT} if)(?: that)? "
                rf"(?P<np>(?:(?:all|every|each|any) (?:of )?(?:your |the )?|your |the ){ANSWERS}"
                rf"{YOU_SEND}) (?:(?:would|will|could) )?(?P<x>.+)$")  # fmt: skip
_REMEMBER = rx(r"^(?:remember|keep in mind|bear in mind|don'?t forget|never forget|note|"
               r"for the record|fyi|just so you know)(?:\s*[:,]\s*|\s+that\s+|\s+)(?P<x>.+)$")  # fmt: skip
_PREFER = rx(r"^i(?:'d| would)? (?:really |much |definitely |generally )?(?P<v>prefer|like|love)"
             r"\s+(?P<x>.+)$")  # fmt: skip
_DISLIKE = rx(r"^i (?:really )?(?:hate|dislike|can'?t stand|don'?t like|do not like)"
              r"(?: it)?(?: when you)?\s+(?P<x>.+)$")  # fmt: skip
_NEGATIVE = rx(r"^(?P<neg>never(?: ever)?|don'?t(?: ever)?|do not(?: ever)?|stop|avoid|try not to|"
               r"no more|no longer|no)\s+(?P<x>.+)$")  # fmt: skip
_ALWAYS = rx(r"^always\s+(?P<x>.+)$")
_WANT = rx(rf"^i(?:'d| would)? (?:really )?(?:like|want|prefer|need|appreciate|love) "
           rf"(?P<x>{ANSWERS_NP}\b.+)$")
_SHOULD = rx(rf"^(?:(?:all |any |each |every )(?:of )?(?:your |the |my )?{ANSWERS}|"
             rf"(?:your |the |my )?(?:answers|replies|responses|messages|texts|outputs)|"
             rf"everything you (?:say|write|send)(?: me)?){YOU_SEND} "
             r"(?:should|must|shall|need to|have to|ought to|are to|will)(?: always|"
             r"(?P<neg> never| not))? (?P<x>(?!have been\b).+)$")  # fmt: skip
_NO_MORE_THAN = rx(r"^(?:no|not) more than\b")
_ABOUT_ME = rx(r"\b(?:i|i'm|i've|my|me|we|we're|our|us)\b")
_FIRST_PERSON = rx(r"^(?:i|i'm|i've|i'd|i'll|my|me|mine|we|we've|we're|our)\b")


def _statement(s: str, persistent: bool, context: str = "") -> Candidate | None:
    if m := _RULE_LEAD.match(s):  # "make sure every reply opens with …": a rule on the answers
        return _statement(f"{m['np']} should {_present(m['x'])}", persistent, context)
    if m := _LEAD.match(s):
        rest = _present(s[m.end() :])  # "I'd rather you answered in …" → "answer in …"
        return _statement(rest, persistent, context) if rest else None
    if taken_back := withdrawal(s):
        return Candidate(taken_back[0], "withdraw", taken_back[1])
    if m := _REMEMBER.match(s):
        x = m["x"]
        if x.lower().startswith("to "):
            return _directive(x[3:], True) or _generic("Always", x[3:])
        if _LEAD.match(x) or _PREFER.match(x) or _SHOULD.match(x):  # "…: I want you to …"
            return _statement(x, True)
        if _FIRST_PERSON.match(x):  # a fact about the person, not about this chat
            return None if re.search(r"\byou\b", x, re.I) else _fact(x, checked_only=False)
        if _ABOUT_ME.search(x) and (fact := _fact(x, checked_only=True)):  # "home for me is …"
            return fact
        return _directive(x, True)
    if found := _literal(s, persistent, context):
        return found
    if m := _SHOULD.match(s):  # "your answers should (never) …": a standing rule
        if m["neg"]:
            return _avoid("Never", m["x"], True)
        x = m["x"]
        if re.match(r"be\s", x, re.IGNORECASE):  # "… should be in French": "answers in French"
            return (_directive(f"answers {x[3:]}", True) or _directive(x[3:], True)
                    or _directive(x, True))  # fmt: skip
        return _directive(x, True)
    if m := _WANT.match(s):  # "I want every reply in bullet points"
        return _directive(m["x"], True)
    if _NO_MORE_THAN.match(s) and (found := directives.length(s, True)):
        return Candidate(*found)
    if m := _PREFER.match(s):
        x = re.sub(r"^it when you\s+", "", m["x"], flags=re.IGNORECASE)
        found = _directive(x, True)
        if found or m["v"].lower() != "prefer" or _DEICTIC.search(x):
            return found
        return Candidate(as_sentence(third_person(s)), "fact")
    if m := _DISLIKE.match(s):
        return _avoid("Do not", m["x"], True)
    if m := _NEGATIVE.match(s):
        neg = {"stop": "Stop", "avoid": "Avoid"}.get(m["neg"].lower(), "Never")
        if m["neg"].lower() in ("don't", "dont", "do not", "no more", "no longer", "no",
                                "try not to"):  # fmt: skip
            neg = "Do not"
        return _avoid(neg, m["x"], persistent or neg == "Never")
    if m := _ALWAYS.match(s):
        return _directive(m["x"], True) or _generic("Always", m["x"])
    if _ABOUT_ME.search(s) and (fact := _fact(s, checked_only=True)):  # "What I do for a …"
        return fact
    return _directive(s, persistent) or (_generic("", s) if persistent else None)


def _literal(s: str, persistent: bool, context: str = "") -> Candidate | None:
    found = (literal_preference(s, persistent, context) or unquoted_signoff(s, persistent)
             or unquoted_opening(s, persistent))  # fmt: skip
    return Candidate(*found) if found else None


def _fact(x: str, *, checked_only: bool) -> Candidate | None:
    """A fact about the person: checked when its shape is known ("my dog is called Rex"),
    else kept as said (only when explicitly asked to be remembered)."""
    if fact := facts.parse(x):
        return Candidate(fact.text, "fact", facts.checker(fact))
    return None if checked_only else Candidate(as_sentence(third_person(x)), "fact")


# --- directives -----------------------------------------------------------------------------
def _directive(x: str, persistent: bool) -> Candidate | None:
    x = x.strip()
    if found := _literal(x, persistent):
        return found
    if found := directives.name(x):
        return Candidate(*found)
    about_answers = bool(re.search(ANSWERS, x, re.IGNORECASE))
    m = _END_WITH.match(x)
    if m and (found := directives.signoff_style(m["x"].strip(), persistent, about_answers)):
        return Candidate(*found)
    for found in (directives.language(x, persistent), directives.answer_format(x, persistent),
                  directives.length(x, persistent), directives.letter_case(x, persistent),
                  directives.style(x)):  # fmt: skip
        if found:
            return Candidate(*found)
    return None


_END_WITH = rx(r"^(?:end|finish|close|conclude|wrap up)\b.*?\b(?:with|by saying)\s+(?P<x>.+)$")
_EMOJI = rx(rf"^(?:(?:use|add|include|put|using|adding|including|send|sending) )?(?:any |the )?"
            rf"(?:emojis?|emoticons|smileys)(?: in (?:your )?{ANSWERS})?$")  # fmt: skip


def _avoid(neg: str, x: str, persistent: bool) -> Candidate | None:
    x = x.strip()
    for found in (directives.do_not_call(x), directives.avoided_thing(x), directives.limit(x)):
        if found:
            return Candidate(*found)
    if m := re.match(rf"^(?:being|be) (?:so |too )?{directives.ADJ}$", x, re.IGNORECASE):
        return Candidate(f"Be less {m['adj'].lower()}.", "style")
    if directives.NO_CAPITALS.match(x):  # "no capital letters", "never use caps"
        return Candidate(*directives.lower_case())
    if _EMOJI.match(re.sub(r"\s+in (?:every|each|all|any)\b.*$", "", x, flags=re.I)):
        return Candidate("Do not use emojis.", "avoid", {"type": "no_emoji"})
    if m := re.match(r"^(?:say|saying|use|using|write|writing|include|including)\s+the "
                     r"(?:word|phrase|expression)s?\s+(?P<lit>\S.{0,40})$", x, re.I):  # fmt: skip
        literal = m["lit"].strip().rstrip(".")
        if len(literal.split()) <= 4:
            return Candidate(f"Never say {directives.quoted(literal)}.", "avoid",
                             {"type": "avoid", "text": literal})  # fmt: skip
    if neg == "Do not" and not persistent and not _BARE_DONT.match(x):
        return None
    if neg == "Avoid" and len(x.split()) <= 4 and not _DEICTIC.search(x):
        return Candidate(as_sentence(f"Avoid {third_person(x)}"), "avoid")  # "avoid jargon"
    return _generic(neg, x, avoid=True)


def _generic(lead: str, x: str, avoid: bool = False) -> Candidate | None:
    """A standing instruction we cannot check: kept as said, in the third person."""
    words = x.split()
    first = words[0].lower() if words else ""
    verb = first in VERBS or (lead == "Stop" and first.endswith("ing"))
    if not verb or _DEICTIC.search(x) or len(words) > 20:
        return None
    return Candidate(as_sentence(f"{lead} {third_person(x)}".strip()),
                     "avoid" if avoid else "other")  # fmt: skip


__all__ = ["KINDS", "Candidate", "classify", "extract"]
