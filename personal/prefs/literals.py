"""Preferences about a literal: how an answer opens or ends, what it includes or avoids.

A literal is text in quotes anywhere in the statement ("… with the sign-off '— Sam'"), or
the few words after "the word/phrase/greeting/sign-off …". What is done with it is read
from the words around it, not from a list of sentences:

- polarity: never / don't / avoid / stop / no … before it → the answer must not contain it;
- position: start cues (begin, start, open, first word, top, preface …) → an opening;
  end cues (end, finish, close, sign off, last line, bottom, append, signature …) → a
  sign-off; include cues (include, mention, use, say …) → it must appear somewhere;
- scope: said of the person's answers in general ("every answer", "your replies", or a
  persistence marker) it is a standing preference; of emails or code, it applies there;
  of anything else ("begin the letter with …") it is a one-off request, not a preference.
"""

from __future__ import annotations

import re

from personal.prefs.text import literals, quoted, rx, unquote

ANSWERS = r"(?:answers?|replies|reply|responses?|messages?|texts?|outputs?)"
# "every answer", "all of your replies", "each message you send"
YOU_SEND = r"(?: you (?:send|write|give)(?: me)?)?"  # "each message you send"
# "everything you write me", "anything you tell me": the answers, said as what is written
EVERYTHING = r"(?:every|any)thing you (?:say|write|send|tell|give)(?: to me| me)?"
ANSWERS_NP = rf"(?:(?:all |every |each |any )?(?:of )?(?:your |the |my )?{ANSWERS}{YOU_SEND})"
EMAILS = r"(?:e-?mails?|letters?)"
CODES = r"(?:code|scripts?|programs?|functions?|snippets?)"
_NEGATION = rx(r"\b(?:never|don'?t|do not|does not|doesn'?t|avoid|avoiding|stop|quit|no "
               r"longer|no more|without|not want|n't want|hate|dislike|can'?t stand|"
               r"steer clear|stay away|refrain|banned|forbidden|prohibited|ban|forbid|prohibit|"
               r"not allowed)\b")  # fmt: skip
# "leave the word 'honestly' out of your answers": a verb and its particle around the literal
_OUT_VERB = rx(r"\b(?:leave|keep|cut|strip|take|remove|drop|omit)\b")
_OUT_OF = rx(r"^\s*(?:out\b|(?:from|off) (?=(?:every|each|all|any|your|the|my|what|everything|"
             r"anything)\b))")  # fmt: skip  ("keep 'X' from now on" is no ban)
# "the phrase 'as an AI' should never appear …": the ban said after the literal
_BANNED_AFTER = rx(r"^\s*(?:(?:should|must|shall|may|can|will|is to|are to)(?: not| never)|"
                   r"shouldn'?t|mustn'?t|can'?t|cannot|won'?t)\b")  # fmt: skip
# a phrasal verb split around its object: "kick every reply off", "round each answer off"
_SPLIT = r"(?: [\w'’]+){0,4}?"
_START = rx(r"\b(?:begin|begins|began|beginning|start|starts|started|starting|open|opens|opened|"
            r"opening|greet|(?:above|before|ahead of) (?=(?:every|each|all|any|your|the) )|"
            rf"first (?:word|words|line|thing|sentence)|top(?!{_SPLIT} off\b)|preface|"
            r"prefix|lead(?:s|ing)?(?: off)?|"
            rf"kick(?:s|ed|ing)?{_SPLIT} off)\b")  # fmt: skip
_END = rx(r"\b(?:end|ends|ended|ending|finish|finishes|finished|close|closes|closed|closing|"
          r"(?:under|underneath|beneath|below|after) (?=(?:every|each|all|any|your|the) )|"
          r"conclude|concludes|signed|"
          r"wrap (?:up|it up)|sign(?:[- ]?off)?|signs|signature|(?:last|final) (?:word|words|line|thing|"
          rf"sentence)|(?:round|top|wrap|finish|close|polish)(?:s|ed|ped|ing|ping)?{_SPLIT} "
          r"(?:off|up|out)\b|bottom|append|tail)\b")  # fmt: skip
_INCLUDE = rx(r"\b(?:include|includes|mention|mentions|use|uses|say|says|write|add|put|"
              r"contain|contains|insert|sprinkle|weave|slip|work in|throw in)\b")  # fmt: skip
_SCOPE_ANSWERS = rx(rf"\b(?:every|each|all|any)\b(?: (?:of )?(?:your|the|my))? {ANSWERS}\b|"
                    rf"\byour {ANSWERS}\b|\beach {ANSWERS} you\b|\b{EVERYTHING}\b|"
                    r"\bwhenever you (?:answer|reply|respond|write)\b|"
                    r"\bwhat(?:ever)? you (?:say|write|send)\b")  # fmt: skip
_SCOPE_EMAILS = rx(r"\b(?:every|each|all|any)\b(?: (?:of )?(?:your|the|my))? (?:e-?mails?|letters?)\b|"
                   r"\b(?:my |your |the )?(?:e-?mails|letters)\b")  # fmt: skip
_SCOPE_CODE = rx(rf"\b(?:every|each|all|any|your|the)\b(?: (?:of )?(?:your|the|my))? {CODES}\b|"
                 r"\bwhen(?:ever)? you write code\b")  # fmt: skip
_OTHER_OBJECT = rx(r"\b(?:the|this|that|your|a|an|my) (?:letter|poem|story|essay|article|"
                   r"list|post|note|speech|toast|chapter|book|song|haiku|paragraph|it|card|"
                   r"invitation|invite|form|document|report|memo|slide|presentation|caption|"
                   r"tweet|comment|review|cover letter|proposal|contract|page|section|"
                   r"recipe|draft|cheque|petition|guestbook|postcard)\b|"
                   r"\b(?:begin|start|end|finish|close|open) it\b")  # fmt: skip
_IMPLIES_ANSWERS = rx(r"\b(?:sign(?:[- ]?off)?|signature|greet)\b")
_NAMED_LITERAL = rx(r"\bthe (?:word|words|phrase|greeting|expression|sign-?off|signature|"
                    r"line|salutation|closing)s?\s+(?P<x>[^\s,;:].{0,60})$")  # fmt: skip
_TRAILING = rx(r"[\s,]+(?:from now on|going forward|every time|each time|in (?:every|each|all"
               rf"(?: of)?(?: your)?) {ANSWERS}|please|thanks|always|by default)\.?$")  # fmt: skip


EVERY_ANSWER = rx(rf"\b(?:every|each|all|any)\b(?: (?:of )?(?:your|the|my))? {ANSWERS}\b|"
                  rf"\byour (?:answers|replies|responses|messages)\b|\b{ANSWERS} only\b|\bper {ANSWERS}\b")  # fmt: skip


def scope_of(clause: str, persistent: bool) -> str | None:
    """What a clause is about: "answers", "email", "code", or None (a one-off)."""
    if _SCOPE_EMAILS.search(clause):
        return "email"
    if _SCOPE_CODE.search(clause):
        return "code"
    if _SCOPE_ANSWERS.search(clause):
        return "answers"
    if _OTHER_OBJECT.search(clause):
        return None
    return "answers" if persistent else None


def _find_literal(clause: str) -> tuple[str, str, str] | None:
    """(text before, the literal, text after) — quoted anywhere, else after "the word …"."""
    found = literals(clause)
    if found:
        a, b, text = found[0]
        return clause[:a], text, clause[b:]
    m = _NAMED_LITERAL.search(clause)
    if m:
        x = _TRAILING.sub("", m["x"]).strip().rstrip(".")
        if x and len(x.split()) <= 4:
            return clause[: m.start("x")], x, ""
    return None


def literal_preference(
    clause: str, persistent: bool, context: str = ""
) -> tuple[str, str, dict] | None:
    """(text, kind, checker) for a preference about a literal, or None. `context` is an
    earlier clause of the sentence that set the scene ("whenever you write an email, …")."""
    found = _find_literal(clause)
    if found is None:
        return None
    before, literal, after = found
    around = f"{context} {before} {after}"
    negative = bool(_NEGATION.search(before) or _BANNED_AFTER.match(after)
                    or (_OUT_VERB.search(before) and _OUT_OF.match(after)))
    implied = negative or bool(_IMPLIES_ANSWERS.search(around))  # "sign off with", "never say"
    scope = scope_of(around, persistent or implied)
    if scope is None:
        return None
    where = {"answers": "every answer", "email": "every email", "code": "all code"}[scope]
    extra = {} if scope == "answers" else {"scope": scope}
    if negative:
        text = f"Never say {quoted(literal)}." if scope == "answers" else (
            f"Never write {quoted(literal)} in {where}.")  # fmt: skip
        return text, "avoid", {"type": "avoid", "text": literal, **extra}
    start, end = _START.search(around), _END.search(around)
    if start and not end:
        return (f"Begin {where} with {quoted(literal)}.", "opening",
                {"type": "opening", "text": literal, **extra})  # fmt: skip
    if end and not start:
        return (f"End {where} with {quoted(literal)}.", "signoff",
                {"type": "signoff", "text": literal, **extra})  # fmt: skip
    if not start and not end and _INCLUDE.search(before):
        return (f"Include {quoted(literal)} in {where}.", "include",
                {"type": "include", "text": literal, **extra})  # fmt: skip
    return None


_NAME_SIGN = rx(r"^sign(?: off)?(?: (?:all |every |each )?(?:of )?(?:your |the )?"
                rf"{ANSWERS})? as (?P<x>[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*)?)$")  # fmt: skip


def _bare(verbs: str) -> re.Pattern[str]:
    """"<verb> [every answer] with <x>": an unquoted literal after a start or end verb."""
    return rx(rf"^(?:{verbs})(?: (?:all |every |each )?(?:of )?(?:your |the )?{ANSWERS}"
              r"(?: you (?:send|write|give)(?: me)?)?)? (?:with|by saying|using) (?P<x>[^\s].*)$")


_BARE_END = _bare("end|finish|close|conclude|wrap up|round off|sign off|sign")
_BARE_START = _bare("begin|start|open|kick(?: things)? off|lead(?: off)?|preface")
_DEICTIC = rx(r"\b(?:this|that|these|those|it|here|now|yet|today|above|below|a|an|the|some|"
              r"question|summary|bang|your|my|his|her|their|our)\b")  # fmt: skip  (not "your initials, AI")


# An unquoted opening is said as it is written ("begin every answer with Howdy"); a
# lower-case word there is more often what to begin with ("with context") than a literal.
_GREETINGS = {"hi", "hello", "hey", "howdy", "yo", "ahoy", "greetings", "aye", "hiya", "sup",
              "good morning", "good day", "well", "okay", "ok", "alright", "right", "indeed"}
_NOT_LITERAL = rx(r"\b(?:my|your|his|her|their|our|its|or|if|when|what|why|how|which|who)\b|"
                  r"\b(?:code|examples?|summary|summaries|overview|headers?|headings?|titles?|"
                  r"tables?|lists?|questions?|answers?|definitions?|context|explanations?|"
                  r"steps?|points?|sections?|paragraphs?)$")  # what to begin with, not a literal


def unquoted_opening(clause: str, persistent: bool) -> tuple[str, str, dict] | None:
    """"Begin every answer with Howdy" → an opening 'Howdy' (short, capitalised or a greeting)."""
    m = _BARE_START.match(clause)
    if m is None or unquote(m["x"]):
        return None
    x = _TRAILING.sub("", m["x"]).strip().rstrip(".")
    about_answers = persistent or re.search(ANSWERS, clause, re.IGNORECASE)
    said_as_written = x[:1].isupper() or x.lower().rstrip("!,") in _GREETINGS
    if (not about_answers or not said_as_written or len(x.split()) > 4 or _DEICTIC.search(x)
            or _NOT_LITERAL.search(x)):  # fmt: skip
        return None
    return f"Begin every answer with {quoted(x)}.", "opening", {"type": "opening", "text": x}


def unquoted_signoff(clause: str, persistent: bool) -> tuple[str, str, dict] | None:
    """"sign off as Sam" (→ "— Sam") and a short unquoted sign-off ("end with Cheers!")."""
    if m := _NAME_SIGN.match(clause):
        literal = f"— {m['x']}"
        return f"End every answer with {quoted(literal)}.", "signoff", {"type": "signoff", "text": literal}
    m = _BARE_END.match(clause)
    if m is None or unquote(m["x"]):
        return None
    x = _TRAILING.sub("", m["x"]).strip()
    about_answers = persistent or re.search(ANSWERS, clause, re.IGNORECASE)
    if not about_answers or len(x.split()) > 4 or _DEICTIC.search(x):
        return None
    return f"End every answer with {quoted(x)}.", "signoff", {"type": "signoff", "text": x}
