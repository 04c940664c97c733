"""Deterministic repairs of teacher answers, and natural requests for explicit tool calls."""

from __future__ import annotations

import pytest

from personal.learn.distill.harvest import phrase
from personal.learn.distill.teacher import comply, repair, trim_truncated
from personal.prefs.check import check

SIGNOFF = ("End with — Sam.", {"type": "signoff", "text": "— Sam"})
NAME = ("Call the user Sam.", {"type": "name", "name": "Sam"})
BULLETS = ("Use bullet points.", {"type": "format", "format": "bullets"})
SHORT = ("At most 20 words.", {"type": "max_words", "n": 20})
AVOID = ("Never say 'as an AI'.", {"type": "avoid", "text": "as an AI"})
EMOJI = ("No emoji.", {"type": "no_emoji"})
FRENCH = ("Answer in French.", {"type": "language", "language": "fr"})
QUESTION = ("End every answer with a question.", {"type": "question"})
PROSE = "The sky is blue because of Rayleigh scattering. Short waves scatter more. Red does not."


@pytest.mark.parametrize(("checks", "text", "want"), [
    ([SIGNOFF], "Paris.", "Paris.\n\n— Sam"),
    ([("Lowercase.", {"type": "case", "case": "lower"}), NAME], "Paris is big. It is old.",
     "hi sam,\nparis is big. it is old."),
    # the name in a greeting line of its own, the base's answer unchanged below it
    ([NAME], "Paris is the capital. It is big.", "Hi Sam,\nParis is the capital. It is big."),
    ([NAME], "- one\n- two", "Hi Sam,\n- one\n- two"),
    ([NAME], "no punctuation here", "Hi Sam,\nno punctuation here"),
    # with an opening, one greeting line
    ([("Begin with Howdy.", {"type": "opening", "text": "Howdy"}), NAME], "The capital is Oslo.",
     "Howdy, Sam,\nThe capital is Oslo."),
    ([("Begin with 'Well then!'.", {"type": "opening", "text": "Well then!"}), NAME], "Oslo.",
     "Well then, Sam!\nOslo."),
    ([BULLETS], PROSE, "- The sky is blue because of Rayleigh scattering.\n- Short waves "
                       "scatter more.\n- Red does not."),
    ([BULLETS], "Bring a tent, a warm sleeping bag, and some food.",
     "- Bring a tent\n- A warm sleeping bag\n- Some food."),
    ([SHORT], PROSE + " " + PROSE, PROSE),
    ([AVOID], "As an AI, I cannot know. The answer is 4.", "The answer is 4."),
    ([EMOJI], "Great idea 🎉 let's go!", "Great idea let's go!"),
    # an opening on a line of its own: the answer below it is the base's, unchanged
    ([("Begin with Howdy.", {"type": "opening", "text": "Howdy"})], "The capital is Oslo.",
     "Howdy,\nThe capital is Oslo."),
    ([("Begin with 'Well then!'.", {"type": "opening", "text": "Well then!"})], "- a\n- b",
     "Well then!\n- a\n- b"),
    # a follow-up question last, above a sign-off
    ([QUESTION], "Paris is the capital.", "Paris is the capital. Would you like to know more?"),
    ([QUESTION, SIGNOFF], "Paris.\n\n— Sam", "Paris. Would you like to know more?\n\n— Sam"),
    ([SHORT, NAME, SIGNOFF], PROSE + " " + PROSE,
     "Hi Sam,\nThe sky is blue because of Rayleigh scattering. Short waves scatter more. Red "
     "does not.\n\n— Sam"),
])  # fmt: skip
def test_repairs(checks, text, want):
    fixed, before = comply(text, checks)
    assert fixed == want
    assert before and all(check(c, fixed) for _, c in checks)


def test_what_cannot_be_repaired_is_refused():
    assert comply("The tower is in Paris.", [FRENCH])[0] is None
    assert comply("Yes.", [BULLETS])[0] is None  # one short sentence: no list to make
    # a number that starts a sentence is not a list marker
    assert comply("3.5 million people live there. It is big.", [BULLETS])[0] == (
        "- 3.5 million people live there.\n- It is big.")
    assert comply("A single sentence that is far too long for the tiny word budget that was given "
                  "here by the person who asked for it today.", [SHORT])[0] is None
    assert comply("As an AI I can't.", [AVOID])[0] is None  # nothing left after removal


def test_a_compliant_answer_is_left_alone():
    text = "Paris, Sam.\n\n— Sam"
    assert comply(text, [NAME, SIGNOFF]) == (text, [])
    assert repair(text, [NAME, SIGNOFF]) == text


def test_trim_truncated_keeps_complete_sentences_or_lines():
    assert trim_truncated("First sentence. Second one is cut") == "First sentence."
    assert trim_truncated("- item one\n- item two\n- item thr") == "- item one\n- item two"
    assert trim_truncated("no end at all") is None


def test_phrase_turns_commands_into_requests():
    calc = {"function": {"name": "calc", "arguments": '{"expression": "17*23"}'}}
    assert "17*23" in phrase(calc, "/calc 17*23") and not phrase(calc, "").startswith("/")
    units = {"function": {"name": "convert_units",
                          "arguments": {"value": 5.0, "from_unit": "km", "to_unit": "mi"}}}
    assert phrase(units, "") in ("Convert 5 km to mi.", "How much is 5 km in mi?")
    assert phrase(calc, "x") == phrase(calc, "y")  # stable: same call, same request
    weather = {"function": {"name": "weather", "arguments": {"city": "Paris"}}}
    assert phrase(weather, "/weather Paris") == "weather Paris"  # not a built-in: as typed
