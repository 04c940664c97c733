"""Recognising the preferences a person states in a chat message, without a model.

`extract("Call me Sam. From now on, begin every answer with 'Howdy'!")` gives two
`Candidate`s, each normalised into an instruction ("Call the user Sam.", "Begin every
answer with 'Howdy'.") with a kind and, where an answer can be checked against it, a
checker (personal/prefs/check.py).

A statement is read by its structure: lead-ins and persistence markers are peeled off
("From now on, I'd like you to …", "… going forward, please": the lexicon is leads.py),
then what is left is matched by what it is about — a literal and where it goes
(literals.py), the person's name, the language, the format or the length (directives.py),
a fact about the person (facts.py).

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

from personal.prefs import directives, facts, leads
from personal.prefs.literals import (
    ANSWERS,
    EVERY_ANSWER,
    literal_preference,
    scope_of,
    unquoted_opening,
    unquoted_signoff,
)
from personal.prefs.text import (
    QUOTES,
    as_sentence,
    normalise,
    outside_quotes,
    quote_spans,
    sentences,
    split_outside_quotes,
    unquote,
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


def extract(text: str) -> list[Candidate]:
    """The preferences stated in a user message, in order, without repeats."""
    found: list[Candidate] = []
    named: str | None = None  # the language or format named last: what a pronoun may stand for
    for sentence, asked in _answered(sentences(normalise(text))):
        sentence = leads.POLITE_CONDITION.sub(" ", sentence).strip(" ,")
        if (cut := leads.CONCESSION.search(sentence)) and not any(
                a <= cut.start() < b for a, b in quote_spans(sentence)):  # fmt: skip
            sentence = sentence[: cut.start()]  # (a concession inside a literal stays)
        start = _peel(sentence)
        if rule := leads.POLITE_RULE.match(start):  # "could your answers be in Spanish?"
            sentence = start = f"{rule['np']} should {start[rule.end() :]}"
        polite = leads.POLITE.match(start)
        around = outside_quotes(sentence)  # the person's own words, around any literal
        if (not polite and leads.QUESTION.match(start)) or leads.HYPOTHETICAL.search(
                leads.POLITE_IF.sub(" ", around)):  # fmt: skip
            continue
        if (said := directives.name_first(start)) != start:  # "I'm Noor, use that name"
            sentence = said  # → "call me Noor,"
        persistent, context = False, ""  # "From now on, A, and B": the marker holds for both
        # "keep it short: under 20 words this time" (not "end with 'Ciao for now'")
        once = bool(leads.ONE_OFF.search(outside_quotes(sentence)))
        # "No lists, just paragraphs, from now on": a marker said last holds for what came
        # before it in the sentence (not for "this", "that", "it": "write this in French, …")
        final = bool(leads.PERSIST_END.search(outside_quotes(sentence).rstrip(" .!")))
        remembered = ""  # "Remember, I'm vegan": the lead alone in its clause holds for the next
        for clause in split_outside_quotes(sentence, leads.CLAUSE_BREAK):
            clause, named = directives.resolve_pronoun(f"{remembered}{clause}", named)
            head = _peel(clause)
            if leads.REMEMBER_ALONE.match(head):
                remembered = f"{head.rstrip(' ,:')} that "
                continue
            remembered = ""
            if m := leads.CONTEXT.match(head) or leads.CONTEXT_LEAD.match(head):
                persistent, context = True, _context(m["what"])  # "whenever you write an email, …"
                if m.end() == len(head):
                    continue
                clause = head[m.end() :]  # "whenever you write code, include type hints"
            here = context
            if not here and clause[-1:] not in QUOTES and (t := leads.CONTEXT_TAIL.search(clause)) and (
                    not leads.COPULA_END.search(clause[: t.start()])):  # fmt: skip  (not "be in Python")
                clause, here = clause[: t.start()], _context(t["what"])  # "… in every email"
                # said of every one ("in all your code", "in emails"), not of "your code" here
                persistent = persistent or bool(re.search(r"\b(?:all|every|each|any)\b|s$", t[0], re.I))
            clause_asked = asked and bool(leads.POLITE.match(head) or leads.QUESTION.match(head))
            carried = persistent or (final and not leads.DEICTIC.search(outside_quotes(clause)))
            candidate, persistent = _clause(clause, clause_asked, carried, here)
            persistent = persistent or bool(candidate and candidate.text == directives.SHORT)
            if here and candidate and candidate.kind not in ("fact", "name", "withdraw"):
                candidate = _scoped(candidate, here)
            if once and candidate and candidate.kind not in ("fact", "name"):
                continue
            if candidate is not None and candidate not in found:
                if found and directives.SHORT in (found[-1].text, candidate.text) and (
                        found[-1].kind == candidate.kind == "length"):  # fmt: skip
                    # "keep it brief: under 50 words": the bound says how short
                    if candidate.text == directives.SHORT:
                        continue
                    found.pop()
                found.append(candidate)
    return found


_CONTRAST = re.compile(r",\s*(?:just|only|instead|rather)\b.*$", re.IGNORECASE)


def _should_be(x: str) -> Candidate | None:
    """ "… should be (written) in French": read as "answers in French"."""
    rest = x[leads.BE.match(x).end() :]
    return _directive(f"answers {rest}", True) or _directive(rest, True) or _directive(x, True)


def _context(what: str) -> str:
    """The words a preference's text names its kind of text with: "every email", "all your code"."""
    return "every email" if what.lower().startswith(("e", "l")) else "all your code"


def _scoped(candidate: Candidate, context: str) -> Candidate:
    """ "Include type hints." said of code → "Include type hints in all your code.", its
    checker (if any) applied to code only. A literal's reading already carries its scope."""
    checker = candidate.checker
    if checker is not None and "scope" in checker:
        return candidate
    scope = "email" if context == "every email" else "code"
    text = candidate.text
    if "every answer" in text:  # "End every answer with a question." → "End every email …"
        text = text.replace("every answer", "every email" if scope == "email" else "all code")
    else:
        text = f"{text.rstrip('.')} in {context}."
    return Candidate(text, candidate.kind, {**checker, "scope": scope} if checker else None)


def _answered(pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Sentences, with a question about the person and its short answer read as one
    statement ("My job? Nurse." → "My job is Nurse") when that is a fact or a name."""
    out, i = [], 0
    while i < len(pieces):
        said, asked = pieces[i]
        reply, reply_asked = pieces[i + 1] if i + 1 < len(pieces) else ("", True)
        joined = _joined(_peel(said), reply, reply_asked) if asked else _named_after(said, reply)
        out.append((joined, False) if joined else pieces[i])
        i += 2 if joined else 1
    return out


def _named_after(said: str, then: str) -> str | None:
    """ "I have a cat; her name is Luna." as one statement, when that is a fact; "I'm Theo.
    Please call me that." as one, when that names the person."""
    joined = f"{said}, {then}"
    if not leads.PRONOUN_NAME.match(then):
        return joined if directives.name_first(joined) != joined else None
    return joined if facts.parse(joined) else None


def _joined(thing: str, reply: str, reply_asked: bool) -> str | None:
    """A question and its short reply as one statement, or None."""
    if leads.REFUSED.match(reply) and len(thing.split()) <= 4:  # "Emojis? Never."
        found = _avoid("Never", f"use {thing}", True)
        if found and found.checker:
            return f"Never use {thing}"
    if not reply_asked and (pronoun := leads.PRONOUN_NAME.match(reply)):  # "Our cat? Her name's …"
        joined = f"{thing}'s name is {reply[pronoun.end() :]}"
        return joined if leads.ASKED.match(thing) and facts.parse(joined) else None
    if (reply_asked or not leads.ASKED.match(thing) or len(reply.split()) > 4
            or leads.FIRST_PERSON.match(reply)):  # fmt: skip
        return None
    word = reply.split(" ")[0]  # "My job? Nurse." — a job is not a name
    joined = f"{thing} is {word.lower() if word.lower() in facts.JOBS else word}{reply[len(word):]}"
    return joined if facts.parse(joined) or directives.name(joined) else None


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
    while (shorter := leads.FILLER.sub("", s, count=1)) != s:
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
        s = leads.POLITENESS.sub("", _peel(s))
        if leads.PERSIST_START.search(s) or leads.PERSIST_END.search(s):
            s, persistent, marked = leads.PERSIST_END.sub("", leads.PERSIST_START.sub("", s)), True, True
        if s == before or not s:
            break
    if not s:
        return None, persistent  # the clause was only "From now on"
    polite = leads.POLITE.match(s)
    body = s[polite.end() :] if polite else s
    persistent = (persistent or bool(re.match(r"(?:always|never|stop|quit)\b", body, re.IGNORECASE))
                  or bool(EVERY_ANSWER.search(body)))  # fmt: skip
    candidate = _statement(body, persistent, context)
    if candidate and candidate.kind not in ("fact", "name") and leads.THIRD_PARTY.match(body):
        candidate = None  # "my boss always ends her emails with 'Best'"
    if asked and candidate and not (persistent or candidate.kind == "name"):
        candidate = None  # "can you answer in French?" asks for this answer only
    return candidate, carried or marked


def _present(x: str) -> str:
    return imperative(x, leads.TENSED)


def _statement(s: str, persistent: bool, context: str = "") -> Candidate | None:
    if m := leads.CLEFT.match(s):  # "numbered lists are what I want"
        return _directive(f"{m['x']}{m['rest'] or ''}", True)
    if m := leads.RULE_LEAD.match(s):  # "make sure every reply opens with …": a rule on answers
        return _statement(f"{m['np']} should {_present(m['x'])}", persistent, context)
    if m := leads.LEAD.match(s):
        rest = _present(s[m.end() :])  # "I'd rather you answered in …" → "answer in …"
        return _statement(rest, persistent, context) if rest else None
    if taken_back := withdrawal(s):
        return Candidate(taken_back[0], "withdraw", taken_back[1])
    if m := leads.REMEMBER.match(s):
        x = m["x"]
        if x.lower().startswith("to "):
            return _directive(x[3:], True) or _generic("Always", x[3:])
        if any(p.match(x) for p in (leads.LEAD, leads.PREFER, leads.SHOULD)):  # "…: I want you to"
            return _statement(x, True)
        if leads.FIRST_PERSON.match(x):  # a fact about the person, not about this chat
            return None if re.search(r"\byou\b", x, re.I) else _fact(x, checked_only=False)
        if leads.ABOUT_ME.search(x) and (fact := _fact(x, checked_only=True)):  # "home for me is …"
            return fact
        return _directive(x, True)
    if found := _literal(s, persistent, context):
        return found
    if m := leads.BANNED.match(s):  # "emojis are banned (from your answers)"
        x = m["x"][:1].lower() + m["x"][1:] if m["x"][1:2].islower() else m["x"]
        found = _avoid("Never", f"use {x}", True)
        return found if found and (m["scope"] or found.checker) else None
    if m := leads.KIND_SHOULD.match(s):  # "all code you give me must include type hints"
        here, x = _context(m["what"]), m["x"]
        found = (_avoid("Never", x, True) if m["neg"] else _should_be(x)
                 if leads.BE.match(x) else _statement(_present(x), True, here))  # fmt: skip
        return _scoped(found, here) if found and found.kind not in ("fact", "name", "withdraw") else found
    if m := leads.SHOULD.match(s):  # "your answers should (never) …": a standing rule
        if m["neg"] or m["none"]:  # "… should never …", "nothing you write should …"
            return _avoid("Never", m["x"], True)
        return _should_be(m["x"]) if leads.BE.match(m["x"]) else _directive(m["x"], True)
    if m := leads.WANT.match(s):  # "I want every reply in bullet points"
        if m["to"]:  # "I'd like everything you write to be in lowercase": a rule on answers
            return _statement(f"{m['np']} should {m['to']}", True, context)
        return _directive(m["x"], True)
    if leads.NO_MORE_THAN.match(s) and (found := directives.length(s, True)):
        return Candidate(*found)
    if (m := leads.GET.match(s)) and (found := _directive(m["x"], True)):
        return found
    if m := leads.PREFER.match(s):
        x = re.sub(r"^it when you\s+", "", m["x"], flags=re.IGNORECASE)
        found = _directive(x, True)
        if found or m["v"].lower() != "prefer" or leads.DEICTIC.search(x):
            return found
        return Candidate(as_sentence(third_person(s)), "fact")
    if m := leads.DISLIKE.match(s):
        return _avoid("Do not", m["x"], True)
    if m := leads.NEGATIVE.match(s):
        neg = {"stop": "Stop", "avoid": "Avoid"}.get(m["neg"].lower(), "Never")
        x = _CONTRAST.sub("", m["x"])  # "no lists, just paragraphs": what is wanted instead
        dropped = m["neg"].lower() in leads.DROP
        if dropped:  # "drop the emojis": a thing left out of the answers
            if re.match(r"(?:me|us|you|him|her|it|them|by|in|off|out|to|a|an)\b", x, re.I):
                return None  # "drop me a line", "skip it", "drop by"
            x = "use " + re.sub(r"^(?:the|all|any|those|these|your) ", "", x, flags=re.I)
        if m["neg"].lower() in ("don't", "dont", "do not", "no more", "no longer", "no",
                                "try not to", *leads.DROP):  # fmt: skip
            neg = "Do not"
        found = _avoid(neg, x, persistent or neg == "Never")
        if found and dropped and not (persistent or found.checker):
            return None  # "cut out the jargon": about this answer, unless said to last
        return found
    if m := leads.ALWAYS.match(s):
        if found := directives.letter_case(m["x"], True, always=True):  # "always use capitals"
            return Candidate(*found)
        return _directive(m["x"], True) or _generic("Always", m["x"])
    if leads.ABOUT_ME.search(s) and (fact := _fact(s, checked_only=True)):  # "What I do for a …"
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
    if m := leads.END_WITH.match(x):
        kind = scope_of(x[: m.start("x")], persistent)  # "end every email with a question"
        elsewhere = kind in ("email", "code")
        if found := directives.signoff_style(m["x"].strip(), persistent, about_answers or elsewhere):
            return _scoped(Candidate(*found), _context(kind)) if elsewhere else Candidate(*found)
    for found in (directives.language(x, persistent), directives.answer_format(x, persistent),
                  directives.length(x, persistent), directives.letter_case(x, persistent),
                  directives.style(x)):  # fmt: skip
        if found:
            return Candidate(*found)
    return None


def _avoid(neg: str, x: str, persistent: bool) -> Candidate | None:
    x = x.strip()
    for found in (directives.do_not_call(x), directives.avoided_thing(x), directives.limit(x)):
        if found:
            return Candidate(*found)
    if m := re.match(rf"^(?:being|be) (?:so |too )?{directives.ADJ}$", x, re.IGNORECASE):
        return Candidate(f"Be less {m['adj'].lower()}.", "style")
    if directives.NO_CAPITALS.match(x):  # "no capital letters", "never use caps"
        return Candidate(*directives.lower_case())
    if leads.EMOJI.match(re.sub(r"\s+(?:in|from) (?:(?:every|each|all|any)\b|what(?:ever)? you\b|"
                                r"(?:any|every)thing you\b).*$", "", x, flags=re.I)):  # fmt: skip
        return Candidate("Do not use emojis.", "avoid", {"type": "no_emoji"})
    if m := re.match(r"^(?:say|saying|use|using|write|writing|include|including)\s+the "
                     r"(?:word|phrase|expression)s?\s+(?P<lit>\S.{0,40})$", x, re.I):  # fmt: skip
        literal = m["lit"].strip().rstrip(".")
        literal = unquote(literal) or literal  # "the word 'basically' is banned"
        if len(literal.split()) <= 4:
            return Candidate(f"Never say {directives.quoted(literal)}.", "avoid",
                             {"type": "avoid", "text": literal})  # fmt: skip
    if (neg == "Do not" and not persistent and not leads.BARE_DONT.match(x)) or leads.PHONE_CALL.match(x):
        return None  # "don't call me after nine" is about the phone
    if neg == "Avoid" and len(x.split()) <= 4 and not leads.DEICTIC.search(x):
        return Candidate(as_sentence(f"Avoid {third_person(x)}"), "avoid")  # "avoid jargon"
    return _generic(neg, x, avoid=True)


def _generic(lead: str, x: str, avoid: bool = False) -> Candidate | None:
    """A standing instruction we cannot check: kept as said, in the third person."""
    words = x.split()
    first = words[0].lower() if words else ""
    verb = first in leads.VERBS or (lead == "Stop" and first.endswith("ing"))
    if not verb or leads.DEICTIC.search(x) or len(words) > 20:
        return None
    return Candidate(as_sentence(f"{lead} {third_person(x)}".strip()),
                     "avoid" if avoid else "other")  # fmt: skip


__all__ = ["KINDS", "Candidate", "classify", "extract"]
