"""The preference store: CRUD, extraction from the log, scans, and forgetting."""

from __future__ import annotations

import json

import pytest

from personal.errors import AmbiguousId, InvalidSignal, NotFound
from personal.log import Log
from personal.log.transfer import import_file
from personal.prefs.preferences import Preferences, ScanReport, extract_from_message, scan


@pytest.fixture
def prefs(log):
    return Preferences(log)


def said(log: Log, *texts: str, created_at: str | None = None):
    """A conversation in which the user says each of `texts` (answered by "ok")."""
    c = log.create_conversation()
    users = []
    for text in texts:
        users.append(log.append(c.id, {"role": "user", "content": text}, created_at=created_at))
        log.append(c.id, {"role": "assistant", "content": "ok"}, created_at=created_at)
    return c, users


# --- the store -------------------------------------------------------------------------
def test_add_derives_kind_and_checker_from_the_text(prefs):
    p = prefs.add("Answer in French.")
    assert (p.text, p.kind, p.checker) == ("Answer in French.", "language",
                                           {"type": "language", "language": "fr"})  # fmt: skip
    assert (p.origin, p.active, p.source_message_id, p.conversation_id) == (
        "manual",
        True,
        None,
        None,
    )
    assert prefs.add("Mention the weather").kind == "other"
    forced = prefs.add("Answer in French.", kind="style")
    assert (forced.kind, forced.checker) == ("style", None)  # a checker only for its own kind


@pytest.mark.parametrize("bad", [{"text": "  "}, {"text": "x", "kind": "mood"},
                                 {"text": "x", "origin": "guessed"}])  # fmt: skip
def test_add_refuses_what_it_cannot_keep(prefs, bad):
    text = bad.pop("text")
    with pytest.raises(InvalidSignal) as e:
        prefs.add(text, **bad)
    assert e.value.hint


def test_get_edit_set_active_remove(prefs):
    p = prefs.add("Use bullet points.")
    assert prefs.get(p.id[:12]) == p
    edited = prefs.edit(p.id, "  Keep answers   under 40 words. ")
    assert (edited.text, edited.kind, edited.checker) == (
        "Keep answers under 40 words.", "length", {"type": "max_words", "n": 40})  # fmt: skip
    assert edited.updated_at > p.updated_at and edited.created_at == p.created_at
    assert not prefs.set_active(p.id, False).active
    assert prefs.list(active_only=True) == [] and len(prefs.list()) == 1
    assert prefs.set_active(p.id, True).active
    prefs.remove(p.id[:10])
    assert prefs.list() == []
    for call in (prefs.get, prefs.remove, lambda i: prefs.edit(i, "x")):
        with pytest.raises(NotFound):
            call(p.id)


def test_ids_by_prefix_must_be_unique(prefs, log):
    for suffix in ("1", "2"):
        log.db.execute(
            "INSERT INTO preferences (id, text, stated_at, created_at, updated_at) "
            "VALUES (?, 'x', 'x', 'x', 'x')",
            ["0000aaaa00000000000000000" + suffix],
        )
    with pytest.raises(AmbiguousId):
        prefs.get("0000aaaa")


def test_profile_is_a_bullet_list_of_active_preferences(prefs):
    assert prefs.profile() == ""
    prefs.add("Call me Sam")
    off = prefs.add("Use bullet points.")
    prefs.add("Answer in French.")
    prefs.set_active(off.id, False)
    assert prefs.profile() == "- Call me Sam\n- Answer in French."


def test_a_newer_single_valued_preference_replaces_the_older(prefs):
    sam = prefs.add("Call me Sam")
    french = prefs.add("Answer in French.")
    alex = prefs.add("Call me Alex")
    assert [p.id for p in prefs.list(active_only=True)] == [french.id, alex.id]
    prefs.set_active(sam.id, True)  # switching one back on switches the other off
    assert [p.id for p in prefs.list(active_only=True)] == [sam.id, french.id]
    prefs.add("Never use emojis")
    prefs.add("Avoid jargon")  # several avoid-preferences coexist
    assert len(prefs.list(active_only=True)) == 4


# --- extraction from the log -----------------------------------------------------------
def test_extract_from_message_links_the_source_once(log, prefs):
    c, (m,) = said(log, "Call me Sam. From now on answer in French.")
    found = extract_from_message(log, m)
    assert [p.text for p in found] == ["Call the user Sam.", "Answer in French."]
    assert all(
        (p.origin, p.source_message_id, p.conversation_id, p.stated_at)
        == ("extracted", m.id, c.id, m.created_at)
        for p in found
    )
    assert extract_from_message(log, m.id) == []  # read once
    assert scan(log) == ScanReport([], 0, 0)
    answer = log.messages(c.id)[1]
    assert extract_from_message(log, answer) == []  # only the user's own words


def test_scan_reads_every_user_message_once(log, prefs):
    said(log, "Call me Sam.", "what's rye?", "Use bullet points please")
    said(log, "ok, use bullet points", "never use emojis")
    report = scan(log)
    assert [p.text for p in report.new] == [
        "Call the user Sam.", "Use bullet points.", "Do not use emojis."]  # fmt: skip
    assert (report.duplicates, report.scanned) == (1, 5)
    assert scan(log) == ScanReport([], 0, 0)
    # a removed preference is not extracted again, a new statement is
    prefs.remove(report.new[0].id)
    said(log, "call me Sam")
    again = scan(log)
    assert [p.text for p in again.new] == ["Call the user Sam."] and again.scanned == 1


def test_scan_since_reads_only_later_messages(log):
    said(log, "Call me Sam.", created_at="2024-01-01T00:00:00.000Z")
    said(log, "Answer in German.", created_at="2025-06-01T00:00:00.000Z")
    assert [p.text for p in scan(log, since="2025-01-01").new] == ["Answer in German."]
    assert [p.text for p in scan(log).new] == ["Call the user Sam."]


def test_an_older_statement_found_later_does_not_win(log, prefs):
    said(log, "Call me Alex", created_at="2026-01-01T00:00:00.000Z")
    scan(log)
    said(log, "call me Sam", created_at="2023-01-01T00:00:00.000Z")  # an old import
    (old,) = scan(log).new
    assert not old.active
    assert [p.text for p in prefs.list(active_only=True)] == ["Call the user Alex."]


def test_scan_covers_imported_conversations(log, prefs, tmp_path):
    path = tmp_path / "chats.jsonl"
    lines = [{"messages": [{"role": "user", "content": "Please always answer in Spanish."},
                           {"role": "assistant", "content": "¡Claro!"}]},
             {"messages": [{"role": "user", "content": "Do you remember my name?"}]}]  # fmt: skip
    path.write_text("\n".join(json.dumps(line) for line in lines))
    import_file(log, path)
    report = scan(log)
    assert [p.text for p in report.new] == ["Answer in Spanish."] and report.scanned == 2
    (spanish,) = report.new
    assert log.conversation(spanish.conversation_id).source == "import:openai-jsonl"
    assert scan(log).new == []


def test_scan_works_in_batches(log, monkeypatch):
    monkeypatch.setattr("personal.prefs.preferences.SCAN_BATCH", 2)
    said(log, "call me Sam", "hi", "use bullet points", "ok", "answer in French")
    report = scan(log)
    assert len(report.new) == 3 and report.scanned == 5


# --- forgetting ------------------------------------------------------------------------
def test_forgetting_a_conversation_takes_its_extracted_preferences(log, prefs):
    kept, _ = said(log, "Answer in French.")
    dropped, (m,) = said(log, "Call me Sam.")
    scan(log)
    manual = prefs.add("Use bullet points.")
    linked = prefs.add("Never use emojis", source_message_id=m.id)  # manual, with a source
    log.forget(dropped.id)
    # in the order stated: the linked one when its message was written
    assert [p.text for p in prefs.list()] == ["Answer in French.", "Never use emojis",
                                              "Use bullet points."]  # fmt: skip
    assert prefs.get(linked.id).source_message_id is None
    assert prefs.get(linked.id).conversation_id is None
    count = "SELECT COUNT(*) FROM preference_scans"
    assert log.db.execute(count).fetchone()[0] == 1  # the kept conversation's message
    log.forget_all()  # manual preferences stay; the rest went with their conversations
    assert {p.id for p in prefs.list()} == {manual.id, linked.id}
    assert log.db.execute(count).fetchone()[0] == 0
    assert kept.id not in {p.conversation_id for p in prefs.list()}


# --- one value per slot, and taking a preference back ---------------------------------------
def test_a_fact_stated_again_replaces_the_old_value(log, prefs):
    said(log, "I live in Lyon.", "My dog is called Rex.")
    scan(log)
    said(log, "Actually, I moved to Paris.")
    scan(log)
    active = {p.checker["key"]: p.checker["value"] for p in prefs.list(active_only=True)}
    assert active == {"city": "Paris", "dog's name": "Rex"}
    old = next(p for p in prefs.list() if p.checker["value"] == "Lyon")
    assert not old.active and old.meta["superseded_by"]


def test_a_withdrawal_switches_the_preference_off(log, prefs):
    said(log, "From now on, end every answer with '— Sam'.", "Begin every answer with 'Yo'.")
    scan(log)
    assert {p.kind for p in prefs.list(active_only=True)} == {"signoff", "opening"}
    _, (stop,) = said(log, "Please stop signing off.")
    report = scan(log)
    assert report.new == []  # a withdrawal is not a preference of its own
    assert {p.kind for p in prefs.list(active_only=True)} == {"opening"}
    gone = next(p for p in prefs.list() if p.kind == "signoff")
    assert gone.meta["superseded_by"] == stop.id


@pytest.mark.parametrize(("said_later", "kind"), [
    ("Forget the thing about calling me Sam.", "name"),
    ("Never mind what I said about bullet points.", "format"),
    ("Ignore my request about answering in French.", "language"),
    ("Scrap the rule about signing off.", "signoff"),
    ("Forget the part about starting with 'Yo'.", "opening"),
    ("Forget what I told you about keeping it short.", "length"),
])
def test_taking_back_the_thing_about_a_topic(said_later, kind):
    from personal.prefs.withdraw import withdrawal

    assert withdrawal(said_later.rstrip(".")) == (f"Withdraw the {kind} preference.",
                                                   {"type": "withdraw", "kind": kind})  # fmt: skip


@pytest.mark.parametrize("vague", ["Forget what I said about the weather.",
                                   "Never mind the thing about signing off and bullet points."])
def test_a_vague_or_double_take_back_switches_nothing(vague):
    from personal.prefs.withdraw import withdrawal

    assert withdrawal(vague.rstrip(".")) is None


def test_not_calling_someone_a_name_switches_that_name_off(log, prefs):
    said(log, "Call me Bob.")
    scan(log)
    said(log, "Don't call me Bob.")
    scan(log)
    assert [p.kind for p in prefs.list(active_only=True)] == ["avoid"]


def test_a_withdrawal_cannot_be_added_as_a_preference(prefs):
    with pytest.raises(InvalidSignal, match="takes a preference back"):
        prefs.add("Stop signing off.")


# --- checks derived from the answers the person kept ---------------------------------------
def test_an_unchecked_preference_gets_the_check_its_kept_answers_show(log, prefs):
    from personal.prefs import derive_checks

    said(log, "Always greet me warmly.")
    scan(log)
    (warm,) = prefs.list(active_only=True)
    assert warm.checker is None
    c = log.create_conversation()
    for q in ("What is rye?", "Why is the sky blue?", "How do I boil an egg?", "What is tea?"):
        log.append(c.id, {"role": "user", "content": q})
        log.append(c.id, {"role": "assistant", "content": f"Hello friend! Here is the answer to {q}"})
    (derived,) = derive_checks(log)
    assert derived.checker == {"type": "opening", "text": "Hello friend"}
    assert derived.meta["derived_checker"] is True and derived.kind == warm.kind
    assert derive_checks(log) == []  # once: it has a check now


def test_no_check_is_derived_from_a_few_or_varied_answers(log, prefs):
    from personal.prefs import derive_checks
    from personal.prefs.derive import derive

    assert derive(["Hi. A", "Hi. B", "Hi. C"]) is None  # too few
    assert derive(["Sure, a thing", "Well, b", "Okay c", "Right, d", "Yes e"]) is None
    assert derive(["- a\n- b", "- c\n- d", "- e\n- f", "- g\n- h"]) == {
        "type": "format", "format": "bullets"}  # fmt: skip
    assert derive(["sure, a thing.", "well, b.", "okay c", "right, d"]) == {
        "type": "case", "case": "lower"}  # fmt: skip
    said(log, "Always greet me warmly.")
    scan(log)
    assert derive_checks(log) == []
