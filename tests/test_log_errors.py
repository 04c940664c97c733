"""SQLite errors are classified by their result code, never by words of the message.

A search for `malformed:x` once told the person their log was damaged and to move it
aside (an FTS query error quotes the query: "no such column: malformed"); `disk:x` said
the disk was full. Query errors are query errors: the words are searched as a phrase.
"""

from __future__ import annotations

import sqlite3

import pytest

from personal.errors import DatabaseCorrupt, DatabaseLocked, LogError
from personal.log.connection import translate
from personal.log.notes import Notes
from personal.tools import ToolRegistry
from personal.tools.notes import notes_tools

TRAPS = ["malformed:x", "disk:x", "readonly:x", '"database is locked":x',
         '"file is not a database":x', '"unable to open database file":x', "malformed AND",
         "disk NEAR(", 'not a database "']  # fmt: skip


@pytest.mark.parametrize("query", TRAPS)
def test_search_queries_that_quote_error_words_are_query_errors(log, query):
    conv = log.create_conversation()
    log.append(conv.id, {"role": "user", "content": "the disk is malformed, not a database"})
    hits = log.search(query)  # a phrase search for the words, not a LogError
    assert all(h.message.conversation_id == conv.id for h in hits)


@pytest.mark.parametrize("query", TRAPS)
def test_recall_queries_that_quote_error_words_are_query_errors(log, query):
    Notes(log).add("the disk is malformed")
    result = ToolRegistry(notes_tools(log)).call("recall", {"query": query})
    assert result.ok, result.error


def test_the_cli_search_says_nothing_about_a_damaged_log(tmp_path, personal_home):
    import subprocess
    import sys

    from personal.log import Log

    with Log() as log:
        log.append(log.create_conversation().id, {"role": "user", "content": "malformed x"})
    run = subprocess.run([sys.executable, "-m", "personal.cli.main", "log", "search",
                          "malformed:x"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "damaged" not in run.stderr + run.stdout and "mv " not in run.stderr


def error(message: str, code: int | None) -> sqlite3.Error:
    e = sqlite3.OperationalError(message)
    if code is not None:
        e.sqlite_errorcode = code
    return e


@pytest.mark.parametrize("message, code, kind", [
    ("no such column: malformed", 1, None),
    ("no such column: disk", 1, None),
    ("fts5: syntax error near \"locked\"", 1, None),
    ("database disk image is malformed", 11, DatabaseCorrupt),
    ("file is not a database", 26, DatabaseCorrupt),
    ("database is locked", 5, DatabaseLocked),
    ("database or disk is full", 13, LogError),
    ("database is locked", None, DatabaseLocked),  # no code (Python 3.10): the whole text
    ("no such column: database is locked", None, None),
])  # fmt: skip
def test_translation_goes_by_code(tmp_path, message, code, kind):
    translated = translate(tmp_path / "log.db", error(message, code))
    assert type(translated) is kind if kind else translated is None
