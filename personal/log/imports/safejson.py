"""Parsing JSON from an import file with caps: numbers of bounded size, no NaN or
Infinity, bounded nesting, and lone UTF-16 surrogates (which SQLite cannot store) replaced
by U+FFFD.

Nesting is capped where it matters: in what the log keeps as JSON (a JSONL line's meta,
tool calls and tools; a tool call's arguments), so nothing imported is too deep to be
exported or read back by training. A whole export document is not walked for depth (it is
large and only read along fixed paths); its parse is bounded by Python's own recursion
check, which is turned into the same typed error.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # JSON nesting of what the log keeps; real exports nest about 12 deep
MAX_DIGITS = 40  # longer integers are refused before int() (quadratic before 3.11)
_LONE_SURROGATE = re.compile("[\\ud800-\\udfff]")
# a surrogate escape, with the low one that may follow it
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?")


def loads(text: str, *, depth: bool = True) -> tuple[Any, int]:
    """Parse JSON with caps; returns (value, lone surrogates replaced). `depth`: refuse
    nesting deeper than MAX_DEPTH (for values the log keeps). ValueError says what is wrong
    (json.JSONDecodeError keeps its line and column)."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite,
                           parse_int=_bounded_int)  # fmt: skip
    except RecursionError:
        raise ValueError("nested too deeply") from None
    fix = _lone_escape(text)
    if not fix and not depth:
        return value, 0
    box = [value]  # so that a lone string at the top is repaired too
    repaired = _walk(box, fix, MAX_DEPTH + 1 if depth else None)
    return box[0], repaired


def _lone_escape(text: str) -> bool:
    """Whether `text` escapes a lone surrogate (a pair, as ChatGPT escapes an emoji, is
    fine). The common case, no surrogate escape at all, is a plain substring search."""
    if "\\ud" not in text and "\\uD" not in text:
        return False
    for match in _SURROGATE_ESCAPE.finditer(text):
        pair = match.group()
        if len(pair) == 6 or pair[3] not in "89abAB":  # a lone one, or a pair led by a low one
            return True
    return False


def check_depth(value: Any, what: str) -> Any:
    """`value` when it nests at most MAX_DEPTH levels; ValueError otherwise."""
    try:
        _walk(value, False, MAX_DEPTH)
    except ValueError:
        raise ValueError(f"{what} is nested more than {MAX_DEPTH} levels deep") from None
    return value


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


def _walk(value: Any, fix: bool, limit: int | None) -> int:
    """Check the nesting depth (when `limit`) without recursion; replace lone surrogates
    in strings (keys too) when `fix`. Returns how many strings were repaired."""
    repaired, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if limit is not None and depth > limit:
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
