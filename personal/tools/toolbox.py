"""The set of tools a chat can use, and the one safe way to call them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from personal import isolation
from personal.errors import (
    PersonalError,
    ToolConfigError,
    ToolError,
    ToolTimeout,
    UnknownTool,
)
from personal.tools import invoke
from personal.tools.base import NAME_RE, CallContext, Tool, ToolResult
from personal.tools.validate import check_arguments

MAX_RESULT_CHARS = 16_000  # a small model's context is small: longer results are cut

Confirm = Callable[[Tool, dict], bool]


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = ()):
        self._tools: dict[str, Tool] = {}
        self.problems: list[str] = []  # user/plugin tools left out (load_registry strict=False)
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        problem = _problem(tool)
        if problem is None and tool.name in self._tools:
            problem = f"a tool named '{tool.name}' already exists ({self._tools[tool.name].source})"
        if problem:
            source, name = getattr(tool, "source", "?"), getattr(tool, "name", None)
            raise ToolConfigError(str(source), None, None, problem, tool=name)
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool:
        tool = self._tools.get(name)
        if tool is None:
            available = ", ".join(self.names()) or "none"
            raise UnknownTool(
                f"there is no tool named '{name}'", hint=f"available tools: {available}"
            )
        return tool

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def schemas(self) -> list[dict]:
        return [self._tools[name].schema() for name in self.names()]

    def validate(self, name: str, arguments: dict | str) -> dict:
        """Parsed, checked and coerced arguments (ToolArgumentError names every problem)."""
        tool = self.get(name)
        return check_arguments(tool, arguments, invoke.usage(tool))

    def parse_command(self, line: str) -> tuple[str, dict]:
        """`/calc 17*23` → ("calc", {"expression": "17*23"}) (see `invoke`)."""
        return invoke.parse_command(self, line)

    def call(
        self, name: str, arguments: dict | str, *, confirm: Confirm | None = None,
        context: CallContext | None = None,
    ) -> ToolResult:  # fmt: skip
        """Run a tool. Never raises for the tool's failures: they come back as ok=False
        with an `error` the person and the model can read. `context` says which message
        asked for the call (tools that keep something record it)."""
        start = time.perf_counter()

        def failed(error: str) -> ToolResult:
            return ToolResult(False, "", error, (time.perf_counter() - start) * 1000)

        try:
            tool = self.get(name)
            args = self.validate(name, arguments)
            if tool.side_effects:
                if confirm is None:
                    return failed(f"tool '{name}' needs the person's confirmation to run")
                if not confirm(tool, args):
                    return failed(f"the person declined to run '{name}'")
            content = _run_with_timeout(tool, args, context or CallContext())
        except PersonalError as e:  # ToolError, or e.g. the log being busy
            return failed(str(e))
        except Exception as e:  # a bug in a tool must not end the chat
            return failed(f"tool '{name}' failed: {type(e).__name__}: {e}")
        if len(content) > MAX_RESULT_CHARS:
            cut = len(content) - MAX_RESULT_CHARS
            content = content[:MAX_RESULT_CHARS] + f"\n[... {cut} more characters cut]"
        return ToolResult(True, content, None, (time.perf_counter() - start) * 1000)


def _run_with_timeout(tool: Tool, args: dict, context: CallContext) -> str:
    """Run an isolated tool in a worker process that is killed at the timeout; any other
    in a daemon thread, so a slow tool cannot hang the chat. A thread cannot be killed:
    only tools whose work is bounded by construction run there (file and notes tools;
    command tools kill their own process group), and plugins, which are trusted code."""
    if tool.isolated:
        try:
            value = isolation.run(tool.run, args, tool.timeout)
        except isolation.Timeout:
            raise ToolTimeout(tool.name, tool.timeout) from None
        except (isolation.Died, isolation.Failed) as e:
            raise ToolError(f"tool '{tool.name}' stopped: {e}") from None
        return value if isinstance(value, str) else "" if value is None else str(value)
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = tool.run(args, context) if tool.contextual else tool.run(args)
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    thread = threading.Thread(target=target, name=f"tool-{tool.name}", daemon=True)
    thread.start()
    thread.join(tool.timeout)
    if thread.is_alive():
        raise ToolTimeout(tool.name, tool.timeout)
    if "error" in box:
        error = box["error"]
        if isinstance(error, Exception):
            raise error
        raise ToolError(f"tool '{tool.name}' stopped: {type(error).__name__}: {error}")
    value = box.get("value")
    return value if isinstance(value, str) else "" if value is None else str(value)


def _problem(tool: Tool) -> str | None:
    """Why a tool cannot be registered, or None."""
    if not isinstance(tool, Tool):
        return f"expected a Tool, got {type(tool).__name__}"
    if not isinstance(tool.name, str) or not NAME_RE.fullmatch(tool.name):
        return f"the name {tool.name!r} must be lowercase letters, digits and _ (a letter first)"
    schema = tool.parameters
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return 'parameters must be a JSON Schema of type "object"'
    if not isinstance(schema.get("properties", {}), dict):
        return "parameters.properties must be an object"
    if not set(schema.get("required", [])) <= set(schema.get("properties", {})):
        return "parameters.required names a parameter that is not in properties"
    if not isinstance(tool.timeout, (int, float)) or tool.timeout <= 0:
        return "timeout must be a positive number of seconds"
    if not callable(tool.run):
        return "run must be callable"
    if tool.isolated and tool.contextual:
        return "a tool cannot be both isolated and contextual"
    if tool.isolated and not isolation.sendable(tool.run):
        return "an isolated tool's run must be a module-level function (it runs in a worker)"
    return None
