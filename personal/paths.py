"""Where `personal` keeps its files.

Everything the app writes lives under one directory: `$PERSONAL_HOME` if set, otherwise
the platform's user data directory (`$XDG_DATA_HOME/personal` on Linux, ~/Library/Application
Support/personal on macOS), as platformdirs defines it. It and every directory under it
that personal makes are private to the user (0700), whatever the umask.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from personal.fileio import private_dir

APP = "personal"


def home() -> Path:
    """The root of everything `personal` writes (created on first use)."""
    override = os.environ.get("PERSONAL_HOME")
    root = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP))
    return private_dir(root)


def sub(*parts: str) -> Path:
    """A directory under `home()`, created on first use."""
    return private_dir(home().joinpath(*parts))


def log_db() -> Path:
    return home() / "log.db"


def cache_dir() -> Path:
    return sub("cache")


def models_dir() -> Path:
    """Where converted/assembled model files are kept."""
    return sub("models")
