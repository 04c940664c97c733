"""Recognising the preferences a person states in a chat message, without a model.

`extract("Call me Sam. From now on answer in French!")` gives two `Candidate`s, each
normalised into an instruction ("Call the user Sam.", "Answer in French.") with a kind and,
where the preference can be checked on an answer, a checker (see personal/prefs/check.py).

It is deliberately cautious: a wrong preference is trained into the adapter, a missed one
can be added by hand. So questions ("do you remember…?"), hypotheticals ("if…", "imagine"),
reported speech ("he told me to…"), quotations and code are skipped, and a one-off request
("summarise this in bullet points") is not taken for a standing preference: generic
instructions count only with a marker of persistence (always, never, from now on,
remember, I prefer, by default, in every answer…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from personal.prefs.wording import as_sentence as _sentence
from personal.prefs.wording import third_person as _third

MAX_CHARS = 4000  # of a long message (a pasted document) only the start is read
KINDS = ("name", "signoff", "format", "language", "length", "style", "avoid", "fact", "other")


@dataclass(frozen=True)
class Candidate:
    text: str  # an instruction, e.g. "Call the user Sam."
    kind: str  # one of KINDS
    checker: dict | None = None


def _rx(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def _words(text: str) -> set[str]:
    return set(text.split())


# --- words ---------------------------------------------------------------------------------
CHECKED_LANGUAGES = {"english": "en", "french": "fr", "german": "de", "spanish": "es",
                     "italian": "it", "portuguese": "pt", "dutch": "nl"}  # fmt: skip
_NATIVE = {"français": "french", "francais": "french", "deutsch": "german",
           "español": "spanish", "espanol": "spanish", "italiano": "italian",
           "português": "portuguese", "portugues": "portuguese", "nederlands": "dutch"}  # fmt: skip
_OTHER_LANGUAGES = _words(
    "japanese chinese mandarin cantonese korean russian arabic hindi polish swedish norwegian "
    "danish finnish greek turkish hebrew czech ukrainian vietnamese thai indonesian romanian "
    "hungarian catalan welsh irish latin esperanto"
)
LANG = "(?P<lang>" + "|".join([*CHECKED_LANGUAGES, *_NATIVE, *_OTHER_LANGUAGES]) + ")"
ANSWERS = r"(?:answers?|replies|reply|responses?|messages?|emails?)"
BULLETS = (r"(?P<bul>bullet(?:ed)?[- ]?(?:points?|lists?)|bullets|(?:bulleted|numbered) lists?"
           r"|lists)")  # fmt: skip
ADJ = (r"(?P<adj>formal|informal|casual|friendly|polite|direct|blunt|professional|playful|"
       r"funny|humorous|serious|warm|enthusiastic|technical|simple|precise|honest|"
       r"encouraging|relaxed|gentle|kind|chatty|detailed|patient|cheerful)")  # fmt: skip
NOT_NAMES = _words(
    "a an the that this it so me my back later again now soon tomorrow tonight today when if "
    "after before anytime whenever crazy old maybe please not on in at by to what whatever "
    "anything something up out over just only still also sometime sometimes yesterday every "
    "any all wrong spelled written important secret private mine here there"
)
# first words of an instruction that may stand alone after "always"/"never"/"from now on"
VERBS = _words(
    "use answer reply respond write include add start begin end finish sign give show tell "
    "explain cite mention call address speak talk keep format put list provide ask check "
    "double-check offer suggest say apologize apologise refer translate spell number quote "
    "assume recommend greet summarize summarise confirm wrap highlight link round convert "
    "respect remind structure lead open close avoid be show prefer stay stick"
)
_BARE_DONT = _rx(r"(?:use|call|apologi[sz]e|answer|reply|respond|sign|end|start|begin|add|"
                 r"include)\b")  # fmt: skip
_DEICTIC = _rx(r"\b(?:this|that|these|those|it|here|now|yet|today|above|below)\b")

# --- sentence structure ---------------------------------------------------------------------
_FILLER = _rx(r"^(?:ok(?:ay)?|also|and|but|oh|btw|by the way|hey|hi|hello|so|well|actually|"
              r"one more thing|just|now|alright|right|great|thanks|thank you|cool|fine|sure|"
              r"yes|yeah|no(?=\s*,)|please note)\b[\s,.!:;-]*")  # fmt: skip
_QUESTION = _rx(r"^(?:what|why|how|who|whom|whose|where|when|which|do(?!\s+not\b)|does|did|is|"
                r"are|was|were|am|have|has|had|shall|should|may|might|can|could|would|will|"
                r"isn't|aren't|didn't|don't you|won't)\b")  # fmt: skip
_POLITE = _rx(r"^(?:can|could|would|will) you (?:please |kindly )?(?=\w)")
_HYPOTHETICAL = _rx(
    r"\b(?:if|unless|suppose|supposing|imagine|pretend|hypothetically|let'?s say|for example|"
    r"for instance|e\.g|such as|in the story|roleplay|role-play|told me to|asked me to|"
    r"(?:he|she|they|someone|somebody|people|(?:my|his|her|their) \w+) "
    r"(?:said|says|told|tells|asked|asks|wrote|writes|wants|wanted))\b"
)
_PERSIST = (
    r"from now on|going forward|moving forward|in (?:the )?future|henceforth|"
    r"from here on(?: out)?|by default|every time|each time|at all times|"
    rf"in (?:every|each|all (?:of )?(?:your )?){ANSWERS}|for (?:all )?future {ANSWERS}"
)
_PERSIST_START = _rx(rf"^(?:{_PERSIST})[\s,:]*")
_PERSIST_END = _rx(rf"[\s,]+(?:{_PERSIST})$")
_POLITENESS = _rx(r"(?:^(?:please|kindly|pls)[\s,]+|[\s,]+(?:please|pls|thanks|thank you|again)$)")
_SENTENCE_END = _rx(r"(?<!\bdr)(?<!\bmr)(?<!\bms)(?<!\bst)(?<!\bmrs)(?<!\bprof)(?<!e\.g)"
                    r"(?<!i\.e)\.+(?=\s|$)|[!?;]+|\n+")  # fmt: skip
_START = (r"please|always|never|don'?t|do not|stop|avoid|call|address|refer|answer|reply|"
          r"respond|write|speak|talk|use|keep|be|sign|end|finish|close|format|make sure|"
          r"remember|from now on|going forward|i'?d|i'm|i (?:really )?(?:prefer|like|love|hate|want)|"
          r"my name|you can|you should|no more|"
          r"limit")  # fmt: skip
_CLAUSE_BREAK = _rx(rf"\s*,\s*(?:and |but |also |then )?(?=(?:{_START})\b)|"
                    rf"\s+(?:and|but|also|plus)\s+(?:also\s+)?(?=(?:{_START})\b)")  # fmt: skip
_QUOTES = {'"': '"', "“": "”", "«": "»", "‘": "’", "„": "“", "'": "'"}
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_BLOCKQUOTE = re.compile(r"^\s*>.*$", re.MULTILINE)


def extract(text: str) -> list[Candidate]:
    """The preferences stated in a user message, in order, without repeats."""
    found: list[Candidate] = []
    text = _BLOCKQUOTE.sub(" ", _CODE.sub(" ", (text or "")[:MAX_CHARS]))
    text = re.sub(r"(?<=\w)’(?=\w)", "'", text)  # a phone's "don’t" is "don't"
    for sentence, asked in _sentences(text):
        start = _peel(sentence)
        polite = _POLITE.match(start)
        if (not polite and (asked or _QUESTION.match(start))) or _HYPOTHETICAL.search(sentence):
            continue
        for clause in _split(sentence, _CLAUSE_BREAK):
            candidate = _clause(clause, asked)
            if candidate is not None and candidate not in found:
                found.append(candidate)
    return found


def classify(text: str) -> tuple[str, dict | None]:
    """Kind and checker for a preference typed by hand ("Answer in French.")."""
    found = extract(text)
    if found:
        return found[0].kind, found[0].checker
    if re.match(r"\s*the user\b", text, re.IGNORECASE):
        return "fact", None
    if re.match(r"\s*(?:never|do not|don'?t|avoid|stop)\b", text, re.IGNORECASE):
        return "avoid", None
    return "other", None


def _quote_spans(s: str) -> list[tuple[int, int]]:
    spans, i, unclosed = [], 0, set()  # a quote with no closer after i has none after i+1
    while i < len(s):
        close = _QUOTES.get(s[i])
        if close and close not in unclosed and (s[i] != "'" or i == 0 or not s[i - 1].isalnum()):
            j = i + 1
            while j < len(s) and not (
                s[j] == close and (close != "'" or j + 1 == len(s) or not s[j + 1].isalnum())
            ):
                j += 1
            if j == len(s):
                unclosed.add(close)
            else:
                spans.append((i, j + 1))
                i = j
        i += 1
    return spans


def _split(s: str, separator: re.Pattern) -> list[str]:
    spans = _quote_spans(s)
    pieces, at = [], 0
    for m in separator.finditer(s):
        if not any(a <= m.start() < b for a, b in spans):
            pieces.append(s[at : m.start()])
            at = m.end()
    return [p.strip() for p in [*pieces, s[at:]] if p.strip()]


def _sentences(text: str) -> list[tuple[str, bool]]:
    """(sentence, whether it was asked as a question)."""
    spans, out, at = _quote_spans(text), [], 0
    for m in _SENTENCE_END.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            out.append((text[at : m.start()].strip(), "?" in m.group()))
            at = m.end()
    out.append((text[at:].strip(), False))
    return [(s, asked) for s, asked in out if s]


def _peel(s: str) -> str:
    while (shorter := _FILLER.sub("", s)) != s:
        s = shorter
    return s


def _clause(clause: str, asked: bool) -> Candidate | None:
    if clause[0] in _QUOTES:
        return None  # a quotation, not the person speaking
    s, persistent = clause, False
    while True:  # peel fillers, politeness and persistence markers off both ends
        before = s
        s = _POLITENESS.sub("", _peel(s))
        if _PERSIST_START.search(s) or _PERSIST_END.search(s):
            s, persistent = _PERSIST_END.sub("", _PERSIST_START.sub("", s)), True
        if s == before:
            break
    polite = _POLITE.match(s)
    body = s[polite.end() :] if polite else s
    persistent = persistent or bool(re.match(r"(?:always|never)\b", body, re.IGNORECASE))
    candidate = _statement(body, persistent)
    if asked and candidate and not (persistent or candidate.kind == "name"):
        return None  # "can you answer in French?" asks for this answer only
    return candidate


_LEAD = _rx(r"^(?:i(?:'d| would)? (?:really )?(?:like|love|want|prefer|need)(?: for)? you to|"
            r"i(?:'d| would) rather you|i(?:'d| would) (?:like|love|prefer)(?: it)? if you|"
            r"make sure (?:that )?(?:you |to )?|you should|you must|you can|try to|please|"
            r"kindly|(?:can|could|would|will) you (?:please )?)\b\s*")  # fmt: skip
_REMEMBER = _rx(r"^(?:remember|keep in mind|bear in mind|don'?t forget|never forget|note|"
                r"for the record|fyi|just so you know)(?:\s*[:,]\s*|\s+that\s+|\s+)(?P<x>.+)$")  # fmt: skip
_PREFER = _rx(
    r"^i(?:'d| would)? (?:really |much |definitely |generally )?(?P<v>prefer|like|love)"
    r"\s+(?P<x>.+)$"
)
_DISLIKE = _rx(r"^i (?:really )?(?:hate|dislike|can'?t stand|don'?t like|do not like)"
               r"(?: it)?(?: when you)?\s+(?P<x>.+)$")  # fmt: skip
_NEGATIVE = _rx(r"^(?P<neg>never(?: ever)?|don'?t(?: ever)?|do not(?: ever)?|stop|avoid|"
                r"no more|no longer|no)\s+(?P<x>.+)$")  # fmt: skip
_ALWAYS = _rx(r"^always\s+(?P<x>.+)$")
_FIRST_PERSON = _rx(r"^(?:i|i'm|i've|i'd|i'll|my|me|mine)\b")


def _statement(s: str, persistent: bool) -> Candidate | None:
    if m := _LEAD.match(s):
        return _statement(s[m.end() :], persistent) if m.end() < len(s) else None
    if m := _REMEMBER.match(s):
        x = m["x"]
        if x.lower().startswith("to "):
            return _directive(x[3:], True) or _generic("Always", x[3:])
        if _FIRST_PERSON.match(x):  # a fact about the person, not about this chat
            return (
                None if re.search(r"\byou\b", x, re.I) else Candidate(_sentence(_third(x)), "fact")
            )
        return _directive(x, True)
    if m := _PREFER.match(s):
        x = re.sub(r"^it when you\s+", "", m["x"], flags=re.IGNORECASE)
        found = _directive(x, True)
        if found or m["v"].lower() != "prefer" or _DEICTIC.search(x):
            return found
        return Candidate(_sentence(_third(s)), "fact")
    if m := _DISLIKE.match(s):
        return _avoid("Do not", m["x"], True)
    if m := _NEGATIVE.match(s):
        neg = {"stop": "Stop", "avoid": "Avoid"}.get(m["neg"].lower(), "Never")
        if m["neg"].lower() in ("don't", "dont", "do not", "no more", "no longer", "no"):
            neg = "Do not"
        return _avoid(neg, m["x"], persistent or neg == "Never")
    if m := _ALWAYS.match(s):
        return _directive(m["x"], True) or _generic("Always", m["x"])
    return _directive(s, persistent) or (_generic("", s) if persistent else None)


# --- directives -----------------------------------------------------------------------------
_NAME = _rx(r"^(?:call(?:ed)? (?:me|the user)|address (?:me|the user)(?: as)?|"
            r"refer to (?:me|the user) as|my name(?:'s| is)|i(?:'m| am) called|"
            r"(?:to be|being) called|i go by|the user's name is)\s+(?P<x>.+)$")  # fmt: skip
_NAME_WORDS = re.compile(r"^([^\W\d_][\w'’.-]*)((?:\s+[A-Z][\w'’.-]*){0,2})(?P<rest>.*)$")
_SIGNOFF = _rx(rf"^(?:(?P<sign>sign) (?:off )?(?:(?:all |every |each )?(?:of )?(?:your |the )?"
               rf"{ANSWERS} )?(?P<how>with|as|using)|(?:end|finish|close|conclude|wrap up) "
               rf"(?:(?:all |every |each )(?:of )?)?(?:your |the )?(?P<obj>{ANSWERS}\s+)?"
               r"(?:with|by saying|by writing|using))\s+(?P<x>.+)$")  # fmt: skip
_LANGUAGE = _rx(r"^(?:(?:answer|reply|respond|write|speak|talk|communicate|chat)(?:ed)?"
                r"(?: to me| back| me)?(?: only)? in|(?:only )?(?:speak|use|switch to|stick to))"
                rf" {LANG}(?: only)?(?: language)?$")  # fmt: skip
_LANGUAGE_NOUN = _rx(rf"^(?:(?:your |all )?{ANSWERS}(?: to be)? )?in {LANG}(?: only)?$")
_FORMAT = _rx(r"^(?:(?:answer|reply|respond|write|format(?: your)?(?: answers| replies| "
              r"responses| everything)?|give (?:me )?(?:your )?answers|put (?:everything|your "
              r"answers|answers)|structure (?:your )?(?:answers|replies))\s+(?:in|as|with|"
              rf"using|into)|use|in|as|with|using)\s+(?:a |an )?{BULLETS}$")  # fmt: skip
_FORMAT_NOUN = _rx(rf"^(?:(?:your )?{ANSWERS}\s+(?:in|as)\s+)?(?:a |an )?{BULLETS}$")
_FORMAT_OTHER = _rx(r"^(?:use|answer in|write in|reply in) (?P<f>plain text|markdown|tables)$")
_KEEP = rf"keep (?:it|them|things|everything|(?:your |the |all )?{ANSWERS})"
_N_WORDS = (r"(?:under|below|less than|fewer than|at most|no more than|not more than|within|"
            r"max(?:imum)?(?: of)?|up to|a maximum of)?\s*(?P<n>\d+)\s+words"
            r"(?: or (?:less|fewer)| max(?:imum)?)?")  # fmt: skip
_MAX_WORDS = _rx(rf"^(?:{_KEEP}(?: short| brief| concise)?,?|limit (?:it|yourself|(?:your |the )?"
                 rf"{ANSWERS})|(?:answer|reply|respond|write)(?: me)?|be (?:brief|concise|short),?)"
                 rf"\s+(?:to |in |with |using )?{_N_WORDS}$")  # fmt: skip
_MAX_WORDS_NOUN = _rx(rf"^(?:{ANSWERS} (?:of )?)?{_N_WORDS}$")
_SHORT = _rx(rf"^(?:{_KEEP}|be)\s+"
             r"(?:short|brief|concise|succinct|to the point|terse)(?: and (?:sweet|simple|"
             r"to the point|clear))?$|^be less (?:verbose|wordy|long-winded)$")  # fmt: skip
_SHORT_NOUN = _rx(rf"^(?:short|shorter|brief|briefer|concise|succinct) {ANSWERS}$")
_LONG = _rx(rf"^(?:give|write) (?:me )?(?:longer|more detailed|longer, more detailed) {ANSWERS}$"
            r"|^be (?:more )?detailed$")  # fmt: skip
_LONG_NOUN = _rx(rf"^(?:longer|more detailed) {ANSWERS}$")
_ONE_SENTENCE = _rx(r"^(?:answer|reply|respond|keep it) in (?:one|a single) sentence$")
_STYLE = _rx(rf"^be (?P<deg>(?:a (?:bit|little) |much |slightly )?(?:more|less) |very )?{ADJ}$")
_STYLE_BARE = _rx(rf"^(?P<deg>(?:a (?:bit|little) )?(?:more|less) ){ADJ}$")
_TONE = _rx(rf"^(?:use|write in|answer in|adopt|take|keep) (?:a |an )?(?P<deg>more |less )?{ADJ} "
            r"(?:tone|style|register|voice)$")  # fmt: skip
_TALK_LIKE = _rx(r"^(?:talk|speak|write|answer|reply|respond)(?: to me)? (?:like|as if you were) "
                 r"(?P<who>.+)$")  # fmt: skip
_UNITS = _rx(r"^use (?:the )?(?P<u>british|american|uk|us|metric|imperial) "
             r"(?P<what>english|spelling|units|system)$")  # fmt: skip


def _directive(x: str, persistent: bool) -> Candidate | None:
    x = x.strip()
    if m := _NAME.match(x):
        name = _name(m["x"])
        return name and Candidate(f"Call the user {name}.", "name", {"type": "name", "name": name})
    if m := _SIGNOFF.match(x):  # "end with a bang" alone may be about anything
        about_answers = persistent or m["sign"] or m["obj"]
        return _signoff(m["x"].strip(), (m["how"] or "").lower() == "as", bool(about_answers))
    if (m := _LANGUAGE.match(x)) or (persistent and (m := _LANGUAGE_NOUN.match(x))):
        lang = _NATIVE.get(m["lang"].lower(), m["lang"].lower())
        code = CHECKED_LANGUAGES.get(lang)
        return Candidate(f"Answer in {lang.title()}.", "language",
                         {"type": "language", "language": code} if code else None)  # fmt: skip
    if (m := _FORMAT.match(x)) or (persistent and (m := _FORMAT_NOUN.match(x))):
        text = "Use numbered lists." if "numbered" in m["bul"].lower() else "Use bullet points."
        return Candidate(text, "format", {"type": "format", "format": "bullets"})
    if m := _FORMAT_OTHER.match(x):
        return Candidate(f"Use {m['f'].lower().replace('markdown', 'Markdown')}.", "format")
    if (m := _MAX_WORDS.match(x)) or (persistent and (m := _MAX_WORDS_NOUN.match(x))):
        n = int(m["n"])
        return Candidate(f"Keep answers under {n} words.", "length", {"type": "max_words", "n": n})
    if _SHORT.match(x) or (persistent and _SHORT_NOUN.match(x)):
        return Candidate("Keep answers short.", "length")
    if _LONG.match(x) or (persistent and _LONG_NOUN.match(x)):
        return Candidate("Give longer, more detailed answers.", "length")
    if _ONE_SENTENCE.match(x):
        return Candidate("Answer in one sentence.", "length")
    if (m := _STYLE.match(x)) or (m := _STYLE_BARE.match(x)):
        return Candidate(f"Be {(m['deg'] or '').lower()}{m['adj'].lower()}.", "style")
    if m := _TONE.match(x):
        return Candidate(f"Use a {(m['deg'] or '').lower()}{m['adj'].lower()} tone.", "style")
    if m := _TALK_LIKE.match(x):
        return None if _DEICTIC.search(m["who"]) else Candidate(_sentence(f"Talk like {_third(m['who'])}"), "style")  # fmt: skip
    if m := _UNITS.match(x):
        what = "units" if m["what"].lower() in ("units", "system") else "spelling"
        unit = m["u"].lower()
        unit = {"uk": "British", "us": "American"}.get(
            unit, unit.title() if what == "spelling" else unit
        )
        return Candidate(f"Use {unit} {what}.", "style")
    return None


def _name(text: str) -> str | None:
    m = _NAME_WORDS.match(text.strip())
    if not m or m[1].lower().rstrip(".") in NOT_NAMES:
        return None
    rest = m["rest"].strip()
    if rest and not re.match(r"(?:[,;:—–-]|and\b|but\b|instead\b|from now on\b)", rest, re.I):
        return None
    words = (m[1] + m[2]).split()
    return " ".join(w[0].upper() + w[1:] for w in words).rstrip(".") or None


def _signoff(x: str, as_name: bool, about_answers: bool) -> Candidate | None:
    literal = _unquote(x)
    if literal is None:
        if re.match(r"(?:a|an|the|some|your|my|his|her|their|one)\b", x, re.IGNORECASE):
            if not about_answers or _DEICTIC.search(x):
                return None
            return Candidate(_sentence(f"End every answer with {_third(x)}"), "style")
        if len(x.split()) > 5 or _DEICTIC.search(x):
            return None
        literal = f"— {_name(x) or x}" if as_name and _name(x) else x
    quote = '"' if "'" in literal else "'"
    return Candidate(f"End every answer with {quote}{literal}{quote}.", "signoff",
                     {"type": "signoff", "text": literal})  # fmt: skip


_EMOJI = _rx(rf"^(?:(?:use|add|include|put|using|adding|including|send|sending) )?(?:any |the )?"
             rf"(?:emojis?|emoticons|smileys)(?: in (?:your )?{ANSWERS})?$")  # fmt: skip
_LITERAL = _rx(r"^(?:say|saying|use|using|write|writing|start (?:with|by saying)|starting with|"
               r"begin with|beginning with|end with|ending with|include|including)\s+"
               r"(?P<the>the (?:word|phrase|expression)s?\s+)?(?P<lit>.+)$")  # fmt: skip


def _avoid(neg: str, x: str, persistent: bool) -> Candidate | None:
    x = x.strip()
    if m := _NAME.match(x):
        if name := _name(m["x"]):
            return Candidate(
                f"Do not call the user {name}.", "avoid", {"type": "avoid", "text": name}
            )
        return None
    if m := re.match(rf"^being (?:so |too )?{ADJ}$", x, re.IGNORECASE):
        return Candidate(f"Be less {m['adj'].lower()}.", "style")
    if _EMOJI.match(x):
        return Candidate("Do not use emojis.", "avoid", {"type": "no_emoji"})
    if m := _LITERAL.match(x):
        literal = _unquote(m["lit"])
        if literal is None and m["the"] and len(m["lit"].split()) <= 4:
            literal = m["lit"].strip()
        if literal:
            quote = '"' if "'" in literal else "'"
            return Candidate(f"Never say {quote}{literal}{quote}.", "avoid",
                             {"type": "avoid", "text": literal})  # fmt: skip
    if neg == "Do not" and not persistent and not _BARE_DONT.match(x):
        return None
    if neg == "Avoid" and len(x.split()) <= 4 and not _DEICTIC.search(x):
        return Candidate(_sentence(f"Avoid {_third(x)}"), "avoid")  # "avoid jargon"
    return _generic(neg, x, avoid=True)


def _generic(lead: str, x: str, avoid: bool = False) -> Candidate | None:
    """A standing instruction we cannot check: kept as said, in the third person."""
    words = x.split()
    first = words[0].lower() if words else ""
    verb = first in VERBS or (lead == "Stop" and first.endswith("ing"))
    if not verb or _DEICTIC.search(x) or len(words) > 20:
        return None
    return Candidate(_sentence(f"{lead} {_third(x)}".strip()), "avoid" if avoid else "other")


# --- wording --------------------------------------------------------------------------------
def _unquote(x: str) -> str | None:
    x = x.strip()
    if len(x) >= 2 and _QUOTES.get(x[0]) == x[-1] and _quote_spans(x) == [(0, len(x))]:
        return x[1:-1].strip() or None
    return None


__all__ = ["CHECKED_LANGUAGES", "KINDS", "Candidate", "classify", "extract"]
