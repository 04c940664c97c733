"""Parsing JSON from an import file with caps: nesting depth, number size, no NaN or
Infinity, and lone UTF-16 surrogates (which SQLite cannot store) replaced by U+FFFD."""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # JSON nesting; real exports nest about 12 deep
MAX_DIGITS = 40  # longer integers are refused before int() (quadratic before 3.11)
_LONE_SURROGATE = re.compile("[\\ud800-\\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def loads(text: str) -> tuple[Any, int]:
    """Parse JSON with caps; returns (value, lone surrogates replaced). ValueError says
    what is wrong (json.JSONDecodeError keeps its line and column)."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite,
                           parse_int=_bounded_int)  # fmt: skip
    except RecursionError:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    return value, _walk(value, fix=_SURROGATE_ESCAPE.search(text) is not None)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a {len(text)}-digit number")
    return int(text)


def _walk(value: Any, fix: bool) -> int:
    """Check the nesting depth without recursion; replace lone surrogates in strings
    (keys too) when `fix`. Returns how many strings were repaired."""
    repaired, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            if fix and any(_LONE_SURROGATE.search(k) for k in node):
                renamed = {_LONE_SURROGATE.sub("\ufffd", k): v for k, v in node.items()}
                repaired += 1
                node.clear()
                node.update(renamed)
            keys: Any = list(node)
        elif isinstance(node, list):
            keys = range(len(node))
        else:
            continue
        for key in keys:
            child = node[key]
            if isinstance(child, str):
                if fix and _LONE_SURROGATE.search(child):
                    node[key] = _LONE_SURROGATE.sub("\ufffd", child)
                    repaired += 1
            elif isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return repaired
