"""personal's own tools, run by the server for API clients that bring none.

The same registry as the chat (built-ins, tools.toml, plugins). There is nobody to ask
before a tool with side effects runs, so those are declined, as `personal ask` declines them
without a terminal; the model reads why.
"""

from __future__ import annotations

from typing import Any

from personal.api.handler import ToolOutcome
from personal.engine.toolcall import ToolCall
from personal.tools import CallContext, ToolRegistry


class RegistryTools:
    def __init__(self, registry: ToolRegistry):
        self.registry = registry

    def schemas(self) -> list[dict[str, Any]]:
        return self.registry.schemas()

    def call(self, call: ToolCall, source: str | None = None) -> ToolOutcome:
        result = self.registry.call(call.name, call.arguments, confirm=None,
                                    context=CallContext(source))  # fmt: skip
        content = result.content if result.ok else f"error: {result.error}"
        return ToolOutcome(content, result.ok, result.error, result.duration_ms)
