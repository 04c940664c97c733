"""docs/cli.md is generated from the CLI itself; it must not drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current(tmp_path):
    out = tmp_path / "cli.md"
    typer = Path(sys.executable).parent / "typer"
    subprocess.run(
        [str(typer), "personal.cli.main", "utils", "docs", "--name", "personal",
         "--title", "CLI reference", "--output", str(out)],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    assert out.read_text() == (ROOT / "docs" / "cli.md").read_text(), "run ./dev docs"
