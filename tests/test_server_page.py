"""The web page at `/`, in a real headless Chromium (Debian's; playwright drives it and
downloads nothing): revisions with their loss curve and metrics, preference candidates,
the nightly run, and the chat box, whose conversation is logged as one."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from personal.adapters.manifest import DatasetRef, Metrics, Training, Verdict
from personal.daemon.cycle import write_state
from personal.log import preferences as pref_rows
from personal.log.ids import now
from personal.prefs.preferences import Preferences
from tests.live import fake_revision, fake_runtime, running

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking"]  # fmt: skip
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


def learned_revision(runtime):
    """A revision whose manifest and loss curve look like a trained one's."""
    rev = fake_revision(runtime.registry, runtime.engine, seed=7)
    manifest = rev.manifest.with_(
        dataset=DatasetRef(counts={"preference": {"train": 30, "test": 6}}, messages=120),
        training=Training(steps=40, final_train_loss=1.2, final_val_loss=1.4),
        metrics={"none": Metrics(ce=2.5, adherence={"Call the user Sam.": 0.1}),
                 "candidate": Metrics(ce=1.9, adherence={"Call the user Sam.": 0.95})},
        verdict=Verdict(True, ("adherence to 'Call the user Sam.' 10% -> 95%",)),
    )  # fmt: skip
    for p in (rev.path, rev.path / "manifest.json"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    (rev.path / "manifest.json").write_text(manifest.to_json())
    curve = {"train": [[s, 3.0 - s / 20] for s in range(1, 41)], "val": [[20, 2.2], [40, 1.4]]}
    (rev.path / "loss.json").write_text(json.dumps(curve))
    runtime.registry.set_current(runtime.engine.info.fingerprint, rev, "promote")
    return rev


@pytest.fixture
def page(log):
    from playwright.sync_api import sync_playwright

    runtime = fake_runtime(log)
    rev = learned_revision(runtime)
    runtime.watcher.check()
    Preferences(log).add("Answer in French.")
    with log.transaction():
        for text in ("Always cite sources.", "Answer in German."):
            pref_rows.propose(log.db, text=text, kind="style", checker=None, source="import",
                              stated_at=now())  # fmt: skip
    write_state(next_run="2026-11-20T03:30:00+00:00",
                last={"finished_at": "2026-11-19T03:41:00+0000", "outcome": "promoted",
                      "reasons": ["adherence up"]})  # fmt: skip
    with running(runtime) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        tab = browser.new_page()
        tab.goto(url + "/")
        tab.wait_for_selector("body[data-ready=true]", timeout=15000)
        yield tab, runtime, rev
        browser.close()
    runtime.close()


def test_the_page_shows_revisions_preferences_and_the_nightly_run(page, log, tmp_path):
    tab, runtime, rev = page
    assert rev.short in tab.text_content("[data-testid=status]")
    card = tab.locator(f"details[data-id='{rev.id}']")
    card.locator("summary").click()
    text = card.text_content()
    assert "serving" in text and "promoted" in text and "120 messages: 36 preference" in text
    assert "Call the user Sam. — followed in 95% of answers" in text
    assert card.locator("svg[data-testid=loss-curve] polyline").count() == 2
    assert card.locator("table tr").count() == 3  # header, none, candidate
    daemon = tab.text_content("[data-testid=daemon]")
    assert "2026-11-20T03:30" in daemon and "promoted" in daemon and "adherence up" in daemon
    prefs = tab.locator("[data-testid=preferences] li")
    assert prefs.count() == 3 and "candidate" in prefs.first.text_content()
    tab.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    prefs.first.locator("button", has_text="Reject").click()
    tab.wait_for_function("document.querySelectorAll('[data-testid=preferences] li').length == 2")
    tab.locator("[data-testid=preferences] li.candidate button", has_text="Confirm").click()
    tab.wait_for_function("!document.querySelector('[data-testid=preferences] li.candidate')")
    kept = {p.text: p for p in Preferences(log).list()}
    assert kept["Always cite sources."].rejected and kept["Answer in German."].confirmed
    assert kept["Answer in German."].active and kept["Answer in French."].active


def test_the_chat_box_streams_and_is_one_conversation(page, log):
    tab, runtime, rev = page
    for n, text in enumerate(["hello", "and again"], start=1):
        tab.fill("[data-testid=prompt]", text)
        tab.press("[data-testid=prompt]", "Enter")
        tab.wait_for_selector(f"#messages .msg.assistant[data-done=true] >> nth={n - 1}")
    answers = tab.locator("#messages .msg.assistant")
    assert answers.nth(1).text_content().startswith("You said: and again")
    assert f"personal@{rev.short}" in answers.nth(1).text_content()
    (conv,) = log.conversations()
    assert [m.content for m in log.messages(conv.id) if m.role == "user"] == ["hello", "and again"]


def test_stop_keeps_the_partial_answer_logged_as_interrupted(page, log):
    tab, runtime, _ = page
    runtime.engine.delay = 0.05
    runtime.engine.enqueue(" ".join(["word"] * 400))
    tab.fill("[data-testid=prompt]", "talk a lot")
    tab.click("[data-testid=send]")
    tab.wait_for_function(
        "document.querySelector('#messages .msg.assistant').textContent.length > 20"
    )
    tab.click("[data-testid=stop]")
    tab.wait_for_selector("text=(stopped)")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = [m for m in log.messages(log.conversations()[0].id) if m.role == "assistant"][0]
        if answer.status != "streaming":
            break
        time.sleep(0.05)
    assert answer.status == "interrupted" and answer.content.startswith("word word")
