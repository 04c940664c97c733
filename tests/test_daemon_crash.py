"""SIGKILL the daemon 20 times, at every stage of a cycle: the registry stays consistent,
no partial revision is ever visible, no trainer outlives it, and the next cycle completes.

Runs the real loop (distill → train → export → equivalence → gate → register) on a tiny
model the test writes, so each cycle takes seconds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from personal.adapters.registry import Registry
from personal.learn.lock import holder
from tests.persona import write_export
from tests.tinymodel import write_tiny_llama_gguf

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]
STAGES = ("distill", "train", "export", "equivalence", "gate", "register")
KILLS = 20


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "personal.cli.main", *args],
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def workers_alive(home: Path) -> list[int]:
    """Training workers whose job lives under this PERSONAL_HOME."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "personal.learn.train.worker" in cmd and str(home) in cmd:
                found.append(int(proc.name))
    return found


def assert_consistent(home: Path) -> None:
    reg = Registry()
    for rev in reg.list():
        assert reg.verify(rev) == [], rev.short
        m = rev.manifest  # typed: every section is there, read back from disk
        assert m.base.fingerprint and {"mlx", "gguf", "peft"} <= set(m.formats) and m.dataset.hash
    for pointer in reg.pointers.glob("*.json"):
        current = reg.pointer(pointer.stem)["revision"]
        assert current is None or (reg.revisions / current / "manifest.json").is_file()
    for _ in range(50):  # the kernel kills an orphaned trainer (PR_SET_PDEATHSIG)
        if not workers_alive(home):
            break
        time.sleep(0.1)
    assert workers_alive(home) == []
    assert holder() is None  # the lock died with its holder


def kill_at(stage: str, delay: float) -> str:
    """Start a cycle, SIGKILL it `delay` s after it logs `stage`; its log so far."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "personal.cli.main", "daemon", "once", "--force", "--min-new", "1"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if f"stage: {stage}" in line:
            time.sleep(delay)
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return "".join(seen)


def test_sigkill_at_every_stage_leaves_the_registry_consistent(tmp_path, monkeypatch):
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf", n_layer=4)
    monkeypatch.setenv("PERSONAL_MODEL", str(model))
    home = Path(os.environ["PERSONAL_HOME"])
    assert cli("import", str(write_export(tmp_path / "persona.jsonl", 60))).returncode == 0
    rng = random.Random(7)
    resumed = completed = 0
    for k in range(KILLS):
        stage = STAGES[k % len(STAGES)]
        log = kill_at(stage, rng.uniform(0.0, 0.6 if stage == "train" else 0.2))
        resumed += "resumed from step" in log
        completed += "cycle promoted" in log or "cycle kept" in log
        assert_consistent(home)
        if Registry().list() and cli("adapters", "rollback").returncode != 0:
            pytest.fail("rollback failed")  # keep cycles training, so kills land everywhere
    final = cli("daemon", "once", "--force", "--min-new", "1")
    assert final.returncode == 0, final.stderr
    assert final.stdout.split(":")[0] in ("promoted", "kept"), final.stdout
    assert_consistent(home)
    print(f"{KILLS} kills; {resumed} cycles resumed training from a checkpoint; "
          f"{completed} finished before the kill landed")
