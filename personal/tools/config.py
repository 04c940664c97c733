"""tools.toml: the folders the file tools may read, and the person's own command tools.

Every mistake is a ToolConfigError naming the file, the line and the field, e.g.
`tools.toml:7: tool 'weather': field 'timeout' must be a number`.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from personal import paths
from personal.errors import ToolConfigError
from personal.tools.base import NAME_RE, Tool
from personal.tools.command import command_runner, placeholders
from personal.tools.tomlines import TomlLines
from personal.tools.validate import article, matches_type

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOOL_FIELDS = {"name", "description", "command", "side_effects", "timeout", "args"}
ARG_FIELDS = {"type", "description", "required", "default", "enum"}
ARG_TYPES = ("string", "integer", "number", "boolean")
MAX_TIMEOUT = 600.0


def default_path() -> Path:
    return paths.home() / "tools.toml"


@dataclass
class UserConfig:
    path: Path
    allowed_folders: list[Path] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    problems: list[ToolConfigError] = field(default_factory=list)


def read_config(path: Path, taken: Iterable[str] = ()) -> UserConfig:
    """Everything usable in the file, with a problem for each thing that is not (a tool
    with a mistake is left out; the rest still load). A missing file is an empty one."""
    config = UserConfig(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return config
    except (OSError, UnicodeDecodeError) as e:
        config.problems.append(ToolConfigError(str(path), None, None, f"cannot read it: {e}"))
        return config
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = getattr(e, "lineno", None) or TomlLines.error_line(str(e))
        reason = str(e).split(" (at line")[0]
        config.problems.append(ToolConfigError(str(path), line, None, f"invalid TOML: {reason}"))
        return config
    _Reader(path, TomlLines(text), config, set(taken)).read(data)
    return config


class _Reader:
    def __init__(self, path: Path, lines: TomlLines, config: UserConfig, taken: set[str]):
        self.path, self.lines, self.config, self.taken = path, lines, config, taken

    def problem(self, line: int | None, name: str | None, key: str | None, reason: str) -> None:
        self.config.problems.append(ToolConfigError(str(self.path), line, key, reason, tool=name))

    def read(self, data: dict) -> None:
        for key in data:
            if key not in ("files", "tool"):
                hint = " (did you mean [[tool]]?)" if key.startswith("tool") else ""
                self.problem(self.lines.top(key), None, None, f"unknown section '{key}'{hint}")
        self.read_files(data.get("files", {}))
        tools = data.get("tool", [])
        if not isinstance(tools, list):
            self.problem(self.lines.top("tool"), None, None, "write each tool as a [[tool]] table")
            return
        for index, entry in enumerate(tools):
            tool = self.read_tool(index, entry)
            if tool is not None:
                self.taken.add(tool.name)
                self.config.tools.append(tool)

    def read_files(self, files: Any) -> None:
        if not isinstance(files, dict):
            self.problem(self.lines.top("files"), None, None, "[files] must be a table")
            return
        for key in files:
            if key != "allowed_folders":
                self.problem(self.lines.key(("files",), key), None, key, "is not a known setting")
        folders = files.get("allowed_folders", [])
        if not isinstance(folders, list) or not all(isinstance(f, str) and f for f in folders):
            line = self.lines.key(("files",), "allowed_folders")
            self.problem(
                line, None, "allowed_folders", 'must be a list of folders, e.g. ["~/notes"]'
            )
            return
        # relative folders are relative to the config file, not to wherever the app started
        self.config.allowed_folders = [self.path.parent / Path(f).expanduser() for f in folders]

    def read_tool(self, index: int, entry: Any) -> Tool | None:
        before = len(self.config.problems)
        where = ("tool", index)

        def bad(key: str, reason: str, arg: str | None = None) -> None:
            line = self.lines.arg(index, arg, key) if arg else self.lines.key(where, key)
            self.problem(line, label, f"args.{arg}.{key}" if arg else key, reason)

        if not isinstance(entry, dict):
            self.problem(self.lines.section(where), None, None, "a [[tool]] must be a table")
            return None
        name = entry.get("name")
        label = name if isinstance(name, str) and name else f"#{index + 1}"
        for key in entry:
            if key not in TOOL_FIELDS:
                bad(key, f"is not a known field (known: {', '.join(sorted(TOOL_FIELDS))})")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            bad("name", "must be lowercase letters, digits and _, starting with a letter")
        elif name in self.taken:
            bad("name", f"is taken: another tool is already called '{name}'")
        description = entry.get("description")
        if not isinstance(description, str) or not description.strip():
            bad("description", "must say what the tool does (the model reads it)")
        command = self.read_command(entry.get("command"), bad)
        side_effects = entry.get("side_effects", True)  # a command may change things: ask
        if not isinstance(side_effects, bool):
            bad("side_effects", "must be true or false")
        timeout = entry.get("timeout", 10.0)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            bad("timeout", "must be a number")
        elif not 0 < timeout <= MAX_TIMEOUT:
            bad("timeout", f"must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
        schema = self.read_args(entry.get("args", {}), bad)
        if command is not None and schema is not None:
            declared = set(entry.get("args", {}))  # an arg with a mistake is reported once
            for missing in sorted(placeholders(command) - declared):
                bad("command", f"uses {{{missing}}} but there is no [tool.args.{missing}]")
        if len(self.config.problems) > before or command is None or schema is None:
            return None
        source = f"config:{self.path}"
        run = command_runner(name, command, float(timeout), str(self.path))
        return Tool(name, description.strip(), schema, run, side_effects, float(timeout), source)

    def read_command(self, command: Any, bad: Any) -> list[str] | None:
        if isinstance(command, str):
            try:
                command = shlex.split(command)
            except ValueError as e:
                bad("command", f"cannot be split into words: {e}")
                return None
        if (
            not isinstance(command, list)
            or not command
            or not all(isinstance(c, str) for c in command)
        ):
            bad("command", 'must be a list of words, e.g. ["wttr", "{city}"]')
            return None
        return command

    def read_args(self, args: Any, bad: Any) -> dict | None:
        if not isinstance(args, dict):
            bad("args", "must be a table of [tool.args.<name>] tables")
            return None
        properties: dict = {}
        required: list[str] = []
        for arg, spec in args.items():
            if not NAME_RE.fullmatch(arg) or not isinstance(spec, dict):
                bad("args", f"'{arg}' must be a [tool.args.{arg}] table with a lowercase name")
                continue
            prop = self.read_arg(arg, spec, bad)
            if prop is not None:
                properties[arg] = prop
                if spec.get("required") is True:
                    required.append(arg)
        return {"type": "object", "properties": properties, "required": required}

    def read_arg(self, arg: str, spec: dict, bad: Any) -> dict | None:
        ok = True

        def fail(key: str, reason: str) -> None:
            nonlocal ok
            ok = False
            bad(key, reason, arg)

        for key in spec:
            if key not in ARG_FIELDS:
                fail(key, f"is not a known field (known: {', '.join(sorted(ARG_FIELDS))})")
        kind = spec.get("type", "string")
        if kind not in ARG_TYPES:
            fail("type", f"must be one of {', '.join(ARG_TYPES)}")
            return None
        prop: dict = {"type": kind}
        if not isinstance(spec.get("description", ""), str):
            fail("description", "must be text")
        elif spec.get("description"):
            prop["description"] = spec["description"]
        if not isinstance(spec.get("required", False), bool):
            fail("required", "must be true or false")
        if "enum" in spec:
            enum = spec["enum"]
            if (
                not isinstance(enum, list)
                or not enum
                or not all(matches_type(kind, v) for v in enum)
            ):
                fail("enum", f"must be a non-empty list of {kind} values")
            else:
                prop["enum"] = enum
        if "default" in spec:
            default = spec["default"]
            if not matches_type(kind, default):
                fail("default", f"must be {article(kind)}")
            elif "enum" in prop and default not in prop["enum"]:
                fail("default", "must be one of the enum values")
            else:
                prop["default"] = default
        return prop if ok else None
