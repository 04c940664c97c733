"""ToolRegistry: validation, calling safely, explicit `/tool ...` commands, plugins."""

from __future__ import annotations

import importlib.metadata
import sys
import threading
import time
import types

import pytest

from personal.errors import ToolArgumentError, ToolConfigError, ToolError, UnknownTool
from personal.tools import Tool, ToolRegistry, load_registry, params

ECHO = Tool(
    name="echo",
    description="Echo",
    parameters=params(
        ["text"],
        text={"type": "string"},
        times={"type": "integer", "default": 1},
        scale={"type": "number"},
        loud={"type": "boolean"},
        tags={"type": "array", "items": {"type": "string"}},
        mode={"type": "string", "enum": ["plain", "fancy"]},
        extra={"type": "object"},
    ),
    run=lambda args: " ".join([args["text"]] * args["times"]),
)


def tool(name: str, run, **kwargs) -> Tool:
    return Tool(name, f"{name} tool", params(), run, **kwargs)


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry([ECHO])


def test_schemas_and_names(registry):
    registry.register(tool("a_tool", lambda args: "a"))
    assert registry.names() == ["a_tool", "echo"]
    schema = registry.schemas()[1]
    assert schema["type"] == "function" and schema["function"]["name"] == "echo"
    assert schema["function"]["parameters"]["required"] == ["text"]


def test_register_refuses_duplicates_and_bad_tools(registry):
    with pytest.raises(ToolConfigError, match="a tool named 'echo' already exists"):
        registry.register(ECHO)
    with pytest.raises(ToolConfigError, match="lowercase"):
        registry.register(tool("Bad-Name", str))
    with pytest.raises(ToolConfigError, match="JSON Schema"):
        registry.register(Tool("x", "x", {"type": "string"}, str))
    with pytest.raises(ToolConfigError, match="timeout"):
        registry.register(tool("slow", str, timeout=0))


def test_unknown_tool_lists_the_available_ones(registry):
    with pytest.raises(UnknownTool, match="no tool named 'nope'") as error:
        registry.get("nope")
    assert error.value.hint == "available tools: echo"
    result = registry.call("nope", {})
    assert not result.ok and "available tools: echo" in result.error


def test_validate_coerces_numbers_only_and_fills_defaults(registry):
    args = registry.validate("echo", '{"text": "hi", "scale": "2.5", "tags": ["a"], "mode": null}')
    assert args == {"text": "hi", "scale": 2.5, "tags": ["a"], "times": 1}
    assert registry.validate("echo", {"text": "x", "times": "17"})["times"] == 17
    assert registry.validate("echo", {"text": "x", "times": 3.0})["times"] == 3


def test_validate_names_every_problem(registry):
    with pytest.raises(ToolArgumentError) as error:
        registry.validate(
            "echo",
            {"times": "many", "loud": "yes", "mode": "weird", "tags": ["a", 2], "colour": "red",
             "scale": True, "extra": []},
        )  # fmt: skip
    assert error.value.problems == [
        "'times' must be an integer, not \"many\"",
        "'loud' must be a boolean, not \"yes\"",
        '\'mode\' must be one of "plain", "fancy", not "weird"',
        "'tags[1]' must be a string, not 2",
        "unknown argument 'colour'",
        "'scale' must be a number, not true",
        "'extra' must be an object, not []",
        "missing required argument 'text'",
    ]
    assert "usage: /echo <text>" in error.value.hint
    with pytest.raises(ToolArgumentError, match="not valid JSON"):
        registry.validate("echo", "{text: hi")
    with pytest.raises(ToolArgumentError, match="must be a JSON object, not list"):
        registry.validate("echo", "[1]")


def test_call_returns_results_and_failures(registry):
    result = registry.call("echo", {"text": "hi", "times": "2"})
    assert (result.ok, result.content, result.error) == (True, "hi hi", None)
    assert result.duration_ms >= 0
    bad = registry.call("echo", {"times": 2})
    assert not bad.ok and bad.content == "" and "missing required argument 'text'" in bad.error


def test_errors_and_exceptions_inside_a_tool_come_back_as_results():
    def fails(args):
        raise ToolError("the printer is on fire", hint="use water")

    def crashes(args):
        return 1 / 0

    registry = ToolRegistry([tool("fails", fails), tool("crashes", crashes)])
    assert registry.call("fails", {}).error == "the printer is on fire\n  hint: use water"
    assert registry.call("crashes", {}).error == (
        "tool 'crashes' failed: ZeroDivisionError: division by zero"
    )


def test_a_hanging_tool_times_out():
    release = threading.Event()
    registry = ToolRegistry([tool("hang", lambda args: release.wait(30) and "", timeout=0.3)])
    start = time.monotonic()
    result = registry.call("hang", {})
    release.set()
    assert time.monotonic() - start < 2
    assert not result.ok and "did not finish within 0.3 s" in result.error


def test_side_effect_tools_need_confirmation():
    ran = []
    registry = ToolRegistry(
        [tool("launch", lambda args: ran.append(1) or "launched", side_effects=True)]
    )
    assert "needs the person's confirmation" in registry.call("launch", {}).error
    asked = []
    declined = registry.call("launch", {}, confirm=lambda t, a: asked.append(t.name) or False)
    assert not declined.ok and "declined" in declined.error and asked == ["launch"]
    assert ran == []
    assert registry.call("launch", {}, confirm=lambda t, a: True).content == "launched"
    assert ran == [1]


def test_long_results_are_cut(registry):
    result = registry.call("echo", {"text": "x" * 10_000, "times": 3})
    assert len(result.content) < 16_100 and result.content.endswith("more characters cut]")


# --- parse_command ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, expected",
    [
        ("/echo hello world", ("echo", {"text": "hello world", "times": 1})),
        ("echo\t 2 * (3 + 4) ", ("echo", {"text": "2 * (3 + 4)", "times": 1})),
        ("/echo a=b is free text", ("echo", {"text": "a=b is free text", "times": 1})),
        (
            '/echo text="hi there" times=2 loud=yes',
            ("echo", {"text": "hi there", "times": 2, "loud": True}),
        ),
        (
            "/echo buy milk tags=food,home",
            ("echo", {"text": "buy milk", "tags": ["food", "home"], "times": 1}),
        ),
        ('/echo {"text": "json", "times": 3}', ("echo", {"text": "json", "times": 3})),
    ],
)
def test_parse_command(registry, line, expected):
    assert registry.parse_command(line) == expected


def test_parse_command_errors_carry_a_usage_hint(registry):
    with pytest.raises(ToolArgumentError, match="missing required argument 'text'") as error:
        registry.parse_command("/echo")
    assert error.value.hint.startswith("usage: /echo <text> [times=<integer>]")
    assert "[mode=plain|fancy]" in error.value.hint
    with pytest.raises(ToolArgumentError, match="'times' must be an integer"):
        registry.parse_command("/echo hi times=lots")
    with pytest.raises(UnknownTool, match="'nope'"):
        registry.parse_command("/nope 1")
    two = ToolRegistry(
        [Tool("pair", "p", params(["a", "b"], a={"type": "string"}, b={"type": "string"}), str)]
    )
    with pytest.raises(ToolArgumentError, match="cannot read the arguments") as error:
        two.parse_command("/pair just text")
    assert error.value.hint == "usage: /pair a=<string> b=<string> (or a JSON object)"
    assert two.parse_command("/pair a=1 b='x y'") == ("pair", {"a": "1", "b": "x y"})


def test_parse_command_for_builtins():
    registry = load_registry()
    assert registry.parse_command("/calc 17*23") == ("calc", {"expression": "17*23"})
    assert registry.parse_command("now Europe/Paris") == ("now", {"timezone": "Europe/Paris"})
    assert registry.parse_command("/convert_units value=3 from_unit=mi to_unit=km") == (
        "convert_units", {"value": 3, "from_unit": "mi", "to_unit": "km"},
    )  # fmt: skip


# --- plugins ---------------------------------------------------------------------------
def fake_entry_points(monkeypatch, **targets):
    module = types.ModuleType("fake_personal_plugin")
    module.__dict__.update(targets)
    monkeypatch.setitem(sys.modules, "fake_personal_plugin", module)
    points = [
        importlib.metadata.EntryPoint(name, f"fake_personal_plugin:{name}", "personal.tools")
        for name in targets
    ]

    def entry_points(**kwargs):
        assert kwargs == {"group": "personal.tools"}
        return points

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_entry_point_tools(monkeypatch):
    fake_entry_points(
        monkeypatch,
        single=tool("single", lambda args: "one"),
        several=[tool("two", str), tool("three", str)],
        factory=lambda: tool("made", lambda args: "made"),
    )
    registry = load_registry()
    assert {"single", "two", "three", "made", "calc"} <= set(registry.names())
    assert registry.get("single").source == "entrypoint:fake_personal_plugin"
    assert registry.call("made", {}).content == "made"
    assert "remember" not in registry.names()  # notes tools need a log


def test_broken_entry_points(monkeypatch):
    def explode():
        raise RuntimeError("missing dependency")

    dup = Tool("calc", "a second calc", params(), str)
    fake_entry_points(monkeypatch, good=tool("good", str), broken=explode, wrong=42, dup=dup)
    with pytest.raises(ToolConfigError, match="entry point 'broken'.*missing dependency"):
        load_registry()
    registry = load_registry(strict=False)
    assert "good" in registry.names()
    assert len(registry.problems) == 3
    assert "not a Tool or a list of Tools" in registry.problems[1]
    assert "a tool named 'calc' already exists" in registry.problems[2]
