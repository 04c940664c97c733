"""The CLI as a person runs it: a real process, real model where it matters, real SQLite."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from personal.log import Log


def cli(*args: str, input: str | None = None, env: dict | None = None, timeout: float = 120):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "personal.cli.main", *args],
        input=input, capture_output=True, text=True, env=full_env, timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )  # fmt: skip


FAKE = {"PERSONAL_BACKEND": "fake"}


def assert_clean_error(result, *needles: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr and "hint:" in result.stderr
    for needle in needles:
        assert needle in result.stderr


@pytest.mark.model
def test_ask_answers_from_the_default_model_and_logs_the_turn():
    r = cli("ask", "What is the capital of France?", "--temperature", "0", "--max-tokens", "32")
    assert r.returncode == 0, r.stderr
    assert "Paris" in r.stdout
    listing = cli("log", "list")
    assert "What is the capital of France?" in listing.stdout


@pytest.mark.model
def test_ask_json_is_one_object_with_provenance():
    r = cli("ask", "--json", "--temperature", "0", "--max-tokens", "16", "Say hello.")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["message"]["role"] == "assistant" and out["message"]["content"]
    assert out["model"] == "smollm2-135m" and out["adapter"] is None
    assert out["backend"] == "llama.cpp" and len(out["model_fingerprint"]) == 64
    assert out["status"] == "complete" and out["usage"]["completion_tokens"] > 0
    with Log() as log:
        assert log.conversation(out["conversation_id"]).message_count == 3


def test_ask_reads_piped_stdin_and_continues_a_conversation():
    first = json.loads(cli("ask", "--json", "Summarize:", input="piped text\n", env=FAKE).stdout)
    assert first["message"]["content"] == "You said: Summarize:\n\npiped text"
    conv = first["conversation_id"]
    second = json.loads(cli("ask", "--json", "-c", conv[:6], "more", env=FAKE).stdout)
    assert second["conversation_id"] == conv
    with Log() as log:
        assert [m.role for m in log.messages(conv)] == ["system", "user", "assistant"] * 1 + [
            "user", "assistant"]  # fmt: skip


def test_ask_without_a_prompt_says_what_to_do():
    assert_clean_error(cli("ask", env=FAKE), "nothing to ask")


def test_bad_model_references_are_clear_errors(tmp_path):
    assert_clean_error(cli("ask", "--model", "nope", "hi"), "unknown model 'nope'")
    assert_clean_error(cli("ask", "--model", str(tmp_path / "gone.gguf"), "hi"), "not found")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all" * 100)
    assert_clean_error(cli("models", "show", str(junk)), "not a readable GGUF")
    assert_clean_error(cli("ask", "-c", "zzzzzz", "hi", env=FAKE), "zzzzzz")


def test_corrupt_and_locked_databases_are_clear_errors(personal_home):
    personal_home.mkdir(parents=True, exist_ok=True)
    db = personal_home / "log.db"
    with Log(db) as log:
        log.create_conversation(title="keep me")
    holder = sqlite3.connect(db)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert_clean_error(cli("ask", "hi", env=FAKE), "locked")
    finally:
        holder.rollback()
        holder.close()
    assert "keep me" in cli("log", "list").stdout  # nothing lost
    other = personal_home / "other"
    other.mkdir()
    (other / "log.db").write_bytes(b"\x00garbage" * 4096)
    assert_clean_error(cli("log", "list", env={"PERSONAL_HOME": str(other)}), "mv ")


@pytest.mark.model
def test_ctrl_c_mid_stream_keeps_the_partial_answer():
    proc = subprocess.Popen(
        [sys.executable, "-m", "personal.cli.main", "ask", "--temperature", "0",
         "--max-tokens", "400", "Write a long, detailed story about a lighthouse keeper."],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout.read(12)  # the answer has started streaming
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    with Log() as log:
        conv = log.conversations()[0]
        answer = log.messages(conv.id)[-1]
    assert answer.status == "interrupted"
    assert len(answer.content) >= 12 and answer.completion_tokens < 400


def test_log_export_forget_import_round_trip(tmp_path):
    for q in ("first question", "second question"):
        cli("ask", q, env=FAKE)
    out = tmp_path / "all.jsonl"
    assert cli("log", "export", "-o", str(out)).returncode == 0
    assert len(out.read_text().splitlines()) == 2
    assert cli("log", "search", "second").stdout.count("second") >= 1
    refused = cli("log", "forget", "--all")
    assert_clean_error(refused, "--yes")
    assert cli("log", "forget", "--all", "--yes").returncode == 0
    assert "empty" in cli("log", "list").stdout
    r = cli("import", str(out))
    assert r.returncode == 0 and "imported 2 conversations" in r.stdout
    assert "first question" in cli("log", "list").stdout
    assert "skipped 2" in cli("import", str(out)).stdout


def test_a_malformed_import_names_the_line_and_imports_nothing(tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = {"messages": [{"role": "user", "content": "hi"}]}
    bad.write_text(json.dumps(good) + "\n" + '{"messages": [{"role": "wizard"}]}\n')
    assert_clean_error(cli("import", str(bad)), "bad.jsonl:2")
    assert "empty" in cli("log", "list").stdout


@pytest.mark.model
def test_models_list_show_and_default():
    listing = cli("models", "list")
    assert "smollm2-135m" in listing.stdout and "gemma3-270m" in listing.stdout
    shown = json.loads(cli("models", "show", "--json").stdout)
    assert shown["name"] == "smollm2-135m" and shown["default"] is True
    assert shown["architecture"] == "llama" and len(shown["fingerprint"]) == 64
    assert cli("models", "default").stdout.strip() == "smollm2-135m"
    assert_clean_error(cli("models", "default", "nope"), "unknown model")


@pytest.mark.parametrize("args", [["--help"], ["log", "--help"], ["models", "--help"]])
def test_help_exits_zero(args):
    r = cli(*args)
    assert r.returncode == 0 and "Usage" in r.stdout
