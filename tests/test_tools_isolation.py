"""Tools that compute on what the model chooses run where they can be killed.

The unit tool once handed "m**9**9**9" to pint, which computed the power holding the GIL:
the tool's thread timeout never fired and the chat froze. Now unit strings are checked
before pint sees them, and `isolated` tools run in a worker process killed at the timeout.
"""

from __future__ import annotations

import threading
import time

import pytest

from personal.errors import ToolError
from personal.tools import ToolRegistry, params
from personal.tools.base import Tool
from personal.tools.load import builtin_tools
from personal.tools.units import check_unit_text


def power_tower(args: dict) -> str:
    """Holds the GIL for minutes, like pint evaluating an exponent tower."""
    return str(len(str(9 ** 9 ** args["n"])))


def echo(args: dict) -> str:
    return args["text"]


def tower_tool(timeout: float) -> Tool:
    return Tool("tower", "holds the GIL", params(["n"], n={"type": "integer"}), power_tower,
                timeout=timeout, isolated=True)  # fmt: skip


@pytest.mark.parametrize("unit", ["m**9**9**9", "m^9^9", "(m)**2**2", "9**9**9", "1e999 m",
                                  "m⁹⁹⁹", "m**٩", "(((((m)))))", "m" * 61])  # fmt: skip
def test_unit_strings_that_would_compute_are_refused_before_pint(unit):
    with pytest.raises(ToolError, match="unknown unit"):
        check_unit_text(unit, "from_unit")


@pytest.mark.parametrize("unit", ["m", "km/h", "m^2", "m**-1", "(m/s)**2", "m²", "°C",
                                  "µm", "square meter", "kilometer per hour", "fl_oz"])  # fmt: skip
def test_plain_unit_expressions_pass(unit):
    check_unit_text(unit, "from_unit")


def test_the_exponent_tower_is_a_quick_refusal_through_the_registry():
    registry = ToolRegistry(builtin_tools(None, [], __import__("pathlib").Path("t.toml")))
    start = time.monotonic()
    result = registry.call("convert_units", {"value": 1, "from_unit": "m**9**9**9",
                                             "to_unit": "m"})  # fmt: skip
    assert not result.ok and "powers of powers" in result.error
    assert time.monotonic() - start < 10  # the first call starts a worker and loads pint
    assert registry.call("convert_units", {"value": 5, "from_unit": "mi",
                                           "to_unit": "km"}).content == "5 mi = 8.04672 km"  # fmt: skip


def test_an_isolated_tool_is_killed_at_its_timeout_and_the_next_call_works():
    registry = ToolRegistry([tower_tool(timeout=1.0)])
    start = time.monotonic()
    result = registry.call("tower", {"n": 9})  # 9**387420489: minutes of C, GIL held
    took = time.monotonic() - start
    assert not result.ok and "did not finish within 1 s" in result.error
    assert took < 5, took
    assert registry.call("tower", {"n": 2}).content == "78"  # a fresh worker


def test_a_hung_call_blocks_no_other_call():
    """No lock is held across a call: while one worker computes, others answer."""
    registry = ToolRegistry([tower_tool(timeout=4.0), Tool(
        "echo", "echo", params(["text"], text={"type": "string"}), echo, isolated=True)])
    hung = threading.Thread(target=registry.call, args=("tower", {"n": 9}))
    hung.start()
    time.sleep(0.3)
    start = time.monotonic()
    assert registry.call("echo", {"text": "still here"}).content == "still here"
    assert time.monotonic() - start < 3
    hung.join(10)
    assert not hung.is_alive()


def test_errors_in_a_worker_come_back_typed_with_their_hint():
    registry = ToolRegistry(builtin_tools(None, [], __import__("pathlib").Path("t.toml")))
    result = registry.call("calc", {"expression": "1/0"})
    assert not result.ok and result.error == "division by zero"
    result = registry.call("convert_units", {"value": 1, "from_unit": "m", "to_unit": "kg"})
    assert not result.ok and "cannot convert 'm' (length) to 'kg' (mass)" in result.error


def test_an_isolated_tool_must_be_sendable_to_a_worker():
    from personal.errors import ToolConfigError

    with pytest.raises(ToolConfigError, match="module-level function"):
        ToolRegistry([Tool("anon", "x", params(), lambda args: "", isolated=True)])
