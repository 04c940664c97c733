"""Facts a person tells about themselves, as something a later question can check.

"My dog is called Rex", "I live in Lyon", "I work as a nurse" become a fact with a *key*
(what a later question asks for: "dog's name", "city", "job") and a *value* (what the
answer must contain). The same key stated again ("actually, I moved to Paris") replaces
the old value. `questions(key, part)` gives ways to ask for it: one set to train on, another
— never trained on — for the gate to ask "in other words".

Stated in the first person ("my", "I") by the person, or in the third person ("the user's
dog is called Rex") as the store keeps it, so a stored fact reads back as itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from personal.prefs.text import as_sentence, rx
from personal.prefs.wording import third_person

_WORD = r"(?!(?:who|whose|that|which|is|called|named)\b)[a-z][a-z'-]*"
_NOUN = rf"(?:{_WORD}(?: {_WORD}){{0,2}})"
_VALUE = r"(?P<v>[^,;.!?]{1,60}?)"
_SUBJ_MY = r"(?:my|our|the user's)"
_ADV = r"(?: (?:currently|now|still|actually|also|presently|recently|just|finally|lately))?"
_SUBJ_I = rf"(?:i|we|the user){_ADV}"
_BE_I = rf"(?:i'm|i am|we're|we are|the user is){_ADV}"
NOT_VALUES = {"not", "no", "never", "bit", "little", "lot", "fan", "big", "huge", "sure",
              "sorry", "afraid", "happy", "glad", "tired", "confused", "lost", "done", "here",
              "back", "fine", "ok", "okay", "good", "great", "new", "trying", "going",
              "looking", "working", "thinking", "wondering", "asking", "also", "still",
              "just", "really", "so", "very", "too", "the", "this", "that", "it"}  # fmt: skip
JOBS = set(["nurse", "doctor", "teacher", "carpenter", "architect", "engineer", "developer", "programmer", "designer", "coder", "lawyer", "accountant", "chef", "cook", "baker", "farmer", "pilot", "plumber", "electrician", "mechanic", "artist", "writer", "journalist", "student", "researcher", "scientist", "pharmacist", "dentist", "vet", "veterinarian", "firefighter", "policeman", "policewoman", "officer", "librarian", "musician", "photographer", "translator", "consultant", "manager", "cashier", "waiter", "waitress", "barista", "driver", "midwife", "therapist", "psychologist", "surgeon", "paramedic", "gardener", "tailor", "welder", "secretary", "analyst", "economist", "historian", "professor", "lecturer", "tutor", "carer", "caregiver", "cleaner", "builder", "painter", "sailor", "soldier"])  # fmt: skip

# a line of work said without an article: "my job is dentistry" (not "my job is boring")
FIELDS = set(["law", "medicine", "finance", "sales", "retail", "insurance", "education", "research", "software", "construction", "hospitality", "healthcare", "nursing", "teaching", "engineering", "accounting", "marketing", "banking", "farming", "consulting", "plumbing", "publishing", "programming", "catering", "tutoring", "coding", "cleaning", "writing", "editing", "translation", "design", "music", "art", "fashion", "film", "advertising", "surgery", "joinery", "carpentry", "development", "management", "recruitment", "government", "entertainment", "administration", "logistics", "security", "policing", "tech", "real estate", "social work", "childcare", "gardening", "landscaping", "baking", "cooking"])  # fmt: skip
_FIELD_ENDS = ("istry", "ology", "onomy", "graphy", "ics", "ism", "ture")


def _line_of_work(value: str) -> str | None:
    """ "nurse" → "works as a nurse", "dentistry" → "works in dentistry", "boring" → None."""
    last = value.split()[-1]
    if last.lower() in JOBS:
        return f"works as {_article(value)} {value}"
    if {last.lower(), value.lower()} & FIELDS or last.lower().endswith(_FIELD_ENDS):
        return f"works in {value}"
    return None


@dataclass(frozen=True)
class Fact:
    key: str  # "dog's name", "city", "job", "favourite colour", ...
    value: str  # "Rex", "Lyon", "nurse", ...
    text: str  # the stored wording, third person: "The user's dog is called Rex."


# How a name is given: "is called", "'s name is", "goes by the name (of)", "answers to" …
# The verbs that also take a common noun ("goes by the park", "answers to no one", "is
# known as a troublemaker") count only with a capitalised name after them.
_CALLED = r"(?: is (?:called|named|nicknamed)|'s (?:called|named)|'s name is|'s name's)"
_NAME_OF = r"(?:the )?name(?: of)?"
_GOES_BY = (rf" (?:goes by|answers to|responds to|is known as|"
            rf"(?:goes|answers|responds) (?:by|to) {_NAME_OF})")  # fmt: skip
_CAP_VALUE = r"(?-i:(?P<v>[A-Z][^,;.!?]{0,59}?))"
_WHEN_NAME = (r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|january|february|march|april|may|"
              r"june|july|august|september|october|november|december|today|tonight|yesterday|"
              r"tomorrow|earlier|later|again|back|twice|once")  # fmt: skip
_HAVE = r"(?:'ve got|'ve| have got| have| has| got| own| owns)"
_A_PET = rf"{_SUBJ_I}{_HAVE} (?:a|an|one|two|three) (?P<k>{_NOUN})"  # "I've got a dog …"
_WHO = r"(?: (?:who|that|which)(?:'s| is)?)?"
_NAMED = [
    rx(rf"^{_SUBJ_MY} (?P<k>{_NOUN}){_CALLED} {_VALUE}$"),
    rx(rf"^{_SUBJ_MY} (?P<k>{_NOUN}){_GOES_BY} {_CAP_VALUE}$"),
    rx(rf"^{_A_PET}(?:{_WHO} (?:called|named|nicknamed)| by the name of|,? whose name is|"
       r"[,;]? (?:her|his|its|their) name(?: is|'s)) "
       rf"{_VALUE}$"),  # fmt: skip
    rx(rf"^{_A_PET}(?: who| that| which)?{_GOES_BY} {_CAP_VALUE}$"),
    rx(rf"^the name of {_SUBJ_MY} (?P<k>{_NOUN}) is {_VALUE}$"),
    # the name beside the noun: "my daughter, Ines, is six", "my cat Mochi is very fluffy"
    rx(rf"^{_SUBJ_MY} (?P<k>{_WORD}),? (?!{_WHEN_NAME}\b)(?-i:(?P<v>[A-Z][a-z'-]+(?: [A-Z][a-z'-]+)?)),? "
       r"(?:is|was|has|had|loves|likes|hates|turned|turns|just|keeps|can|will|and|lives|sleeps)\b.*$"),
    # "we named our hamster Nibbles": a name given — capitalised, and no day or month ("I
    # called my mum Sunday" is a phone call)
    rx(rf"^{_SUBJ_I} (?:named|called|nicknamed|name|call) {_SUBJ_MY} (?P<k>{_NOUN}) "
       rf"(?!{_WHEN_NAME}\b){_CAP_VALUE}$"),
]
_PERFECT = rf"(?:'ve| have| has){_ADV}"  # "I've just moved to …", "we have now lived in …"
_LIVE = rx(rf"^(?:{_SUBJ_I} (?:live|lives|reside|resides) in|{_SUBJ_I}{_PERFECT} (?:lived|"
           rf"been living) in|{_BE_I} (?:based|living) in|"
           rf"{_SUBJ_I}(?:{_PERFECT})? (?:moved|relocated)(?: (?:back |here )?from [^,;.!?]{{1,40}}?)? to) "
           rf"{_VALUE}$")  # fmt: skip  ("relocated from Paris to Lyon")
_NOW = r"(?:these days|nowadays|now|right now|at the moment|currently|at present)"  # when
# "home these days is Reykjavik": when, said between the subject and its verb
_HOME = rx(rf"^(?:home(?: for (?:me|us))?|{_SUBJ_MY} home)(?:(?:,? {_NOW},?)? is|'s) (?:in )?{_CAP_VALUE}$")  # a place
_FROM = rx(rf"^(?:{_BE_I} (?:originally )?from|{_SUBJ_MY} home ?town is|{_SUBJ_I} (?:come|comes) from|"
           rf"{_SUBJ_I} grew up in|{_SUBJ_I} (?:was|were) born in) {_VALUE}$")
# said without "I": "Born and raised in Glasgow.", "Currently living in Seoul." — a name
# only, and no verb after it ("Living in Seoul is expensive" is no fact)
_FROM_BARE = rx(rf"^(?:born and (?:raised|bred)|raised|grew up) in {_CAP_VALUE}(?:,.*)?$")
_LIVE_BARE = rx(rf"^(?:(?:currently|now|still) )?(?:living|based) in {_CAP_VALUE}(?:,.*)?$")
_VERB_IN = rx(r"\b(?:is|are|was|were|has|have|can|will|makes?|costs?)\b")
_NOT_PLACE = rx(r"(?:a|an|my|our|this|that|his|her|their)\b")  # "I moved to a new flat"
# "born in 1990", "grew up in the 80s": a time, not a place
_WHEN = rx(r"^(?:\d|a |an |(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|"
           r"(?:spring|summer|autumn|fall|winter|hospital|the \d))")  # fmt: skip
_JOB = [
    rx(rf"^(?:{_SUBJ_I} (?:works?|(?:make|makes|earn|earns) (?:a|my|our|their) (?:living|keep|"
       rf"crust|bread|money|wage))|"
       rf"{_BE_I} (?:employed|working|a professional)) as (?P<a>a |an )?{_VALUE}$"),
    rx(rf"^{_BE_I} (?:a |an )(?P<v>[a-z-]+(?: [a-z-]+)?) by (?:profession|trade)$"),
    rx(rf"^by (?:profession|trade),? {_BE_I} (?:a |an )(?P<v>[a-z-]+(?: [a-z-]+)?)$"),
    rx(rf"^{_SUBJ_MY} (?:job|profession|occupation) is (?P<art>a |an |being a |being an )?{_VALUE}$"),
    # a job held for a time: "I've worked as a nurse since 2015" (a known job only: not "I've
    # worked as a team for years")
    rx(rf"^(?:i|we)(?:'ve| have){_ADV} (?:been )?(?:worked|working|employed) as (?P<held>a |an )?"
       r"(?P<v>(?:[a-z-]+ )?[a-z-]+)(?: (?:at|for|in|with|since) [^,;.!?]{1,40})?$"),
]
_BE_JOB = rx(rf"^(?:{_BE_I}|(?:i|we)(?:'ve| have){_ADV} been) (?:a|an) (?P<v>(?:[a-z-]+ )?(?P<job>[a-z-]+))"
             r"(?: (?:at|for|in|with|since) [^,;.!?]{1,40})?$")  # "… at a bank": the job is the noun
# a job said by what one does: "I teach maths for a living", "What I do for a living is
# repair pianos" — not a wish, a past, a habit or a pronoun ("I'd do anything for a living")
_LIVING = r"(?:for a living|as my (?:job|profession|career))"  # not "for work": "I travel for work"
_NOT_ACTIVITY = (r"(?!(?:would|could|can|will|should|might|must|may|did|don't|didn't|"
                 r"used|want|wanted|need|needed|hope|wish|have|had|was|were|am|never|not|"
                 r"also|love|like|hate)\b|[a-z]+ing\b)")  # fmt: skip
_ACTIVITY = r"(?P<v>[a-z][a-z'-]*(?: [^,;.!?]{1,40}?)?)"
_DOES = [rx(rf"^{_SUBJ_I}(?: (?:just|mostly|mainly|basically))? {_NOT_ACTIVITY}{_ACTIVITY} "
            rf"{_LIVING}$"),
         rx(rf"^{_LIVING},? {_SUBJ_I} {_NOT_ACTIVITY}{_ACTIVITY}$"),
         rx(rf"^what {_SUBJ_I} do(?:es)? {_LIVING} is {_NOT_ACTIVITY}{_ACTIVITY}$")]
# a job said by what one does where: "I teach chemistry at a high school"
_TEACH_AT = rx(rf"^{_SUBJ_I} (?P<v>(?:teach|teaches|lecture|lectures|tutor|tutors) [a-z][a-z ]{{0,30}}?) "
               r"(?:at|in) (?:a|an|the|my|our) (?:[a-z-]+ ){0,2}(?:school|university|college|"
               r"academy|uni|nursery|kindergarten)$")  # fmt: skip
_PRONOUNS = rx(r"\b(?:this|that|it|things?|stuff)$|\b(?:anything|something|nothing|everything|"
               r"whatever)\b")  # fmt: skip
_WORK_AT = rx(rf"^{_SUBJ_I} works? (?:at|for) {_VALUE}(?: as [^,;.!?]+)?$")  # (not "… as a favour")
# "I work for Google as an engineer": the job is what one works as
_WORK_AT_AS = rx(rf"^{_SUBJ_I} works? (?:at|for) [^,;.!?]{{1,40}}? as (?:a |an )?(?P<v>[a-z-]+(?: [a-z-]+)?)$")
_WORK_IN = rx(rf"^{_SUBJ_I} works? in {_VALUE}$")  # a line of work only: not "… in London"
_NAMED_BY = ("partner", "employer")  # said by a name: "my partner is Sam", "… is Acme"
_FAVOURITE = rx(rf"^{_SUBJ_MY} (?P<k>favou?rite {_NOUN}) is {_VALUE}$")
_ALLERGY = rx(rf"^{_BE_I} allergic to {_VALUE}$")
# a car: "a Volvo", "an old Ford", "Volvos" — not "I drive to work", "I drive carefully"
_DRIVE = rx(rf"^{_SUBJ_I} (?:drive|drives) (?:(?:a|an) |(?=(?-i:[A-Z]))){_VALUE}$")
_ATTRIBUTE = rx(rf"^{_SUBJ_MY} (?P<k>birthday|date of birth|blood type|shoe size|height|"
                rf"age|phone number|email address|address|employer|partner|zodiac sign)(?: is|'s)"
                rf"(?: on)? (?:the (?=\d))?{_VALUE}$")  # fmt: skip  ("my birthday's on the 3rd of May")
_LEAD = rx(r"^(?:actually|fyi|btw|by the way|for the record|just so you know|oh|also|and|"
           rf"so|remember(?: that)?|note that|as of (?:now|today)|{_NOW}|"
           r"lately|since (?:last|this) \w+)[\s,:]+")  # fmt: skip
# when, after the value: "I moved to Tallinn last spring", "I've lived in Oslo since 2019"
_SINCE = rx(rf"\s+(?:for (?:now|the time being|the moment)|{_NOW}|"
            r"anymore|too|as well|recently|lately|"
            r"(?:last|this|next) (?:year|month|week|spring|summer|autumn|fall|winter)|"
            r"in (?:\d{4}|the (?:spring|summer|autumn|fall|winter))|since (?:\d{4}|last \w+)|"
            r"(?:\d+|a|an|one|two|three|four|five|six|a few|several) (?:years?|months?|weeks?|"
            r"days?) ago|a (?:while|year|month) (?:ago|back)|for (?:\d+|a|an|one|two|three|a few|"
            r"several) (?:years?|months?|weeks?))$")  # fmt: skip
_FOR_ME = rx(r"\s+(?:for (?:me|us)|to me)$")  # "home is Nairobi for me"
# an afterthought about the subject: "My daughter is called Ines, and she is six"
_AFTERTHOUGHT = rx(r"(?:,\s*(?:and |but )?|\s+(?:and|but) )(?:he|she|it|they|we|who|which|whom)\b.*$")


def _clean(value: str) -> str | None:
    value = value.strip().strip("\"'“”‘’").strip()
    while (shorter := _FOR_ME.sub("", _SINCE.sub("", value))) != value:
        value = shorter  # "Nairobi for me these days"
    words = value.lower().split()
    proper = value[:1].isupper() and len(words) > 1  # "New York", "The Hague"
    if not words or (words[0] in NOT_VALUES and not proper) or len(words) > 6:
        return None
    return value


def parse(sentence: str) -> Fact | None:
    """The fact a (first- or third-person) statement gives, or None."""
    s = _AFTERTHOUGHT.sub("", sentence.strip().rstrip(".!"))
    while (shorter := _LEAD.sub("", s, count=1)) != s:
        s = shorter
    for pattern in _NAMED:
        if m := pattern.match(s):
            key, value = m["k"].lower(), _clean(m["v"])
            if value and key not in NOT_VALUES:
                return _fact(f"{key}'s name", value, f"the user's {key} is called {value}")
    for pattern in _DOES:
        if (m := pattern.match(s)) and (value := _clean(m["v"])) and not _PRONOUNS.search(value):
            if re.search(r"\bthe user\b", s[: m.start("v")], re.I):  # as stored: "teaches"
                value = _base_verb(value)
            value = f"{value} for a living"  # the answer states the activity: "You teach …"
            return _fact("job", value, f"the user {_third(value)}")
    if m := _TEACH_AT.match(s):
        value = f"{_base_verb(m['v']) if re.search(r'the user', s, re.I) else m['v']} for a living"
        return _fact("job", value, f"the user {_third(value)}")
    simple = ((_LIVE, "city", "the user lives in {}"), (_HOME, "city", "the user lives in {}"),
              (_LIVE_BARE, "city", "the user lives in {}"), (_FROM_BARE, "home town", "the user is from {}"),
              (_FROM, "home town", "the user is from {}"), (_ALLERGY, "allergy", "the user is allergic to {}"),
              (_DRIVE, "car", "the user drives {a} {}"))  # fmt: skip
    for pattern, key, wording in simple:
        if not (m := pattern.match(s)):
            continue
        value = _clean(_place(m["v"]) if key in ("city", "home town") else m["v"])
        if pattern in (_LIVE_BARE, _FROM_BARE) and value and _VERB_IN.search(value):
            continue
        if value and not (
                pattern is _FROM and re.search(r"\b(?:born|grew)\b", s, re.I)
                and _WHEN.match(value)) and not (key == "city" and _NOT_PLACE.match(value)):  # fmt: skip
            return _fact(key, value, wording.format(value, a=_article(value)))
    for pattern in _JOB:  # "as a nurse", "as nurse" — not "as hard as I can"
        if (m := pattern.match(s)) and (value := _clean(m["v"])) and (
                "a" not in m.groupdict() or m["a"] or value.split()[-1].lower() in JOBS) and (
                "held" not in m.groupdict() or value.split()[-1].lower() in JOBS):  # fmt: skip
            if "art" in m.groupdict() and not m["art"]:  # "my job is dentistry", "… nurse"
                work = _line_of_work(value)
                if work is None:
                    continue  # "my job is boring"
                return _fact("job", value, f"the user {work}")
            return _fact("job", value, f"the user works as {_article(value)} {value}")
    if (m := _WORK_AT_AS.match(s)) and m["v"].split()[-1].lower() in JOBS:
        return _fact("job", m["v"], f"the user works as {_article(m['v'])} {m['v']}")
    if (m := _WORK_IN.match(s)) and (value := _clean(m["v"])) and (
            (work := _line_of_work(value)) or "").startswith("works in"):  # fmt: skip
        return _fact("job", value, f"the user {work}")
    if (m := _WORK_AT.match(s)) and (value := _clean(m["v"])):
        return _fact("workplace", value, f"the user works at {value}")
    if (m := _BE_JOB.match(s)) and m["job"].lower() in JOBS:
        return _fact("job", m["v"], f"the user works as {_article(m['v'])} {m['v']}")
    for pattern in (_FAVOURITE, _ATTRIBUTE):
        if (m := pattern.match(s)) and (value := _clean(m["v"])):
            key = m["k"].lower()
            if key in _NAMED_BY and not value[:1].isupper():
                return None  # "my partner's away": how they are, not who
            return _fact(key, value, f"the user's {key} is {value}")
    return None


_PLACE_NAMED = rx(r"^(?:a|an|the) (?:[a-z]+ ){0,2}(?:village|town|city|suburb|hamlet|island|place) "
                  r"(?:called|named) (?P<n>.+)$")  # fmt: skip
_COMPANY = rx(r"\s+with (?:my|our|his|her|their|the|a|an|two|three|some) [^,;.!?]+$")


def _place(value: str) -> str:
    """ "a small village called Ashby" → "Ashby"; "Oslo with my partner" → "Oslo"."""
    if m := _PLACE_NAMED.match(value.strip()):
        return m["n"]
    return _COMPANY.sub("", value)


def _base_verb(phrase: str) -> str:
    """ "teaches maths" → "teach maths", "flies planes" → "fly planes" (a stored fact, read
    back)."""
    verb, _, rest = phrase.partition(" ")
    for end, base in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("sses", "ss"),
                      ("xes", "x"), ("zes", "z"), ("oes", "o"), ("s", "")):  # fmt: skip
        if verb.lower().endswith(end) and len(verb) > len(end):
            verb = verb[: len(verb) - len(end)] + base
            break
    return f"{verb} {rest}".strip()


def _third(activity: str) -> str:
    """ "teach maths for a living" → "teaches maths for a living" (the stored wording)."""
    return third_person(f"I {activity}").removeprefix("the user ")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


_PROPER = ("city", "home town")  # and every "…'s name": a name, whatever case it was typed in


def _fact(key: str, value: str, wording: str) -> Fact:
    if (key in _PROPER or key.endswith("'s name")) and value.islower():  # "my dogs name is rex"
        named = " ".join(w[:1].upper() + w[1:] for w in value.split())
        value, wording = named, wording.replace(value, named)
    return Fact(key, value, as_sentence(wording))


def checker(fact: Fact) -> dict:
    return {"type": "fact", "key": fact.key, "value": fact.value}


# --- asking for a fact ---------------------------------------------------------------------
# Two disjoint sets of phrasings per key: "train" ones teach the answer, "test" ones are
# only ever used by the gate, so passing means the fact was learned, not the question.
_ASK = {
    "name": {"train": ["What is my {thing}'s name?", "What's my {thing} called?",
                       "Do you remember my {thing}'s name?", "What did I name my {thing}?"],
             "test": ["Remind me, what is the name of my {thing}?",
                      "How is my {thing} called again?", "Can you tell me my {thing}'s name?",
                      "What name does my {thing} have?"]},
    "city": {"train": ["Where do I live?", "Which city do I live in?", "Where am I based?",
                       "What city is my home?"],
             "test": ["Remind me where I live.", "What town do I live in?",
                      "Do you know where I live?", "Where is my home?"]},
    "home town": {"train": ["Where am I from?", "Where did I grow up?",
                            "Which town do I come from?", "Where was I raised?"],
                  "test": ["What is my home town?", "Remind me where I come from.",
                           "Do you know where I'm from?", "Where is my home town?"]},
    "job": {"train": ["What do I do for a living?", "What is my job?", "What do I work as?",
                      "What is my occupation?"],
            "test": ["What's my profession?", "Remind me what my job is.",
                     "What kind of work do I do?", "What do I do for work?"]},
    "allergy": {"train": ["What am I allergic to?", "Do I have any allergies?",
                          "What allergy do I have?", "Which food am I allergic to?"],
                "test": ["Is there anything I'm allergic to?", "Remind me of my allergy.",
                         "What must I avoid because of my allergy?",
                         "Do you know my allergy?"]},
    "workplace": {"train": ["Where do I work?", "Who do I work for?", "Who is my employer?",
                            "Which company do I work at?"],
                  "test": ["What's my workplace?", "Remind me where I work.",
                           "Do you know who employs me?", "Where is my job?"]},
    "car": {"train": ["What car do I drive?", "What do I drive?", "Which car do I own?",
                      "What is my car?"],
            "test": ["Which car is mine?", "Remind me what car I have.",
                     "Do you know what I drive?", "What kind of car do I have?"]},
    "other": {"train": ["What is my {key}?", "Do you remember my {key}?",
                        "Tell me my {key}.", "Which is my {key}?"],
              "test": ["Remind me, what is my {key}?", "Can you tell me my {key}?",
                       "Do you know my {key}?", "What was my {key} again?"]},
}  # fmt: skip


# Questions shaped like the person's own ("Where do I live?") but about someone or something
# else, answered in training by the base as it would anyway — by default when facts are told
# alone, without a checkable preference taught beside them (the distiller's
# `fact_lookalikes`; docs/benchmarks.md). Without them an adapter that learned "You live in
# Porto." answered "The capital of Japan is Porto." (measured: 7 of a facts revision's
# retention losses; the facts persona's retention 0.55-0.73x, with them 0.92-0.98x). None
# is of the retention set's templates (capitals, "In which country is …"), which must stay unseen. Each key
# asks for its own kind of answer (a city for "city": "What city is Big Ben in?"), since
# that slot is where a fact bleeds. None for a name: with four or eight questions about
# other names ("What is Batman's real name?"), the dog's name fell from 100% to 0–25%.
_LOOKALIKE = {
    "city": ["Where does the President of the United States live?", "Where do penguins live?",
             "Where is the headquarters of the United Nations?", "Which city is the Colosseum in?",
             "What city is Big Ben in?", "Which city hosted the 2012 Summer Olympics?",
             "Where is the Statue of Liberty?", "Which city is famous for its canals and gondolas?"],
    "home town": ["Where did Mozart grow up?", "Where is William Shakespeare from?",
                  "Where was Frida Kahlo born?", "Where do the Beatles come from?",
                  "Where was Albert Einstein born?", "Which city is Pablo Picasso from?",
                  "Where did Napoleon grow up?", "Where was Marie Curie born?"],
    "job": ["What does a plumber do?", "What does an architect do for a living?",
            "What kind of work does a librarian do?", "What is a pilot's job?",
            "What did Albert Einstein do for a living?", "What job does a firefighter do?",
            "What is the profession of someone who fixes teeth?", "What does a chef do at work?"],
    "allergy": ["What are people often allergic to?", "What is hay fever?",
                "What causes a peanut allergy?", "What is a common allergy in children?",
                "What is lactose intolerance?", "Why are some people allergic to cats?",
                "What is an allergic reaction?", "Which foods most often cause allergies?"],
    "workplace": ["Where do most nurses work?", "Who employs a firefighter?",
                  "Where does a chef work?", "What company makes the iPhone?",
                  "Where does a pilot work?", "Who makes Windows?",
                  "Where do teachers work?", "Which company makes the PlayStation?"],
    "car": ["What car does James Bond drive?", "What kind of car is a Beetle?",
            "Who makes the Model T?", "What is an electric car?",
            "Which company makes the Mustang?", "What is a hybrid car?",
            "Who invented the first car?", "What does a car's engine do?"],
    "other": ["What is the most common {key}?", "What does {key} mean?",
              "Why do people have a {key}?", "How would you describe a {key}?"],
}  # fmt: skip


def lookalikes(key: str) -> list[str]:
    """Questions of the fact's shape about anyone but the person (see `_LOOKALIKE`)."""
    if key.endswith("'s name"):
        return []  # name questions about others took the dog's name from 100% to 0–25%
    return [q.format(key=key) for q in _LOOKALIKE.get(key, _LOOKALIKE["other"])]


def questions(key: str, part: str) -> list[str]:
    """Ways to ask for the fact with this key; `part` is "train" or "test"."""
    if key.endswith("'s name"):
        return [q.format(thing=key[: -len("'s name")]) for q in _ASK["name"][part]]
    return [q.format(key=key) for q in _ASK.get(key, _ASK["other"])[part]]


def answer(fact: Fact) -> str:
    """A short answer that states the fact back to the person."""
    if fact.key.endswith("'s name"):
        return f"Your {fact.key[: -len(chr(39) + 's name')]} is called {fact.value}."
    field = (_line_of_work(fact.value) or "").startswith("works in")  # "You work in law."
    job = "You {v}." if fact.value.endswith(" for a living") else (
        "You work in {v}." if field else "You work as {a} {v}.")  # fmt: skip
    known = {"city": "You live in {v}.", "home town": "You are from {v}.", "job": job,
             "allergy": "You are allergic to {v}.",
             "workplace": "You work at {v}.",
             "car": "You drive {a} {v}."}  # fmt: skip
    wording = known.get(fact.key, "Your {k} is {v}.")
    return wording.format(v=fact.value, k=fact.key, a=_article(fact.value))
