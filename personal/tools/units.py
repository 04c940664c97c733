"""`convert_units`, with pint: length, mass, volume, temperature (offsets included),
speed, time, data sizes and whatever else pint's registry knows."""

from __future__ import annotations

import functools
import math
import re
import threading
from typing import Any

from personal.errors import ToolError
from personal.tools.base import Tool, params

# what people and models write that pint reads differently ("C" is a coulomb to pint)
ALIASES = {
    **dict.fromkeys(["c", "°c", "ºc", "celsius", "centigrade", "deg c", "degree celsius",
                     "degrees celsius", "degrees c"], "degC"),
    **dict.fromkeys(["f", "°f", "ºf", "fahrenheit", "deg f", "degree fahrenheit",
                     "degrees fahrenheit", "degrees f"], "degF"),
    **dict.fromkeys(["k", "kelvins", "degrees kelvin"], "kelvin"),
    "kb": "kilobyte", "kbs": "kilobyte", "kilobytes": "kilobyte",
}  # fmt: skip
_lock = threading.Lock()  # pint's registry is not documented as thread-safe
UNIT_HINT = (
    "use names or symbols such as m, km, mi, kg, lb, l, cup, degC, degF, km/h, mph, MB, GiB"
)
MAX_UNIT_LENGTH = 60
MAX_PARENS = 3
# pint evaluates numbers and powers inside a unit string ("m**9**9**9" runs for minutes),
# so only this reaches it: names, * / · and spaces between them, parentheses, and after
# a name or a ")" one small power (^2, **-1, **0.5), never a power of a power
_TOKEN = re.compile(
    r"(?P<name>(?:(?![\d²³¹⁰-⁹])[\w°µΩ'])+)"
    r"|(?P<power>(?:\*\*|\^)\s*[-+]?[0-9]{1,2}(?:\.[0-9]{1,2})?|[²³])"
    r"|(?P<op>[*/·])|(?P<open>\()|(?P<close>\))|(?P<space>\s+)|(?P<degree>°)"
)


@functools.cache
def _registry() -> Any:
    import pint  # imported on first use: it takes about a second

    return pint.UnitRegistry()


def check_unit_text(text: str, which: str) -> None:
    """Refuse anything but a plain unit expression, before pint's parser sees it."""

    def bad(why: str) -> ToolError:
        return ToolError(f"unknown unit {text!r} ({which}): {why}", hint=UNIT_HINT)

    if len(text) > MAX_UNIT_LENGTH:
        raise bad(f"longer than {MAX_UNIT_LENGTH} characters")
    depth, previous, pos = 0, "", 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise bad(f"{text[pos]!r} has no place in a unit (numbers go in 'value')")
        kind = m.lastgroup or ""
        if kind == "power" and previous not in ("name", "close", "degree"):
            raise bad("a power must follow a unit, and powers of powers are not units")
        depth += {"open": 1, "close": -1}.get(kind, 0)
        if depth < 0 or depth > MAX_PARENS:
            raise bad("unbalanced or too deeply nested parentheses")
        if kind != "space":
            previous = kind
        pos = m.end()
    if depth:
        raise bad("unbalanced parentheses")


def _unit(ureg: Any, text: str, which: str) -> Any:
    import pint

    check_unit_text(text, which)
    name = ALIASES.get(" ".join(text.lower().split()), text.strip())
    try:
        return ureg.parse_units(name)
    except Exception as e:  # pint's parser fails in many ways (TokenError, ValueError...)
        # pint's ValueErrors say something useful ("cannot have a scaling factor")
        plain = isinstance(e, ValueError) and not isinstance(e, pint.errors.PintError)
        detail = f": {e}" if plain and str(e) else ""
        raise ToolError(f"unknown unit {text!r} ({which}){detail}", hint=UNIT_HINT) from None


def convert(value: float, from_unit: str, to_unit: str) -> str:
    import pint

    with _lock:
        ureg = _registry()
        source, target = _unit(ureg, from_unit, "from_unit"), _unit(ureg, to_unit, "to_unit")
        # bytes, radians and percent are all "dimensionless" to pint; their root units differ
        if ureg.get_root_units(source)[1] != ureg.get_root_units(target)[1]:
            raise ToolError(
                f"cannot convert {from_unit!r} ({_kind(ureg, source)}) "
                f"to {to_unit!r} ({_kind(ureg, target)})",
                hint="both units must measure the same thing",
            )
        try:
            result = ureg.Quantity(value, source).to(target).magnitude
        except (pint.errors.PintError, OverflowError, ValueError) as e:
            raise ToolError(f"cannot convert {from_unit!r} to {to_unit!r}: {e}") from None
    if not math.isfinite(result):
        raise ToolError("the result is too large")
    return f"{_number(value)} {from_unit.strip()} = {_number(result)} {to_unit.strip()}"


def _kind(ureg: Any, unit: Any) -> str:
    dims = str(ureg.get_dimensionality(unit)).replace("[", "").replace("]", "")
    if dims == "dimensionless":
        root = str(ureg.get_root_units(unit)[1])
        return "data size" if root == "bit" else dims
    return dims


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".10g")  # 211.99999999999991 °F reads as 212


def units_tool() -> Tool:
    return Tool(
        name="convert_units",
        description="Convert a quantity between units: length, mass, volume, temperature, "
        "speed, time, data sizes (e.g. 5 mi to km, 100 degF to degC, 2 GiB to MB).",
        parameters=params(
            ["value", "from_unit", "to_unit"],
            value={"type": "number"},
            from_unit={"type": "string", "description": "e.g. mi, lb, degF, cup, MB"},
            to_unit={"type": "string", "description": "e.g. km, kg, degC, ml, GiB"},
        ),
        run=run,
        timeout=15.0,  # the first call in a worker loads pint's registry
        isolated=True,  # pint's parser holds the GIL: only a process can be stopped
    )


def run(args: dict) -> str:
    """The tool's work, in a killable worker process."""
    return convert(args["value"], args["from_unit"], args["to_unit"])
