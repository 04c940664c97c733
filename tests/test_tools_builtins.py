"""The built-in tools: calc, the date tools, convert_units and the notes tools."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from personal.errors import ToolError
from personal.log import Log
from personal.tools import ToolRegistry
from personal.tools.calc import calc_tool, evaluate
from personal.tools.dates import date_tools
from personal.tools.notes import notes_tools
from personal.tools.units import convert


# --- calc ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expression, expected",
    [
        ("17*23", "391"),
        ("2 ^ 10", "1024"),
        ("(1 + 2) * -3", "-9"),
        ("0.1 + 0.2", "0.3"),
        ("10 / 4", "2.5"),
        ("7 // 2 + 7 % 2", "4"),
        ("sqrt(16) + abs(-2) + floor(2.7) + ceil(0.2)", "9"),
        ("round(pi, 3)", "3.142"),
        ("max(1, 5, 3) - min(4, 2)", "3"),
        ("log(8, 2)", "3"),
        ("sin(pi / 2) + cos(0)", "2"),
        ("2 ** -2", "0.25"),
        ("+".join(["1"] * 200), "200"),  # long sums nest deep in the tree, and are fine
        ("17 × 3", "51"),
    ],
)
def test_calc_computes(expression, expected):
    assert ToolRegistry([calc_tool()]).call("calc", {"expression": expression}).content == expected


@pytest.mark.parametrize(
    "expression, message",
    [
        ("__import__('os')", "names are not allowed: __import__"),
        ("(1).__class__", "attributes are not allowed: .__class__"),
        ("().__class__.__bases__[0].__subclasses__()", "attributes are not allowed"),
        ("open('/etc/passwd')", "names are not allowed: open"),
        ("x + 1", "names are not allowed: x"),
        ("lambda: 1", "'lambda' is not allowed"),
        ("[1, 2]", "'list' is not allowed"),
        ("'a' * 3", "only numbers are allowed"),
        ("True + 1", "only numbers are allowed"),
        ("sqrt", "sqrt is a function"),
        ("9**9**9", "too large"),
        ("2 ** 100000", "too large"),
        ("10.0 ** 400", "too large"),
        ("exp(1000)", "too large"),
        ("1e999", "too large"),
        ("round(5, -10**9)", "between -100 and 100"),
        ("-" * 900 + "1", "nested too deeply"),
        ("(" * 300 + "1" + ")" * 300, "not a valid expression"),
        ("1 / 0", "division by zero"),
        ("sqrt(-1)", "not defined"),
        ("(-8) ** (1/3)", "not a real number"),
        ("sqrt(1, 2)", "wrong number of arguments"),
        ("1 +", "not a valid expression"),
        ("", "empty"),
    ],
)
def test_calc_refuses(expression, message):
    with pytest.raises(ToolError, match=message.replace("(", r"\(").replace("[", r"\[")):
        evaluate(expression)


# --- dates -----------------------------------------------------------------------------
FIXED = datetime(2024, 1, 31, 15, 4, 5, tzinfo=timezone.utc)


@pytest.fixture
def dates() -> ToolRegistry:
    return ToolRegistry(date_tools(clock=lambda: FIXED))


def test_now_locally_and_in_a_time_zone(dates):
    assert dates.call("now", {}).content == "Wednesday 2024-01-31 15:04:05 (UTC, UTC+00:00)"
    paris = dates.call("now", {"timezone": "Europe/Paris"}).content
    assert paris == "Wednesday 2024-01-31 16:04:05 (Europe/Paris, CET, UTC+01:00)"
    bad = dates.call("now", {"timezone": "Mars/Olympus"})
    assert not bad.ok and "unknown time zone 'Mars/Olympus'" in bad.error
    assert "IANA" in bad.error


@pytest.mark.parametrize(
    "args, expected",
    [
        ({"date": "2024-01-31", "months": 1}, "2024-02-29 (Thursday)"),  # leap year, clamped
        ({"date": "2023-01-31", "months": 1}, "2023-02-28 (Tuesday)"),
        ({"date": "2024-02-29", "years": 1}, "2025-02-28 (Friday)"),
        ({"date": "2024-03-31", "months": -1}, "2024-02-29 (Thursday)"),
        ({"date": "today", "days": 1}, "2024-02-01 (Thursday)"),
        ({"date": "tomorrow", "weeks": 2}, "2024-02-15 (Thursday)"),
        ({"date": "Yesterday"}, "2024-01-30 (Tuesday)"),
        ({"date": "2024-12-31", "days": "1"}, "2025-01-01 (Wednesday)"),  # "1" coerced
    ],
)
def test_date_add(dates, args, expected):
    assert dates.call("date_add", args).content == expected


def test_date_diff(dates):
    assert dates.call("date_diff", {"start": "2024-01-01", "end": "2024-03-01"}).content == (
        "60 days (8 weeks and 4 days) from 2024-01-01 (Monday) to 2024-03-01 (Friday)"
    )
    back = dates.call("date_diff", {"start": "today", "end": "yesterday"}).content
    assert back.startswith("-1 day (0 weeks and 1 day, end is before start)")


@pytest.mark.parametrize(
    "tool, args, message",
    [
        ("date_add", {"date": "2024-02-30"}, "'2024-02-30' is not a date"),
        ("date_add", {"date": "next friday"}, "YYYY-MM-DD"),
        ("date_add", {"date": "9999-12-01", "months": 1}, "out of range"),
        ("date_add", {"date": "2024-01-01", "days": 10**12}, "out of range"),
        ("date_diff", {"start": "2024-13-01", "end": "today"}, "is not a date"),
    ],
)
def test_bad_dates(dates, tool, args, message):
    result = dates.call(tool, args)
    assert not result.ok and message in result.error


# --- units -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, source, target, expected",
    [
        (5, "mi", "km", "5 mi = 8.04672 km"),
        (100, "C", "F", "100 C = 212 F"),  # C and F mean temperatures here, not coulomb/farad
        (0, "kelvin", "degC", "0 kelvin = -273.15 degC"),
        (98.6, "°F", "celsius", "98.6 °F = 37 celsius"),
        (2, "GiB", "MB", "2 GiB = 2147.483648 MB"),
        (1, "kg", "lb", "1 kg = 2.204622622 lb"),
        (1, "gallon", "l", "1 gallon = 3.785411784 l"),
        (90, "km/h", "mph", "90 km/h = 55.9234073 mph"),
        (1.5, "hour", "min", "1.5 hour = 90 min"),
    ],
)
def test_convert_units(value, source, target, expected):
    assert convert(value, source, target) == expected


@pytest.mark.parametrize(
    "source, target, message",
    [
        ("m", "kg", "cannot convert 'm' (length) to 'kg' (mass)"),
        ("MB", "percent", "cannot convert 'MB' (data size) to 'percent' (dimensionless)"),
        ("furlongz", "m", "unknown unit 'furlongz' (from_unit)"),
        ("m", "__class__", "unknown unit '__class__' (to_unit)"),
        ("3 m", "km", "numbers go in 'value'"),
    ],
)
def test_convert_units_refuses(source, target, message):
    with pytest.raises(ToolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        convert(1, source, target)


# --- notes -----------------------------------------------------------------------------
def test_notes_tools(tmp_path):
    with Log(tmp_path / "log.db") as log:
        registry = ToolRegistry(notes_tools(log))
        assert not registry.get("remember").side_effects  # only the person's own database
        assert registry.call("list_notes", {}).content == "There are no notes yet."
        saved = registry.call("remember", {"text": "My locker is number 12", "tags": ["gym"]})
        assert saved.ok and saved.content.startswith("Remembered (note ")
        registry.call("remember", {"text": "Dentist on Friday"})
        found = registry.call("recall", {"query": "locker"}).content
        assert "My locker is number 12 [gym]" in found and "Dentist" not in found
        assert registry.call("recall", {"query": "piano"}).content == "No notes match 'piano'."
        listed = registry.call("list_notes", {"limit": 1}).content.splitlines()
        assert len(listed) == 1 and "Dentist on Friday" in listed[0]  # newest first
        empty = registry.call("remember", {"text": "   "})
        assert not empty.ok and "nothing to remember" in empty.error
        assert not registry.call("list_notes", {"limit": 0}).ok
