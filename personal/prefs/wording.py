"""Rewording what a person said about themselves for an instruction to the model:
"remember I like my tea black" is kept as "The user likes their tea black."."""

from __future__ import annotations

import re

from personal.prefs.text import as_sentence

# past tenses and modals: "I went" stays "the user went", not "the user wents"
_PAST_WORDS = (
    "went had got made did saw came took left bought found gave grew knew lost met paid ran said "
    "sat sold sent spent stood thought told understood wore won wrote was were began broke "
    "brought built caught chose drove ate fell felt flew forgot heard held kept led lent meant "
    "rode rose slept spoke stole swam taught threw woke can could will would should must might "
    "may shall can't won't wouldn't couldn't shouldn't didn't wasn't used"
)
_PAST = frozenset(_PAST_WORDS.split(" "))
_AGREE = {"am": "is", "have": "has", "do": "does", "don't": "doesn't", "haven't": "hasn't",
          "'m": "is", "’m": "is", "'ve": "has", "’ve": "has", "'d": "would", "’d": "would",
          "'ll": "will", "’ll": "will"}  # fmt: skip
_THEY = {"am": "are", "'m": "are", "’m": "are", "'ve": "have", "’ve": "have", "'d": "would",
         "’d": "would", "'ll": "will", "’ll": "will", "was": "were"}  # fmt: skip
_PERSON = re.compile(r"\b(?:(?P<i>i)(?:(?P<c>['’](?:m|ve|d|ll))\b|\s+(?P<adv>(?:really|also|always|never|"
              r"usually|often|sometimes|just|only|still|mostly|generally|actually|definitely|"
              r"strongly|personally|normally|typically|rarely|honestly|absolutely|totally)\s+)?(?P<v>[a-z'’]+)|\b)|(?P<poss>my|mine)\b|(?P<obj>me|myself)\b)", re.IGNORECASE)  # fmt: skip


def _agree(verb: str) -> str:
    low = verb.lower()
    if low in _AGREE:
        return _AGREE[low]
    if low in _PAST or low.endswith("ed") or not low.isalpha():
        return verb
    if re.search(r"(?:s|sh|ch|x|z|o)$", low):
        return verb + "es"
    if re.search(r"[^aeiou]y$", low):
        return verb[:-1] + "ies"
    return verb + "s"


def third_person(text: str) -> str:
    """First person to third: "I like my tea" -> "the user likes their tea"."""
    said = False

    def swap(m: re.Match) -> str:
        nonlocal said
        first, said = not said, True
        if m["poss"]:
            mine = m["poss"].lower() == "mine"
            return "the user's" if first else "theirs" if mine else "their"
        if m["obj"]:
            return "themselves" if m["obj"].lower() == "myself" else "the user" if first else "them"
        subject = "the user" if first else "they"
        if m["c"]:
            return f"{subject} {(_AGREE if first else _THEY)[m['c'].lower()]}"
        if m["v"] is None:
            return subject
        verb = _agree(m["v"]) if first else _THEY.get(m["v"].lower(), m["v"])
        return f"{subject} {m['adv'] or ''}{verb}"

    return _PERSON.sub(swap, text)


# a verb after "I'd rather you", "it would be great if you", "make sure every reply …"
_IRREGULAR = {"went": "go", "goes": "go", "led": "lead", "ran": "run", "wrote": "write", "began": "begin",
              "kept": "keep", "spoke": "speak", "gave": "give", "stuck": "stick", "put": "put",
              "said": "say", "says": "say", "made": "make", "let": "let", "told": "tell",
              "sent": "send", "left": "leave", "quit": "quit", "did": "do", "does": "do",
              "didn't": "don't", "doesn't": "don't", "wouldn't": "don't", "weren't": "don't be",
              "wasn't": "don't be",
              "stopped": "stop", "wrapped": "wrap", "skipped": "skip", "dropped": "drop",
              "is": "be", "are": "be", "was": "be", "were": "be", "came": "come",
              "comes": "come"}  # fmt: skip
_ADVERB = frozenset(["never", "always", "not", "only", "just", "also", "ever", "really"])


def imperative(text: str, verbs: set[str] | frozenset[str]) -> str:
    """The verb at the start of `text` (after an adverb) in its base form, so a wish or a
    rule reads as the instruction it is: "never went past" → "never go past", "answered in"
    → "answer in", "opens with" → "open with". A word that is not a known verb is kept."""
    words = text.split(" ")
    i = 1 if len(words) > 1 and words[0].lower() in _ADVERB else 0
    word = words[i].lower()
    if word in _IRREGULAR:
        base = _IRREGULAR[word]
    else:  # "answered", "uses", "finishes", "keeping", "stopping", "closing"
        stems = [word[:-3], word[:-3] + "e", word[:-4]] if word.endswith("ing") else (
            [word[:-2], word[:-1], word[:-3], word[:-3] + "y"] if word.endswith("ed") else (
            [word[:-2], word[:-1], word[:-3] + "y"] if word.endswith("es") else [word[:-1]]
            if word.endswith("s") else []))  # fmt: skip  ("replied", "replies" → "reply")
        base = next((stem for stem in stems if stem in verbs), None)
        if base is None:
            return text
    if words[i][:1].isupper():
        base = base[:1].upper() + base[1:]
    return " ".join([*words[:i], base, *words[i + 1 :]])


__all__ = ["as_sentence", "imperative", "third_person"]
