"""Checking a tool call's arguments against its JSON Schema.

Small models get arguments slightly wrong often, so every problem is reported at once
(one retry can fix them all), and numbers sent as strings ("17") are accepted where the
schema asks for a number. Nothing else is coerced.
"""

from __future__ import annotations

import json
import math
from typing import Any

from personal.errors import ToolArgumentError
from personal.tools.base import Tool

TYPES = ("string", "number", "integer", "boolean", "array", "object")


def check_arguments(tool: Tool, arguments: dict | str | None, hint: str | None = None) -> dict:
    """The arguments as `tool.run` should get them: parsed, checked, coerced and with
    defaults filled in. Raises ToolArgumentError naming every problem."""
    args = _parse(tool.name, arguments, hint)
    properties: dict = tool.parameters.get("properties", {})
    required: list = tool.parameters.get("required", [])
    problems: list[str] = []
    out: dict[str, Any] = {}
    for key, value in args.items():
        if key not in properties:
            problems.append(f"unknown argument '{key}'")
        elif value is None and key not in required:
            continue  # models often send null for "not given"
        else:
            value, problem = _check(value, properties[key], key)
            if problem:
                problems.append(problem)
            else:
                out[key] = value
    for key in required:
        if args.get(key) is None:
            problems.append(f"missing required argument '{key}'")
    if problems:
        if hint is None and properties:
            hint = "arguments: " + ", ".join(
                _describe(k, properties[k], required) for k in properties
            )
        raise ToolArgumentError(tool.name, problems, hint=hint)
    for key, spec in properties.items():
        if key not in out and "default" in spec:
            out[key] = spec["default"]
    return out


def _parse(name: str, arguments: dict | str | None, hint: str | None) -> dict:
    if arguments is None:
        return {}
    if isinstance(arguments, str):
        if not arguments.strip():
            return {}
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as e:
            raise ToolArgumentError(name, [f"arguments are not valid JSON: {e}"], hint) from None
    if not isinstance(arguments, dict):
        kind = type(arguments).__name__
        raise ToolArgumentError(name, [f"arguments must be a JSON object, not {kind}"], hint)
    return arguments


def _check(value: Any, spec: dict, where: str) -> tuple[Any, str | None]:
    """(the value, possibly coerced; a problem or None)."""
    kinds = spec.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if kinds:
        for kind in kinds:
            coerced = _as(kind, value)
            if coerced is not _NO:
                value = coerced
                break
        else:
            wanted = " or ".join(article(k) for k in kinds)
            return value, f"'{where}' must be {wanted}, not {_show(value)}"
    if "enum" in spec and value not in spec["enum"]:
        choices = ", ".join(json.dumps(c) for c in spec["enum"])
        return value, f"'{where}' must be one of {choices}, not {_show(value)}"
    if isinstance(value, list) and isinstance(spec.get("items"), dict):
        items = []
        for i, item in enumerate(value):
            item, problem = _check(item, spec["items"], f"{where}[{i}]")
            if problem:
                return value, problem
            items.append(item)
        value = items
    return value, None


_NO = object()  # "not of this type"


def _as(kind: str, value: Any) -> Any:
    """`value` as JSON type `kind`, or _NO."""
    if kind == "string":
        return value if isinstance(value, str) else _NO
    if kind == "boolean":
        return value if isinstance(value, bool) else _NO
    if kind == "array":
        return value if isinstance(value, list) else _NO
    if kind == "object":
        return value if isinstance(value, dict) else _NO
    if kind == "null":
        return value if value is None else _NO
    if kind in ("number", "integer"):
        if isinstance(value, str):
            value = _number(value.strip())
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _NO
        if kind == "integer":
            if isinstance(value, float) and value.is_integer():
                return int(value)  # JSON writers sometimes send 3.0 for 3
            return value if isinstance(value, int) else _NO
        return value if math.isfinite(value) else _NO
    return value  # a type this validator does not know: let the tool judge


def matches_type(kind: str, value: Any) -> bool:
    """Whether `value` already is of JSON type `kind` (no coercion from strings)."""
    if isinstance(value, str) and kind != "string":
        return False
    return _as(kind, value) is not _NO


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe(key: str, spec: dict, required: list) -> str:
    kind = spec.get("type", "any")
    kind = "|".join(kind) if isinstance(kind, list) else kind
    return f"{key} ({kind}{'' if key in required else ', optional'})"
