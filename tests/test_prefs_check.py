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
    "sv": "Mötet flyttades till torsdag, så jag skickar anteckningarna efter lunch.",
    "pl": "Spotkanie przeniesiono na czwartek, więc wyślę notatki po obiedzie.",
    "tr": "Toplantı perşembeye ertelendi, bu yüzden notları öğle yemeğinden sonra göndereceğim.",
    "no": "Møtet ble flyttet til torsdag, så jeg sender notatene etter lunsj.",
    "da": "Mødet blev flyttet til torsdag, så jeg sender noterne efter frokost.",
    "fi": "Kokous siirrettiin torstaille, joten lähetän muistiinpanot lounaan jälkeen.",
    "cs": "Schůzka byla přesunuta na čtvrtek, takže poznámky pošlu po obědě.",
    "ro": "Întâlnirea a fost mutată joi, așa că voi trimite notițele după prânz.",
    "hu": "A megbeszélést csütörtökre tették át, ezért ebéd után elküldöm a jegyzeteket.",
    "ca": "La reunió s'ha mogut a dijous, així que enviaré les notes després de dinar.",
    "id": "Rapat dipindahkan ke hari Kamis, jadi saya akan mengirim catatan setelah makan siang.",
    "vi": "Cuộc họp đã được dời sang thứ Năm, vì vậy tôi sẽ gửi ghi chú sau bữa trưa.",
}
# the other side of each pair most alike (a checker for one must not pass the other)
ALIKE = {"no": "da", "da": "no", "sv": "no", "ca": "es", "es": "ca", "cs": "pl", "pl": "cs",
         "pt": "es", "ro": "it", "fr": "en", "en": "nl", "nl": "de", "de": "nl"}  # fmt: skip


@pytest.mark.parametrize("language", SAMPLES)
def test_the_language_detector_knows_each_language_with_a_checker(language):
    assert detect_language(SAMPLES[language]) == language
    assert check({"type": "language", "language": language}, SAMPLES[language])
    other = ALIKE.get(language, "en")
    assert not check({"type": "language", "language": other}, SAMPLES[language])


def test_every_language_a_preference_can_name_with_a_checker_is_detected():
    from personal.prefs.check import LANGUAGES, SCRIPTS
    from personal.prefs.directives import CHECKED_LANGUAGES

    assert set(CHECKED_LANGUAGES.values()) <= set(LANGUAGES) | set(SCRIPTS)
    assert set(LANGUAGES) <= set(SAMPLES)  # each written in Latin letters has a sample above


def test_words_two_languages_share_alike_name_neither():
    """A short Norwegian answer can be Danish word for word: no language, not a guess."""
    text = "Rugbrød er kompakt, og du bør la det hvile over natten før du skjærer det."
    assert detect_language(text) is None


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
