"""Directives about the answer as a whole: the person's name, the language, the format,
the length, the tone — each recognised by its content words (a language name, a format
noun, a number of words or sentences) after the lead-in has been peeled off, and given a
checker wherever an answer can be checked against it (personal/prefs/check.py)."""

from __future__ import annotations

import re

from personal.prefs.facts import NOT_VALUES
from personal.prefs.literals import ANSWERS, ANSWERS_NP, EVERYTHING
from personal.prefs.text import as_sentence, quoted, rx, unquote
from personal.prefs.wording import third_person

SHORT_WORDS = 40  # "keep it short": checked as at most this many words
SHORT = "Keep answers short."  # the text of that vaguer length (a stated bound replaces it)
LONG_WORDS = 80  # "give longer answers": at least this many
CHECKED_LANGUAGES = {"english": "en", "french": "fr", "german": "de", "spanish": "es",
                     "italian": "it", "portuguese": "pt", "dutch": "nl", "swedish": "sv",
                     "polish": "pl", "turkish": "tr", "japanese": "ja", "chinese": "zh",
                     "mandarin": "zh", "korean": "ko", "russian": "ru", "ukrainian": "uk",
                     "greek": "el", "arabic": "ar", "hebrew": "he", "hindi": "hi",
                     "thai": "th", "norwegian": "no", "danish": "da", "finnish": "fi",
                     "czech": "cs", "romanian": "ro", "hungarian": "hu", "catalan": "ca",
                     "indonesian": "id", "vietnamese": "vi"}  # fmt: skip
_NATIVE = {"français": "french", "francais": "french", "deutsch": "german",
           "español": "spanish", "espanol": "spanish", "italiano": "italian",
           "português": "portuguese", "portugues": "portuguese", "nederlands": "dutch",
           "svenska": "swedish", "polski": "polish", "türkçe": "turkish", "norsk": "norwegian",
           "bokmål": "norwegian", "nynorsk": "norwegian", "dansk": "danish",
           "suomi": "finnish", "čeština": "czech", "română": "romanian",
           "magyar": "hungarian", "català": "catalan"}  # fmt: skip
_OTHER_LANGUAGES = ["cantonese", "welsh", "irish", "latin", "esperanto"]  # no checker: unchecked
LANG = "(?P<lang>" + "|".join([*CHECKED_LANGUAGES, *_NATIVE, *_OTHER_LANGUAGES]) + ")"
_LANGUAGE = rx(
    r"^(?:(?:answer|reply|respond|write|speak|talk|communicate|chat|get back)(?:ed)?(?: back)?"
    r"(?: to me| me| with me| everything(?: you (?:say|write|send))?)?(?: only| exclusively| always)?"
    r"(?: in)?|(?:only )?(?:speak|use|switch to|stick to|stick with|keep to|stay with)|write "
    rf"{ANSWERS_NP} in|use)"
    rf" {LANG}(?: only)?(?: language)?(?: to me| with me)?(?: for {ANSWERS_NP})?$"
)  # fmt: skip
_LANGUAGE_NOUN = rx(rf"^(?:(?:{ANSWERS_NP}(?: to be| written)? )?(?:only |exclusively )?in |"
                    rf"(?:only |exclusively )?){LANG}(?: only)?$")  # fmt: skip  ("Dutch only")
_LANGUAGE_DO = rx(rf"^do (?:it|so|that)(?: only| always)? in {LANG}(?: only)?$")  # after "whenever …"
_LANGUAGE_WANT = rx(rf"^i(?:'d| would)? (?:like|want|prefer) {ANSWERS_NP} to be in {LANG}$")
_LISTS = (r"(?:bullet(?:ed)?[- ]?(?:points?|lists?|form)|bullets|(?:bulleted|numbered)"
          r" (?:lists?|steps|points)|lists? (?:with|of) (?:bullets|bullet points|numbers)|lists)")  # fmt: skip
_BULLETS = rf"(?P<bul>{_LISTS})"
_WHOLE = rf"(?:{ANSWERS_NP}|{EVERYTHING}|everything)"
_FORMAT = rx(rf"^(?:(?:answer|reply|respond|write|format|put|give(?: me)?|structure|present|"
             rf"(?:lay|set)(?: {_WHOLE})? out)(?: {_WHOLE})?\s+(?:in|as|with|using|into)|use|in|as|"
             r"with|using)"
             rf"\s+(?:a |an )?(?:list of )?{_BULLETS}(?: in {_WHOLE})?$")  # fmt: skip
_FORMAT_NOUN = rx(rf"^(?:{_WHOLE}\s+(?:formatted |written |structured |laid out )?(?:in|as)\s+)?"
                  rf"(?:a |an )?{_BULLETS}(?P<only> only)?(?: (?:in|for) {_WHOLE})?$")  # fmt: skip
# "always break things into bullet points": said so, only as a standing request (a bare
# "break it into bullet points" is about this answer)
_BREAK_INTO = rx(rf"^(?:break|split|divide|chunk|organi[sz]e)(?: (?:{_WHOLE}|things|stuff|"
                 rf"it all))?(?: up)? (?:into|in|as) (?:a |an )?(?:list of )?{_BULLETS}$")  # fmt: skip
_NUMBER_POINTS = rx(r"^number (?:your|the) (?:points|steps|items|lists?)$")
_FORMAT_OTHER = rx(r"^(?:use|answer in|write in|reply in) (?P<f>plain text|markdown|tables)$")
_PLAIN_ONLY = rx(r"^plain text(?P<only> only)?$")  # "plain text only"
_KEEP = rf"(?:(?:keep|limit|cap) (?:it|them|things|everything|{_WHOLE})|make {_WHOLE})"
# a bound said after the number: "50 words at most", "two sentences, tops", "3 … or fewer"
_AT_MOST = r"(?:,? (?:at (?:the )?most|max(?:imum)?|tops|or (?:less|fewer|under|shorter)))?"
# a word count in words: "sixty", "twenty-five", "a hundred", "two hundred"
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}  # fmt: skip
_ONES = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15}  # fmt: skip
_COUNT = (rf"\d+|(?:a|one|two|three) hundred|(?:{'|'.join(_TENS)})"
          rf"(?:[- ](?:{'|'.join(list(_ONES)[:9])}))?|{'|'.join(_ONES)}")  # fmt: skip


def count(words: str) -> int:
    """ "60" → 60, "sixty" → 60, "twenty-five" → 25, "a hundred" → 100."""
    w = words.lower().replace("-", " ").split()
    if w[0].isdigit():
        return int(w[0])
    if w[-1] == "hundred":
        return 100 * {"a": 1, "one": 1, "two": 2, "three": 3}[w[0]]
    return sum(_TENS.get(x, 0) + _ONES.get(x, 0) for x in w)


_AIM = r"(?:aim|shoot|go|try)(?: for)?|target|stick to"  # "aim for fewer than 25 words"
# "nothing longer than 30 words", "no longer than two sentences", "nothing over 40 words"
_NO_MORE = r"(?:no|not|nothing|none) (?:more|longer) than|nothing (?:over|above|beyond|past)"
_N_WORDS = (rf"(?:under|below|less than|fewer than|at most|{_NO_MORE}|within|"
            rf"max(?:imum)?(?: of)?|up to|a maximum of)?\s*(?P<n>{_COUNT})\s+words"
            rf"{_AT_MOST}(?: (?:per |in )?(?:an? )?{ANSWERS_NP})?{_AT_MOST}")  # fmt: skip
_MAX_WORDS = rx(rf"^(?:{_KEEP}(?: short| brief| concise)?,?|limit yourself|(?:answer|reply|respond|"
                rf"write|stay|remain)(?: me)?|be (?:brief|concise|short),?|use|{_AIM})\s+(?:to |in |with |using |at )?"
                rf"{_N_WORDS}(?: in {_WHOLE})?$")  # fmt: skip
_MAX_WORDS_NOUN = rx(rf"^(?:{ANSWERS} (?:of )?)?{_N_WORDS}$")
_N_SENTENCES = (rf"(?:under|at most|{_NO_MORE}|max(?:imum)?(?: of)?|up to)?\s*"
                r"(?P<n>\d|one|a single|two|three|four|five)\s+(?:sentences?|lines?)"
                rf"{_AT_MOST}(?: (?:per |in )?(?:an? )?{ANSWERS_NP})?{_AT_MOST}")  # fmt: skip
_MAX_SENTENCES = rx(rf"^(?:{_KEEP}(?: short)?|(?:answer|reply|respond|write|stay|remain)(?: me)?|limit "
                    rf"yourself|{_AIM})\s+(?:to |in |with |at )?{_N_SENTENCES}$")  # fmt: skip
_MAX_SENTENCES_NOUN = rx(rf"^(?:{ANSWERS} (?:of )?)?{_N_SENTENCES}$")
# "one-line answers only", "one-liners from now on"
_ONE_LINE = rx(rf"^(?:(?:one|single|a single)[- ]line {ANSWERS}|one-?liners)(?P<only> only)?$")
_PER_ANSWER = rf"(?: (?:per|in|for) (?:each |every |an? )?{ANSWERS})"  # "… per answer"
# "about 20 words": a target, checked with a quarter to spare
_ABOUT_WORDS = rx(rf"^(?:(?:{ANSWERS} (?:of )?)|(?:keep (?:it|them|{_WHOLE}) (?:to )?|"
                  rf"(?:answer|reply|write) (?:in|with) ))?(?:about|around|roughly|approximately) "
                  rf"(?P<n>{_COUNT}) words{_PER_ANSWER}?$")  # fmt: skip
# "write at least 100 words per answer"
_MIN_WORDS = rx(rf"^(?:(?:write|use|give me|answer (?:with|in)) )?(?:at least|no (?:less|fewer) than|"
                rf"a minimum of|minimum(?: of)?) (?P<n>{_COUNT}) words"
                rf"(?:{_PER_ANSWER}| in {_WHOLE})?$")  # fmt: skip
_SHORT = rx(rf"^(?:{_KEEP}|be)\s+(?:(?:a bit |a little |much )?more )?(?:short|brief|concise|"
            r"succinct|to the point|terse)"
            r"(?: and (?:sweet|simple|to the point|clear))?$|^be less (?:verbose|wordy|"
            r"long-winded)$")  # fmt: skip
_SHORT_NOUN = rx(rf"^(?:short|shorter|brief|briefer|concise|succinct) {ANSWERS}(?P<only> only)?$")
_LONG = rx(rf"^(?:give|write) (?:me )?(?:longer|more detailed|longer, more detailed) {ANSWERS}$"
           r"|^be (?:more )?detailed$")  # fmt: skip
_LONG_NOUN = rx(rf"^(?:longer|more detailed)(?:,? (?:and )?(?:longer|more detailed))? {ANSWERS}$")
_CASE_WORD = (r"(?P<c>lower[- ]?case(?: letters)?|small letters|upper[- ]?case(?: letters)?|"
              r"(?:all )?caps|all capitals|capital letters|block capitals|capitals)")  # fmt: skip
_CASE = rx(rf"^(?:(?:answer|reply|respond|write|type|talk|text|put)(?: {_WHOLE}| me| to me| back)?"
           rf"(?: only| always)?\s+(?:in|using|with)|use|in|using|stick to)(?: all| only)?\s+"
           rf"{_CASE_WORD}(?: only)?(?: in {_WHOLE}| for {_WHOLE})?$")  # fmt: skip
_CASE_NOUN = rx(rf"^(?:{_WHOLE} (?:written |typed )?in )?(?:all |(?P<only0>only ))?{_CASE_WORD}"
                rf"(?: {ANSWERS}| everything)?(?P<only> only)?(?: (?:for|in) {_WHOLE})?$")  # fmt: skip
# the case said as a verb on the answers: "lowercase everything you write" ("capitalise"
# is not one: it may mean the first letters)
_CASE_VERB = rx(rf"^(?P<c>lower[- ]?case|upper[- ]?case)(?: all(?: of)?)? {_WHOLE}$")
NO_CAPITALS = rx(r"^(?:use |using |write in |writing in |type in |typing in )?(?:any )?"
                 r"(?:capital letters|capitals|upper[- ]?case(?: letters)?|caps)"
                 rf"(?: in {_WHOLE})?$")  # fmt: skip
ADJ = (r"(?P<adj>formal|informal|casual|friendly|polite|direct|blunt|professional|playful|"
       r"funny|humorous|serious|warm|enthusiastic|technical|simple|precise|honest|"
       r"encouraging|relaxed|gentle|kind|chatty|detailed|patient|cheerful)")  # fmt: skip
_STYLE = rx(rf"^be (?P<deg>(?:a (?:bit|little) |much |slightly )?(?:more|less) |very )?{ADJ}$")
_STYLE_BARE = rx(rf"^(?P<deg>(?:a (?:bit|little) )?(?:more|less) ){ADJ}$")
_TONE = rx(rf"^(?:use|write in|answer in|adopt|take|keep) (?:a |an )?(?P<deg>more |less )?{ADJ} "
           r"(?:tone|style|register|voice)$")  # fmt: skip
_TALK_LIKE = rx(r"^(?:talk|speak|write|answer|reply|respond)(?: to me)? (?:like|as if you were) "
                r"(?P<who>.+)$")  # fmt: skip
_UNITS = rx(r"^use (?:the )?(?P<u>british|american|uk|us|metric|imperial) "
            r"(?P<what>english|spelling|units|system)$")  # fmt: skip
_DEICTIC = rx(r"\b(?:this|that|these|those|it|here|now|yet|today|above|below)\b")

Found = tuple[str, str, dict | None]  # (text, kind, checker)


_NAMED_THING = rx(rf"\b(?:{LANG}|{_LISTS})\b")
# "… so please answer in it", "use them every time": a pronoun where the thing would go
_PRONOUN_THING = rx(r"\b(?P<p>in|use|using|with|as|into|stick to|stick with|keep to) (?:it|them|that|those|these)\b"
                    r"(?! (?:way|one|time)\b)")  # fmt: skip


def resolve_pronoun(clause: str, named: str | None) -> tuple[str, str | None]:
    """ "I only read German, so please answer in it": the clause with `named` (the language
    or format named last before it in the message) in place of its pronoun, and what is
    named last once this clause is read too."""
    if named and _PRONOUN_THING.search(clause):
        clause = _PRONOUN_THING.sub(lambda m: f"{m['p']} {named}", clause, count=1)
    said = [m[0] for m in _NAMED_THING.finditer(clause)]
    return clause, said[-1] if said else named


def language(x: str, persistent: bool) -> Found | None:
    m = _LANGUAGE.match(x) or _LANGUAGE_WANT.match(x) or (
        persistent and (_LANGUAGE_NOUN.match(x) or _LANGUAGE_DO.match(x)))
    if not m:
        return None
    lang = _NATIVE.get(m["lang"].lower(), m["lang"].lower())
    code = CHECKED_LANGUAGES.get(lang)
    return (f"Answer in {lang.title()}.", "language",
            {"type": "language", "language": code} if code else None)  # fmt: skip


def answer_format(x: str, persistent: bool) -> Found | None:
    noun = _FORMAT_NOUN.match(x)
    if ((m := _FORMAT.match(x)) or ((persistent or (noun and noun["only"])) and (m := noun))
            or (persistent and (m := _BREAK_INTO.match(x)))):  # fmt: skip
        if re.search(r"\bnumber(?:ed|s)\b", m["bul"], re.I):
            return "Use numbered lists.", "format", {"type": "format", "format": "numbered"}
        return "Use bullet points.", "format", {"type": "format", "format": "bullets"}
    if _NUMBER_POINTS.match(x):
        return "Use numbered lists.", "format", {"type": "format", "format": "numbered"}
    if (m := _PLAIN_ONLY.match(x)) and (persistent or m["only"]):
        return "Use plain text.", "format", {"type": "format", "format": "plain"}
    if m := _FORMAT_OTHER.match(x):
        f = m["f"].lower()
        if f == "plain text":
            return "Use plain text.", "format", {"type": "format", "format": "plain"}
        return f"Use {f.replace('markdown', 'Markdown')}.", "format", None
    return None


# "three sentences is plenty for any answer": the bound said as what suffices
_PLENTY = rx(rf"^(?P<n>.+?) (?:is|are|would be|will be|should be) (?:plenty|enough|ample|"
             rf"the (?:limit|max(?:imum)?))(?P<np> (?:for|in|per) (?:{ANSWERS_NP}|an? {ANSWERS}))?$")  # fmt: skip


def length(x: str, persistent: bool) -> Found | None:
    if (m := _PLENTY.match(x)) and (found := length(m["n"], persistent or bool(m["np"]))):
        return found if found[2] and found[2]["type"] != "min_words" else None
    if (m := _MAX_WORDS.match(x)) or (persistent and (m := _MAX_WORDS_NOUN.match(x))):
        n = count(m["n"])
        return f"Keep answers under {n} words.", "length", {"type": "max_words", "n": n}
    if (m := _MAX_SENTENCES.match(x)) or (persistent and (m := _MAX_SENTENCES_NOUN.match(x))):
        word = m["n"].lower()
        n = count("one" if word == "a single" else word)
        text = "Answer in one sentence." if n == 1 else f"Keep answers to {n} sentences."
        return text, "length", {"type": "max_sentences", "n": n}
    if (m := _ONE_LINE.match(x)) and (persistent or m["only"]):
        return "Answer in one sentence.", "length", {"type": "max_sentences", "n": 1}
    if m := _ABOUT_WORDS.match(x):
        n = count(m["n"])
        return (f"Keep answers to about {n} words.", "length",
                {"type": "max_words", "n": n + max(n // 4, 1)})  # fmt: skip
    if m := _MIN_WORDS.match(x):
        n = count(m["n"])
        return f"Write at least {n} words.", "length", {"type": "min_words", "n": n}
    short = _SHORT_NOUN.match(x)
    if _SHORT.match(x) or (short and (persistent or short["only"])):
        return SHORT, "length", {"type": "max_words", "n": SHORT_WORDS}
    if _LONG.match(x) or (persistent and _LONG_NOUN.match(x)):
        return ("Give longer, more detailed answers.", "length",
                {"type": "min_words", "n": LONG_WORDS})  # fmt: skip
    return None


# a bound said as a line not to cross, after "never"/"don't": "go over three sentences",
# "exceed 50 words", "write more than two sentences", "let your answers run past 100 words"
_OVER = rx(rf"^(?:let (?:{_WHOLE}|it|them) )?(?:(?:go|going|run|running|goes|runs) (?:over|"
           r"beyond|past|above)|exceed(?:s|ing)?|(?:(?:write|writing|use|using|give|giving|say|"
           r"saying|answer|answering|reply|replying|respond|responding|run|running|be|being)(?: me)?"
           r"(?: with| in)? )?"
           r"(?:more|longer) than)\s+(?P<rest>.+)$")  # fmt: skip


def limit(x: str) -> Found | None:
    """The length a "never …" / "don't …" sentence bounds ("never go over three sentences"),
    or None."""
    return length(f"at most {m['rest']}", True) if (m := _OVER.match(x)) else None


def letter_case(x: str, persistent: bool, always: bool = False) -> Found | None:
    """A letter case for every answer. `always`: said with "always" ("always use capitals")."""
    noun = _CASE_NOUN.match(x)
    m = _CASE.match(x) or _CASE_VERB.match(x) or ((persistent or (noun and (noun["only"] or noun["only0"]))) and noun)
    if not m or (x.lower().startswith("use ") and not always
                 and not re.search(r"\b(?:all|only)\b|case", x, re.I)):  # fmt: skip
        return None  # "use capitals" says where, not always ("use all caps", "always use …" do)
    return lower_case() if m["c"].lower().startswith(("lower", "small")) else (
        "Write in capital letters only.", "case", {"type": "case", "case": "upper"})  # fmt: skip


def lower_case() -> Found:
    return "Write in lowercase only.", "case", {"type": "case", "case": "lower"}


def style(x: str) -> Found | None:
    if (m := _STYLE.match(x)) or (m := _STYLE_BARE.match(x)):
        return f"Be {(m['deg'] or '').lower()}{m['adj'].lower()}.", "style", None
    if m := _TONE.match(x):
        return f"Use a {(m['deg'] or '').lower()}{m['adj'].lower()} tone.", "style", None
    if m := _TALK_LIKE.match(x):
        if _DEICTIC.search(m["who"]):
            return None
        return as_sentence(f"Talk like {third_person(m['who'])}"), "style", None
    if m := _UNITS.match(x):
        what = "units" if m["what"].lower() in ("units", "system") else "spelling"
        unit = m["u"].lower()
        unit = {"uk": "British", "us": "American"}.get(
            unit, unit.title() if what == "spelling" else unit
        )
        return f"Use {unit} {what}.", "style", None
    return None


# --- the person's name ------------------------------------------------------------------------
_MY_NAME = r"my (?:first |last |given |full |sur|nick)?name"  # "my surname, Okafor"
NAME = rx(rf"^(?:call me by {_MY_NAME},?|call(?:ed)? (?:me|the user)|address (?:me|the user)"
          r"(?: (?:formally|informally|always|only))?(?: as| by)?|"
          rf"refer to (?:me|the user) (?:as|by {_MY_NAME},?)|my name(?:'s| is)|the name's|i(?:'m| am) called|"
          r"(?:to be|being) (?:called|addressed as)|i go by|the user's name is|"
          rf"(?:use|say|using|saying) {_MY_NAME},?|just call me|"
          # "greet me by name — it's Marisol", "start each answer by saying my name, Ayo"
          r"(?:greet|address|call) me by (?:my )?name(?:\s*[,:;—–-])?(?:\s+(?:it's|it is|which is))?|"
          rf"greet me as|(?:start|begin|open)(?: {ANSWERS_NP})? by (?:greeting|calling|addressing) "
          r"me(?: as)?|"
          rf"(?:start|begin|open|end|finish)(?: {ANSWERS_NP})? (?:by )?(?:saying|using|with) "
          r"my name,?)\s+(?P<x>.+)$")  # fmt: skip
_NAME_WORDS = re.compile(r"^([^\W\d_][\w'’.-]*)((?:\s+[A-Z][\w'’.-]*){0,2})(?P<rest>.*)$")
NOT_NAMES = set(
    ["a", "an", "the", "that", "this", "it", "so", "me", "my", "back", "later", "again", "now", "soon", "tomorrow", "tonight", "today", "when", "if", "after", "before", "anytime", "whenever", "crazy", "old", "maybe", "please", "not", "on", "in", "at", "by", "to", "what", "whatever", "anything", "something", "up", "out", "over", "just", "only", "still", "also", "sometime", "sometimes", "yesterday", "every", "any", "all", "wrong", "spelled", "written", "important", "secret", "private", "mine", "here", "there",
     # "I go by bus", "I go by instinct": a way of going, not a name
     "bus", "car", "train", "bike", "bicycle", "foot", "plane", "air", "boat", "taxi", "cab",
     "tube", "subway", "metro", "tram", "ferry", "road", "rail", "sea", "instinct",
     "feel", "feeling", "ear", "gut", "default"]
)


# how one is, not who: "i'm tired, …" (a name typed lowercase is told from these) — the
# words that are no fact's value either (facts.NOT_VALUES), and a few more states
_STATES = NOT_VALUES | {"sad", "busy", "ready", "late", "early", "hungry", "sick", "ill", "well",
                        "angry", "upset", "bored", "free", "away", "off", "out", "home"}  # fmt: skip


def person_name(text: str) -> str | None:
    """The name at the start of `text` ("Sam from now on" → "Sam"), or None."""
    unq = unquote(text.split(",")[0]) if text[:1] in "\"'“‘«" else None
    if unq:
        text = unq
    m = _NAME_WORDS.match(text.strip())
    if not m or m[1].lower().rstrip(".") in NOT_NAMES:
        return None
    rest = m["rest"].strip()
    if rest and not re.match(r"(?:[,;:—–-]|and\b|but\b|instead\b|from now on\b|in (?:every|each|"
                             r"all)\b|please\b|these days\b|nowadays\b|now\b|by the way\b|any ?more\b|(?:ever )?again\b)",
                             rest, re.I):  # fmt: skip
        return None
    words = (m[1] + m[2]).split()
    return " ".join(w[0].upper() + w[1:] for w in words).rstrip(".") or None


def name(x: str) -> Found | None:
    m = NAME.match(x)
    if m is None or (found := person_name(m["x"])) is None:
        return None
    return f"Call the user {found}.", "name", {"type": "name", "name": found}


# the name said first, then what to do with it: "I'm Noor, please use that name when you talk
# to me", "It's Gwen, by the way — use my name when you answer" — at the start of a sentence or
# of a clause after a comma ("…, and I'm Kim, please use that name")
_NAME_FIRST = rx(r"(?P<pre>^|[,;]\s*(?:(?:and|also|but|plus)[\s,]+)*|\s(?:and|also|but|plus)"
                 r"[\s,]+)"
                 r"(?P<lead>i'm|i am|it's|it is|my name's|my name is|the name's|this is)\s+"
                 r"(?P<x>[^,;:—–-]+?)(?:,?\s*by the way)?\s*[,;:—–-]+\s*(?:and\s+|so\s+)?"
                 r"(?:please\s+|kindly\s+|do\s+)?(?:use (?:that|this|my|the) name|call me (?:that|"
                 r"by (?:that|this|my) name)|address me (?:by|with) (?:that|this|my) name|"
                 r"(?:greet|address|call) me by (?:that |this |my )?name|say my name)\b")  # fmt: skip


# the name others use, then asked to be used too: "Everyone calls me Bex, so you should too"
# (without the ask it is no preference: "My mum calls me Bex", "People call me Bex but …")
_OTHERS_CALL = rx(r"(?P<pre>^|[,;]\s*)(?:everyone|everybody|people|most people|folks|friends|"
                  r"(?:all )?my (?:friends|family|colleagues|coworkers|mates|team))\s+"
                  r"(?:call|calls)\s+me\s+(?P<x>[^,;:—–-]+?)\s*[,;:—–-]*\s*(?:so\s+|and\s+)?"
                  r"(?:you\s+(?:should|can|could|may|might as well)(?:\s+(?:do the same|call me "
                  r"that))?(?:\s+too|\s+as well)?|please\s+do(?:\s+the same|\s+too)?|feel free "
                  r"to(?:\s+do the same|\s+too)?|do the same)\b")  # fmt: skip


def name_first(x: str) -> str:
    """`x` with a name said first, then asked to be used, said the usual way round: "I'm
    Noor, please use that name when …" → "Call me Noor, when …"; "Everyone calls me Bex,
    so you should too" → "call me Bex,"."""

    def others(m: re.Match[str]) -> str:
        word = m["x"].strip()
        typed = word[:1].isupper() or (" " not in word and word.lower() not in _STATES)
        found = person_name(word) if typed else None
        return f"{m['pre']}call me {found}," if found else m[0]

    def turned(m: re.Match[str]) -> str:  # a name said so is capitalised: not "it's late, …"
        word = m["x"].strip().lower()  # … or one word typed lowercase after "i'm", "my name's"
        typed = m["x"][:1].isupper() or (
            " " not in word and not m["lead"].lower().startswith(("it", "this"))
            and word not in _STATES and not word.endswith(("ed", "ing")))  # fmt: skip
        found = person_name(m["x"]) if typed else None
        return f"{m['pre']}call me {found}," if found else m[0]

    return _OTHERS_CALL.sub(others, _NAME_FIRST.sub(turned, x))


def do_not_call(x: str) -> Found | None:
    m = NAME.match(x)
    if m is None or (found := person_name(m["x"])) is None:
        return None
    return f"Do not call the user {found}.", "avoid", {"type": "avoid", "text": found}


_NO_LISTS = rx(r"^(?:use |using |put |write |give me |answer (?:in|with) )?(?:any )?(?:bullet(?:ed)?"
               r"[- ]?(?:points?|lists?)|bullets|(?:numbered )?lists)(?: in (?:your )?\w+)?$")  # fmt: skip
_NO_MARKDOWN = rx(r"^(?:use |using )?(?:any )?(?:markdown|formatting|markdown formatting)"
                  rf"(?: in (?:your )?\w+| in {ANSWERS_NP})?$")  # fmt: skip
_MARKS = {"exclamation mark": ("!", "exclamation marks"), "exclamation point": ("!", "exclamation points"),
          "semicolon": (";", "semicolons"), "em dash": ("—", "em dashes"), "em-dash": ("—", "em dashes"),
          "ellipsis": ("…", "ellipses"), "ellipses": ("…", "ellipses"),
          "hashtag": ("#", "hashtags")}  # fmt: skip  (mark, its name in the plural)
_MARK = rx(r"^(?:use |using |put |write |add |adding )?(?:any |so many |too many |the |an? )?"
           rf"(?P<m>{'|'.join(_MARKS)})(?:e?s)?(?: in (?:your )?\w+| in {ANSWERS_NP})?$")  # fmt: skip


def avoided_thing(x: str) -> Found | None:
    """"don't use bullet points", "stop using exclamation marks": checkable avoids."""
    if _NO_LISTS.match(x):
        return "Do not use lists.", "format", {"type": "format", "format": "no_lists"}
    if _NO_MARKDOWN.match(x):  # "no markdown": plain text
        return "Use plain text.", "format", {"type": "format", "format": "plain"}
    if m := _MARK.match(x):
        mark, plural = _MARKS[m["m"].lower()]
        return f"Do not use {plural}.", "avoid", {"type": "avoid", "text": mark}
    return None


# "end every answer with a (follow-up) question": checkable (check.ends_with_question)
_QUESTION = rx(r"^(?:a|an|one) (?:(?:short|quick|brief|simple|relevant|related|open|open-ended|"
               r"clarifying|follow-?up|follow up) )*question(?: (?:for me|to me|back))?$")  # fmt: skip
QUESTION_TEXT = "End every answer with a question."


def signoff_style(x: str, persistent: bool, about_answers: bool) -> Found | None:
    """"end every answer with a summary": kept as said, unchecked — but a question is checked."""
    if re.match(r"(?:a|an|the|some|your|my|his|her|their|one)\b", x, re.IGNORECASE):
        if not (persistent or about_answers) or _DEICTIC.search(x):
            return None
        if _QUESTION.match(x):
            return QUESTION_TEXT, "style", {"type": "question"}
        return as_sentence(f"End every answer with {third_person(x)}"), "style", None
    return None


__all__ = ["CHECKED_LANGUAGES", "LONG_WORDS", "SHORT_WORDS", "quoted"]
