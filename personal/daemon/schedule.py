"""The daemon's schedule: a cron expression that `daemon run`, `daemon install` (systemd,
launchd) and `daemon status` all read the same way — or a refusal that says why.

Only the plain five-field form is accepted: numbers, names, `*`, lists, ranges and steps.
Everything else would change meaning on the way to systemd or launchd, silently:
- day of month and day of week both restricted ("0 3 1 * 1"): cron runs when EITHER
  matches, systemd's OnCalendar only when BOTH do;
- cron extensions (`L`, `W`, `#`, `?`): the expansion drops them ("5#2", the second
  Friday, became every Friday);
- a sixth (seconds) or seventh (year) field: dropped by the conversion;
- `@reboot`: not a time. `@daily`, `@hourly`, ... are read as their five fields.
"""

from __future__ import annotations

import re
from datetime import datetime

from croniter import croniter

from personal.errors import PersonalError

NICKNAMES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
             "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
             "@hourly": "0 * * * *"}  # fmt: skip
_ITEM = r"(\*|([0-9]+|[a-z]{3})(-([0-9]+|[a-z]{3}))?)(/[0-9]+)?"  # 5, mon, 1-5, */2, jun-aug
FIELD = re.compile(rf"^{_ITEM}(,{_ITEM})*$")
EXAMPLE = 'five fields: minute hour day-of-month month day-of-week, e.g. "30 3 * * *"'


class BadSchedule(PersonalError):
    pass


def fields(schedule: str) -> list[list[int | str]]:
    """The expanded five fields of a schedule every consumer reads the same way; raises
    BadSchedule (with the reason) for anything else."""
    text = " ".join(str(schedule).split()).lower()
    text = NICKNAMES.get(text, text)
    parts = text.split(" ")
    if text.startswith("@"):
        raise BadSchedule(f"{schedule!r} is not a time of day", hint=EXAMPLE)
    if len(parts) != 5:
        raise BadSchedule(f"{schedule!r} is not a five-field cron expression ({len(parts)} "
                          "fields; seconds and years are not supported)", hint=EXAMPLE)  # fmt: skip
    for part in parts:
        if not FIELD.match(part):
            raise BadSchedule(f"{schedule!r}: {part!r} uses cron syntax that systemd and "
                              "launchd cannot express (L, W, #, ?)", hint=EXAMPLE)  # fmt: skip
    if not croniter.is_valid(text):
        raise BadSchedule(f"not a cron expression: {schedule!r}", hint=EXAMPLE)
    if parts[2] != "*" and parts[4] != "*":
        raise BadSchedule(
            f"{schedule!r} restricts both the day of the month and the day of the week: cron "
            "runs when either matches, systemd only when both do",
            hint="restrict only one of them (two schedules can be two cron lines elsewhere)",
        )
    return [list(f) for f in croniter(text).expanded[:5]]


def normal(schedule: str) -> str:
    """The schedule as five plain fields (a nickname expanded), after checking it."""
    fields(schedule)
    text = " ".join(str(schedule).split()).lower()
    return NICKNAMES.get(text, text)


def next_run(schedule: str, after: datetime | None = None) -> datetime:
    return croniter(normal(schedule), after or datetime.now().astimezone()).get_next(datetime)
