"""A fault campaign on real processes and a real log: 20 SIGKILLs of `personal ask`
mid-stream and 20 of `personal import` mid-file.

After every kill: PRAGMA integrity_check is ok, no committed turn is lost (earlier
answers, the killed turn's question, its partial answer as far as it was saved), the
partial answer is marked interrupted, and an import is there whole or not at all.

`personal ask` runs the fake engine slowed by PERSONAL_FAKE_DELAY, so everything but the
model is the real thing: the CLI, the session, the log's streaming writes. About 1.5
minutes on two busy cores.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from personal.log import Log

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
KILLS = 20
IMPORTED = 3000  # conversations per import file (two messages each)


def start(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PERSONAL_HOME": str(home), "PERSONAL_BACKEND": "fake",
           "PERSONAL_FAKE_DELAY": "0.01"}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "personal.cli.main", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip


def query(home: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the log as another program would (WAL: never blocks the writer)."""
    db = sqlite3.connect(f"file:{home / 'log.db'}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        db.close()


def check(home: Path, turns: dict[str, str], imports: dict[str, int]) -> None:
    """The log is sound and holds everything that was committed."""
    with Log(home / "log.db") as log:  # opening it marks dead streams interrupted
        assert log.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert log.db.execute("SELECT COUNT(*) FROM messages WHERE status = 'streaming'"
                              ).fetchone()[0] == 0  # fmt: skip
    for question, answer in turns.items():
        rows = query(home, "SELECT a.content, a.status FROM messages u JOIN messages a ON "
                     "a.conversation_id = u.conversation_id AND a.seq = u.seq + 1 "
                     "WHERE u.role = 'user' AND u.content = ?", (question,))  # fmt: skip
        assert rows, f"lost the turn {question[:30]!r}"
        content, status = rows[0]
        if answer.startswith("partial:"):  # killed: at least what was saved before the kill
            saved = answer.removeprefix("partial:")
            assert status == "interrupted" and content.startswith(saved)
            assert f"You said: {question}".startswith(content)
        else:
            assert (content, status) == (answer, "complete")
    for marker, expected in imports.items():
        n = query(home, "SELECT COUNT(*) FROM messages WHERE content LIKE ?",
                  (f"%{marker}%",))[0][0]  # fmt: skip
        assert n == expected, f"{marker}: {n} messages, expected {expected}"


def test_twenty_kills_of_ask_mid_stream(tmp_path):
    home, turns = tmp_path / "home", {}
    rng = random.Random(7)
    for k in range(KILLS):
        words = " ".join(f"w{k}x{i}" for i in range(120))
        if k % 5 == 0:  # now and then a turn that completes, to be kept through the kills
            question = f"complete {k} " + " ".join(words.split()[:30])
            done = start(home, "ask", "--no-tools", question)
            assert done.wait(timeout=60) == 0, done.stderr.read().decode()
            turns[question] = f"You said: {question}"
        question = f"killed {k} {words}"
        proc = start(home, "ask", "--no-tools", question)
        saved = ""
        deadline = time.monotonic() + 30
        while not saved and time.monotonic() < deadline:  # the answer is streaming
            rows = query(home, "SELECT a.content FROM messages u JOIN messages a ON "
                         "a.conversation_id = u.conversation_id AND a.seq = u.seq + 1 WHERE "
                         "u.content = ? AND a.status = 'streaming'", (question,))  # fmt: skip
            saved = rows[0][0] if rows else ""
            time.sleep(0.02)
        assert saved, "the answer never started streaming"
        time.sleep(rng.uniform(0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        turns[question] = "partial:" + saved
        check(home, turns, {})


def import_file(path: Path, marker: str) -> Path:
    with path.open("w") as f:
        for i in range(IMPORTED):
            f.write(json.dumps({"messages": [
                {"role": "user", "content": f"{marker} question {i}"},
                {"role": "assistant", "content": f"{marker} answer {i}"}]}) + "\n")  # fmt: skip
    return path


def test_twenty_kills_of_import_mid_file(tmp_path):
    home = tmp_path / "home"
    first = start(home, "ask", "--no-tools", "a turn before the imports")
    assert first.wait(timeout=60) == 0
    turns = {"a turn before the imports": "You said: a turn before the imports"}
    imports: dict[str, int] = {}
    rng = random.Random(11)
    outcomes = {"whole": 0, "nothing": 0}
    for k in range(KILLS):
        marker = f"batch{k:02d}marker"
        proc = start(home, "import", str(import_file(tmp_path / f"{marker}.jsonl", marker)))
        time.sleep(rng.uniform(0.3, 2.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        n = query(home, "SELECT COUNT(*) FROM messages WHERE content LIKE ?", (f"%{marker}%",))
        imports[marker] = n[0][0] if n else 0
        assert imports[marker] in (0, 2 * IMPORTED), f"a partial import: {imports[marker]}"
        outcomes["whole" if imports[marker] else "nothing"] += 1
        check(home, turns, imports)
    print(f"imports killed: {outcomes}")
    assert outcomes["nothing"] > 0  # the kills did land mid-file
