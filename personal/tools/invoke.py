"""Explicit tool calls typed by the person: `/calc 17*23`, `/weather city=Paris days=2`,
`/weather {"city": "Paris"}`."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

from personal.errors import ToolArgumentError, UnknownTool
from personal.tools.base import Tool
from personal.tools.validate import check_arguments

if TYPE_CHECKING:
    from personal.tools.toolbox import ToolRegistry


def parse_command(registry: ToolRegistry, line: str) -> tuple[str, dict]:
    """(tool name, checked arguments) for a typed command line."""
    text = line.strip()
    if text.startswith("/"):
        text = text[1:]
    name, rest = (text.split(None, 1) + ["", ""])[:2]
    if not name:
        available = ", ".join(registry.names())
        raise UnknownTool("no tool named after the /", hint=f"available tools: {available}")
    tool = registry.get(name)  # UnknownTool lists the available names
    rest = rest.strip()
    hint = usage(tool)
    if rest.startswith("{"):
        return tool.name, check_arguments(tool, rest, hint)
    pairs = _pairs(tool, rest)
    main = primary(tool)
    if pairs is None and main is not None:
        # free text is the main argument ("/calc 2 * (3 + 4)"); trailing key=value words
        # for the other parameters are peeled off ("/remember buy milk tags=shopping")
        text, extra = _peel(tool, main, rest)
        return tool.name, check_arguments(tool, {main: text, **extra} if text else extra, hint)
    if pairs is None:
        raise ToolArgumentError(tool.name, [f"cannot read the arguments {rest!r}"], hint)
    return tool.name, check_arguments(tool, pairs, hint)


def primary(tool: Tool) -> str | None:
    """The parameter free text goes to: the only required one, or the only one."""
    properties = tool.parameters.get("properties", {})
    required = tool.parameters.get("required", [])
    if len(required) == 1:
        key = required[0]
    elif not required and len(properties) == 1:
        key = next(iter(properties))
    else:
        return None
    return key if properties.get(key, {}).get("type") in ("string", "number", "integer") else None


def _peel(tool: Tool, main: str, rest: str) -> tuple[str, dict]:
    properties = tool.parameters.get("properties", {})
    extra: dict = {}
    while True:
        head, _, last = rest.rpartition(" ")
        key, eq, value = last.partition("=")
        if not head or not eq or key == main or key not in properties or key in extra:
            return rest, extra
        extra[key] = _typed(value, properties[key].get("type"))
        rest = head.rstrip()


def _pairs(tool: Tool, rest: str) -> dict | None:
    """key=value pairs (shell-style quoting) when every word is one for a known
    parameter; None otherwise, so free text containing "=" still reaches `primary`."""
    if not rest:
        return {}
    try:
        words = shlex.split(rest)
    except ValueError:
        return None
    properties = tool.parameters.get("properties", {})
    pairs: dict = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or key not in properties:
            return None
        pairs[key] = _typed(value, properties[key].get("type"))
    return pairs


def _typed(value: str, kind: object) -> object:
    """A typed word as the schema wants it; numbers stay text (validation coerces them,
    with a clear message when they are not numbers)."""
    if kind == "boolean":
        return {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(
            value.lower(), value
        )
    if kind in ("array", "object"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return [v for v in value.split(",") if v] if kind == "array" else value
    return value


def usage(tool: Tool) -> str:
    """`usage: /weather city=<string> [days=<integer>]`, from the schema."""
    properties = tool.parameters.get("properties", {})
    required = tool.parameters.get("required", [])
    main = primary(tool)
    words = [f"/{tool.name}"]
    if main:
        words.append(f"<{main}>" if main in required else f"[<{main}>]")
    for key, spec in properties.items():
        if key == main:
            continue
        kind = spec.get("type", "value")
        kind = "|".join(kind) if isinstance(kind, list) else kind
        choices = spec.get("enum")
        shown = "|".join(map(str, choices)) if choices else f"<{kind}>"
        words.append(f"{key}={shown}" if key in required else f"[{key}={shown}]")
    tail = " (or key=value pairs, or a JSON object)" if main else " (or a JSON object)"
    return "usage: " + " ".join(words) + (tail if properties else "")
