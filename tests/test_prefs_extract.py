"""Recognising stated preferences in user messages: what counts, and what must not."""

from __future__ import annotations

import pytest

from personal.prefs.extract import Candidate, classify, extract
from tests.personas import PERSONAS

NAME, SIGNOFF = "name", "signoff"
POSITIVE = [
    # names
    ("Call me Sam.", [("Call the user Sam.", NAME)]),
    ("call me sam", [("Call the user Sam.", NAME)]),
    ("Please call me Dr. Smith from now on", [("Call the user Dr. Smith.", NAME)]),
    ("My name is Sam and I need help with bread", [("Call the user Sam.", NAME)]),
    ("Hi, my name's Alex!", [("Call the user Alex.", NAME)]),
    ("Could you call me Sam?", [("Call the user Sam.", NAME)]),
    ("You can call me Jo", [("Call the user Jo.", NAME)]),
    ("I prefer to be called Sam", [("Call the user Sam.", NAME)]),
    ("Don't call me Bob", [("Do not call the user Bob.", "avoid")]),
    # sign-offs
    ("Sign off with '— Sam'", [("End every answer with '— Sam'.", SIGNOFF)]),
    ("sign off as Sam", [("End every answer with '— Sam'.", SIGNOFF)]),
    ('End every answer with "Cheers!"', [("End every answer with 'Cheers!'.", SIGNOFF)]),
    ("From now on I'd like you to end your answers with — Sam",
     [("End every answer with '— Sam'.", SIGNOFF)]),
    ("end your answers with a question", [("End every answer with a question.", "style")]),
    ("Could you sign every message you send me with -- Kai?",
     [("End every answer with '-- Kai'.", SIGNOFF)]),
    # languages
    ("From now on answer in French.", [("Answer in French.", "language")]),
    ("Reply to me in German please", [("Answer in German.", "language")]),
    ("answer only in spanish", [("Answer in Spanish.", "language")]),
    ("Always respond in Japanese", [("Answer in Japanese.", "language")]),
    ("I'd prefer answers in Dutch", [("Answer in Dutch.", "language")]),
    ("Can you always answer in Italian?", [("Answer in Italian.", "language")]),
    ("Never answer in English", [("Never answer in English.", "avoid")]),
    # formats
    ("Use bullet points.", [("Use bullet points.", "format")]),
    ("Answer in bullet points", [("Use bullet points.", "format")]),
    ("in bullet points please", [("Use bullet points.", "format")]),
    ("I prefer bullet points", [("Use bullet points.", "format")]),
    ("use numbered lists", [("Use numbered lists.", "format")]),
    ("Respond using numbered lists whenever possible.", [("Use numbered lists.", "format")]),
    ("use markdown", [("Use Markdown.", "format")]),
    # letter case
    ("Reply in lowercase only.", [("Write in lowercase only.", "case")]),
    ("No capital letters, please.", [("Write in lowercase only.", "case")]),
    ("I prefer lowercase answers", [("Write in lowercase only.", "case")]),
    ("Always answer in all caps", [("Write in capital letters only.", "case")]),
    # lengths
    ("Keep it short.", [("Keep answers short.", "length")]),
    ("keep it short, under 50 words", [("Keep answers under 50 words.", "length")]),
    ("Keep your answers under 50 words", [("Keep answers under 50 words.", "length")]),
    ("limit answers to 100 words", [("Keep answers under 100 words.", "length")]),
    ("Answer in 20 words or less", [("Keep answers under 20 words.", "length")]),
    ("I prefer short answers", [("Keep answers short.", "length")]),
    ("Keep it brief and to the point", [("Keep answers short.", "length")]),
    # style
    ("Be more formal", [("Be more formal.", "style")]),
    ("be more casual please", [("Be more casual.", "style")]),
    ("I'd like you to be more formal", [("Be more formal.", "style")]),
    ("Stop being so formal", [("Be less formal.", "style")]),
    ("Talk like a pirate", [("Talk like a pirate.", "style")]),
    ("From now on, use metric units", [("Use metric units.", "style")]),
    # avoid
    ("Never use emojis", [("Do not use emojis.", "avoid")]),
    ("no emojis please", [("Do not use emojis.", "avoid")]),
    ("I hate it when you use emojis", [("Do not use emojis.", "avoid")]),
    ("don't ever say 'as an AI language model'",
     [("Never say 'as an AI language model'.", "avoid")]),
    ("Never say the word delve", [("Never say 'delve'.", "avoid")]),
    ("avoid jargon", [("Avoid jargon.", "avoid")]),
    # facts and standing instructions
    ("Remember that I'm vegetarian", [("The user is vegetarian.", "fact")]),
    ("remember: my birthday is May 3", [("The user's birthday is May 3.", "fact")]),
    ("Remember I have two cats and I live in Lyon",  # the second is a checkable fact of its own
     [("The user has two cats.", "fact"), ("The user lives in Lyon.", "fact")]),
    ("I was born in Lagos, and my cat is named Mochi.",
     [("The user is from Lagos.", "fact"), ("The user's cat is called Mochi.", "fact")]),
    ("I live in Porto and I work as a nurse.",
     [("The user lives in Porto.", "fact"), ("The user works as a nurse.", "fact")]),
    ("My job is dentistry.", [("The user works in dentistry.", "fact")]),  # a field, not a title
    ("My occupation is software engineer.", [("The user works as a software engineer.", "fact")]),
    ("I prefer tea over coffee", [("The user prefers tea over coffee.", "fact")]),
    ("For future reference, I'm vegan and I live in Bristol.",
     [("The user is vegan.", "fact"), ("The user lives in Bristol.", "fact")]),
    ("Remember, I'm vegan.", [("The user is vegan.", "fact")]),
    ("I drive an old Ford.", [("The user drives an old Ford.", "fact")]),
    ("Always include a TL;DR at the end.",  # one word, not two sentences
     [("Always include a TL;DR at the end.", "other")]),
    ("Whenever you write code, include type hints.",  # said where it applies
     [("Include type hints in all your code.", "other")]),
    ("Each function you write should start with a docstring.",
     [("Start with a docstring in all your code.", "other")]),
    ("Please always cite your sources", [("Always cite your sources.", "other")]),
    ("Always greet me by my first name", [("Always greet the user by their first name.", "other")]),
    ("remember to double-check your maths", [("Always double-check your maths.", "other")]),
    # several in one message
    ("Call me Sam and always answer in French. Also use bullet points.",
     [("Call the user Sam.", NAME), ("Answer in French.", "language"),
      ("Use bullet points.", "format")]),
    ("Don't use emojis, and call me Sam.", [("Do not use emojis.", "avoid"),
                                            ("Call the user Sam.", NAME)]),
    ("Don’t use emojis. I’d like you to call me Sam.",
     [("Do not use emojis.", "avoid"), ("Call the user Sam.", NAME)]),
    ("Sign off with ‘Best, Sam’", [("End every answer with 'Best, Sam'.", SIGNOFF)]),
    ("OK. CALL ME SAM! from now on ANSWER IN FRENCH", [("Call the user SAM.", NAME),
                                                      ("Answer in French.", "language")]),
]  # fmt: skip

NEGATIVE = [
    "Do you remember my name?", "What do I prefer?", "do you remember that I'm vegetarian?",
    "what is your name", "Why do you always answer in French?", "Can you answer in French?",
    "Summarise this in bullet points", "Explain photosynthesis in bullet points",
    "Translate this into French", "Answer this in French", "Write an essay in 500 words",
    "If I say call me Sam, what happens?", "Imagine you always answer in French",
    "He told me to call him Sam", "My friend said to always answer in French",
    'The sign said "always answer in French".', '"Call me Sam" is a great line',
    "```\ncall me Sam\n```", "> call me Sam", "Use `call me Sam` as the test string",
    "call me later", "Call me an ambulance!", "Can you call me back later?",
    "my name is not Sam", "I never said to call me Sam", "I like tea", "I'd like a coffee",
    "don't worry about it", "don't mention it", "don't be silly", "never do that again",
    "end with a bang", "keep going", "Keep it up!", "Use this function", "Please answer",
    "always the same thing", "Be careful", "no problem", "Remember when we talked about rye?",
    "remember the milk", "Remember, I asked you about rye yesterday",
    "I want you to write a poem about cats", "", "   ",
    "Write this in capital letters", "Can you answer in lowercase?", "Use capitals",
    "What is lowercase?", "Type the title in all caps",
]  # fmt: skip


@pytest.mark.parametrize("message, expected", POSITIVE)
def test_stated_preferences_are_recognised(message, expected):
    assert [(c.text, c.kind) for c in extract(message)] == expected


@pytest.mark.parametrize("message", NEGATIVE)
def test_questions_hypotheticals_quotes_and_one_offs_are_not(message):
    assert extract(message) == []


@pytest.mark.parametrize(
    "message, checker",
    [
        ("call me Sam", {"type": "name", "name": "Sam"}),
        ("sign off as Sam", {"type": "signoff", "text": "— Sam"}),
        ("answer in French from now on", {"type": "language", "language": "fr"}),
        ("Always respond in Japanese", {"type": "language", "language": "ja"}),  # by script
        ("use bullet points", {"type": "format", "format": "bullets"}),
        ("keep answers under 50 words", {"type": "max_words", "n": 50}),
        ("never say 'delve'", {"type": "avoid", "text": "delve"}),
        ("no emojis", {"type": "no_emoji"}),
        ("Don't call me Bob", {"type": "avoid", "text": "Bob"}),
        ("Be more formal", None),
    ],
)
def test_checkable_preferences_get_a_checker(message, checker):
    (candidate,) = extract(message)
    assert candidate.checker == checker


@pytest.mark.parametrize("message, expected", POSITIVE)
def test_a_normalised_preference_classifies_as_itself(message, expected):
    # the stored text of an extracted preference, edited or re-added, keeps its meaning
    for candidate in extract(message):
        assert classify(candidate.text) == (candidate.kind, candidate.checker)
        if candidate.kind != "fact":  # "The user is ..." is not something a user says
            assert extract(candidate.text) == [candidate]


@pytest.mark.parametrize(
    "text, kind",
    [
        ("Answer in French.", "language"),
        ("The user is left-handed.", "fact"),
        ("Never mention the weather.", "avoid"),
        ("Do not apologise.", "avoid"),
        ("Prefer examples from baking", "other"),
    ],
)
def test_classify_hand_written_preferences(text, kind):
    assert classify(text)[0] == kind


def test_repeats_in_one_message_are_kept_once():
    assert extract("Call me Sam. Really, call me Sam!") == [
        Candidate("Call the user Sam.", NAME, {"type": "name", "name": "Sam"})
    ]


def test_only_the_start_of_a_long_message_is_read():
    pasted = "Some pasted text about rye. " * 200
    assert extract("Call me Sam. " + pasted) != []
    assert extract(pasted + "Call me Sam.") == []


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_each_persona_of_the_suite_states_what_it_expects(persona):
    found = [(c.kind, c.checker) for said in persona.says for c in extract(said)]
    assert found == list(persona.expects)


@pytest.mark.parametrize("said, stated_back", [
    ("My job is dentistry.", "You work in dentistry."),  # a line of work
    ("I work in finance.", "You work in finance."),
    ("I'm a nurse.", "You work as a nurse."),  # a title
    ("I earn my keep as an electrician.", "You work as an electrician."),
    ("I teach maths for a living.", "You teach maths for a living."),
])  # fmt: skip
def test_a_job_is_stated_back_as_it_was_said(said, stated_back):
    from personal.prefs.facts import answer, parse

    assert answer(parse(said)) == stated_back
