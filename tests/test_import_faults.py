"""20 SIGKILLs of `personal import` mid-file (issue 10's fault campaign, for imports): the
log stays intact (`PRAGMA integrity_check`) and holds all of the file or none of it."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

CONVERSATIONS = 4000


def test_a_killed_import_is_all_or_nothing(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("w") as fp:
        for i in range(CONVERSATIONS):
            fp.write(json.dumps({"id": f"c{i}", "messages": [
                {"role": "user", "content": f"question {i} " + "words " * 40},
                {"role": "assistant", "content": f"answer {i} " + "more words " * 40}]}) + "\n")  # fmt: skip
    rng, outcomes = random.Random(7), []
    for run in range(20):
        home = tmp_path / f"home{run}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "personal.cli.main", "import", str(path)],
            env={**os.environ, "PERSONAL_HOME": str(home)}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        db = home / "log.db"
        if not db.exists():
            outcomes.append(("before the log", proc.returncode))
            continue
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'conversations'"
                                ).fetchone():  # fmt: skip
                outcomes.append(("while the log was made", proc.returncode))
                continue  # killed inside the first migration: rolled back, nothing there
            (n,) = conn.execute("SELECT COUNT(*) FROM conversations").fetchone()
            (m,) = conn.execute("SELECT COUNT(*) FROM messages").fetchone()
        assert (n, m) in ((0, 0), (CONVERSATIONS, 2 * CONVERSATIONS)), (run, n, m)
        outcomes.append((n, proc.returncode))
    print(f"\n{outcomes}")
    killed = [o for o in outcomes if o[1] == -signal.SIGKILL]
    assert killed, "every import finished before its kill: make the file larger"
    assert any(n == 0 for n, _ in killed if isinstance(n, int)), "no kill landed mid-import"
