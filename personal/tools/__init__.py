"""Tools the model (or the person, with `/name ...`) can call: built-ins, the person's
own command tools from tools.toml, and plugins (entry points in "personal.tools").

    registry = load_registry(log)
    result = registry.call("calc", {"expression": "17*23"})   # ToolResult(ok=True, "391")
"""

from personal.tools.base import CallContext, Tool, ToolResult, params
from personal.tools.load import load_registry
from personal.tools.toolbox import ToolRegistry

__all__ = ["CallContext", "Tool", "ToolRegistry", "ToolResult", "load_registry", "params"]
