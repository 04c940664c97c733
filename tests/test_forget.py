"""`personal log forget` removes everything derived from what is forgotten, checked on the
bytes of every file under the data directory; what it cannot remove, it says.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from personal.adapters.manifest import BaseIdentity, DatasetRef, Manifest, Verdict
from personal.adapters.registry import WEIGHTS, Registry
from personal.chat.session import ChatSession
from personal.engine.fake import FakeEngine
from personal.engine.toolcall import render_call
from personal.errors import TrainingError
from personal.learn.dataset import write_dataset
from personal.learn.forget import check_dataset, forget
from personal.learn.pipeline import start_from
from personal.log import Log
from personal.log.notes import Notes
from personal.tools import load_registry

SECRET = "zanzibarquartz"  # a word found nowhere else in the files


def holders(root: Path, needle: str = SECRET) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and needle.encode() in p.read_bytes())  # fmt: skip


def cli(*args: str):
    return subprocess.run([sys.executable, "-m", "personal.cli.main", *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PERSONAL_BACKEND": "fake"})  # fmt: skip


def test_notes_saved_by_remember_carry_their_source_and_are_forgotten(log):
    engine = FakeEngine()
    engine.enqueue(render_call("remember", {"text": f"the PIN is {SECRET}"}), "Noted.", "Ok.")
    session = ChatSession(engine, log, tools=load_registry(log))
    list(session.events(session.start(f"remember my PIN: {SECRET}")))
    list(session.events(session.invoke(f"/remember the door code is {SECRET}")))
    notes = Notes(log).list()
    users = {m.id for m in log.messages(session.conversation_id) if m.role == "user"}
    assert len(notes) == 2 and {n.source_message_id for n in notes} == users
    log.forget(session.conversation_id)
    assert Notes(log).list() == [] and Notes(log).search(SECRET) == []


def revision(reg: Registry, payload: bytes, dataset: str | None, parent: str | None = None):
    staged = reg.stage()
    (staged / "mlx").mkdir()
    (staged / WEIGHTS).write_bytes(payload)
    manifest = Manifest(base=BaseIdentity("tiny", "llama", "b" * 64), parent=parent,
                        dataset=DatasetRef(hash=dataset), formats={"mlx": "mlx"},
                        verdict=Verdict(True))  # fmt: skip
    return reg.commit(staged, manifest)


@pytest.fixture
def trained(personal_home):
    """A log with a secret conversation and a plain one, a dataset of each, revisions
    trained on the secret one (and a child warm-started from it, made current), and a
    training run's checkpoint."""
    with Log() as log:
        secret = log.create_conversation(title="private")
        said = log.append(secret.id, {"role": "user", "content": f"my PIN is {SECRET}"})
        log.append(secret.id, {"role": "assistant", "content": f"Noted: {SECRET}."})
        Notes(log).add(f"PIN {SECRET}", source_message_id=said.id)
        plain = log.create_conversation(title="plain")
        other = log.append(plain.id, {"role": "user", "content": "what is the capital of France"})
    line = {"messages": [{"role": "user", "content": f"my PIN is {SECRET}"}], "kind": "answer",
            "source": [said.id]}  # fmt: skip
    leaked = write_dataset({"train": [line]}, {"message_ids": [said.id]})
    kept = write_dataset({"train": [{"messages": [], "kind": "answer", "source": [other.id]}]},
                         {"message_ids": [other.id]})  # fmt: skip
    run = personal_home / "runs" / "r1"
    (run / "checkpoints").mkdir(parents=True)
    (run / "job.json").write_text(f'{{"dataset_dir": "{leaked.path}"}}')
    (run / "checkpoints" / "state.json").write_text(f"loss on {SECRET}")
    from personal.learn.cache import GenerationCache

    cache = GenerationCache()  # a teacher answer to a prompt taken from the log
    with cache.db:
        cache.db.execute("INSERT INTO generations VALUES (?, ?, 0)", ["k", f"About {SECRET}"])
    cache.close()
    reg = Registry()
    parent = revision(reg, b"weights-1", leaked.hash)
    child = revision(reg, b"weights-2", None, parent=parent.id)
    clean = revision(reg, b"weights-3", kept.hash)
    reg.set_current("b" * 64, child, "promote")
    return {"conversation": secret.id, "leaked": leaked, "kept": kept, "run": run,
            "marked": {parent.id, child.id}, "clean": clean.id}  # fmt: skip


def test_forget_removes_every_copy_on_disk_and_marks_what_was_trained(personal_home, trained):
    before = holders(personal_home)
    assert {"log.db", f"datasets/{trained['leaked'].hash}/train.jsonl",
            "runs/r1/checkpoints/state.json"} <= set(before)
    assert any(h.startswith("cache/generations.db") for h in before)
    result = cli("log", "forget", trained["conversation"], "--yes")
    assert result.returncode == 0, result.stderr
    assert holders(personal_home) == []  # the bytes, not only the rows
    assert not trained["leaked"].path.exists() and trained["kept"].path.exists()
    assert not trained["run"].exists()
    reg = Registry()
    assert set(reg.forgotten()) == trained["marked"]  # the child was warm-started from it
    assert trained["clean"] not in reg.forgotten()
    out = result.stdout
    assert "1 notes" in out and "deleted 1 distilled datasets and 1 training runs" in out
    assert "marked 2 adapter revisions" in out and "--from-scratch" in out
    current = reg.current("b" * 64)
    assert start_from(reg, current, from_scratch=False) is None  # no warm start from it


READER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN")
db.execute("SELECT COUNT(*) FROM messages").fetchall()  # a snapshot from before
print("reading", flush=True)
sys.stdin.readline()
"""


def test_forget_says_when_a_reader_keeps_the_text_on_disk(personal_home, trained):
    # the reader is another process: closing any descriptor of log.db in the reader's own
    # process (as reading the bytes here does) would drop its POSIX locks
    reader = subprocess.Popen([sys.executable, "-c", READER, str(personal_home / "log.db")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert reader.stdout.readline().strip() == "reading"
        result = cli("log", "forget", trained["conversation"], "--yes")
        assert result.returncode == 1 and "still on disk" in result.stderr
        assert "personal log purge" in result.stderr
        assert any(h.startswith("log.db") for h in holders(personal_home))  # it told the truth
        assert cli("log", "purge").returncode == 1
    finally:
        reader.communicate("done\n", timeout=30)
    assert cli("log", "purge").returncode == 0
    assert holders(personal_home) == []


def test_a_dataset_forgotten_while_it_trained_is_not_registered(personal_home, trained):
    with Log() as log:
        forget(log, trained["conversation"])
    again = write_dataset({"train": [{"messages": [], "kind": "answer", "source": []}]},
                          {"message_ids": sorted(trained["marked"]) + ["x"]})  # fmt: skip
    check_dataset(again)  # nothing forgotten in it
    late = trained["leaked"].manifest["message_ids"]
    stale = write_dataset({"train": [{"messages": [], "kind": "answer", "source": late}]},
                          {"message_ids": late})  # fmt: skip
    with pytest.raises(TrainingError, match="forgotten while it ran"):
        check_dataset(stale)
    assert not stale.path.exists()


def test_from_scratch_starts_from_nothing(personal_home, trained):
    reg = Registry()
    clean = reg.get(trained["clean"])
    assert start_from(reg, clean, from_scratch=False) is clean
    assert start_from(reg, clean, from_scratch=True) is None
