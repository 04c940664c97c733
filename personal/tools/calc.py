"""`calc`: arithmetic, evaluated by walking Python's syntax tree.

Never eval/exec: only numbers, operators, a few math functions and pi/e get through, and
sizes are checked before an operation can eat the machine (9**9**9, deep nesting).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from personal.errors import ToolError
from personal.tools.base import Tool, params

MAX_LENGTH = 1_000  # characters of expression
MAX_DEPTH = 250  # nested operations (a sum of n terms nests n deep)
MAX_BITS = 4_096  # an integer result of ~1,200 digits is already more than anyone reads

FUNCTIONS: dict[str, Callable] = {
    "sqrt": math.sqrt, "log": math.log, "log10": math.log10, "exp": math.exp,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "abs": abs, "round": round,
    "floor": math.floor, "ceil": math.ceil, "min": min, "max": max,
}  # fmt: skip
CONSTANTS = {"pi": math.pi, "e": math.e}
BINARY: dict[type, Callable] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitXor: operator.pow,  # people write 2^10 meaning a power, never an XOR
}  # fmt: skip
UNARY: dict[type, Callable] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
ALLOWED_HINT = (
    "use numbers, + - * / // % ** ( ), the functions "
    + ", ".join(FUNCTIONS)
    + " and the constants pi, e"
)

Number = int | float


def evaluate(expression: str) -> Number:
    text = expression.strip().replace("×", "*").replace("÷", "/").replace("−", "-")
    if not text:
        raise ToolError("the expression is empty", hint=ALLOWED_HINT)
    if len(text) > MAX_LENGTH:
        raise ToolError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ToolError(f"not a valid expression: {e.msg}", hint=ALLOWED_HINT) from None
    except (RecursionError, MemoryError):
        raise ToolError("the expression is nested too deeply") from None
    try:
        return _eval(tree.body, 0)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except OverflowError:
        raise ToolError("the result is too large") from None


def _eval(node: ast.expr, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise ToolError("the expression is nested too deeply")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ToolError(f"only numbers are allowed, not {node.value!r}", hint=ALLOWED_HINT)
        return _checked(node.value)  # 1e999 is read as infinity
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise ToolError(f"{node.id} is a function: write {node.id}(...)")
        raise ToolError(f"names are not allowed: {node.id}", hint=ALLOWED_HINT)
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _eval(node.left, depth + 1), _eval(node.right, depth + 1)
        if type(node.op) in (ast.Pow, ast.BitXor):
            _check_power(left, right)
        return _checked(BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_eval(node.operand, depth + 1))
    if isinstance(node, ast.Call):
        return _call(node, depth)
    if isinstance(node, ast.Attribute):
        raise ToolError(f"attributes are not allowed: .{node.attr}", hint=ALLOWED_HINT)
    what = type(getattr(node, "op", node)).__name__.lower()
    raise ToolError(f"'{what}' is not allowed in a calculation", hint=ALLOWED_HINT)


def _call(node: ast.Call, depth: int) -> Number:
    if not isinstance(node.func, ast.Name):
        _eval(node.func, depth + 1)  # reports what is wrong with it (attribute, call...)
        raise ToolError("only the listed functions can be called", hint=ALLOWED_HINT)
    name = node.func.id
    if name not in FUNCTIONS:
        raise ToolError(f"names are not allowed: {name}", hint=ALLOWED_HINT)
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise ToolError(f"{name}() takes plain arguments only")
    args = [_eval(a, depth + 1) for a in node.args]
    if name in ("min", "max") and not args:
        raise ToolError(f"{name}() needs at least one number")
    if (
        name == "round"
        and len(args) == 2
        and not (isinstance(args[1], int) and abs(args[1]) <= 100)
    ):
        # round(5, -10**9) would compute 10**(10**9)
        raise ToolError("round(x, n) needs a whole number n between -100 and 100")
    try:
        return _checked(FUNCTIONS[name](*args))
    except TypeError:
        raise ToolError(f"wrong number of arguments for {name}()") from None
    except ValueError:
        shown = ", ".join(format_number(a) for a in args)
        raise ToolError(f"{name}({shown}) is not defined (math domain error)") from None


def _check_power(base: Number, exponent: Number) -> None:
    """Refuse powers whose result would be enormous, before computing them."""
    if abs(base) <= 1 or exponent <= 0:
        return
    if exponent * math.log2(abs(base)) > MAX_BITS:
        raise ToolError("the result is too large", hint="use smaller exponents")


def _checked(value: Number) -> Number:
    if isinstance(value, complex):
        raise ToolError("the result is not a real number")
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise ToolError("the result is too large")
    if isinstance(value, float) and math.isinf(value):
        raise ToolError("the result is too large")
    return value


def format_number(value: Number) -> str:
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15g")  # 0.1 + 0.2 shows as 0.3


def calc_tool() -> Tool:
    return Tool(
        name="calc",
        description="Evaluate an arithmetic expression exactly, e.g. 17*23 or sqrt(2)/3. "
        "Supports + - * / // % **, parentheses, " + ", ".join(FUNCTIONS) + ", pi and e.",
        parameters=params(
            ["expression"], expression={"type": "string", "description": "e.g. (17 + 3) * 2.5"}
        ),
        run=run,
        timeout=5.0,
        isolated=True,
    )


def run(args: dict) -> str:
    """The tool's work, in a killable worker process."""
    return format_number(evaluate(args["expression"]))
