"""Checking an answer against a preference's checker, cheaply and without a model.

A checker is a small JSON object stored with a preference (see personal/prefs/preferences.py):

    {"type": "name", "name": "Sam"}            the answer addresses the user by name
    {"type": "signoff", "text": "— Sam"}       the answer ends with it
    {"type": "format", "format": "bullets"}    at least 2 lines start with -, *, • or "1."
    {"type": "language", "language": "fr"}     the answer is mostly in that language
    {"type": "max_words", "n": 50}             at most n words
    {"type": "avoid", "text": "as an AI"}      the text does not occur (any case)
    {"type": "no_emoji"}                       no emoji

The learning loop's gate uses `check` to keep only training answers that comply.
"""

from __future__ import annotations

import re
import unicodedata

TYPES = ("name", "signoff", "format", "language", "max_words", "avoid", "no_emoji")

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S", re.MULTILINE)
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\u2b50\u2b55\ufe0f]"
)
_WORD = re.compile(r"[^\W\d_]+")

# Frequent function words; a word shared by several languages counts for each a share.
STOPWORDS = {
    "en": "the and is are of to in that it you for with this was be not on have what but "
    "they can your from will would there an or my we he she which do does if at as by",
    "fr": "le la les des est et un une du que qui pas pour dans sur avec ce cette il elle "
    "nous vous je tu ne au aux sont mais ou son sa ses plus très être avoir c j ai on",
    "de": "der die das und ist nicht ein eine ich du sie wir ihr es mit auf für von zu den "
    "dem des im auch sich sind aber wie oder wenn dass noch nur kann hat haben wird bei",
    "es": "el la los las de que y en un una es por con para no se su al lo como más pero "
    "sus le ya o este sí porque esta está son muy también hay yo del",
    "it": "il lo la gli le di che e è un una per non con sono del della dei nel alla anche "
    "come più ma ho questo questa si mi ti ci perché molto essere se",
    "pt": "o a os as de que e é um uma do da dos das em no na para com não por se mais mas "
    "como ao seu sua são está também muito eu você isso ele ela",
    "nl": "de het een en van is dat niet in op te zijn voor met die er maar ook als aan bij "
    "je ik we wij hij zij wat naar om dan nog kan heeft hebben wordt worden deze dit geen",
}
_SETS = {lang: set(words.split()) for lang, words in STOPWORDS.items()}
_SHARES = {word: 1 / sum(word in s for s in _SETS.values()) for s in _SETS.values() for word in s}
LANGUAGES = tuple(STOPWORDS)


def language_scores(text: str) -> dict[str, float]:
    """Per language, the share of `text`'s words that are its stopwords."""
    words = [w.lower() for w in _WORD.findall(text)]
    scores = dict.fromkeys(LANGUAGES, 0.0)
    for word in words:
        for lang, stop in _SETS.items():
            if word in stop:
                scores[lang] += _SHARES[word]
    return {lang: score / max(len(words), 1) for lang, score in scores.items()}


def detect_language(text: str, min_share: float = 0.08) -> str | None:
    """The most likely of en/fr/de/es/it/pt/nl, or None when too few stopwords occur
    (short or unusual text, another language)."""
    scores = language_scores(text)
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] >= min_share else None


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def check(checker: dict, answer: str) -> bool:
    """Whether `answer` complies with `checker` (ValueError for an unknown type)."""
    kind = checker.get("type")
    if kind == "name":
        name = re.escape(_norm(checker["name"]))
        return re.search(rf"(?<!\w){name}(?!\w)", _norm(answer), re.IGNORECASE) is not None
    if kind == "signoff":
        text, end = _norm(checker["text"]), _norm(answer)
        return bool(text) and (end.endswith(text) or end.rstrip(".!").endswith(text))
    if kind == "format":
        if checker.get("format") != "bullets":
            raise ValueError(f"unknown format checker {checker.get('format')!r}")
        return len(_BULLET.findall(answer)) >= 2
    if kind == "language":
        return detect_language(answer) == checker["language"]
    if kind == "max_words":
        return len(answer.split()) <= int(checker["n"])
    if kind == "avoid":
        return _norm(checker["text"]).casefold() not in _norm(answer).casefold()
    if kind == "no_emoji":
        return _EMOJI.search(answer) is None
    raise ValueError(f"unknown checker type {kind!r} (known: {', '.join(TYPES)})")


__all__ = ["LANGUAGES", "TYPES", "check", "detect_language", "language_scores"]
