"""When the learning loop may run: enough new data, an idle machine, mains power."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from personal.log import Log


@dataclass(frozen=True)
class DaemonConfig:
    schedule: str = field(default="30 3 * * *", metadata={"help": "Cron expression (local time)."})
    min_new_messages: int = field(
        default=20, metadata={"help": "User messages logged since the current revision."}
    )
    max_load: float = field(
        default=0.5, metadata={"help": "Idle means the 1-minute load per core is below this."}
    )
    require_mains: bool = field(
        default=True, metadata={"help": "Skip while on battery (where the platform can tell)."}
    )
    model: str | None = field(default=None, metadata={"help": "Base model (default: the default)."})


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str


def new_user_messages(log: Log, since: str | None) -> int:
    """User messages logged after `since` (all of them when None)."""
    with log.locked() as db:
        sql = "SELECT COUNT(*) FROM messages WHERE role = 'user'"
        args: list = []
        if since:
            sql += " AND created_at > ?"
            args.append(since)
        return int(db.execute(sql, args).fetchone()[0])


def enough_data(log: Log, since: str | None, needed: int) -> Check:
    n = new_user_messages(log, since)
    return Check(n >= needed, f"{n} new user messages (need {needed})")


def idle(max_load: float) -> Check:
    try:
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:  # not available on this platform: assume idle
        return Check(True, "load unknown")
    return Check(load < max_load, f"load {load:.2f} per core (limit {max_load})")


def on_mains(power_dir: Path = Path("/sys/class/power_supply")) -> Check:
    """True unless the platform says we run on battery."""
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["pmset", "-g", "batt"], capture_output=True, text=True,
                                 timeout=5).stdout  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return Check(True, "power source unknown")
        return Check("AC Power" in out, "on AC power" if "AC Power" in out else "on battery")
    if not power_dir.is_dir():
        return Check(True, "power source unknown (assumed mains)")

    def read(p: Path, name: str) -> str:
        f = p / name
        return f.read_text().strip() if f.exists() else ""

    supplies = list(power_dir.iterdir())
    if any(read(p, "type") == "Mains" and read(p, "online") == "1" for p in supplies):
        return Check(True, "on mains power")
    if any(read(p, "type") == "Battery" and read(p, "status") == "Discharging" for p in supplies):
        return Check(False, "on battery")
    return Check(True, "power source unknown (assumed mains)")
