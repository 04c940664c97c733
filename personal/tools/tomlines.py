"""Line numbers for tools.toml's keys and tables.

tomllib gives values without positions, so a semantic mistake ("timeout must be a number")
is located by scanning the text: which table each line is in, and where each key is.
This is a reader for error messages, not a TOML parser: when a key cannot be found, the
line of its table is the answer, and failing that none.
"""

from __future__ import annotations

import re

HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""  # a bare or quoted key
KEY = re.compile(rf"^\s*({PART}(?:\s*\.\s*{PART})*)\s*=")
ERROR_LINE = re.compile(r"at line (\d+)")

Section = tuple  # ("root",) | ("files",) | ("tool", i) | ("args", i, name) | ("table", name)


def _unquote(dotted: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.split(r"\s*\.\s*", dotted)]


class TomlLines:
    def __init__(self, text: str):
        self.sections: dict[Section, int] = {}
        self.keys: dict[tuple[Section, str], int] = {}
        section: Section = ("root",)
        tools = -1
        for number, line in enumerate(text.splitlines(), 1):
            header = HEADER.match(line)
            if header:
                names = _unquote(header.group(2))
                if header.group(1) == "[[" and names == ["tool"]:
                    tools += 1
                    section = ("tool", tools)
                elif names[:2] == ["tool", "args"] and len(names) == 3:
                    section = ("args", tools, names[2])
                elif names == ["tool", "args"]:
                    section = ("tool-args", tools)
                elif names == ["files"]:
                    section = ("files",)
                else:
                    section = ("table", ".".join(names))
                self.sections.setdefault(section, number)
                continue
            key = KEY.match(line)
            if key:
                dotted = ".".join(_unquote(key.group(1)))
                self.keys.setdefault((section, dotted), number)

    @staticmethod
    def error_line(message: str) -> int | None:
        """The line in one of tomllib's messages ("... (at line 3, column 5)")."""
        found = ERROR_LINE.search(message)
        return int(found.group(1)) if found else None

    def section(self, section: Section) -> int | None:
        return self.sections.get(section)

    def key(self, section: Section, key: str) -> int | None:
        """The line of `key` in `section`, else of the section's header."""
        return self.keys.get((section, key)) or self.sections.get(section)

    def top(self, name: str) -> int | None:
        """The line of a top-level table or key named `name`."""
        for section, line in self.sections.items():
            if section[0] == "table" and section[1].split(".")[0] == name:
                return line
        if name == "tool" and ("tool", 0) in self.sections:
            return self.sections[("tool", 0)]
        if name == "files" and ("files",) in self.sections:
            return self.sections[("files",)]
        return self.keys.get((("root",), name))

    def arg(self, tool: int, arg: str, key: str) -> int | None:
        """The line of `key` of argument `arg` of the tool-th [[tool]], however written:
        [tool.args.city] type = ..., [tool.args] city = {...}, or args.city.type = ..."""
        candidates = [
            (("args", tool, arg), key),
            (("tool-args", tool), f"{arg}.{key}"),
            (("tool-args", tool), arg),
            (("tool", tool), f"args.{arg}.{key}"),
            (("tool", tool), f"args.{arg}"),
            (("tool", tool), "args"),
        ]
        for candidate in candidates:
            if candidate in self.keys:
                return self.keys[candidate]
        return self.sections.get(("args", tool, arg)) or self.sections.get(("tool", tool))
