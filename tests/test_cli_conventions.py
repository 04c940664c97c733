"""What people arriving from ollama, llm, mlx-lm or llama.cpp expect of a CLI: --version,
shell completion, --json with one stable shape per command (docs/json-output.md), the
loss curve of a revision, training progress by stage, and `daemon logs -f` that keeps
following across log rotation."""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import threading
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from safetensors.numpy import save_file
from typer.testing import CliRunner

from personal.adapters.manifest import Manifest, Verdict
from personal.adapters.registry import WEIGHTS, Registry
from personal.cli import adapters_cmd, log_cmd, prefs_cmd, train_cmd
from personal.cli.follow import follow, last_lines
from personal.cli.main import app
from personal.learn.train import events
from personal.log import Log
from personal.models import catalog

runner = CliRunner()
EXPORTS = Path(__file__).parent / "data" / "exports"


def test_version_and_completion(monkeypatch):
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == "personal 0.1.0"
    # typer finds the shell among the test process's ancestors, which a CI runner or a
    # detached job may not have: the shell is given here as a user's terminal would give it
    monkeypatch.setattr("typer.completion._get_shell_name", lambda: "bash")
    r = runner.invoke(app, ["--show-completion"], prog_name="personal")
    assert r.exit_code == 0 and "complete" in r.output and "_PERSONAL_COMPLETE" in r.output
    assert "--install-completion" in runner.invoke(app, ["--help"]).output


def test_json_of_log_search_import_and_prefs_scan(tmp_path):
    r = runner.invoke(app, ["import", "--json", str(EXPORTS / "chatgpt" / "librechat-modern-export.json")])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert set(report) == {"file", "format", "dry_run", "conversations", "messages", "notes",
                           "preference_candidates", "dropped"}  # fmt: skip
    assert report["conversations"] == {"new": 2, "grown": 0, "unchanged": 0}
    assert report["preference_candidates"] == ["The user is an SRE.", "Answer concisely."]
    assert report["dropped"][0]["count"] == 1
    hits = json.loads(runner.invoke(log_cmd.app, ["search", "--json", "anchovies"]).output)
    assert [set(h) for h in hits] == [{"conversation", "message", "snippet"}]
    assert hits[0]["message"]["role"] == "user" and "**anchovies**" in hits[0]["snippet"]
    with Log() as log:
        c = log.create_conversation()
        log.append(c.id, {"role": "user", "content": "From now on, call me Sam."})
    scanned = json.loads(runner.invoke(prefs_cmd.app, ["scan", "--json"]).output)
    assert set(scanned) == {"scanned", "duplicates", "new"}
    assert [p["text"] for p in scanned["new"]] == ["Call the user Sam."]
    assert scanned["new"][0]["candidate"] is False  # said in a chat: taken at once


def revision(reg: Registry, seed: int, loss: dict | None):
    """A revision of the default base with a real (tiny) MLX adapter and a loss curve."""
    rng = np.random.default_rng(seed)
    staged = reg.stage()
    (staged / "mlx").mkdir()
    save_file({"model.layers.0.self_attn.q_proj.lora_a": rng.standard_normal((8, 2), np.float32),
               "model.layers.0.self_attn.q_proj.lora_b": rng.standard_normal((2, 8), np.float32)},
              str(staged / WEIGHTS))  # fmt: skip
    if loss is not None:
        (staged / "loss.json").write_text(json.dumps(loss))
    base = catalog.resolve(None)
    manifest = Manifest(base=_identity(base), formats={"mlx": "mlx"}, verdict=Verdict(True),
                        config={"rank": 2, "seed": seed})  # fmt: skip
    return reg.commit(staged, manifest)


def _identity(base):
    from personal.adapters.manifest import BaseIdentity

    return BaseIdentity(base.name, "llama", base.fingerprint)


def test_adapters_show_draws_the_loss_curve_and_diff_json():
    reg = Registry()
    loss = {"train": [[i, 3.0 - 0.05 * i] for i in range(1, 31)], "val": [[10, 2.7], [30, 2.1]]}
    a, b = revision(reg, 1, loss), revision(reg, 2, None)
    r = runner.invoke(adapters_cmd.app, ["show", a.id[:8]])
    assert r.exit_code == 0, r.output
    assert "train" in r.output and "validation" in r.output and "step" in r.output
    assert any("\u2800" <= ch <= "\u28ff" for ch in r.output)  # the braille line
    assert "final loss train 1.500, validation 2.100 at step 30" in r.output
    shown = json.loads(runner.invoke(adapters_cmd.app, ["show", "--json", a.id[:8]]).output)
    assert shown["loss"] == loss
    assert "none recorded" in runner.invoke(adapters_cmd.app, ["show", b.id[:8]]).output
    diff = json.loads(runner.invoke(adapters_cmd.app, ["diff", "--json", a.id[:8], b.id[:8]]).output)
    assert (diff["a"], diff["b"]) == (a.id, b.id)
    assert diff["changed"]["config"]["seed"] == [1, 2] and diff["weights_delta"] > 0


def test_train_shows_stages_with_loss_speed_and_time_left():
    buffer = io.StringIO()
    view = train_cmd.StageView(Console(file=buffer, width=140, force_terminal=True))
    with view:
        view.on_stage("distill")
        view.on_stage("train")
        view.on_progress(events.Started(iters=40, step=0, examples=30, val_examples=4))
        for step in range(1, 21):
            view.on_progress(events.Step(step, 40, 2.0 - step / 100, step * 50, step * 80, 41.0))
            if step == 10:
                view.on_progress(events.Validated(step, 1.95))
            time.sleep(0.01)
        training = view.progress.tasks[view.task]
        assert training.fields["info"] == "step 20/40  loss 1.800  val 1.950  41 tok/s"
        assert 0 < training.time_remaining < 5  # half done at ~0.01 s a step
        for name in ("export", "equivalence", "gate"):
            view.on_stage(name)
    text = buffer.getvalue()
    for number, name in enumerate(["distill", "train", "export", "equivalence", "gate"], 1):
        assert f"{number}/6 {name}" in text
    assert "41 tok/s" in text and "left" in text
    assert set(view.timings) == {"distill", "train", "export", "equivalence", "gate"}


def test_train_progress_in_a_log_is_one_plain_line_per_stage():
    buffer = io.StringIO()
    view = train_cmd.StageView(Console(file=buffer, width=80))  # not a terminal
    with view:
        view.on_stage("distill")
        view.on_stage("train")
        view.on_progress(events.Started(iters=50, step=0, examples=3, val_examples=1))
        view.on_progress(events.Validated(50, 0.761))
        view.on_progress(events.Step(50, 50, 0.466, 10, 10, 23.0))
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("✓ 1/6 distill  (")
    assert lines[1].startswith("✓ 2/6 train  step 50/50  loss 0.466  val 0.761  23 tok/s  (")
    assert len(lines) == 2 and "━" not in buffer.getvalue()


def test_train_json_is_the_outcome(monkeypatch):
    from personal.learn import pipeline
    from personal.learn.dataset import Dataset

    def fake_train_once(**kwargs):
        kwargs["on_stage"]("distill")
        return pipeline.Outcome(Dataset(Path("/nowhere"), "d" * 64, {"counts": {"train": {}}}))

    monkeypatch.setattr(pipeline, "train_once", fake_train_once)
    r = runner.invoke(app, ["train", "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out == {"dry_run": True, "dataset": {"hash": "d" * 64, "counts": {"train": {}}},
                   "stages_s": {"distill": out["stages_s"]["distill"]}}  # fmt: skip


def test_daemon_logs_follow_across_rotation(tmp_path):
    path = tmp_path / "daemon.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=400, backupCount=2)
    logger = logging.getLogger("rotation-test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.info("before 0")
    shown, fp = last_lines(path, 5)
    assert shown == ["before 0\n"]
    seen, done = [], threading.Event()
    reader = threading.Thread(target=lambda: seen.extend(
        follow(path, fp, stop=done.is_set, poll=0.01)))  # fmt: skip
    reader.start()
    for i in range(60):  # ~15 rotations of a 400-byte log
        logger.info("line %02d %s", i, "x" * 20)
        time.sleep(0.002)
    deadline = time.monotonic() + 10
    while len(seen) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    reader.join(timeout=5)
    handler.close()
    assert [line.split()[1] for line in seen] == [f"{i:02d}" for i in range(60)]
