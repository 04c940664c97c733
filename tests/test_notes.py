"""Notes: what the `remember` tool keeps and `recall` finds."""

from __future__ import annotations

import dataclasses
import time

import pytest

from personal.errors import AmbiguousId, InvalidSignal, NotFound
from personal.log.notes import Note, Notes


@pytest.fixture
def notes(log):
    return Notes(log)


def test_add_and_list_newest_first(notes):
    first = notes.add("My locker code is 1234", tags=["gym", " gym ", "codes"])
    second = notes.add("  Mum's birthday is on 3 May  ")
    assert isinstance(first, Note) and dataclasses.is_dataclass(first)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.text = "x"  # type: ignore[misc]
    assert (first.text, first.tags, first.source_message_id) == (
        "My locker code is 1234", ["gym", "codes"], None)  # fmt: skip
    assert second.text == "Mum's birthday is on 3 May" and second.tags == []
    assert notes.list() == [second, first]
    assert notes.list(limit=1) == [second]
    assert notes.get(first.id) == first


def test_search_finds_text_and_tags_best_first(notes):
    locker = notes.add("My locker code is 1234", tags=["gym"])
    notes.add("Buy rye flour", tags=["shopping"])
    bread = notes.add("Rye bread needs a long proof; rye flour absorbs water", tags=["baking"])
    assert [n.id for n in notes.search("locker")] == [locker.id]
    assert [n.id for n in notes.search("gym")] == [locker.id]
    assert len(notes.search("rye")) == 2
    assert notes.search("rye OR proof")[0].id == bread.id  # FTS5 syntax; more matches rank first
    assert [n.id for n in notes.search("proofing")] == [bread.id]  # stemmed
    assert len(notes.search("rye", limit=1)) == 1
    assert notes.search("nothing-like-this") == [] and notes.search("  ") == []


@pytest.mark.parametrize(
    "query", ['"unbalanced', "AND", "rye AND", "rye(", "tags:rye", "*", "NEAR(", "^", "-"]
)
def test_search_never_crashes_on_fts_syntax(notes, query):
    notes.add("rye AND wheat")
    assert isinstance(notes.search(query), list)


def test_delete_by_id_or_prefix(notes, log):
    keep = notes.add("keep me")
    time.sleep(0.002)  # ids made in the same millisecond share a long prefix
    drop = notes.add("drop me")
    notes.delete(drop.id[:10])
    assert notes.list() == [keep]
    assert notes.search("drop") == []
    with pytest.raises(NotFound):
        notes.delete(drop.id)
    for twin in ("0000aaaa000000000000000001", "0000aaaa000000000000000002"):
        log.db.execute(
            "INSERT INTO notes (id, text, created_at, updated_at) VALUES (?, 'x', 'x', 'x')",
            [twin],
        )
    with pytest.raises(AmbiguousId):
        notes.delete("0000aaaa")


@pytest.mark.parametrize("text, tags", [("", None), ("   ", None), ("x", "gym"), ("x", [1])])
def test_bad_notes_are_refused(notes, text, tags):
    with pytest.raises(InvalidSignal):
        notes.add(text, tags=tags)
    assert notes.list() == []


def test_a_note_from_a_message_goes_when_its_conversation_is_forgotten(log, notes):
    c = log.create_conversation()
    m = log.append(c.id, {"role": "user", "content": "remember my locker is 12"})
    derived = notes.add("Locker 12", source_message_id=m.id[:16])
    manual = notes.add("Locker 12 (typed)")
    assert derived.source_message_id == m.id
    log.forget(c.id)
    assert notes.list() == [manual]
    assert notes.search("locker") == [manual]
    fts = "SELECT COUNT(*) FROM notes_fts WHERE notes_fts MATCH 'locker'"
    assert log.db.execute(fts).fetchone()[0] == 1
    log.forget_all()
    assert notes.list() == [manual]
    with pytest.raises(NotFound):
        notes.add("x", source_message_id="0000aaaa000000000000000009")
