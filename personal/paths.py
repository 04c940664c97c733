"""Where `personal` keeps its files.

Everything the app writes lives under one directory: `$PERSONAL_HOME` if set, otherwise
the platform's user data directory (`$XDG_DATA_HOME/personal` on Linux, ~/Library/Application
Support/personal on macOS), as platformdirs defines it.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "personal"


def home() -> Path:
    """The root of everything `personal` writes (created on first use)."""
    override = os.environ.get("PERSONAL_HOME")
    root = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP))
    root.mkdir(parents=True, exist_ok=True)
    return root


def sub(*parts: str) -> Path:
    """A directory under `home()`, created on first use."""
    path = home().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_db() -> Path:
    return home() / "log.db"


def cache_dir() -> Path:
    return sub("cache")


def models_dir() -> Path:
    """Where converted/assembled model files are kept."""
    return sub("models")
