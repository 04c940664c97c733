"""Date and time tools: `now`, `date_add`, `date_diff`.

Small models cannot know today's date and are bad at calendar arithmetic; these answer
both exactly. Dates are ISO (2025-03-31) or today/tomorrow/yesterday, in local time.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from personal.errors import ToolError
from personal.tools.base import Tool, params

Clock = Callable[[], datetime]  # returns an aware datetime
DATE_HINT = "write dates as YYYY-MM-DD (e.g. 2025-03-31), or today, tomorrow, yesterday"
RELATIVE = {"today": 0, "tomorrow": 1, "yesterday": -1}


def local_now() -> datetime:
    return datetime.now().astimezone()


def parse_date(text: str, today: date) -> date:
    word = text.strip().lower()
    if word in RELATIVE:
        return today + timedelta(days=RELATIVE[word])
    try:
        return date.fromisoformat(word)
    except ValueError:
        pass
    try:  # a full timestamp is fine too: its date is meant
        return datetime.fromisoformat(text.strip()).date()
    except ValueError as e:
        raise ToolError(f"{text!r} is not a date ({e})", hint=DATE_HINT) from None


def add_months(day: date, months: int) -> date:
    """Calendar months later (or earlier); Jan 31 + 1 month is the last day of February."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ToolError("the resulting date is out of range (years 1 to 9999)")
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def describe(day: date) -> str:
    return f"{day.isoformat()} ({day.strftime('%A')})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if abs(n) == 1 else 's'}"


def _now(args: dict, clock: Clock) -> str:
    moment = clock()
    name = args.get("timezone")
    if name:
        try:
            moment = moment.astimezone(ZoneInfo(name.strip()))
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder
            raise ToolError(
                f"unknown time zone {name!r}",
                hint="use an IANA name such as Europe/Paris, America/New_York or UTC",
            ) from None
    offset = moment.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "local time"
    zone = f"{name.strip()}, " if name else ""
    return f"{moment:%A %Y-%m-%d %H:%M:%S} ({zone}{moment.tzname()}, {offset})"


def _date_add(args: dict, clock: Clock) -> str:
    start = parse_date(args["date"], clock().date())
    months = args.get("months", 0) + 12 * args.get("years", 0)
    days = args.get("days", 0) + 7 * args.get("weeks", 0)
    try:
        result = add_months(start, months) + timedelta(days=days)
    except OverflowError:
        raise ToolError("the resulting date is out of range (years 1 to 9999)") from None
    return describe(result)


def _date_diff(args: dict, clock: Clock) -> str:
    today = clock().date()
    start, end = parse_date(args["start"], today), parse_date(args["end"], today)
    days = (end - start).days
    weeks, rest = divmod(abs(days), 7)
    span = f"{_plural(weeks, 'week')} and {_plural(rest, 'day')}"
    direction = "" if days >= 0 else ", end is before start"
    return f"{_plural(days, 'day')} ({span}{direction}) from {describe(start)} to {describe(end)}"


def date_tools(clock: Clock = local_now) -> list[Tool]:
    """The date tools; `clock` is injectable so tests can fix "today"."""
    day = {"type": "string", "description": "YYYY-MM-DD, or today / tomorrow / yesterday"}
    count = {"type": "integer", "description": "may be negative"}
    return [
        Tool(
            name="now",
            description="The current date, weekday and time, locally or in a time zone.",
            parameters=params(
                timezone={"type": "string", "description": "IANA name, e.g. Europe/Paris"}
            ),
            run=lambda args: _now(args, clock),
        ),
        Tool(
            name="date_add",
            description="Add days, weeks, months or years to a date (negative to go back); "
            "month arithmetic stops at the month's end (Jan 31 + 1 month = Feb 28/29).",
            parameters=params(
                ["date"], date=day, days=count, weeks=count, months=count, years=count
            ),
            run=lambda args: _date_add(args, clock),
        ),
        Tool(
            name="date_diff",
            description="The number of days (and weeks and days) from one date to another.",
            parameters=params(["start", "end"], start=day, end=day),
            run=lambda args: _date_diff(args, clock),
        ),
    ]
