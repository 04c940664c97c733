"""The extractor on a systematic corpus: every kind, many phrasings, and what is not one.

See tests/prefs_corpus.py: statements are built from independent parts (persistence, lead-
in, verb, how "every answer" is said, how the literal is quoted), so a pass means the
extractor reads the structure of a preference, not a list of sentences.
"""

from __future__ import annotations

import time

import pytest

from personal.prefs.check import check
from personal.prefs.extract import extract
from tests.prefs_corpus import NOT_PREFERENCES, compounds, sample

CASES = sample(per_kind=40)


@pytest.mark.parametrize("message, kind, checker", CASES, ids=[f"{k}-{i}" for i, (_, k, _) in enumerate(CASES)])
def test_each_phrasing_gives_its_kind_and_checker(message, kind, checker):
    found = extract(message)
    assert [(c.kind, c.checker) for c in found] == [(kind, checker)], message


@pytest.mark.parametrize("message, expected", compounds(200))
def test_two_statements_in_one_message_give_both(message, expected):
    assert [(c.kind, c.checker) for c in extract(message)] == expected, message


@pytest.mark.parametrize("message", NOT_PREFERENCES)
def test_what_is_not_a_standing_preference_gives_nothing(message):
    assert extract(message) == [], message


def test_every_checker_is_one_the_checker_knows():
    for _, _, checker in CASES:
        if checker is not None:
            check(checker, "Some answer.")  # raises for an unknown checker type


def test_the_corpus_is_read_quickly():
    start = time.perf_counter()
    for message, _, _ in CASES:
        extract(message)
    assert time.perf_counter() - start < 0.05 * len(CASES)  # a budget, not a benchmark


# Written by hand, outside the corpus's grammar: phrasings people use.
WILD = [
    ("Every time you reply, start with 'Yo'.", "opening", {"type": "opening", "text": "Yo"}),
    ("Whenever you answer me, end with 'Cheers, mate'.", "signoff",
     {"type": "signoff", "text": "Cheers, mate"}),
    ("I'd appreciate it if you signed off with '— Bot' in every message.", "signoff",
     {"type": "signoff", "text": "— Bot"}),
    ("Please make your first word 'Indeed' every time.", "opening",
     {"type": "opening", "text": "Indeed"}),
    ("Could you please begin each reply with 'Alright'?", "opening",
     {"type": "opening", "text": "Alright"}),
    ("It would be great if every answer began with 'Hello there'.", "opening",
     {"type": "opening", "text": "Hello there"}),
    ("Use 'Yours truly' as the sign-off for every answer.", "signoff",
     {"type": "signoff", "text": "Yours truly"}),
    ("Add 'Hope this helps!' at the end of everything you write.", "signoff",
     {"type": "signoff", "text": "Hope this helps!"}),
    ("Whenever you write an email for me, sign it 'Best, Alex'.", "signoff",
     {"type": "signoff", "text": "Best, Alex", "scope": "email"}),
    ("You may call me Ms. Rivera.", "name", {"type": "name", "name": "Ms. Rivera"}),
    ("Please call me by my nickname, Bea.", "name", {"type": "name", "name": "Bea"}),
    ("I go by Jojo these days.", "name", {"type": "name", "name": "Jojo"}),
    ("All replies in French please.", "language", {"type": "language", "language": "fr"}),
    ("Respond to me exclusively in Italian.", "language", {"type": "language", "language": "it"}),
    ("Bullet points only, please.", "format", {"type": "format", "format": "bullets"}),
    ("I want answers formatted as numbered lists.", "format",
     {"type": "format", "format": "numbered"}),
    ("No lists, please.", "format", {"type": "format", "format": "no_lists"}),
    ("Short answers only.", "length", {"type": "max_words", "n": 40}),
    ("Limit yourself to two sentences.", "length", {"type": "max_sentences", "n": 2}),
    ("Stop using exclamation marks.", "avoid", {"type": "avoid", "text": "!"}),
    ("I can't stand the word 'utilize', never use it.", "avoid",
     {"type": "avoid", "text": "utilize"}),
    ("I'm a software engineer.", "fact",
     {"type": "fact", "key": "job", "value": "software engineer"}),
    ("I work at a bakery.", "fact", {"type": "fact", "key": "workplace", "value": "a bakery"}),
    ("I'm based in Berlin.", "fact", {"type": "fact", "key": "city", "value": "Berlin"}),
    # written after the corpus, run once through the extractor, missed, then fixed by class
    ('Kick off each of your replies with "Aye", if you would.', "opening",
     {"type": "opening", "text": "Aye"}),
    ("My parrot goes by the name Kiwi.", "fact",
     {"type": "fact", "key": "parrot's name", "value": "Kiwi"}),
    ("Going forward, keep your replies to two sentences at most.", "length",
     {"type": "max_sentences", "n": 2}),
    # written after that fix, not tuned for
    ("Open each message with Greetings!", "opening", {"type": "opening", "text": "Greetings"}),
    ("Wrap up every reply with Cheers, mate.", "signoff",
     {"type": "signoff", "text": "Cheers, mate"}),
    ("If it's not too much trouble, answer in German.", "language",
     {"type": "language", "language": "de"}),
    ("We've got a tortoise who answers to Sheldon.", "fact",
     {"type": "fact", "key": "tortoise's name", "value": "Sheldon"}),
    ("I earn my living as an electrician.", "fact",
     {"type": "fact", "key": "job", "value": "electrician"}),
    # missed at the end of the session after, fixed by class (a job said by what one does; a
    # bound said as a line not to cross)
    ("I teach maths for a living.", "fact",
     {"type": "fact", "key": "job", "value": "teach maths for a living"}),
    ("Please never go over three sentences.", "length", {"type": "max_sentences", "n": 3}),
    # written next, run once: read right at once
    ("Your replies ought to be in Dutch from here on.", "language",
     {"type": "language", "language": "nl"}),
    ('Each response you give should begin with "Right then".', "opening",
     {"type": "opening", "text": "Right then"}),
    ("I'm a vet by trade.", "fact", {"type": "fact", "key": "job", "value": "vet"}),
    ('Sign every message with "— the bot".', "signoff", {"type": "signoff", "text": "— the bot"}),
    ('Put "TL;DR" at the top of every answer.', "opening", {"type": "opening", "text": "TL;DR"}),
    # … and missed, then fixed by class: "home" as a noun; "<n> words an answer"; "try not
    # to"; a past verb after "I'd rather you"; "What I do …" and an emphatic "Do …" are not
    # questions
    ("Home for me is Valencia these days.", "fact",
     {"type": "fact", "key": "city", "value": "Valencia"}),
    ("No more than 30 words an answer, please.", "length", {"type": "max_words", "n": 30}),
    ("Try not to exceed two sentences per reply.", "length", {"type": "max_sentences", "n": 2}),
    ("I'd rather you answered in bullet points.", "format",
     {"type": "format", "format": "bullets"}),
    ("What I do for a living is repair pianos.", "fact",
     {"type": "fact", "key": "job", "value": "repair pianos for a living"}),
    ("Do address me as Professor Lin.", "name", {"type": "name", "name": "Professor Lin"}),
    # missed at the end of the session after, fixed by class: a tensed verb after "if you"
    # ("never went past"); a rule with the answers as subject after "make sure"; "everything"
    # as the answers; a question about the person, answered
    ("I'd prefer it if you never went past two sentences.", "length",
     {"type": "max_sentences", "n": 2}),
    ("Please make sure every reply opens with Salutations.", "opening",
     {"type": "opening", "text": "Salutations"}),
    ("Write everything in German from here on, please.", "language",
     {"type": "language", "language": "de"}),
    ("My goldfish's name? Bubbles.", "fact",
     {"type": "fact", "key": "goldfish's name", "value": "Bubbles"}),
    # written after that fix, run once: read right at once
    ('From today on, every answer of yours should start with "Morning!".', "opening",
     {"type": "opening", "text": "Morning!"}),
    ('Kindly close out each reply with "Regards, R2".', "signoff",
     {"type": "signoff", "text": "Regards, R2"}),
    ("Reply to me in Portuguese, always.", "language", {"type": "language", "language": "pt"}),
    ("Please, no more than one sentence per answer.", "length",
     {"type": "max_sentences", "n": 1}),
    ("Don't ever write in capitals again.", "case", {"type": "case", "case": "lower"}),
    ('Your responses should always kick off with "Yo yo".', "opening",
     {"type": "opening", "text": "Yo yo"}),
    # … and missed (or, for Tallinn, read wrong), then fixed by class: "I'd be grateful if
    # you'd"; "(would you) mind <-ing>"; a count in words; "lay … out as"; asked and refused;
    # an afterthought after a fact; when, before or after it
    ("I'd be grateful if you'd address me as Captain Reyes.", "name",
     {"type": "name", "name": "Captain Reyes"}),
    ("Mind keeping your replies under sixty words?", "length", {"type": "max_words", "n": 60}),
    ("Lay everything out as bullet points from now on.", "format",
     {"type": "format", "format": "bullets"}),
    ("Emojis? Never, please.", "avoid", {"type": "no_emoji"}),
    ("My daughter is called Ines, and she is six.", "fact",
     {"type": "fact", "key": "daughter's name", "value": "Ines"}),
    ("I moved to Tallinn last spring.", "fact", {"type": "fact", "key": "city", "value": "Tallinn"}),
    ("These days I work as a paramedic.", "fact",
     {"type": "fact", "key": "job", "value": "paramedic"}),
    # five ways to give a name, written at the end of the session, run once: one read right
    # ("Dr. Lindqvist"), three missed and fixed by class ("feel free to"; "greet me by name —
    # it's …"; "start each answer by saying my name, …"); "It's Gwen, by the way — use my
    # name when you answer." was missed (the name said before what to do with it): fixed
    # next session with the other misses of that stop, below
    ("Please address me as Dr. Lindqvist in every reply.", "name",
     {"type": "name", "name": "Dr. Lindqvist"}),
    ("Feel free to call me Tomasz from now on.", "name", {"type": "name", "name": "Tomasz"}),
    ("Whenever you reply, greet me by name — it's Marisol.", "name",
     {"type": "name", "name": "Marisol"}),
    ("From now on I'd like you to start each answer by saying my name, Ayo.", "name",
     {"type": "name", "name": "Ayo"}),
    # missed at the end of a session, fixed by class the next: the name said first, then
    # what to do with it; "I'd appreciate <the answers> …"; a trailing "ever"; "weren't so …"
    ("It's Gwen, by the way — use my name when you answer.", "name",
     {"type": "name", "name": "Gwen"}),
    ("Hey — I'm Noor, please use that name when you talk to me.", "name",
     {"type": "name", "name": "Noor"}),
    ("I'd appreciate replies in Italian from now on.", "language",
     {"type": "language", "language": "it"}),
    ("No exclamation marks in your replies, ever.", "avoid", {"type": "avoid", "text": "!"}),
    ("I'd rather you weren't so formal.", "style", None),
    # thirty more, written and run once the next session: 24 read right, 'Sign off every
    # answer with your initials, AI.' read wrong (the literal "your initials, AI"), five
    # missed — four fixed by class ("make <the answers> …"; "put everything in lowercase";
    # "whenever you explain something"; "the name's …"), "Write all code in Python." left
    # out (no kind checks a programming language)
    ("Make every answer three sentences max.", "length", {"type": "max_sentences", "n": 3}),
    ("Put everything in lowercase please.", "case", {"type": "case", "case": "lower"}),
    ("Use numbered steps whenever you explain something.", "format",
     {"type": "format", "format": "numbered"}),
    ("Sign off every answer with your initials, AI.", "other", None),
    ("The name's Bond — James Bond. Please call me that.", "name",
     {"type": "name", "name": "Bond"}),
    ("Every reply should open with the words \"Good day\".", "opening",
     {"type": "opening", "text": "Good day"}),
    ("Going forward, start your answers with 'Righto'.", "opening",
     {"type": "opening", "text": "Righto"}),
    ("Make every reply under 50 words.", "length", {"type": "max_words", "n": 50}),
    ("I'm a software engineer by trade.", "fact",
     {"type": "fact", "key": "job", "value": "software engineer"}),
    # twenty more, written and run once (2026-12-01): 14 read right, one unchecked (a name
    # said as a greeting), five missed — fixed by class: a clause after a dash; "do me a
    # favour and …"; an adverb before "moved"; "drop/skip/lose/cut out X" as "don't use X";
    # "greet me as", "start by greeting me as". Left out: "Let's keep things brief: under
    # 50 words per reply, okay?" (a bare fragment after a colon)
    ("No bullet lists please — I want plain paragraphs, always.", "format",
     {"type": "format", "format": "no_lists"}),
    ("Do me a favour and never say 'As an AI' again.", "avoid", {"type": "avoid", "text": "As an AI"}),
    ("I recently relocated to Montreal.", "fact",
     {"type": "fact", "key": "city", "value": "Montreal"}),
    ("Drop the emojis in your answers, please, always.", "avoid", {"type": "no_emoji"}),
    ("Start each reply by greeting me as Captain.", "name", {"type": "name", "name": "Captain"}),
    ("Greet me as Chef from now on.", "name", {"type": "name", "name": "Chef"}),
    ("I just moved to Lisbon.", "fact", {"type": "fact", "key": "city", "value": "Lisbon"}),
    ("Going forward, skip the exclamation marks.", "avoid", {"type": "avoid", "text": "!"}),
    # the left-out one above and the four misses of twelve more (run once, 8 of 12), and five
    # misses of sixteen more (run once, 2026-12-01: 11 of 16, one near-miss of six read as a
    # preference): fixed by class — "I'd prefer that/if <answers> …", "in everything you
    # write", "from today on" / "starting today", "be sure to", a bound after a colon,
    # "whenever you get back to me, do it in …", "<X> is what I want", a reason after a
    # dash, "write back to me in", "it would help if …", "… stayed under"
    ("Let's keep things brief: under 50 words per reply, okay?", "length",
     {"type": "max_words", "n": 50}),
    ("I'd prefer that your answers come in German.", "language",
     {"type": "language", "language": "de"}),
    ("I'd prefer it if your replies came in Spanish.", "language",
     {"type": "language", "language": "es"}),
    ("I'd prefer that you call me Doc.", "name", {"type": "name", "name": "Doc"}),
    ("Avoid emojis in everything you write to me.", "avoid", {"type": "no_emoji"}),
    ("From today on, lay out your answers as bullet points.", "format",
     {"type": "format", "format": "bullets"}),
    ("Be sure to write to me in lowercase letters only.", "case", {"type": "case", "case": "lower"}),
    ("Whenever you get back to me, do it in Italian.", "language",
     {"type": "language", "language": "it"}),
    ("Numbered lists are what I want in all your answers.", "format",
     {"type": "format", "format": "numbered"}),
    ("ALL CAPS for every answer, please — I can't read small text well.", "case",
     {"type": "case", "case": "upper"}),
    ("Moving forward, write back to me in Portuguese.", "language",
     {"type": "language", "language": "pt"}),
    ("It would help me a lot if your answers stayed under 80 words.", "length",
     {"type": "max_words", "n": 80}),
    # sixteen more, written after those fixes and run once: 10 of 16, 6 of 6 near-misses
    # rejected; the six misses fixed by class — "I'd appreciate <X>", "… altogether",
    # "I'd like <answers / everything you write> to be …", "could your answers be …?",
    # a pet's name in a sentence of its own, "by profession I'm …" — and "in every answer"
    # said at the end, which the persistence markers had never matched
    ("I'd really appreciate bullet points in every answer.", "format",
     {"type": "format", "format": "bullets"}),
    ("I want you to stop using emojis altogether.", "avoid", {"type": "no_emoji"}),
    ("I'd like everything you write to be in lowercase.", "case", {"type": "case", "case": "lower"}),
    ("Could your answers be in Spanish from now on?", "language",
     {"type": "language", "language": "es"}),
    ("I have a cat; her name is Luna.", "fact", {"type": "fact", "key": "cat's name", "value": "Luna"}),
    ("By profession I'm an electrician.", "fact",
     {"type": "fact", "key": "job", "value": "electrician"}),
    # a reason first, the rule after "so" (found reading the fixes above)
    ("My eyes are bad, so always answer in capital letters.", "case",
     {"type": "case", "case": "upper"}),
    # sixteen more, written before running them and run once (2026-12-01): 8 of 16, 6 of 6
    # near-misses rejected; fixed by class — "kick things off", "do me a kindness and",
    # "everything you tell me", "nothing you write should …", "steer clear of", "… for me"
    # at the end, a pet asked about and named by a pronoun, "no more signing off with 'X'"
    # (a withdrawal, not a ban), a value said "for me (these days)" — and the two misses of
    # the last set: a quoted "for now" is not "for now", "<X> are banned"
    ("Whenever you respond, kick things off with 'Greetings'.", "opening",
     {"type": "opening", "text": "Greetings"}),
    ("Do me a kindness and put 'Yours truly, Bot' at the bottom of each reply.", "signoff",
     {"type": "signoff", "text": "Yours truly, Bot"}),
    ("I want everything you tell me laid out as a numbered list.", "format",
     {"type": "format", "format": "numbered"}),
    ("Nothing you write me should run past 40 words.", "length", {"type": "max_words", "n": 40}),
    ("Steer clear of the word 'actually' when you talk to me.", "avoid",
     {"type": "avoid", "text": "actually"}),
    ("Type everything in uppercase for me, always.", "case", {"type": "case", "case": "upper"}),
    ("Home is Nairobi for me these days.", "fact", {"type": "fact", "key": "city", "value": "Nairobi"}),
    ("Our hamster? His name is Peanut.", "fact",
     {"type": "fact", "key": "hamster's name", "value": "Peanut"}),
    ("No more signing off with 'Cheers', please.", "withdraw", {"type": "withdraw", "kind": "signoff"}),
    ("You can stop starting every answer with 'Indeed' now.", "withdraw",
     {"type": "withdraw", "kind": "opening"}),
    ("Every message you send me should finish with 'Ciao for now'.", "signoff",
     {"type": "signoff", "text": "Ciao for now"}),
    ("Emojis are banned from your answers, always.", "avoid", {"type": "no_emoji"}),
    ("The word 'basically' is banned.", "avoid", {"type": "avoid", "text": "basically"}),
    ("I can't read small text, so please always use capital letters.", "case",
     {"type": "case", "case": "upper"}),
    ("My partner reads your answers too, so always answer in English.", "language",
     {"type": "language", "language": "en"}),
    ("I live in Lima for now.", "fact", {"type": "fact", "key": "city", "value": "Lima"}),
    # the two sets' wordings read right on first sight
    ("Refer to me as Captain from here on.", "name", {"type": "name", "name": "Captain"}),
    ("All your replies need to be in Portuguese going forward.", "language",
     {"type": "language", "language": "pt"}),
    ("I'm a firefighter by trade.", "fact", {"type": "fact", "key": "job", "value": "firefighter"}),
    ("Sign off every email you draft for me with 'Kind regards, Lena'.", "signoff",
     {"type": "signoff", "text": "Kind regards, Lena", "scope": "email"}),
    ("First word of every reply: 'Ahoy'.", "opening", {"type": "opening", "text": "Ahoy"}),
    ("Respond in bullet form from now on.", "format", {"type": "format", "format": "bullets"}),
    ("Please address me as Dr. Okafor.", "name", {"type": "name", "name": "Dr. Okafor"}),
    ("Going forward I'd love it if you answered in Swedish.", "language",
     {"type": "language", "language": "sv"}),
    ("Please call me Coach in every reply.", "name", {"type": "name", "name": "Coach"}),
    ("Use a numbered list whenever you answer me.", "format",
     {"type": "format", "format": "numbered"}),
    ("Keep each reply below 30 words, please.", "length", {"type": "max_words", "n": 30}),
    ("Open every answer with the phrase 'Right then'.", "opening",
     {"type": "opening", "text": "Right then"}),
    ("My parrot goes by Kiwi.", "fact", {"type": "fact", "key": "parrot's name", "value": "Kiwi"}),
    # twelve more after those fixes, run once: 7 of 12, 4 of 4 near-misses rejected; fixed by
    # class — a bare language ("Dutch only"), a marker said last after a comma ("Bullet
    # points, always — I skim"), a reason after a dash that starts with "I", "lowercase
    # everything", "…, in case that helps", "I don't need it anymore" after a withdrawal
    ("Can every answer you give me start with 'Well now'?", "opening",
     {"type": "opening", "text": "Well now"}),
    ("Make 'Peace out' the last thing in all your replies.", "signoff",
     {"type": "signoff", "text": "Peace out"}),
    ("I go by Jo, so use that, please.", "name", {"type": "name", "name": "Jo"}),
    ("Dutch only from now on, please.", "language", {"type": "language", "language": "nl"}),
    ("Bullet points, always — I skim.", "format", {"type": "format", "format": "bullets"}),
    ("Two sentences max per answer.", "length", {"type": "max_sentences", "n": 2}),
    ("I really don't want to see the word 'delve' in your replies.", "avoid",
     {"type": "avoid", "text": "delve"}),
    ("lowercase everything from here on out, thanks", "case", {"type": "case", "case": "lower"}),
    ("My daughter is named Ines.", "fact",
     {"type": "fact", "key": "daughter's name", "value": "Ines"}),
    ("These days I'm living in Tbilisi.", "fact", {"type": "fact", "key": "city", "value": "Tbilisi"}),
    ("I'm an accountant, in case that helps.", "fact",
     {"type": "fact", "key": "job", "value": "accountant"}),
    ("Forget the sign-off, I don't need it anymore.", "withdraw",
     {"type": "withdraw", "kind": "signoff"}),
    # twelve more, run once on that code: 9 of 12, 4 of 4 near-misses rejected; fixed by
    # class — "keep to / stay with" a language, a length aimed for ("aim for / target /
    # shoot for …"), a literal between a verb and its particle ("leave 'X' out of …")
    ("Could you please always open with 'Good day to you'?", "opening",
     {"type": "opening", "text": "Good day to you"}),
    ("Stick 'Best, the bot' at the end of everything you send me.", "signoff",
     {"type": "signoff", "text": "Best, the bot"}),
    ("Address me as Professor Lee, if you don't mind.", "name",
     {"type": "name", "name": "Professor Lee"}),
    ("Please keep to Italian when you answer me from now on.", "language",
     {"type": "language", "language": "it"}),
    ("Numbered steps every time, please.", "format", {"type": "format", "format": "numbered"}),
    ("Aim for fewer than 25 words in each answer.", "length", {"type": "max_words", "n": 25}),
    ("Leave the word 'honestly' out of your answers.", "avoid",
     {"type": "avoid", "text": "honestly"}),
    ("ALL CAPS from here on out.", "case", {"type": "case", "case": "upper"}),
    ("My tortoise is called Shelly.", "fact",
     {"type": "fact", "key": "tortoise's name", "value": "Shelly"}),
    ("I've been living in Montreal since 2020.", "fact",
     {"type": "fact", "key": "city", "value": "Montreal"}),
    ("I work as a paramedic these days.", "fact",
     {"type": "fact", "key": "job", "value": "paramedic"}),
    ("You can drop the greeting now.", "withdraw", {"type": "withdraw", "kind": "opening"}),
    ("Shoot for two sentences or fewer.", "length", {"type": "max_sentences", "n": 2}),
    ("Keep 'basically' out of every reply.", "avoid", {"type": "avoid", "text": "basically"}),
    ("Remove 'Hope this helps' from your answers.", "avoid",
     {"type": "avoid", "text": "Hope this helps"}),
    # twelve more, written before those fixes were run: 7 of 12, 4 of 4 near-misses
    # rejected; fixed by class — a position said by a preposition ("put 'X' under / after /
    # above every answer"), "I'd rather get / have / see …", "cap … at N words", a ban said
    # after the literal ("'X' should never appear"), "what you write" as the answers, "no
    # need for the <thing> anymore" (a withdrawal; "… on this one" is a one-off)
    ("From here on, every response of yours should kick off with 'Greetings'.", "opening",
     {"type": "opening", "text": "Greetings"}),
    ("Put '-- your helper' under every answer.", "signoff",
     {"type": "signoff", "text": "-- your helper"}),
    ("The name's Theo; please use it when you reply.", "name", {"type": "name", "name": "Theo"}),
    ("Respond only in Portuguese, if that's alright.", "language",
     {"type": "language", "language": "pt"}),
    ("I'd rather get my answers as bullet points.", "format",
     {"type": "format", "format": "bullets"}),
    ("Please cap your replies at 40 words.", "length", {"type": "max_words", "n": 40}),
    ("The phrase 'as an AI' should never appear in what you write.", "avoid",
     {"type": "avoid", "text": "as an AI"}),
    ("Could you write everything in lower case from now on?", "case",
     {"type": "case", "case": "lower"}),
    ("My horse's name is Thunder.", "fact",
     {"type": "fact", "key": "horse's name", "value": "Thunder"}),
    ("I moved to Lisbon last spring.", "fact", {"type": "fact", "key": "city", "value": "Lisbon"}),
    ("I earn my living as a plumber.", "fact", {"type": "fact", "key": "job", "value": "plumber"}),
    ("No need for the 'Indeed' at the start anymore.", "withdraw",
     {"type": "withdraw", "kind": "opening"}),
    ("Add 'Regards' after each reply.", "signoff", {"type": "signoff", "text": "Regards"}),
    ("I'd like to get my answers in French.", "language", {"type": "language", "language": "fr"}),
    ("The word 'delve' must not appear in your replies.", "avoid",
     {"type": "avoid", "text": "delve"}),
    ("No need for bullet points anymore.", "withdraw", {"type": "withdraw", "kind": "format"}),
    ("The word 'moist' mustn't appear in your replies.", "avoid",
     {"type": "avoid", "text": "moist"}),
    # twelve more, written before they were run: 7 of 12, 4 of 4 near-misses rejected; fixed
    # by class — a pronoun standing for a language or format named earlier in the message
    # ("… so answer in it", "use them every time"), a bound said as what suffices ("three
    # sentences is plenty"), "home these days is …", "forget about calling me …"
    ("Whenever you respond, lead with 'Righto'.", "opening", {"type": "opening", "text": "Righto"}),
    ("Your replies should all close on 'Stay curious'.", "signoff",
     {"type": "signoff", "text": "Stay curious"}),
    ("Refer to me as Captain from now on.", "name", {"type": "name", "name": "Captain"}),
    ("I only read German, so please answer in it.", "language",
     {"type": "language", "language": "de"}),
    ("I find numbered lists easiest; use them every time.", "format",
     {"type": "format", "format": "numbered"}),
    ("Three sentences is plenty for any answer.", "length", {"type": "max_sentences", "n": 3}),
    ("Cut 'In conclusion' from everything you write.", "avoid",
     {"type": "avoid", "text": "In conclusion"}),
    ("Please type in capitals for me from now on.", "case", {"type": "case", "case": "upper"}),
    ("My goldfish answers to Bubbles.", "fact",
     {"type": "fact", "key": "goldfish's name", "value": "Bubbles"}),
    ("Home these days is Reykjavik.", "fact", {"type": "fact", "key": "city", "value": "Reykjavik"}),
    ("I teach maths for a living.", "fact",
     {"type": "fact", "key": "job", "value": "teach maths for a living"}),
    ("Forget about calling me Captain.", "withdraw", {"type": "withdraw", "kind": "name"}),
    ("I only read German. Please answer in it.", "language",
     {"type": "language", "language": "de"}),
    ("Fifty words is enough per reply.", "length", {"type": "max_words", "n": 50}),
    # twelve more, written before they were run: 8 of 12, 4 of 4 near-misses rejected; fixed
    # by class — "stick with" a language, a list named by what it holds ("lists with
    # bullets"), a "please" set off by commas mid-sentence, a bare "from today" at the head,
    # an adverb inside a perfect ("I've just moved to …"), a line of work with no article
    ("Could you stick with Spanish for all your replies?", "language",
     {"type": "language", "language": "es"}),
    ("I speak French, so stick with it.", "language", {"type": "language", "language": "fr"}),
    ("Lists with bullets, please, whenever you answer.", "format",
     {"type": "format", "format": "bullets"}),
    ("Lists with numbers, please, whenever you answer.", "format",
     {"type": "format", "format": "numbered"}),
    ("Bullet points, please, whenever you answer.", "format", {"type": "format", "format": "bullets"}),
    ("From today, only small letters in your answers.", "case", {"type": "case", "case": "lower"}),
    ("From tomorrow, bullet points in your answers.", "format",
     {"type": "format", "format": "bullets"}),
    ("I've just moved to Valparaiso.", "fact", {"type": "fact", "key": "city", "value": "Valparaiso"}),
    ("We have recently relocated to Graz.", "fact", {"type": "fact", "key": "city", "value": "Graz"}),
    ("My job is dentistry.", "fact", {"type": "fact", "key": "job", "value": "dentistry"}),
    ("My profession is law.", "fact", {"type": "fact", "key": "job", "value": "law"}),
    ("I work in finance.", "fact", {"type": "fact", "key": "job", "value": "finance"}),
    # twelve more, written before they were run: 8 of 12, 4 of 4 near-misses rejected; fixed
    # by class — a wish in the past tense of a -y verb ("… if you replied in …"), a bound
    # said as what nothing may pass ("nothing longer than 30 words"), a name given ("we
    # named our hamster …"), an obligation released ("you don't have to open with 'X'
    # anymore": it had been read as a ban on 'X')
    ("I'd appreciate it if you replied in Portuguese.", "language",
     {"type": "language", "language": "pt"}),
    ("Nothing longer than 30 words, please.", "length", {"type": "max_words", "n": 30}),
    ("No longer than 40 words, please.", "length", {"type": "max_words", "n": 40}),
    ("Nothing longer than two sentences from now on.", "length", {"type": "max_sentences", "n": 2}),
    ("We named our hamster Nibbles.", "fact",
     {"type": "fact", "key": "hamster's name", "value": "Nibbles"}),
    ("I call my car Betsy.", "fact", {"type": "fact", "key": "car's name", "value": "Betsy"}),
    ("You don't have to open with 'Greetings' anymore.", "withdraw",
     {"type": "withdraw", "kind": "opening"}),
    ("You don't need to call me Jules anymore.", "withdraw", {"type": "withdraw", "kind": "name"}),
    ("You no longer have to answer in French.", "withdraw",
     {"type": "withdraw", "kind": "language"}),
    ("You needn't finish with 'Cheers'.", "withdraw", {"type": "withdraw", "kind": "signoff"}),
    # twelve more, written before they were run: 9 of 12, 4 of 4 near-misses rejected; fixed
    # by class — "I want <a format> in every answer", a living earned ("earn my keep as …"),
    # a literal dropped from where it goes ("drop the 'Hi friend' at the start")
    ("I want numbered steps in every answer.", "format", {"type": "format", "format": "numbered"}),
    ("I want bullet points in all your answers.", "format", {"type": "format", "format": "bullets"}),
    ("I earn my keep as a welder.", "fact", {"type": "fact", "key": "job", "value": "welder"}),
    ("I make my money as a translator.", "fact",
     {"type": "fact", "key": "job", "value": "translator"}),
    ("Drop the 'Hi friend' at the start, please.", "withdraw",
     {"type": "withdraw", "kind": "opening"}),
    ("Lose the 'Cheers' at the end.", "withdraw", {"type": "withdraw", "kind": "signoff"}),
    # twelve more, written before they were run: 9 of 12, 4 of 4 near-misses rejected; fixed
    # by class — a literal made the first or final words, the case said as a verb on the
    # answers ("lowercase everything you write"), "home's <a name>"
    ("Make 'Take care' the final words of all your answers.", "signoff",
     {"type": "signoff", "text": "Take care"}),
    ("Make 'Hello' the first words of every reply.", "opening", {"type": "opening", "text": "Hello"}),
    ("Lowercase everything you write, please.", "case", {"type": "case", "case": "lower"}),
    ("Uppercase every answer from now on.", "case", {"type": "case", "case": "upper"}),
    ("Home's Wellington now.", "fact", {"type": "fact", "key": "city", "value": "Wellington"}),
    # twelve typed as people type in a chat (lowercase, no stops, shorthand): 6 of 12, 4 of 4
    # near-misses rejected; fixed by class — shorthand spelled out outside quotes ("im",
    # "dont", "ur", "pls", "thx", "btw", "pts", "my dogs name"), a one-word name typed
    # lowercase before "call me that" (not a state: "i'm tired, call me that")
    ("im noor btw, call me that", "name", {"type": "name", "name": "Noor"}),
    ("answer in german from now on thx", "language", {"type": "language", "language": "de"}),
    ("use bullet pts always", "format", {"type": "format", "format": "bullets"}),
    ("my dogs name is rex", "fact", {"type": "fact", "key": "dog's name", "value": "Rex"}),
    ("i live in leeds now", "fact", {"type": "fact", "key": "city", "value": "Leeds"}),  # a name
    ("im a nurse", "fact", {"type": "fact", "key": "job", "value": "nurse"}),
    ("dont ever say 'awesome' again", "avoid", {"type": "avoid", "text": "awesome"}),
    ("end ur replies with 'cheers mate' from now on", "signoff",
     {"type": "signoff", "text": "cheers mate"}),
    ("pls start every answer with 'yo'", "opening", {"type": "opening", "text": "yo"}),
    ("never say 'dont' pls", "avoid", {"type": "avoid", "text": "dont"}),  # a literal as typed
    # ten inside longer messages, written before they were run: 6 of 10; fixed by class —
    # "quick thing:" before the preference, a name said in one sentence and taken up in the
    # next ("I'm Theo. Please call me that."), a lead alone in its clause ("Remember, …",
    # "For future reference, …"), "… instead", an afterthought after "and she …"
    ("Quick thing: I hate emojis, so never use them. Now, what's the weather like in Oslo?",
     "avoid", {"type": "no_emoji"}),
    ("I'm Theo. Please call me that.", "name", {"type": "name", "name": "Theo"}),
    ("Remember, call me Sam.", "name", {"type": "name", "name": "Sam"}),
    ("For future reference: my dog is called Rex.", "fact",
     {"type": "fact", "key": "dog's name", "value": "Rex"}),
    ("Reply in Spanish instead, always.", "language", {"type": "language", "language": "es"}),
    ("Thanks for that! By the way, my sister is called Maya and she lives with me.", "fact",
     {"type": "fact", "key": "sister's name", "value": "Maya"}),
    # twelve more, written before they were run: 10 of 12 but 1 of 4 near-misses rejected
    # ("Don't call me after nine." was a rule against a name, "I drive to work." a car, "I go
    # by bus." a name); fixed by class, with "my birthday's on the 3rd of May" and "don't
    # call me Sir anymore" (it had kept "anymore" in the name)
    ("My birthday's on the 3rd of May.", "fact",
     {"type": "fact", "key": "birthday", "value": "3rd of May"}),
    ("Please don't call me Sir anymore.", "avoid", {"type": "avoid", "text": "Sir"}),
    ("I drive an old Ford.", "fact", {"type": "fact", "key": "car", "value": "old Ford"}),
    ("I go by Alex.", "name", {"type": "name", "name": "Alex"}),
    # twelve about what kind of text a preference is for (emails, code), written before they
    # were run: 6 of 12; fixed by class — "in emails, …" / "for code, …" / "when you write
    # Python, …" before it, "… in every email" after it, "all code you give me must …", and
    # any kind of preference (not only a literal) said of emails or code is scoped to them
    ("In emails, open with 'Dear team'.", "opening",
     {"type": "opening", "text": "Dear team", "scope": "email"}),
    ("When you write Python, never use the word 'foo'.", "avoid",
     {"type": "avoid", "text": "foo", "scope": "code"}),
    ("Answer in French in every email.", "language",
     {"type": "language", "language": "fr", "scope": "email"}),
    ("Whenever you write an email, keep it under 100 words.", "length",
     {"type": "max_words", "n": 100, "scope": "email"}),
    ("Emails should be in French.", "language",
     {"type": "language", "language": "fr", "scope": "email"}),
    ("Never use emojis in emails.", "avoid", {"type": "no_emoji", "scope": "email"}),
    ("All code you give me must include type hints.", "other", None),
    ("Each function you write should start with a docstring.", "other", None),
    ("Never use the em dash.", "avoid", {"type": "avoid", "text": "—"}),  # a mark, singular
    ("Never use an exclamation mark.", "avoid", {"type": "avoid", "text": "!"}),
    # a question at the end is checkable (check.ends_with_question), here or in every email
    ("Always end your answers with a question.", "style", {"type": "question"}),
    ("Finish every reply with a follow-up question.", "style", {"type": "question"}),
    ("End every email with a question.", "style", {"type": "question", "scope": "email"}),
    # twelve on a literal included, an opening, a form of address, written before they were
    # run: 8 of 12; fixed by class — "my first name / surname, Dana", "address me formally
    # as …", "sprinkle in / weave in the word …"
    ("Use my first name, Dana, when you reply.", "name", {"type": "name", "name": "Dana"}),
    ("Address me formally as Ms. Chen.", "name", {"type": "name", "name": "Ms. Chen"}),
    ("Refer to me by my surname, Okafor.", "name", {"type": "name", "name": "Okafor"}),
    ("Sprinkle in the word 'indeed' in each answer.", "include",
     {"type": "include", "text": "indeed"}),
    # twelve on length and format, written before they were run: 3 of 12; fixed by class —
    # a line counted as a sentence ("one-line answers only", "in a single line"), "about N
    # words" (checked with a quarter to spare), "at least N words", "plain text only" / "no
    # markdown", "longer, more detailed answers", a bound after a dash ("be brief — 25
    # words max"), a marker said last holding for the sentence ("no lists, just paragraphs,
    # from now on")
    ("One-line answers only, please.", "length", {"type": "max_sentences", "n": 1}),
    ("Answer in a single line from now on.", "length", {"type": "max_sentences", "n": 1}),
    ("I prefer answers of about 20 words.", "length", {"type": "max_words", "n": 25}),
    ("Write at least 100 words per answer.", "length", {"type": "min_words", "n": 100}),
    ("Plain text only, no markdown, please.", "format", {"type": "format", "format": "plain"}),
    ("Never use markdown in your answers.", "format", {"type": "format", "format": "plain"}),
    ("Longer, more detailed answers from now on please.", "length",
     {"type": "min_words", "n": 80}),
    ("Be brief — 25 words max.", "length", {"type": "max_words", "n": 25}),
    ("No lists, just paragraphs, from now on.", "format", {"type": "format", "format": "no_lists"}),
    ("No emojis, just plain words.", "avoid", {"type": "no_emoji"}),
    ("Write this in French, and from now on use English.", "language",  # "this": one answer's
     {"type": "language", "language": "en"}),
    # twelve on the language, written before they were run: 9 of 12; fixed by class — a
    # concession after it ("… even if I write in Spanish"), "can we switch to …", "for
    # everything", and a clause after a colon ("I'm bilingual: reply in English …")
    ("Reply in English even if I write in Spanish.", "language",
     {"type": "language", "language": "en"}),
    ("Answer in French no matter what language I use.", "language",
     {"type": "language", "language": "fr"}),
    ("Can we switch to German from now on?", "language", {"type": "language", "language": "de"}),
    ("French, please, for everything.", "language", {"type": "language", "language": "fr"}),
    ("I'm bilingual: reply in English even if I write in Spanish.", "language",
     {"type": "language", "language": "en"}),
    # twelve facts, written before they were run: 5 of 12, and two of the misses kept a wrong
    # value ("Google as an engineer", "Oslo with my partner"); fixed by class — a job held
    # for a time ("I've been a teacher for ten years"), the job one works somewhere as, a
    # place named ("a small village called Ashby"), the company one lives with, a name beside
    # its noun ("my daughter, Ines, is six", "my cat Mochi is very fluffy"), "relocated from
    # Paris to Lyon"
    ("I've been a teacher for ten years.", "fact", {"type": "fact", "key": "job", "value": "teacher"}),
    ("I work for Google as an engineer.", "fact",
     {"type": "fact", "key": "job", "value": "engineer"}),
    ("I work for Google as a favour.", "fact",
     {"type": "fact", "key": "workplace", "value": "Google"}),
    ("We live in a small village called Ashby.", "fact",
     {"type": "fact", "key": "city", "value": "Ashby"}),
    ("I live in Oslo with my partner.", "fact", {"type": "fact", "key": "city", "value": "Oslo"}),
    ("My daughter, Ines, is six.", "fact",
     {"type": "fact", "key": "daughter's name", "value": "Ines"}),
    ("My cat Mochi is very fluffy.", "fact",
     {"type": "fact", "key": "cat's name", "value": "Mochi"}),
    ("I relocated from Paris to Lyon last year.", "fact",
     {"type": "fact", "key": "city", "value": "Lyon"}),
    # twelve more facts, written after those fixes: 8 of 12; fixed by class — a place said
    # without "I" ("Born and raised in Glasgow.", "Currently living in Seoul."; not "Living in
    # Seoul is expensive."), a job said by teaching somewhere; left: "I'm lactose intolerant."
    # (read only after "remember": a state, not one of the checked keys)
    ("Born and raised in Glasgow.", "fact", {"type": "fact", "key": "home town", "value": "Glasgow"}),
    ("Currently living in Seoul.", "fact", {"type": "fact", "key": "city", "value": "Seoul"}),
    ("Based in London, working remotely.", "fact",
     {"type": "fact", "key": "city", "value": "London"}),
    ("I teach chemistry at a high school.", "fact",
     {"type": "fact", "key": "job", "value": "teach chemistry for a living"}),
    # twelve on what to avoid, written before they were run: 7 of 12; fixed by class — "stop
    # …" asked politely is still a standing request, "nix / scrap / cut the …", "ban the
    # word …"; left: "Cut the fluff and the exclamation marks." (two things in one object),
    # "Leave out any apologies." (unchecked, read as this answer's)
    ("Could you stop saying 'Great question'?", "avoid", {"type": "avoid", "text": "Great question"}),
    ("Nix the emojis, please.", "avoid", {"type": "no_emoji"}),
    ("Ban the word 'utilize' from your vocabulary.", "avoid", {"type": "avoid", "text": "utilize"}),
    # the last set's misses, fixed by class: a phrasal verb split around its object (and
    # "top … off" is how an answer ends, not how it begins); a name others use, asked to be
    # used too; a language read but without a checker
    ("Kick every reply off with 'Heya'.", "opening", {"type": "opening", "text": "Heya"}),
    ("Round every answer off with 'Cheers'.", "signoff", {"type": "signoff", "text": "Cheers"}),
    ("Top every message off with 'Ciao'.", "signoff", {"type": "signoff", "text": "Ciao"}),
    ("Wrap each of your replies up with 'Best, Lee'.", "signoff",
     {"type": "signoff", "text": "Best, Lee"}),
    ("Everyone calls me Bex, so you should too.", "name", {"type": "name", "name": "Bex"}),
    ("My friends call me Jo, you can too.", "name", {"type": "name", "name": "Jo"}),
    ("People call me Dr. Okafor; please do the same.", "name",
     {"type": "name", "name": "Dr. Okafor"}),
    ("everyone calls me bex so u should too", "name", {"type": "name", "name": "Bex"}),
    ("Please answer me in Norwegian.", "language", {"type": "language", "language": "no"}),
    ("From now on, reply in Finnish.", "language", {"type": "language", "language": "fi"}),
    ("Always write to me in Catalan.", "language", {"type": "language", "language": "ca"}),
    # the next set, written before it was run: 8 of 12; fixed by class — a list asked for
    # by breaking things up (standing only: "break it into bullet points" is this answer's),
    # no emoji in "what you write me", a job held since or for a time; left: "You can drop
    # the 'Captain' thing now." (a withdrawal named only by the stored preference's value)
    ("I can't stand walls of text, so always break things into bullet points.", "format",
     {"type": "format", "format": "bullets"}),
    ("Always split your answers into numbered lists.", "format",
     {"type": "format", "format": "numbered"}),
    ("Please don't ever put emojis in what you write me.", "avoid", {"type": "no_emoji"}),
    ("I've been working as a nurse since 2015.", "fact",
     {"type": "fact", "key": "job", "value": "nurse"}),
    ("I have been employed as a software engineer at Google for years.", "fact",
     {"type": "fact", "key": "job", "value": "software engineer"}),
]  # fmt: skip


@pytest.mark.parametrize("message, kind, checker", WILD)
def test_phrasings_outside_the_corpus(message, kind, checker):
    assert [(c.kind, c.checker) for c in extract(message)] == [(kind, checker)], message


@pytest.mark.parametrize("message, expected", [
    ("What I do for a living is repair pianos, and home for me is Valencia.",
     [{"type": "fact", "key": "job", "value": "repair pianos for a living"},
      {"type": "fact", "key": "city", "value": "Valencia"}]),
    ("I live in Porto and I teach maths for a living.",
     [{"type": "fact", "key": "city", "value": "Porto"},
      {"type": "fact", "key": "job", "value": "teach maths for a living"}]),
])  # fmt: skip
def test_two_facts_in_one_sentence_by_the_new_forms(message, expected):
    assert [c.checker for c in extract(message)] == expected


def test_a_stored_preference_reads_back_as_itself():
    """What the store keeps ("Begin every answer with 'Yo'.", "The user lives in Lyon.")
    classifies to the same kind and checker when edited or re-added."""
    from personal.prefs.extract import classify

    for message, _, _ in CASES + WILD:
        for candidate in extract(message):
            if candidate.kind == "withdraw":  # switches a stored one off; never stored
                continue
            assert classify(candidate.text) == (candidate.kind, candidate.checker), candidate
