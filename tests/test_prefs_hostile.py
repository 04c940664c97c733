"""The extractor on hostile and random input: typed results only, bounded time.

It runs on every user message, every imported one, and again at every training run, so a
message crafted to be slow (whitespace runs, thousands of quotes, nested fillers) must cost
no more than an ordinary one — each input here is bounded by a generous budget that the
quadratic patterns of an earlier version exceeded by orders of magnitude (99 s for 4 kB).
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personal.prefs.check import problems
from personal.prefs.extract import KINDS, Candidate, extract

BUDGET_S = 1.0  # per message of up to 8,000 characters, on a busy 2-core machine (the old
# patterns took 99 s on 4,000; these take under 10 ms)
PIECES = ["call me Sam", "always", "never", " ", "\t", "\n", ",", "'", '"', "“", "”", "«",
          "from now on", "begin every answer with", "end", "please", "and", "I'd like you to",
          "ok ", "remember that", "my dog is called", "?", ".", "`", ">", "—", "😀", "\x00"]  # fmt: skip


def _typed(found: list) -> None:
    for c in found:
        assert isinstance(c, Candidate) and c.kind in KINDS and c.text.strip()
        assert c.checker is None or problems(c.checker) == [], c


def _timed(text: str) -> list:
    start = time.perf_counter()
    found = extract(text)
    assert time.perf_counter() - start < BUDGET_S, (len(text), text[:80])
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=4000))
def test_random_text_gives_typed_candidates_in_time(text):
    _typed(_timed(text))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=1500))
def test_adversarial_pieces_give_typed_candidates_in_time(pieces):
    _typed(_timed("".join(pieces)[:8000]))


def test_known_slow_shapes_are_fast():
    for text in ("call me" + " " * 3990 + "x", "always " + ", \t" * 1300, "'" * 4000,
                 "ok " * 1300 + "call me Sam", "from now on, " * 300 + "answer in French",
                 "begin every answer with " + "x" * 3900, "“'\"«" * 1000, "a," * 2000):  # fmt: skip
        _typed(_timed(text))


def test_extraction_holds_no_lock_or_transaction(log, monkeypatch):
    """While a message is read for preferences, another thread can write to the log: the
    extractor runs with no write transaction and no lock of the log held (on import, at
    every training run and for each chat message)."""
    import threading

    from personal.prefs import preferences
    from personal.prefs.extract import extract

    wrote: list[bool] = []

    def extract_while_another_writes(text):
        assert not log.db.conn.in_transaction
        other = threading.Thread(target=lambda: wrote.append(bool(log.create_conversation())))
        other.start()
        other.join(timeout=5)
        assert not other.is_alive(), "a writer waited for the extractor"
        return extract(text)

    monkeypatch.setattr(preferences, "extract", extract_while_another_writes)
    conv = log.create_conversation()
    first = log.append(conv.id, {"role": "user", "content": "Call me Sam."})
    assert [p.kind for p in preferences.extract_from_message(log, first)] == ["name"]
    log.append(conv.id, {"role": "user", "content": "Always answer in French."})
    report = preferences.scan(log)
    assert report.scanned == 1 and len(report.new) == 1 and len(wrote) == 2
