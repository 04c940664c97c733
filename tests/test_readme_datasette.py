"""The README's Datasette example, run on a real log (datasette is a dev dependency)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from personal.log import Log
from personal.log.transfer import import_file

ROOT = Path(__file__).parents[1]


def test_the_log_is_a_plain_sqlite_file_datasette_reads(personal_home):
    pytest.importorskip("datasette")
    readme = (ROOT / "README.md").read_text()
    query = re.search(r'--get \\\n\s+"(?P<q>[^"]+)"\n# (?P<out>.+)', readme)
    assert query, "the README's datasette example moved: update this test"
    with Log() as log:
        import_file(log, ROOT / "tests/data/exports/chatgpt/librechat-chatgpt-tree.json")
        path = log.path
    run = subprocess.run([str(Path(sys.executable).parent / "datasette"), str(path), "--get",
                          query["q"]], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == json.loads(query["out"])
