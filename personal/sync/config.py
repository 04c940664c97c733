"""Where the device's sync settings live: `$PERSONAL_HOME/sync.json`, mode 0600.

    {"url": "https://host.example:8341", "token": "pt_...", "route": "never"}

`route` is the large-model rule for `personal ask` and the chat: "never" (answer locally),
"always" (send every request to the host), or "fit" (send it only when the prompt does
not fit the local model's context).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from personal import paths
from personal.errors import PersonalError

ROUTES = ("never", "always", "fit")


class NotLoggedIn(PersonalError):
    pass


class BadSyncConfig(PersonalError):
    pass


@dataclass(frozen=True)
class SyncConfig:
    url: str
    token: str
    route: str = "never"


def config_path() -> Path:
    return paths.home() / "sync.json"


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadSyncConfig(f"{url!r} is not a host URL",
                            hint="give it as http(s)://host[:port]")  # fmt: skip
    return url.strip().rstrip("/")


def load() -> SyncConfig | None:
    """The saved settings, or None when this device has not logged in to a host."""
    path = config_path()
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        config = SyncConfig(str(data["url"]), str(data["token"]), str(data.get("route", "never")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BadSyncConfig(f"{path} cannot be read ({e})",
                            hint="log in again: personal sync login URL --token T") from None  # fmt: skip
    if config.route not in ROUTES:
        raise BadSyncConfig(f"{path}: route {config.route!r} is not one of {', '.join(ROUTES)}",
                            hint="personal sync route never|always|fit")  # fmt: skip
    return config


def require() -> SyncConfig:
    config = load()
    if config is None:
        raise NotLoggedIn("this device is not logged in to a host",
                          hint="personal sync login URL --token T (the host's operator gives "
                          "you the token: personal host tenant add NAME)")  # fmt: skip
    return config


def save(config: SyncConfig) -> Path:
    """Write the settings readable by this user only (the token is a secret)."""
    path = config_path()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(config), f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    os.chmod(path, 0o600)
    return path
