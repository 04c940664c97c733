"""Checking an answer against a preference's checker, cheaply and without a model.

A checker is a small JSON object stored with a preference (personal/log/preferences.py):

    {"type": "name", "name": "Sam"}              the answer addresses the user by name
    {"type": "opening", "text": "Howdy"}         the answer begins with it
    {"type": "signoff", "text": "— Sam"}         the answer ends with it
    {"type": "include", "text": "Sources:"}      it occurs somewhere in the answer
    {"type": "avoid", "text": "as an AI"}        it does not occur (any case)
    {"type": "no_emoji"}                         no emoji
    {"type": "format", "format": "bullets"}      ≥ 2 lines start with -, *, •, "1." (or
                                                 "numbered": ≥ 2 lines "1." / "2)"; "plain":
                                                 no Markdown marks; "no_lists": no list line)
    {"type": "language", "language": "fr"}       the answer is mostly in that language
    {"type": "max_words", "n": 50}               at most n words (min_words: at least)
    {"type": "max_sentences", "n": 1}            at most n sentences
    {"type": "case", "case": "lower"}            no capital letter ("upper": no small one)
    {"type": "question"}                         it ends with a question (a short sign-off
                                                 line may follow it)
    {"type": "fact", "key": "city", "value": "Lyon"}   the answer states the value

Any checker may carry `"scope": "email"` or `"code"`: it applies to answers of that kind
only (`applies`). The learning loop's distill step trains only on answers that pass every
check; its gate measures adherence with these functions.
"""

from __future__ import annotations

import re
import unicodedata

TYPES = ("name", "opening", "signoff", "include", "avoid", "no_emoji", "format", "language",
         "max_words", "min_words", "max_sentences", "fact", "case", "question")  # fmt: skip
CASES = ("lower", "upper")
FORMATS = ("bullets", "numbered", "plain", "no_lists")
SCOPES = ("answers", "email", "code")

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S", re.MULTILINE)  # a numbered list too
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+\S", re.MULTILINE)
_MARKDOWN = re.compile(r"^\s*(?:[-*•]|\d+[.)]|#{1,6})\s|\*\*|__|`|^\s*>", re.MULTILINE)
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\u2b50\u2b55\ufe0f]"
)
_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE = re.compile(r"[^.!?…]+(?:[.!?…]+|$)")
_LEADING_NOISE = re.compile(r"^[\s\"'“”‘’*_#>-]+")

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
    "sv": "och i att det som en på är av för med till den har de inte om ett han men var "
    "jag sig från vi så kan man när år säga hon under också efter",
    "pl": "i w nie na się z do to że jest o jak co po tak ale za od tylko czy ja może być "
    "przez jego już bardzo jej dla są",
    "tr": "bir ve bu da de için ile o çok ne gibi daha ama ben sen var mı mi değil en kadar "
    "olarak ya sonra her şey",
    # Norwegian (Bokmål, and Nynorsk's commonest forms) and Danish share most of these;
    # å/at, av/af, meg/mig, hva/hvad, nå/nu, mye/meget, ble/blev tell them apart
    "no": "og i det som er på en et til av for med ikke jeg har de den han hun vi var seg "
    "meg deg hva nå også fra etter bare mye kan skal vil å ble blir noe noen eller men om "
    "så dette disse hvor hvordan hvorfor være ikkje eg ho kva dei",
    "da": "og i det som er på en et til af for med ikke jeg har de den han hun vi var sig "
    "mig dig hvad nu også fra efter bare meget kan skal vil at blev bliver noget nogen "
    "eller men om så dette disse hvor hvordan hvorfor være",
    "fi": "ja on ei se että hän oli ovat mutta tai kun niin kuin myös joka jos vain sen "
    "tämä minä sinä me te he mitä mikä voi ole olen olla hyvin kanssa sitten nyt jo "
    "joten jälkeen ennen koska kaikki sekä vaan hänen minun sinun siitä sitä tässä siksi",
    "cs": "a je to v na se že s z do o jak ale jsem jsou by k pro tak jako už které který "
    "jeho její nebo když jen být ve si co po od",
    "ro": "și şi în de la cu pe nu este sunt că o un care pentru mai din ce se sau dar fi "
    "a am ai au acest această ca le lui ei al",
    "hu": "a az és hogy nem is egy van de meg csak ez már mint el ki volt vagy még azt ha "
    "lesz most nagyon ami amely mert ezért után át pedig hanem között előtt szerint minden "
    "nincs lehet kell",
    "ca": "el la els les de i que a en un una és per amb no com més però aquest aquesta "
    "són molt també jo ell ella del al cal abans tot tota tots totes perquè així després "
    "fins sense ha han hem seu seva",
    "id": "yang dan di ini itu dengan untuk dari tidak ada akan saya kami kita mereka "
    "adalah juga pada ke bisa atau sudah karena dalam oleh anda",
    "vi": "và của là có không được trong cho này những một các với người để đã thì khi "
    "cũng như tôi bạn rất đó",
}
# Letters only some of them write: a word with one counts for each of those a share too.
LETTERS = {"cs": "řůě", "pl": "łąęśźżćń", "ro": "ășşțţ", "hu": "őű", "tr": "ğı", "es": "ñ",
           "pt": "ãõ", "vi": "ơưđạảấầẩậắằặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ",
           "no": "øæ", "da": "øæ", "de": "ß"}  # fmt: skip
_SETS = {lang: set(words.split()) for lang, words in STOPWORDS.items()}
_BY_LETTER: dict[str, list[str]] = {}
for _lang, _letters in LETTERS.items():
    for _ch in _letters:
        _BY_LETTER.setdefault(_ch, []).append(_lang)
_SHARES = {word: 1 / sum(word in s for s in _SETS.values()) for s in _SETS.values() for word in s}
LANGUAGES = tuple(STOPWORDS)
# Languages told apart by their script: the share of letters in it.
SCRIPTS = {"ja": ("HIRAGANA", "KATAKANA", "CJK"), "zh": ("CJK",), "ko": ("HANGUL",),
           "ru": ("CYRILLIC",), "uk": ("CYRILLIC",), "el": ("GREEK",), "ar": ("ARABIC",),
           "he": ("HEBREW",), "hi": ("DEVANAGARI",), "th": ("THAI",)}  # fmt: skip
KANA = ("HIRAGANA", "KATAKANA")


def language_scores(text: str) -> dict[str, float]:
    """Per language written in Latin letters, the share of `text`'s words that are its
    stopwords."""
    words = [w.lower() for w in _WORD.findall(text)]
    scores = dict.fromkeys(LANGUAGES, 0.0)
    for word in words:
        for lang, stop in _SETS.items():
            if word in stop:
                scores[lang] += _SHARES[word]
        marked = {lang for ch in set(word) for lang in _BY_LETTER.get(ch, ())}
        for lang in marked:
            scores[lang] += 1 / len(marked)
    return {lang: score / max(len(words), 1) for lang, score in scores.items()}


def script_shares(text: str) -> dict[str, float]:
    """The share of letters in each script (by the first word of its Unicode name)."""
    counts: dict[str, int] = {}
    total = 0
    for ch in text:
        if ch.isalpha():
            total += 1
            script = unicodedata.name(ch, "UNKNOWN").split()[0]
            counts[script] = counts.get(script, 0) + 1
    return {s: n / total for s, n in counts.items()} if total else {}


def detect_language(text: str, min_share: float = 0.08) -> str | None:
    """The most likely language: by script where the script tells (Japanese, Chinese,
    Korean, Russian, Greek, Arabic, Hebrew, Hindi, Thai), else by function words (and the
    letters only some of them write) among en/fr/de/es/it/pt/nl/sv/pl/tr/no/da/fi/cs/ro/hu/
    ca/id/vi; None when too little evidence, or when two tie (a short Norwegian answer
    can be Danish word for word)."""
    shares = script_shares(text)
    if sum(v for k, v in shares.items() if k != "LATIN") > 0.5:
        if sum(shares.get(k, 0) for k in KANA) > 0.05:
            return "ja"
        best = max((k for k in shares if k != "LATIN"), key=shares.__getitem__)
        for lang, scripts in SCRIPTS.items():
            if best in scripts and lang not in ("ja", "uk"):
                return lang
        return None
    scores = language_scores(text)
    first, second = sorted(scores.values(), reverse=True)[:2]
    if first < min_share or first == second:  # a tie: nothing tells them apart
        return None
    return max(scores, key=scores.__getitem__)


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _in_language(answer: str, language: str) -> bool:
    if language in SCRIPTS and language not in ("ja", "zh"):
        shares = script_shares(answer)
        return sum(shares.get(s, 0) for s in SCRIPTS[language]) > 0.5
    return detect_language(answer) == language


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.casefold()) if len(w) > 2 or not w.isascii()]


def check(checker: dict, answer: str) -> bool:
    """Whether `answer` complies with `checker` (ValueError for an unknown or malformed
    checker)."""
    kind = checker.get("type")
    if kind == "name":
        name = re.escape(_norm(checker["name"]))
        return re.search(rf"(?<!\w){name}(?!\w)", _norm(answer), re.IGNORECASE) is not None
    if kind == "opening":
        text, start = _norm(checker["text"]).casefold(), _norm(answer).casefold()
        start = _LEADING_NOISE.sub("", start)
        bare = text.rstrip(".!,:;")
        return bool(bare) and (start.startswith(text) or start.startswith(bare))
    if kind == "signoff":
        text, end = _norm(checker["text"]), _norm(answer)
        return bool(text) and (end.endswith(text) or end.rstrip(".!").endswith(text.rstrip(".!")))
    if kind == "include":
        return _norm(checker["text"]).casefold() in _norm(answer).casefold()
    if kind == "avoid":
        return _norm(checker["text"]).casefold() not in _norm(answer).casefold()
    if kind == "no_emoji":
        return _EMOJI.search(answer) is None
    if kind == "format":
        fmt = checker.get("format")
        if fmt == "bullets":
            return len(_BULLET.findall(answer)) >= 2
        if fmt == "numbered":
            return len(_NUMBERED.findall(answer)) >= 2
        if fmt == "plain":
            return _MARKDOWN.search(answer) is None
        if fmt == "no_lists":
            return not _BULLET.search(answer)
        raise ValueError(f"unknown format checker {fmt!r} (known: {', '.join(FORMATS)})")
    if kind == "language":
        return _in_language(answer, checker["language"])
    if kind == "max_words":
        return len(answer.split()) <= int(checker["n"])
    if kind == "min_words":
        return len(answer.split()) >= int(checker["n"])
    if kind == "max_sentences":
        return len([s for s in _SENTENCE.findall(answer.strip()) if s.strip()]) <= int(checker["n"])
    if kind == "case":
        letters = [c for c in answer if c.isalpha() and c.lower() != c.upper()]  # cased ones
        if checker.get("case") not in CASES:
            raise ValueError(f"unknown case {checker.get('case')!r} (known: {', '.join(CASES)})")
        wrong = str.isupper if checker["case"] == "lower" else str.islower
        return bool(letters) and not any(wrong(c) for c in letters)
    if kind == "question":
        return ends_with_question(answer)
    if kind == "fact":
        said = set(_content_words(answer))
        wanted = _content_words(str(checker["value"]))
        return bool(wanted) and all(w in said for w in wanted)
    raise ValueError(f"unknown checker type {kind!r} (known: {', '.join(TYPES)})")


def ends_with_question(answer: str) -> bool:
    """The last sentence asks something; a short last line without one (a sign-off, "— Sam")
    may come after it."""
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    if len(lines) > 1 and "?" not in lines[-1] and len(lines[-1].split()) <= 5:
        lines.pop()
    return bool(lines) and lines[-1].rstrip(" \"'”’)*_").endswith("?")


def applies(checker: dict, scope: str) -> bool:
    """Whether `checker` is meant for an answer of this scope ("answers", "email", "code")."""
    return checker.get("scope", "answers") in ("answers", scope)


def problems(checker: object) -> list[str]:
    """Everything wrong with a checker (empty: it is usable). For imports and hand edits:
    a bad checker is refused with its reason, never stored to break training later."""
    if not isinstance(checker, dict):
        return ["a checker is a JSON object"]
    kind = checker.get("type")
    if kind == "withdraw":  # not a checker: what a withdrawal names (never stored as one)
        return [] if isinstance(checker.get("kind"), str) else ["withdraw: 'kind' is missing"]
    if kind not in TYPES:
        return [f"unknown checker type {kind!r} (known: {', '.join(TYPES)})"]
    need = {"name": {"name": str}, "opening": {"text": str}, "signoff": {"text": str},
            "include": {"text": str}, "avoid": {"text": str}, "format": {"format": str},
            "language": {"language": str}, "max_words": {"n": int}, "min_words": {"n": int},
            "max_sentences": {"n": int}, "fact": {"key": str, "value": str},
            "case": {"case": str}}.get(kind, {})  # fmt: skip
    out = [f"{kind} checker: {field!r} must be a {t.__name__}" for field, t in need.items()
           if not isinstance(checker.get(field), t) or isinstance(checker.get(field), bool)]  # fmt: skip
    out += [f"{kind} checker: {f!r} must not be empty" for f, t in need.items()
            if t is str and isinstance(checker.get(f), str) and not checker[f].strip()]  # fmt: skip
    out += [f"{kind} checker: 'n' must be positive" for f, t in need.items()
            if t is int and isinstance(checker.get(f), int) and checker[f] < 1]  # fmt: skip
    if kind == "format" and checker.get("format") not in FORMATS:
        out.append(f"format checker: format must be one of {', '.join(FORMATS)}")
    if kind == "case" and checker.get("case") not in CASES:
        out.append(f"case checker: case must be one of {', '.join(CASES)}")
    if checker.get("scope", "answers") not in SCOPES:
        out.append(f"scope must be one of {', '.join(SCOPES)}")
    return out


__all__ = ["LANGUAGES", "TYPES", "applies", "check", "detect_language", "language_scores",
           "problems"]  # fmt: skip
