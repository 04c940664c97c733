"""Whether an answer names an accepted answer: numbers whole, words as substrings."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from personal.engine.mention import mentions
from personal.learn.objectives import answered, retention_questions


@pytest.mark.parametrize(
    ("text", "accepted", "named"),
    [
        ("There are 7 continents.", ("seven", "7"), True),
        ("There are seven continents.", ("seven", "7"), True),
        ("Seven.", ("seven", "7"), True),
        ("There are 126.7 continents.", ("seven", "7"), False),  # the base's answer, once
        ("It froze at -10 degrees.", ("0", "zero"), False),
        ("Water freezes at 0°C.", ("0", "zero"), True),
        ("Water freezes at 0.", ("0", "zero"), True),
        ("It boils at approximately 100.0 degrees Celsius.", ("100",), True),  # the base, once
        ("It boils at 100.5 degrees.", ("100",), False),
        ("It is 7.05 or so.", ("7",), False),
        ("0.0 degrees", ("0",), True),
        ("About 1,000 of them.", ("1",), False),
        ("It was 1970.", ("7",), False),
        ("There are seventeen.", ("seven", "7"), False),
        ("There are seventy.", ("seven",), False),
        ("There are thirty-seven.", ("seven",), False),
        ("A seven-day week.", ("seven",), True),
        ("It has eighteen legs.", ("eight", "8"), False),
        ("A spider has eight-legged cousins.", ("eight",), True),
        ("twenty-four hours", ("24", "twenty-four"), True),
        ("The answer is 24h.", ("24",), True),
        ("Caterpillars become butterflies.", ("butterfl",), True),  # a stem stays a stem
        ("Paris is the capital.", ("paris",), True),
        ("It is the Parisian style.", ("Paris",), True),  # words: substrings, as before
        ("H₂O", ("H2O", "H₂O"), True),
        ("nothing", ("",), False),
    ],
)
def test_numbers_count_only_whole(text, accepted, named):
    assert mentions(text, accepted) is named
    assert answered(text, accepted) is named


def test_an_unfinished_number_is_not_yet_a_mention():
    assert not mentions("There are 7", ("7",), complete=False)  # may become 70
    assert not mentions("There are 7.", ("7",), complete=False)  # may become 7.5
    assert mentions("There are 7. ", ("7",), complete=False)
    assert not mentions("It is 100.0", ("100",), complete=False)  # may become 100.05
    assert not mentions("It is 100.00", ("100",), complete=False)
    assert mentions("It is 100.0 degrees", ("100",), complete=False)
    assert mentions("There are 7", ("7",))  # the whole answer: it ended there


@given(st.text(alphabet="0123456789.,- sevnabc", max_size=40), st.data())
def test_a_mention_decided_early_stays_in_the_whole_text(text, data):
    """What `until` ends a generation on is named by every longer text it could become."""
    accepted = data.draw(st.sampled_from([("7",), ("0", "zero"), ("seven",), ("12",), ("ab",),
                                          ("100",)]))  # fmt: skip
    cut = data.draw(st.integers(0, len(text)))
    if mentions(text[:cut], accepted, complete=False):
        assert mentions(text, accepted)


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_one_whole_number_does_not_name_another(n, m):
    assert mentions(f"The answer is {m}.", (str(n),)) is (n == m)


def test_every_shipped_retention_answer_is_named_by_itself():
    for question, accepted in retention_questions():
        for a in accepted:
            assert answered(f"The answer: {a}.", accepted), (question, a)


def test_no_retention_question_names_its_own_answer():
    """An answer cut at its first accepted word must not be right by echoing the question:
    "What language is spoken in Germany?" → "The language spoken in Germany" named "German"
    (a word of the question containing the answer) before the set was checked for it."""
    for question, accepted in retention_questions():
        assert not answered(question, accepted), question


def test_no_retention_question_is_asked_twice():
    """A question asked twice would count twice against the bound."""
    qa = retention_questions()
    assert len({q.casefold() for q, _ in qa}) == len(qa)
