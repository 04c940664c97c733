"""Test set-up shared by every test.

Every test gets its own PERSONAL_HOME (nothing touches the real user directory), and
OMP_WAIT_POLICY=PASSIVE is set before llama.cpp can be imported.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def personal_home(tmp_path, monkeypatch):
    home = tmp_path / "personal-home"
    monkeypatch.setenv("PERSONAL_HOME", str(home))
    return home


@pytest.fixture
def log(tmp_path):
    """A real conversation log in the test's temp dir."""
    from personal.log import Log

    with Log(tmp_path / "log.db") as log:
        yield log
