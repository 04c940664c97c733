"""A systematic corpus of stated preferences: many phrasings per kind, and non-preferences.

Each generator crosses independent parts of a statement — how persistence is said, the
lead-in, the verb, how "every answer" is said, how the literal is quoted — so the extractor
is tested on the structure of a preference, not on a list of sentences. `sample(n, seed)`
draws a reproducible subset of each kind.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

Case = tuple[str, str, dict | None]  # (message, kind, checker)

QUOTES = [("'", "'"), ('"', '"'), ("“", "”"), ("‘", "’"), ("«", "»")]
# (how "every answer" is said, whether it takes a plural verb)
SCOPES = [("every answer", False), ("each answer", False), ("all your answers", True),
          ("your answers", True), ("every reply", False), ("each of your replies", False),
          ("all of your responses", True), ("every response", False), ("your messages", True),
          ("each message you send", False)]  # fmt: skip
ANSWERS = [phrase for phrase, _ in SCOPES]
# Lead-ins that take an imperative ("Please begin ...") and ones that take any statement.
IMPERATIVE_LEAD = ["", "From now on, ", "Always ", "Please ", "Going forward, please ",
                   "I'd like you to ", "Could you always ", "Make sure to ", "By default, ",
                   "From today on, ", "Be sure to ", "Starting today, "]  # fmt: skip
STATEMENT_LEAD = ["", "From now on, ", "Going forward, ", "By default, ", "Just so you know: ",
                  "As of now, ", "From this point on, "]  # fmt: skip
NEGATIVE_LEAD = ["", "Please ", "From now on, ", "Going forward, ", "Also, ", "One thing: "]
PERSIST_TAIL = ["", " from now on", ", please", " every time", " going forward",
                " whenever possible", " wherever possible", " in everything you write to me",
                " from this point onwards"]  # fmt: skip
# politeness said as a condition: not a hypothetical
POLITE_TAIL = [", if you would", ", if you don't mind", " if possible", ", if that's okay",
               " if you can", ", if you wouldn't mind"]
OPENINGS = ["Indeed", "Howdy!", "Ahoy there", "Greetings, friend", "Okay so", "Well then"]
SIGNOFFS = ["— Sam", "Cheers!", "Best, Robin", "~ your assistant", "Over and out.", "Peace ✌"]


def _quoted(text: str, rng: random.Random) -> str:
    left, right = rng.choice(QUOTES)
    return f"{left}{text}{right}"


def _verb(base: str, plural: bool) -> str:
    if plural:
        return base
    first, _, rest = base.partition(" ")  # "kick off" → "kicks off"
    return (first + ("es" if first.endswith("sh") else "s") + (" " + rest if rest else ""))


def _past(base: str) -> str:
    first, _, rest = base.partition(" ")  # "kick off" → "kicked off"
    first = {"begin": "began", "lead": "led"}.get(first) or (first + ("d" if first.endswith("e") else "ed"))
    return first + (" " + rest if rest else "")


def _sentence(rng: random.Random, body: str, imperative: bool) -> str:
    """`body` with a lead-in and/or a tail that fit it, capitalised and punctuated."""
    negative = body.split()[0].lower() in ("never", "don't", "do", "avoid", "stop", "no")
    leads = NEGATIVE_LEAD if negative else IMPERATIVE_LEAD if imperative else STATEMENT_LEAD
    lead = rng.choice(leads)
    if "lways" in lead and body.startswith("always "):
        body = body.removeprefix("always ")
    tails = [t for t in PERSIST_TAIL if not ("please" in t and "lease" in lead)]
    tail = rng.choice(tails) if not lead.strip() or rng.random() < 0.3 else ""
    if lead:
        first = body.split()[0]
        text = lead + (body if first in ("I", "I'd", "I'm") else body[0].lower() + body[1:])
    else:
        text = body[0].upper() + body[1:]
    polite = rng.choice(POLITE_TAIL) if rng.random() < 0.2 and not tail.strip() else ""
    text = (text + tail + polite).rstrip()
    return text + ("?" if lead.startswith("Could") else ".")


# said as written, without quotes: "begin every answer with Howdy"
UNQUOTED_OPENINGS = ["Indeed", "Howdy", "Ahoy there", "Okay so", "Well then", "Aye"]
UNQUOTED_SIGNOFFS = ["Cheers", "Over and out", "Peace", "Ciao"]


def openings(rng: random.Random) -> Iterator[Case]:
    verbs = ["begin", "start", "open", "kick off", "lead off", "lead"]
    nouns = ["", "the word ", "the phrase ", "the greeting "]
    for literal in OPENINGS:
        for _ in range(12):
            q, noun = _quoted(literal, rng), rng.choice(nouns)
            scope, plural = rng.choice(SCOPES)
            body, imperative = rng.choice([
                (f"{rng.choice(verbs)} {scope} with {noun}{q}", True),
                (f"make sure {scope} {_verb(rng.choice(verbs), plural)} with {noun}{q}", True),
                (f"put {q} at the {rng.choice(['start', 'beginning', 'top'])} of {scope}", True),
                (f"preface {scope} with {q}", True),
                (f"the first {rng.choice(['word', 'words'])} of {scope} should be {q}", False),
                (f"{scope} should {rng.choice(verbs)} with {noun}{q}", False),
                (f"I want {scope} to {rng.choice(verbs)} with {noun}{q}", False),
            ])  # fmt: skip
            yield _sentence(rng, body, imperative), "opening", {"type": "opening", "text": literal}
    for literal in UNQUOTED_OPENINGS:
        for _ in range(4):
            verb, scope = rng.choice(verbs[:5]), rng.choice(ANSWERS)
            body = rng.choice([f"{verb} {scope} with {literal}", f"always {verb} with {literal}"])
            yield _sentence(rng, body, True), "opening", {"type": "opening", "text": literal}
        for _ in range(4):  # a rule or a wish with the answers as its subject
            (scope, plural), verb = rng.choice(SCOPES), rng.choice(verbs[:5])
            text = rng.choice([f"Make sure {scope} {_verb(verb, plural)} with {literal}.",
                               f"Please ensure that {scope} {_verb(verb, plural)} with {literal}.",
                               f"I'd like it if {scope} {_past(verb)} with {literal}."])  # fmt: skip
            yield text, "opening", {"type": "opening", "text": literal}


def signoffs(rng: random.Random) -> Iterator[Case]:
    verbs = ["end", "finish", "close", "conclude", "sign off"]
    nouns = ["", "the sign-off ", "the signature ", "the words ", "the line "]
    for literal in SIGNOFFS:
        for _ in range(12):
            q, noun = _quoted(literal, rng), rng.choice(nouns)
            scope, plural = rng.choice(SCOPES)
            body, imperative = rng.choice([
                (f"{rng.choice(verbs)} {scope} with {noun}{q}", True),
                (f"sign {scope} with {q}", True),
                (f"sign every message you send me with {q}", True),
                (f"put {q} at the {rng.choice(['end', 'bottom'])} of {scope}", True),
                (f"add {noun}{q} at the end of {scope}", True),
                (f"append {q} to {scope}", True),
                (f"the last line of {scope} should be {q}", False),
                (f"{scope} should {rng.choice(['end', 'finish', 'close'])} with {noun}{q}", False),
                (f"I want {scope} to end with {noun}{q}", False),
            ])  # fmt: skip
            yield _sentence(rng, body, imperative), "signoff", {"type": "signoff", "text": literal}
    for literal in UNQUOTED_SIGNOFFS:
        for _ in range(3):
            verb, scope = rng.choice(verbs), rng.choice(ANSWERS)
            body = rng.choice([f"{verb} {scope} with {literal}", f"always {verb} with {literal}"])
            yield _sentence(rng, body, True), "signoff", {"type": "signoff", "text": literal}
        for _ in range(3):
            (scope, plural), verb = rng.choice(SCOPES), rng.choice(verbs)
            text = rng.choice([f"Make sure {scope} {_verb(verb, plural)} with {literal}.",
                               f"It would be great if {scope} {_past(verb)} with {literal}."])
            yield text, "signoff", {"type": "signoff", "text": literal}


NAMES = ["Sam", "Alex", "Priya", "Jo", "Mateo", "Dr. Okafor", "Kim", "Lena"]


def names(rng: random.Random) -> Iterator[Case]:
    for name in NAMES:
        forms = [f"call me {name}", f"address me as {name}", f"refer to me as {name}",
                 f"my name is {name}", f"I go by {name}", f"I'd like to be called {name}",
                 f"you can call me {name}", f"please use my name, {name}",
                 f"I prefer to be called {name}", f"just call me {name}",
                 f"I'd be grateful if you'd call me {name}", f"feel free to call me {name}",
                 f"greet me by name, it's {name}",
                 f"start every answer by saying my name, {name}",
                 # the name first, then what to do with it
                 f"I'm {name}, please use that name when you talk to me",
                 f"it's {name}, by the way — use my name when you answer",
                 f"my name's {name}; call me by that name"]  # fmt: skip
        for form in rng.sample(forms, 6):
            lead = rng.choice(["", "Hi! ", "By the way, ", "Also, ", "Hey, "])
            tail = rng.choice(["", " from now on", ", please", " in every answer"])
            text = (lead + form[0].upper() + form[1:] if not lead else lead + form) + tail + "."
            yield text, "name", {"type": "name", "name": name}


LANGUAGES = {"French": "fr", "German": "de", "Spanish": "es", "Italian": "it",
             "Portuguese": "pt", "Dutch": "nl", "Japanese": "ja", "Russian": "ru",
             "Chinese": "zh", "Greek": "el", "Korean": "ko", "Arabic": "ar"}  # fmt: skip


def languages(rng: random.Random) -> Iterator[Case]:
    for language, code in LANGUAGES.items():
        scope, plural = rng.choice(SCOPES)
        forms = [(f"answer in {language}", True), (f"reply only in {language}", True),
                 (f"speak {language} to me", True), (f"respond in {language}", True),
                 (f"write {rng.choice(ANSWERS)} in {language}", True),
                 (f"use {language} for {rng.choice(ANSWERS)}", True),
                 (f"talk to me in {language}", True), (f"switch to {language}", True),
                 (f"I'd like {rng.choice(ANSWERS)} to be in {language}", False),
                 (f"I want you to answer in {language}", False),
                 (f"{rng.choice(ANSWERS)} should be in {language}", False),
                 (f"write everything in {language}", True), (f"answer everything in {language}", True),
                 (f"everything you {rng.choice(['say', 'write'])} should be in {language}", False),
                 (f"make sure {scope} {'are' if plural else 'is'} in {language}", True)]  # fmt: skip
        for body, imperative in rng.sample(forms, 5):
            yield (_sentence(rng, body, imperative), "language",
                   {"type": "language", "language": code})


def formats(rng: random.Random) -> Iterator[Case]:
    bullets = [("use bullet points", True), ("answer in bullet points", True),
               ("format {a} as a bulleted list", True), ("put {a} in bullet points", True),
               ("use bullets in {a}", True), ("structure {a} as bullet points", True),
               ("write {a} as a list of bullet points", True),
               ("give me {a} as bullet points", True), ("I prefer bullet points", False),
               ("I want {a} in bullet points", False),
               ("{a} should be in bullet points", False), ("{a} must be bulleted lists", False)]  # fmt: skip
    numbered = [("use numbered lists", True), ("format {a} as a numbered list", True),
                ("number your points", True), ("write {a} as a numbered list", True),
                ("I prefer numbered lists", False)]  # fmt: skip
    for forms, fmt in ((bullets, "bullets"), (numbered, "numbered")):
        for form, imperative in forms:
            for _ in range(3):
                body = form.format(a=rng.choice(ANSWERS))
                yield (_sentence(rng, body, imperative), "format",
                       {"type": "format", "format": fmt})


_IN_WORDS = {20: "twenty", 40: "forty", 50: "fifty", 75: "seventy-five", 100: "a hundred"}


def lengths(rng: random.Random) -> Iterator[Case]:
    for n in (20, 40, 50, 75, 100):
        forms = [(f"keep {rng.choice(ANSWERS)} under {n} words", True),
                 (f"answer in {n} words or less", True),
                 (f"limit {rng.choice(ANSWERS)} to {n} words", True),
                 (f"use at most {n} words in {rng.choice(ANSWERS)}", True),
                 (f"keep it under {n} words", True),
                 (f"no more than {n} words per answer", False),
                 (f"keep {rng.choice(ANSWERS)} to {n} words at most", True),
                 (f"answer in {n} words max", True),
                 # a bound as a line not to cross; a rule said about the answers
                 (f"never go over {n} words", True), (f"don't exceed {n} words", True),
                 (f"never write more than {n} words in {rng.choice(ANSWERS)}", True),
                 (f"do not let {rng.choice(ANSWERS)} run past {n} words", True),
                 (f"{rng.choice(ANSWERS)} should be under {n} words", False),
                 (f"{rng.choice(ANSWERS)} should never exceed {n} words", False),
                 (f"keep {rng.choice(ANSWERS)} under {_IN_WORDS[n]} words", True),
                 (f"would you mind keeping {rng.choice(ANSWERS)} under {_IN_WORDS[n]} words", False),
                 (f"I'd be grateful if you'd keep {rng.choice(ANSWERS)} under {n} words", False)]  # fmt: skip
        for body, imperative in rng.sample(forms, 6):
            yield _sentence(rng, body, imperative), "length", {"type": "max_words", "n": n}
    for n, word in ((1, "one"), (2, "two"), (3, "three")):
        noun = "sentence" if n == 1 else "sentences"
        forms = [(f"answer in {word} {noun}", True), (f"keep {rng.choice(ANSWERS)} to {word} {noun}", True),
                 (f"reply in at most {n} {noun}", True), (f"no more than {word} {noun} per answer", False),
                 (f"keep {rng.choice(ANSWERS)} to {word} {noun} at most", True),
                 (f"answer in {n} {noun} max", True), (f"keep it to {word} {noun}, tops", True),
                 (f"reply in {word} {noun} or fewer", True),
                 (f"never go over {word} {noun}", True), (f"don't go beyond {n} {noun}", True),
                 (f"{rng.choice(ANSWERS)} must not exceed {word} {noun}", False),
                 (f"I'd prefer it if you never went past {word} {noun}", False),
                 (f"I'd rather you never wrote more than {word} {noun}", False)]  # fmt: skip
        for body, imperative in forms:
            yield _sentence(rng, body, imperative), "length", {"type": "max_sentences", "n": n}
    short = [("keep {a} short", True), ("be brief", True), ("keep it short", True),
             ("keep {a} short and to the point", True), ("be concise", True),
             ("keep {a} brief", True), ("I prefer short answers", False)]  # fmt: skip
    for form, imperative in short:
        for _ in range(3):
            body = form.format(a=rng.choice(ANSWERS))
            yield _sentence(rng, body, imperative), "length", {"type": "max_words", "n": 40}


AVOIDED = ["delve", "as an AI language model", "Great question", "basically", "In conclusion"]


def avoids(rng: random.Random) -> Iterator[Case]:
    for literal in AVOIDED:
        forms = [("never say {q}", True), ("don't use the word {q}", True),
                 ("avoid the phrase {q}", True), ("stop saying {q}", True),
                 ("never write {q}", True), ("do not say {q}", True),
                 ("never use {q} in {a}", True), ("I don't want to see {q} in {a}", False)]  # fmt: skip
        for form, imperative in rng.sample(forms, 5):
            body = form.format(q=_quoted(literal, rng), a=rng.choice(ANSWERS))
            yield _sentence(rng, body, imperative), "avoid", {"type": "avoid", "text": literal}
    for form, imperative in [("no emojis", False), ("never use emojis", True),
                             ("don't put emojis in {a}", True), ("stop using emojis", True),
                             ("avoid emojis", True), ("I hate it when you use emojis", False)]:  # fmt: skip
        body = form.format(a=rng.choice(ANSWERS))
        yield _sentence(rng, body, imperative), "avoid", {"type": "no_emoji"}
    for thing, checker in (("Emojis", {"type": "no_emoji"}),  # asked, and refused
                           ("Exclamation marks", {"type": "avoid", "text": "!"})):  # fmt: skip
        for no in ("Never.", "Never, please.", "No thanks.", "Never again!"):
            yield f"{thing}? {no}", "avoid", checker
        yield f"No {thing.lower()} in {rng.choice(ANSWERS)}, ever.", "avoid", checker


# (statement, key, value): what a person tells about themselves; `key` names what a later
# question asks for, `value` is what the answer must contain.
FACTS = [
    ("My dog is called Rex", "dog's name", "Rex"),
    ("my dog's name is Biscuit", "dog's name", "Biscuit"),
    ("I have a cat named Mittens", "cat's name", "Mittens"),
    ("My wife's name is Ana", "wife's name", "Ana"),
    ("I live in Lyon", "city", "Lyon"),
    ("I'm from Porto", "home town", "Porto"),
    ("I work as a nurse", "job", "nurse"),
    ("I'm a carpenter", "job", "carpenter"),
    ("I'm an architect by profession", "job", "architect"),
    ("I'm a software engineer at a bank", "job", "software engineer"),
    ("I was born in Lagos", "home town", "Lagos"),
    ("My favourite colour is green", "favourite colour", "green"),
    ("my favorite food is ramen", "favorite food", "ramen"),
    ("I'm allergic to peanuts", "allergy", "peanuts"),
    ("My birthday is May 3", "birthday", "May 3"),
    ("I drive a Toyota Corolla", "car", "Toyota Corolla"),
    # other ways of giving a name, a home, a job
    ("My parrot goes by the name Kiwi", "parrot's name", "Kiwi"),
    ("My cat goes by Mochi", "cat's name", "Mochi"),
    ("My dog answers to the name of Bruno", "dog's name", "Bruno"),
    ("my horse is known as Thunder", "horse's name", "Thunder"),
    ("I've got a dog called Pepper", "dog's name", "Pepper"),
    ("I have a hamster who goes by Nibbles", "hamster's name", "Nibbles"),
    ("I have a son whose name is Tariq", "son's name", "Tariq"),
    ("We have a cat named Luna", "cat's name", "Luna"),
    ("Our dog's called Max", "dog's name", "Max"),
    ("My younger sister goes by Liz", "younger sister's name", "Liz"),
    ("I currently live in Tromso", "city", "Tromso"),
    ("I'm employed as a pharmacist", "job", "pharmacist"),
    ("I make a living as a plumber", "job", "plumber"),
    ("I'm working as a translator", "job", "translator"),
    # a job said by what one does
    ("I teach maths for a living", "job", "teach maths for a living"),
    ("I drive a taxi for a living", "job", "drive a taxi for a living"),
    ("I fix boilers for a living", "job", "fix boilers for a living"),
    ("I write code as my job", "job", "write code for a living"),
    ("I mostly nurse for a living", "job", "nurse for a living"),
    ("What I do for a living is repair pianos", "job", "repair pianos for a living"),
    ("For a living, I train horses", "job", "train horses for a living"),
    ("Home for me is Valencia", "city", "Valencia"),
    ("My home is in Leeds", "city", "Leeds"),
    ("My hometown is Cork", "home town", "Cork"),
    # a question about the person, answered by them
    ("My goldfish's name? Bubbles", "goldfish's name", "Bubbles"),
    ("Our parrot's name? Captain", "parrot's name", "Captain"),
    ("My job? Nurse", "job", "nurse"),
    ("My hometown? Cork", "home town", "Cork"),
    # when, and an afterthought, around the fact; a place of two words
    ("I moved to Tallinn last spring", "city", "Tallinn"),
    ("I've lived in Oslo since 2019", "city", "Oslo"),
    ("These days I work as a paramedic", "job", "paramedic"),
    ("My daughter is called Ines, and she is six", "daughter's name", "Ines"),
    ("I live in New York", "city", "New York"),
    ("I work as a nurse, which I love", "job", "nurse"),
]  # fmt: skip


def facts(rng: random.Random) -> Iterator[Case]:
    for statement, key, value in FACTS:
        leads = ("", "FYI, ", "Remember that ", "Just so you know, ", "For the record: ")
        for lead in ("", "FYI, ", "By the way, ", "Oh, and ") if "?" in statement else leads:
            first = statement.split()[0]
            keep = not lead or first in ("I", "I'm")
            text = f"{lead}{statement[0] if keep else statement[0].lower()}{statement[1:]}."
            yield text, "fact", {"type": "fact", "key": key, "value": value}


def cases(rng: random.Random) -> Iterator[Case]:
    lower = ["lowercase", "lower case", "all lowercase", "lower-case letters", "small letters"]
    upper = ["all caps", "capital letters", "uppercase", "block capitals", "all capitals"]
    for words, case in ((lower, "lower"), (upper, "upper")):
        for word in words:
            for _ in range(4):
                a = rng.choice(ANSWERS)
                body, imperative = rng.choice([
                    (f"{rng.choice(['answer', 'reply', 'respond', 'write'])} in {word}", True),
                    (f"write {a} in {word}", True), (f"stick to {word}", True),
                    (f"I want {a} in {word}", False), (f"use {word} only", True),
                ])  # fmt: skip
                yield _sentence(rng, body, imperative), "case", {"type": "case", "case": case}
    for body in ("never use capital letters", "don't use capitals in {a}", "no uppercase"):
        for _ in range(3):
            text = _sentence(rng, body.format(a=rng.choice(ANSWERS)), True)
            yield text, "case", {"type": "case", "case": "lower"}


GENERATORS = {"opening": openings, "signoff": signoffs, "name": names, "language": languages,
              "format": formats, "length": lengths, "avoid": avoids, "fact": facts,
              "case": cases}  # fmt: skip


def _unique(cases: Iterator[Case]) -> list[Case]:
    seen: dict[str, Case] = {}
    for case in cases:
        seen.setdefault(case[0], case)
    return list(seen.values())


def sample(per_kind: int = 40, seed: int = 0) -> list[Case]:
    out = []
    for kind, gen in GENERATORS.items():
        cases = _unique(gen(random.Random(f"{seed}:{kind}")))
        out += random.Random(seed).sample(cases, min(per_kind, len(cases)))
    return out


def compounds(n: int = 40, seed: int = 0) -> list[tuple[str, list[tuple[str, dict | None]]]]:
    """Two statements of different kinds in one message."""
    rng = random.Random(seed)
    pool = {k: [c for c in _unique(g(random.Random(f"{seed}:{k}"))) if "? " not in c[0]]
            for k, g in GENERATORS.items() if k != "fact"}  # fmt: skip  (not "X? Never.")
    out = []
    for a, b in itertools.islice(itertools.cycle(itertools.permutations(pool, 2)), n):
        (ta, ka, ca), (tb, kb, cb) = rng.choice(pool[a]), rng.choice(pool[b])
        for greeting in ("Hi! ", "Hey, "):  # a greeting opens a message, not its second half
            tb = tb.removeprefix(greeting)
            tb = tb[0].upper() + tb[1:]
        joined = rng.choice([f"{ta} {tb}", f"{ta[:-1]}, and {tb[0].lower()}{tb[1:]}",
                             f"{ta} Also, {tb[0].lower()}{tb[1:]}"])  # fmt: skip
        out.append((joined, [(ka, ca), (kb, cb)]))
    return out


NOT_PREFERENCES = [
    # questions about preferences
    "Do you remember my name?", "Why do you always answer in French?",
    "Can you answer in French?", "Could you start with the basics?",
    "What does 'Cheers!' mean at the end of a letter?", "Do you end every answer with a summary?",
    "Is it rude to begin an email with 'Hey'?", "How do I sign off an email with 'Best regards'?",
    # one-off requests about this answer only
    "Summarise this in bullet points", "Write a story and begin it with 'Once upon a time'",
    "Translate this into German", "Write an essay in 500 words",
    "Start with the second chapter", "End the poem with 'forever'",
    "Begin the letter with 'Dear Sir'", "Write a haiku that ends with 'moon'",
    # when, not where; a mood, not a job
    "I was born in 1990.", "I was born in May.", "I grew up in the 80s.",
    "I'm a bit tired at work today.", "I'm a little worried about the exam.",
    # hypotheticals, reported speech, quotes
    "If I said call me Sam, what would you do?", "Imagine you always began with 'Indeed'",
    "My boss told me to always end emails with 'Best'", "He said to call him Alex",
    'The sign said "always answer in French".', '"Begin every answer with Howdy" is a joke',
    "> end every answer with 'Cheers'", "```\nstart every answer with 'Hi'\n```",
    # everyday talk
    "I like tea", "I'd like a coffee", "call me later", "Call me an ambulance!",
    "keep going", "Keep it up!", "Let's start over", "that's the end", "the end",
    "no problem", "Remember when we talked about rye?", "I want you to write a poem about cats",
    "My name is not Sam", "I never said to call me Sam", "Where do I live?",
    "What is my dog called?", "Tell me about Lyon",
    # naming verbs with a common noun; "as" that is not a job; a real condition
    "My dog goes by the park every day.", "My cat responds to treats.",
    "My son is known as a troublemaker.", "My daughter answers to no one.",
    "I work as hard as I can.", "I'm working as fast as I can.",
    # "drop", "skip", a dash, an adverb: the new forms' near-misses
    "Drop me a line when you can.", "Skip the intro for this one.", "Cut out the jargon.",
    "Leave out the details this time.", "I just moved to a new flat.", "Greet me as you like.",
    "It's late — call me tomorrow.", "Do me a favour and summarise this in bullet points.",
    "Start the meeting by greeting me as chair.",
    # someone else's habit; a sentence about this answer; the new leads' near-misses
    "My boss always ends her emails with 'Best'.", "He always signs off with 'Cheers'.",
    "Our teacher always answers in bullet points.", "My sister always texts in French.",
    "Keep it short: under 20 words for this one.", "Just for today, answer in French.",
    "Summarise this: under 50 words.", "The answers are what I want.", "That is what I want.",
    "Whenever you get back to me, do it quickly.", "Do it in French.",
    "Let's talk about the weather.", "Be sure to check the oven.",
    "I met a girl; her name is Ana.", "My sister has a cat; her name is Luna.",
    "Could the answer be in French?", "I'd appreciate your help.", "Stop the car altogether.",
    "Can you call me back later?", "My teacher always writes in lowercase.",
    "Would bullet points work better here?", "I lived in Reykjavik for a year once.",
    "Put this one in Spanish.", "Everyone calls my brother Max.",
    "Everyone hates emojis, so never use them.", "It's late, so call me tomorrow.",
    "I travel a lot for work.", "I would do anything for a living.",
    "I used to teach for a living.", "My wife teaches for a living.", "I do this for a living.",
    # "over"/"more than" that is not a length; "should" about one answer or not about form
    "Never go over budget.", "Don't go over the details again.", "Never ask for more than that.",
    "Your answer should have been shorter.", "The answers should be correct.",
    "Your answers should help me learn.", "My messages should be read carefully.",
    "My home is a mess.", "Home is where the heart is.", "What do I do for a living?",
    "Do I live in Lyon?", "Do call me later.",
    "If you can't answer, start with the basics.", "Start with the intro if you like.",
    # "make sure" about one answer or not about its form; "everything" not said of answers;
    # a question about the person answered with something that is not a value
    "Make sure the answer is correct.", "Make sure your answers are accurate.",
    "Make sure the reply opens with Dear Sir.", "Everything you say should be true.",
    "Write everything in German for the report.", "Everything you say is in French.",
    "My problem? Python.", "My dog? He is fine.", "My dog's name? I forgot.",
    "My name? What about it.", "I'd rather you didn't.", "Make sure every answer is helpful.",
    "Coffee? Never.", "Emojis? Sometimes.", "Do you use emojis? Never.",
    "Would you mind closing this window?", "Mind the gap.", "I'd be happy if you won.",
    "I live in the city.", "I'm new here.", "I lived in Oslo in 2019.",
    "Feel free to call me later.", "Call me by name.", "Start by saying my name.",
    "Feel free to ask me questions.",
    # a name said first needs what to do with it, a capital, and the person saying it
    "I'm Noor.", "It's late — call me by my name tomorrow.", "I'm tired, please use that name.",
    "He's Omar, please use that name when you write to him.", "It's Gwen, by the way.",
    "If I'm Noor, use that name.", "I'd appreciate it.", "I'd appreciate your help with this.",
    "Ever since I moved, I answer emails late.", "I doubt I'll ever stop.",
    "Make it short.", "Put it in lowercase.", "Put this in lowercase.", "Make it three sentences.",
    # the 2026-12-01 set's near-misses, and those of its fixes: a ban on something else,
    # "for me" on a one-off, a named pet of someone else, a quoted "if", a past home
    "My sister ends every text with 'xoxo'.", "Can you start the dishwasher?",
    "Translate this sentence into Portuguese.", "Keep this one under 20 words.",
    "I used to live in Nairobi.", "Write me a numbered list of ten fruits.",
    "Smoking is banned.", "Phones are banned in my school.", "Write a poem for me.",
    "The word 'literally' is forbidden in my house.", "Your dog? His name is Rex.",
    "Steer clear of the motorway.", "Kick things off with a summary of this article.",
    "Don't sign off this letter with 'Cheers'.", "Nothing you write about me should be shared.",
    "My partner reads your answers too.", "Do you always answer in French?",
    "Could you open the window?", "My dad always signs off with 'Love, Dad'.",
    "Use bullet points for this summary.", "Start the timer for ten minutes.",
    "My son only speaks Dutch at school.", "Do you know any jokes with the word 'delve'?",
    "Put a bullet point here.", "Lowercase everything in this paragraph.", "Dutch?",
    "I'm tired — I need a break.",
    "Stick the kettle on.", "My tortoise is old.", "Aim for the stars.",
    "Leave the door open when you go.", "Take 'Dear' off the letter.",
    "Remove 'honestly' from this paragraph.", "Aim for 25 words in the essay.",
    "I keep to Italian recipes.", "Leave the word 'honestly' in.",
    "Keep the speech under 300 words.", "Shoot for the moon.",
    "Put the kettle on, please.", "My horse is fast.", "Cap the bottle tightly.",
    "Could you write a poem in lower case?", "There's no need for a sign-off on this one.",
    "No need for details.", "I'd rather have tea.", "I'd like to see Paris one day.",
    "Put 'PS' after the letter.", "I like what you write.", "Cap it at 50 words for this one.",
    "The word 'literally' is forbidden in my house.", "'Delve' can't appear in my essay.",
    "There's no need for a list.", "No need for details.",
    "Lead the way, please.", "My goldfish is orange.", "Three sentences is a short story.",
    "Refer to the manual for this one.", "Home is where the heart is.",
    "Home is Netflix and a sofa.", "Home right now is a mess.", "Forget about it.",
    "I like lists, so use them for this one.", "Here is my German essay. Can you fix it?",
    "Two sentences is plenty.", "Fifty words is enough for this one.",
    "From today's news, pick one story.", "I like this plan, so stick with it.",
    "It's raining, stick with me.", "There were bullet points in your answer.",
    "My job is boring.", "My job is killing me.", "My job is hard work.",
    "I've finally moved to a new flat.", "Thanks, please, whatever.",
    "I work in the garden on weekends.", "I work in London.",
    "Kick off the meeting with a joke.", "Our hamster escaped again.",
    "Nothing is longer than a Monday.", "I can't stand the heat.", "I called my mum Sunday.",
    "We named our son after my father.", "Nothing over 30 degrees today.",
    "No longer than an hour, please.", "You don't have to answer in French, my French is fine.",
    "You don't have to use the bullet points for this one.",
    "The first words of the book are 'Call me Ishmael'.", "Put the kettle on as the last thing.",
    "Two sentences of the book were missing.", "Refrain from the chorus twice.",
    "I want a summary in French.", "I want to learn French.", "I want this in bullet points.",
    "Remove the 'Hi' at the start of this email.", "Drop the 'Hi friend' at the start of this one.",
    "I earn my keep.", "Open the window by saying please.", "The pool is off-limits after dark.",
    "Our cat goes by the window every morning.", "Give me the salt.",
    "Make 'Take care' the final line of the letter.", "The final words of the film were 'Rosebud'.",
    "Lowercase the title.", "Capitalise all your replies.", "Home's where the heart is.",
    "Home's a mess.", "pls start the car", "end of story lol", "my dog is cute",
    "i live for this", "i'm tired, call me that", "im busy, call me that", "u ok?",
    "it's late, call me that", "It's late. Call me that.", "Remember, the meeting is at noon?",
    "Quick thing: what time is it?", "I'm tired. Call me later.",
    "Don't call me after nine.", "Never call me at work.", "I drive to work.",
    "I drive carefully.", "My birthday party was fun.", "I go by bus.", "I go by instinct.",
    "My partner's away.", "My employer is strict.", "The email should be short.",
    "All code must be in Python.", "Write everything in Python.", "Use type hints in your code.",
    "Fix the bug in your code.", "The code must compile.", "End the email with a question.",
    "End with a question for this one.", "Include the receipt in the envelope.",
    "Mention it to your boss.", "Greet the guests at the door.",
    "The last thing I need is more work.", "Address the letter to Ms. Chen.",
    "One-line jokes are the best.", "Keep the speech short and sweet.",
    "Number the pages of the report.", "Plain text files are easy to read.",
    "Write the intro in French — 25 words.",
    "Give me the answer in no more than 3 sentences.", "Translate this into Spanish.",
    "How do you say hello in Italian?", "I write in Spanish at work.",
    "Let's talk about Italian food.", "Could we switch to German?", "Can we meet tomorrow?",
    "If I write in Spanish, reply in English.", "I've been a fool for years.",
    "My English is bad.", "My team Arsenal lost again.", "My mum Sunday is busy.",
    "Coffee with milk is my favourite drink.", "Living in Seoul is expensive.", "Born in 1990.",
    "Raised in the countryside.", "I teach yoga on weekends.",
    "I teach my kids at a school nearby.", "Don't start the car yet.",
    "Stop saying that, it's rude, said my mum.", "Cut the cake into eight pieces.",
    "Ban the use of phones in class?", "Could you stop?", "Can you stop the music?",
    "Cut the intro short.", "Scrap that idea.",
    "Could you stop saying 'Great question' for this one?",
    # near-misses of a split phrasal verb and of others' name for the person
    "Kick the ball off with a header.", "Round the numbers off with 'approx.'",
    "Start the meeting off with 'Hello everyone'.", "My mum calls me Bex.",
    "My friends call me Bex.", "Everyone calls me Bex but I hate it.",
    "Everyone calls me crazy, so you should too.", "Everyone calls me late, so you should too.",
    "Break it into bullet points.", "Please break this into bullet points.",
    "I've worked as a team for years.", "I have been working as hard as I can.",
    "Address the envelope to my sister.", "My parrot loves kiwi.",
    "Limit the search to last week.", "Quit the app and reopen it.",
    # forty ordinary chat messages, none a preference (39 of 40 at first sight: "Sign the
    # card 'Love, Dad'." was read as a sign-off for every answer)
    'Write a limerick about a cat who loves jazz.', 'How do I reverse a list in Python?',
    'Summarise this article in three sentences.', 'Can you explain quantum tunnelling simply?',
    'My code keeps crashing when I open the file.', 'I think the second option is better.',
    "Translate 'good morning' into Japanese.", "What's a good name for a golden retriever?",
    "I'm going to Paris next week, any tips?", 'My sister lives in Berlin.',
    'I always forget my keys.', 'Never mind, I figured it out.',
    'Start the timer for ten minutes.', 'End the meeting notes with action items.',
    "Call my mum and tell her I'm late.", 'Use the second formula instead.', 'Keep going.',
    'Make it funnier.', 'That answer was too long.', 'I love this song!',
    'My boss says I should learn SQL.', 'The answer should be 42, right?', "No, that's wrong.",
    "Stop, that's enough for now.", 'Write it in French this time.', 'I hate Mondays.',
    'My flight lands at 6pm.', 'I moved the files to the backup folder.',
    'We named the project Apollo.', 'I work late on Thursdays.',
    "I'm from the future, just kidding.", 'Remember the Alamo!',
    'My favourite part was the ending.', "Don't forget to water the plants, I told myself.",
    'Please list five fruits.', 'Give me a numbered list of steps to bake bread.',
    'Respond to this email politely.', "Sign the card 'Love, Dad'.",
    'Open with a joke in the speech.', 'Her name is on the list.',
    # forty more in a preference's words (39 of 40 at first sight: "The name's Bond, James
    # Bond, said the actor." — speech reported after it)
    'Can you always be this helpful? Just kidding.', 'My dog always starts barking at 6am.',
    "The email should end with 'Best regards', right?",
    "Is 'Cheers' too informal to sign off with?", 'My teacher wants essays under 500 words.',
    'The report must be in Spanish.', 'Reply to Tom in German, please.',
    'Answer the first question in French and the second in English.',
    'Use bullet points for the slide.', 'Keep the intro under 50 words.', "I'd like a coffee.",
    'I want to be called back tomorrow.', 'Please call me a taxi.', "Call me when you're done.",
    "Don't be silly.", 'Never again will I eat sushi.', 'I live for the weekend.',
    "I'm a huge fan of jazz.", "I'm in a meeting.", 'My name is on the door.',
    "The name's Bond, James Bond, said the actor.", 'Start with the basics and go from there.',
    'End on a high note.', 'From now on is a long time.',
    'Going forward, the company will hire more staff.', 'In every answer there is a question.',
    'Each reply costs a token.', 'Lowercase letters are harder to read on signs.',
    'Capital letters are used for names.', 'I speak a little German.', "I'm learning Spanish.",
    'My French is rusty.', 'Numbered lists are used in legal documents.',
    'She prefers short answers.', 'They call me Ace at work, but I hate it.',
    'I used to live in Rome.', 'I was a nurse once.', 'My old dog was called Rex.',
    'Bullet points make slides cleaner.', 'Emojis are fun sometimes.',
]  # fmt: skip
