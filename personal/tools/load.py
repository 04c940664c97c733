"""Assembling the registry: built-in tools, the person's tools.toml, and plugins.

Plugins are Python packages with an entry point in the group "personal.tools" that loads
to a Tool, a list of Tools, or a zero-argument callable returning either.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from personal.errors import ToolConfigError
from personal.tools.base import Tool
from personal.tools.calc import calc_tool
from personal.tools.config import default_path, read_config
from personal.tools.dates import date_tools
from personal.tools.files import file_tools
from personal.tools.notes import NOTES_TOOLS, notes_tools
from personal.tools.toolbox import ToolRegistry
from personal.tools.units import units_tool

if TYPE_CHECKING:
    from personal.log import Log

GROUP = "personal.tools"


def builtin_tools(log: Log | None, folders: list[Path], config_path: Path) -> list[Tool]:
    tools = [calc_tool(), *date_tools(), units_tool(), *file_tools(folders, config_path)]
    if log is not None:  # notes live in the log's database
        tools += notes_tools(log)
    return tools


def load_registry(
    log: Log | None = None, config_path: Path | None = None, *, strict: bool = True
) -> ToolRegistry:
    """Every tool this person can use. A mistake in tools.toml or in a plugin raises a
    ToolConfigError; with strict=False the faulty tools are left out instead and each
    problem is listed in `registry.problems`, so a broken config never breaks the chat."""
    path = Path(config_path).expanduser() if config_path is not None else default_path()
    registry = ToolRegistry()
    # user tools may not take a built-in's name, the notes' ones included when there is no log
    builtin_names = {t.name for t in builtin_tools(None, [], path)} | set(NOTES_TOOLS)
    config = read_config(path, taken=builtin_names)
    if config_path is not None and not path.exists():  # asked for by name: say it is missing
        config.problems.append(ToolConfigError(str(path), None, None, "no such file"))
    if config.problems and strict:
        raise config.problems[0]
    registry.problems.extend(p.message for p in config.problems)
    for tool in [*builtin_tools(log, config.allowed_folders, path), *config.tools]:
        registry.register(tool)
    for tool_or_error in _plugin_tools():
        try:
            if isinstance(tool_or_error, ToolConfigError):
                raise tool_or_error
            registry.register(tool_or_error)
        except ToolConfigError as e:
            if strict:
                raise
            registry.problems.append(e.message)
    return registry


def _plugin_tools() -> list[Tool | ToolConfigError]:
    found: list[Tool | ToolConfigError] = []
    for entry in metadata.entry_points(group=GROUP):
        where = f"entry point '{entry.name}' ({entry.value})"
        try:
            loaded: Any = entry.load()
            if callable(loaded) and not isinstance(loaded, Tool):
                loaded = loaded()
            tools = [loaded] if isinstance(loaded, Tool) else loaded
            if not isinstance(tools, (list, tuple)) or not all(isinstance(t, Tool) for t in tools):
                raise TypeError(f"it gave {type(loaded).__name__}, not a Tool or a list of Tools")
        except Exception as e:  # a broken plugin must not stop the others
            found.append(ToolConfigError(where, None, None, f"cannot load it: {e}"))
            continue
        dist = entry.dist.name if entry.dist is not None else entry.value.split(":")[0]
        found += [replace(t, source=f"entrypoint:{dist}") for t in tools]
    return found
