"""Checking answers against preference checkers (what the learning loop's gate runs)."""

from __future__ import annotations

import pytest

from personal.prefs.check import check, detect_language

SAMPLES = {
    "en": "Rye bread is dense and you should let it rest overnight before you slice it.",
    "fr": "Le pain de seigle est dense et il faut le laisser reposer pendant une nuit.",
    "de": "Roggenbrot ist dicht und man sollte es über Nacht ruhen lassen, bevor man es schneidet.",
    "es": "El pan de centeno es denso y hay que dejarlo reposar toda la noche.",
    "it": "Il pane di segale è denso e bisogna lasciarlo riposare per una notte.",
    "pt": "O pão de centeio é denso e é preciso deixá-lo descansar durante a noite.",
    "nl": "Roggebrood is compact en je moet het een nacht laten rusten voor je het snijdt.",
}


@pytest.mark.parametrize("language", SAMPLES)
def test_the_language_detector_knows_seven_languages(language):
    assert detect_language(SAMPLES[language]) == language
    assert check({"type": "language", "language": language}, SAMPLES[language])
    other = "fr" if language != "fr" else "en"
    assert not check({"type": "language", "language": other}, SAMPLES[language])


@pytest.mark.parametrize("text", ["", "42", "OK", "Sourdough!", "```x = 1```"])
def test_too_little_text_has_no_language(text):
    assert detect_language(text) is None


def test_a_french_answer_with_an_english_name_is_still_french():
    answer = SAMPLES["fr"] + " Bonne journée, Sam! — Sam's assistant"
    assert check({"type": "language", "language": "fr"}, answer)


CASES = [
    ({"type": "name", "name": "Sam"}, "Sure, Sam: rye is dense.", True),
    ({"type": "name", "name": "Sam"}, "SAM, rye is dense.", True),
    ({"type": "name", "name": "Sam"}, "Rye is dense, unlike Samosas.", False),
    ({"type": "name", "name": "Dr. Smith"}, "Hello Dr.  Smith, here you go.", True),
    ({"type": "signoff", "text": "— Sam"}, "Rye is dense.\n\n— Sam", True),
    ({"type": "signoff", "text": "— Sam"}, "Rye is dense.\n— Sam.\n", True),
    ({"type": "signoff", "text": "— Sam"}, "— Sam\nRye is dense.", False),
    ({"type": "signoff", "text": "Cheers!"}, "Rye is dense. Cheers!", True),
    ({"type": "format", "format": "bullets"}, "Steps:\n- mix\n- knead\n- bake", True),
    ({"type": "format", "format": "bullets"}, "* mix\n* bake", True),
    ({"type": "format", "format": "bullets"}, "• mix\n• bake", True),
    ({"type": "format", "format": "bullets"}, "1. mix\n2. bake", True),
    ({"type": "format", "format": "bullets"}, "- only one bullet", False),
    ({"type": "format", "format": "bullets"}, "Mix - then bake - then eat.", False),
    ({"type": "max_words", "n": 5}, "one two three four five", True),
    ({"type": "max_words", "n": 5}, "one two three four five six", False),
    ({"type": "avoid", "text": "as an AI"}, "As an AI, I cannot bake.", False),
    ({"type": "avoid", "text": "as an AI"}, "I cannot bake.", True),
    ({"type": "question"}, "Rye is dense. Shall I say more?", True),
    ({"type": "question"}, "Is rye dense? Yes.", False),  # the question is not last
    ({"type": "question"}, "Is rye dense?\n\n— Sam", True),  # a sign-off may follow it
    ({"type": "question"}, "Is rye dense?\nRye is dense and dark, and it keeps for a week.", False),
    ({"type": "question"}, "", False),
    ({"type": "no_emoji"}, "Rye is dense.", True),
    ({"type": "no_emoji"}, "Rye is dense 🍞", False),
    ({"type": "no_emoji"}, "Done ✅", False),
    ({"type": "case", "case": "lower"}, "rye is dense, sam. 2 loaves — ok?", True),
    ({"type": "case", "case": "lower"}, "rye is dense, Sam.", False),
    ({"type": "case", "case": "lower"}, "42 — 7", False),  # no letter: nothing followed
    ({"type": "case", "case": "lower"}, "été à paris; 東京", True),  # uncased scripts are fine
    ({"type": "case", "case": "upper"}, "RYE IS DENSE, SAM! 2 LOAVES.", True),
    ({"type": "case", "case": "upper"}, "RYE IS DENSe.", False),
]


@pytest.mark.parametrize("checker, answer, expected", CASES)
def test_checkers(checker, answer, expected):
    assert check(checker, answer) is expected


def test_an_unknown_checker_is_an_error_not_a_pass():
    with pytest.raises(ValueError, match="unknown checker type"):
        check({"type": "rhymes"}, "anything")
    with pytest.raises(ValueError):
        check({"type": "format", "format": "haiku"}, "anything")
