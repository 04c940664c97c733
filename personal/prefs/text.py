"""The text machinery of the extractor: sentences, clauses, quotes and literals.

Everything here is linear in the length of its input (the extractor reads user messages
and imported files: a hostile one must not cost more than a well-formed one), and every
input is bounded: `normalise` collapses whitespace runs and the extractor reads at most
`MAX_CHARS` characters, of which a sentence longer than `MAX_SENTENCE` is skipped — a
preference is said in a few words, never in a pasted page.
"""

from __future__ import annotations

import re

MAX_CHARS = 4000  # of a long message (a pasted document) only the start is read
MAX_SENTENCE = 320  # characters; a longer "sentence" is prose, not a preference

QUOTES = {'"': '"', "“": "”", "«": "»", "‘": "’", "„": "“", "'": "'", "`": "`"}
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_BLOCKQUOTE = re.compile(r"^[ \t]*>[^\n]*$", re.MULTILINE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NEWLINES = re.compile(r"\n\s*")
_SENTENCE_END = re.compile(
    r"(?<!\bdr)(?<!\bmr)(?<!\bms)(?<!\bst)(?<!\bmrs)(?<!\bprof)(?<!e\.g)(?<!i\.e)\.+(?=\s|$)"
    r"|[!?]+|;+(?!\w)|\n+",  # ("TL;DR" is one word)
    re.IGNORECASE,
)


def rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Chat shorthand, read as what it stands for (outside quotes: a literal is kept as typed).
# Only words that stand for nothing else: not "ill", "well", "were", "lets", "id" (but "id
# like"), "r".
_SHORTHAND = {"im": "i'm", "ive": "i've", "dont": "don't", "doesnt": "doesn't",
              "didnt": "didn't", "isnt": "isn't", "arent": "aren't", "wasnt": "wasn't",
              "cant": "can't", "wont": "won't", "wouldnt": "wouldn't", "shouldnt": "shouldn't",
              "couldnt": "couldn't", "havent": "haven't", "youre": "you're", "youve": "you've",
              "thats": "that's", "whats": "what's", "theres": "there's", "u": "you",
              "ur": "your", "pls": "please", "plz": "please", "thx": "thanks",
              "thanx": "thanks", "btw": "by the way", "pts": "points", "msg": "message",
              "msgs": "messages", "id": "i'd"}  # fmt: skip
_SHORT_WORD = re.compile(r"(?<![-'’])\b(?:(?!id\b)(?:" + "|".join(_SHORTHAND) + r")|id(?= (?:like|love|"
                         r"rather|prefer|appreciate|want|be)\b))\b(?![-'’])", re.IGNORECASE)  # fmt: skip
_POSSESSIVE = re.compile(r"\b((?:my|our) [a-z]+?)s (?=name\b)", re.IGNORECASE)  # "my dogs name"


def _spelled_out(text: str) -> str:
    def word(m: re.Match[str]) -> str:
        full = _SHORTHAND[m[0].lower()]
        return full[:1].upper() + full[1:] if m[0][:1].isupper() else full

    return _POSSESSIVE.sub(r"\1's ", _SHORT_WORD.sub(word, text))


def plain_register(text: str) -> str:
    """ "im noor btw, pls use that" → "i'm noor by the way, please use that": chat
    shorthand spelled out, quotations left as they are."""
    out, last = [], 0
    for a, b in quote_spans(text):
        out += [_spelled_out(text[last:a]), text[a:b]]
        last = b
    return "".join([*out, _spelled_out(text[last:])])


def normalise(text: str) -> str:
    """The part of a message the extractor reads: code and block quotes out (they are not
    the person speaking), whitespace collapsed, phone apostrophes made plain, chat shorthand
    spelled out."""
    text = (text or "")[:MAX_CHARS]
    if "`" in text:
        text = _CODE.sub(" ", text)
    if ">" in text:
        text = _BLOCKQUOTE.sub(" ", text)
    text = _NEWLINES.sub("\n", _SPACES.sub(" ", text))
    return plain_register(re.sub(r"(?<=\w)’(?=\w)", "'", text))


def quote_spans(s: str) -> list[tuple[int, int]]:
    """(start, end) of each quotation, quote marks included. An apostrophe inside a word
    ("don't") is not a quote; a quote mark with no closer opens nothing."""
    spans, i, unclosed = [], 0, set()
    while i < len(s):
        close = QUOTES.get(s[i])
        if close and close not in unclosed and (s[i] not in "'`" or i == 0 or not s[i - 1].isalnum()):
            j = s.find(close, i + 1)
            while close == "'" and j != -1 and j + 1 < len(s) and s[j + 1].isalnum():
                j = s.find(close, j + 1)  # "it's" inside a quote does not close it
            if j == -1:
                unclosed.add(close)
            else:
                spans.append((i, j + 1))
                i = j
        i += 1
    return spans


def outside_quotes(s: str) -> str:
    """`s` with each quotation replaced by an empty pair of quotes: what the person said
    around a literal ("finish with 'Ciao for now'" is not "for now")."""
    out, at = [], 0
    for a, b in quote_spans(s):
        out.append(s[at:a] + '""')
        at = b
    return "".join(out) + s[at:]


def split_outside_quotes(s: str, separator: re.Pattern[str]) -> list[str]:
    spans = quote_spans(s)
    pieces, at = [], 0
    for m in separator.finditer(s):
        if not any(a <= m.start() < b for a, b in spans):
            pieces.append(s[at : m.start()])
            at = m.end()
    return [p.strip() for p in [*pieces, s[at:]] if p.strip()]


def sentences(text: str) -> list[tuple[str, bool]]:
    """(sentence, whether it was asked as a question), long ones left out."""
    spans, out, at = quote_spans(text), [], 0
    for m in _SENTENCE_END.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            out.append((text[at : m.start()].strip(), "?" in m.group()))
            at = m.end()
    out.append((text[at:].strip(), False))
    return [(s, asked) for s, asked in out if s and len(s) <= MAX_SENTENCE]


def literals(s: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of every quoted literal in `s`, quote marks stripped."""
    out = []
    for a, b in quote_spans(s):
        inner = s[a + 1 : b - 1].strip()
        if inner:
            out.append((a, b, inner))
    return out


def unquote(x: str) -> str | None:
    """The text of `x` if all of it is one quotation."""
    x = x.strip()
    if len(x) >= 2 and QUOTES.get(x[0]) == x[-1] and quote_spans(x) == [(0, len(x))]:
        return x[1:-1].strip() or None
    return None


def as_sentence(text: str) -> str:
    """Tidy spaces, capitalise, end with a full stop."""
    text = " ".join(text.split()).rstrip(",;: ")
    text = text[:1].upper() + text[1:]
    return text if text[-1:] in ".!?'\"”’" else text + "."


def quoted(literal: str) -> str:
    """A literal in the quotes a canonical preference text uses."""
    quote = '"' if "'" in literal else "'"
    return f"{quote}{literal}{quote}"
