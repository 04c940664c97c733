"""Import → export → import round-trips on every real export in tests/data/exports: what
was imported comes back the same from personal's own JSONL export, in a fresh log."""

from __future__ import annotations

from pathlib import Path

import pytest

from personal.log import Log
from personal.log.transfer import export_jsonl, import_file

EXPORTS = Path(__file__).parent / "data" / "exports"
REAL = sorted(p for p in EXPORTS.glob("*/*") if p.parent.name != "other" and p.suffix != ".md")


def contents(log: Log) -> list:
    out = []
    for c in sorted(log.conversations(), key=lambda c: c.id):
        messages = [(m.id, m.role, m.content, m.tool_calls, m.tool_call_id, m.status, m.model,
                     m.created_at, log.answer_state(m.id)) for m in log.messages(c.id)]  # fmt: skip
        out.append((c.id, c.title, c.source, c.created_at, c.meta, c.tools, messages))
    return out


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_import_export_import(tmp_path, path):
    exported = tmp_path / "export.jsonl"
    with Log(tmp_path / "first.db") as first:
        report = import_file(first, path)
        assert report.conversations > 0
        with exported.open("w", encoding="utf-8") as fp:
            assert export_jsonl(first, fp) == report.conversations
        before = contents(first)
    with Log(tmp_path / "second.db") as second:
        again = import_file(second, exported)
        assert (again.conversations, again.messages) == (report.conversations, report.messages)
        assert contents(second) == before
        assert import_file(second, exported).messages == 0  # and once is enough
